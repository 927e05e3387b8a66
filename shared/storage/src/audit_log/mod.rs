//! `AuditLogger`: appends records to this process's chain and answers only once they are
//! durable, committing concurrent records together (group commit).
//!
//! One writer task owns the chain. Callers enqueue an event (`submit`, which fixes its
//! place in the chain at once) and wait for the batch holding it to be stored (`durable`).
//! While one batch is being written the next one gathers, so under load one fsync'd
//! segment carries many records; alone, a record costs one segment. The task outlives a
//! cancelled caller, so a dropped request future never leaves a half-written batch.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::AuditSink;
use aegis_core::audit::format::{self, Segment, MAX_CHAIN_AGE, SEGMENT_FORMAT};
use aegis_core::audit::record::{self, AuditEvent, EventType, GENESIS_HASH};
use aegis_core::audit::{canonical, AuditError};

/// Where an acknowledged record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    pub chain_id: String,
    /// The record's `seq`
    pub seq: u64,
    /// The segment holding it (`None` in single-file mode)
    pub segment: Option<u64>,
    pub entry_hash: String,
}

/// Tuning of the writer.
#[derive(Clone)]
pub struct AuditLoggerOptions {
    /// The most records one segment (or one file write) carries
    pub max_batch: usize,
    /// Start a new chain once the current one is this old (see `format::MAX_CHAIN_AGE`)
    pub max_chain_age: time::Duration,
    /// Told of every failed write (the metrics count them as
    /// `aegis_audit_write_failures_total`, alarmed on AWS)
    pub observer: Option<Arc<dyn AuditObserver>>,
    /// Write the chain's start record with the first batch instead of at `open` (one
    /// durable write less before the first answer). The Lambda functions do this: their
    /// INIT makes no round trip the first request can carry, and an instance that cannot
    /// audit still does nothing unaudited (its first call fails closed, 503).
    pub start_with_first_batch: bool,
}

impl Default for AuditLoggerOptions {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_chain_age: MAX_CHAIN_AGE,
            observer: None,
            start_with_first_batch: false,
        }
    }
}

/// What the writer reports about itself, so that the audit code need not know who counts
/// (the metrics implement it; the writer stays below the HTTP edge).
pub trait AuditObserver: Send + Sync {
    /// A batch could not be written (its calls fail closed)
    fn write_failed(&self);
}

/// Where the logger writes: segments through a sink, or JSON lines to one file.
pub enum AuditTarget {
    Segments(Arc<dyn AuditSink>),
    JsonLines(PathBuf),
}

type Reply = oneshot::Sender<Result<RecordRef, AuditError>>;

/// Appends audit records durably. Cheap to clone; all clones share one chain and writer.
#[derive(Clone)]
pub struct AuditLogger {
    /// Each message is records that must share one batch (in order)
    tx: mpsc::UnboundedSender<Vec<(AuditEvent, Reply)>>,
}

/// A submitted record: its place in the chain is fixed; `durable` waits for the write.
pub struct AuditTicket {
    rx: Result<oneshot::Receiver<Result<RecordRef, AuditError>>, AuditError>,
}

impl AuditTicket {
    /// Resolves once the record is durable, or with the reason it is not.
    pub async fn durable(self) -> Result<RecordRef, AuditError> {
        self.rx?.await.map_err(|_| AuditError::WriterStopped)?
    }
}

impl AuditLogger {
    /// Starts a writer on `target` with a new chain; returns once the chain's start record
    /// is durable, so a process that cannot audit fails at start, not at its first request
    /// (unless `options.start_with_first_batch`: then the start record is owed to, and
    /// written with, the first batch).
    pub async fn open(
        target: AuditTarget,
        options: AuditLoggerOptions,
    ) -> Result<Self, AuditError> {
        let backend = match target {
            AuditTarget::Segments(sink) => Backend::Segments {
                sink,
                next_segment: 0,
                prev_segment_hash: None,
            },
            AuditTarget::JsonLines(path) => Backend::JsonLines { path, file: None },
        };
        let defer = options.start_with_first_batch;
        let mut writer = Writer {
            backend,
            chain: None,
            options,
            pending_start: Some(("process start", Map::new())),
        };
        if !defer {
            writer.write_batch(Vec::new()).await?;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer.run(rx));
        Ok(Self { tx })
    }

