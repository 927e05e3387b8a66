//! The webhook Lambda function: `POST /automation/webhook`, signed Gitea deliveries. The
//! checks, typed events and routing live in `aegis_automation::webhook`.

use aegis_automation::{webhook, AutomationState};
use aegis_core::config::Config;
use aegis_edge::http::{ApiError, RequestId};
use aegis_edge::key_authenticator;
use aegis_edge::runtime::StartError;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

/// The function's state, once per instance: the edge (deliveries are authenticated by their
/// signature, so no OAuth server), the Gitea client and the automation gate; then the
/// start-up check of Gitea.
pub async fn state(config: Config) -> Result<AutomationState, StartError> {
    let policy = AutomationState::policy(&config)?;
    let opened = aegis_edge::open(config, |config, _| Ok(((), key_authenticator(config)))).await?;
    Ok(AutomationState::new(opened.edge, opened.gitea, policy))
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AutomationState) -> Router {
    Router::new()
        .route(
            "/health/webhook",
            get(|| async {
                Json(serde_json::json!({ "status": "healthy", "function": "webhook" }))
            }),
        )
        .route("/automation/webhook", post(deliver))
        .with_state(state)
}

/// The raw body goes to `ingest` unread: it is size-checked and verified before parsing.
async fn deliver(
    State(state): State<AutomationState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    webhook::ingest(&state, &headers, &request_id, body)
        .await
        .map(Json)
}
