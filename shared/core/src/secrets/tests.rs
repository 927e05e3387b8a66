//! Secret scanner tests: the true- and false-positive tables of `tests/data/secrets/`, the
//! redaction modes, JSON redaction, and properties over generated input.
//!
//! Fixture secrets are fake and made here (`expand`): the tables hold templates such as
//! `ghp_{{alnum:36}}`, filled with pseudo-random characters seeded by the case name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::*;

fn scanner() -> &'static SecretScanner {
    static SCANNER: OnceLock<SecretScanner> = OnceLock::new();
    SCANNER.get_or_init(|| SecretScanner::new().expect("the rule table compiles"))
}

#[test]
fn every_rule_compiles() {
    // Rules compile lazily in use; a pattern that does not compile would silently never
    // match, so the whole table is compiled here.
    for rule in super::rules::RULES {
        if let Err(e) = rule.compile() {
            panic!("{e}");
        }
    }
}

impl SecretScanner {
    /// Every rule, anchors ignored: the reference the anchor prefilter must agree with.
    fn scan_all_rules(&self, text: &str) -> Vec<Finding> {
        self.scan_to_fixpoint(text, true)
    }
}

// ---------------------------------------------------------------------------------------
// Fake secrets

/// splitmix64: small, deterministic, good enough to make fake tokens.
struct Rng(u64);

impl Rng {
    fn seeded(name: &str) -> Self {
        // FNV-1a of the case name.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
            .collect()
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

fn alphabet(kind: &str) -> Option<Vec<u8>> {
    let cat = |parts: &[&[u8]]| parts.concat();
    Some(match kind {
        "alnum" => cat(&[UPPER, LOWER, DIGITS]),
        "alpha" => cat(&[UPPER, LOWER]),
        "lower" => LOWER.to_vec(),
        "upper" => UPPER.to_vec(),
        "digits" => DIGITS.to_vec(),
        "hex" => b"0123456789abcdef".to_vec(),
        "HEX" => b"0123456789ABCDEF".to_vec(),
        "b64" => cat(&[UPPER, LOWER, DIGITS, b"+/"]),
        "b64url" => cat(&[UPPER, LOWER, DIGITS, b"-_"]),
        "b32" => cat(&[UPPER, b"234567"]),
        _ => return None,
    })
}

/// One template's expansion.
fn template(rng: &mut Rng, spec: &str) -> String {
    let parts: Vec<&str> = spec.split(':').collect();
    let num = |i: usize| -> usize {
        parts
            .get(i)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("template `{spec}` needs a number"))
    };
    match parts[0] {
        "digits" => {
            // No leading zero: ids and bot numbers never have one.
            let n = num(1);
            format!("{}{}", rng.pick(b"123456789", 1), rng.pick(DIGITS, n - 1))
        }
        "uuid" => format!(
            "{}-{}-4{}-a{}-{}",
            rng.pick(b"0123456789abcdef", 8),
            rng.pick(b"0123456789abcdef", 4),
            rng.pick(b"0123456789abcdef", 3),
            rng.pick(b"0123456789abcdef", 3),
            rng.pick(b"0123456789abcdef", 12)
        ),
        "discord_id" => {
            let id = format!("{}{}", rng.pick(b"123456789", 1), rng.pick(DIGITS, 17));
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
        }
        "basic" => {
            let user = parts.get(1).copied().unwrap_or("user");
            let password = rng.pick(&alphabet("alnum").unwrap_or_default(), 16);
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        }
        "lines" => {
            let joiner = match parts.get(2).copied().unwrap_or("nl") {
                "nl" => "\n",
                "nl2" => "\n  ",
                "nl4" => "\n    ",
                "diff" => "\n+",
                "esc" => "\\n",
                "esc2" => "\\\\n",
                "concat" => "\\n\"\n\"",
                other => panic!("unknown joiner `{other}`"),
            };
            let b64 = alphabet("b64").unwrap_or_default();
            (0..num(1))
                .map(|_| rng.pick(&b64, 64))
                .collect::<Vec<_>>()
                .join(joiner)
        }
        kind => {
            let chars = alphabet(kind).unwrap_or_else(|| panic!("unknown template `{spec}`"));
            rng.pick(&chars, num(1))
        }
    }
}

/// Expands every `{{...}}` of `text`; returns the text and the secret parts (expansions
/// not marked `pub:`, 8 characters or longer) that must not survive redaction.
fn expand(name: &str, text: &str) -> (String, Vec<String>) {
    let mut rng = Rng::seeded(name);
    let mut out = String::with_capacity(text.len() * 2);
    let mut secrets = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        // `${{ secrets.X }}` and `{{ .Values.x }}` are text, not templates.
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let spec = &rest[open + 2..open + close];
        if spec.starts_with(' ') || spec.is_empty() {
            out.push_str(&rest[..open + close + 2]);
            rest = &rest[open + close + 2..];
            continue;
        }
        out.push_str(&rest[..open]);
        let (public, spec) = match spec.strip_prefix("pub:") {
            Some(s) => (true, s),
            None => (false, spec),
        };
        let value = template(&mut rng, spec);
        if !public && value.len() >= 8 {
            secrets.push(value.clone());
        }
        out.push_str(&value);
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    (out, secrets)
}

// ---------------------------------------------------------------------------------------
// The tables

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    syntax: String,
    text: String,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    why: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    cases: Vec<Case>,
}

