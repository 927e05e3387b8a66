//! Tests of the whole trail: writers, digests and the verifier against tampered copies.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::embedded::FileAuditSink;
use crate::{AuditSink, AuditSource, StorageError};
use aegis_core::audit::*;

fn event(n: usize) -> AuditEvent {
    AuditEvent::tool_invocation("get_file_contents", InvocationStatus::Pending)
        .with_principal("alice")
        .with_repository("acme/app")
        .with_request_id(format!("req-{n}"))
        .with_context("authorization", "Bearer very-secret")
}

fn sink(dir: &Path) -> Arc<FileAuditSink> {
    Arc::new(FileAuditSink::new(dir))
}

async fn open_segments(dir: &Path) -> AuditLogger {
    AuditLogger::open(
        AuditTarget::Segments(sink(dir)),
        AuditLoggerOptions::default(),
    )
    .await
    .unwrap()
}

/// Writes `groups` batches of `size` records each: one segment per batch (the writer task
/// cannot run between the submits on a current-thread runtime).
async fn write_groups(logger: &AuditLogger, groups: usize, size: usize) -> Vec<RecordRef> {
    let mut out = Vec::new();
    for g in 0..groups {
        let tickets: Vec<_> = (0..size)
            .map(|i| logger.submit(event(g * size + i)))
            .collect();
        for t in tickets {
            out.push(t.durable().await.unwrap());
        }
    }
    out
}

fn signer() -> AuditSigner {
    AuditSigner::from_seed([42u8; 32])
}

fn options() -> VerifyOptions {
    VerifyOptions {
        public_key: Some(parse_public_key(&signer().public_key_hex()).unwrap()),
        ..VerifyOptions::default()
    }
}

/// The fixture: one chain of 7 segments (the start record, then 6 x 3 records, seq 0..=18)
/// and 3 digests: digest 0 covers segments 0..=4, digest 1 segments 5 and 6, digest 2 is
/// an empty period.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    chain: String,
    period_ends: Vec<OffsetDateTime>,
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let logger = open_segments(&dir).await;
    let refs = write_groups(&logger, 4, 3).await;
    let s = sink(&dir);
    let t0 = OffsetDateTime::now_utc() - Duration::minutes(30);
    let period_ends = vec![t0, t0 + Duration::minutes(10), t0 + Duration::minutes(20)];
    let d0 = write_digest(&*s, &signer(), period_ends[0]).await.unwrap();
    assert_eq!(d0.segments.len(), 5);
    write_groups(&logger, 2, 3).await;
    let d1 = write_digest(&*s, &signer(), period_ends[1]).await.unwrap();
    assert_eq!(d1.segments.len(), 2);
    let d2 = write_digest(&*s, &signer(), period_ends[2]).await.unwrap();
    assert!(
        d2.segments.is_empty(),
        "an empty period still gets a digest"
    );
    Fixture {
        _tmp: tmp,
        dir,
        chain: refs[0].chain_id.clone(),
        period_ends,
    }
}

