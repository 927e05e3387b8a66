//! Storage seams: small capability traits, one per kind of state, with their adapters.
//!
//! Every trait is shaped for both adapters: the embedded one (files under `DATA_DIR`, the
//! default for `make dev`) and the DynamoDB/S3 one (the AWS default). So writes that must
//! not overwrite are explicit (`create` fails with `AlreadyExists`, like a conditional
//! `PutItem` or an S3 `If-None-Match: *`), expiry is an absolute time that readers check
//! themselves (DynamoDB deletes TTL items lazily), and audit segments are immutable.

pub mod audit_log;
#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
mod rate_key;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use aegis_core::store::{AuditSink, AuditSource, HotAuditLog, SealCursor, StorageError};
pub use rate_key::{RateKey, RateScope};

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests left in the current window after this one (with leases: as of when its
    /// token was counted, across every instance)
    pub remaining: u32,
    /// When the current window ends
    pub retry_after: Duration,
}

/// Counts hits per key in fixed windows; never admits more than `limit` in a window, however
/// many processes share the store. On DynamoDB one conditional update counts a hit, or a
/// lease of several that this process then serves without a request (the request budgets
/// of [`RateScope::leasable`], ADR 0012). Keys are [`RateKey`]s: a counter's key is spelled
/// in one place only.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Records one hit on `key` and says whether it is within `limit` per `window`.
    async fn hit(
        &self,
        key: &RateKey,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StorageError>;
    /// Reads the current window without recording a hit (auth-failure blocking).
    async fn peek(&self, key: &RateKey, window: Duration) -> Result<WindowCount, StorageError>;
}

/// A key's current window, as [`RateLimiter::peek`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits so far in the window (0 when no window is open)
    pub count: u32,
    /// When the window ends (zero when none is open)
    pub resets_in: Duration,
}

/// A registered OAuth client (RFC 7591), as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    /// SHA-256 of the client secret, hex; `None` for public clients
    pub secret_hash: Option<String>,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: Option<String>,
    /// Seconds since the epoch
    pub created_at: u64,
}

/// Registered OAuth clients. `register` never overwrites.
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    async fn register(&self, client: RegisteredClient) -> Result<(), StorageError>;
    async fn get(&self, client_id: &str) -> Result<Option<RegisteredClient>, StorageError>;
}

/// A cached repository permission for one user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CachedPermission {
    /// `none`, `read`, `write`, `admin` or `owner`
    pub permission: String,
    /// Absolute expiry, seconds since the epoch
    pub expires_at: u64,
}

/// Per-user repository permission checks, cached for `REPO_AUTHZ_CACHE_TTL_SECONDS`.
#[async_trait]
pub trait AuthzCache: Send + Sync {
    /// The entry, or `None` when absent or expired (expiry is checked on read).
    async fn get(&self, key: &str) -> Result<Option<CachedPermission>, StorageError>;
    async fn put(&self, key: &str, value: CachedPermission) -> Result<(), StorageError>;
}

/// One of our authorization codes, stored under its SHA-256 until redeemed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthCode {
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// The client's S256 PKCE challenge
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    /// Seconds since the epoch
    pub expires_at: u64,
    /// Set when redeemed: a second redemption revokes the grant (RFC 6749 §4.1.2)
    #[serde(default)]
    pub redeemed: bool,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    Fresh(AuthCode),
    /// Redeemed before: a replay
    Reused(AuthCode),
    Missing,
}

/// One user's authorization of one client: the refresh-token family and the Gitea tokens
/// obtained for it (sealed: encrypted and authenticated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub login: String,
    pub user_id: i64,
    pub scope: String,
    pub resource: String,
    /// SHA-256 of the current refresh token; any other presented token of this grant is
    /// a replay and revokes it
    pub refresh_hash: String,
    pub gitea_tokens: String,
    pub revoked: bool,
    pub created_at: u64,
    /// When the refresh token family ends
    pub expires_at: u64,
}

