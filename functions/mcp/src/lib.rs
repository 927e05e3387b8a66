//! The MCP Lambda function: MCP Streamable HTTP, the tool listing and direct tool calls.

mod routes;

use std::sync::Arc;

use aegis_core::config::Config;
use aegis_edge::runtime::{self, StartError};
use aegis_edge::{Edge, StateError};
use aegis_gitea::{GiteaClient, GiteaClientConfig};
use aegis_mcp::{McpState, Tooling};
use axum::Router;

/// The function's state, once per instance: the edge (storage, audit trail, metrics, the
/// authenticator: API keys or, in OAuth mode, our access tokens), the Gitea client and the
/// tool registry with its policy; then the start-up check of Gitea (and of our OAuth2
/// client in OAuth mode).
pub async fn state(config: Config) -> Result<McpState, StartError> {
    let storage = aegis_storage::from_config(&config)
        .await
        .map_err(StateError::from)?;
    let gitea = GiteaClient::new(GiteaClientConfig::from(&config)).map_err(StateError::from)?;
    let tooling = Tooling::from_config(&config)?;
    let config = Arc::new(config);
    let (server, authenticator) =
        aegis_oauth::authenticator(&config, &storage).map_err(StateError::from)?;
    let edge = Edge::open(config, storage, authenticator).await?;
    let state = McpState::new(edge, gitea, tooling);
    runtime::check_gitea_with(&state.edge.config, &state.gitea).await?;
    aegis_oauth::check_at_startup(&state.edge.config, server.as_deref()).await?;
    Ok(state)
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: McpState) -> Router {
    routes::mcp_router(state)
}
