//! The webhook Lambda function: `POST /automation/webhook`, signed Gitea deliveries. The
//! checks, typed events and routing live in `aegis_shared::automation::webhook`.

use aegis_shared::automation::webhook;
use aegis_shared::http::{ApiError, RequestId};
use aegis_shared::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AppState) -> Router {
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
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    webhook::ingest(&state, &headers, &request_id, body)
        .await
        .map(Json)
}
