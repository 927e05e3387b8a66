//! DynamoDB adapters: every table-shaped trait over one table (`pk`, `sk`, TTL `ttl`).
//!
//! Each mutation is one conditional write, so concurrent Lambda instances agree without
//! locks: a rate-limit counter takes one or, leased, several tokens with one `UpdateItem`
//! guarded by `count <= limit - tokens` (`rate_lease.rs` keeps the lease), registrations and
//! codes are `PutItem`s guarded by `attribute_not_exists(pk)`, a refresh rotation is a
//! compare-and-set on the stored hash. DynamoDB deletes TTL'd items lazily (up to days
//! later; moto never does), so every read checks `ttl` itself.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::rate_lease::{Counted, LeaseKey, RateLeases};
use crate::{
    now_secs, AuthCode, AuthzCache, CachedPermission, ClientRegistry, Grant, GrantStore,
    RateDecision, RateKey, RateLimiter, Redemption, RegisteredClient, StorageError, WindowCount,
};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const TTL: &str = "ttl";
/// The JSON of the record (the immutable part, for grants and codes)
pub(super) const BODY: &str = "body";
/// How long past its window a rate-limit counter stays before DynamoDB may delete it
const COUNTER_GRACE_SECS: u64 = 60;
/// How long past expiry a code stays, so a late replay is still recognised as one
const CODE_GRACE_SECS: u64 = 3600;

/// The one table of a deployment, implementing `RateLimiter`, `ClientRegistry`,
/// `AuthzCache` and `GrantStore`. One per process: it holds this instance's rate-limit
/// leases.
pub struct DynamoStore {
    client: Client,
    table: String,
    leases: RateLeases,
}

pub(super) fn unavailable<E, R>(op: &str, err: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    super::unavailable("dynamodb", op, &err)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StorageError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StorageError::Corrupt(format!("dynamodb item without string `{name}`")))
}

pub(super) fn get_n(item: &Item, name: &str) -> Result<u64, StorageError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StorageError::Corrupt(format!("dynamodb item without number `{name}`")))
}

fn get_bool(item: &Item, name: &str) -> Result<bool, StorageError> {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| StorageError::Corrupt(format!("dynamodb item without boolean `{name}`")))
}

fn body<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StorageError> {
    serde_json::from_str(get_s(item, BODY)?)
        .map_err(|e| StorageError::Corrupt(format!("dynamodb item body: {e}")))
}

fn to_body<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StorageError> {
    serde_json::to_string(value)
        .map(s)
        .map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// Whether an item read back is still live (`ttl` in the future).
fn live(item: &Item, now: u64) -> Result<bool, StorageError> {
    Ok(get_n(item, TTL)? > now)
}

impl DynamoStore {
    pub(super) fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        Self {
            client: Client::new(sdk),
            table: table.to_string(),
            leases: RateLeases::default(),
        }
    }

    fn key(&self, pk: String, sk: &str) -> Item {
        HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
    }

    /// Creates the table and turns on TTL, unless it exists (emulators and tests only).
    pub async fn create_table(&self) -> Result<(), StorageError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StorageError::Unavailable(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StorageError::Unavailable(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(unavailable("CreateTable", e)),
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(TTL)
            .enabled(true)
            .build()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| unavailable("UpdateTimeToLive", e))?;
        Ok(())
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StorageError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

    /// A create-only `PutItem`: `AlreadyExists(what)` when an item with this key exists.
    async fn create(&self, item: Item, what: String) -> Result<(), StorageError> {
        if self.put_new(item, false).await? {
            Ok(())
        } else {
            Err(StorageError::AlreadyExists(what))
        }
    }

    /// `PutItem` that fails (returns false) when an item with this key exists, or exists
    /// and is live when `unless_expired`.
    async fn put_new(&self, item: Item, unless_expired: bool) -> Result<bool, StorageError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .expression_attribute_names("#pk", PK);
        if unless_expired {
            put = put
                .condition_expression("attribute_not_exists(#pk) OR #ttl <= :now")
                .expression_attribute_names("#ttl", TTL)
                .expression_attribute_values(":now", n(now_secs()));
        } else {
            put = put.condition_expression("attribute_not_exists(#pk)");
        }
        match put.set_item(Some(item)).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable("PutItem", e)),
        }
    }

    /// One conditional `UpdateItem`: `Ok(None)` when the condition failed.
    async fn update(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        returns: ReturnValue,
    ) -> Result<Option<Item>, StorageError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .return_values(returns);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }
}

/// The counter item of the window `now` falls in: `(sk, window start, window end)`. The
/// window length is part of the key so different limits on one key never share a counter.
fn window_of(window: Duration, now: u64) -> (String, u64, u64) {
    let len = window.as_secs().max(1);
    let start = now - now % len;
    (format!("window#{len}#{start}"), start, start + len)
}

