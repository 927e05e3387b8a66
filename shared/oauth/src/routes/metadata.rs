//! RFC 9728 protected-resource and RFC 8414 authorization-server metadata.

use super::*;

/// RFC 9728 protected-resource metadata for `/mcp`.
pub(super) async fn protected_resource(
    State(state): State<OAuthState>,
    headers: HeaderMap,
) -> Json<Value> {
    let base = base_url(&state.edge.config, &headers);
    let mut doc = json!({
        "resource": format!("{base}/mcp"),
        "resource_name": "AegisGitea MCP",
        "scopes_supported": [SCOPE_READ, SCOPE_WRITE],
        "bearer_methods_supported": ["header"],
    });
    if state.oauth.is_some() {
        doc["authorization_servers"] = json!([base]);
    }
    Json(doc)
}

/// RFC 8414 authorization-server metadata.
pub(super) async fn authorization_server(
    State(state): State<OAuthState>,
    headers: HeaderMap,
) -> Json<Value> {
    let base = base_url(&state.edge.config, &headers);
    let mut doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": [SCOPE_READ, SCOPE_WRITE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    });
    if state.edge.config.dcr.enabled {
        doc["registration_endpoint"] = json!(format!("{base}/register"));
    }
    Json(doc)
}
