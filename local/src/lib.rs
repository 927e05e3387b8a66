//! The local shim's router: the MCP function's router with the other functions merged in.
//!
//! Architecture invariant: nothing here handles a request itself; every route belongs to a
//! function crate, so the shim runs exactly the code Lambda runs.

mod state;

use axum::Router;
pub use state::{check_gitea, AppState};

/// All functions on one router.
pub fn router(state: AppState) -> Router {
    let all = Router::new()
        .merge(aegis_fn_mcp::router(state.mcp.clone()))
        .merge(aegis_fn_oauth::router(state.oauth.clone()))
        .merge(aegis_fn_webhook::router(state.automation.clone()))
        .merge(aegis_fn_jobs::router(state.automation.clone()));
    aegis_edge::layers::with_edge(all, &state.edge)
}