impl DynamoStore {
    /// Counts `want` tokens in the counter `sk` of `key` if that keeps it within `limit`:
    /// `ADD count :want` if `count <= limit - want`. Of N+k concurrent requests for one
    /// token on a fresh window exactly N succeed; tokens taken together are numbered by
    /// the counter, so no token is handed out twice, whoever asks.
    async fn count(
        &self,
        key: &RateKey,
        (sk, end): (&str, u64),
        want: u32,
        limit: u32,
    ) -> Result<Counted, StorageError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(format!("rate#{key}"), sk)))
            .update_expression("ADD #count :want SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count <= :most")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":want", n(u64::from(want)))
            .expression_attribute_values(":most", n(u64::from(limit.saturating_sub(want))))
            .expression_attribute_values(":ttl", n(end + COUNTER_GRACE_SECS))
            .return_values(ReturnValue::UpdatedNew)
            // The count that refused the tokens: a smaller lease or a denial needs no read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Counted::Taken {
                count: get_n(&out.attributes.unwrap_or_default(), "count")?,
            }),
            Err(SdkError::ServiceError(failed)) => {
                if let UpdateItemError::ConditionalCheckFailedException(e) = failed.err() {
                    let count = e
                        .item()
                        .map_or(Ok(u64::from(limit)), |item| get_n(item, "count"))?;
                    return Ok(Counted::TooFew { count });
                }
                Err(unavailable("UpdateItem", SdkError::ServiceError(failed)))
            }
            Err(e) => Err(unavailable("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl RateLimiter for DynamoStore {
    /// Served from this instance's lease, or refused, without a request when it can be
    /// (`rate_lease.rs`); otherwise one `UpdateItem` takes a token, or a lease of several
    /// when the scope allows it.
    async fn hit(
        &self,
        key: &RateKey,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StorageError> {
        let now = now_secs();
        let (sk, start, end) = window_of(window, now);
        let retry_after = Duration::from_secs(end.saturating_sub(now));
        let decision = |token: Option<u64>| RateDecision {
            allowed: token.is_some(),
            remaining: token.map_or(0, |t| u64::from(limit).saturating_sub(t) as u32),
            retry_after,
        };
        if limit == 0 {
            return Ok(decision(None));
        }
        let lease = LeaseKey::new(key.as_str(), window.as_secs().max(1), limit);
        let sk = sk.as_str();
        let token = self
            .leases
            .hit(&lease, start, key.scope().leasable(), |want| {
                self.count(key, (sk, end), want, limit)
            })
            .await?;
        Ok(decision(token))
    }

    async fn peek(&self, key: &RateKey, window: Duration) -> Result<WindowCount, StorageError> {
        let now = now_secs();
        let (sk, _, end) = window_of(window, now);
        match self.get(format!("rate#{key}"), &sk).await? {
            Some(item) if live(&item, now)? => Ok(WindowCount {
                count: u32::try_from(get_n(&item, "count")?).unwrap_or(u32::MAX),
                resets_in: Duration::from_secs(end.saturating_sub(now)),
            }),
            _ => Ok(WindowCount {
                count: 0,
                resets_in: Duration::ZERO,
            }),
        }
    }
}

#[async_trait]
impl ClientRegistry for DynamoStore {
    async fn register(&self, client: RegisteredClient) -> Result<(), StorageError> {
        let mut item = self.key(format!("client#{}", client.client_id), "client");
        item.insert(BODY.into(), to_body(&client)?);
        self.create(item, client.client_id).await
    }

    async fn get(&self, client_id: &str) -> Result<Option<RegisteredClient>, StorageError> {
        match DynamoStore::get(self, format!("client#{client_id}"), "client").await? {
            Some(item) => Ok(Some(body(&item)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl AuthzCache for DynamoStore {
    async fn get(&self, key: &str) -> Result<Option<CachedPermission>, StorageError> {
        let now = now_secs();
        match DynamoStore::get(self, format!("authz#{key}"), "authz").await? {
            Some(item) => {
                let entry: CachedPermission = body(&item)?;
                Ok((entry.expires_at > now).then_some(entry))
            }
            None => Ok(None),
        }
    }

    async fn put(&self, key: &str, value: CachedPermission) -> Result<(), StorageError> {
        let mut item = self.key(format!("authz#{key}"), "authz");
        item.insert(TTL.into(), n(value.expires_at));
        item.insert(BODY.into(), to_body(&value)?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }
}

/// A code item back to the record: the body, with the `redeemed` attribute.
fn code_of(item: &Item) -> Result<AuthCode, StorageError> {
    let mut code: AuthCode = body(item)?;
    code.redeemed = get_bool(item, "redeemed")?;
    Ok(code)
}

/// A grant item back to the record: the body as created, with the attributes that change.
fn grant_of(item: &Item) -> Result<Grant, StorageError> {
    let mut grant: Grant = body(item)?;
    grant.refresh_hash = get_s(item, "refresh_hash")?.to_string();
    grant.gitea_tokens = get_s(item, "gitea_tokens")?.to_string();
    grant.revoked = get_bool(item, "revoked")?;
    Ok(grant)
}

#[async_trait]
impl GrantStore for DynamoStore {
    async fn put_code(&self, code_hash: &str, code: AuthCode) -> Result<(), StorageError> {
        let mut item = self.key(format!("code#{code_hash}"), "code");
        item.insert(TTL.into(), n(code.expires_at + CODE_GRACE_SECS));
        item.insert("redeemed".into(), AttributeValue::Bool(code.redeemed));
        item.insert(BODY.into(), to_body(&code)?);
        self.create(item, "code".into()).await
    }

    async fn peek_code(&self, code_hash: &str) -> Result<Option<AuthCode>, StorageError> {
        match DynamoStore::get(self, format!("code#{code_hash}"), "code").await? {
            Some(item) if live(&item, now_secs())? => Ok(Some(code_of(&item)?)),
            _ => Ok(None),
        }
    }

    async fn redeem_code(&self, code_hash: &str) -> Result<Redemption, StorageError> {
        let now = now_secs();
        let pk = format!("code#{code_hash}");
        let updated = self
            .update(
                self.key(pk.clone(), "code"),
                "SET #redeemed = :true",
                "attribute_exists(#pk) AND #redeemed = :false AND #ttl > :now",
                &[("#pk", PK), ("#redeemed", "redeemed"), ("#ttl", TTL)],
                vec![
                    (":true", AttributeValue::Bool(true)),
                    (":false", AttributeValue::Bool(false)),
                    (":now", n(now)),
                ],
                ReturnValue::AllNew,
            )
            .await?;
        if let Some(item) = updated {
            return Ok(Redemption::Fresh(code_of(&item)?));
        }
        // The condition failed: redeemed before, unknown, or past its grace period.
        match DynamoStore::get(self, pk, "code").await? {
            Some(item) if live(&item, now)? => Ok(Redemption::Reused(code_of(&item)?)),
            _ => Ok(Redemption::Missing),
        }
    }

    async fn create_grant(&self, grant: Grant) -> Result<(), StorageError> {
        let mut item = self.key(format!("grant#{}", grant.id), "grant");
        item.insert(TTL.into(), n(grant.expires_at));
        item.insert("refresh_hash".into(), s(&grant.refresh_hash));
        item.insert("gitea_tokens".into(), s(&grant.gitea_tokens));
        item.insert("revoked".into(), AttributeValue::Bool(grant.revoked));
        item.insert(BODY.into(), to_body(&grant)?);
        self.create(item, "grant".into()).await
    }

    async fn get_grant(&self, id: &str) -> Result<Option<Grant>, StorageError> {
        match DynamoStore::get(self, format!("grant#{id}"), "grant").await? {
            Some(item) if live(&item, now_secs())? => Ok(Some(grant_of(&item)?)),
            _ => Ok(None),
        }
    }

    async fn rotate_refresh(
        &self,
        id: &str,
        expected: &str,
        new: &str,
    ) -> Result<bool, StorageError> {
        let updated = self
            .update(
                self.key(format!("grant#{id}"), "grant"),
                "SET #hash = :new",
                "#hash = :expected AND #revoked = :false AND #ttl > :now",
                &[
                    ("#hash", "refresh_hash"),
                    ("#revoked", "revoked"),
                    ("#ttl", TTL),
                ],
                vec![
                    (":new", s(new)),
                    (":expected", s(expected)),
                    (":false", AttributeValue::Bool(false)),
                    (":now", n(now_secs())),
                ],
                ReturnValue::None,
            )
            .await?;
        Ok(updated.is_some())
    }

    async fn set_gitea_tokens(&self, id: &str, sealed: &str) -> Result<(), StorageError> {
        // An unknown grant is left alone, as in the embedded adapter.
        self.update(
            self.key(format!("grant#{id}"), "grant"),
            "SET #tokens = :sealed",
            "attribute_exists(#pk)",
            &[("#pk", PK), ("#tokens", "gitea_tokens")],
            vec![(":sealed", s(sealed))],
            ReturnValue::None,
        )
        .await?;
        Ok(())
    }

    async fn revoke_grant(&self, id: &str) -> Result<(), StorageError> {
        self.update(
            self.key(format!("grant#{id}"), "grant"),
            "SET #revoked = :true",
            "attribute_exists(#pk)",
            &[("#pk", PK), ("#revoked", "revoked")],
            vec![(":true", AttributeValue::Bool(true))],
            ReturnValue::None,
        )
        .await?;
        Ok(())
    }

    async fn use_once(&self, key: &str, expires_at: u64) -> Result<bool, StorageError> {
        let mut item = self.key(format!("once#{key}"), "once");
        item.insert(TTL.into(), n(expires_at));
        // A marker whose time has passed (DynamoDB may not have deleted it yet) is free.
        self.put_new(item, true).await
    }
}
