//! The unsealed tail (`aegis audit verify --s3 ... --table ...`): each chain's batches in the
//! hot log past the sealer's cursor, checked as the continuation of the chain's sealed
//! segments (batch numbers and links, record `seq` and hash links across the join and
//! inside the tail).
//!
//! The tail is read before the segments: a sealer running meanwhile can then only move
//! records from the tail into segments the verifier reads after it (found in both and
//! counted once), never past the verifier unseen.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{check_records, keep_newest, verify_segments, Finding, Location, Rec, Report};
use super::{TailCoverage, VerifyOptions};
use crate::audit::canonical::sha256_hex;
use crate::audit::format::Segment;
use crate::audit::record::GENESIS_HASH;
use crate::audit::AuditError;
use crate::store::{AuditSource, HotAuditLog, SealCursor};

/// Hot batches read per request (a DynamoDB `Query` page holds up to 1 MB).
const TAIL_PAGE: usize = 500;

/// The last sealed record of a chain, and the hashes of its sealed records from the tail's
/// first `seq` on.
pub(super) struct SealedEnd {
    last: Option<Rec>,
    hashes: BTreeMap<u64, Option<String>>,
}

impl SealedEnd {
    pub(super) fn of(recs: Vec<Rec>, from: u64) -> Self {
        let mut hashes = BTreeMap::new();
        let mut last: Option<Rec> = None;
        for rec in recs {
            let Some(seq) = rec.seq else { continue };
            if seq >= from {
                hashes.insert(seq, rec.entry_hash.clone());
            }
            if last.as_ref().is_none_or(|l| l.seq < rec.seq) {
                last = Some(rec);
            }
        }
        Self { last, hashes }
    }
}

/// One chain of the hot log: the sealer's cursor and the batches from it on.
struct ChainTail {
    chain_id: String,
    cursor: Option<SealCursor>,
    batches: Vec<(u64, Vec<u8>)>,
}

/// Verifies the sealed trail in `sealed` (as `verify` does) and, for every chain the hot
/// log lists, the records it holds that no segment holds yet: the report's `hot_log` says
/// how many, and a gap, fork or bad hash between a chain's sealed part and its tail, or
/// inside the tail, is a finding naming the hot batch.
pub async fn verify_with_tail(
    sealed: &dyn AuditSource,
    hot: &dyn HotAuditLog,
    options: &VerifyOptions,
) -> Result<Report, AuditError> {
    let tails = read_tails(hot).await?;
    // Every listed chain's sealed end; hashes only from its tail's first `seq` on.
    let from: BTreeMap<String, u64> = tails
        .iter()
        .map(|t| {
            (
                t.chain_id.clone(),
                first_seq(&t.batches).unwrap_or(u64::MAX),
            )
        })
        .collect();
    let (mut report, ends) = verify_segments(sealed, options, &from).await?;
    let mut coverage = TailCoverage {
        source: hot.describe(),
        chains: tails.len(),
        ..TailCoverage::default()
    };
    for tail in &tails {
        if let Some(cursor) = &tail.cursor {
            if let Some(reason) = &cursor.stopped {
                report.notes.push(format!(
                    "chain `{}`: the sealer stopped at hot batch {}: {reason}",
                    tail.chain_id, cursor.next_batch
                ));
            }
        }
        check_tail(
            tail,
            ends.get(&tail.chain_id),
            &mut coverage,
            &mut report.findings,
        );
    }
    report.hot_log = Some(coverage);
    Ok(report)
}

async fn read_tails(hot: &dyn HotAuditLog) -> Result<Vec<ChainTail>, AuditError> {
    let mut out = Vec::new();
    for chain_id in hot.chains().await? {
        let cursor = hot.seal_cursor(&chain_id).await?;
        let mut from = cursor.as_ref().map_or(0, |c| c.next_batch);
        let mut batches = Vec::new();
        loop {
            let page = hot.batches(&chain_id, from, TAIL_PAGE).await?;
            let full = page.len() >= TAIL_PAGE;
            if let Some((n, _)) = page.last() {
                from = n + 1;
            }
            batches.extend(page);
            if !full {
                break;
            }
        }
        out.push(ChainTail {
            chain_id,
            cursor,
            batches,
        });
    }
    Ok(out)
}

/// The lowest `seq` the batches hold (what the sealed end must be kept from).
fn first_seq(batches: &[(u64, Vec<u8>)]) -> Option<u64> {
    batches
        .iter()
        .filter_map(|(_, bytes)| serde_json::from_slice::<Segment>(bytes).ok())
        .flat_map(|seg| seg.records)
        .filter_map(|r| r.get("seq").and_then(Value::as_u64))
        .min()
}