fn table(file: &str) -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/secrets")
        .join(file);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let table: Table = serde_yaml::from_str(&src).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut names = BTreeSet::new();
    for case in &table.cases {
        assert!(
            names.insert(&case.name),
            "{file}: duplicate case `{}`",
            case.name
        );
    }
    table.cases
}

/// Checks one true positive; returns what went wrong, if anything.
fn check_true_positive(case: &Case) -> Option<String> {
    let s = scanner();
    let (text, secrets) = expand(&case.name, &case.text);
    let mut problems = Vec::new();
    let found: BTreeSet<&str> = s.scan(&text).iter().map(|f| f.rule).collect();
    let want: BTreeSet<&str> = case.rules.iter().map(String::as_str).collect();
    if found != want {
        problems.push(format!("found {found:?}, want {want:?}"));
    }
    if s.scan_all_rules(&text) != s.scan(&text) {
        problems.push("the anchor prefilter changed the findings".into());
    }
    for mode in [SecretDetectionMode::Mask, SecretDetectionMode::Block] {
        let out = s.redact(&text, mode);
        for secret in &secrets {
            if out.text.contains(secret.as_str()) {
                problems.push(format!("{mode:?}: `{secret}` survived"));
            }
        }
        if mode == SecretDetectionMode::Mask {
            for rule in &want {
                if !out.text.contains(&mask_for(rule)) {
                    problems.push(format!("mask: no `{}` in {:?}", mask_for(rule), out.text));
                }
            }
        } else if out.text.matches('\n').count() != text.matches('\n').count() {
            problems.push("block: the line count changed".into());
        }
        let again = s.redact(&out.text, mode);
        if again.text != out.text || !again.findings.is_empty() {
            problems.push(format!("{mode:?}: not idempotent: {:?}", again.findings));
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{} ({}):\n    {}",
            case.name,
            case.syntax,
            problems.join("\n    ")
        )
    })
}

fn check_false_positive(case: &Case) -> Option<String> {
    let s = scanner();
    let (text, _) = expand(&case.name, &case.text);
    let findings = s.scan_all_rules(&text);
    if !findings.is_empty() {
        let shown: Vec<_> = findings
            .iter()
            .map(|f| format!("{} `{}`", f.rule, &text[f.start..f.end]))
            .collect();
        return Some(format!(
            "{} ({}): {}",
            case.name,
            case.syntax,
            shown.join(", ")
        ));
    }
    for mode in [SecretDetectionMode::Mask, SecretDetectionMode::Block] {
        let out = s.redact(&text, mode);
        if !matches!(out.text, Cow::Borrowed(t) if t == text) || !out.findings.is_empty() {
            return Some(format!("{}: {mode:?} changed the text", case.name));
        }
    }
    None
}

