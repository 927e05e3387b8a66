//! The sealer: turns each chain of the durable hot log into large sealed segments, in
//! order, checking every batch before sealing it (numbering without gaps, each batch
//! linked to the one before, every record hashing and linking), then leaves the digest to
//! `write_digest`.
//!
//! A sealed segment is an ordinary segment (`format::Segment`) of the same chain: the
//! records are the writer's own, byte for byte, so their hash chain is unchanged; only the
//! grouping differs (many calls' batches per segment). A segment's bytes depend only on
//! the cursor and the batches it holds (`written_at` is its last batch's), so a sealer that
//! died between writing a segment and moving its cursor writes the same bytes again and
//! finds them there. Anything that does not fit stops the chain: nothing is overwritten.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::format::{self, Segment, CLOCK_GRACE, MAX_CHAIN_AGE, SEGMENT_FORMAT};
use super::record::{self, GENESIS_HASH};
use super::{canonical, AuditError};
use crate::store::{AuditSink, HotAuditLog, SealCursor, StorageError};

/// The most records one sealed segment holds by default: 10,000 read calls (two records
/// each) of one chain fill 5 segments.
pub const SEAL_MAX_RECORDS: usize = 4096;
/// Batches read from the hot log per request (a DynamoDB `Query` page holds up to 1 MB).
const BATCH_PAGE: usize = 500;

/// How the sealer runs.
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// The most records per sealed segment
    pub max_records: usize,
    /// The sealer's clock (chains older than `MAX_CHAIN_AGE` + `CLOCK_GRACE` are retired
    /// once sealed)
    pub now: OffsetDateTime,
}

impl SealOptions {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            max_records: SEAL_MAX_RECORDS,
            now,
        }
    }
}

/// One chain that stopped sealing, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealStop {
    pub chain_id: String,
    /// The hot batch at which sealing stopped
    pub batch: u64,
    pub reason: String,
    /// Whether this run stopped it (earlier runs' stops are reported again, not re-recorded)
    pub new: bool,
    /// When the chain's oldest unsealed record became durable: the `written_at` of its
    /// first unsealed batch (the chain's start when that batch cannot be read as one)
    pub unsealed_since: Option<String>,
}

/// What one sealer run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SealReport {
    /// Chains in the hot log's listing
    pub chains: usize,
    /// Hot batches sealed this run
    pub batches: u64,
    /// Records sealed this run
    pub records: u64,
    /// Sealed segments written (or found already written by a sealer that died) this run
    pub segments: u64,
    /// Chains that cannot be sealed further
    pub stopped: Vec<SealStop>,
    /// Chains fully sealed and too old to grow, dropped from the listing
    pub retired: Vec<String>,
    /// Chains another sealer was working on at the same time (left to it)
    pub raced: Vec<String>,
}

impl SealReport {
    /// The sealing lag after this run: the age at `now` of the oldest durable record the
    /// run left unsealed, zero when it sealed everything it found. Only a stopped chain
    /// leaves records behind (records written during the run are the next run's).
    pub fn lag(&self, now: OffsetDateTime) -> time::Duration {
        self.stopped
            .iter()
            .filter_map(|s| s.unsealed_since.as_deref())
            .filter_map(format::parse_timestamp)
            .map(|since| now - since)
            .fold(time::Duration::ZERO, time::Duration::max)
    }
}

/// One checked batch, waiting to be sealed.
struct Batch {
    number: u64,
    written_at: String,
    records: Vec<Map<String, Value>>,
    /// The cursor once this batch is sealed (all but the segment fields)
    after: SealCursor,
}

/// Seals every chain of `hot` into `sealed`. Errors of the stores end the run (the next
/// one resumes from the cursors); a chain whose batches do not check is stopped and
/// reported, and the others go on.
pub async fn seal(
    hot: &dyn HotAuditLog,
    sealed: &dyn AuditSink,
    options: &SealOptions,
) -> Result<SealReport, AuditError> {
    let mut report = SealReport::default();
    let chains = hot.chains().await?;
    report.chains = chains.len();
    for chain in chains {
        seal_chain(hot, sealed, options, &chain, &mut report).await?;
    }
    Ok(report)
}

