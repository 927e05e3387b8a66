//! The durable audit hot log (`AUDIT_HOT_LOG=dynamodb`): each batch the audit writer
//! commits is one create-only `PutItem` in the state table, and the sealer turns a chain's
//! batches into S3 segments later (`aegis_core::audit::seal`).
//!
//! Items (the table's `pk`/`sk`/`ttl`; the key design is in docs/adr/0011-audit-hot-log.md):
//! - `audit#<chain_id>` / `<batch:020>`: one batch, `body_z` = the segment bytes the writer
//!   built (records hash-chained as always), deflated so that a read call's batch stays one
//!   write unit (under 1 KB), `ttl` = written + `HOT_LOG_TTL_SECS`. Created
//!   with `attribute_not_exists(pk)`: no batch is ever written twice, so no chain can fork.
//! - `auditchains` / `<chain_id>`: the listing of chains, created with a chain's batch 0.
//! - `auditseal#<chain_id>` / `cursor`: the sealer's progress on the chain (sealer only).
//!
//! The serving functions may only `PutItem` the first two (IAM, `dynamodb:LeadingKeys`);
//! everything else here is the sealer's.

use std::collections::HashMap;
use std::io::{Read, Write};

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::dynamo::{get_s, n, s, unavailable, Item, BODY, PK, SK, TTL};
use crate::embedded::{object_name, valid_chain_id};
use crate::{now_secs, AuditSink, AuditSource, StorageError};
use aegis_core::store::{HotAuditLog, SealCursor};

/// How long a batch stays in the table: far beyond the sealing lag (minutes), so that a
/// stopped chain can be looked at and a sealer outage of days loses nothing.
pub const HOT_LOG_TTL_SECS: u64 = 14 * 24 * 3600;
/// DynamoDB's item limit is 400 KB; the writer keeps batches well under it (and a batch
/// over it fails closed rather than being split).
const MAX_ITEM_BYTES: usize = 380 * 1024;
/// The batch's bytes, deflated (binary)
const BODY_Z: &str = "body_z";
/// The most a stored batch may inflate to: a 400 KB item of compressed JSON never comes
/// near it, and a forged item cannot make the sealer allocate more
const MAX_BODY_BYTES: u64 = 16 << 20;
const CHAINS_PK: &str = "auditchains";
const CURSOR_SK: &str = "cursor";

/// The hot log in one table.
pub struct DynamoHotLog {
    client: Client,
    table: String,
}

fn batch_pk(chain_id: &str) -> String {
    format!("audit#{chain_id}")
}

fn batch_sk(number: u64) -> String {
    // `<20 digits>.json`, as the segment objects are named, minus the suffix
    object_name(number).trim_end_matches(".json").to_string()
}

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, StorageError> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| StorageError::Corrupt(format!("audit batch could not be deflated: {e}")))
}

