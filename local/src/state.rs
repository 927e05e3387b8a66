//! The composite state of the local shim and the tests: every function's state over one
//! edge (one audit trail, one metrics registry) and one Gitea client, so `make dev` serves
//! all functions on one port exactly as the functions serve them on Lambda.

use std::sync::Arc;

use aegis_automation::AutomationState;
use aegis_core::Config;
use aegis_edge::{Edge, StateError};
use aegis_gitea::{GiteaClient, GiteaClientConfig};
use aegis_mcp::{McpState, Tooling};
use aegis_oauth::routes::OAuthState;
use aegis_storage::Storage;

/// Every function's state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub edge: Edge,
    pub gitea: GiteaClient,
    pub mcp: McpState,
    pub oauth: OAuthState,
    pub automation: AutomationState,
}

impl AppState {
    /// Builds every function's state from configuration with the given storage. Opens the
    /// audit trail (its start record is durable before this returns: a process that cannot
    /// audit does not start).
    pub async fn new(config: Config, storage: Storage) -> Result<Self, StateError> {
        let gitea = GiteaClient::new(GiteaClientConfig::from(&config))?;
        let tooling = Tooling::from_config(&config)?;
        let policy = AutomationState::policy(&config)?;
        let config = Arc::new(config);
        let (server, authenticator) = aegis_oauth::authenticator(&config, &storage)?;
        let edge = Edge::open(config, storage, authenticator).await?;
        Ok(Self {
            mcp: McpState::new(edge.clone(), gitea.clone(), tooling),
            oauth: OAuthState {
                edge: edge.clone(),
                gitea: gitea.clone(),
                oauth: server,
            },
            automation: AutomationState::new(edge.clone(), gitea.clone(), policy),
            gitea,
            edge,
        })
    }

    /// Builds the state with the storage backend the configuration names.
    pub async fn from_config(config: Config) -> Result<Self, StateError> {
        let storage = aegis_storage::from_config(&config).await?;
        Self::new(config, storage).await
    }
}

/// The start-up check of every function (`STARTUP_VALIDATE_GITEA`): Gitea, and our OAuth2
/// client when the OAuth server runs here.
pub async fn check_gitea(state: &AppState) -> Result<(), aegis_gitea::StartupCheckError> {
    aegis_edge::runtime::check_gitea_with(&state.edge.config, &state.gitea).await?;
    aegis_oauth::check_at_startup(&state.edge.config, state.oauth.oauth.as_deref()).await
}
