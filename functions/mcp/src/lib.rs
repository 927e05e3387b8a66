//! The MCP Lambda function: MCP Streamable HTTP, the tool listing and direct tool calls.

use std::sync::Arc;

use aegis_shared::config::Config;
use aegis_shared::edge::{Edge, StateError};
use aegis_shared::gitea::{GiteaClient, GiteaClientConfig};
use aegis_shared::mcp_state::McpState;
use aegis_shared::runtime::{self, StartError};
use axum::Router;

/// The function's state, once per instance: the edge (storage, audit trail, metrics, the
/// authenticator: API keys or, in OAuth mode, our access tokens), the Gitea client and the
/// tool registry with its policy; then the start-up check of Gitea (and of our OAuth2
/// client in OAuth mode).
pub async fn state(config: Config) -> Result<McpState, StartError> {
    let storage = aegis_shared::storage::from_config(&config)
        .await
        .map_err(StateError::from)?;
    let gitea = GiteaClient::new(GiteaClientConfig::from(&config)).map_err(StateError::from)?;
    let config = Arc::new(config);
    let (server, authenticator) =
        aegis_shared::oauth::authenticator(&config, &storage).map_err(StateError::from)?;
    let edge = Edge::open(config, storage, authenticator).await?;
    let state = McpState::new(edge, gitea)?;
    runtime::check_gitea_with(&state.edge.config, &state.gitea).await?;
    aegis_shared::oauth::check_at_startup(&state.edge.config, server.as_deref()).await?;
    Ok(state)
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: McpState) -> Router {
    aegis_shared::routes::mcp_router(state)
}