/// Checks one chain's tail against its sealed end and itself.
fn check_tail(
    tail: &ChainTail,
    end: Option<&SealedEnd>,
    coverage: &mut TailCoverage,
    findings: &mut Vec<Finding>,
) {
    let chain = tail.chain_id.as_str();
    let cursor = tail.cursor.clone().unwrap_or_default();
    let last_sealed = end.and_then(|e| e.last.as_ref());
    let last_sealed_seq = last_sealed.and_then(|l| l.seq);
    let before = findings.len();
    let mut forks: Vec<(u64, String)> = Vec::new();
    let mut unsealed: Vec<Rec> = Vec::new();
    let mut batches_unsealed = 0;
    let mut expected = cursor.next_batch;
    // What the next batch must link to; `None` once unknown (after a missing or unreadable batch)
    let mut link: Option<Option<String>> = Some(cursor.last_batch_hash.clone());
    for (number, bytes) in &tail.batches {
        let number = *number;
        if number > expected {
            findings.push(Finding::BatchesDeleted {
                chain_id: chain.to_string(),
                from: expected,
                to: number - 1,
            });
            link = None;
        }
        expected = number + 1;
        let seg: Segment = match serde_json::from_slice(bytes) {
            Ok(seg) => seg,
            Err(e) => {
                findings.push(Finding::Corrupt {
                    object: format!("hot batch audit#{chain}/{number:020}"),
                    reason: format!("not a batch: {e}"),
                });
                link = None;
                continue;
            }
        };
        if seg.chain_id != chain || seg.sequence != number {
            forks.push((
                number,
                format!(
                    "it says it is batch {} of chain `{}`",
                    seg.sequence, seg.chain_id
                ),
            ));
        } else if link.as_ref().is_some_and(|l| *l != seg.prev_segment_hash) {
            let to = if tail.cursor.is_some() && number == cursor.next_batch {
                "the last sealed batch".to_string()
            } else {
                format!("batch {}", number.saturating_sub(1))
            };
            forks.push((
                number,
                format!("it does not link to {to} (a fork attempt, or that batch rewritten)"),
            ));
        }
        link = Some(Some(sha256_hex(bytes)));
        let mut holds_unsealed = false;
        for (index, map) in seg.records.iter().enumerate() {
            let rec = Rec::from_map(
                Location::Batch {
                    chain_id: chain.to_string(),
                    batch: number,
                    index,
                    seq: map.get("seq").and_then(Value::as_u64),
                },
                map,
            );
            match (rec.seq, last_sealed_seq) {
                (Some(seq), Some(last)) if seq <= last => {
                    let sealed = end.and_then(|e| e.hashes.get(&seq));
                    if rec.entry_hash.is_some() && sealed == Some(&rec.entry_hash) {
                        coverage.records_in_both += 1;
                    } else {
                        findings.push(Finding::RecordModified {
                            reason: match sealed {
                                Some(_) => format!(
                                    "the sealed segments hold another record at seq {seq} (a fork of the chain)"
                                ),
                                None => format!(
                                    "seq {seq} is not in the sealed segments, which go on to seq {last}"
                                ),
                            },
                            at: rec.at,
                        });
                    }
                }
                _ => {
                    holds_unsealed = true;
                    coverage.records_unsealed += 1;
                    if !rec.is_start {
                        coverage.events_unsealed += 1;
                    }
                    keep_newest(
                        &mut coverage.newest_unsealed_record_ts,
                        map.get("ts").and_then(Value::as_str),
                    );
                    unsealed.push(rec);
                }
            }
        }
        batches_unsealed += usize::from(holds_unsealed);
    }
    if batches_unsealed > 0 {
        coverage.chains_unsealed += 1;
        coverage.batches_unsealed += batches_unsealed;
    }
    let claimed_next = tail.cursor.as_ref().map(|c| c.next_seq);
    check_join(chain, claimed_next, last_sealed, &unsealed, findings);
    check_records(chain, &unsealed, findings);
    // A batch whose records a finding names already explains the next batch's broken link.
    let explained: Vec<u64> = findings[before..]
        .iter()
        .filter_map(Finding::record_location)
        .filter_map(|at| match at {
            Location::Batch { batch, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    for (batch, reason) in forks {
        if batch > 0 && explained.contains(&(batch - 1)) {
            continue;
        }
        findings.push(Finding::BatchForked {
            chain_id: chain.to_string(),
            batch,
            reason,
        });
    }
}

/// The tail's first unsealed record must continue the chain where its sealed segments end.
/// Records the sealer's cursor says it sealed (`claimed_next`: the `seq` after them) must be
/// in the segments: when they end earlier, sealed records were deleted before a digest
/// listed them.
fn check_join(
    chain: &str,
    claimed_next: Option<u64>,
    last_sealed: Option<&Rec>,
    unsealed: &[Rec],
    findings: &mut Vec<Finding>,
) {
    let sealed_next = last_sealed.and_then(|l| l.seq).map_or(0, |s| s + 1);
    let first = unsealed.iter().find(|r| r.seq.is_some());
    // How far the chain provably reached: the cursor's claim, the tail's first record.
    let reach = [claimed_next, first.and_then(|r| r.seq)]
        .into_iter()
        .flatten()
        .fold(sealed_next, u64::max);
    if reach > sealed_next {
        findings.push(Finding::RecordsDeleted {
            chain_id: chain.to_string(),
            after: last_sealed.map(|l| l.at.clone()),
            from: sealed_next,
            to: reach - 1,
        });
        return;
    }
    let Some(first) = first else { return };
    let expected_prev = match last_sealed {
        Some(l) => l.entry_hash.clone(),
        None => Some(GENESIS_HASH.to_string()),
    };
    if first.hash_ok && first.prev_hash != expected_prev {
        findings.push(Finding::RecordModified {
            at: first.at.clone(),
            reason: match last_sealed {
                Some(l) => format!(
                    "its `prev_hash` is not the `entry_hash` of the last sealed record ({}): the tail does not continue the sealed chain (a fork)",
                    l.at
                ),
                None => "a chain's first record must link to the genesis hash".into(),
            },
        });
    }
}