    /// Enqueues `event` now (its order among this logger's records is fixed here) without
    /// waiting; await `AuditTicket::durable` before acting on it. Records that belong
    /// together (a read's `pending` and outcome) go through `submit_together`: one batch.
    pub fn submit(&self, event: AuditEvent) -> AuditTicket {
        let mut tickets = self.submit_together(vec![event]);
        tickets.pop().unwrap_or(AuditTicket {
            rx: Err(AuditError::WriterStopped),
        })
    }

    /// Enqueues `events` in order so that they land in the same batch: one durable write
    /// (one fsync, one segment) for all of them. A read tool's `pending` and outcome
    /// records go this way.
    pub fn submit_together(&self, events: Vec<AuditEvent>) -> Vec<AuditTicket> {
        let (items, receivers): (Vec<_>, Vec<_>) = events
            .into_iter()
            .map(|event| {
                let (reply, rx) = oneshot::channel();
                ((event, reply), rx)
            })
            .unzip();
        let sent = self.tx.send(items).is_ok();
        receivers
            .into_iter()
            .map(|rx| AuditTicket {
                rx: if sent {
                    Ok(rx)
                } else {
                    Err(AuditError::WriterStopped)
                },
            })
            .collect()
    }

    /// Appends `event` and returns once it is durable.
    pub async fn record(&self, event: AuditEvent) -> Result<RecordRef, AuditError> {
        self.submit(event).durable().await
    }
}

struct ChainState {
    chain_id: String,
    started: OffsetDateTime,
    next_seq: u64,
    prev_hash: String,
}

enum Backend {
    Segments {
        sink: Arc<dyn AuditSink>,
        next_segment: u64,
        prev_segment_hash: Option<String>,
    },
    JsonLines {
        path: PathBuf,
        /// Open once the tail has been read; dropped after a failed write so the next
        /// batch re-reads what really reached the disk
        file: Option<Arc<std::fs::File>>,
    },
}