impl Fixture {
    fn segment_path(&self, n: u64) -> PathBuf {
        self.dir
            .join("segments")
            .join(&self.chain)
            .join(format!("{n:020}.json"))
    }
    fn digest_path(&self, n: u64) -> PathBuf {
        self.dir.join("digests").join(format!("{n:020}.json"))
    }
    fn read(&self, path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
    fn write(&self, path: &Path, value: &Value) {
        std::fs::write(path, canonical::to_vec(value)).unwrap();
    }
    fn edit_segment(&self, n: u64, f: impl FnOnce(&mut Vec<Value>)) {
        let path = self.segment_path(n);
        let mut seg = self.read(&path);
        let records = seg["records"].as_array_mut().unwrap();
        f(records);
        self.write(&path, &seg);
    }
    /// Rewrites every record from segment `from` on with fresh hashes, as an attacker
    /// without the signing key would to hide an edit.
    fn rehash_from(&self, from: u64, last: u64) {
        let mut prev_hash: Option<String> = None;
        let mut prev_seg: Option<String> = None;
        for n in from..=last {
            let path = self.segment_path(n);
            let mut seg = self.read(&path);
            if let Some(h) = &prev_seg {
                seg["prev_segment_hash"] = json!(h);
            }
            for rec in seg["records"].as_array_mut().unwrap() {
                if let Some(p) = &prev_hash {
                    rec["prev_hash"] = json!(p);
                }
                let map = rec.as_object().unwrap().clone();
                let h = record::entry_hash(&map);
                rec["entry_hash"] = json!(h);
                prev_hash = Some(h);
            }
            let bytes = canonical::to_vec(&seg);
            prev_seg = Some(canonical::sha256_hex(&bytes));
            std::fs::write(&path, bytes).unwrap();
        }
    }
    fn at(&self, segment: u64, index: usize, seq: u64) -> Location {
        Location::Segment {
            chain_id: self.chain.clone(),
            segment,
            index,
            seq: Some(seq),
        }
    }
}

type Tamper = fn(&Fixture);
type Expect = fn(&Fixture) -> Vec<Finding>;
/// (name, tamper operation, verify options change, expected findings, exit code)
type TamperCase = (&'static str, Tamper, fn(&mut VerifyOptions), Expect, u8);

fn tamper_cases() -> Vec<TamperCase> {
    fn same(_: &mut VerifyOptions) {}
    vec![
        ("untouched", |_| {}, same, |_| vec![], 0),
        (
            "record modified",
            |fx| fx.edit_segment(2, |r| r[1]["tool"] = json!("delete_repository")),
            same,
            |fx| {
                vec![Finding::RecordModified {
                    at: fx.at(2, 1, 5),
                    reason: "`entry_hash` does not match the record's contents".into(),
                }]
            },
            10,
        ),
        (
            "record modified and rehashed",
            |fx| {
                fx.edit_segment(2, |r| r[1]["principal"] = json!("mallory"));
                let path = fx.segment_path(2);
                let mut seg = fx.read(&path);
                let map = seg["records"][1].as_object().unwrap().clone();
                seg["records"][1]["entry_hash"] = json!(record::entry_hash(&map));
                fx.write(&path, &seg);
            },
            same,
            |fx| {
                vec![Finding::RecordModified {
                    at: fx.at(2, 1, 5),
                    reason: "its `entry_hash` is not the `prev_hash` seq 6 committed to (rewritten and rehashed)".into(),
                }]
            },
            10,
        ),
        (
            "whole chain tail rewritten and rehashed: only the digests can tell",
            |fx| {
                fx.edit_segment(2, |r| r[1]["principal"] = json!("mallory"));
                fx.rehash_from(2, 6);
            },
            same,
            |fx| {
                (2..=6)
                    .map(|n| Finding::SegmentModified {
                        chain_id: fx.chain.clone(),
                        segment: n,
                        reason: format!(
                            "its SHA-256 differs from the one digest {} lists",
                            if n <= 4 { 0 } else { 1 }
                        ),
                    })
                    .collect()
            },
            10,
        ),
        (
            "record deleted",
            |fx| {
                fx.edit_segment(2, |r| {
                    r.remove(1);
                })
            },
            same,
            |fx| {
                vec![Finding::RecordsDeleted {
                    chain_id: fx.chain.clone(),
                    after: Some(fx.at(2, 0, 4)),
                    from: 5,
                    to: 5,
                }]
            },
            11,
        ),
        (
            "segment deleted",
            |fx| std::fs::remove_file(fx.segment_path(3)).unwrap(),
            same,
            |fx| {
                vec![Finding::SegmentDeleted {
                    chain_id: fx.chain.clone(),
                    segment: 3,
                }]
            },
            11,
        ),
        (
            "whole chain deleted",
            |fx| std::fs::remove_dir_all(fx.dir.join("segments").join(&fx.chain)).unwrap(),
            same,
            |fx| {
                vec![Finding::ChainDeleted {
                    chain_id: fx.chain.clone(),
                    digest: 0,
                }]
            },
            11,
        ),
        (
            "records reordered",
            |fx| fx.edit_segment(2, |r| r.swap(0, 1)),
            same,
            |fx| {
                vec![Finding::RecordsReordered {
                    at: fx.at(2, 1, 4),
                    after_seq: 5,
                }]
            },
            12,
        ),
        (
            "segments swapped",
            |fx| {
                let (a, b) = (fx.segment_path(3), fx.segment_path(4));
                let tmp = a.with_extension("swap");
                std::fs::rename(&a, &tmp).unwrap();
                std::fs::rename(&b, &a).unwrap();
                std::fs::rename(&tmp, &b).unwrap();
            },
            same,
            |fx| {
                vec![
                    Finding::SegmentMisplaced {
                        chain_id: fx.chain.clone(),
                        segment: 3,
                        holds: format!("chain `{}` segment 4", fx.chain),
                    },
                    Finding::SegmentMisplaced {
                        chain_id: fx.chain.clone(),
                        segment: 4,
                        holds: format!("chain `{}` segment 3", fx.chain),
                    },
                    Finding::RecordsReordered {
                        at: fx.at(4, 0, 7),
                        after_seq: 12,
                    },
                ]
            },
            12,
        ),
        (
            "chain truncated at the tail (segments)",
            |fx| {
                std::fs::remove_file(fx.segment_path(6)).unwrap();
                std::fs::remove_file(fx.segment_path(5)).unwrap();
            },
            same,
            |fx| {
                vec![Finding::ChainTruncated {
                    chain_id: fx.chain.clone(),
                    digest: 1,
                    reason: "segments 5..=6 are listed but missing; the chain ends at segment 4"
                        .into(),
                }]
            },
            13,
        ),
        (
            "chain truncated at the tail (records of the last segment)",
            |fx| {
                fx.edit_segment(6, |r| {
                    r.pop();
                })
            },
            same,
            |fx| {
                vec![Finding::ChainTruncated {
                    chain_id: fx.chain.clone(),
                    digest: 1,
                    reason: "segment 6 holds 2 of the 3 records digest 1 lists".into(),
                }]
            },
            13,
        ),
        (
            "forged digest (edited without the key)",
            |fx| {
                let path = fx.digest_path(1);
                let mut d = fx.read(&path);
                d["segments"].as_array_mut().unwrap().pop();
                fx.write(&path, &d);
            },
            same,
            |_| {
                vec![
                    Finding::DigestForged {
                        digest: 1,
                        reason: "the Ed25519 signature does not verify".into(),
                    },
                    Finding::DigestGap {
                        digest: 2,
                        reason: "its link does not match digest 1's hash and signature".into(),
                    },
                ]
            },
            14,
        ),
        (
            "digest re-signed with another key",
            |fx| {
                let path = fx.digest_path(2);
                let mut d: Digest = serde_json::from_value(fx.read(&path)).unwrap();
                let mallory = AuditSigner::from_seed([9u8; 32]);
                d.public_key = mallory.public_key_hex();
                d.signature = String::new();
                let _ = &mallory;
                fx.write(&path, &serde_json::to_value(&d).unwrap());
            },
            same,
            |_| {
                vec![Finding::DigestForged {
                    digest: 2,
                    reason: format!(
                        "signed by key `{}`, not the pinned key",
                        AuditSigner::from_seed([9u8; 32]).public_key_hex()
                    ),
                }]
            },
            14,
        ),
        (
            "gap in digests",
            |fx| std::fs::remove_file(fx.digest_path(1)).unwrap(),
            same,
            |_| {
                vec![Finding::DigestGap {
                    digest: 2,
                    reason: "digest 1 is missing".into(),
                }]
            },
            15,
        ),
        (
            "untouched, with a recent digest and --max-digest-age",
            |_| {},
            max_age,
            |_| vec![],
            0,
        ),
        (
            "newest digest deleted (stale digests)",
            |fx| std::fs::remove_file(fx.digest_path(2)).unwrap(),
            max_age,
            |fx| {
                vec![Finding::NoRecentDigest {
                    newest: Some(1),
                    reason: format!(
                        "it ends at `{}`, more than 900s ago: nothing seals the records since (later digests deleted?)",
                        format::timestamp(fx.period_ends[1])
                    ),
                }]
            },
            18,
        ),
        (
            "all digests deleted",
            |fx| std::fs::remove_dir_all(fx.dir.join("digests")).unwrap(),
            max_age,
            |_| vec![no_digest_at_all()],
            18,
        ),
        (
            "digests deleted and tail truncated",
            |fx| {
                std::fs::remove_dir_all(fx.dir.join("digests")).unwrap();
                std::fs::remove_file(fx.segment_path(6)).unwrap();
                std::fs::remove_file(fx.segment_path(5)).unwrap();
            },
            max_age,
            |_| vec![no_digest_at_all()],
            18,
        ),
        (
            "newest digests deleted and the segments they list truncated",
            |fx| {
                std::fs::remove_file(fx.digest_path(2)).unwrap();
                std::fs::remove_file(fx.digest_path(1)).unwrap();
                std::fs::remove_file(fx.segment_path(6)).unwrap();
                std::fs::remove_file(fx.segment_path(5)).unwrap();
            },
            max_age,
            |fx| {
                vec![Finding::NoRecentDigest {
                    newest: Some(0),
                    reason: format!(
                        "it ends at `{}`, more than 900s ago: nothing seals the records since (later digests deleted?)",
                        format::timestamp(fx.period_ends[0])
                    ),
                }]
            },
            18,
        ),
        (
            "all digests replaced by a fresh one signed by another key",
            |fx| {
                std::fs::remove_dir_all(fx.dir.join("digests")).unwrap();
                let dir = fx.dir.clone();
                // A properly signed digest, as someone with a key of their own would write.
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let mallory = AuditSigner::from_seed([9u8; 32]);
                    rt.block_on(write_digest(
                        &*sink(&dir),
                        &mallory,
                        OffsetDateTime::now_utc(),
                    ))
                    .unwrap();
                })
                .join()
                .unwrap();
            },
            max_age,
            |_| {
                vec![
                    Finding::DigestForged {
                        digest: 0,
                        reason: format!(
                            "signed by key `{}`, not the pinned key",
                            AuditSigner::from_seed([9u8; 32]).public_key_hex()
                        ),
                    },
                    no_digest_at_all(),
                ]
            },
            14,
        ),
        // Without a pinned key nothing changes: a stale newest digest is a digest gap, and
        // no digest at all is not a finding (anyone can sign a digest with their own key).
        (
            "newest digest deleted, key not pinned (stale digests)",
            |fx| std::fs::remove_file(fx.digest_path(2)).unwrap(),
            |o| {
                max_age(o);
                o.public_key = None;
            },
            |fx| {
                vec![Finding::DigestGap {
                    digest: 1,
                    reason: format!(
                        "the newest digest ends at `{}`, more than 900s ago (later digests deleted?)",
                        format::timestamp(fx.period_ends[1])
                    ),
                }]
            },
            15,
        ),
        (
            "digests deleted and tail truncated, key not pinned: not detectable",
            |fx| {
                std::fs::remove_dir_all(fx.dir.join("digests")).unwrap();
                std::fs::remove_file(fx.segment_path(6)).unwrap();
            },
            |o| {
                max_age(o);
                o.public_key = None;
            },
            |_| vec![],
            0,
        ),
    ]
}