#[test]
fn true_positives_are_found_and_masked() {
    let cases = table("true_positives.yaml");
    let failures: Vec<String> = cases.iter().filter_map(check_true_positive).collect();
    assert!(
        failures.is_empty(),
        "{} of {} true positives failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn false_positives_are_left_alone() {
    let cases = table("false_positives.yaml");
    assert!(cases.iter().all(|c| c.why.is_some() && c.rules.is_empty()));
    let failures: Vec<String> = cases.iter().filter_map(check_false_positive).collect();
    assert!(
        failures.is_empty(),
        "{} of {} false positives were touched:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every rule has true positives, in at least two syntaxes; the tables name only real rules.
#[test]
fn every_rule_is_covered_in_several_syntaxes() {
    let names = scanner().rule_names();
    assert!(names.len() >= 25, "{} rules", names.len());
    let mut syntaxes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let cases = table("true_positives.yaml");
    for case in &cases {
        for rule in &case.rules {
            assert!(
                names.contains(&rule.as_str()),
                "{}: unknown rule `{rule}`",
                case.name
            );
            syntaxes.entry(rule).or_default().insert(&case.syntax);
        }
    }
    let thin: Vec<String> = names
        .iter()
        .filter(|n| syntaxes.get(*n).map_or(0, BTreeSet::len) < 2)
        .map(|n| format!("{n}: {:?}", syntaxes.get(n)))
        .collect();
    assert!(
        thin.is_empty(),
        "rules with fewer than two syntaxes: {thin:?}"
    );
    let all: BTreeSet<&str> = cases.iter().map(|c| c.syntax.as_str()).collect();
    for wanted in ["json", "yaml", "env", "code", "escaped-json", "diff", "log"] {
        assert!(all.contains(wanted), "no true positive in {wanted}");
    }
    let fps: BTreeSet<String> = table("false_positives.yaml")
        .into_iter()
        .map(|c| c.syntax)
        .collect();
    assert!(fps.len() >= 6, "false positives in {fps:?}");
}

// ---------------------------------------------------------------------------------------
// Modes

fn gitea_line() -> (String, String) {
    let (token, _) = expand("gitea line", "{{hex:40}}");
    (format!("GITEA_TOKEN={token}"), token)
}

#[test]
fn mask_keeps_the_key_and_names_the_rule() {
    let (line, token) = gitea_line();
    let out = scanner().redact(&line, SecretDetectionMode::Mask);
    assert_eq!(out.text, "GITEA_TOKEN=[REDACTED:gitea_token]");
    assert_eq!(out.findings.len(), 1);
    let f = out.findings[0];
    assert_eq!(
        (f.rule, &line[f.start..f.end]),
        ("gitea_token", token.as_str())
    );
    assert_eq!(out.rules(), vec!["gitea_token"]);
    assert!(out.changed());
}

#[test]
fn block_replaces_whole_lines_and_keeps_line_breaks() {
    let (line, _) = gitea_line();
    let text = format!("first\r\n{line}\r\nthird\n");
    let out = scanner().redact(&text, SecretDetectionMode::Block);
    assert_eq!(out.text, format!("first\r\n{BLOCK_NOTICE}\r\nthird\n"));

    // A single-line value is replaced whole.
    let out = scanner().redact(&line, SecretDetectionMode::Block);
    assert_eq!(out.text, BLOCK_NOTICE);

    // Two secrets on one line: one notice. A key over several lines: one notice per line.
    let (two, _) = expand("two", "a=ghp_{{alnum:36}} b=npm_{{alnum:36}}\nkeep");
    let out = scanner().redact(&two, SecretDetectionMode::Block);
    assert_eq!(out.text, format!("{BLOCK_NOTICE}\nkeep"));
    assert_eq!(out.findings.len(), 2);
    let (pem, _) = expand(
        "pem",
        "x\n-----BEGIN PRIVATE KEY-----\n{{lines:3:nl}}\n-----END PRIVATE KEY-----\ny",
    );
    let out = scanner().redact(&pem, SecretDetectionMode::Block);
    let lines: Vec<&str> = out.text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!((lines[0], lines[6]), ("x", "y"));
    assert!(lines[1..6].iter().all(|l| *l == BLOCK_NOTICE));
}

#[test]
fn a_finding_continuing_on_a_blocked_line_blocks_the_rest() {
    // The first secret's line is blocked; the key starting on that line goes on below it.
    let (text, _) = expand(
        "chain",
        "t=ghp_{{alnum:36}} -----BEGIN PRIVATE KEY-----\n{{lines:2:nl}}\n-----END PRIVATE KEY-----\nafter",
    );
    let out = scanner().redact(&text, SecretDetectionMode::Block);
    assert_eq!(
        out.text,
        format!("{BLOCK_NOTICE}\n{BLOCK_NOTICE}\n{BLOCK_NOTICE}\n{BLOCK_NOTICE}\nafter")
    );
}

#[test]
fn off_returns_the_input_untouched() {
    let (line, _) = gitea_line();
    let out = scanner().redact(&line, SecretDetectionMode::Off);
    assert!(matches!(out.text, Cow::Borrowed(t) if t == line));
    assert!(out.findings.is_empty() && !out.changed());
}

#[test]
fn overlapping_rules_merge_under_the_most_specific_name() {
    let (text, token) = expand(
        "overlap",
        "url = https://oauth2:ghp_{{alnum:36}}@github.com/a/b",
    );
    let findings = scanner().scan(&text);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "github_pat");
    assert_eq!(
        &text[findings[0].start..findings[0].end],
        format!("ghp_{}", token[0])
    );
}

#[test]
fn prefilter_agrees_with_running_every_rule_on_both_tables() {
    for case in table("true_positives.yaml")
        .iter()
        .chain(&table("false_positives.yaml"))
    {
        let (text, _) = expand(&case.name, &case.text);
        assert_eq!(
            scanner().scan(&text),
            scanner().scan_all_rules(&text),
            "{}",
            case.name
        );
    }
}

#[test]
fn findings_never_hold_the_secret() {
    let (line, token) = gitea_line();
    let findings = scanner().scan(&line);
    let shown = format!("{findings:?} {}", serde_json::to_string(&findings).unwrap());
    assert!(!shown.contains(&token));
}

// ---------------------------------------------------------------------------------------
// JSON

#[test]
fn redact_json_walks_strings_and_sensitive_keys() {
    let (line, token) = gitea_line();
    let mut value = json!({
        "content": [{"type": "text", "text": format!("config:\n{line}\nend")}],
        "structuredContent": {
            "path": "deploy/.env",
            "size": 1234,
            "headers": {"Authorization": "anything at all", "X-Request-ID": "abc"},
            "password": ["one", "", {"nested": "two"}],
            "token": null,
            "token_type": "bearer",
            "max_tokens": 4096,
            "has_secret": true,
        },
    });
    let found = scanner().redact_json(&mut value, SecretDetectionMode::Mask);
    let text = value["content"][0]["text"].as_str().unwrap();
    assert_eq!(text, "config:\nGITEA_TOKEN=[REDACTED:gitea_token]\nend");
    assert!(!value.to_string().contains(&token));
    let sc = &value["structuredContent"];
    assert_eq!(sc["headers"]["Authorization"], "[REDACTED:sensitive_key]");
    assert_eq!(sc["headers"]["X-Request-ID"], "abc");
    assert_eq!(
        sc["password"],
        json!(["[REDACTED:sensitive_key]", "", {"nested": "[REDACTED:sensitive_key]"}])
    );
    assert_eq!(sc["token"], json!(null));
    assert_eq!(
        (sc["token_type"].as_str(), sc["max_tokens"].as_u64()),
        (Some("bearer"), Some(4096))
    );
    assert_eq!(
        (sc["size"].as_u64(), sc["has_secret"].as_bool()),
        (Some(1234), Some(true))
    );
    let pointers: BTreeSet<(&str, &str)> =
        found.iter().map(|f| (f.pointer.as_str(), f.rule)).collect();
    assert_eq!(
        pointers,
        BTreeSet::from([
            ("/content/0/text", "gitea_token"),
            (
                "/structuredContent/headers/Authorization",
                SENSITIVE_KEY_RULE
            ),
            ("/structuredContent/password/0", SENSITIVE_KEY_RULE),
            ("/structuredContent/password/2/nested", SENSITIVE_KEY_RULE),
        ])
    );

    // Idempotent, and a second pass finds nothing.
    let before = value.clone();
    assert!(scanner()
        .redact_json(&mut value, SecretDetectionMode::Mask)
        .is_empty());
    assert_eq!(value, before);
}

#[test]
fn redact_json_block_and_off_and_keys() {
    let (line, token) = gitea_line();
    let original =
        json!({"a": line, "b": ["fine"], format!("ghp_{}", token): 1, "x/y~z": {"secret": "s"}});
    let mut off = original.clone();
    assert!(scanner()
        .redact_json(&mut off, SecretDetectionMode::Off)
        .is_empty());
    assert_eq!(off, original);

    let mut blocked = original.clone();
    let found = scanner().redact_json(&mut blocked, SecretDetectionMode::Block);
    assert_eq!(blocked["a"], BLOCK_NOTICE);
    assert_eq!(blocked["b"], json!(["fine"]));
    assert_eq!(blocked["x/y~z"]["secret"], BLOCK_NOTICE);
    assert!(!blocked.to_string().contains(&token));
    assert!(found.iter().any(|f| f.pointer == "/x~1y~0z/secret"));
    assert!(found.iter().any(|f| f.pointer.is_empty())); // the key
}

/// The items of a listing share their keys, which a walk classifies once: a key seen clean
/// in one item must not vouch for a different key later, and a sensitive key masks its value
/// in every item, not only the first.
#[test]
fn redact_json_classifies_repeated_keys_per_item() {
    let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
    let mut listing = json!([
        {"name": "a", "api_token": "first-value"},
        {"name": "b", "api_token": "second-value"},
        {"name": "c", token.clone(): "a key that is a secret"},
    ]);
    let found = scanner().redact_json(&mut listing, SecretDetectionMode::Mask);
    let masked = mask_for(SENSITIVE_KEY_RULE);
    assert_eq!(listing[0]["api_token"], masked);
    assert_eq!(listing[1]["api_token"], masked);
    assert_eq!(listing[1]["name"], "b");
    assert!(!listing.to_string().contains(&token), "{listing}");
    assert!(found.iter().any(|f| f.pointer == "/1/api_token"));
    assert!(found.iter().any(|f| f.pointer == "/2"), "{found:?}");
}

#[test]
fn sensitive_keys() {
    for key in [
        "token",
        "access_token",
        "refreshToken",
        "Authorization",
        "Proxy-Authorization",
        "password",
        "db_password",
        "client_secret",
        "GITEA_OAUTH_CLIENT_SECRET",
        "X-Api-Key",
        "apiKey",
        "private_key",
        "cookie",
        "Set-Cookie",
        "passphrase",
        "credentials",
    ] {
        assert!(is_sensitive_key(key), "{key}");
    }
    for key in [
        "token_type",
        "max_tokens",
        "tokens",
        "secret_scanning",
        "path",
        "author",
        "token_last_eight",
        "secret_detection_mode",
        "sha",
        "key",
        "keys",
    ] {
        assert!(!is_sensitive_key(key), "{key}");
    }
}

// ---------------------------------------------------------------------------------------
// Checks

#[test]
fn entropy_and_randomness() {
    assert_eq!(checks::shannon_entropy(""), 0.0);
    assert_eq!(checks::shannon_entropy("aaaa"), 0.0);
    assert!((checks::shannon_entropy("abcd") - 2.0).abs() < 1e-9);
    assert!(checks::looks_random("Tr0ub4d&3xq"));
    assert!(!checks::looks_random("password"));
    assert!(!checks::looks_random("abc12"));
    assert!(!checks::looks_random("1234567890123"));
    assert!(checks::is_placeholder("<your-token>"));
    assert!(checks::is_placeholder("${TOKEN}"));
    assert!(checks::is_placeholder("[REDACTED:github_pat]"));
    assert!(!checks::is_placeholder("Zx9_kQ2-pL7w"));
}

// ---------------------------------------------------------------------------------------
// Properties

/// Fragments that make text worth scanning: fake secrets, keywords, separators, markers,
/// multi-byte characters, and the masks themselves.
fn fragment() -> impl Strategy<Value = String> {
    let templates = [
        "ghp_{{alnum:36}}",
        "AKIA{{b32:16}}",
        "{{hex:40}}",
        "xoxb-{{digits:12}}-{{digits:12}}-{{alnum:24}}",
        "eyJ{{b64url:20}}.eyJ{{b64url:30}}.{{b64url:20}}",
        "-----BEGIN PRIVATE KEY-----\n{{lines:2:nl}}\n-----END PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\\n{{lines:2:esc}}",
        "{{alnum:20}}",
        "https://u:{{alnum:16}}@h.example/x",
        "Basic {{basic:u}}",
        "sk_live_{{alnum:24}}",
        "{{digits:10}}:AA{{b64url:33}}",
        "{{discord_id}}.{{b64url:6}}.{{b64url:30}}",
    ];
    let fixed = [
        "token",
        "=",
        ": ",
        "\"",
        "'",
        "\\\"",
        "\n",
        "\r\n",
        " ",
        "Bearer ",
        "Authorization: token ",
        "password=",
        "secret: ",
        "api_key = \"",
        "GITEA_TOKEN=",
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "\\n",
        "@",
        "://",
        "[REDACTED:github_pat]",
        BLOCK_NOTICE,
        "é",
        "→",
        "密码",
        "🔑",
        "\u{200b}",
        "xxx",
        "${X}",
        "key-",
    ];
    prop_oneof![
        (0..templates.len(), any::<u32>()).prop_map(move |(i, seed)| expand(
            &seed.to_string(),
            templates[i]
        )
        .0),
        (0..fixed.len()).prop_map(move |i| fixed[i].to_owned()),
        "\\PC{0,12}",
        "[a-zA-Z0-9_+/=.-]{0,48}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|parts| parts.concat())
}

fn assert_well_formed(text: &str, findings: &[Finding]) {
    let mut last_end = 0;
    for f in findings {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?}");
        assert!(f.start >= last_end, "overlap at {f:?}");
        assert!(
            text.is_char_boundary(f.start) && text.is_char_boundary(f.end),
            "{f:?}"
        );
        last_end = f.end;
    }
}

/// 512 cases unless `PROPTEST_CASES` asks for more (a longer local soak).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn redaction_is_idempotent(text in text()) {
        for mode in [SecretDetectionMode::Mask, SecretDetectionMode::Block] {
            let once = scanner().redact(&text, mode);
            assert_well_formed(&text, &once.findings);
            let twice = scanner().redact(&once.text, mode);
            prop_assert_eq!(&twice.text, &once.text, "{:?}", mode);
            prop_assert!(twice.findings.is_empty(), "{:?}: {:?}", mode, twice.findings);
        }
    }

    #[test]
    fn prefilter_never_changes_findings(text in text()) {
        prop_assert_eq!(scanner().scan(&text), scanner().scan_all_rules(&text));
    }

    #[test]
    fn arbitrary_input_never_panics_and_clean_text_is_untouched(text in any::<String>()) {
        for mode in [SecretDetectionMode::Mask, SecretDetectionMode::Block] {
            let out = scanner().redact(&text, mode);
            assert_well_formed(&text, &out.findings);
            if out.findings.is_empty() {
                prop_assert!(matches!(out.text, Cow::Borrowed(t) if t == text));
            } else {
                prop_assert!(out.changed());
            }
        }
    }

    #[test]
    fn json_redaction_is_idempotent(parts in prop::collection::vec(text(), 1..4), key in "[a-z_]{1,12}") {
        let mut value = json!({ key: parts[0], "list": parts, "token": parts[0] });
        scanner().redact_json(&mut value, SecretDetectionMode::Mask);
        let once = value.clone();
        prop_assert!(scanner().redact_json(&mut value, SecretDetectionMode::Mask).is_empty());
        prop_assert_eq!(value, once);
    }
}

