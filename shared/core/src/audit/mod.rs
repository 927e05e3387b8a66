//! The tamper-evident audit trail: records, their chains, signed digests and the verifier.
//!
//! Writers (`AuditLogger`, in the storage crate's `audit_log`: it needs tokio) append hash-chained records to their own chain, as immutable
//! segments through an `AuditSink` or as JSON lines in one file. A digester
//! (`write_digest`) periodically signs the list of new segments with Ed25519, each digest
//! linked to the previous one. `verify` checks all of it for an auditor. The design and
//! its limits are in `docs/audit.md`.

pub mod canonical;
mod digest;
pub mod format;
pub mod record;
pub mod seal;
pub mod verify;

pub use digest::{parse_public_key, write_digest, AuditSigner, DIGEST_READ_CONCURRENCY};
pub use format::Digest;
pub use record::{outcome_of, AuditEvent, EventType, InvocationStatus};
pub use seal::{seal, SealOptions, SealReport, SealStop, SEAL_MAX_RECORDS};
pub use verify::{
    verify, verify_json_lines, verify_with_tail, Finding, FindingKind, Location, Report,
    TailCoverage, VerifyOptions,
};

use std::path::PathBuf;

use crate::store::StorageError;

/// Why an audit operation failed. A request whose audit record fails must fail closed
/// (503): the edge maps every variant to "audit unavailable".
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit storage: {0}")]
    Storage(#[from] StorageError),
    #[error("audit file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit write failed: {0}")]
    WriteFailed(String),
    #[error("the audit writer has stopped")]
    WriterStopped,
    #[error("audit record could not be encoded: {0}")]
    Encode(String),
    #[error("invalid audit key: {0}")]
    InvalidKey(String),
    #[error("digest period end `{end}` is not after the previous digest's `{previous}`")]
    PeriodNotAfterPrevious { end: String, previous: String },
    #[error("digest {0} was written by another digester first")]
    DigestRace(u64),
    #[error("digest {sequence} cannot be read: {reason}")]
    CorruptDigest { sequence: u64, reason: String },
}
