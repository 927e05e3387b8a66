//! The OAuth/DCR Lambda function: protected-resource and authorization-server metadata,
//! client registration, the consent page, the Gitea callback, tokens and revocation. The
//! handlers live in `aegis_oauth::routes`.

use aegis_core::config::Config;
use aegis_edge::runtime::StartError;
use aegis_oauth::routes::OAuthState;
use axum::Router;

/// The function's state, once per instance: the edge and, in OAuth mode, the
/// authorization server; then the start-up check of Gitea and of our OAuth2 client. No
/// tool registry, no policy, no secret scanner.
pub async fn state(config: Config) -> Result<OAuthState, StartError> {
    let opened = aegis_oauth::open(config).await?;
    Ok(OAuthState {
        edge: opened.edge,
        gitea: opened.gitea,
        oauth: opened.extra,
    })
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: OAuthState) -> Router {
    aegis_oauth::routes::router(state)
}