/// Found by the idempotence property in CI: a bearer token running into a key whose
/// assignment only looks like a secret once the token is masked.
#[test]
fn redaction_is_idempotent_when_a_mask_uncovers_an_assignment() {
    let scanner = SecretScanner::new().unwrap();
    let text = format!(
        "Bearer ghp_{}api_key = \"password={}",
        "GJ2YBkaS3eF5ppEOXJK3e4fdxLX8F1SmQTn9", "0bc27484da15f962d3290e9f9d387366e1b1b309"
    );
    for mode in [SecretDetectionMode::Mask, SecretDetectionMode::Block] {
        let once = scanner.redact(&text, mode).text.into_owned();
        let twice = scanner.redact(&once, mode).text.into_owned();
        assert_eq!(once, twice, "{mode:?}");
        assert!(!once.contains("0bc27484da15f962"), "{mode:?}: {once}");
    }
}

#[test]
fn json_escaped_secrets_are_found_and_masked_over_their_escapes() {
    let scanner = SecretScanner::new().expect("scanner");
    let pat = "ghp_Zq8Rt5Lm2Nx7Vb4Kc1Hd9Fg3Js6Pw0Ya2Ue5T";
    let escaped = pat.replacen('p', "\\u0070", 1);
    for text in [
        format!("{{\"token\": \"{escaped}\"}}"),
        format!("see {escaped} here"),
        format!("\\u0067\\u0068\\u0070{}", &pat[3..]),
        // a JSON document quoting the escaped text: two levels
        serde_json::to_string(&format!("token: {escaped}")).unwrap(),
    ] {
        let out = scanner.redact(&text, SecretDetectionMode::Mask);
        assert!(out.changed(), "{text}");
        assert!(!out.text.contains(&pat[8..]), "{}", out.text);
        assert!(out.text.contains("[REDACTED:"), "{}", out.text);
    }
}