async fn seal_chain(
    hot: &dyn HotAuditLog,
    sealed: &dyn AuditSink,
    options: &SealOptions,
    chain: &str,
    report: &mut SealReport,
) -> Result<(), AuditError> {
    let mut stored = hot.seal_cursor(chain).await?;
    let mut cursor = stored.clone().unwrap_or_default();
    if let Some(reason) = &cursor.stopped {
        report.stopped.push(SealStop {
            chain_id: chain.to_string(),
            batch: cursor.next_batch,
            reason: reason.clone(),
            new: false,
            unsealed_since: unsealed_since(hot, chain, cursor.next_batch).await?,
        });
        return Ok(());
    }
    let mut scan = cursor.clone();
    let mut pending: Vec<Batch> = Vec::new();
    let mut pending_records = 0usize;
    let mut stop: Option<(u64, String)> = None;
    let mut found_any = false;
    'pages: loop {
        let page = hot.batches(chain, scan.next_batch, BATCH_PAGE).await?;
        let full = page.len() >= BATCH_PAGE;
        for (number, bytes) in page {
            found_any = true;
            if number != scan.next_batch {
                stop = Some((
                    scan.next_batch,
                    format!(
                        "gap: batch {} is missing while batch {number} exists",
                        scan.next_batch
                    ),
                ));
                break 'pages;
            }
            match check_batch(chain, number, &bytes, &scan) {
                Ok((written_at, records, after)) => {
                    pending_records += records.len();
                    scan = after.clone();
                    pending.push(Batch {
                        number,
                        written_at,
                        records,
                        after,
                    });
                }
                Err(reason) => {
                    stop = Some((number, reason));
                    break 'pages;
                }
            }
            if pending_records >= options.max_records {
                match flush(
                    hot,
                    sealed,
                    chain,
                    &mut pending,
                    &mut cursor,
                    &mut stored,
                    report,
                )
                .await?
                {
                    Flushed::Done => pending_records = 0,
                    Flushed::Stop(at, reason) => {
                        stop = Some((at, reason));
                        break 'pages;
                    }
                    Flushed::Raced => return Ok(()),
                }
            }
        }
        if !full {
            break;
        }
    }
    if stop.is_none() && !pending.is_empty() {
        match flush(
            hot,
            sealed,
            chain,
            &mut pending,
            &mut cursor,
            &mut stored,
            report,
        )
        .await?
        {
            Flushed::Done => {}
            Flushed::Stop(at, reason) => stop = Some((at, reason)),
            Flushed::Raced => return Ok(()),
        }
    } else if stop.is_some() && !pending.is_empty() {
        // What checked before the bad batch is sealed; the chain stops after it.
        if let Flushed::Raced = flush(
            hot,
            sealed,
            chain,
            &mut pending,
            &mut cursor,
            &mut stored,
            report,
        )
        .await?
        {
            return Ok(());
        }
    }
    if let Some((batch, reason)) = stop {
        tracing::error!(chain_id = %chain, batch, reason = %reason, "audit sealing stopped for a chain");
        let mut next = cursor.clone();
        next.stopped = Some(reason.clone());
        match hot.advance_seal_cursor(chain, stored.as_ref(), &next).await {
            Ok(()) => {}
            Err(StorageError::AlreadyExists(_)) => {
                report.raced.push(chain.to_string());
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        report.stopped.push(SealStop {
            chain_id: chain.to_string(),
            batch,
            reason,
            new: true,
            unsealed_since: unsealed_since(hot, chain, cursor.next_batch).await?,
        });
        return Ok(());
    }
    let too_old = format::chain_started(chain)
        .is_some_and(|started| started + MAX_CHAIN_AGE + CLOCK_GRACE < options.now);
    if !found_any && too_old {
        hot.retire_chain(chain).await?;
        report.retired.push(chain.to_string());
    }
    Ok(())
}

/// When the first batch of `chain` from `from` on (its oldest unsealed one) was written:
/// its `written_at`, else its first record's `ts`, else the chain's start (a batch that
/// does not parse at all is no younger than its chain).
async fn unsealed_since(
    hot: &dyn HotAuditLog,
    chain: &str,
    from: u64,
) -> Result<Option<String>, AuditError> {
    let first = hot.batches(chain, from, 1).await?;
    let loose = first
        .first()
        .and_then(|(_, bytes)| serde_json::from_slice::<Value>(bytes).ok());
    let written = loose.as_ref().and_then(|batch| {
        [batch.get("written_at"), batch.pointer("/records/0/ts")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|t| format::parse_timestamp(t).is_some())
            .map(str::to_string)
    });
    Ok(written.or_else(|| format::chain_started(chain).map(format::timestamp)))
}

enum Flushed {
    Done,
    Stop(u64, String),
    Raced,
}

/// Seals `pending` as one or more segments (fewer records per segment only when an earlier
/// sealer's segment is found in the way) and moves the cursor after each.
async fn flush(
    hot: &dyn HotAuditLog,
    sealed: &dyn AuditSink,
    chain: &str,
    pending: &mut Vec<Batch>,
    cursor: &mut SealCursor,
    stored: &mut Option<SealCursor>,
    report: &mut SealReport,
) -> Result<Flushed, AuditError> {
    while !pending.is_empty() {
        let records: Vec<Map<String, Value>> = pending
            .iter()
            .flat_map(|b| b.records.iter().cloned())
            .collect();
        let last = pending.len() - 1;
        let segment = Segment {
            format: SEGMENT_FORMAT.into(),
            chain_id: chain.to_string(),
            sequence: cursor.next_segment,
            prev_segment_hash: cursor.prev_segment_hash.clone(),
            written_at: pending[last].written_at.clone(),
            records,
        };
        let bytes = segment
            .encode()
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        // How many of the pending batches the stored segment holds.
        let taken = match sealed.put_segment(chain, segment.sequence, &bytes).await {
            Ok(()) => pending.len(),
            Err(StorageError::AlreadyExists(_)) => {
                let existing = sealed.read_segment(chain, segment.sequence).await?;
                if existing == bytes {
                    pending.len()
                } else {
                    match earlier_prefix(&existing, &segment, pending) {
                        Some(k) => k,
                        None => {
                            return Ok(Flushed::Stop(
                                pending[0].number,
                                format!(
                                    "fork attempt: sealed segment {} of the chain exists with other records",
                                    segment.sequence
                                ),
                            ))
                        }
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        let stored_bytes = if taken == pending.len() {
            bytes
        } else {
            sealed.read_segment(chain, segment.sequence).await?
        };
        let mut next = pending[taken - 1].after.clone();
        next.next_segment = cursor.next_segment + 1;
        next.prev_segment_hash = Some(canonical::sha256_hex(&stored_bytes));
        match hot.advance_seal_cursor(chain, stored.as_ref(), &next).await {
            Ok(()) => {}
            Err(StorageError::AlreadyExists(_)) => {
                report.raced.push(chain.to_string());
                return Ok(Flushed::Raced);
            }
            Err(e) => return Err(e.into()),
        }
        report.segments += 1;
        report.batches += taken as u64;
        report.records += pending[..taken]
            .iter()
            .map(|b| b.records.len() as u64)
            .sum::<u64>();
        *cursor = next.clone();
        *stored = Some(next);
        pending.drain(..taken);
    }
    Ok(Flushed::Done)
}

/// When `existing` is a segment an earlier sealer wrote at this place from fewer batches
/// (it died before moving the cursor): how many of `pending` it holds.
fn earlier_prefix(existing: &[u8], ours: &Segment, pending: &[Batch]) -> Option<usize> {
    let theirs: Segment = serde_json::from_slice(existing).ok()?;
    if theirs.chain_id != ours.chain_id
        || theirs.prev_segment_hash != ours.prev_segment_hash
        || theirs.records.is_empty()
        || theirs.records.len() > ours.records.len()
        || theirs.records[..] != ours.records[..theirs.records.len()]
    {
        return None;
    }
    let mut count = 0;
    for (i, batch) in pending.iter().enumerate() {
        count += batch.records.len();
        if count == theirs.records.len() {
            return (theirs.written_at == batch.written_at).then_some(i + 1);
        }
    }
    None
}

type Checked = (String, Vec<Map<String, Value>>, SealCursor);

/// Checks hot batch `number` against what was sealed or checked before it; returns its
/// `written_at`, records and the cursor after it, or why the chain must stop.
fn check_batch(
    chain: &str,
    number: u64,
    bytes: &[u8],
    before: &SealCursor,
) -> Result<Checked, String> {
    let batch: Segment = serde_json::from_slice(bytes)
        .map_err(|e| format!("bad batch: batch {number} does not parse: {e}"))?;
    if batch.chain_id != chain || batch.sequence != number {
        return Err(format!(
            "fork attempt: batch {number} says it is batch {} of chain `{}`",
            batch.sequence, batch.chain_id
        ));
    }
    if batch.prev_segment_hash != before.last_batch_hash {
        return Err(format!(
            "fork attempt: batch {number} does not link to the batch before it"
        ));
    }
    let mut after = before.clone();
    for rec in &batch.records {
        let seq = rec.get("seq").and_then(Value::as_u64);
        let prev = rec.get("prev_hash").and_then(Value::as_str);
        let hash = rec.get("entry_hash").and_then(Value::as_str);
        let (Some(seq), Some(prev), Some(hash)) = (seq, prev, hash) else {
            return Err(format!(
                "bad hash: a record of batch {number} has no `seq`, `prev_hash` or `entry_hash`"
            ));
        };
        if record::entry_hash(rec) != hash {
            return Err(format!(
                "bad hash: record seq {seq} of batch {number} does not match its `entry_hash`"
            ));
        }
        if rec.get("chain_id").and_then(Value::as_str) != Some(chain) {
            return Err(format!(
                "fork attempt: record seq {seq} of batch {number} names another chain"
            ));
        }
        if seq != after.next_seq {
            return Err(format!(
                "gap: record seq {seq} of batch {number} where seq {} was expected",
                after.next_seq
            ));
        }
        let expected_prev = after.last_entry_hash.as_deref().unwrap_or(GENESIS_HASH);
        if prev != expected_prev {
            return Err(format!(
                "fork attempt: record seq {seq} of batch {number} does not link to the record before it"
            ));
        }
        after.next_seq = seq + 1;
        after.last_entry_hash = Some(hash.to_string());
    }
    after.next_batch = number + 1;
    after.last_batch_hash = Some(canonical::sha256_hex(bytes));
    Ok((batch.written_at, batch.records, after))
}
