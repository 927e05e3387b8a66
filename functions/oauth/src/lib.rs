//! The OAuth/DCR Lambda function: protected-resource and authorization-server metadata,
//! client registration, the consent page, the Gitea callback, tokens and revocation. The
//! handlers live in `aegis_shared::oauth::routes`.

use std::sync::Arc;

use aegis_shared::config::Config;
use aegis_shared::edge::{Edge, StateError};
use aegis_shared::gitea::{GiteaClient, GiteaClientConfig};
use aegis_shared::oauth::routes::OAuthState;
use aegis_shared::runtime::{self, StartError};
use axum::Router;

/// The function's state, once per instance: the edge and, in OAuth mode, the
/// authorization server; then the start-up check of Gitea and of our OAuth2 client. No
/// tool registry, no policy, no secret scanner.
pub async fn state(config: Config) -> Result<OAuthState, StartError> {
    let storage = aegis_shared::storage::from_config(&config)
        .await
        .map_err(StateError::from)?;
    let gitea = GiteaClient::new(GiteaClientConfig::from(&config)).map_err(StateError::from)?;
    let config = Arc::new(config);
    let (oauth, authenticator) =
        aegis_shared::oauth::authenticator(&config, &storage).map_err(StateError::from)?;
    let edge = Edge::open(config, storage, authenticator).await?;
    runtime::check_gitea_with(&edge.config, &gitea).await?;
    aegis_shared::oauth::check_at_startup(&edge.config, oauth.as_deref()).await?;
    Ok(OAuthState { edge, gitea, oauth })
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: OAuthState) -> Router {
    aegis_shared::oauth::routes::router(state)
}