fn max_age(o: &mut VerifyOptions) {
    o.max_digest_age = Some(Duration::minutes(15));
}

fn no_digest_at_all() -> Finding {
    Finding::NoRecentDigest {
        newest: None,
        reason: "no digest signed by the pinned key: nothing seals the trail, so its newest records could have been deleted unseen (every digest deleted?); --max-digest-age 900 requires one".into(),
    }
}

#[tokio::test]
async fn every_tamper_case_gets_its_exact_finding() {
    for (name, tamper, tweak, expected, code) in tamper_cases() {
        let fx = fixture().await;
        tamper(&fx);
        let mut opts = options();
        tweak(&mut opts);
        let report = verify(&*sink(&fx.dir), &opts).await.unwrap();
        assert_eq!(
            report.findings,
            expected(&fx),
            "{name}\n{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), code, "{name}");
        if name.starts_with("untouched") {
            assert_eq!((report.chains, report.segments, report.digests), (1, 7, 3));
            assert_eq!((report.records, report.events), (19, 18));
            assert_eq!(
                (report.segments_covered, report.segments_undigested),
                (7, 0)
            );
            // What the report covered: the newest digest and the newest records.
            assert_eq!(report.newest_digest, Some(2), "{name}");
            assert_eq!(
                report.newest_digest_end,
                Some(format::timestamp(fx.period_ends[2])),
                "{name}"
            );
            assert!(report.newest_record_ts.is_some(), "{name}");
            assert_eq!(
                report.newest_sealed_record_ts, report.newest_record_ts,
                "{name}: every segment is listed"
            );
        }
    }
}

#[tokio::test]
async fn a_corrupt_segment_is_named_once() {
    let fx = fixture().await;
    std::fs::write(fx.segment_path(3), b"{not json").unwrap();
    let report = verify(&*sink(&fx.dir), &options()).await.unwrap();
    assert_eq!(report.findings.len(), 1, "{}", report.render_text());
    match &report.findings[0] {
        Finding::Corrupt { object, .. } => {
            assert_eq!(object, &format!("segments/{}/{:020}.json", fx.chain, 3))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.exit_code(), 16);
}

#[tokio::test]
async fn without_a_pinned_key_the_report_says_so() {
    let fx = fixture().await;
    let report = verify(&*sink(&fx.dir), &VerifyOptions::default())
        .await
        .unwrap();
    assert!(report.ok() && !report.key_pinned);
    assert!(report.notes.iter().any(|n| n.contains("--public-key")));
}

#[tokio::test]
async fn records_carry_no_secret_and_segments_are_durable_files() {
    let tmp = tempfile::tempdir().unwrap();
    let logger = open_segments(tmp.path()).await;
    let r = logger.record(event(1)).await.unwrap();
    assert_eq!((r.seq, r.segment), (1, Some(1)));
    let seg = std::fs::read_to_string(
        tmp.path()
            .join("segments")
            .join(&r.chain_id)
            .join(format!("{:020}.json", 1)),
    )
    .unwrap();
    assert!(!seg.contains("very-secret") && seg.contains("\"authorization\":\"***\""));
}

/// `submit_together` keeps its records in one batch even when the writer runs on another
/// thread and could wake between two separate submits: same segment, consecutive `seq`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_submitted_together_share_one_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let logger = open_segments(tmp.path()).await;
    for i in 0..40 {
        let tickets = logger.submit_together(vec![event(2 * i), event(2 * i + 1)]);
        let mut refs = Vec::new();
        for t in tickets {
            refs.push(t.durable().await.unwrap());
        }
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].segment, refs[1].segment, "{refs:?}");
        assert_eq!(refs[0].seq + 1, refs[1].seq);
    }
}

