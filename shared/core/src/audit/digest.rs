//! Signed digests: the Ed25519 key, and `write_digest`, which lists every segment that
//! appeared since the previous digest and links to it.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::canonical::sha256_hex;
use super::format::{
    self, ChainHead, Digest, DigestEntry, DigestLink, Segment, CLOCK_GRACE, DIGEST_FORMAT,
    MAX_CHAIN_AGE,
};
use super::AuditError;
use crate::store::{AuditSink, StorageError};
use futures_util::stream::{self, StreamExt, TryStreamExt};

/// Segment lists and reads one digest keeps in flight. Each is one object-store round
/// trip (an S3 GET, ~10-30 ms); one at a time, a busy period's segments would not fit the
/// jobs function's timeout (docs/deployment.md, "Digest throughput").
pub const DIGEST_READ_CONCURRENCY: usize = 32;

/// The digest signing key (`AUDIT_SIGNING_KEY`, a 32-byte Ed25519 seed). Never printed.
#[derive(Clone)]
pub struct AuditSigner {
    key: SigningKey,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditSigner(public key {})", self.public_key_hex())
    }
}

/// Decodes 32 bytes given as 64 hex digits or as base64 (padded or not).
fn decode_32(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| "expected 64 hex digits or base64 of 32 bytes".to_string())?
    };
    bytes
        .try_into()
        .map_err(|_| "expected exactly 32 bytes".to_string())
}

impl AuditSigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Parses a seed given as 64 hex digits or base64.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        decode_32(text)
            .map(Self::from_seed)
            .map_err(AuditError::InvalidKey)
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, AuditError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| AuditError::InvalidKey(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// The seed, hex: what `AUDIT_SIGNING_KEY` holds.
    pub fn seed_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// The public key verifiers pin (`aegis audit verify --public-key`), hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    fn sign(&self, bytes: &[u8]) -> String {
        hex::encode(self.key.sign(bytes).to_bytes())
    }
}

/// Parses a public key given as 64 hex digits or base64.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, AuditError> {
    let bytes = decode_32(text).map_err(AuditError::InvalidKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| AuditError::InvalidKey(e.to_string()))
}

