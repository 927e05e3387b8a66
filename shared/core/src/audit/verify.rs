//! The verifier: reads segments and digests (or single-file JSON lines) and reports every
//! place the trail was modified, deleted, reordered, truncated or forged.
//!
//! It never stops at the first problem: an auditor gets all findings, each naming the
//! chain, segment and record (or file and line), and one exit code for the worst class.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::canonical::{self, sha256_hex};
use super::format::{self, Digest, DigestEntry, Segment};
use super::record::{self, GENESIS_HASH};
use super::AuditError;
use crate::store::{AuditSource, StorageError};

mod tail;
pub use tail::verify_with_tail;
use tail::SealedEnd;

/// What the verifier is told besides the source.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The digest key to trust; without it digests are checked against their own key
    pub public_key: Option<VerifyingKey>,
    /// Single-file mode: accept a first line that links to a record not given (a file
    /// rotated with `copytruncate`)
    pub allow_rotated_head: bool,
    /// Fail when the newest digest ends longer ago than this (deleted recent digests).
    /// With `public_key` set, a trail with no digest signed by that key within this age,
    /// or none at all, is a `NoRecentDigest` finding; without it, only a stale newest
    /// digest is (a `DigestGap`), since anyone can sign a fresh digest with a key of their own
    pub max_digest_age: Option<time::Duration>,
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "in", rename_all = "snake_case")]
pub enum Location {
    /// Record `index` (from 0) of segment `segment` of chain `chain_id`
    Segment {
        chain_id: String,
        segment: u64,
        index: usize,
        seq: Option<u64>,
    },
    /// Line `line` (from 1) of `file`
    Line {
        file: String,
        line: usize,
        seq: Option<u64>,
    },
    /// Record `index` (from 0) of batch `batch` of chain `chain_id` in the hot log (unsealed)
    Batch {
        chain_id: String,
        batch: u64,
        index: usize,
        seq: Option<u64>,
    },
}

impl Location {
    fn seq(&self) -> Option<u64> {
        match self {
            Location::Segment { seq, .. }
            | Location::Line { seq, .. }
            | Location::Batch { seq, .. } => *seq,
        }
    }
    fn segment_key(&self) -> Option<(String, u64)> {
        match self {
            Location::Segment {
                chain_id, segment, ..
            } => Some((chain_id.clone(), *segment)),
            Location::Line { .. } | Location::Batch { .. } => None,
        }
    }
    /// The segment or hot batch holding the record (whichever this line of records is made of)
    fn object_number(&self) -> Option<u64> {
        match self {
            Location::Segment { segment: n, .. } | Location::Batch { batch: n, .. } => Some(*n),
            Location::Line { .. } => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Segment {
                chain_id,
                segment,
                index,
                ..
            } => write!(f, "chain `{chain_id}` segment {segment} record #{index}")?,
            Location::Line { file, line, .. } => write!(f, "`{file}` line {line}")?,
            Location::Batch {
                chain_id,
                batch,
                index,
                ..
            } => write!(f, "chain `{chain_id}` hot batch {batch} record #{index}")?,
        }
        if let Some(seq) = self.seq() {
            write!(f, " (seq {seq})")?;
        }
        Ok(())
    }
}

/// One problem the verifier found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// A record's contents no longer match its hash, or no longer link
    RecordModified { at: Location, reason: String },
    /// Records `from..=to` of a chain are gone (`after` is the record before the hole).
    /// In single-file mode `chain_id` is the file the stretch of records starts in.
    RecordsDeleted {
        chain_id: String,
        after: Option<Location>,
        from: u64,
        to: u64,
    },
    /// A segment between two present ones (or before the first) is gone
    SegmentDeleted { chain_id: String, segment: u64 },
    /// Every segment of a chain a digest lists is gone
    ChainDeleted { chain_id: String, digest: u64 },
    /// A record sits before one it should follow
    RecordsReordered { at: Location, after_seq: u64 },
    /// A segment file holds another position's segment (renamed or swapped)
    SegmentMisplaced {
        chain_id: String,
        segment: u64,
        holds: String,
    },
    /// A segment's bytes differ from what a digest or the next segment committed to
    SegmentModified {
        chain_id: String,
        segment: u64,
        reason: String,
    },
    /// The newest segments (or records) of a chain that a digest lists are gone
    ChainTruncated {
        chain_id: String,
        digest: u64,
        reason: String,
    },
    /// A digest's signature does not verify, or it was signed by another key
    DigestForged { digest: u64, reason: String },
    /// The digest chain has a hole: missing numbers, a broken link, a gap in time
    DigestGap { digest: u64, reason: String },
    /// An object or line that cannot be read as what it should be
    Corrupt { object: String, reason: String },
    /// Single-file mode: the first line links to a record not given
    RotatedHead { at: Location, prev_hash: String },
    /// With a pinned key and a maximum digest age: no digest signed by that key ended
    /// within the age (`newest` is the newest such digest, `None` when there is none), so
    /// nothing seals the trail's tail and its truncation would go unseen
    NoRecentDigest { newest: Option<u64>, reason: String },
    /// Hot log (`--table`): batches `from..=to` of a chain are gone while a later one is
    /// there, between the sealed part and the tail or inside the tail
    BatchesDeleted {
        chain_id: String,
        from: u64,
        to: u64,
    },
    /// Hot log: a batch that does not link to the batch before it (or to the last sealed
    /// one), or that names another chain or position: a fork attempt, or the batch before
    /// it rewritten
    BatchForked {
        chain_id: String,
        batch: u64,
        reason: String,
    },
}

/// The class of a finding; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Modified,
    Deleted,
    Reordered,
    Truncated,
    Forged,
    DigestGap,
    Corrupt,
    RotatedHead,
    Unsealed,
}

impl FindingKind {
    /// The verifier's exit code for this class (0 is a clean report, 2 a verifier error).
    pub fn exit_code(self) -> u8 {
        match self {
            FindingKind::Modified => 10,
            FindingKind::Deleted => 11,
            FindingKind::Reordered => 12,
            FindingKind::Truncated => 13,
            FindingKind::Forged => 14,
            FindingKind::DigestGap => 15,
            FindingKind::Corrupt => 16,
            FindingKind::RotatedHead => 17,
            FindingKind::Unsealed => 18,
        }
    }
}

