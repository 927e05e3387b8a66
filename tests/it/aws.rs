//! The AWS adapters against moto (`moto_server`): DynamoDB counters, clients, cache and
//! grants; the S3 audit sink, the logger writing to it and the verifier reading it back;
//! the shim with `STORAGE_BACKEND=aws`.
//!
//! `AEGIS_TEST_MOTO_URL` names the moto server (`make test` starts one and also sets
//! `AEGIS_TEST_REQUIRE_MOTO=1`, so an unreachable or missing moto fails the run). Without
//! either variable each test prints why it skipped. Every test makes its own table and
//! bucket, so they run in parallel.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aegis_core::audit::{
    parse_public_key, verify, write_digest, AuditEvent, AuditSigner, InvocationStatus,
    VerifyOptions,
};
use aegis_core::config::{AuditHotLog, AwsSettings};
use aegis_storage::audit_log::{AuditLogger, AuditLoggerOptions, AuditTarget};
use aegis_storage::aws::{audit_source, AwsStorage, Credentials, S3AuditSink};
use aegis_storage::{
    now_secs, AuditSink, AuditSource, AuthCode, CachedPermission, Grant, RateKey, Redemption,
    RegisteredClient, StorageError,
};
use serde_json::{json, Value};

const URL_VAR: &str = "AEGIS_TEST_MOTO_URL";
const REQUIRE_VAR: &str = "AEGIS_TEST_REQUIRE_MOTO";

/// The moto URL, `None` (with a note) when these tests are not asked for; panics when they
/// are required and moto is missing or unreachable.
async fn moto() -> Option<url::Url> {
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    let raw = match std::env::var(URL_VAR) {
        Ok(raw) if !raw.trim().is_empty() => raw,
        _ if required => panic!("{REQUIRE_VAR}=1 but {URL_VAR} is unset: start moto_server"),
        _ => {
            eprintln!("skipped: {URL_VAR} is unset (`make test-aws` starts moto and sets it)");
            return None;
        }
    };
    let url = url::Url::parse(&raw).unwrap_or_else(|e| panic!("{URL_VAR}=`{raw}`: {e}"));
    let reachable = reqwest::get(url.join("/moto-api/").expect("url")).await;
    if let Err(e) = reachable {
        panic!("{URL_VAR}=`{raw}` is not reachable: {e}");
    }
    Some(url)
}

fn unique(kind: &str) -> String {
    format!("aegis-{kind}-{}", uuid::Uuid::new_v4().simple())
}

struct Aws {
    url: url::Url,
    settings: AwsSettings,
    aws: AwsStorage,
}

/// A fresh table and bucket on moto.
async fn fresh() -> Option<Aws> {
    let url = moto().await?;
    let settings = AwsSettings {
        table_name: unique("t"),
        audit_bucket: unique("b"),
        audit_prefix: "trail/".into(),
        region: "us-east-1".into(),
        endpoint_url: Some(url.clone()),
    };
    let aws = AwsStorage::connect(&settings, Credentials::Emulator).await;
    aws.provision()
        .await
        .expect("create table and bucket on moto");
    Some(Aws { url, settings, aws })
}

impl Aws {
    /// The raw item under `pk`/`sk`, read past the adapter (moto ignores signatures): proof
    /// that an entry the adapter calls expired is still stored.
    async fn raw_item(&self, pk: &str, sk: &str) -> Option<Value> {
        let body = json!({
            "TableName": self.settings.table_name,
            "Key": { "pk": { "S": pk }, "sk": { "S": sk } },
            "ConsistentRead": true,
        });
        let resp: Value = reqwest::Client::new()
            .post(self.url.clone())
            .header("authorization", fake_signature("dynamodb"))
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .header("content-type", "application/x-amz-json-1.0")
            .body(body.to_string())
            .send()
            .await
            .expect("moto GetItem")
            .json()
            .await
            .expect("moto GetItem JSON");
        resp.get("Item").cloned()
    }

    /// The rate limiter of another process on this table (a Lambda instance, with leases
    /// of its own), reaching it through `endpoint` (moto, or a relay before it).
    async fn limiter(&self, endpoint: &url::Url) -> Arc<dyn aegis_storage::RateLimiter> {
        let settings = AwsSettings {
            endpoint_url: Some(endpoint.clone()),
            ..self.settings.clone()
        };
        let instance = AwsStorage::connect(&settings, Credentials::Emulator).await;
        instance.storage(AuditHotLog::Off).rate_limiter
    }

    /// The verifier's reader for `s3://<bucket>/<prefix>`, as an auditor would name it.
    async fn source(&self, prefix: &str) -> S3AuditSink {
        let location = format!("s3://{}/{prefix}", self.settings.audit_bucket);
        audit_source(
            &location,
            "us-east-1",
            Some(&self.url),
            Credentials::Emulator,
        )
        .await
        .expect("s3 location")
    }

    /// Overwrites an object past the adapter (no `If-None-Match`), as an attacker with
    /// write access to the bucket could.
    async fn overwrite_object(&self, key: &str, body: Vec<u8>) {
        let url = self
            .url
            .join(&format!("/{}/{key}", self.settings.audit_bucket))
            .expect("url");
        let status = reqwest::Client::new()
            .put(url)
            .header("authorization", fake_signature("s3"))
            .body(body)
            .send()
            .await
            .expect("moto PutObject")
            .status();
        assert!(status.is_success(), "{status}");
    }

    /// Deletes an object past the adapter, as an attacker with delete access could.
    async fn delete_object(&self, key: &str) {
        let url = self
            .url
            .join(&format!("/{}/{key}", self.settings.audit_bucket))
            .expect("url");
        let status = reqwest::Client::new()
            .delete(url)
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .expect("moto DeleteObject")
            .status();
        assert!(status.is_success(), "{status}");
    }
}

/// An `Authorization` header moto routes by (it checks no signature).
fn fake_signature(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    )
}

/// Runs `n` copies of `f` at once and collects their results.
async fn concurrently<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

/// `n` hits on `key` at once (in an hour's window), spread over `limiters` in turn.
async fn burst(
    limiters: &[Arc<dyn aegis_storage::RateLimiter>],
    key: &RateKey,
    limit: u32,
    n: usize,
) -> Vec<aegis_storage::RateDecision> {
    concurrently(n, |i| {
        let (limiter, key) = (Arc::clone(&limiters[i % limiters.len()]), key.clone());
        async move {
            limiter
                .hit(&key, limit, Duration::from_secs(3600))
                .await
                .expect("hit")
        }
    })
    .await
}

/// A scope counted one token per hit (no lease): exactly the limit passes, each hit seeing
/// its own count. The leased scopes are the tests after this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_n_of_n_plus_k_concurrent_rate_limit_checks_pass() {
    let Some(env) = fresh().await else { return };
    let limiter = env.aws.storage(AuditHotLog::Off).rate_limiter;
    let (limit, tasks) = (20u32, 50usize);
    let key = RateKey::auth_failures([203, 0, 113, 9].into());
    let decisions = burst(std::slice::from_ref(&limiter), &key, limit, tasks).await;
    let allowed: Vec<_> = decisions.iter().filter(|d| d.allowed).collect();
    assert_eq!(allowed.len(), limit as usize, "{decisions:?}");
    // Each allowed hit saw its own count: the remainders are exactly 0..limit.
    let remaining: HashSet<u32> = allowed.iter().map(|d| d.remaining).collect();
    assert_eq!(remaining, (0..limit).collect::<HashSet<_>>());
    assert!(decisions
        .iter()
        .filter(|d| !d.allowed)
        .all(|d| d.remaining == 0 && d.retry_after <= Duration::from_secs(3600)));
    let peek = limiter
        .peek(&key, Duration::from_secs(3600))
        .await
        .expect("peek");
    assert_eq!(peek.count, limit, "denied hits are not counted");
    assert!(peek.resets_in > Duration::ZERO && peek.resets_in <= Duration::from_secs(3600));
    assert_eq!(
        limiter
            .peek(
                &RateKey::ip([198, 51, 100, 1].into()),
                Duration::from_secs(3600)
            )
            .await
            .unwrap()
            .count,
        0
    );
    let zero = limiter
        .hit(
            &RateKey::ip([198, 51, 100, 1].into()),
            0,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(!zero.allowed);
}

#[tokio::test]
async fn a_new_window_starts_a_new_count() {
    let Some(env) = fresh().await else { return };
    let limiter = env.aws.storage(AuditHotLog::Off).rate_limiter;
    let window = Duration::from_secs(3);
    // Start early in a window so three quick hits share it.
    if now_secs() % 3 == 2 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let token = RateKey::credential("abc");
    let first = limiter.hit(&token, 2, window).await.unwrap();
    let second = limiter.hit(&token, 2, window).await.unwrap();
    let third = limiter.hit(&token, 2, window).await.unwrap();
    assert!(first.allowed && second.allowed && !third.allowed);
    assert_eq!((first.remaining, second.remaining), (1, 0));
    assert!(third.retry_after <= window);
    tokio::time::sleep(third.retry_after + Duration::from_millis(1100)).await;
    let next = limiter.hit(&token, 2, window).await.unwrap();
    assert!(next.allowed, "{next:?}");
    assert_eq!(limiter.peek(&token, window).await.unwrap().count, 1);
}

