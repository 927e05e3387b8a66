//! The stored shapes: segments (a run of records of one chain) and signed digests.
//!
//! Both are written once in canonical JSON (see `canonical`) and hashed over their exact
//! stored bytes. Keys: `segments/<chain_id>/<sequence:020>.json` and
//! `digests/<sequence:020>.json` (the sink decides the prefix).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::canonical;

/// `format` of a segment.
pub const SEGMENT_FORMAT: &str = "aegis-audit-segment/1";
/// `format` of a digest.
pub const DIGEST_FORMAT: &str = "aegis-audit-digest/1";

/// A writer starts a new chain once its chain is this old, so a digester can stop
/// listing chains older than this (plus `CLOCK_GRACE`): they can receive no new segment.
pub const MAX_CHAIN_AGE: Duration = Duration::hours(1);
/// How far apart the clocks of writers and the digester may be.
pub const CLOCK_GRACE: Duration = Duration::minutes(15);

/// One immutable segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub format: String,
    pub chain_id: String,
    /// Position of this segment in its chain, from 0
    pub sequence: u64,
    /// SHA-256 of the stored bytes of segment `sequence - 1`; `None` for segment 0
    pub prev_segment_hash: Option<String>,
    /// The writer's clock when the segment was sealed
    pub written_at: String,
    /// The records, in chain order
    pub records: Vec<Map<String, Value>>,
}

impl Segment {
    /// The bytes to store (canonical JSON).
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(canonical::to_vec(&serde_json::to_value(self)?))
    }
}

/// Links a digest to its predecessor (CloudTrail's `previousDigestHashValue` and
/// `previousDigestSignature`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestLink {
    pub sequence: u64,
    /// SHA-256 of the previous digest's stored bytes
    pub sha256: String,
    /// The previous digest's signature
    pub signature: String,
}

/// One segment as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub chain_id: String,
    pub sequence: u64,
    /// SHA-256 of the segment's stored bytes
    pub sha256: String,
    /// How many records the segment held
    pub records: u64,
    /// The `entry_hash` of its last record (`None` when it could not be read)
    pub last_entry_hash: Option<String>,
}

/// How far a digest has covered a chain that may still grow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub chain_id: String,
    pub last_sequence: u64,
}

/// A signed digest: every segment that appeared since the previous digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub format: String,
    /// Position in the digest chain, from 0
    pub sequence: u64,
    /// The previous digest's `period_end`; `None` for digest 0
    pub period_start: Option<String>,
    pub period_end: String,
    pub previous: Option<DigestLink>,
    /// Segments not listed by any earlier digest, by chain then sequence
    pub segments: Vec<DigestEntry>,
    /// Chains young enough to grow, and the last segment covered of each
    pub heads: Vec<ChainHead>,
    /// The Ed25519 public key that signed this digest, hex
    pub public_key: String,
    /// Ed25519 over the canonical encoding of this digest without `signature`, hex
    pub signature: String,
}

impl Digest {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Value::Object(map) = &mut value {
            map.remove("signature");
        }
        Ok(canonical::to_vec(&value))
    }

    /// The bytes to store (canonical JSON, signature included).
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(canonical::to_vec(&serde_json::to_value(self)?))
    }
}

const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
const CHAIN_TS_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// A record or segment timestamp: UTC, microseconds (`2025-01-31T12:00:00.000000Z`).
pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(TS_FORMAT)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Parses an RFC 3339 timestamp as written by `timestamp`.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// A fresh chain id: its start time first (so chains list in start order), then 128 random
/// bits (`20250131T120000Z-9f0c...`).
pub fn new_chain_id(started: OffsetDateTime) -> String {
    let ts = started
        .to_offset(time::UtcOffset::UTC)
        .format(CHAIN_TS_FORMAT)
        .unwrap_or_default();
    format!("{ts}-{}", uuid::Uuid::new_v4().simple())
}

/// The start time encoded in a chain id, when it has one.
pub fn chain_started(chain_id: &str) -> Option<OffsetDateTime> {
    let ts = chain_id.get(..16)?;
    PrimitiveDateTime::parse(ts, CHAIN_TS_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_carry_their_start_time() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let id = new_chain_id(at);
        assert!(id.starts_with("20231114T221320Z-"), "{id}");
        assert_eq!(chain_started(&id), Some(at));
        assert_eq!(chain_started("chain-a"), None);
        let ts = timestamp(at);
        assert_eq!(ts, "2023-11-14T22:13:20.000000Z");
        assert_eq!(parse_timestamp(&ts), Some(at));
    }
}
