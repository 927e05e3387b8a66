//! Throughput of the secret scanner on 1 MiB texts: `cargo run --release -p aegis-core
//! --example secrets_bench` (add `-- --show` to list the findings with their lines, or
//! `-- --scan FILE...` to list the findings in some files).
//! Numbers go to `docs/PERFORMANCE.md` ("Secret scanner").
//!
//! Corpora, all exactly 1 MiB and built here (no file in the repository holds a secret):
//! - `code, no secrets`: this workspace's Rust sources, repeated;
//! - `code + 64 secrets`: the same with a fake credential every 16 KiB (13 formats);
//! - `gitea json, no secrets`: commit listings as the gateway returns them, full of
//!   40-hex ids next to `"sha"` keys, the case the Gitea rule must not touch;
//! - stress: an env file with a secret on every line, a single 1 MiB line (minified JSON)
//!   with a secret every KiB, and anchor keywords repeated with nothing to find.

use std::path::Path;
use std::time::{Duration, Instant};

use aegis_core::secrets::{SecretDetectionMode, SecretScanner};

const MIB: usize = 1024 * 1024;

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let scanner = SecretScanner::new()?;
    let indexed = started.elapsed();
    // Rules compile on first use: a text that names every anchor compiles them all, so the
    // corpora below measure scanning, not compiling.
    let warm = Instant::now();
    scanner.scan(&scanner.anchor_words().join(" "));
    println!(
        "scanner indexed in {:.1} ms, its {} rules compiled on first use in {:.1} ms",
        indexed.as_secs_f64() * 1000.0,
        scanner.rule_names().len(),
        warm.elapsed().as_secs_f64() * 1000.0
    );

    // `-- --scan FILE...`: list the findings in those files instead (false-positive review).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--scan") {
        for path in &args[1..] {
            let text = std::fs::read_to_string(path)?;
            for f in scanner.scan(&text) {
                let line = text[..f.start].matches('\n').count() + 1;
                let start = text[..f.start].rfind('\n').map_or(0, |i| i + 1);
                let end = text[f.end..].find('\n').map_or(text.len(), |i| f.end + i);
                println!("{path}:{line}: {}: {}", f.rule, &text[start..end]);
            }
        }
        return Ok(());
    }

    let code = code_corpus()?;
    let mixed = with_secrets(&code);
    let json = gitea_json_corpus();
    let dense = dense_corpus();
    let one_line = one_line_corpus();
    let markers = repeat_to_mib("token=\"-----BEGIN PRIVATE KEY-----\" Bearer AKIA password: ");
    println!(
        "{:<24} {:>9} {:>13} {:>15}",
        "corpus (1 MiB)", "findings", "scan MiB/s", "redact MiB/s"
    );
    for (name, text) in [
        ("code, no secrets", &code),
        ("code + 64 secrets", &mixed),
        ("gitea json, no secrets", &json),
        ("env, a secret per line", &dense),
        ("one line, 1 per KiB", &one_line),
        ("keywords, no secrets", &markers),
    ] {
        let found = scanner.scan(text);
        if std::env::args().any(|a| a == "--show") {
            // What was found, with its line: to review false positives in the corpora.
            for f in &found {
                let line_start = text[..f.start].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[f.end..].find('\n').map_or(text.len(), |i| f.end + i);
                println!("  {name}: {} in {:?}", f.rule, &text[line_start..line_end]);
            }
        }
        let findings = found.len();
        let scan = throughput(text, || {
            std::hint::black_box(scanner.scan(text));
        });
        let redact = throughput(text, || {
            std::hint::black_box(scanner.redact(text, SecretDetectionMode::Mask));
        });
        println!("{name:<24} {findings:>9} {scan:>13.1} {redact:>15.1}");
    }
    Ok(())
}