/// The rate-limit `UpdateItem`s among the DynamoDB requests a relay passed.
fn counter_updates(requests: &[(String, String)]) -> usize {
    requests
        .iter()
        .filter(|(op, kind)| op == "UpdateItem" && kind == "rate")
        .count()
}

/// `n` hits on `key` one after the other: the `remaining` of each allowed one, in order.
async fn spend(
    limiter: &dyn aegis_storage::RateLimiter,
    key: &RateKey,
    limit: u32,
    n: usize,
) -> Vec<u32> {
    let mut allowed = Vec::new();
    for _ in 0..n {
        let d = limiter
            .hit(key, limit, Duration::from_secs(3600))
            .await
            .expect("hit");
        if d.allowed {
            allowed.push(d.remaining);
        } else {
            assert_eq!(d.remaining, 0, "{d:?}");
        }
    }
    allowed
}

/// A credential's budget is taken from the table a few tokens at a time: one instance
/// spends the default 120 in 24 `UpdateItem`s (one per hit before leases), every token
/// once and in order, and once the window is spent it refuses without asking again.
#[tokio::test]
async fn a_leased_budget_takes_few_counter_updates_and_none_once_spent() {
    let Some(env) = fresh().await else { return };
    let relay = relay(env.url.clone()).await;
    let limiter = env.limiter(&relay.url).await;
    let key = RateKey::credential("a leased credential");
    let allowed = spend(limiter.as_ref(), &key, 120, 120).await;
    assert_eq!(allowed, (0..120).rev().collect::<Vec<u32>>());
    assert_eq!(counter_updates(&relay.take_requests()), 24);
    // Spent: this instance saw the count reach the limit, so it refuses without asking
    // (counts only grow within a window).
    assert!(spend(limiter.as_ref(), &key, 120, 10).await.is_empty());
    assert_eq!(counter_updates(&relay.take_requests()), 0);
    let stored = env
        .raw_item(&format!("rate#{key}"), &window_sk(3600))
        .await
        .expect("counter item");
    assert_eq!(stored["count"]["N"], "120", "{stored}");
}

/// The counter item's sort key for a window of `secs` now (as `dynamo.rs` spells it).
fn window_sk(secs: u64) -> String {
    let now = now_secs();
    format!("window#{secs}#{}", now - now % secs)
}

/// Two instances (two limiter objects on one table) spending one budget at once, 150 hits
/// each, concurrently: never more than the limit in all, each token handed out once
/// (its `remaining` is unique across instances), and once both have spent what they
/// leased, exactly the limit was admitted and the stored count is the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_never_admit_more_than_the_limit_across_two_instances() {
    let Some(env) = fresh().await else { return };
    let limit = 100u32;
    let key = RateKey::credential("shared by two instances");
    let instances = [env.limiter(&env.url).await, env.limiter(&env.url).await];
    let mut remaining: Vec<u32> = burst(&instances, &key, limit, 300)
        .await
        .iter()
        .filter(|d| d.allowed)
        .map(|d| d.remaining)
        .collect();
    assert!(remaining.len() <= limit as usize, "{}", remaining.len());
    // What the burst left leased is spent by each instance's next hits.
    for limiter in &instances {
        remaining.extend(spend(limiter.as_ref(), &key, limit, 20).await);
    }
    remaining.sort_unstable();
    assert_eq!(remaining, (0..limit).collect::<Vec<u32>>());
    let stored = env
        .raw_item(&format!("rate#{key}"), &window_sk(3600))
        .await
        .expect("counter item");
    assert_eq!(stored["count"]["N"], limit.to_string(), "{stored}");
}

/// The price of leases: an instance that stops serving a key keeps what it leased, and the
/// others are refused that much earlier; never more than one lease (8 tokens, here 7
/// unused) per instance, and it serves them if its client comes back.
#[tokio::test]
async fn an_idle_instance_strands_at_most_its_lease() {
    let Some(env) = fresh().await else { return };
    let key = RateKey::credential("an idle instance");
    let (idle, busy) = (env.limiter(&env.url).await, env.limiter(&env.url).await);
    assert_eq!(spend(idle.as_ref(), &key, 120, 1).await, [119]);
    assert_eq!(spend(busy.as_ref(), &key, 120, 130).await.len(), 112);
    assert_eq!(
        spend(idle.as_ref(), &key, 120, 10).await,
        [118, 117, 116, 115, 114, 113, 112]
    );
}

/// Scopes counted one token at a time (here the server-wide registration count) are
/// never leased; a window another instance spent is refused after one request, and
/// without asking from then on.
#[tokio::test]
async fn exact_scopes_take_one_token_per_hit() {
    let Some(env) = fresh().await else { return };
    let relay = relay(env.url.clone()).await;
    let limiter = env.limiter(&relay.url).await;
    let key = RateKey::client_registrations();
    assert_eq!(spend(limiter.as_ref(), &key, 3, 2).await, [2, 1]);
    assert_eq!(counter_updates(&relay.take_requests()), 2);
    let other = env.limiter(&env.url).await;
    assert_eq!(spend(other.as_ref(), &key, 3, 1).await, [0]);
    assert!(spend(limiter.as_ref(), &key, 3, 5).await.is_empty());
    assert_eq!(counter_updates(&relay.take_requests()), 1);
}

/// A read call in API-key mode on AWS (the shim, hot log on): its DynamoDB requests are
/// the audit batch's `PutItem` and, for one call in eight, the credential's counter
/// `UpdateItem` (the others are served from this instance's lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_calls_mostly_skip_the_rate_limit_request() {
    let Some(env) = fresh().await else { return };
    let relay = relay(env.url.clone()).await;
    let (router, _sim) = hot_log_shim(&env, &relay).await;
    let read = || async {
        let result = crate::support::call_tool(
            &router,
            "list_labels",
            json!({ "owner": "acme", "repo": "app" }),
        )
        .await;
        assert_ne!(result["isError"], json!(true), "{result}");
    };
    // The credential's window is a minute: start early in one, so the calls share it.
    if now_secs() % 60 > 30 {
        tokio::time::sleep(Duration::from_secs(61 - now_secs() % 60)).await;
    }
    // The first call of the window takes the lease (8 of the default 120).
    read().await;
    relay.take_requests();
    for _ in 0..16 {
        read().await;
    }
    let requests = relay.take_requests();
    let count = |op: &str, kind: &str| {
        requests
            .iter()
            .filter(|(o, k)| o == op && k == kind)
            .count()
    };
    assert_eq!(count("PutItem", "audit"), 16, "{requests:?}");
    assert_eq!(count("UpdateItem", "rate"), 2, "{requests:?}");
    assert_eq!(requests.len(), 18, "nothing else: {requests:?}");
}