/// Fails `put_segment` while `fail` is set; with `slow_reads`, each segment read takes
/// 10 ms (an object store's round trip) and the most reads in flight at once are counted;
/// otherwise a `FileAuditSink`.
struct FlakySink {
    inner: FileAuditSink,
    fail: AtomicBool,
    slow_reads: bool,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl FlakySink {
    fn new(dir: &Path) -> Self {
        Self {
            inner: FileAuditSink::new(dir),
            fail: AtomicBool::new(false),
            slow_reads: false,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl AuditSource for FlakySink {
    async fn chains(&self) -> Result<Vec<String>, StorageError> {
        self.inner.chains().await
    }
    async fn segment_numbers(&self, c: &str, a: Option<u64>) -> Result<Vec<u64>, StorageError> {
        self.inner.segment_numbers(c, a).await
    }
    async fn read_segment(&self, c: &str, s: u64) -> Result<Vec<u8>, StorageError> {
        if self.slow_reads {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.read_segment(c, s).await
    }
    async fn digest_numbers(&self, a: Option<u64>) -> Result<Vec<u64>, StorageError> {
        self.inner.digest_numbers(a).await
    }
    async fn read_digest(&self, s: u64) -> Result<Vec<u8>, StorageError> {
        self.inner.read_digest(s).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[async_trait]
impl AuditSink for FlakySink {
    async fn put_segment(&self, c: &str, s: u64, b: &[u8]) -> Result<(), StorageError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable("disk on fire".into()));
        }
        self.inner.put_segment(c, s, b).await
    }
    async fn put_digest(&self, s: u64, b: &[u8]) -> Result<(), StorageError> {
        self.inner.put_digest(s, b).await
    }
}

/// Counts the failed writes the logger reports.
#[derive(Default)]
struct CountFailures(std::sync::atomic::AtomicUsize);

impl AuditObserver for CountFailures {
    fn write_failed(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_failed_write_fails_the_record_and_the_next_one_starts_a_new_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let flaky = Arc::new(FlakySink::new(tmp.path()));
    let failures = Arc::new(CountFailures::default());
    let logger = AuditLogger::open(
        AuditTarget::Segments(flaky.clone()),
        AuditLoggerOptions {
            observer: Some(failures.clone()),
            ..AuditLoggerOptions::default()
        },
    )
    .await
    .unwrap();
    let first = logger.record(event(1)).await.unwrap();
    flaky.fail.store(true, Ordering::SeqCst);
    let err = logger.record(event(2)).await.unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    // The failure is reported: the metrics count it for the audit-write alarm.
    assert_eq!(failures.0.load(Ordering::SeqCst), 1);
    flaky.fail.store(false, Ordering::SeqCst);
    let third = logger.record(event(3)).await.unwrap();
    assert_ne!(third.chain_id, first.chain_id);
    assert_eq!((third.seq, third.segment), (1, Some(0)));
    let report = verify(&*flaky, &VerifyOptions::default()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!((report.chains, report.events), (2, 2));
    let start = flaky.read_segment(&third.chain_id, 0).await.unwrap();
    let start: Value = serde_json::from_slice(&start).unwrap();
    assert_eq!(
        start["records"][0]["context"]["previous_chain"]["chain_id"],
        json!(first.chain_id)
    );
}

#[tokio::test]
async fn an_opening_failure_is_reported_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let flaky = Arc::new(FlakySink {
        fail: AtomicBool::new(true),
        ..FlakySink::new(tmp.path())
    });
    assert!(
        AuditLogger::open(AuditTarget::Segments(flaky), AuditLoggerOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_deferred_start_record_goes_with_the_first_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let flaky = Arc::new(FlakySink::new(tmp.path()));
    let deferred = AuditLoggerOptions {
        start_with_first_batch: true,
        ..AuditLoggerOptions::default()
    };
    let logger = AuditLogger::open(AuditTarget::Segments(flaky.clone()), deferred.clone())
        .await
        .unwrap();
    // nothing written at open: no round trip before the first request
    assert!(flaky.chains().await.unwrap().is_empty());
    let first = logger.record(event(1)).await.unwrap();
    // one segment: the start record (seq 0) and the event (seq 1)
    assert_eq!((first.seq, first.segment), (1, Some(0)));
    let segment = flaky.read_segment(&first.chain_id, 0).await.unwrap();
    let segment: Value = serde_json::from_slice(&segment).unwrap();
    assert_eq!(segment["records"][0]["type"], json!("chain_start"));
    assert_eq!(segment["records"].as_array().unwrap().len(), 2);
    let report = verify(&*flaky, &VerifyOptions::default()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!((report.chains, report.events), (1, 1));

    // a trail that cannot be written fails the first call closed instead of the opening
    let tmp = tempfile::tempdir().unwrap();
    let broken = Arc::new(FlakySink {
        fail: AtomicBool::new(true),
        ..FlakySink::new(tmp.path())
    });
    let logger = AuditLogger::open(AuditTarget::Segments(broken.clone()), deferred)
        .await
        .unwrap();
    assert!(logger.record(event(1)).await.is_err());
    broken.fail.store(false, Ordering::SeqCst);
    let next = logger.record(event(2)).await.unwrap();
    assert_eq!(
        (next.seq, next.segment),
        (1, Some(0)),
        "the start record is still owed"
    );
}

#[tokio::test]
async fn chains_rotate_by_age_and_still_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let logger = AuditLogger::open(
        AuditTarget::Segments(sink(tmp.path())),
        AuditLoggerOptions {
            max_chain_age: Duration::ZERO,
            ..AuditLoggerOptions::default()
        },
    )
    .await
    .unwrap();
    for i in 0..3 {
        logger.record(event(i)).await.unwrap();
    }
    let report = verify(&*sink(tmp.path()), &VerifyOptions::default())
        .await
        .unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!((report.chains, report.events), (4, 3));
}

#[tokio::test]
async fn digests_refuse_to_go_back_in_time_and_cover_each_segment_once() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sink(tmp.path());
    let logger = open_segments(tmp.path()).await;
    logger.record(event(1)).await.unwrap();
    let now = OffsetDateTime::now_utc();
    write_digest(&*s, &signer(), now).await.unwrap();
    assert!(matches!(
        write_digest(&*s, &signer(), now).await,
        Err(AuditError::PeriodNotAfterPrevious { .. })
    ));
    logger.record(event(2)).await.unwrap();
    let d1 = write_digest(&*s, &signer(), now + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(d1.segments.len(), 1);
    assert_eq!(d1.previous.as_ref().map(|l| l.sequence), Some(0));
    let report = verify(&*s, &options()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(report.segments_covered, 3);
}

/// 8 writers (8 loggers, 8 chains) append 500 records each at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_loggers_append_concurrently() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let logger = open_segments(tmp.path()).await;
        tasks.push(tokio::spawn(async move {
            for i in 0..500 {
                logger.record(event(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let report = verify(&*sink(tmp.path()), &VerifyOptions::default())
        .await
        .unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(
        (report.chains, report.events, report.records),
        (8, 4000, 4008)
    );
}

/// Many tasks share one logger: one chain, every record in order, group-committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_share_one_logger() {
    let tmp = tempfile::tempdir().unwrap();
    let logger = open_segments(tmp.path()).await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let logger = logger.clone();
        tasks.push(tokio::spawn(async move {
            let mut refs = Vec::new();
            for i in 0..100 {
                refs.push(logger.record(event(i)).await.unwrap());
            }
            refs
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.extend(t.await.unwrap().into_iter().map(|r| r.seq));
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=4000).collect::<Vec<u64>>(),
        "every record has its own place"
    );
    let report = verify(&*sink(tmp.path()), &VerifyOptions::default())
        .await
        .unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!((report.chains, report.events), (1, 4000));
    assert!(
        report.segments < 4000,
        "concurrent records share segments ({} segments)",
        report.segments
    );
}

// ---- single-file mode ----

async fn open_file(path: &Path) -> AuditLogger {
    AuditLogger::open(
        AuditTarget::JsonLines(path.to_path_buf()),
        AuditLoggerOptions::default(),
    )
    .await
    .unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn line_at(path: &Path, line: usize, seq: u64) -> Location {
    Location::Line {
        file: path.display().to_string(),
        line,
        seq: Some(seq),
    }
}

/// A file of 7 lines, seq 0..=6: a start record, 3 events, a restart, 2 events.
async fn file_fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.log");
    let logger = open_file(&path).await;
    write_groups(&logger, 3, 1).await;
    drop(logger);
    let logger = open_file(&path).await;
    let refs = write_groups(&logger, 2, 1).await;
    assert_eq!(
        refs.last().map(|r| r.seq),
        Some(6),
        "a restart continues the file's chain"
    );
    (tmp, path)
}

type FileTamper = fn(&Path);
type FileExpect = fn(&Path) -> Vec<Finding>;

#[test]
fn single_file_tamper_cases() {
    fn rewrite(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
        let mut l = lines(path);
        f(&mut l);
        std::fs::write(path, l.join("\n") + "\n").unwrap();
    }
    let cases: Vec<(&str, FileTamper, FileExpect, u8)> = vec![
        ("untouched", |_| {}, |_| vec![], 0),
        (
            "line modified",
            |p| rewrite(p, |l| l[2] = l[2].replace("alice", "mallory")),
            |p| {
                vec![Finding::RecordModified {
                    at: line_at(p, 3, 2),
                    reason: "`entry_hash` does not match the record's contents".into(),
                }]
            },
            10,
        ),
        (
            "line deleted",
            |p| {
                rewrite(p, |l| {
                    l.remove(2);
                })
            },
            |p| {
                vec![Finding::RecordsDeleted {
                    chain_id: p.display().to_string(),
                    after: Some(line_at(p, 2, 1)),
                    from: 2,
                    to: 2,
                }]
            },
            11,
        ),
        (
            "lines swapped",
            |p| rewrite(p, |l| l.swap(1, 2)),
            |p| {
                vec![Finding::RecordsReordered {
                    at: line_at(p, 3, 1),
                    after_seq: 2,
                }]
            },
            12,
        ),
        (
            "head cut off (rotated, or deleted)",
            |p| {
                rewrite(p, |l| {
                    l.drain(..2);
                })
            },
            |p| {
                let l = lines(p);
                let first: Value = serde_json::from_str(&l[0]).unwrap();
                vec![Finding::RotatedHead {
                    at: line_at(p, 1, 2),
                    prev_hash: first["prev_hash"].as_str().unwrap().to_string(),
                }]
            },
            17,
        ),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, tamper, expected, code) in cases {
        let (_tmp, path) = rt.block_on(file_fixture());
        tamper(&path);
        let report =
            verify_json_lines(std::slice::from_ref(&path), &VerifyOptions::default()).unwrap();
        assert_eq!(
            report.findings,
            expected(&path),
            "{name}\n{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), code, "{name}");
        if code == 0 {
            assert_eq!((report.records, report.events, report.chains), (7, 5, 2));
        }
    }
}

/// `logrotate copytruncate`: the old lines are copied away and the file truncated while
/// the writer keeps appending; the new file's first line links into the rotated copy.
#[tokio::test]
async fn copytruncate_rotation_verifies_across_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.log");
    let rotated = tmp.path().join("audit.log.1");
    let logger = open_file(&path).await;
    write_groups(&logger, 3, 1).await;
    std::fs::copy(&path, &rotated).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    write_groups(&logger, 2, 1).await;

    let both =
        verify_json_lines(&[rotated.clone(), path.clone()], &VerifyOptions::default()).unwrap();
    assert!(both.ok(), "{}", both.render_text());
    assert_eq!(both.events, 5);

    let alone = verify_json_lines(std::slice::from_ref(&path), &VerifyOptions::default()).unwrap();
    assert_eq!(alone.exit_code(), 17, "{}", alone.render_text());
    let allowed = verify_json_lines(
        std::slice::from_ref(&path),
        &VerifyOptions {
            allow_rotated_head: true,
            ..VerifyOptions::default()
        },
    )
    .unwrap();
    assert!(
        allowed.ok()
            && allowed
                .notes
                .iter()
                .any(|n| n.contains("--allow-rotated-head"))
    );

    // Lines written between logrotate's copy and its truncate are lost: that shows.
    let mut kept = lines(&path);
    kept.remove(0);
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let lost =
        verify_json_lines(&[rotated.clone(), path.clone()], &VerifyOptions::default()).unwrap();
    assert_eq!(
        lost.findings,
        vec![Finding::RecordsDeleted {
            chain_id: rotated.display().to_string(),
            after: Some(line_at(&rotated, 4, 3)),
            from: 4,
            to: 4,
        }]
    );
}

#[tokio::test]
async fn a_torn_tail_is_cut_by_the_next_writer_and_reported_until_then() {
    let (_tmp, path) = file_fixture().await;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"chain_id\":\"x\",\"se");
    std::fs::write(&path, &bytes).unwrap();
    let torn = verify_json_lines(std::slice::from_ref(&path), &VerifyOptions::default()).unwrap();
    assert_eq!(torn.exit_code(), 16);
    assert!(
        torn.render_text().contains("torn final line"),
        "{}",
        torn.render_text()
    );

    let logger = open_file(&path).await;
    let r = logger.record(event(9)).await.unwrap();
    assert_eq!(r.seq, 8);
    let report = verify_json_lines(std::slice::from_ref(&path), &VerifyOptions::default()).unwrap();
    assert!(report.ok(), "{}", report.render_text());
    let start: Value = serde_json::from_str(&lines(&path)[7]).unwrap();
    assert_eq!(start["context"]["repaired_torn_tail_bytes"], json!(19));
}

/// A chain whose id says it started long ago is swept by the first digest and then
/// dropped from `heads`; a young chain stays. Later segments of the old chain (a writer
/// breaking the one-hour rule) are not listed, and the verifier counts them as undigested.
#[tokio::test]
async fn digests_sweep_old_chains_once_and_keep_young_ones_in_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sink(tmp.path());
    let old = "20200101T000000Z-00000000000000000000000000000000";
    let put_old = |sequence: u64, prev: Option<String>, prev_hash: String| {
        let rec = record::build_record(&event(sequence as usize), old, sequence, "t", &prev_hash)
            .unwrap();
        let seg = format::Segment {
            format: format::SEGMENT_FORMAT.into(),
            chain_id: old.into(),
            sequence,
            prev_segment_hash: prev,
            written_at: "t".into(),
            records: vec![rec.clone()],
        };
        (
            seg.encode().unwrap(),
            rec["entry_hash"].as_str().unwrap().to_string(),
        )
    };
    let (b0, h0) = put_old(0, None, record::GENESIS_HASH.into());
    s.put_segment(old, 0, &b0).await.unwrap();
    let young = open_segments(tmp.path())
        .await
        .record(event(1))
        .await
        .unwrap();

    let now = OffsetDateTime::now_utc();
    let d0 = write_digest(&*s, &signer(), now).await.unwrap();
    assert_eq!(d0.segments.len(), 3, "everything is swept the first time");
    let heads: Vec<_> = d0.heads.iter().map(|h| h.chain_id.as_str()).collect();
    assert_eq!(
        heads,
        vec![young.chain_id.as_str()],
        "the old chain is dropped from heads"
    );

    let (b1, _) = put_old(1, Some(canonical::sha256_hex(&b0)), h0);
    s.put_segment(old, 1, &b1).await.unwrap();
    let d1 = write_digest(&*s, &signer(), now + Duration::minutes(1))
        .await
        .unwrap();
    assert!(d1.segments.is_empty(), "{:?}", d1.segments);

    let report = verify(&*s, &options()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(
        (report.segments_covered, report.segments_undigested),
        (3, 1)
    );
}

/// `submit` fixes a record's place at once, so a `pending` submitted before the Gitea call
/// precedes its outcome even when both are awaited together.
#[tokio::test]
async fn submit_fixes_order_before_the_write() {
    let tmp = tempfile::tempdir().unwrap();
    let logger = open_segments(tmp.path()).await;
    let pending = event(1);
    let ticket = logger.submit(pending.clone());
    let gitea_call = async { 42 };
    let (r, answer) = tokio::join!(ticket.durable(), gitea_call);
    let outcome = logger
        .record(outcome_of(&pending, answer == 42, "ok"))
        .await
        .unwrap();
    let r = r.unwrap();
    assert_eq!((r.seq, outcome.seq), (1, 2));
    let seg: Value =
        serde_json::from_slice(&sink(tmp.path()).read_segment(&r.chain_id, 2).await.unwrap())
            .unwrap();
    let rec = &seg["records"][0];
    assert_eq!(rec["status"], "success");
    assert_eq!(rec["correlation_id"], json!(pending.correlation_id));
    assert_eq!(rec["prev_hash"], json!(r.entry_hash));
}

/// The digest reads segments `DIGEST_READ_CONCURRENCY` at a time across chains (not one
/// after the other), and still lists them in key order, each once.
#[tokio::test]
async fn the_digest_reads_segments_concurrently_in_key_order() {
    let tmp = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        let logger = open_segments(tmp.path()).await;
        write_groups(&logger, 30, 1).await;
    }
    let slow = FlakySink {
        slow_reads: true,
        ..FlakySink::new(tmp.path())
    };
    let started = std::time::Instant::now();
    let digest = write_digest(&slow, &signer(), OffsetDateTime::now_utc())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    // 3 chains of 31 segments (a start record each, then 30 one-record batches)
    assert_eq!(digest.segments.len(), 93);
    let keys: Vec<_> = digest
        .segments
        .iter()
        .map(|e| (e.chain_id.clone(), e.sequence))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "key order, no repeats");
    let most = slow.most_in_flight.load(Ordering::SeqCst);
    assert_eq!(most, DIGEST_READ_CONCURRENCY, "reads in flight at once");
    // One at a time this is 93 x 10 ms; 32 at a time, 3 rounds.
    assert!(
        elapsed < std::time::Duration::from_millis(600),
        "{elapsed:?}"
    );
}
