//! The OAuth/DCR Lambda function: protected-resource and authorization-server metadata,
//! client registration, the consent page, the Gitea callback, tokens and revocation. The
//! handlers live in `aegis_oauth::routes`.

use std::sync::Arc;

use aegis_core::config::Config;
use aegis_edge::runtime::{self, StartError};
use aegis_edge::{Edge, StateError};
use aegis_gitea::{GiteaClient, GiteaClientConfig};
use aegis_oauth::routes::OAuthState;
use axum::Router;

/// The function's state, once per instance: the edge and, in OAuth mode, the
/// authorization server; then the start-up check of Gitea and of our OAuth2 client. No
/// tool registry, no policy, no secret scanner.
pub async fn state(config: Config) -> Result<OAuthState, StartError> {
    let storage = aegis_storage::from_config(&config)
        .await
        .map_err(StateError::from)?;
    let gitea = GiteaClient::new(GiteaClientConfig::from(&config)).map_err(StateError::from)?;
    let config = Arc::new(config);
    let (oauth, authenticator) =
        aegis_oauth::authenticator(&config, &storage).map_err(StateError::from)?;
    let edge = Edge::open(config, storage, authenticator).await?;
    runtime::check_gitea_with(&edge.config, &gitea).await?;
    aegis_oauth::check_at_startup(&edge.config, oauth.as_deref()).await?;
    Ok(OAuthState { edge, gitea, oauth })
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: OAuthState) -> Router {
    aegis_oauth::routes::router(state)
}
