//! The MCP Lambda function: MCP Streamable HTTP, the tool listing and direct tool calls.

use aegis_shared::AppState;
use axum::Router;

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AppState) -> Router {
    aegis_shared::routes::mcp_router(state)
}