fn inflate(compressed: &[u8]) -> Result<Vec<u8>, StorageError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| StorageError::Corrupt(format!("audit batch does not inflate: {e}")))?;
    if out.len() as u64 > MAX_BODY_BYTES {
        return Err(StorageError::Corrupt(format!(
            "audit batch inflates past {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(out)
}

/// The exact bytes the writer stored: `body_z` inflated (or a plain `body`).
fn body_of(item: &Item) -> Result<Vec<u8>, StorageError> {
    match item.get(BODY_Z) {
        Some(AttributeValue::B(blob)) => inflate(blob.as_ref()),
        Some(_) => Err(StorageError::Corrupt(format!(
            "dynamodb item `{BODY_Z}` is not binary"
        ))),
        None => Ok(get_s(item, BODY)?.as_bytes().to_vec()),
    }
}

fn cursor_pk(chain_id: &str) -> String {
    format!("auditseal#{chain_id}")
}

impl DynamoHotLog {
    pub(super) fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.to_string(),
        }
    }

    fn key(pk: String, sk: String) -> Item {
        HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
    }

    /// A create-only `PutItem`; `AlreadyExists(what)` when the key exists.
    async fn create(&self, item: Item, what: String) -> Result<(), StorageError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .set_item(Some(item))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StorageError::AlreadyExists(what))
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// Every item of partition `pk` with `sk >= from` (all when `None`), in key order, up to
    /// `limit` items, strongly consistent.
    async fn query(
        &self,
        pk: String,
        from: Option<String>,
        limit: usize,
        with_body: bool,
    ) -> Result<Vec<Item>, StorageError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start.take());
            req = match &from {
                Some(from) => req
                    .key_condition_expression("#pk = :pk AND #sk >= :from")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":from", s(from.clone())),
                None => req.key_condition_expression("#pk = :pk"),
            };
            if !with_body {
                req = req
                    .projection_expression("#sk2")
                    .expression_attribute_names("#sk2", SK);
            }
            let page = req.send().await.map_err(|e| unavailable("Query", e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() && out.len() < limit => start = Some(key),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

/// The batch number of an item's sort key (`None` for anything else).
fn batch_number(item: &Item) -> Option<u64> {
    let sk = get_s(item, SK).ok()?;
    (sk.len() == 20 && sk.bytes().all(|b| b.is_ascii_digit()))
        .then(|| sk.parse().ok())
        .flatten()
}

#[async_trait]
impl AuditSource for DynamoHotLog {
    async fn chains(&self) -> Result<Vec<String>, StorageError> {
        let items = self
            .query(CHAINS_PK.to_string(), None, usize::MAX, false)
            .await?;
        let mut out: Vec<String> = items
            .iter()
            .filter_map(|i| get_s(i, SK).ok())
            .filter(|c| valid_chain_id(c).is_ok())
            .map(str::to_string)
            .collect();
        out.sort();
        Ok(out)
    }

    async fn segment_numbers(
        &self,
        chain_id: &str,
        after: Option<u64>,
    ) -> Result<Vec<u64>, StorageError> {
        valid_chain_id(chain_id)?;
        let from = after.map(|a| batch_sk(a.saturating_add(1)));
        let items = self
            .query(batch_pk(chain_id), from, usize::MAX, false)
            .await?;
        Ok(items.iter().filter_map(batch_number).collect())
    }

    async fn read_segment(&self, chain_id: &str, sequence: u64) -> Result<Vec<u8>, StorageError> {
        valid_chain_id(chain_id)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(batch_pk(chain_id), batch_sk(sequence))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        match out.item {
            Some(item) => body_of(&item),
            None => Err(StorageError::NotFound(format!(
                "{}/{chain_id}/{sequence}",
                self.describe()
            ))),
        }
    }

    async fn digest_numbers(&self, _after: Option<u64>) -> Result<Vec<u64>, StorageError> {
        // Digests cover sealed segments only; the hot log has none.
        Ok(Vec::new())
    }

    async fn read_digest(&self, sequence: u64) -> Result<Vec<u8>, StorageError> {
        Err(StorageError::NotFound(format!(
            "digest {sequence} (the hot log holds no digests)"
        )))
    }

    fn describe(&self) -> String {
        format!("dynamodb://{}/audit#", self.table)
    }
}

#[async_trait]
impl AuditSink for DynamoHotLog {
    /// One batch, durable once this create-only `PutItem` succeeded; batch 0 also lists
    /// the chain (both at once: a chain starts once per instance and hour).
    async fn put_segment(
        &self,
        chain_id: &str,
        sequence: u64,
        bytes: &[u8],
    ) -> Result<(), StorageError> {
        valid_chain_id(chain_id)?;
        let body = deflate(bytes)?;
        if body.len() > MAX_ITEM_BYTES {
            return Err(StorageError::Unavailable(format!(
                "an audit batch of {} bytes ({} deflated) does not fit a DynamoDB item",
                bytes.len(),
                body.len()
            )));
        }
        let ttl = n(now_secs() + HOT_LOG_TTL_SECS);
        let mut item = Self::key(batch_pk(chain_id), batch_sk(sequence));
        item.insert(BODY_Z.into(), AttributeValue::B(Blob::new(body)));
        item.insert(TTL.into(), ttl.clone());
        let batch = self.create(item, format!("audit batch {chain_id}/{sequence}"));
        if sequence == 0 {
            let mut listing = Self::key(CHAINS_PK.to_string(), chain_id.to_string());
            listing.insert(TTL.into(), ttl);
            let listed = self.create(listing, format!("audit chain {chain_id}"));
            tokio::try_join!(batch, listed)?;
            Ok(())
        } else {
            batch.await
        }
    }

    async fn put_digest(&self, sequence: u64, _bytes: &[u8]) -> Result<(), StorageError> {
        Err(StorageError::Unavailable(format!(
            "digest {sequence}: digests go to the sealed store, not the hot log"
        )))
    }
}

#[async_trait]
impl HotAuditLog for DynamoHotLog {
    async fn seal_cursor(&self, chain_id: &str) -> Result<Option<SealCursor>, StorageError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(cursor_pk(chain_id), CURSOR_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        match out.item {
            Some(item) => serde_json::from_str(get_s(&item, BODY)?)
                .map(Some)
                .map_err(|e| StorageError::Corrupt(format!("seal cursor of `{chain_id}`: {e}"))),
            None => Ok(None),
        }
    }

    async fn advance_seal_cursor(
        &self,
        chain_id: &str,
        previous: Option<&SealCursor>,
        next: &SealCursor,
    ) -> Result<(), StorageError> {
        let encode = |c: &SealCursor| {
            serde_json::to_string(c).map_err(|e| StorageError::Corrupt(e.to_string()))
        };
        let mut item = Self::key(cursor_pk(chain_id), CURSOR_SK.into());
        item.insert(BODY.into(), s(encode(next)?));
        item.insert(TTL.into(), n(now_secs() + HOT_LOG_TTL_SECS));
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        put = match previous {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Some(prev) => put
                .condition_expression("#body = :prev")
                .expression_attribute_names("#body", BODY)
                .expression_attribute_values(":prev", s(encode(prev)?)),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StorageError::AlreadyExists(format!(
                    "seal cursor of `{chain_id}`"
                )))
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    async fn batches(
        &self,
        chain_id: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        valid_chain_id(chain_id)?;
        let items = self
            .query(batch_pk(chain_id), Some(batch_sk(from)), limit, true)
            .await?;
        items
            .iter()
            .filter_map(|item| batch_number(item).map(|n| (n, item)))
            .map(|(n, item)| Ok((n, body_of(item)?)))
            .collect()
    }

    async fn retire_chain(&self, chain_id: &str) -> Result<(), StorageError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(CHAINS_PK.to_string(), chain_id.to_string())))
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{deflate, inflate, MAX_BODY_BYTES};

    #[test]
    fn batches_round_trip_and_bombs_are_refused() {
        let batch = br#"{"chain_id":"c","records":[{"seq":0},{"seq":1}]}"#;
        assert_eq!(inflate(&deflate(batch).unwrap()).unwrap(), batch);
        assert!(inflate(b"not deflate at all").is_err());
        let bomb = deflate(&vec![b'a'; MAX_BODY_BYTES as usize + 1]).unwrap();
        assert!(inflate(&bomb).is_err());
    }
}
