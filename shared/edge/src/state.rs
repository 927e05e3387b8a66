//! What every function shares at the edge, built once per process (or Lambda instance):
//! the configuration, the storage handles, the audit trail, the metrics and the way
//! clients are authenticated. Each function's own state holds an [`Edge`] beside what only
//! it needs (`McpState`, `OAuthState`, `AutomationState`), so a function builds and links
//! only the capabilities it serves.

use std::sync::Arc;

use crate::auth::{ApiKeyAuthenticator, Authenticator, NoAuthenticator};
use crate::metrics::Metrics;
use aegis_core::audit::AuditError;
use aegis_core::config::{AuditLogMode, Config};
use aegis_gitea::{GiteaClient, GiteaClientConfig, GiteaError};
use aegis_storage::audit_log::{AuditLogger, AuditLoggerOptions, AuditTarget};
use aegis_storage::Storage;

/// Why a function's state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("gitea client: {0}")]
    Gitea(#[from] GiteaError),
    #[error("storage: {0}")]
    Storage(#[from] aegis_storage::StorageError),
    /// The OAuth server's setup (keys, client settings); the OAuth crate names the cause
    #[error("oauth: {0}")]
    OAuth(Box<dyn std::error::Error + Send + Sync>),
    #[error("policy: {0}")]
    Policy(#[from] aegis_core::policy::PolicyError),
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    #[error("secret scanner: {0}")]
    Secrets(#[from] aegis_core::secrets::SecretsError),
}

/// The edge's shared handles: one reference count to clone into handlers and layers.
#[derive(Clone)]
pub struct Edge(Arc<EdgeInner>);

impl std::ops::Deref for Edge {
    type Target = EdgeInner;

    fn deref(&self) -> &EdgeInner {
        &self.0
    }
}

/// The most records one hot-log batch carries: a DynamoDB item holds at most 400 KB, and
/// a record is rarely over 2 KB (on Lambda a batch is one call's one or two records).
const HOT_LOG_MAX_BATCH: usize = 64;

/// What [`Edge`] holds.
pub struct EdgeInner {
    pub config: Arc<Config>,
    pub storage: Storage,
    /// The audit trail every call, denial and refusal is recorded in
    pub audit: AuditLogger,
    /// Counters and histograms of this process (`crate::metrics`)
    pub metrics: Metrics,
    /// Who a request's credential belongs to (API key, OAuth token, or the service token)
    pub authenticator: Arc<dyn Authenticator>,
    /// Refusals counted per kind, source and window (`crate::refusals`)
    pub refusals: crate::refusals::RefusalCounter,
}

impl Edge {
    /// Opens the audit trail and the metrics, around the given storage and authenticator.
    /// The trail's start record is durable before this returns (a process that cannot
    /// audit does not start), except inside a Lambda runtime, where it is written with the
    /// first request's records (one round trip less per cold start; the first request then
    /// fails closed if the trail cannot be written).
    pub async fn open(
        config: Arc<Config>,
        storage: Storage,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<Self, StateError> {
        let target = match config.audit.log_mode {
            AuditLogMode::SingleFile => AuditTarget::JsonLines(config.audit.log_path.clone()),
            AuditLogMode::Segments => AuditTarget::Segments(Arc::clone(&storage.audit_log)),
        };
        let metrics = Metrics::from_config(&config);
        let mut options = AuditLoggerOptions {
            observer: Some(Arc::new(metrics.clone())),
            ..AuditLoggerOptions::default()
        };
        // On Lambda the start record goes with the first request's batch: no round trip in
        // INIT that the first request can carry (issue 15)
        options.start_with_first_batch = config.lambda_runtime;
        if storage.hot_log.is_some() {
            // A batch is one DynamoDB item (at most 400 KB).
            options.max_batch = HOT_LOG_MAX_BATCH;
        }
        let audit = AuditLogger::open(target, options).await?;
        Ok(Self(Arc::new(EdgeInner {
            config,
            storage,
            audit,
            metrics,
            authenticator,
            refusals: Default::default(),
        })))
    }
}

/// What a function opens once per instance ([`open`]): its edge, the Gitea client, and what
/// its authenticator choice built beside the authenticator (the OAuth server, or nothing).
pub struct Opened<T> {
    pub edge: Edge,
    pub gitea: GiteaClient,
    pub extra: T,
}

/// The opening every function shares, in order: the storage the configuration names, the
/// Gitea client, the authenticator `authenticate` chooses over them, the edge (whose audit
/// trail writes its start record, except on Lambda: see [`Edge::open`]), then the start-up
/// check of Gitea
/// (`STARTUP_VALIDATE_GITEA`). Work that may refuse to start without recording anything (a
/// bad policy file) belongs before this call.
pub async fn open<T>(
    config: Config,
    authenticate: impl FnOnce(&Arc<Config>, &Storage) -> Result<(T, Arc<dyn Authenticator>), StateError>,
) -> Result<Opened<T>, crate::runtime::StartError> {
    let storage = aegis_storage::from_config(&config)
        .await
        .map_err(StateError::from)?;
    let gitea = GiteaClient::new(GiteaClientConfig::from(&config)).map_err(StateError::from)?;
    let config = Arc::new(config);
    let (extra, authenticator) = authenticate(&config, &storage)?;
    let edge = Edge::open(config, storage, authenticator).await?;
    crate::runtime::check_gitea_with(&edge.config, &gitea).await?;
    Ok(Opened { edge, gitea, extra })
}

/// The authenticator of a function without the OAuth server: API keys when `AUTH_ENABLED`,
/// otherwise every caller acts with the service token. (Functions that authenticate OAuth
/// clients choose through the OAuth crate, which falls back to this.)
pub fn key_authenticator(config: &Config) -> Arc<dyn Authenticator> {
    if config.auth_enabled {
        Arc::new(ApiKeyAuthenticator::from_config(config))
    } else {
        Arc::new(NoAuthenticator::new(config.gitea_token.as_ref()))
    }
}

/// A function's state: its edge, and whatever else its router needs.
pub trait FunctionState: Clone + Send + Sync + 'static {
    fn edge(&self) -> &Edge;
}
