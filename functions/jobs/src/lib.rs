//! The jobs Lambda function: automation jobs on demand (`POST /automation/jobs/run`,
//! authenticated like the MCP endpoints) and on an EventBridge schedule (`handle_event`).
//! The jobs, their gate and their audit records live in `aegis_automation`.

use aegis_automation::{self as automation, AutomationState, RunBody, Trigger};
use aegis_core::config::Config;
use aegis_edge::auth::Principal;
use aegis_edge::http::{ApiError, RequestId};
use aegis_edge::layers::{parse_json_body, require_auth};
use aegis_edge::runtime::StartError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{middleware, Extension, Json, Router};
use serde_json::Value;

/// The function's state, once per instance: the edge (`/automation/jobs/run` is
/// authenticated like the MCP endpoints, so OAuth tokens too in OAuth mode: ADR 0009, D3),
/// the Gitea client and the automation gate; then the start-up check of Gitea.
pub async fn state(config: Config) -> Result<AutomationState, StartError> {
    let policy = AutomationState::policy(&config)?;
    let opened = aegis_oauth::open(config).await?;
    Ok(AutomationState::new(opened.edge, opened.gitea, policy))
}

/// The function's router; the Lambda entry and the local shim both serve it.
pub fn router(state: AutomationState) -> Router {
    let protected = Router::new()
        .route("/automation/jobs/run", post(run_job))
        .layer(middleware::from_fn_with_state(
            state.edge.clone(),
            require_auth,
        ));
    Router::new()
        .route(
            "/health/jobs",
            get(|| async { Json(serde_json::json!({ "status": "healthy", "function": "jobs" })) }),
        )
        .merge(protected)
        .with_state(state)
}

/// `POST /automation/jobs/run` `{"job": "...", "repositories": ["owner/repo"], "dry_run": false}`
async fn run_job(
    State(state): State<AutomationState>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<automation::JobSummary>, ApiError> {
    let body: RunBody = parse_json_body(body, state.edge.config.max_request_body_bytes)?;
    let request = body.into_request()?;
    let trigger = Trigger::Http {
        principal,
        request_id,
    };
    let summary = automation::run(&state, &trigger, request).await?;
    Ok(Json(summary))
}

/// A non-HTTP Lambda event: an EventBridge scheduled event (`source: aws.events`,
/// `detail-type: Scheduled Event`), optionally naming its jobs in `detail.jobs`.
pub async fn handle_event(state: AutomationState, event: Value) -> Result<Value, String> {
    let scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events")
        || event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if !scheduled {
        tracing::warn!("jobs function received an event that is neither HTTP nor scheduled");
        return Err("unsupported event: expected an EventBridge scheduled event".into());
    }
    let now = time::OffsetDateTime::now_utc();
    // The seal schedule: `{"detail": {"seal": true}}`, outside the automation gate.
    if event.pointer("/detail/seal").and_then(Value::as_bool) == Some(true) {
        return automation::seal_hot_log(&state, now)
            .await
            .map_err(|e| e.to_string());
    }
    let jobs = automation::scheduled_jobs(&event).map_err(|e| e.to_string())?;
    Ok(automation::run_scheduled(&state, &jobs, now).await)
}
