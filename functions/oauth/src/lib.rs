//! The OAuth/DCR Lambda function: protected-resource metadata now; the authorization
//! server (discovery, registration, consent, tokens) lands with the OAuth issue.

use aegis_shared::auth::{SCOPE_READ, SCOPE_WRITE};
use aegis_shared::http::base_url;
use aegis_shared::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(protected_resource),
        )
        .with_state(state)
}

/// RFC 9728 protected-resource metadata for `/mcp`. Authorization servers are listed only
/// in OAuth mode; in API-key mode the document still tells a client how to send a token.
async fn protected_resource(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state.config, &headers);
    let mut doc = json!({
        "resource": format!("{base}/mcp"),
        "resource_name": "AegisGitea MCP",
        "scopes_supported": [SCOPE_READ, SCOPE_WRITE],
        "bearer_methods_supported": ["header"],
    });
    if state.config.oauth_mode {
        doc["authorization_servers"] = json!([base]);
    }
    Json(doc)
}
