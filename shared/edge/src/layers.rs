//! The layers every function's router gets (`with_edge`) and the pieces of the edge the
//! functions' own routers use: authentication (`require_auth`) and its challenges, strict
//! JSON bodies.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::auth::{AuthError, SCOPE_READ};
use crate::http::{
    base_url, body_limit, catch_panic, host_guard, request_id, request_timeout, ApiError,
    HostPolicy, RequestId,
};
use crate::ratelimit;
use crate::Edge;
use aegis_core::audit::AuditEvent;

/// The layers every function's router gets, outermost first: the HTTP request metrics (so
/// refusals of the others count too), request id (and the id in every error body), panic
/// guard, Host/Origin guard, rate limits, request timeout, body limit. Authentication and
/// the JSON-RPC envelope follow inside the routers.
pub fn with_edge(router: Router, state: &Edge) -> Router {
    let hosts = Arc::new(HostPolicy::from_config(&state.config));
    let production = state.config.environment == aegis_core::config::Environment::Production;
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.config.max_request_body_bytes,
            body_limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.config.limits.request_timeout_seconds,
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(hosts, host_guard))
        .layer(middleware::from_fn_with_state(production, catch_panic))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::refusals::record_refusals,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track_http,
        ))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for `{}`", uri.path().escape_default()))
}

/// The `WWW-Authenticate` challenge of the spec, with an absolute metadata URL.
pub fn bearer_challenge(state: &Edge, headers: &HeaderMap, error: Option<&str>) -> String {
    let base = base_url(&state.config, headers);
    let mut challenge = format!(
        "Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource\", scope=\"{SCOPE_READ}\""
    );
    if let Some(error) = error {
        challenge.push_str(&format!(", error=\"{error}\""));
    }
    challenge
}

/// Authenticates every request to the protected routes and attaches the `Principal`.
/// `GET`/`DELETE` on `/mcp` pass through so the transport can answer 405 itself. Other
/// functions' protected routes (`/automation/jobs/run`) use it too.
///
/// The limits of authenticated routes apply here (`crate::ratelimit`): a valid credential
/// spends its own budget (on `/mcp` the envelope counts it, since only it knows a
/// notification from a request); a missing one spends the address's unauthenticated
/// budget; a presented, invalid one is also an authentication failure of the address,
/// and once the address is blocked such attempts are answered 429.
pub async fn require_auth(State(state): State<Edge>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    match state.authenticator.authenticate(req.headers()).await {
        Ok(principal) => {
            if !is_mcp_protocol_path(&path) {
                if let Some(refused) =
                    credential_limit_refusal(&state, req.headers(), &path, &request_id).await
                {
                    return refused;
                }
            }
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => {
            let ip = ratelimit::request_ip(&state, &req);
            if e != AuthError::Missing {
                if let Some(ip) = ip {
                    if let Some(refused) =
                        ratelimit::auth_failed(&state, ip, &path, &request_id).await
                    {
                        return refused;
                    }
                }
            }
            if let Some(refused) = ratelimit::unauthenticated(&state, ip, &path, &request_id).await
            {
                return refused;
            }
            let (error, reason) = match e {
                AuthError::Missing => (None, "missing"),
                AuthError::Invalid => (Some("invalid_token"), "invalid"),
                AuthError::Malformed => (Some("invalid_token"), "malformed"),
            };
            state.metrics.auth_failure(reason);
            tracing::warn!(reason = %e, "authentication failed");
            let event = AuditEvent::access_denied(format!("authentication failed: {e}"))
                .with_request_id(&request_id)
                .with_correlation_id(&request_id)
                .with_decision("deny")
                .with_context("path", path.as_str());
            if state.audit.record(event).await.is_err() {
                return ApiError::Unavailable(
                    "the audit trail is unavailable; try again later".into(),
                )
                .into_response();
            }
            let message = match (&e, state.authenticator.mode() == "oauth") {
                (AuthError::Missing, true) => "missing bearer token: sign in through the OAuth flow the `WWW-Authenticate` header points to, then send `Authorization: Bearer <token>`".to_string(),
                _ => e.to_string(),
            };
            ApiError::Unauthorized {
                message,
                www_authenticate: bearer_challenge(&state, req.headers(), error),
            }
            .into_response()
        }
    }
}

/// `/mcp` and its alias: the MCP protocol endpoint, whose envelope layer applies the
/// credential's limit itself.
fn is_mcp_protocol_path(path: &str) -> bool {
    path == "/mcp" || path == "/mcp/sse"
}

/// The credential's budget on a REST route: `Some(429)` when it is spent.
async fn credential_limit_refusal(
    state: &Edge,
    headers: &HeaderMap,
    path: &str,
    request_id: &str,
) -> Option<Response> {
    let (key, wait) = ratelimit::credential_over_limit(state, headers).await?;
    ratelimit::audit_refusal(state, &key, path, request_id, wait).await;
    Some(
        ApiError::TooManyRequests {
            message: credential_limit_message(state, wait),
            retry_after_secs: ratelimit::retry_after_secs(wait),
        }
        .into_response(),
    )
}

pub fn credential_limit_message(state: &Edge, wait: std::time::Duration) -> String {
    format!(
        "rate limit reached: this credential made {} requests in the last minute (TOKEN_RATE_LIMIT_PER_MINUTE); retry after {} s",
        state.config.limits.token_rate_limit_per_minute,
        ratelimit::retry_after_secs(wait)
    )
}

/// Reads a JSON body strictly: clear 400/413 instead of axum's plain-text rejections.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::BadRequest(format!("could not read the request body: {e}"))
        }
    })?;
    let value = aegis_core::envelope::parse_bounded(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// RFC 6750 step-up challenge for a missing scope.
pub fn scope_challenge(state: &Edge, headers: &HeaderMap, needed: &str) -> String {
    let base = base_url(&state.config, headers);
    let scope = if needed == SCOPE_READ {
        SCOPE_READ.to_string()
    } else {
        format!("{SCOPE_READ} {needed}")
    };
    format!(
        "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{base}/.well-known/oauth-protected-resource\""
    )
}
