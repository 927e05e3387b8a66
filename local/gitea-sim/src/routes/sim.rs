//! Simulator control endpoints under `/_sim`: the request log, contract violations and reset.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;

use crate::state::SimState;

pub async fn requests(State(state): State<SimState>) -> Response {
    Json(state.requests()).into_response()
}

pub async fn clear_requests(State(state): State<SimState>) -> StatusCode {
    state.clear_requests();
    StatusCode::NO_CONTENT
}

pub async fn violations(State(state): State<SimState>) -> Response {
    Json(state.violations()).into_response()
}

pub async fn clear_violations(State(state): State<SimState>) -> StatusCode {
    state.clear_violations();
    StatusCode::NO_CONTENT
}

/// `POST /_sim/reset`: back to the seeded world (the logs stay).
pub async fn reset(State(state): State<SimState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}
