//! `aegis audit verify` end to end (issue 16): what the report covers, and that deleting
//! every digest together with the chain's tail fails with a pinned key and a maximum
//! digest age (exit 18) while the behaviour without a pinned key is unchanged.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const AEGIS: &str = env!("CARGO_BIN_EXE_aegis");

fn aegis(args: &[&str]) -> Output {
    Command::new(AEGIS).args(args).output().expect("run aegis")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit code")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A trail of `records` records in one chain, sealed by one digest now; returns the
/// public key to pin.
fn sealed_trail(dir: &Path, records: usize) -> String {
    let keys = aegis(&["audit", "keygen"]);
    assert_eq!(code(&keys), 0, "{}", text(&keys));
    let keys = String::from_utf8_lossy(&keys.stdout).into_owned();
    let seed = keys
        .lines()
        .find_map(|l| l.strip_prefix("AUDIT_SIGNING_KEY="))
        .expect("a seed");
    let public = keys
        .lines()
        .last()
        .expect("a public key")
        .trim_start_matches("# ");
    let seed_file = dir.with_extension("seed");
    std::fs::write(&seed_file, seed).expect("write the seed");
    let dir_arg = dir.to_str().expect("a UTF-8 path");
    let n = records.to_string();
    let append = aegis(&[
        "audit",
        "stress-append",
        "--dir",
        dir_arg,
        "--records",
        &n,
        "--tasks",
        "1",
    ]);
    assert_eq!(code(&append), 0, "{}", text(&append));
    let digest = aegis(&[
        "audit",
        "digest",
        "--dir",
        dir_arg,
        "--signing-key-file",
        seed_file.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(code(&digest), 0, "{}", text(&digest));
    public.to_string()
}

fn delete_digests_and_tail(dir: &Path) {
    std::fs::remove_dir_all(dir.join("digests")).expect("delete the digests");
    let chains: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .expect("segments")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(chains.len(), 1);
    let mut segments: Vec<_> = std::fs::read_dir(&chains[0])
        .expect("a chain")
        .map(|e| e.expect("entry").path())
        .collect();
    segments.sort();
    std::fs::remove_file(segments.last().expect("a segment")).expect("delete the tail");
}

#[test]
fn verify_reports_its_coverage_and_catches_digests_deleted_with_the_tail() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("audit");
    let key = sealed_trail(&dir, 5);
    let dir_arg = dir.to_str().expect("a UTF-8 path");
    let pinned = [
        "audit",
        "verify",
        "--dir",
        dir_arg,
        "--public-key",
        &key,
        "--max-digest-age",
        "3600",
    ];

    // Intact, with a recent digest: exit 0, and the report says what it covered.
    let out = aegis(&[&pinned[..], &["--json"]].concat());
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["chains"], 1, "{report}");
    assert_eq!(
        report["records"], 6,
        "{report}: the chain start and 5 records"
    );
    assert_eq!(report["segments"], 6, "{report}");
    assert_eq!(report["digests"], 1, "{report}");
    assert_eq!(report["newest_digest"], 0, "{report}");
    assert!(report["newest_digest_end"].is_string(), "{report}");
    assert!(report["newest_record_ts"].is_string(), "{report}");
    assert_eq!(
        report["newest_sealed_record_ts"], report["newest_record_ts"],
        "{report}"
    );
    let out = aegis(&pinned);
    assert!(
        text(&out).contains("newest digest: 0, period ends "),
        "{}",
        text(&out)
    );

    // Every digest and the last segment deleted: before issue 16 this was exit 0, "OK".
    delete_digests_and_tail(&dir);
    let out = aegis(&pinned);
    assert_eq!(code(&out), 18, "{}", text(&out));
    assert!(text(&out).contains("no recent digest"), "{}", text(&out));

    // Without a pinned key nothing changed: not detectable, and the report says why.
    let out = aegis(&[
        "audit",
        "verify",
        "--dir",
        dir_arg,
        "--max-digest-age",
        "3600",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("without --public-key"),
        "{}",
        text(&out)
    );
}
