//! The state a function's router works with, built once per process (or Lambda instance).

use std::sync::Arc;

use crate::audit::{AuditError, AuditLogger, AuditLoggerOptions, AuditTarget};
use crate::auth::{ApiKeyAuthenticator, Authenticator, NoAuthenticator};
use crate::config::{AuditLogMode, Config, StorageBackend};
use crate::gitea::{GiteaClient, GiteaClientConfig, GiteaError};
use crate::oauth::authn::OAuthAuthenticator;
use crate::oauth::{OAuthServer, OAuthSetupError};
use crate::policy::{Policy, PolicyError};
use crate::storage::{embedded, Storage};
use crate::tools::{Limits, ToolRegistry};

/// Why state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("gitea client: {0}")]
    Gitea(#[from] GiteaError),
    #[error("`STORAGE_BACKEND=aws` needs a build with the `aws` feature")]
    AwsUnavailable,
    #[error("storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("oauth: {0}")]
    OAuth(#[from] OAuthSetupError),
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    #[error("secret scanner: {0}")]
    Secrets(#[from] crate::secrets::SecretsError),
}

/// Shared, read-only after start: one reference count to clone into handlers (the
/// protocol layer and the middleware clone it several times per request).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateInner {
    pub config: Arc<Config>,
    pub gitea: GiteaClient,
    pub storage: Storage,
    pub tools: Arc<ToolRegistry>,
    pub authenticator: Arc<dyn Authenticator>,
    pub limits: Limits,
    /// The policy of `POLICY_FILE_PATH`, or the spec's defaults
    pub policy: Arc<Policy>,
    /// The audit trail every tool call and denial is recorded in
    pub audit: AuditLogger,
    /// The authorization server (`OAUTH_MODE=true`)
    pub oauth: Option<Arc<OAuthServer>>,
    /// Applied to every tool result (`SECRET_DETECTION_MODE`)
    pub secrets: Arc<crate::secrets::SecretScanner>,
    /// Counters and histograms of this process (`crate::metrics`)
    pub metrics: crate::metrics::Metrics,
    /// The signed-in user's own permission on a repository (OAuth mode, lockdown)
    pub permissions: crate::gate::RepoPermissions,
}

impl AppState {
    /// Builds the state from configuration with the given storage. Opens the audit trail
    /// (its start record is durable before this returns: a process that cannot audit does
    /// not start).
    pub async fn new(config: Config, storage: Storage) -> Result<Self, StateError> {
        let gitea = GiteaClient::new(GiteaClientConfig::from(&config))?;
        let config = Arc::new(config);
        // Only a function that authenticates clients holds the OAuth secrets (the webhook
        // and jobs functions are given none: `FunctionRole`).
        let oauth = if config.oauth_mode && config.function.authenticates_clients(true) {
            Some(Arc::new(OAuthServer::from_config(&config)?))
        } else {
            None
        };
        let authenticator: Arc<dyn Authenticator> = if let Some(server) = &oauth {
            Arc::new(OAuthAuthenticator::new(
                Arc::clone(server),
                Arc::clone(&storage.grants),
                Arc::clone(&config),
            ))
        } else if config.auth_enabled {
            Arc::new(ApiKeyAuthenticator::from_config(&config))
        } else {
            Arc::new(NoAuthenticator::new(config.gitea_token.as_ref()))
        };
        let tools = ToolRegistry::standard();
        let catalogue = crate::tools::catalogue(&tools)?;
        let policy = match &config.policy_file_path {
            Some(path) => Policy::load_with(path, catalogue)?,
            None => Policy::from_yaml_with("{}", catalogue)?,
        };
        let target = match config.audit_log_mode {
            AuditLogMode::SingleFile => AuditTarget::JsonLines(config.audit_log_path.clone()),
            AuditLogMode::Segments => AuditTarget::Segments(Arc::clone(&storage.audit)),
        };
        let metrics = crate::metrics::Metrics::from_config(&config);
        let options = AuditLoggerOptions {
            observer: Some(Arc::new(metrics.clone())),
            ..AuditLoggerOptions::default()
        };
        let audit = AuditLogger::open(target, options).await?;
        let permissions = crate::gate::RepoPermissions::new(gitea.clone(), &storage, &config);
        Ok(Self(Arc::new(AppStateInner {
            permissions,
            secrets: crate::secrets::SecretScanner::shared()?,
            metrics,
            audit,
            policy: Arc::new(policy),
            limits: Limits::from(config.as_ref()),
            oauth,
            config,
            gitea,
            storage,
            tools: Arc::new(tools),
            authenticator,
        })))
    }

    /// Builds the state with the storage backend the configuration names.
    pub async fn from_config(config: Config) -> Result<Self, StateError> {
        let storage = match config.storage_backend {
            StorageBackend::Embedded => {
                // In single-file mode the logger writes the file itself; segments (and
                // digests) still have a directory of their own.
                let audit_dir = match config.audit_log_mode {
                    AuditLogMode::Segments => config.audit_log_path.clone(),
                    AuditLogMode::SingleFile => config.data_dir.join("audit"),
                };
                embedded::storage(
                    &config.dcr_storage_path,
                    &audit_dir,
                    &config.data_dir.join("oauth_grants.json"),
                )
            }
            StorageBackend::Aws => aws_storage(&config).await?,
        };
        Self::new(config, storage).await
    }
}

#[cfg(feature = "aws")]
async fn aws_storage(config: &Config) -> Result<Storage, StateError> {
    // `Config` guarantees the settings with the backend; a mismatch is a build of `Config`
    // by hand, refused rather than guessed at.
    let settings = config.aws.as_ref().ok_or_else(|| {
        // `Config` reads the settings whenever the backend is `aws`; never reached.
        StateError::Storage(crate::storage::StorageError::Unavailable(
            "`STORAGE_BACKEND=aws` without its table and bucket settings".into(),
        ))
    })?;
    // A function inside a Lambda runtime never creates infrastructure, even on an emulator.
    let provisioning = if config.lambda_runtime {
        crate::storage::aws::Provisioning::Never
    } else {
        crate::storage::aws::Provisioning::OnEmulator
    };
    Ok(crate::storage::aws::storage(settings, provisioning).await?)
}

#[cfg(not(feature = "aws"))]
async fn aws_storage(_config: &Config) -> Result<Storage, StateError> {
    Err(StateError::AwsUnavailable)
}
