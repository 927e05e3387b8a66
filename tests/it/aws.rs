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
use aegis_core::config::AwsSettings;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_n_of_n_plus_k_concurrent_rate_limit_checks_pass() {
    let Some(env) = fresh().await else { return };
    let limiter = env.aws.storage().rate_limiter;
    let (limit, tasks) = (20u32, 50usize);
    let decisions = concurrently(tasks, |_| {
        let limiter = Arc::clone(&limiter);
        async move {
            limiter
                .hit(
                    &RateKey::ip([203, 0, 113, 9].into()),
                    limit,
                    Duration::from_secs(3600),
                )
                .await
                .expect("hit")
        }
    })
    .await;
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
        .peek(
            &RateKey::ip([203, 0, 113, 9].into()),
            Duration::from_secs(3600),
        )
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
    let limiter = env.aws.storage().rate_limiter;
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
    let clients = env.aws.storage().clients;
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
    let cache = env.aws.storage().authz_cache;
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
    let grants = env.aws.storage().grants;
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
    let grants = env.aws.storage().grants;
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
    let grants = env.aws.storage().grants;
    grants.create_grant(grant("g-short", 1)).await.unwrap();
    assert!(grants.get_grant("g-short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(2100)).await;
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
    let grants = env.aws.storage().grants;
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
