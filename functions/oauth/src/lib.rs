//! The OAuth/DCR Lambda function: protected-resource and authorization-server metadata,
//! client registration, the consent page, the Gitea callback, tokens and revocation. The
//! handlers live in `aegis_shared::oauth::routes`.

use aegis_shared::AppState;
use axum::Router;

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AppState) -> Router {
    aegis_shared::oauth::routes::router(state)
}