fn client(id: &str) -> RegisteredClient {
    RegisteredClient {
        client_id: id.into(),
        secret_hash: Some(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        ),
        client_name: Some("Claude".into()),
        redirect_uris: vec!["http://127.0.0.1:33418/callback".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: "client_secret_post".into(),
        scope: None,
        created_at: now_secs(),
    }
}

#[tokio::test]
async fn clients_are_registered_once_and_never_overwritten() {
    let Some(env) = fresh().await else { return };
    let clients = env.aws.storage(AuditHotLog::Off).clients;
    let first = client("c-1");
    clients.register(first.clone()).await.unwrap();
    assert_eq!(clients.get("c-1").await.unwrap(), Some(first));
    let mut other = client("c-1");
    other.client_name = Some("attacker".into());
    match clients.register(other).await {
        Err(StorageError::AlreadyExists(id)) => assert_eq!(id, "c-1"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let stored = clients.get("c-1").await.unwrap().unwrap();
    assert_eq!(stored.client_name.as_deref(), Some("Claude"));
    assert_eq!(clients.get("c-unknown").await.unwrap(), None);
    // Concurrent registrations of one id: exactly one wins.
    let results = concurrently(10, |i| {
        let clients = Arc::clone(&clients);
        async move {
            let mut c = client("c-race");
            c.client_name = Some(format!("racer {i}"));
            clients.register(c).await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(StorageError::AlreadyExists(_)))));
}

#[tokio::test]
async fn the_authz_cache_ignores_expired_entries_moto_still_holds() {
    let Some(env) = fresh().await else { return };
    let cache = env.aws.storage(AuditHotLog::Off).authz_cache;
    let live = CachedPermission {
        permission: "write".into(),
        expires_at: now_secs() + 600,
    };
    cache.put("alice:acme/app", live.clone()).await.unwrap();
    assert_eq!(cache.get("alice:acme/app").await.unwrap(), Some(live));
    let stale = CachedPermission {
        permission: "admin".into(),
        expires_at: now_secs() - 1,
    };
    cache.put("bob:acme/app", stale).await.unwrap();
    assert_eq!(cache.get("bob:acme/app").await.unwrap(), None);
    let item = env.raw_item("authz#bob:acme/app", "authz").await;
    assert!(
        item.is_some(),
        "moto keeps TTL'd items: the read-time check is what hides it"
    );
    assert_eq!(cache.get("carol:acme/app").await.unwrap(), None);
    // An overwrite replaces the entry.
    let fresh_entry = CachedPermission {
        permission: "read".into(),
        expires_at: now_secs() + 60,
    };
    cache
        .put("bob:acme/app", fresh_entry.clone())
        .await
        .unwrap();
    assert_eq!(cache.get("bob:acme/app").await.unwrap(), Some(fresh_entry));
}

fn code(expires_in: i64) -> AuthCode {
    AuthCode {
        grant_id: "g-1".into(),
        client_id: "c-1".into(),
        redirect_uri: "http://127.0.0.1:33418/callback".into(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        scope: "read".into(),
        resource: "http://localhost/mcp".into(),
        expires_at: (now_secs() as i64 + expires_in) as u64,
        redeemed: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_are_created_once_and_redeemed_once() {
    let Some(env) = fresh().await else { return };
    let grants = env.aws.storage(AuditHotLog::Off).grants;
    let c = code(60);
    grants.put_code("h1", c.clone()).await.unwrap();
    assert!(matches!(
        grants.put_code("h1", c.clone()).await,
        Err(StorageError::AlreadyExists(_))
    ));
    let redeemed = AuthCode {
        redeemed: true,
        ..c.clone()
    };
    assert_eq!(
        grants.redeem_code("h1").await.unwrap(),
        Redemption::Fresh(redeemed.clone())
    );
    assert_eq!(
        grants.redeem_code("h1").await.unwrap(),
        Redemption::Reused(redeemed)
    );
    assert_eq!(
        grants.redeem_code("h-none").await.unwrap(),
        Redemption::Missing
    );
    // Ten concurrent redemptions of one code: one is fresh, the rest are replays.
    grants.put_code("h2", code(60)).await.unwrap();
    let results = concurrently(10, |_| {
        let grants = Arc::clone(&grants);
        async move { grants.redeem_code("h2").await.unwrap() }
    })
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Redemption::Fresh(_)))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, Redemption::Reused(_)))
        .count();
    assert_eq!((fresh, reused), (1, 9), "{results:?}");
    // A code past expiry and its replay grace period is gone, although moto still holds it.
    grants.put_code("h3", code(-3601)).await.unwrap();
    assert_eq!(grants.redeem_code("h3").await.unwrap(), Redemption::Missing);
    assert!(env.raw_item("code#h3", "code").await.is_some());
}

fn grant(id: &str, expires_in: u64) -> Grant {
    Grant {
        id: id.into(),
        client_id: "c-1".into(),
        login: "alice".into(),
        user_id: 2,
        scope: "read".into(),
        resource: "http://localhost/mcp".into(),
        refresh_hash: "hash-0".into(),
        gitea_tokens: "sealed-0".into(),
        revoked: false,
        created_at: now_secs(),
        expires_at: now_secs() + expires_in,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_rotation_is_a_compare_and_set_under_concurrency() {
    let Some(env) = fresh().await else { return };
    let grants = env.aws.storage(AuditHotLog::Off).grants;
    let g = grant("g-1", 3600);
    grants.create_grant(g.clone()).await.unwrap();
    assert!(matches!(
        grants.create_grant(g.clone()).await,
        Err(StorageError::AlreadyExists(_))
    ));
    assert_eq!(grants.get_grant("g-1").await.unwrap(), Some(g.clone()));
    assert_eq!(grants.get_grant("g-none").await.unwrap(), None);
    assert!(!grants.rotate_refresh("g-1", "wrong", "x").await.unwrap());
    assert!(!grants
        .rotate_refresh("g-none", "hash-0", "x")
        .await
        .unwrap());
    // Twenty refreshes presenting the same token at once: exactly one rotates.
    let results = concurrently(20, |i| {
        let grants = Arc::clone(&grants);
        async move {
            let new = format!("hash-{}", i + 1);
            let won = grants.rotate_refresh("g-1", "hash-0", &new).await.unwrap();
            (won, new)
        }
    })
    .await;
    let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let stored = grants.get_grant("g-1").await.unwrap().unwrap();
    assert_eq!(stored.refresh_hash, winners[0].1);
    // Sealed tokens are stored as given; a revoked grant never rotates again.
    grants.set_gitea_tokens("g-1", "sealed-1").await.unwrap();
    grants.set_gitea_tokens("g-none", "sealed-x").await.unwrap();
    assert_eq!(grants.get_grant("g-none").await.unwrap(), None);
    grants.revoke_grant("g-1").await.unwrap();
    grants.revoke_grant("g-none").await.unwrap();
    let stored = grants.get_grant("g-1").await.unwrap().unwrap();
    assert!(stored.revoked);
    assert_eq!(stored.gitea_tokens, "sealed-1");
    assert_eq!(
        Grant {
            refresh_hash: g.refresh_hash.clone(),
            gitea_tokens: g.gitea_tokens.clone(),
            revoked: false,
            ..stored.clone()
        },
        g
    );
    assert!(!grants
        .rotate_refresh("g-1", &stored.refresh_hash, "after-revoke")
        .await
        .unwrap());
}

#[tokio::test]
async fn expired_grants_are_invisible_and_frozen() {
    let Some(env) = fresh().await else { return };
    let grants = env.aws.storage(AuditHotLog::Off).grants;
    // Expiry is in whole seconds: a grant made to last 1 s may have only a few
    // milliseconds left when it is created (a busy CI machine then read it as expired). 3 s
    // leaves at least 2 s for the first read.
    grants.create_grant(grant("g-short", 3)).await.unwrap();
    assert!(grants.get_grant("g-short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(grants.get_grant("g-short").await.unwrap(), None);
    assert!(!grants
        .rotate_refresh("g-short", "hash-0", "hash-1")
        .await
        .unwrap());
    assert!(env.raw_item("grant#g-short", "grant").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn use_once_markers_hold_under_concurrency_and_expire() {
    let Some(env) = fresh().await else { return };
    let grants = env.aws.storage(AuditHotLog::Off).grants;
    let until = now_secs() + 600;
    let results = concurrently(25, |_| {
        let grants = Arc::clone(&grants);
        async move { grants.use_once("jti:abc", until).await.unwrap() }
    })
    .await;
    assert_eq!(
        results.iter().filter(|used| **used).count(),
        1,
        "{results:?}"
    );
    // A marker whose time has passed frees the key, although moto still holds the item.
    assert!(grants.use_once("state:xyz", now_secs() - 1).await.unwrap());
    assert!(env.raw_item("once#state:xyz", "once").await.is_some());
    assert!(grants.use_once("state:xyz", until).await.unwrap());
    assert!(!grants.use_once("state:xyz", until).await.unwrap());
}

#[tokio::test]
async fn audit_objects_are_create_only_and_listed_in_order() {
    let Some(env) = fresh().await else { return };
    let sink = Arc::clone(&env.aws.audit);
    // Out of order, across two chains; numbers past 9 check the zero padding.
    for n in [3u64, 11, 0, 7, 1, 10, 2] {
        sink.put_segment("chain-b", n, format!("b{n}").as_bytes())
            .await
            .unwrap();
    }
    sink.put_segment("chain-a", 0, b"a0").await.unwrap();
    match sink.put_segment("chain-b", 7, b"forged").await {
        Err(StorageError::AlreadyExists(key)) => {
            assert!(key.ends_with("00000000000000000007.json"), "{key}")
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(sink.read_segment("chain-b", 7).await.unwrap(), b"b7");
    assert!(matches!(
        sink.read_segment("chain-b", 4).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(sink.put_segment("../x", 0, b"x").await.is_err());
    assert_eq!(sink.chains().await.unwrap(), ["chain-a", "chain-b"]);
    assert_eq!(
        sink.segment_numbers("chain-b", None).await.unwrap(),
        [0, 1, 2, 3, 7, 10, 11]
    );
    assert_eq!(
        sink.segment_numbers("chain-b", Some(3)).await.unwrap(),
        [7, 10, 11]
    );
    assert_eq!(
        sink.segment_numbers("chain-b", Some(11)).await.unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(
        sink.segment_numbers("chain-c", None).await.unwrap(),
        Vec::<u64>::new()
    );
    for n in [1u64, 0, 2] {
        sink.put_digest(n, format!("d{n}").as_bytes())
            .await
            .unwrap();
    }
    assert!(matches!(
        sink.put_digest(1, b"forged").await,
        Err(StorageError::AlreadyExists(_))
    ));
    assert_eq!(sink.digest_numbers(None).await.unwrap(), [0, 1, 2]);
    assert_eq!(sink.digest_numbers(Some(0)).await.unwrap(), [1, 2]);
    assert_eq!(sink.read_digest(2).await.unwrap(), b"d2");
    assert_eq!(
        sink.describe(),
        format!("s3://{}/trail/", env.settings.audit_bucket)
    );
    // Concurrent creates of one key: one wins, the others learn they lost.
    let results = concurrently(8, |i| {
        let sink = Arc::clone(&sink);
        async move {
            sink.put_segment("chain-race", 0, format!("w{i}").as_bytes())
                .await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

fn event(n: usize) -> AuditEvent {
    AuditEvent::tool_invocation("get_file_contents", InvocationStatus::Success)
        .with_principal("alice")
        .with_repository("acme/app")
        .with_request_id(format!("req-{n}"))
}

#[tokio::test]
async fn the_logger_writes_to_s3_and_the_verifier_reads_it_back() {
    let Some(env) = fresh().await else { return };
    let sink: Arc<dyn AuditSink> = env.aws.audit.clone();
    let logger = AuditLogger::open(
        AuditTarget::Segments(Arc::clone(&sink)),
        AuditLoggerOptions::default(),
    )
    .await
    .expect("open the logger on S3");
    for n in 0..5 {
        logger.record(event(n)).await.expect("durable on S3");
    }
    let signer = AuditSigner::from_seed([7u8; 32]);
    write_digest(&*sink, &signer, time::OffsetDateTime::now_utc())
        .await
        .expect("digest");
    let options = VerifyOptions {
        public_key: Some(parse_public_key(&signer.public_key_hex()).unwrap()),
        ..VerifyOptions::default()
    };
    // The verifier's own reader, from an s3:// location as an auditor would give it.
    let source = env.source("trail").await;
    let report = verify(&source, &options).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    // Someone with plain write access replaces a segment: the verifier notices.
    let chain = source.chains().await.unwrap().remove(0);
    let last = *source
        .segment_numbers(&chain, None)
        .await
        .unwrap()
        .last()
        .unwrap();
    let mut bytes = source.read_segment(&chain, last).await.unwrap();
    let text = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("req-4", "req-X");
    assert_ne!(
        text.as_bytes(),
        bytes.as_slice(),
        "the record is in the last segment"
    );
    bytes = text.into_bytes();
    env.overwrite_object(&format!("trail/segments/{chain}/{last:020}.json"), bytes)
        .await;
    let report = verify(&source, &options).await.unwrap();
    assert!(
        !report.ok(),
        "tampering went unnoticed: {}",
        report.render_text()
    );
}

#[tokio::test]
async fn the_shim_serves_with_storage_backend_aws() {
    let Some(env) = fresh().await else { return };
    let sim = gitea_sim::spawn_with_contract(crate::sim::demo_seed(), crate::sim::swagger_path())
        .await
        .unwrap();
    let endpoint = env.url.to_string();
    let vars = crate::support::vars(
        &sim.base_url,
        crate::sim::ALICE,
        &[
            ("STORAGE_BACKEND", "aws"),
            ("AEGIS_TABLE_NAME", &env.settings.table_name),
            ("AUDIT_S3_BUCKET", &env.settings.audit_bucket),
            ("AUDIT_S3_PREFIX", "shim"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &endpoint),
        ],
    );
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        panic!("the shim uses the SDK's default credential chain: export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing (make test-aws does)");
    }
    let router = crate::support::router(&vars).await;
    let result = crate::support::call_tool(
        &router,
        "get_file_contents",
        json!({ "owner": "acme", "repo": "app", "filepath": "README.md" }),
    )
    .await;
    assert_ne!(result["isError"], json!(true), "{result}");
    // The call's records are durable in the table (AUDIT_HOT_LOG's default with
    // STORAGE_BACKEND=aws); the sealer writes them to S3.
    assert!(env.source("shim").await.chains().await.unwrap().is_empty());
    let (hot, sealed) = aegis_storage::aws::sealer_stores(
        &env.settings.table_name,
        &format!("s3://{}/shim", env.settings.audit_bucket),
        "us-east-1",
        Some(&env.url),
        Credentials::Emulator,
    )
    .await
    .unwrap();
    let sealing = seal(
        &hot,
        &sealed,
        &SealOptions::at(time::OffsetDateTime::now_utc()),
    )
    .await
    .unwrap();
    assert!(
        sealing.segments > 0 && sealing.stopped.is_empty(),
        "{sealing:?}"
    );
    let source = env.source("shim").await;
    let report = verify(&source, &VerifyOptions::default()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    let mut records = Vec::new();
    for chain in source.chains().await.unwrap() {
        for n in source.segment_numbers(&chain, None).await.unwrap() {
            let seg: Value =
                serde_json::from_slice(&source.read_segment(&chain, n).await.unwrap()).unwrap();
            records.extend(seg["records"].as_array().unwrap().iter().cloned());
        }
    }
    assert!(
        records.iter().any(|r| r["tool"] == "get_file_contents"),
        "{records:?}"
    );
}

/// This process's CPU time (user + system) so far, from `/proc/self/stat` (Linux; 10 ms
/// ticks): the client side of a run, without the emulator's own work.
fn own_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(std::time::Duration::from_millis(ticks * 10))
}

/// The digest of a few hundred segments on S3 (moto): every segment listed once, and the
/// figures docs/deployment.md ("Digest throughput") uses: the wall time (moto serves one
/// request at a time, so this is the emulator's serial cost, not S3's latency) and this
/// process's own CPU per segment (what a function pays whatever the store's latency).
#[tokio::test]
async fn the_digest_of_hundreds_of_s3_segments() {
    let Some(env) = fresh().await else { return };
    let sink: Arc<dyn AuditSink> = env.aws.audit.clone();
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let sink = Arc::clone(&sink);
        writers.spawn(async move {
            let logger =
                AuditLogger::open(AuditTarget::Segments(sink), AuditLoggerOptions::default())
                    .await
                    .expect("open the logger on S3");
            // 1 + 100 segments per chain (each awaited record is one batch, one segment)
            for n in 0..100 {
                logger.record(event(n)).await.expect("durable on S3");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    let segments = 404;
    let chain = sink.chains().await.unwrap().remove(0);
    let started = std::time::Instant::now();
    for n in 0..20 {
        sink.read_segment(&chain, n).await.unwrap();
    }
    let one_read = started.elapsed() / 20;
    let signer = AuditSigner::from_seed([7u8; 32]);
    let (cpu_before, started) = (own_cpu(), std::time::Instant::now());
    let digest = write_digest(&*sink, &signer, time::OffsetDateTime::now_utc())
        .await
        .expect("digest");
    let (elapsed, cpu) = (
        started.elapsed(),
        own_cpu().zip(cpu_before).map(|(a, b)| a - b),
    );
    assert_eq!(digest.segments.len(), segments);
    let keys: Vec<_> = digest
        .segments
        .iter()
        .map(|e| (&e.chain_id, e.sequence))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "key order, each once");
    eprintln!(
        "digest of {segments} segments on moto: {elapsed:?} wall ({:?} per segment; one GET alone {one_read:?}); own CPU {cpu:?} ({:?} per segment)",
        elapsed / segments as u32,
        cpu.map(|c| c / segments as u32),
    );
}

// ---- The durable hot log (AUDIT_HOT_LOG=dynamodb) and its sealer (issue 16) ----

use aegis_core::audit::format::Segment;
use aegis_core::audit::record::build_record;
use aegis_core::audit::{canonical, seal, verify_with_tail, FindingKind, SealOptions, SealReport};
use aegis_storage::audit_log::RecordRef;
use aegis_storage::HotAuditLog;

/// Every record of the sealed trail at `trail/`, by chain, in order, and the segment count.
async fn sealed_records(env: &Aws) -> (Vec<Value>, usize) {
    let source = env.source("trail").await;
    let (mut records, mut segments) = (Vec::new(), 0);
    for chain in source.chains().await.unwrap() {
        for n in source.segment_numbers(&chain, None).await.unwrap() {
            segments += 1;
            let seg: Value =
                serde_json::from_slice(&source.read_segment(&chain, n).await.unwrap()).unwrap();
            records.extend(seg["records"].as_array().unwrap().iter().cloned());
        }
    }
    (records, segments)
}

async fn hot_logger(env: &Aws) -> AuditLogger {
    let sink: Arc<dyn AuditSink> = env.aws.hot_log.clone();
    AuditLogger::open(AuditTarget::Segments(sink), AuditLoggerOptions::default())
        .await
        .expect("open the logger on the hot log")
}

async fn run_sealer(env: &Aws, max_records: usize) -> SealReport {
    let options = SealOptions {
        max_records,
        ..SealOptions::at(time::OffsetDateTime::now_utc())
    };
    seal(&*env.aws.hot_log, &*env.aws.audit, &options)
        .await
        .expect("sealer run")
}

/// A fresh digest of the sealed trail, and the options that pin its key (with a maximum
/// digest age: the auditor's strictest check).
async fn digest_now(env: &Aws) -> VerifyOptions {
    let signer = AuditSigner::from_seed([9u8; 32]);
    write_digest(&*env.aws.audit, &signer, time::OffsetDateTime::now_utc())
        .await
        .expect("digest");
    VerifyOptions {
        public_key: Some(parse_public_key(&signer.public_key_hex()).unwrap()),
        max_digest_age: Some(time::Duration::hours(1)),
        ..VerifyOptions::default()
    }
}

/// Pinned-key verification of the sealed trail after a fresh digest.
async fn verify_sealed(env: &Aws) -> aegis_core::audit::Report {
    let options = digest_now(env).await;
    verify(&env.source("trail").await, &options).await.unwrap()
}

/// The same, with the hot log's unsealed tail (`aegis audit verify --s3 ... --table ...`).
async fn verify_sealed_and_tail(env: &Aws) -> aegis_core::audit::Report {
    let options = digest_now(env).await;
    verify_with_tail(&env.source("trail").await, &*env.aws.hot_log, &options)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_hot_log_commits_each_batch_with_one_create_only_put() {
    let Some(env) = fresh().await else { return };
    let logger = hot_logger(&env).await;
    let mut refs = Vec::new();
    for n in 0..3 {
        refs.push(logger.record(event(n)).await.expect("durable in the table"));
    }
    let chain = refs[0].chain_id.clone();
    // Batch 0 is the chain start; each record() after it is a batch of its own.
    let item = env
        .raw_item(&format!("audit#{chain}"), &format!("{:020}", 3))
        .await
        .expect("batch 3 is an item");
    let ttl: u64 = item["ttl"]["N"].as_str().unwrap().parse().unwrap();
    assert!(
        ttl > now_secs() + 24 * 3600,
        "expires long after the sealing lag: {ttl}"
    );
    assert!(
        env.raw_item("auditchains", &chain).await.is_some(),
        "the chain is listed"
    );
    // Nothing went to S3 on the request path.
    assert!(env.source("trail").await.chains().await.unwrap().is_empty());
    // Create-only: a second batch 1 of the chain is refused, and the first stays.
    let hot = env.aws.hot_log.clone();
    let before = hot.read_segment(&chain, 1).await.unwrap();
    let again = hot.put_segment(&chain, 1, b"{\"forged\":true}").await;
    assert!(
        matches!(again, Err(StorageError::AlreadyExists(_))),
        "{again:?}"
    );
    assert_eq!(hot.read_segment(&chain, 1).await.unwrap(), before);
    // The hot log reads as segments: the verifier accepts the unsealed tail as it is.
    let report = verify(&*hot, &VerifyOptions::default()).await.unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(report.events, 3, "{}", report.render_text());
}

#[tokio::test]
async fn the_sealer_turns_hot_batches_into_few_segments_that_verify() {
    let Some(env) = fresh().await else { return };
    let logger = hot_logger(&env).await;
    let mut refs: Vec<RecordRef> = Vec::new();
    for n in 0..250 {
        refs.push(logger.record(event(n)).await.unwrap());
    }
    let report = run_sealer(&env, 100).await;
    assert!(report.stopped.is_empty(), "{report:?}");
    assert_eq!(report.batches, 251, "{report:?}");
    let (records, segments) = sealed_records(&env).await;
    assert_eq!(records.len(), 251);
    // 251 batches (calls) in 3 objects, not 251.
    assert_eq!(segments, 3, "{report:?}");
    let report = verify_sealed(&env).await;
    assert!(report.ok(), "{}", report.render_text());
    // Every acknowledged record is sealed, byte for byte the writer's.
    let hashes: HashSet<&str> = records
        .iter()
        .map(|r| r["entry_hash"].as_str().unwrap())
        .collect();
    assert!(refs.iter().all(|r| hashes.contains(r.entry_hash.as_str())));
    // A second run finds nothing new and writes nothing; new records seal after the old.
    assert_eq!(run_sealer(&env, 100).await.segments, 0);
    logger.record(event(999)).await.unwrap();
    let again = run_sealer(&env, 100).await;
    assert_eq!((again.segments, again.records), (1, 1), "{again:?}");
    let report = verify_sealed(&env).await;
    assert!(report.ok(), "{}", report.render_text());
}

#[tokio::test]
async fn records_acknowledged_by_instances_that_died_are_sealed() {
    let Some(env) = fresh().await else { return };
    let mut acknowledged = Vec::new();
    for instance in 0..3 {
        let logger = hot_logger(&env).await;
        for n in 0..5 {
            acknowledged.push(logger.record(event(instance * 10 + n)).await.unwrap());
        }
        // The instance is gone: nothing of it runs again, nothing flushes on the way out.
        drop(logger);
    }
    // A sealer that died after writing a segment but before moving its cursor: the next
    // run finds its segment in place and carries on.
    let chain = acknowledged[0].chain_id.clone();
    let hot = env.aws.hot_log.clone();
    let batches = hot.batches(&chain, 0, 100).await.unwrap();
    let first: Segment = serde_json::from_slice(&batches[0].1).unwrap();
    let early = Segment {
        sequence: 0,
        prev_segment_hash: None,
        ..first
    };
    env.aws
        .audit
        .put_segment(&chain, 0, &early.encode().unwrap())
        .await
        .unwrap();
    let report = run_sealer(&env, 4096).await;
    assert!(report.stopped.is_empty(), "{report:?}");
    assert_eq!(report.chains, 3);
    let (records, _) = sealed_records(&env).await;
    let sealed: HashSet<(String, u64)> = records
        .iter()
        .map(|r| {
            (
                r["chain_id"].as_str().unwrap().to_string(),
                r["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    for r in &acknowledged {
        assert!(
            sealed.contains(&(r.chain_id.clone(), r.seq)),
            "{r:?} was not sealed"
        );
    }
    let report = verify_sealed(&env).await;
    assert!(report.ok(), "{}", report.render_text());
}

/// A batch after the chain's last one, built by hand: `bad` spoils it one way.
#[derive(Clone, Copy, Debug)]
enum Spoiled {
    /// A batch number skipped
    Gap,
    /// A batch that does not link to the one before it
    Fork,
    /// A record that does not match its `entry_hash`
    BadHash,
    /// A record `seq` skipped (the batch numbers and links are right)
    SkipSeq,
}

async fn append_bad_batch(env: &Aws, chain: &str, bad: Spoiled) {
    let hot = env.aws.hot_log.clone();
    let batches = hot.batches(chain, 0, 1000).await.unwrap();
    let (last_n, last_bytes) = batches.last().unwrap().clone();
    let last: Segment = serde_json::from_slice(&last_bytes).unwrap();
    let last_rec = last.records.last().unwrap();
    let seq = last_rec["seq"].as_u64().unwrap() + 1;
    let prev = last_rec["entry_hash"].as_str().unwrap();
    let seq = if matches!(bad, Spoiled::SkipSeq) {
        seq + 1
    } else {
        seq
    };
    let mut rec = build_record(&event(77), chain, seq, &last.written_at, prev).unwrap();
    let mut segment = Segment {
        sequence: last_n + 1,
        prev_segment_hash: Some(canonical::sha256_hex(&last_bytes)),
        records: vec![],
        ..last
    };
    match bad {
        Spoiled::Gap => segment.sequence = last_n + 2,
        Spoiled::Fork => segment.prev_segment_hash = Some("0".repeat(64)),
        Spoiled::BadHash => {
            rec.insert("tool".into(), json!("delete_repository"));
        }
        Spoiled::SkipSeq => {}
    }
    segment.records.push(rec);
    hot.put_segment(chain, segment.sequence, &segment.encode().unwrap())
        .await
        .expect("a serving function may create the item");
}

#[tokio::test]
async fn a_gap_a_fork_or_a_bad_hash_stops_sealing_that_chain() {
    let Some(env) = fresh().await else { return };
    for (bad, why) in [
        (Spoiled::Gap, "gap"),
        (Spoiled::Fork, "fork attempt"),
        (Spoiled::BadHash, "bad hash"),
    ] {
        let logger = hot_logger(&env).await;
        let good = logger.record(event(1)).await.unwrap();
        append_bad_batch(&env, &good.chain_id, bad).await;
        // A healthy chain next to it seals as usual.
        let healthy = hot_logger(&env).await.record(event(2)).await.unwrap();
        let report = run_sealer(&env, 4096).await;
        let stops: Vec<_> = report.stopped.iter().filter(|s| s.new).collect();
        assert_eq!(stops.len(), 1, "{bad:?}: {report:?}");
        assert_eq!(stops[0].chain_id, good.chain_id);
        assert!(
            stops[0].reason.starts_with(why),
            "{bad:?}: {}",
            stops[0].reason
        );
        let (records, _) = sealed_records(&env).await;
        let sealed = |r: &RecordRef| {
            records
                .iter()
                .any(|x| x["entry_hash"].as_str() == Some(r.entry_hash.as_str()))
        };
        // What came before the bad batch is sealed; nothing after it; the rest goes on.
        assert!(sealed(&good) && sealed(&healthy), "{bad:?}");
        assert!(
            !records.iter().any(|x| x["request_id"] == "req-77"),
            "{bad:?}"
        );
        // Stopped stays stopped, reported again without being recorded again.
        let again = run_sealer(&env, 4096).await;
        assert!(
            again
                .stopped
                .iter()
                .any(|s| s.chain_id == good.chain_id && !s.new),
            "{again:?}"
        );
        assert_eq!(again.segments, 0, "{bad:?}: nothing more is sealed");
        let report = verify_sealed(&env).await;
        assert!(report.ok(), "{bad:?}: {}", report.render_text());
    }
}

/// A relay in front of moto that logs every request (method and path), names every
/// DynamoDB request (operation and the kind of item: the partition key's prefix, `rate`,
/// `audit`, ...) and, once `throttle` is set, answers every hot-log `PutItem` as a throttled
/// DynamoDB table does (400 `ThrottlingException`, which the SDK retries with backoff and
/// then gives up on); everything else passes through.
struct Relay {
    url: url::Url,
    throttle: Arc<std::sync::atomic::AtomicBool>,
    throttled: Arc<std::sync::atomic::AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<(String, String)>>>,
    log: Arc<std::sync::Mutex<Vec<(http::Method, String)>>>,
}

impl Relay {
    /// The `GET`s of S3 objects whose key has `part` in it (e.g. `/segments/`), so far
    fn gets_of(&self, part: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(method, path)| {
                method == http::Method::GET && path.contains(part) && !path.contains("list-type")
            })
            .count()
    }
    /// The DynamoDB requests passed so far (`(operation, kind)`), and forgets them.
    fn take_requests(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

/// `(operation, item kind)` of a DynamoDB request: `("UpdateItem", "rate")`.
fn dynamodb_request(target: &str, body: &[u8]) -> (String, String) {
    let op = target.rsplit('.').next().unwrap_or(target).to_string();
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let pk = body
        .pointer("/Key/pk/S")
        .or_else(|| body.pointer("/Item/pk/S"))
        .and_then(Value::as_str)
        .unwrap_or("");
    (op, pk.split('#').next().unwrap_or("").to_string())
}

async fn relay(moto: url::Url) -> Relay {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let throttle = Arc::new(AtomicBool::new(false));
    let throttled = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (flag, count, seen, logged) = (
        throttle.clone(),
        throttled.clone(),
        requests.clone(),
        log.clone(),
    );
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (flag, count, seen, log, client, moto) = (
            flag.clone(),
            count.clone(),
            seen.clone(),
            logged.clone(),
            client.clone(),
            moto.clone(),
        );
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            log.lock().unwrap().push((parts.method.clone(), path.to_string()));
            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
            if let Some(target) = target.filter(|t| t.starts_with("DynamoDB_")) {
                seen.lock().unwrap().push(dynamodb_request(target, &body));
            }
            let hot_put = target == Some("DynamoDB_20120810.PutItem")
                && String::from_utf8_lossy(&body).contains("\"audit#");
            if flag.load(Ordering::SeqCst) && hot_put {
                count.fetch_add(1, Ordering::SeqCst);
                return http::Response::builder()
                    .status(400)
                    .header("content-type", "application/x-amz-json-1.0")
                    .body(axum::body::Body::from(
                        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
                    ))
                    .unwrap();
            }
            let mut forward = client.request(parts.method.clone(), moto.join(path).unwrap());
            for (name, value) in &parts.headers {
                if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                    forward = forward.header(name, value);
                }
            }
            let resp = forward.body(body).send().await.expect("moto");
            let mut out = http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
                    out = out.header(name, value);
                }
            }
            out.body(axum::body::Body::from(resp.bytes().await.unwrap_or_default()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Relay {
        url: url::Url::parse(&format!("http://{addr}/")).unwrap(),
        throttle,
        throttled,
        requests,
        log,
    }
}

/// The shim in API-key mode on AWS with the hot log on, reaching the table through
/// `relay`, over a simulator of its own (kept running while the handle lives).
async fn hot_log_shim(env: &Aws, relay: &Relay) -> (axum::Router, gitea_sim::RunningSim) {
    let sim = gitea_sim::spawn_with_contract(crate::sim::demo_seed(), crate::sim::swagger_path())
        .await
        .unwrap();
    let endpoint = relay.url.to_string();
    let vars = crate::support::vars(
        &sim.base_url,
        crate::sim::ALICE,
        &[
            ("STORAGE_BACKEND", "aws"),
            ("AUDIT_HOT_LOG", "dynamodb"),
            ("AEGIS_TABLE_NAME", &env.settings.table_name),
            ("AUDIT_S3_BUCKET", &env.settings.audit_bucket),
            ("AUDIT_S3_PREFIX", "shim"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &endpoint),
        ],
    );
    let router = crate::support::router(&vars).await;
    (router, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_hot_log_fails_calls_closed_with_503_and_retry_after() {
    use std::sync::atomic::Ordering;
    let Some(env) = fresh().await else { return };
    let relay = relay(env.url.clone()).await;
    let (router, _sim) = hot_log_shim(&env, &relay).await;
    let read = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "get_file_contents",
                   "arguments": {"owner": "acme", "repo": "app", "filepath": "README.md"}}});
    let ok = crate::support::rpc(&router, read.clone()).await;
    assert_eq!(
        ok.status,
        http::StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&ok.body)
    );
    relay.throttle.store(true, Ordering::SeqCst);
    let reply = crate::support::rpc(&router, read).await;
    assert_eq!(
        reply.status,
        http::StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.header("retry-after").is_some(), "{:?}", reply.headers);
    assert!(reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("audit"));
    assert!(
        relay.throttled.load(Ordering::SeqCst) >= 1,
        "the hot log was throttled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_job_seals_and_records_a_stopped_chain_as_a_security_event() {
    use aegis_automation::{JobRequest, Trigger};
    let Some(env) = fresh().await else { return };
    let sim = gitea_sim::spawn_with_contract(crate::sim::demo_seed(), crate::sim::swagger_path())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap().keep();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "defaults: { read: allow, write: deny }\ntools:\n  allow: [automation_audit_digest]\n",
    )
    .unwrap();
    let endpoint = env.url.to_string();
    let seed = "09".repeat(32); // `verify_sealed` pins its public key
    let vars = crate::support::vars(
        &sim.base_url,
        crate::sim::ALICE,
        &[
            ("STORAGE_BACKEND", "aws"),
            ("AEGIS_TABLE_NAME", &env.settings.table_name),
            ("AUDIT_S3_BUCKET", &env.settings.audit_bucket),
            ("AUDIT_S3_PREFIX", "trail"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AUTOMATION_ENABLED", "true"),
            ("WEBHOOK_SECRET", "gitea-webhook-secret-0123456789"),
            ("POLICY_FILE_PATH", policy.to_str().unwrap()),
            ("AUDIT_SIGNING_KEY", &seed),
        ],
    );
    let config = aegis_core::Config::from_vars(&vars).expect("config");
    let state = aegis_local::AppState::from_config(config)
        .await
        .expect("state");
    // Another instance's chain, spoiled after its first call.
    let good = hot_logger(&env).await.record(event(1)).await.unwrap();
    append_bad_batch(&env, &good.chain_id, Spoiled::BadHash).await;
    let run = || {
        aegis_automation::run(
            &state.automation,
            &Trigger::Schedule,
            JobRequest::new(aegis_automation::Job::AuditDigest),
        )
    };
    let summary = run().await.expect("the job runs");
    let sealed = &summary.result["sealed"];
    assert_eq!(
        sealed["stopped"][0]["chain_id"],
        json!(good.chain_id),
        "{summary:#?}"
    );
    assert_eq!(sealed["stopped"][0]["new"], json!(true));
    assert!(
        summary.result["segments"].as_u64().unwrap() >= 1,
        "{summary:#?}"
    );
    // The stop is a security_event of the jobs function's own chain, sealed next run.
    // Counted for the alarm once, when the chain first stops (not again on the second run).
    let counted = |state: &aegis_local::AppState| {
        state
            .edge
            .metrics
            .render()
            .lines()
            .any(|l| l == "aegis_audit_seal_stopped_total 1")
    };
    assert!(counted(&state), "{}", state.edge.metrics.render());
    run().await.expect("second run");
    assert!(counted(&state), "{}", state.edge.metrics.render());
    let (records, _) = sealed_records(&env).await;
    let events: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "security_event" && r["outcome"] == "audit_seal_stopped")
        .collect();
    assert_eq!(events.len(), 1, "recorded once: {events:#?}");
    assert_eq!(events[0]["context"]["chain_id"], json!(good.chain_id));
    assert!(events[0]["context"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("bad hash"));
    let report = verify_sealed(&env).await;
    assert!(report.ok(), "{}", report.render_text());
}

/// The seal schedule runs with automation off, no policy and no signing key: the trail's
/// own upkeep is not an automation job, and records must not wait in the hot log until
/// their TTL ends them.
/// The jobs function's state on `env`'s table and bucket, with automation off, no policy
/// and no signing key (the template's defaults), plus `extra` variables.
async fn jobs_state(env: &Aws, extra: &[(&str, &str)]) -> aegis_local::AppState {
    let endpoint = env.url.to_string();
    let mut settings = vec![
        ("STORAGE_BACKEND", "aws"),
        ("AEGIS_TABLE_NAME", env.settings.table_name.as_str()),
        ("AUDIT_S3_BUCKET", env.settings.audit_bucket.as_str()),
        ("AUDIT_S3_PREFIX", "trail"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("STARTUP_VALIDATE_GITEA", "false"),
    ];
    settings.extend_from_slice(extra);
    let vars = crate::support::vars("http://127.0.0.1:9", "unused-token", &settings);
    let config = aegis_core::Config::from_vars(&vars).expect("config");
    assert!(!config.automation.enabled);
    aegis_local::AppState::from_config(config)
        .await
        .expect("state")
}

/// The seal schedule's event, as the template's `AuditSeal` rule sends it.
async fn seal_schedule(state: &aegis_local::AppState) -> Value {
    let schedule = json!({
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": { "seal": true },
    });
    aegis_fn_jobs::handle_event(state.automation.clone(), schedule)
        .await
        .expect("the seal schedule runs")
}

#[tokio::test]
async fn the_seal_schedule_seals_with_automation_off() {
    let Some(env) = fresh().await else { return };
    let state = jobs_state(&env, &[]).await;
    let acked = hot_logger(&env).await.record(event(1)).await.unwrap();
    let out = seal_schedule(&state).await;
    assert!(
        out["sealed"]["records"].as_u64().unwrap_or(0) >= 1,
        "{out:#}"
    );
    let (records, _) = sealed_records(&env).await;
    assert!(
        records
            .iter()
            .any(|r| r["chain_id"] == json!(acked.chain_id)),
        "the acknowledged record is sealed"
    );
}

// ---- The unsealed tail: `aegis audit verify --s3 ... --table ...` (issue 16) ----

/// A new chain (one Lambda instance) of `sealed` calls, sealed, then `unsealed` more calls
/// left in the hot log.
async fn chain_with_tail(env: &Aws, sealed: usize, unsealed: usize) -> (AuditLogger, String) {
    let logger = hot_logger(env).await;
    let mut chain = String::new();
    for n in 0..sealed {
        chain = logger.record(event(n)).await.unwrap().chain_id;
    }
    let report = run_sealer(env, 4096).await;
    assert!(report.stopped.is_empty(), "{report:?}");
    for n in 0..unsealed {
        logger.record(event(100 + n)).await.unwrap();
    }
    (logger, chain)
}

#[tokio::test]
async fn the_verifier_reads_the_unsealed_tail_and_says_what_it_covered() {
    let Some(env) = fresh().await else { return };
    let (logger, chain) = chain_with_tail(&env, 5, 3).await;
    let report = verify_sealed_and_tail(&env).await;
    assert!(report.ok(), "{}", report.render_text());
    let tail = report.hot_log.clone().expect("the tail was read");
    // The chain start and 5 calls sealed (batches 0..=5); 3 calls (batches 6..=8) not yet.
    assert_eq!(report.records, 6, "{}", report.render_text());
    assert_eq!(
        (
            tail.chains,
            tail.chains_unsealed,
            tail.batches_unsealed,
            tail.records_unsealed,
            tail.events_unsealed
        ),
        (1, 1, 3, 3, 3),
        "{tail:?}"
    );
    let newest: Segment =
        serde_json::from_slice(&env.aws.hot_log.read_segment(&chain, 8).await.unwrap()).unwrap();
    assert_eq!(
        tail.newest_unsealed_record_ts.as_deref(),
        newest.records[0]["ts"].as_str()
    );
    let text = report.render_text();
    assert!(
        text.contains("6 records sealed (in segments), 3 not yet"),
        "{text}"
    );
    // Without the tail nothing changed: the same report, no `hot_log` in it.
    let sealed_only = verify_sealed(&env).await;
    assert!(sealed_only.ok() && sealed_only.hot_log.is_none());
    assert_eq!(sealed_only.records, 6);
    let json = serde_json::to_value(&sealed_only).unwrap();
    assert!(json.get("hot_log").is_none(), "{json}");

    // Sealed: nothing is left unsealed.
    run_sealer(&env, 4096).await;
    let report = verify_sealed_and_tail(&env).await;
    assert!(report.ok(), "{}", report.render_text());
    let tail = report.hot_log.clone().unwrap();
    assert_eq!((report.records, tail.records_unsealed), (9, 0), "{tail:?}");
    assert_eq!(tail.newest_unsealed_record_ts, None);

    // A sealer that died after writing its segment and before moving its cursor: the
    // records are in the segment and still past the cursor, counted once, as sealed.
    for n in 0..2 {
        logger.record(event(200 + n)).await.unwrap();
    }
    let hot = env.aws.hot_log.clone();
    let cursor = hot.seal_cursor(&chain).await.unwrap().unwrap();
    let batches = hot.batches(&chain, cursor.next_batch, 10).await.unwrap();
    let segments: Vec<Segment> = batches
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    let died = Segment {
        format: aegis_core::audit::format::SEGMENT_FORMAT.into(),
        chain_id: chain.clone(),
        sequence: cursor.next_segment,
        prev_segment_hash: cursor.prev_segment_hash.clone(),
        written_at: segments.last().unwrap().written_at.clone(),
        records: segments.iter().flat_map(|s| s.records.clone()).collect(),
    };
    env.aws
        .audit
        .put_segment(&chain, died.sequence, &died.encode().unwrap())
        .await
        .unwrap();
    let report = verify_sealed_and_tail(&env).await;
    assert!(report.ok(), "{}", report.render_text());
    let tail = report.hot_log.clone().unwrap();
    assert_eq!(
        (report.records, tail.records_unsealed, tail.records_in_both),
        (11, 0, 2),
        "{tail:?}"
    );
}

#[tokio::test]
async fn a_gap_a_fork_or_a_bad_hash_in_the_tail_is_found_where_it_is() {
    // (what, unsealed calls before the spoiled batch, how it is spoiled, class, the place)
    // Every chain: its start and 5 calls sealed (batches 0..=5, seq 0..=5), then the tail.
    let cases = [
        (
            "a batch missing between the sealed part and the tail",
            0,
            Spoiled::Gap,
            FindingKind::Deleted,
            "hot batch deleted: chain `{c}` batch 6 is missing while batch 7 exists",
        ),
        (
            "a batch missing inside the tail",
            2,
            Spoiled::Gap,
            FindingKind::Deleted,
            "hot batch deleted: chain `{c}` batch 8 is missing while batch 9 exists",
        ),
        (
            "a fork at the join",
            0,
            Spoiled::Fork,
            FindingKind::Modified,
            "hot batch forked: chain `{c}` batch 6: it does not link to the last sealed batch",
        ),
        (
            "a fork inside the tail",
            2,
            Spoiled::Fork,
            FindingKind::Modified,
            "hot batch forked: chain `{c}` batch 8: it does not link to batch 7",
        ),
        (
            "a bad hash inside the tail",
            2,
            Spoiled::BadHash,
            FindingKind::Modified,
            "record modified: chain `{c}` hot batch 8 record #0 (seq 8): `entry_hash` does not match",
        ),
        (
            "records skipped at the join",
            0,
            Spoiled::SkipSeq,
            FindingKind::Deleted,
            "records deleted: chain `{c}` seq 6..=6 are missing after chain `{c}` segment 0 record #5 (seq 5)",
        ),
        (
            "records skipped inside the tail",
            2,
            Spoiled::SkipSeq,
            FindingKind::Deleted,
            "records deleted: chain `{c}` seq 8..=8 are missing after chain `{c}` hot batch 7 record #0 (seq 7)",
        ),
    ];
    for (what, unsealed, spoiled, kind, place) in cases {
        let Some(env) = fresh().await else { return };
        let (_logger, chain) = chain_with_tail(&env, 5, unsealed).await;
        append_bad_batch(&env, &chain, spoiled).await;
        let place = place.replace("{c}", &chain);
        let report = verify_sealed_and_tail(&env).await;
        let findings: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
        assert_eq!(findings.len(), 1, "{what}: {}", report.render_text());
        assert!(findings[0].starts_with(&place), "{what}: {findings:?}");
        assert_eq!(report.findings[0].kind(), kind, "{what}");
        assert_eq!(report.exit_code(), kind.exit_code(), "{what}");
        // The sealed segments alone are intact: only the tail is spoiled.
        let sealed_only = verify_sealed(&env).await;
        assert!(sealed_only.ok(), "{what}: {}", sealed_only.render_text());
        // Once the sealer stopped on it, the finding stays, and the report says why it stopped.
        let stopped = run_sealer(&env, 4096).await;
        assert_eq!(stopped.stopped.len(), 1, "{what}: {stopped:?}");
        let report = verify_sealed_and_tail(&env).await;
        let kinds: Vec<FindingKind> = report.findings.iter().map(|f| f.kind()).collect();
        assert_eq!(kinds, [kind], "{what}: {}", report.render_text());
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains(&format!("chain `{chain}`: the sealer stopped"))),
            "{what}: {:?}",
            report.notes
        );
    }
}

#[tokio::test]
async fn sealed_records_deleted_before_a_digest_listed_them_are_found_through_the_cursor() {
    // The segments of the newest seal run deleted before any digest lists them: the sealed
    // trail alone cannot tell (no digest), the sealer's cursor can.
    let Some(env) = fresh().await else { return };
    let (logger, chain) = chain_with_tail(&env, 3, 0).await;
    write_digest(
        &*env.aws.audit,
        &AuditSigner::from_seed([9u8; 32]),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    for n in 0..3 {
        logger.record(event(10 + n)).await.unwrap();
    }
    run_sealer(&env, 4096).await;
    env.delete_object(&format!("trail/segments/{chain}/{:020}.json", 1))
        .await;
    let report = verify_sealed_and_tail(&env).await;
    assert_eq!(
        report
            .findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>(),
        [format!(
            "records deleted: chain `{chain}` seq 4..=6 are missing after chain `{chain}` segment 0 record #3 (seq 3)"
        )],
        "{}",
        report.render_text()
    );
}

/// Issue 16's target for auditors: the trail of 10,000 read calls, written through the real
/// hot-log sink (each call's `pending` and outcome in one batch, one call at a time per
/// instance, as on Lambda; 4 instances, so 4 chains), sealed, then verified from S3 with
/// its unsealed tail by reading at most 50 segment objects, counted at the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_10_000_calls_from_at_most_50_segment_objects() {
    const CALLS: usize = 10_000;
    const INSTANCES: usize = 4;
    let Some(env) = fresh().await else { return };
    let mut instances = Vec::new();
    for i in 0..INSTANCES {
        let logger = hot_logger(&env).await;
        instances.push(tokio::spawn(async move {
            for n in 0..CALLS / INSTANCES {
                let pending = AuditEvent::tool_invocation("list_labels", InvocationStatus::Pending)
                    .with_principal("api-key:1a2b3c4d")
                    .with_repository("acme/app")
                    .with_request_id(format!("req-{i}-{n}"));
                let outcome = aegis_core::audit::outcome_of(&pending, true, "ok");
                for ticket in logger.submit_together(vec![pending, outcome]) {
                    ticket.durable().await.expect("durable in the table");
                }
            }
        }));
    }
    for instance in instances {
        instance.await.unwrap();
    }
    let sealed = run_sealer(&env, aegis_core::audit::SEAL_MAX_RECORDS).await;
    assert!(sealed.stopped.is_empty(), "{sealed:?}");
    assert_eq!(sealed.batches, (CALLS + INSTANCES) as u64, "{sealed:?}");

    let relay = relay(env.url.clone()).await;
    let options = digest_now(&env).await;
    let location = format!("s3://{}/trail", env.settings.audit_bucket);
    let source = audit_source(
        &location,
        "us-east-1",
        Some(&relay.url),
        Credentials::Emulator,
    )
    .await
    .unwrap();
    let report = verify_with_tail(&source, &*env.aws.hot_log, &options)
        .await
        .unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(report.events, 2 * CALLS as u64, "{}", report.render_text());
    assert_eq!(report.hot_log.as_ref().unwrap().records_unsealed, 0);
    // What the report says it read is what went over the wire: one GET per object.
    let segment_gets = relay.gets_of("/segments/");
    assert_eq!(
        (segment_gets, relay.gets_of("/digests/")),
        (report.segment_reads, report.digest_reads),
        "{}",
        report.render_text()
    );
    assert!(
        report.segment_reads <= 50,
        "{} segment objects read",
        report.segment_reads
    );
    eprintln!(
        "{CALLS} calls: {} records in {} segments of {} chains, verified with {segment_gets} segment GETs",
        report.records, report.segments, report.chains
    );
}

/// The sealing-lag signal (`aegis_audit_seal_lag_seconds`, which AuditSealLagAlarm
/// watches): 0 after a seal run that sealed everything it found; with a chain stopped, the
/// age of its oldest unsealed record, on every run for as long as it stays unsealed. Read
/// from the EMF documents the jobs function writes on Lambda (what CloudWatch makes the
/// metric of), and from the Prometheus gauge.
#[tokio::test]
async fn every_seal_run_reports_the_sealing_lag() {
    let Some(env) = fresh().await else { return };
    // As on Lambda: metrics as EMF documents (nothing here talks to the runtime).
    let state = jobs_state(&env, &[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")]).await;
    let lags = || -> Vec<f64> {
        state
            .edge
            .metrics
            .drain_emf()
            .iter()
            .filter_map(|doc| doc.get("aegis_audit_seal_lag_seconds")?.as_f64())
            .collect()
    };
    let gauge = || {
        let text = state.edge.metrics.render();
        text.lines()
            .find_map(|l| l.strip_prefix("aegis_audit_seal_lag_seconds "))
            .map(str::to_string)
    };

    // A clean run: everything it found is sealed.
    hot_logger(&env).await.record(event(1)).await.unwrap();
    seal_schedule(&state).await;
    assert_eq!(lags(), [0.0]);
    assert_eq!(gauge().as_deref(), Some("0"));

    // A chain stopped at a record that does not hash, the sealer running 10 minutes after
    // it was written: its records wait, and the lag says for how long.
    let good = hot_logger(&env).await.record(event(2)).await.unwrap();
    append_bad_batch(&env, &good.chain_id, Spoiled::BadHash).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    let out = aegis_automation::seal_hot_log(&state.automation, later)
        .await
        .unwrap();
    assert_eq!(out["sealed"]["stopped"][0]["new"], json!(true), "{out:#}");
    let lag = lags();
    assert!(
        lag.len() == 1 && (600.0..660.0).contains(&lag[0]),
        "{lag:?}"
    );
    assert_eq!(gauge(), Some(format!("{}", lag[0] as i64)));
    // Still stopped five minutes on: reported again, five minutes older.
    let out = aegis_automation::seal_hot_log(&state.automation, later + time::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(out["sealed"]["stopped"][0]["new"], json!(false), "{out:#}");
    let again = lags();
    assert!(
        again.len() == 1 && (again[0] - lag[0] - 300.0).abs() < 1.0,
        "{lag:?} then {again:?}"
    );
}

/// The SDK's transport is ours (ADR 0013): a connection cut before the answer must read as
/// a transient I/O failure, so the SDK's standard retry policy tries again (3 attempts in
/// all), and the caller gets `Unavailable` naming the operation. Needs no moto: the
/// "DynamoDB" here accepts each connection and closes it without answering.
#[tokio::test]
async fn a_connection_cut_mid_exchange_is_retried_by_the_sdk() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await; // the request's head, then hang up
        }
    });
    let settings = AwsSettings {
        table_name: "cut-table".into(),
        audit_bucket: "cut-bucket".into(),
        audit_prefix: String::new(),
        region: "us-east-1".into(),
        endpoint_url: Some(url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()),
    };
    let aws = AwsStorage::connect(&settings, Credentials::Emulator).await;
    let storage = aws.storage(AuditHotLog::Off);
    let err = tokio::time::timeout(Duration::from_secs(30), storage.clients.get("some-client"))
        .await
        .expect("the SDK gives up within its retry budget")
        .expect_err("nothing answered");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("GetItem"), "{err}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "the standard retry policy's three attempts: the cut was classified as transient"
    );
}
