//! The webhook Lambda function: signed Gitea webhooks (automation issue).
//!
//! Minimal for now: the router answers `/health` so the function builds, deploys and is
//! mounted by the local shim; its routes land with its issue.

use aegis_shared::AppState;
use axum::routing::get;
use axum::{Json, Router};

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AppState) -> Router {
    let _ = &state;
    Router::new().route(
        "/health/webhook",
        get(|| async { Json(serde_json::json!({ "status": "healthy", "function": "webhook" })) }),
    )
}