/// Writes the next digest, ending at `period_end`: every segment that appeared since the
/// previous digest (possibly none: an empty period is signed too, so "nothing happened" is
/// provable), linked to the previous digest's hash and signature, signed with `signer`.
///
/// Two digesters racing for the same number cannot both win (create-only put): the loser
/// gets `DigestRace` and writes nothing.
pub async fn write_digest(
    sink: &dyn AuditSink,
    signer: &AuditSigner,
    period_end: OffsetDateTime,
) -> Result<Digest, AuditError> {
    let last = sink.digest_numbers(None).await?.last().copied();
    let previous = match last {
        None => None,
        Some(sequence) => {
            let bytes = sink.read_digest(sequence).await?;
            let digest: Digest =
                serde_json::from_slice(&bytes).map_err(|e| AuditError::CorruptDigest {
                    sequence,
                    reason: e.to_string(),
                })?;
            Some((digest, sha256_hex(&bytes)))
        }
    };
    let end = format::timestamp(period_end);
    let mut heads: BTreeMap<String, u64> = BTreeMap::new();
    // Chains older than this (by the time in their id) received their last segment before
    // the previous digest and were swept by it.
    let mut swept_before = None;
    if let Some((prev, _)) = &previous {
        let prev_end =
            format::parse_timestamp(&prev.period_end).ok_or_else(|| AuditError::CorruptDigest {
                sequence: prev.sequence,
                reason: format!("bad `period_end` `{}`", prev.period_end),
            })?;
        // Compared at the stored (microsecond) precision.
        if format::parse_timestamp(&end).is_none_or(|t| t <= prev_end) {
            return Err(AuditError::PeriodNotAfterPrevious {
                end,
                previous: prev.period_end.clone(),
            });
        }
        heads.extend(
            prev.heads
                .iter()
                .map(|h| (h.chain_id.clone(), h.last_sequence)),
        );
        swept_before = Some(prev_end - MAX_CHAIN_AGE - CLOCK_GRACE);
    }

    // Which chains to look at, and from where: chains older than the previous digest's
    // sweep and absent from its heads cannot have grown.
    let chains: Vec<(String, Option<u64>)> = sink
        .chains()
        .await?
        .into_iter()
        .filter_map(|chain_id| {
            let after = heads.get(&chain_id).copied();
            let swept = after.is_none()
                && matches!(
                    (swept_before, format::chain_started(&chain_id)),
                    (Some(cutoff), Some(started)) if started < cutoff
                );
            (!swept).then_some((chain_id, after))
        })
        .collect();
    // Lists and reads run DIGEST_READ_CONCURRENCY at a time (object-store round trips
    // dominate); `buffered` keeps the results in key order, so the digest is the same
    // as one read one object at a time.
    let listed: Vec<(String, Vec<u64>)> = stream::iter(chains)
        .map(|(chain_id, after)| async move {
            let numbers = sink.segment_numbers(&chain_id, after).await?;
            Ok::<_, StorageError>((chain_id, numbers))
        })
        .buffered(DIGEST_READ_CONCURRENCY)
        .try_collect()
        .await?;
    let wanted = listed
        .into_iter()
        .flat_map(|(chain_id, numbers)| numbers.into_iter().map(move |n| (chain_id.clone(), n)));
    let mut reads = stream::iter(wanted)
        .map(|(chain_id, sequence)| async move {
            let read = sink.read_segment(&chain_id, sequence).await;
            (chain_id, sequence, read)
        })
        .buffered(DIGEST_READ_CONCURRENCY);
    let mut segments = Vec::new();
    while let Some((chain_id, sequence, read)) = reads.next().await {
        let bytes = match read {
            Ok(bytes) => bytes,
            // Listed a moment ago and gone now: the verifier reports the hole.
            Err(StorageError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        // A segment that does not parse is still listed by hash: the digest records
        // what was there, and the verifier reports it.
        let parsed: Option<Segment> = serde_json::from_slice(&bytes).ok();
        segments.push(DigestEntry {
            chain_id: chain_id.clone(),
            sequence,
            sha256: sha256_hex(&bytes),
            records: parsed.as_ref().map_or(0, |s| s.records.len() as u64),
            last_entry_hash: parsed
                .as_ref()
                .and_then(|s| s.records.last())
                .and_then(|r: &Map<String, Value>| r.get("entry_hash"))
                .and_then(Value::as_str)
                .map(str::to_string),
        });
        heads.insert(chain_id, sequence);
    }
    // Chains too old to grow are dropped from the heads once swept, keeping digests small.
    let keep_after = period_end - MAX_CHAIN_AGE - CLOCK_GRACE;
    heads.retain(|chain_id, _| format::chain_started(chain_id).is_none_or(|t| t >= keep_after));

    let sequence = last.map_or(0, |n| n + 1);
    let mut digest = Digest {
        format: DIGEST_FORMAT.into(),
        sequence,
        period_start: previous.as_ref().map(|(p, _)| p.period_end.clone()),
        period_end: end,
        previous: previous.as_ref().map(|(p, hash)| DigestLink {
            sequence: p.sequence,
            sha256: hash.clone(),
            signature: p.signature.clone(),
        }),
        segments,
        heads: heads
            .into_iter()
            .map(|(chain_id, last_sequence)| ChainHead {
                chain_id,
                last_sequence,
            })
            .collect(),
        public_key: signer.public_key_hex(),
        signature: String::new(),
    };
    let signed = digest
        .signed_bytes()
        .map_err(|e| AuditError::Encode(e.to_string()))?;
    digest.signature = signer.sign(&signed);
    let bytes = digest
        .encode()
        .map_err(|e| AuditError::Encode(e.to_string()))?;
    match sink.put_digest(sequence, &bytes).await {
        Ok(()) => Ok(digest),
        Err(StorageError::AlreadyExists(_)) => Err(AuditError::DigestRace(sequence)),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_or_base64_and_never_print() {
        let signer = AuditSigner::from_seed([7u8; 32]);
        let hex_seed = signer.seed_hex();
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        for text in [hex_seed.as_str(), b64.as_str(), b64.trim_end_matches('=')] {
            assert_eq!(
                AuditSigner::parse(text).unwrap().public_key_hex(),
                signer.public_key_hex()
            );
        }
        for bad in ["", "abc", &"0".repeat(62), "!!!!"] {
            assert!(AuditSigner::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{signer:?}").contains(&hex_seed));
        assert!(parse_public_key(&signer.public_key_hex()).is_ok());
    }
}
