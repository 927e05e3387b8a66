//! The MCP Lambda function: MCP Streamable HTTP, the tool listing and direct tool calls.

mod routes;

use aegis_core::config::Config;
use aegis_edge::runtime::StartError;
use aegis_mcp::{McpState, Tooling};
use axum::Router;

/// The function's state, once per instance: the edge (storage, audit trail, metrics, the
/// authenticator: API keys or, in OAuth mode, our access tokens), the Gitea client and the
/// tool registry with its policy; then the start-up check of Gitea (and of our OAuth2
/// client in OAuth mode).
pub async fn state(config: Config) -> Result<McpState, StartError> {
    let tooling = Tooling::from_config(&config)?;
    let opened = aegis_oauth::open(config).await?;
    Ok(McpState::new(opened.edge, opened.gitea, tooling))
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: McpState) -> Router {
    routes::mcp_router(state)
}
