//! The storage ports the pure code is written against: the error kinds of any store, and
//! the audit objects' source (the verifier) and sink (the audit writer, the digest job).
//! Their adapters live in `crate::storage`; nothing here does I/O.

use async_trait::async_trait;

/// A storage failure, by kind.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("`{0}` already exists")]
    AlreadyExists(String),
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("`{0}` does not exist")]
    NotFound(String),
    /// `STORAGE_BACKEND=aws` in a build without the AWS adapters
    #[error("`STORAGE_BACKEND=aws` needs a build with the `aws` feature")]
    AwsUnavailable,
}

/// Reads audit objects: segments per chain and signed digests. The verifier needs only this,
/// so an auditor can point it at a copy (a directory today, an S3 bucket/prefix later).
///
/// Keys are the only index: a chain's segments are numbered from 0 and digests are numbered
/// from 0, and listing returns them in key order. Nothing here depends on listing order
/// beyond that, nor on object timestamps, so an S3 `ListObjectsV2` with `start-after` fits.
#[async_trait]
pub trait AuditSource: Send + Sync {
    /// Every chain id with at least one segment, sorted
    async fn chains(&self) -> Result<Vec<String>, StorageError>;
    /// The segment numbers of `chain_id` greater than `after` (all when `None`), ascending
    async fn segment_numbers(
        &self,
        chain_id: &str,
        after: Option<u64>,
    ) -> Result<Vec<u64>, StorageError>;
    /// The exact stored bytes of one segment (hashes are over these bytes)
    async fn read_segment(&self, chain_id: &str, sequence: u64) -> Result<Vec<u8>, StorageError>;
    /// The digest numbers greater than `after` (all when `None`), ascending
    async fn digest_numbers(&self, after: Option<u64>) -> Result<Vec<u64>, StorageError>;
    /// The exact stored bytes of one digest
    async fn read_digest(&self, sequence: u64) -> Result<Vec<u8>, StorageError>;
    /// Where the objects come from, for reports (`/var/lib/aegis-mcp/audit`, `s3://b/p`)
    fn describe(&self) -> String;
}

/// Where audit segments and digests go. Both writes are create-only and fail with
/// `AlreadyExists` rather than overwrite (an S3 `If-None-Match: *`), so two writers can never
/// fork a chain or the digest chain silently: the loser of a race learns it lost. Objects are
/// opaque bytes here; their format belongs to `crate::audit`.
#[async_trait]
pub trait AuditSink: AuditSource {
    /// Stores segment `sequence` of `chain_id`; returns once it is durable
    async fn put_segment(
        &self,
        chain_id: &str,
        sequence: u64,
        bytes: &[u8],
    ) -> Result<(), StorageError>;
    /// Stores digest `sequence`; returns once it is durable
    async fn put_digest(&self, sequence: u64, bytes: &[u8]) -> Result<(), StorageError>;
}

/// How far the sealer has turned one chain of the hot log into sealed segments. Owned by
/// the sealer alone (the serving functions can neither read nor write it).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SealCursor {
    /// The next hot batch (the writer's segment number) to seal
    pub next_batch: u64,
    /// SHA-256 of the last sealed hot batch's bytes (what batch `next_batch` must link to)
    pub last_batch_hash: Option<String>,
    /// The next sealed segment number of the chain
    pub next_segment: u64,
    /// SHA-256 of the last sealed segment's bytes
    pub prev_segment_hash: Option<String>,
    /// The `seq` the next record must carry
    pub next_seq: u64,
    /// The `entry_hash` of the last sealed record (what the next one's `prev_hash` must be)
    pub last_entry_hash: Option<String>,
    /// Why sealing this chain stopped (a gap, a fork attempt, a record that does not hash);
    /// a stopped chain is never sealed further without an operator
    pub stopped: Option<String>,
}

/// The durable hot log (`AUDIT_HOT_LOG=dynamodb`) as its sealer sees it: the writers'
/// batches, readable as segments (`AuditSource`: one "segment" per batch, numbered per
/// chain), plus the sealer's own cursor per chain. Writers reach it only through
/// `AuditSink::put_segment` (create-only); everything here is the sealer's.
#[async_trait]
pub trait HotAuditLog: AuditSource {
    /// The chain's cursor, `None` when nothing of it was sealed yet
    async fn seal_cursor(&self, chain_id: &str) -> Result<Option<SealCursor>, StorageError>;
    /// Replaces the cursor if it still is `previous` (compare-and-set on `next_batch` and
    /// `stopped`): `AlreadyExists` when another sealer moved it first
    async fn advance_seal_cursor(
        &self,
        chain_id: &str,
        previous: Option<&SealCursor>,
        next: &SealCursor,
    ) -> Result<(), StorageError>;
    /// The chain's batches numbered `from` and up, ascending, with their exact bytes, at
    /// most `limit` (fewer means there are no more now)
    async fn batches(
        &self,
        chain_id: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError>;
    /// Drops a fully sealed chain that no writer can extend any more from the listing
    /// (`chains`); its batches expire by TTL
    async fn retire_chain(&self, chain_id: &str) -> Result<(), StorageError>;
}