struct Writer {
    backend: Backend,
    chain: Option<ChainState>,
    options: AuditLoggerOptions,
    /// A chain start owed before the next records: why, and what it should say
    pending_start: Option<(&'static str, Map<String, Value>)>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Vec<(AuditEvent, Reply)>>) {
        while let Some(mut batch) = rx.recv().await {
            while batch.len() < self.options.max_batch {
                match rx.try_recv() {
                    Ok(items) => batch.extend(items),
                    Err(_) => break,
                }
            }
            let (events, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            match self.write_batch(events).await {
                Ok(refs) => {
                    for (reply, r) in replies.into_iter().zip(refs) {
                        let _ = reply.send(Ok(r));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit write failed; the affected requests fail closed");
                    if let Some(observer) = &self.options.observer {
                        observer.write_failed();
                    }
                    let message = e.to_string();
                    for reply in replies {
                        let _ = reply.send(Err(AuditError::WriteFailed(message.clone())));
                    }
                }
            }
        }
    }

    /// Builds the records of `events` (after a chain start when one is owed), writes them
    /// as one segment or one file append, and returns where each event landed.
    async fn write_batch(&mut self, events: Vec<AuditEvent>) -> Result<Vec<RecordRef>, AuditError> {
        let now = OffsetDateTime::now_utc();
        if let Some(chain) = &self.chain {
            if self.pending_start.is_none() && now - chain.started >= self.options.max_chain_age {
                self.pending_start = Some(("rotation", self.previous_chain_context()));
            }
        }
        // Single-file mode continues the file's own chain: read where it ends.
        let mut reopened = false;
        if let Backend::JsonLines { path, file } = &mut self.backend {
            if file.is_none() {
                let (opened, tail, repaired) = open_json_lines(path).await?;
                *file = Some(Arc::new(opened));
                let (next_seq, prev_hash) = tail.unwrap_or((0, GENESIS_HASH.to_string()));
                self.chain = Some(ChainState {
                    chain_id: format::new_chain_id(now),
                    started: now,
                    next_seq,
                    prev_hash,
                });
                reopened = true;
                let (reason, mut context) = self
                    .pending_start
                    .take()
                    .unwrap_or(("recovered after a failed write", Map::new()));
                if repaired > 0 {
                    context.insert("repaired_torn_tail_bytes".into(), repaired.into());
                }
                self.pending_start = Some((reason, context));
            }
        }
        let mut start_event = None;
        if let Some((reason, context)) = self.pending_start.take() {
            match &mut self.backend {
                Backend::Segments {
                    next_segment,
                    prev_segment_hash,
                    ..
                } => {
                    // A new chain links nothing; the context names the one it follows.
                    self.chain = Some(ChainState {
                        chain_id: format::new_chain_id(now),
                        started: now,
                        next_seq: 0,
                        prev_hash: GENESIS_HASH.to_string(),
                    });
                    *next_segment = 0;
                    *prev_segment_hash = None;
                }
                Backend::JsonLines { .. } if !reopened => {
                    // Rotation in single-file mode: a new writer id, the same line of hashes.
                    if let Some(chain) = &mut self.chain {
                        chain.chain_id = format::new_chain_id(now);
                        chain.started = now;
                    }
                }
                Backend::JsonLines { .. } => {}
            }
            let mut start = AuditEvent::security_event(reason);
            start.event_type = EventType::ChainStart;
            start.context = context;
            start.context.insert(
                "writer".into(),
                concat!("aegis ", env!("CARGO_PKG_VERSION")).into(),
            );
            start_event = Some(start);
        }
        let Some(chain) = self.chain.as_mut() else {
            return Err(AuditError::WriterStopped);
        };
        let ts = format::timestamp(now);
        let mut seq = chain.next_seq;
        let mut prev = chain.prev_hash.clone();
        let mut records = Vec::with_capacity(events.len() + 1);
        let mut refs = Vec::with_capacity(events.len());
        let skip = usize::from(start_event.is_some());
        for (i, event) in start_event.iter().chain(events.iter()).enumerate() {
            let rec = record::build_record(event, &chain.chain_id, seq, &ts, &prev)
                .map_err(|e| AuditError::Encode(e.to_string()))?;
            let hash = rec
                .get("entry_hash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if i >= skip {
                refs.push(RecordRef {
                    chain_id: chain.chain_id.clone(),
                    seq,
                    segment: None,
                    entry_hash: hash.clone(),
                });
            }
            records.push(rec);
            prev = hash;
            seq += 1;
        }
        let result = match &mut self.backend {
            Backend::Segments {
                sink,
                next_segment,
                prev_segment_hash,
            } => {
                let segment = Segment {
                    format: SEGMENT_FORMAT.into(),
                    chain_id: chain.chain_id.clone(),
                    sequence: *next_segment,
                    prev_segment_hash: prev_segment_hash.clone(),
                    written_at: ts,
                    records,
                };
                let bytes = segment
                    .encode()
                    .map_err(|e| AuditError::Encode(e.to_string()))?;
                match sink
                    .put_segment(&segment.chain_id, segment.sequence, &bytes)
                    .await
                {
                    Ok(()) => {
                        for r in &mut refs {
                            r.segment = Some(segment.sequence);
                        }
                        *prev_segment_hash = Some(canonical::sha256_hex(&bytes));
                        *next_segment += 1;
                        Ok(())
                    }
                    Err(e) => Err(AuditError::Storage(e)),
                }
            }
            Backend::JsonLines { path, file } => {
                let mut buf = Vec::with_capacity(1024 * records.len());
                for rec in &records {
                    canonical::append_object(rec, &mut buf);
                    buf.push(b'\n');
                }
                let written = match file.clone() {
                    Some(f) => tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                        (&*f).write_all(&buf)?;
                        f.sync_data()
                    })
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))
                    .and_then(|r| r),
                    None => Err(std::io::Error::other("the audit file is not open")),
                };
                written.map_err(|source| {
                    // What reached the disk is unknown: re-read the tail before writing again.
                    *file = None;
                    AuditError::Io {
                        path: path.clone(),
                        source,
                    }
                })
            }
        };
        match result {
            Ok(()) => {
                chain.next_seq = seq;
                chain.prev_hash = prev;
                Ok(refs)
            }
            Err(e) => {
                // What storage holds of this chain is unknown now; never extend it again.
                self.pending_start = Some((
                    "previous chain abandoned after a failed write",
                    self.previous_chain_context(),
                ));
                Err(e)
            }
        }
    }

    fn previous_chain_context(&self) -> Map<String, Value> {
        let mut context = Map::new();
        if let Some(chain) = &self.chain {
            context.insert(
                "previous_chain".into(),
                json!({
                    "chain_id": chain.chain_id,
                    "last_seq": chain.next_seq.checked_sub(1),
                    "last_entry_hash": chain.prev_hash,
                }),
            );
        }
        context
    }
}