/// Codes, grants and single-use markers of the OAuth flows. Every mutation is one
/// conditional write on DynamoDB (create-only, compare-and-set), one locked file update in
/// the embedded adapter.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new code (create-only).
    async fn put_code(&self, code_hash: &str, code: AuthCode) -> Result<(), StorageError>;
    /// The stored code, redeemed or not, without changing it (`None` when unknown or past
    /// its grace period): the token endpoint checks a request against it before redeeming.
    async fn peek_code(&self, code_hash: &str) -> Result<Option<AuthCode>, StorageError>;
    /// Marks a code redeemed and returns it, or says it was redeemed already / is unknown.
    async fn redeem_code(&self, code_hash: &str) -> Result<Redemption, StorageError>;
    async fn create_grant(&self, grant: Grant) -> Result<(), StorageError>;
    async fn get_grant(&self, id: &str) -> Result<Option<Grant>, StorageError>;
    /// Replaces the refresh hash only if it still is `expected`; false when it was not.
    async fn rotate_refresh(
        &self,
        id: &str,
        expected: &str,
        new: &str,
    ) -> Result<bool, StorageError>;
    async fn set_gitea_tokens(&self, id: &str, sealed: &str) -> Result<(), StorageError>;
    async fn revoke_grant(&self, id: &str) -> Result<(), StorageError>;
    /// Records `key` as used until `expires_at`; false when it was used already.
    async fn use_once(&self, key: &str, expires_at: u64) -> Result<bool, StorageError>;
}

/// The set of storage handles a function works with.
#[derive(Clone)]
pub struct Storage {
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub clients: Arc<dyn ClientRegistry>,
    pub authz_cache: Arc<dyn AuthzCache>,
    /// The sealed trail: segments and signed digests (a directory, or S3). What the
    /// digest job signs and auditors verify.
    pub audit: Arc<dyn AuditSink>,
    /// Where the request path's `AuditLogger` commits its batches: `audit` itself, or the
    /// durable hot log (`AUDIT_HOT_LOG=dynamodb`) that the sealer turns into `audit`'s
    /// segments
    pub audit_log: Arc<dyn AuditSink>,
    /// The hot log as its sealer reads it (`Some` exactly when `audit_log` is the hot log)
    pub hot_log: Option<Arc<dyn HotAuditLog>>,
    pub grants: Arc<dyn GrantStore>,
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The storage backend the configuration names: files under `DATA_DIR` (embedded), or
/// DynamoDB and S3 (`STORAGE_BACKEND=aws`, which needs the `aws` feature).
pub async fn from_config(config: &aegis_core::Config) -> Result<Storage, StorageError> {
    use aegis_core::config::{AuditLogMode, StorageBackend};
    match config.storage_backend {
        StorageBackend::Embedded => {
            // In single-file mode the logger writes the file itself; segments (and
            // digests) still have a directory of their own.
            let audit_dir = match config.audit.log_mode {
                AuditLogMode::Segments => config.audit.log_path.clone(),
                AuditLogMode::SingleFile => config.data_dir.join("audit"),
            };
            Ok(embedded::storage(
                &config.dcr.storage_path,
                &audit_dir,
                &config.data_dir.join("oauth_grants.json"),
            ))
        }
        StorageBackend::Aws => aws_storage(config).await,
    }
}

#[cfg(feature = "aws")]
async fn aws_storage(config: &aegis_core::Config) -> Result<Storage, StorageError> {
    // `Config` reads the settings whenever the backend is `aws`; a mismatch is a build of
    // `Config` by hand, refused rather than guessed at.
    let settings = config.aws.as_ref().ok_or_else(|| {
        StorageError::Unavailable(
            "`STORAGE_BACKEND=aws` without its table and bucket settings".into(),
        )
    })?;
    // A function inside a Lambda runtime never creates infrastructure, even on an emulator.
    let provisioning = if config.lambda_runtime {
        aws::Provisioning::Never
    } else {
        aws::Provisioning::OnEmulator
    };
    aws::storage(settings, provisioning, config.audit.hot_log).await
}

#[cfg(not(feature = "aws"))]
async fn aws_storage(_config: &aegis_core::Config) -> Result<Storage, StorageError> {
    Err(StorageError::AwsUnavailable)
}