/// Median MiB/s of `f` over at least 2 s and 10 runs, after one warm-up run.
fn throughput(text: &str, mut f: impl FnMut()) -> f64 {
    f();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 10 || start.elapsed() < Duration::from_secs(2) {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    text.len() as f64 / MIB as f64 / median
}

/// The workspace's Rust sources (the scanner's own rule and test files left out: they are
/// about secrets, not typical code), repeated to exactly 1 MiB.
fn code_corpus() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["shared", "functions", "local", "tests/it"] {
        collect_rs(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut source = String::new();
    let own = root.join("shared/core/src/secrets");
    for file in files {
        if !file.starts_with(&own) {
            source.push_str(&std::fs::read_to_string(&file)?);
        }
    }
    anyhow::ensure!(!source.is_empty(), "no Rust sources found under {root:?}");
    Ok(repeat_to_mib(&source))
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if !path.ends_with("target") {
                collect_rs(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn repeat_to_mib(unit: &str) -> String {
    let mut text = String::with_capacity(MIB + unit.len());
    while text.len() < MIB {
        text.push_str(unit);
    }
    let mut cut = MIB;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

/// A tiny deterministic generator for fake secret bodies.
struct Rng(u64);

impl Rng {
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                char::from(alphabet[(self.0 % alphabet.len() as u64) as usize])
            })
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `code` with one fake secret line inserted every 16 KiB (at a line break), then cut
/// back to 1 MiB.
fn with_secrets(code: &str) -> String {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut fake = |i: usize| -> String {
        match i % 13 {
            0 => format!("let token = \"ghp_{}\";", rng.chars(ALNUM, 36)),
            1 => format!(
                "AWS_ACCESS_KEY_ID=AKIA{}",
                rng.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
            2 => format!("GITEA_TOKEN={}", rng.chars(HEX, 40)),
            3 => format!("Authorization: token {}", rng.chars(HEX, 40)),
            4 => format!("\"password\": \"{}\",", rng.chars(ALNUM, 20)),
            5 => format!(
                "url = \"postgres://app:{}@db:5432/app\"",
                rng.chars(ALNUM, 24)
            ),
            6 => format!("STRIPE=sk_live_{}", rng.chars(ALNUM, 24)),
            7 => format!(
                "jwt = \"eyJ{}.eyJ{}.{}\"",
                rng.chars(ALNUM, 30),
                rng.chars(ALNUM, 60),
                rng.chars(ALNUM, 43)
            ),
            8 => format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY-----",
                rng.chars(B64, 64),
                rng.chars(B64, 64)
            ),
            9 => format!(
                "SLACK=xoxb-{}-{}-{}",
                rng.chars(b"0123456789", 12),
                rng.chars(b"0123456789", 12),
                rng.chars(ALNUM, 24)
            ),
            10 => format!("openai_key = \"sk-proj-{}\"", rng.chars(ALNUM, 80)),
            11 => format!("api_key: {}", rng.chars(ALNUM, 32)),
            _ => format!("Bearer {}", rng.chars(ALNUM, 40)),
        }
    };
    let mut out = String::with_capacity(MIB + 8 * 1024);
    let mut next = 16 * 1024;
    let mut i = 0;
    for line in code.split_inclusive('\n') {
        out.push_str(line);
        if out.len() >= next {
            out.push_str(&fake(i));
            out.push('\n');
            i += 1;
            next += 16 * 1024;
        }
    }
    repeat_to_mib(&out)
}

/// `NAME=secret` lines, every one a finding.
fn dense_corpus() -> String {
    let mut rng = Rng(0xdead_beef_1234_5678);
    let mut out = String::with_capacity(MIB + 128);
    let mut i = 0;
    while out.len() < MIB {
        out.push_str(&match i % 3 {
            0 => format!("GITEA_TOKEN_{i}={}\n", rng.chars(HEX, 40)),
            1 => format!("GITHUB_TOKEN_{i}=ghp_{}\n", rng.chars(ALNUM, 36)),
            _ => format!("DB_PASSWORD_{i}={}\n", rng.chars(ALNUM, 20)),
        });
        i += 1;
    }
    repeat_to_mib(&out)
}

/// One line of minified JSON, a token field every KiB.
fn one_line_corpus() -> String {
    let mut rng = Rng(0x1234_5678_9abc_def0);
    let mut out = String::from("[");
    while out.len() < MIB {
        out.push_str(&format!(
            r#"{{"token":"ghp_{}","body":"{}"}},"#,
            rng.chars(ALNUM, 36),
            rng.chars(b"abcdefghij klmnopqrstuvwxyz ", 960)
        ));
    }
    repeat_to_mib(&out)
}

/// Gitea commit listings (`GET /repos/{owner}/{repo}/commits`), repeated to 1 MiB.
fn gitea_json_corpus() -> String {
    let mut rng = Rng(0x0dd_ba11_c0ff_ee00);
    let mut commits = Vec::new();
    for n in 0..200 {
        let sha = rng.chars(HEX, 40);
        let parent = rng.chars(HEX, 40);
        let tree = rng.chars(HEX, 40);
        commits.push(format!(
            concat!(
                r#"{{"url":"https://gitea.example.org/api/v1/repos/acme/app/git/commits/{sha}","#,
                r#""sha":"{sha}","created":"2026-11-26T17:00:00Z","#,
                r#""html_url":"https://gitea.example.org/acme/app/commit/{sha}","#,
                r#""commit":{{"message":"Fix token refresh (#{n})\n\nRotate the session token earlier.","#,
                r#""tree":{{"sha":"{tree}"}},"author":{{"name":"Dev","email":"dev@example.org"}}}},"#,
                r#""parents":[{{"sha":"{parent}"}}],"stats":{{"total":12,"additions":8,"deletions":4}}}}"#
            ),
            sha = sha,
            tree = tree,
            parent = parent,
            n = n
        ));
    }
    repeat_to_mib(&format!("[{}]\n", commits.join(",")))
}