/// The most a single-file record may take; the tail read looks this far back.
const MAX_LINE_BYTES: u64 = 1 << 20;

/// Opens (creating, mode 0600) the single audit file for appending, and reads its last
/// record: `(next seq, its entry_hash)`. Bytes after the last newline are a write torn by a
/// crash, never acknowledged: they are cut off, and their count is returned.
async fn open_json_lines(
    path: &Path,
) -> Result<(std::fs::File, Option<(u64, String)>, u64), AuditError> {
    let owned = path.to_path_buf();
    let io = move |source| AuditError::Io {
        path: owned.clone(),
        source,
    };
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<_, AuditError> {
        let invalid = |why: String| AuditError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        };
        let existed = path.exists();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(&io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(&io)?;
        if !existed {
            // The new file's name must survive a power cut too.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::File::open(parent)
                    .and_then(|d| d.sync_all())
                    .map_err(&io)?;
            }
        }
        let len = file.metadata().map_err(&io)?.len();
        let from = len.saturating_sub(MAX_LINE_BYTES);
        file.seek(SeekFrom::Start(from)).map_err(&io)?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(&io)?;
        let complete = tail.iter().rposition(|b| *b == b'\n').map(|i| i + 1);
        let kept = complete.unwrap_or(0);
        let repaired = (tail.len() - kept) as u64;
        if repaired > 0 {
            if from > 0 && complete.is_none() {
                return Err(invalid("no complete record in the last MiB".into()));
            }
            file.set_len(from + kept as u64).map_err(&io)?;
            file.sync_all().map_err(&io)?;
        }
        let body = &tail[..kept];
        let last_line = body
            .strip_suffix(b"\n")
            .map(|b| b.rsplit(|c| *c == b'\n').next().unwrap_or(b));
        let last = match last_line {
            None | Some([]) => None,
            Some(line) => {
                let rec: Map<String, Value> = serde_json::from_slice(line)
                    .map_err(|e| invalid(format!("the last record is not JSON: {e}")))?;
                let seq = rec.get("seq").and_then(Value::as_u64);
                let hash = rec.get("entry_hash").and_then(Value::as_str);
                match (seq, hash) {
                    (Some(seq), Some(hash)) => Some((seq + 1, hash.to_string())),
                    _ => {
                        return Err(invalid(
                            "the last record has no `seq` or `entry_hash`".into(),
                        ))
                    }
                }
            }
        };
        Ok((file, last, repaired))
    })
    .await
    .map_err(|e| AuditError::WriteFailed(e.to_string()))?
}

#[cfg(test)]
mod tests;