impl Finding {
    /// The record a record-level finding names (a modified or misplaced record, the one
    /// before deleted records): what explains a broken link of its segment or batch.
    fn record_location(&self) -> Option<&Location> {
        match self {
            Finding::RecordModified { at, .. } | Finding::RecordsReordered { at, .. } => Some(at),
            Finding::RecordsDeleted {
                after: Some(at), ..
            } => Some(at),
            _ => None,
        }
    }

    pub fn kind(&self) -> FindingKind {
        match self {
            Finding::RecordModified { .. }
            | Finding::SegmentModified { .. }
            | Finding::BatchForked { .. } => FindingKind::Modified,
            Finding::RecordsDeleted { .. }
            | Finding::SegmentDeleted { .. }
            | Finding::ChainDeleted { .. }
            | Finding::BatchesDeleted { .. } => FindingKind::Deleted,
            Finding::RecordsReordered { .. } | Finding::SegmentMisplaced { .. } => {
                FindingKind::Reordered
            }
            Finding::ChainTruncated { .. } => FindingKind::Truncated,
            Finding::DigestForged { .. } => FindingKind::Forged,
            Finding::DigestGap { .. } => FindingKind::DigestGap,
            Finding::Corrupt { .. } => FindingKind::Corrupt,
            Finding::RotatedHead { .. } => FindingKind::RotatedHead,
            Finding::NoRecentDigest { .. } => FindingKind::Unsealed,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::RecordModified { at, reason } => write!(f, "record modified: {at}: {reason}"),
            Finding::RecordsDeleted {
                chain_id,
                after,
                from,
                to,
            } => {
                write!(f, "records deleted: chain `{chain_id}` seq {from}..={to}")?;
                match after {
                    Some(at) => write!(f, " are missing after {at}"),
                    None => write!(f, " are missing at its start"),
                }
            }
            Finding::SegmentDeleted { chain_id, segment } => {
                write!(f, "segment deleted: chain `{chain_id}` segment {segment} is missing")
            }
            Finding::ChainDeleted { chain_id, digest } => write!(
                f,
                "chain deleted: chain `{chain_id}` is listed by digest {digest} but has no segment"
            ),
            Finding::RecordsReordered { at, after_seq } => {
                write!(f, "records reordered: {at} appears after seq {after_seq}")
            }
            Finding::SegmentMisplaced {
                chain_id,
                segment,
                holds,
            } => write!(
                f,
                "segments reordered: chain `{chain_id}` segment {segment} holds {holds}"
            ),
            Finding::SegmentModified {
                chain_id,
                segment,
                reason,
            } => write!(
                f,
                "segment modified: chain `{chain_id}` segment {segment}: {reason}"
            ),
            Finding::ChainTruncated {
                chain_id,
                digest,
                reason,
            } => write!(
                f,
                "chain truncated: chain `{chain_id}` (per digest {digest}): {reason}"
            ),
            Finding::DigestForged { digest, reason } => {
                write!(f, "forged digest: digest {digest}: {reason}")
            }
            Finding::DigestGap { digest, reason } => {
                write!(f, "digest gap: digest {digest}: {reason}")
            }
            Finding::Corrupt { object, reason } => write!(f, "corrupt: `{object}`: {reason}"),
            Finding::RotatedHead { at, prev_hash } => write!(
                f,
                "head links to an unseen record: {at} follows `{prev_hash}` (a rotated file? pass --allow-rotated-head)"
            ),
            Finding::NoRecentDigest {
                newest: Some(digest),
                reason,
            } => write!(f, "no recent digest: digest {digest}: {reason}"),
            Finding::NoRecentDigest {
                newest: None,
                reason,
            } => write!(f, "no recent digest: {reason}"),
            Finding::BatchesDeleted { chain_id, from, to } if from == to => write!(
                f,
                "hot batch deleted: chain `{chain_id}` batch {from} is missing while batch {} exists",
                to + 1
            ),
            Finding::BatchesDeleted { chain_id, from, to } => write!(
                f,
                "hot batch deleted: chain `{chain_id}` batches {from}..={to} are missing while batch {} exists",
                to + 1
            ),
            Finding::BatchForked {
                chain_id,
                batch,
                reason,
            } => write!(f, "hot batch forked: chain `{chain_id}` batch {batch}: {reason}"),
        }
    }
}

/// The verifier's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub source: String,
    pub chains: usize,
    pub segments: usize,
    /// Every record, chain starts included
    pub records: u64,
    /// Records other than chain starts: the audited events
    pub events: u64,
    pub digests: usize,
    /// Segments listed by a digest
    pub segments_covered: usize,
    /// Segments no digest lists (yet): newer than the newest digest, or whose digest is gone
    pub segments_undigested: usize,
    /// Objects fetched: segments and digests (one `GetObject` each in S3), what an
    /// auditor's verification costs
    pub segment_reads: usize,
    pub digest_reads: usize,
    /// Whether digest signatures were checked against a key the auditor gave
    pub key_pinned: bool,
    /// The newest digest read: its number and the end of its period (the newest time a
    /// digest seals)
    pub newest_digest: Option<u64>,
    pub newest_digest_end: Option<String>,
    /// The newest record `ts` of all records read, and of those in segments a digest lists
    pub newest_record_ts: Option<String>,
    pub newest_sealed_record_ts: Option<String>,
    /// What was read of the hot log's unsealed tail (`verify_with_tail` only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hot_log: Option<TailCoverage>,
    pub notes: Vec<String>,
    pub findings: Vec<Finding>,
}

/// What `verify_with_tail` read of the hot log besides the sealed segments.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TailCoverage {
    /// Where the tail was read (`dynamodb://<table>/audit#`)
    pub source: String,
    /// Chains in the hot log's listing
    pub chains: usize,
    /// Chains with records no segment holds yet
    pub chains_unsealed: usize,
    /// Hot batches holding unsealed records
    pub batches_unsealed: usize,
    /// Records in the hot log that no segment holds yet (`Report::records` counts those
    /// in segments)
    pub records_unsealed: u64,
    /// Of those, records other than chain starts
    pub events_unsealed: u64,
    /// Records found both in the tail and in a segment, counted once (as sealed): the
    /// sealer wrote the segment but had not moved its cursor when the tail was read
    pub records_in_both: u64,
    /// The newest `ts` of an unsealed record
    pub newest_unsealed_record_ts: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// 0 when clean, else the smallest exit code among the findings' classes.
    pub fn exit_code(&self) -> u8 {
        self.findings
            .iter()
            .map(|f| f.kind().exit_code())
            .min()
            .unwrap_or(0)
    }

    /// The human-readable report.
    pub fn render_text(&self) -> String {
        let mut out = format!("audit trail: {}\n", self.source);
        out.push_str(&format!(
            "  {} chains, {} segments, {} records ({} events), {} digests",
            self.chains, self.segments, self.records, self.events, self.digests
        ));
        if self.digests > 0 {
            out.push_str(&format!(
                "; {} segments listed by digests, {} not (yet) listed",
                self.segments_covered, self.segments_undigested
            ));
        }
        out.push_str(&format!(
            "; {} segment and {} digest objects read\n",
            self.segment_reads, self.digest_reads
        ));
        out.push_str(&format!(
            "  newest digest: {}; newest record: {}; newest record a digest lists: {}\n",
            match (self.newest_digest, &self.newest_digest_end) {
                (Some(n), Some(end)) => format!("{n}, period ends {end}"),
                _ => "none".into(),
            },
            self.newest_record_ts.as_deref().unwrap_or("none"),
            self.newest_sealed_record_ts.as_deref().unwrap_or("none"),
        ));
        if let Some(tail) = &self.hot_log {
            out.push_str(&format!(
                "  hot log {}: {} chains listed; {} records sealed (in segments), {} not yet ({} events in {} hot batches of {} chains); newest unsealed record: {}\n",
                tail.source,
                tail.chains,
                self.records,
                tail.records_unsealed,
                tail.events_unsealed,
                tail.batches_unsealed,
                tail.chains_unsealed,
                tail.newest_unsealed_record_ts.as_deref().unwrap_or("none"),
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
        if self.ok() {
            out.push_str("OK: no tampering found\n");
        } else {
            out.push_str(&format!(
                "FAILED: {} finding(s), exit code {}\n",
                self.findings.len(),
                self.exit_code()
            ));
            for finding in &self.findings {
                out.push_str(&format!("  - {finding}\n"));
            }
        }
        out
    }
}

/// Keeps in `slot` the later of it and `ts` (timestamps that do not parse are skipped).
fn keep_newest(slot: &mut Option<String>, ts: Option<&str>) {
    let Some(t) = ts.and_then(|s| format::parse_timestamp(s).map(|t| (s, t))) else {
        return;
    };
    let newer = slot
        .as_deref()
        .and_then(format::parse_timestamp)
        .is_none_or(|held| t.1 > held);
    if newer {
        *slot = Some(t.0.to_string());
    }
}

/// One record as the chain checks see it.
struct Rec {
    at: Location,
    seq: Option<u64>,
    prev_hash: Option<String>,
    entry_hash: Option<String>,
    hash_ok: bool,
    is_start: bool,
}

impl Rec {
    fn from_map(at: Location, map: &Map<String, Value>) -> Self {
        let get = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        let entry_hash = get("entry_hash");
        let hash_ok = entry_hash.as_deref() == Some(record::entry_hash(map).as_str());
        Rec {
            at,
            seq: map.get("seq").and_then(Value::as_u64),
            prev_hash: get("prev_hash"),
            entry_hash,
            hash_ok,
            is_start: map.get("type").and_then(Value::as_str) == Some("chain_start"),
        }
    }

    /// The segment (or hot batch) the record is in
    fn segment(&self) -> Option<u64> {
        self.at.object_number()
    }
}

/// Checks one line of records claimed to follow each other (a chain, or a stretch of a
/// file). Links across a missing segment are not checked: that hole is reported already.
fn check_records(chain_id: &str, recs: &[Rec], findings: &mut Vec<Finding>) {
    for r in recs {
        if r.seq.is_none() || r.prev_hash.is_none() || r.entry_hash.is_none() {
            findings.push(Finding::RecordModified {
                at: r.at.clone(),
                reason: "`seq`, `prev_hash` or `entry_hash` is missing".into(),
            });
        } else if !r.hash_ok {
            findings.push(Finding::RecordModified {
                at: r.at.clone(),
                reason: "`entry_hash` does not match the record's contents".into(),
            });
        }
    }
    let mut ordered: Vec<&Rec> = recs.iter().filter(|r| r.seq.is_some()).collect();
    // Reordering: report the first record that comes after a higher seq, then check the
    // links in seq order so a pure reorder is not also reported as deletions.
    if let Some(w) = ordered.windows(2).find(|w| w[1].seq < w[0].seq) {
        findings.push(Finding::RecordsReordered {
            at: w[1].at.clone(),
            after_seq: w[0].seq.unwrap_or_default(),
        });
        ordered.sort_by_key(|r| r.seq);
    }
    for w in ordered.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (Some(sa), Some(sb)) = (a.seq, b.seq) else {
            continue;
        };
        if let (Some(x), Some(y)) = (a.segment(), b.segment()) {
            if y > x + 1 {
                continue;
            }
        }
        if sb == sa {
            findings.push(Finding::RecordModified {
                at: b.at.clone(),
                reason: format!("seq {sb} appears twice"),
            });
        } else if sb > sa + 1 {
            findings.push(Finding::RecordsDeleted {
                chain_id: chain_id.to_string(),
                after: Some(a.at.clone()),
                from: sa + 1,
                to: sb - 1,
            });
        } else if b.prev_hash != a.entry_hash && b.hash_ok && a.hash_ok {
            // Both hash correctly on their own, so one was rewritten with a fresh hash:
            // the earlier one, since the later one's `prev_hash` is what it committed to.
            findings.push(Finding::RecordModified {
                at: a.at.clone(),
                reason: format!(
                    "its `entry_hash` is not the `prev_hash` seq {sb} committed to (rewritten and rehashed)"
                ),
            });
        }
    }
}

/// Verifies everything `source` holds: every chain's segments and records, the digest
/// chain, and that digests and segments agree.
pub async fn verify(
    source: &dyn AuditSource,
    options: &VerifyOptions,
) -> Result<Report, AuditError> {
    Ok(verify_segments(source, options, &BTreeMap::new()).await?.0)
}

/// `verify`, plus the end of each chain named in `ends_from`: its last record, and the
/// hashes of its records from that `seq` on (what a hot log's tail must agree with).
async fn verify_segments(
    source: &dyn AuditSource,
    options: &VerifyOptions,
    ends_from: &BTreeMap<String, u64>,
) -> Result<(Report, BTreeMap<String, SealedEnd>), AuditError> {
    let mut ends = BTreeMap::new();
    let mut report = Report {
        source: source.describe(),
        key_pinned: options.public_key.is_some(),
        ..Report::default()
    };
    let mut findings = Vec::new();

    // Digests first: what they list is what the segments are checked against.
    let digests = read_digests(source, options, &mut report, &mut findings).await?;
    let mut listed: BTreeMap<String, BTreeMap<u64, (DigestEntry, u64)>> = BTreeMap::new();
    for digest in &digests {
        for entry in &digest.segments {
            let chain = listed.entry(entry.chain_id.clone()).or_default();
            if let Some((_, first)) = chain.get(&entry.sequence) {
                findings.push(Finding::DigestGap {
                    digest: digest.sequence,
                    reason: format!(
                        "lists chain `{}` segment {} again (already in digest {first})",
                        entry.chain_id, entry.sequence
                    ),
                });
                continue;
            }
            chain.insert(entry.sequence, (entry.clone(), digest.sequence));
        }
    }

    let chains = source.chains().await?;
    report.chains = chains.len();
    for chain_id in &chains {
        let numbers = source.segment_numbers(chain_id, None).await?;
        let mut present: BTreeMap<u64, (Vec<u8>, Option<Segment>)> = BTreeMap::new();
        for &n in &numbers {
            report.segment_reads += 1;
            let bytes = match source.read_segment(chain_id, n).await {
                Ok(b) => b,
                Err(StorageError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let parsed = match serde_json::from_slice::<Segment>(&bytes) {
                Ok(s) => Some(s),
                Err(e) => {
                    findings.push(Finding::Corrupt {
                        object: format!("segments/{chain_id}/{n:020}.json"),
                        reason: format!("not a segment: {e}"),
                    });
                    None
                }
            };
            present.insert(n, (bytes, parsed));
        }
        report.segments += present.len();
        let recs = check_chain(
            chain_id,
            &present,
            listed.get(chain_id),
            &mut report,
            &mut findings,
        );
        if let Some(&from) = ends_from.get(chain_id) {
            ends.insert(chain_id.clone(), SealedEnd::of(recs, from));
        }
    }

    // Chains a digest lists that are gone altogether.
    for (chain_id, entries) in &listed {
        if !chains.contains(chain_id) {
            let digest = entries.values().map(|(_, d)| *d).min().unwrap_or_default();
            findings.push(Finding::ChainDeleted {
                chain_id: chain_id.clone(),
                digest,
            });
        }
    }
    if !report.key_pinned && !digests.is_empty() {
        report.notes.push(
            "digest signatures were checked against the key inside the digests; pin the key with --public-key"
                .into(),
        );
    }
    // With a pinned key and a maximum age, no digest is a finding already.
    let tail_checked = report.key_pinned && options.max_digest_age.is_some();
    if digests.is_empty() && report.segments > 0 && !tail_checked {
        report.notes.push(
            "no digests: deleting the newest segments of a chain cannot be detected without them"
                .into(),
        );
    }
    if !digests.is_empty() && !tail_checked {
        report.notes.push(
            "deleting the newest digests together with the segments they list is detected only with --public-key and --max-digest-age"
                .into(),
        );
    }
    report.findings = findings;
    Ok((report, ends))
}

/// Checks one chain's segments against each other and against the digests; returns its
/// records as read.
fn check_chain(
    chain_id: &str,
    present: &BTreeMap<u64, (Vec<u8>, Option<Segment>)>,
    listed: Option<&BTreeMap<u64, (DigestEntry, u64)>>,
    report: &mut Report,
    findings: &mut Vec<Finding>,
) -> Vec<Rec> {
    let mut recs = Vec::new();
    // Segments already named by a finding of their own (corrupt, misplaced).
    let mut misplaced = BTreeSet::new();
    for (&n, (_, parsed)) in present {
        let Some(seg) = parsed else {
            misplaced.insert(n);
            continue;
        };
        if seg.chain_id != chain_id || seg.sequence != n {
            misplaced.insert(n);
            findings.push(Finding::SegmentMisplaced {
                chain_id: chain_id.to_string(),
                segment: n,
                holds: format!("chain `{}` segment {}", seg.chain_id, seg.sequence),
            });
        }
        for (index, map) in seg.records.iter().enumerate() {
            let rec = Rec::from_map(
                Location::Segment {
                    chain_id: chain_id.to_string(),
                    segment: n,
                    index,
                    seq: map.get("seq").and_then(Value::as_u64),
                },
                map,
            );
            report.records += 1;
            if !rec.is_start {
                report.events += 1;
            }
            let ts = map.get("ts").and_then(Value::as_str);
            keep_newest(&mut report.newest_record_ts, ts);
            if listed.is_some_and(|l| l.contains_key(&n)) {
                keep_newest(&mut report.newest_sealed_record_ts, ts);
            }
            recs.push(rec);
        }
    }
    // Holes between (and before) the present segments.
    let mut expected = 0;
    for &n in present.keys() {
        for missing in expected..n {
            findings.push(Finding::SegmentDeleted {
                chain_id: chain_id.to_string(),
                segment: missing,
            });
        }
        expected = n + 1;
    }
    let before = findings.len();
    check_records(chain_id, &recs, findings);
    if let Some(first) = recs.first() {
        if present.contains_key(&0) && first.at.segment_key().map(|(_, s)| s) == Some(0) {
            if first.seq.is_some_and(|s| s > 0) {
                findings.push(Finding::RecordsDeleted {
                    chain_id: chain_id.to_string(),
                    after: None,
                    from: 0,
                    to: first.seq.unwrap_or(1) - 1,
                });
            } else if first.seq == Some(0)
                && first.prev_hash.as_deref() != Some(GENESIS_HASH)
                && first.hash_ok
            {
                findings.push(Finding::RecordModified {
                    at: first.at.clone(),
                    reason: "a chain's first record must link to the genesis hash".into(),
                });
            }
        }
    }
    // Segments a record-level finding already names need no second, vaguer finding.
    let mut explained: BTreeSet<u64> = misplaced;
    for f in &findings[before..] {
        if let Some((_, s)) = f.record_location().and_then(Location::segment_key) {
            explained.insert(s);
        }
    }
    // Each segment commits to the bytes of the one before it.
    for (&n, (_, parsed)) in present {
        let Some(seg) = parsed else { continue };
        if explained.contains(&n) {
            continue;
        }
        let expected = match n.checked_sub(1) {
            None => None,
            Some(p) => match present.get(&p) {
                Some((bytes, _)) => Some(sha256_hex(bytes)),
                None => continue,
            },
        };
        if seg.prev_segment_hash != expected && !explained.contains(&n.saturating_sub(1)) {
            let target = n.saturating_sub(1);
            findings.push(Finding::SegmentModified {
                chain_id: chain_id.to_string(),
                segment: target,
                reason: if n == 0 {
                    "segment 0 links to a predecessor".into()
                } else {
                    format!("its bytes are not those segment {n} committed to")
                },
            });
            explained.insert(target);
        }
    }
    let Some(listed) = listed else {
        report.segments_undigested += present.len();
        return recs;
    };
    let last_present = present.keys().next_back().copied();
    let mut truncated_reported = false;
    for (&n, (entry, digest)) in listed {
        match present.get(&n) {
            Some((bytes, parsed)) => {
                report.segments_covered += 1;
                if sha256_hex(bytes) == entry.sha256 {
                    continue;
                }
                let held = parsed.as_ref().map_or(0, |s| s.records.len() as u64);
                let is_prefix = parsed.as_ref().is_some_and(|s| {
                    s.records.iter().all(|r| {
                        r.get("entry_hash").and_then(Value::as_str).is_some()
                            && record::entry_hash(r)
                                == r.get("entry_hash").and_then(Value::as_str).unwrap_or("")
                    })
                });
                if Some(n) == last_present && held < entry.records && is_prefix {
                    findings.push(Finding::ChainTruncated {
                        chain_id: chain_id.to_string(),
                        digest: *digest,
                        reason: format!(
                            "segment {n} holds {held} of the {} records digest {digest} lists",
                            entry.records
                        ),
                    });
                } else if !explained.contains(&n) {
                    findings.push(Finding::SegmentModified {
                        chain_id: chain_id.to_string(),
                        segment: n,
                        reason: format!("its SHA-256 differs from the one digest {digest} lists"),
                    });
                }
            }
            None if last_present.is_none_or(|last| n > last) => {
                if !truncated_reported && last_present.is_some() {
                    let last_listed = listed.keys().next_back().copied().unwrap_or(n);
                    findings.push(Finding::ChainTruncated {
                        chain_id: chain_id.to_string(),
                        digest: *digest,
                        reason: format!(
                            "segments {n}..={last_listed} are listed but missing; the chain ends at segment {}",
                            last_present.unwrap_or_default()
                        ),
                    });
                }
                truncated_reported = true;
            }
            // A hole before the last present segment: reported as `SegmentDeleted`.
            None => {}
        }
    }
    report.segments_undigested += present.keys().filter(|n| !listed.contains_key(n)).count();
    recs
}

/// Reads and checks the digest chain; returns the digests that parsed.
async fn read_digests(
    source: &dyn AuditSource,
    options: &VerifyOptions,
    report: &mut Report,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Digest>, AuditError> {
    let numbers = source.digest_numbers(None).await?;
    let mut out: Vec<Digest> = Vec::new();
    let mut prev: Option<(u64, String, Digest)> = None;
    let mut first_key: Option<String> = None;
    let mut forged = BTreeSet::new();
    let mut expected = 0;
    for n in numbers {
        report.digest_reads += 1;
        let bytes = match source.read_digest(n).await {
            Ok(b) => b,
            Err(StorageError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        report.digests += 1;
        if n > expected {
            // The link check below would only restate the hole.
            prev = None;
            findings.push(Finding::DigestGap {
                digest: n,
                reason: if expected + 1 == n {
                    format!("digest {expected} is missing")
                } else {
                    format!("digests {expected}..={} are missing", n - 1)
                },
            });
        }
        expected = n + 1;
        let object = format!("digests/{n:020}.json");
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                findings.push(Finding::Corrupt {
                    object,
                    reason: format!("not JSON: {e}"),
                });
                continue;
            }
        };
        let digest: Digest = match serde_json::from_value(value.clone()) {
            Ok(d) => d,
            Err(e) => {
                findings.push(Finding::Corrupt {
                    object,
                    reason: format!("not a digest: {e}"),
                });
                continue;
            }
        };
        if let Some(reason) = check_signature(&value, &digest, options, &mut first_key) {
            forged.insert(n);
            findings.push(Finding::DigestForged { digest: n, reason });
        }
        if digest.sequence != n {
            findings.push(Finding::DigestGap {
                digest: n,
                reason: format!("holds digest {} (renamed)", digest.sequence),
            });
        }
        match (&prev, &digest.previous) {
            (None, None) => {}
            (None, Some(_)) if n > 0 => {} // its predecessor is missing: reported above
            (None, Some(_)) => findings.push(Finding::DigestGap {
                digest: n,
                reason: "digest 0 links to a predecessor".into(),
            }),
            (Some((pn, _, _)), None) => findings.push(Finding::DigestGap {
                digest: n,
                reason: format!("does not link to digest {pn}"),
            }),
            (Some((pn, phash, pdigest)), Some(link)) => {
                let reason = if link.sequence != *pn {
                    Some(format!("links to digest {} instead of {pn}", link.sequence))
                } else if &link.sha256 != phash || link.signature != pdigest.signature {
                    Some(format!(
                        "its link does not match digest {pn}'s hash and signature"
                    ))
                } else if digest.period_start.as_deref() != Some(pdigest.period_end.as_str()) {
                    Some(format!(
                        "its period starts at `{}`, not where digest {pn}'s ends (`{}`)",
                        digest.period_start.as_deref().unwrap_or("none"),
                        pdigest.period_end
                    ))
                } else {
                    None
                };
                if let Some(reason) = reason {
                    findings.push(Finding::DigestGap { digest: n, reason });
                }
            }
        }
        prev = Some((n, sha256_hex(&bytes), digest.clone()));
        out.push(digest);
    }
    if let Some(last) = out.last() {
        report.newest_digest = Some(last.sequence);
        report.newest_digest_end = Some(last.period_end.clone());
    }
    check_digest_age(options, &out, &forged, report, findings);
    Ok(out)
}

/// `--max-digest-age`. With a pinned key this is the guarantee that the tail is sealed:
/// a digest signed by that key must have ended within the age, and a trail with no such
/// digest (all deleted, tail truncated with them) fails as `NoRecentDigest`. Without a
/// pinned key a stale newest digest is a `DigestGap` and no digest at all only a note:
/// anyone could sign a fresh digest with a key of their own, so nothing is guaranteed.
fn check_digest_age(
    options: &VerifyOptions,
    digests: &[Digest],
    forged: &BTreeSet<u64>,
    report: &mut Report,
    findings: &mut Vec<Finding>,
) {
    let Some(max_age) = options.max_digest_age else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let stale =
        |d: &Digest| format::parse_timestamp(&d.period_end).is_none_or(|t| now - t > max_age);
    let age = max_age.whole_seconds();
    if options.public_key.is_none() {
        match digests.last() {
            Some(last) if stale(last) => findings.push(Finding::DigestGap {
                digest: last.sequence,
                reason: format!(
                    "the newest digest ends at `{}`, more than {age}s ago (later digests deleted?)",
                    last.period_end
                ),
            }),
            Some(_) => {}
            None => report.notes.push(format!(
                "no digest to check against --max-digest-age {age}: without --public-key that is not a finding"
            )),
        }
        return;
    }
    // A forged digest is reported on its own and seals nothing.
    match digests.iter().rev().find(|d| !forged.contains(&d.sequence)) {
        None => findings.push(Finding::NoRecentDigest {
            newest: None,
            reason: format!(
                "no digest signed by the pinned key: nothing seals the trail, so its newest records could have been deleted unseen (every digest deleted?); --max-digest-age {age} requires one"
            ),
        }),
        Some(last) if stale(last) => findings.push(Finding::NoRecentDigest {
            newest: Some(last.sequence),
            reason: format!(
                "it ends at `{}`, more than {age}s ago: nothing seals the records since (later digests deleted?)",
                last.period_end
            ),
        }),
        Some(_) => {}
    }
}

/// `Some(reason)` when the digest's signature must not be trusted.
fn check_signature(
    value: &Value,
    digest: &Digest,
    options: &VerifyOptions,
    first_key: &mut Option<String>,
) -> Option<String> {
    let key = match &options.public_key {
        Some(pinned) => {
            if digest.public_key != hex::encode(pinned.to_bytes()) {
                return Some(format!(
                    "signed by key `{}`, not the pinned key",
                    digest.public_key
                ));
            }
            *pinned
        }
        None => {
            let first = first_key.get_or_insert_with(|| digest.public_key.clone());
            if *first != digest.public_key {
                return Some(format!(
                    "signed by key `{}`, not `{first}` like the first digest",
                    digest.public_key
                ));
            }
            match super::parse_public_key(&digest.public_key) {
                Ok(k) => k,
                Err(e) => return Some(e.to_string()),
            }
        }
    };
    let signature = match hex::decode(&digest.signature)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    {
        Some(bytes) => Signature::from_bytes(&bytes),
        None => return Some("the signature is not 64 hex-encoded bytes".into()),
    };
    // Verified over the stored object itself, so no field can be added unnoticed.
    let mut body = value.clone();
    if let Value::Object(map) = &mut body {
        map.remove("signature");
    }
    match key.verify(&canonical::to_vec(&body), &signature) {
        Ok(()) => None,
        Err(_) => Some("the Ed25519 signature does not verify".into()),
    }
}

/// Verifies single-file audit logs: `files` in order, oldest first (`audit.log.1` then
/// `audit.log`), as one line of records. A line whose `prev_hash` is the genesis hash and
/// `seq` 0 starts a new line of records (the file was empty when a writer started).
pub fn verify_json_lines(files: &[PathBuf], options: &VerifyOptions) -> Result<Report, AuditError> {
    let mut report = Report {
        source: files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        key_pinned: options.public_key.is_some(),
        ..Report::default()
    };
    let mut findings = Vec::new();
    let mut stretches: Vec<Vec<Rec>> = vec![Vec::new()];
    let mut chains = BTreeSet::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|source| AuditError::Io {
            path: path.clone(),
            source,
        })?;
        let file = path.display().to_string();
        let ends_clean = bytes.last().is_none_or(|b| *b == b'\n');
        let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let count = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            if line.is_empty() && i + 1 == count {
                continue;
            }
            let map: Map<String, Value> = match serde_json::from_slice(line) {
                Ok(m) => m,
                Err(e) => {
                    let reason = if i + 1 == count && !ends_clean {
                        "a torn final line (the writer stopped mid-write)".to_string()
                    } else {
                        format!("not a record: {e}")
                    };
                    findings.push(Finding::Corrupt {
                        object: format!("{file} line {}", i + 1),
                        reason,
                    });
                    continue;
                }
            };
            let rec = Rec::from_map(
                Location::Line {
                    file: file.clone(),
                    line: i + 1,
                    seq: map.get("seq").and_then(Value::as_u64),
                },
                &map,
            );
            if let Some(c) = map.get("chain_id").and_then(Value::as_str) {
                chains.insert(c.to_string());
            }
            report.records += 1;
            if !rec.is_start {
                report.events += 1;
            }
            keep_newest(
                &mut report.newest_record_ts,
                map.get("ts").and_then(Value::as_str),
            );
            let genesis = rec.seq == Some(0) && rec.prev_hash.as_deref() == Some(GENESIS_HASH);
            if genesis && stretches.last().is_some_and(|s| !s.is_empty()) {
                stretches.push(Vec::new());
            }
            if let Some(stretch) = stretches.last_mut() {
                stretch.push(rec);
            }
        }
    }
    report.chains = chains.len();
    for stretch in &stretches {
        // A file's records have no chain of their own: findings name the file instead.
        let label = match stretch.first().map(|r| &r.at) {
            Some(Location::Line { file, .. }) => file.clone(),
            _ => String::new(),
        };
        check_records(&label, stretch, &mut findings);
    }
    if let Some(first) = stretches.first().and_then(|s| s.first()) {
        let genesis = first.seq == Some(0) && first.prev_hash.as_deref() == Some(GENESIS_HASH);
        if !genesis {
            let prev_hash = first.prev_hash.clone().unwrap_or_default();
            if options.allow_rotated_head {
                report.notes.push(format!(
                    "the first record ({}) links to `{prev_hash}`, not given (accepted: --allow-rotated-head)",
                    first.at
                ));
            } else {
                findings.push(Finding::RotatedHead {
                    at: first.at.clone(),
                    prev_hash,
                });
            }
        }
    }
    report.notes.push(
        "single-file mode has no digests: deleting the newest lines cannot be detected".into(),
    );
    report.findings = findings;
    Ok(report)
}

#[cfg(test)]
mod tests {
    //! The digest-age guarantee (issue 16): with a pinned key and `max_digest_age`, a trail
    //! no recent digest seals fails; without a pinned key nothing changed. The full tamper
    //! table, over real files, is in the storage crate's `audit_log` tests.

    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use async_trait::async_trait;
    use time::Duration;

    use super::*;
    use crate::audit::record::build_record;
    use crate::audit::{write_digest, AuditEvent, AuditSigner};
    use crate::store::AuditSink;

    /// Runs a future whose every await is ready at once (the in-memory trail never waits).
    fn run<T>(future: impl Future<Output = T>) -> T {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1_000 {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
        panic!("the in-memory trail never waits");
    }

    /// Segments and digests in memory.
    #[derive(Default)]
    struct MemoryTrail {
        segments: Mutex<BTreeMap<(String, u64), Vec<u8>>>,
        digests: Mutex<BTreeMap<u64, Vec<u8>>>,
    }

    fn missing(what: String) -> StorageError {
        StorageError::NotFound(what)
    }

    #[async_trait]
    impl AuditSource for MemoryTrail {
        async fn chains(&self) -> Result<Vec<String>, StorageError> {
            let segments = self.segments.lock().unwrap();
            let chains: BTreeSet<String> = segments.keys().map(|(c, _)| c.clone()).collect();
            Ok(chains.into_iter().collect())
        }
        async fn segment_numbers(
            &self,
            chain_id: &str,
            after: Option<u64>,
        ) -> Result<Vec<u64>, StorageError> {
            let segments = self.segments.lock().unwrap();
            Ok(segments
                .keys()
                .filter(|(c, n)| c == chain_id && after.is_none_or(|a| *n > a))
                .map(|(_, n)| *n)
                .collect())
        }
        async fn read_segment(&self, chain_id: &str, n: u64) -> Result<Vec<u8>, StorageError> {
            let segments = self.segments.lock().unwrap();
            let key = (chain_id.to_string(), n);
            segments
                .get(&key)
                .cloned()
                .ok_or_else(|| missing(format!("{chain_id}/{n}")))
        }
        async fn digest_numbers(&self, after: Option<u64>) -> Result<Vec<u64>, StorageError> {
            let digests = self.digests.lock().unwrap();
            Ok(digests
                .keys()
                .copied()
                .filter(|n| after.is_none_or(|a| *n > a))
                .collect())
        }
        async fn read_digest(&self, n: u64) -> Result<Vec<u8>, StorageError> {
            let digests = self.digests.lock().unwrap();
            digests
                .get(&n)
                .cloned()
                .ok_or_else(|| missing(format!("digest {n}")))
        }
        fn describe(&self) -> String {
            "memory".into()
        }
    }

    #[async_trait]
    impl AuditSink for MemoryTrail {
        async fn put_segment(&self, chain_id: &str, n: u64, b: &[u8]) -> Result<(), StorageError> {
            let mut segments = self.segments.lock().unwrap();
            segments.insert((chain_id.to_string(), n), b.to_vec());
            Ok(())
        }
        async fn put_digest(&self, n: u64, b: &[u8]) -> Result<(), StorageError> {
            self.digests.lock().unwrap().insert(n, b.to_vec());
            Ok(())
        }
    }

    impl MemoryTrail {
        /// Appends `count` one-record segments to `chain_id`, stamped `at`.
        fn append(&self, chain_id: &str, count: u64, at: OffsetDateTime) {
            let have = run(self.segment_numbers(chain_id, None)).unwrap();
            let (mut prev_hash, mut prev_segment) = match have.last() {
                None => (GENESIS_HASH.to_string(), None),
                Some(&n) => {
                    let bytes = run(self.read_segment(chain_id, n)).unwrap();
                    let seg: Segment = serde_json::from_slice(&bytes).unwrap();
                    let last = seg.records.last().unwrap()["entry_hash"].clone();
                    (last.as_str().unwrap().to_string(), Some(sha256_hex(&bytes)))
                }
            };
            let first = have.last().map_or(0, |n| n + 1);
            let ts = format::timestamp(at);
            for n in first..first + count {
                let event = AuditEvent::security_event("test").with_request_id(format!("r{n}"));
                let record = build_record(&event, chain_id, n, &ts, &prev_hash).unwrap();
                prev_hash = record["entry_hash"].as_str().unwrap().to_string();
                let bytes = Segment {
                    format: format::SEGMENT_FORMAT.into(),
                    chain_id: chain_id.into(),
                    sequence: n,
                    prev_segment_hash: prev_segment.take(),
                    written_at: ts.clone(),
                    records: vec![record],
                }
                .encode()
                .unwrap();
                prev_segment = Some(sha256_hex(&bytes));
                run(self.put_segment(chain_id, n, &bytes)).unwrap();
            }
        }
        fn digest(&self, period_end: OffsetDateTime) {
            run(write_digest(self, &signer(), period_end)).unwrap();
        }
        fn delete_digests(&self) {
            self.digests.lock().unwrap().clear();
        }
        fn delete_segment(&self, chain_id: &str, n: u64) {
            let mut segments = self.segments.lock().unwrap();
            segments.remove(&(chain_id.to_string(), n));
        }
    }

    fn signer() -> AuditSigner {
        AuditSigner::from_seed([3u8; 32])
    }

    fn pinned(max_age_secs: Option<i64>) -> VerifyOptions {
        VerifyOptions {
            public_key: Some(crate::audit::parse_public_key(&signer().public_key_hex()).unwrap()),
            max_digest_age: max_age_secs.map(Duration::seconds),
            ..VerifyOptions::default()
        }
    }

    fn unpinned(max_age_secs: i64) -> VerifyOptions {
        VerifyOptions {
            max_digest_age: Some(Duration::seconds(max_age_secs)),
            ..VerifyOptions::default()
        }
    }

    /// One chain: five segments sealed by a digest ten minutes ago, then three more and a
    /// digest a minute ago.
    fn sealed_trail() -> (MemoryTrail, String) {
        let now = OffsetDateTime::now_utc();
        let chain = format::new_chain_id(now - Duration::minutes(12));
        let trail = MemoryTrail::default();
        trail.append(&chain, 5, now - Duration::minutes(11));
        trail.digest(now - Duration::minutes(10));
        trail.append(&chain, 3, now - Duration::minutes(2));
        trail.digest(now - Duration::minutes(1));
        (trail, chain)
    }

    fn kinds(report: &Report) -> Vec<FindingKind> {
        report.findings.iter().map(Finding::kind).collect()
    }

    #[test]
    fn a_recent_digest_passes_and_the_report_says_what_it_covered() {
        let (trail, chain) = sealed_trail();
        let report = run(verify(&trail, &pinned(Some(3600)))).unwrap();
        assert!(report.ok(), "{}", report.render_text());
        assert_eq!(report.exit_code(), 0);
        assert_eq!(
            (
                report.chains,
                report.segments,
                report.records,
                report.digests
            ),
            (1, 8, 8, 2)
        );
        assert_eq!((report.segment_reads, report.digest_reads), (8, 2));
        assert!(
            report
                .render_text()
                .contains("; 8 segment and 2 digest objects read\n"),
            "{}",
            report.render_text()
        );
        assert_eq!(report.newest_digest, Some(1));
        let digest_1: Digest = serde_json::from_slice(&run(trail.read_digest(1)).unwrap()).unwrap();
        assert_eq!(report.newest_digest_end, Some(digest_1.period_end.clone()));
        let newest_segment: Segment =
            serde_json::from_slice(&run(trail.read_segment(&chain, 7)).unwrap()).unwrap();
        assert_eq!(report.newest_record_ts, Some(newest_segment.written_at));
        assert_eq!(report.newest_sealed_record_ts, report.newest_record_ts);
        let text = report.render_text();
        assert!(
            text.contains(&format!(
                "newest digest: 1, period ends {}",
                digest_1.period_end
            )),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        for field in [
            "chains",
            "segments",
            "records",
            "digests",
            "newest_digest_end",
            "newest_record_ts",
        ] {
            assert!(!json[field].is_null(), "{field}: {json}");
        }
    }

    #[test]
    fn all_digests_deleted_fails_with_a_pinned_key_and_a_max_age() {
        let (trail, _) = sealed_trail();
        trail.delete_digests();
        let report = run(verify(&trail, &pinned(Some(3600)))).unwrap();
        assert_eq!(
            kinds(&report),
            [FindingKind::Unsealed],
            "{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), 18);
        assert!(
            report
                .render_text()
                .contains("no recent digest: no digest signed by the pinned key"),
            "{}",
            report.render_text()
        );
        assert_eq!(report.newest_digest, None);
    }

    #[test]
    fn digests_deleted_and_the_tail_truncated_fails_with_a_pinned_key_and_a_max_age() {
        // Every digest and the newest segments: the "exit 0, OK" case.
        let (trail, chain) = sealed_trail();
        trail.delete_digests();
        trail.delete_segment(&chain, 7);
        trail.delete_segment(&chain, 6);
        let report = run(verify(&trail, &pinned(Some(3600)))).unwrap();
        assert_eq!(
            kinds(&report),
            [FindingKind::Unsealed],
            "{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), 18);

        // Only the newest digest and the segments it lists: the one left is too old.
        let (trail, chain) = sealed_trail();
        trail.digests.lock().unwrap().remove(&1);
        for n in 5..=7 {
            trail.delete_segment(&chain, n);
        }
        let report = run(verify(&trail, &pinned(Some(300)))).unwrap();
        assert_eq!(
            report.findings,
            [Finding::NoRecentDigest {
                newest: Some(0),
                reason: format!(
                    "it ends at `{}`, more than 300s ago: nothing seals the records since (later digests deleted?)",
                    report.newest_digest_end.clone().unwrap_or_default()
                ),
            }],
            "{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), 18);
    }

    #[test]
    fn an_empty_trail_is_not_sealed_either() {
        let report = run(verify(&MemoryTrail::default(), &pinned(Some(3600)))).unwrap();
        assert_eq!(report.exit_code(), 18, "{}", report.render_text());
    }

    #[test]
    fn without_a_max_age_or_a_pinned_key_nothing_changed() {
        let truncated = || {
            let (trail, chain) = sealed_trail();
            trail.delete_digests();
            trail.delete_segment(&chain, 7);
            trail
        };
        // A pinned key alone does not ask for a recent digest.
        let report = run(verify(&truncated(), &pinned(None))).unwrap();
        assert!(report.ok(), "{}", report.render_text());
        // Without a pinned key a missing digest is a note, not a finding...
        let report = run(verify(&truncated(), &unpinned(3600))).unwrap();
        assert!(report.ok(), "{}", report.render_text());
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains("without --public-key")),
            "{:?}",
            report.notes
        );
        // ...and a stale newest digest is still a digest gap (exit 15).
        let (trail, _) = sealed_trail();
        trail.digests.lock().unwrap().remove(&1);
        let report = run(verify(&trail, &unpinned(300))).unwrap();
        assert_eq!(
            kinds(&report),
            [FindingKind::DigestGap],
            "{}",
            report.render_text()
        );
        assert_eq!(report.exit_code(), 15);
    }
}
