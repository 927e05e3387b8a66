//! The MCP function's router: `/mcp` (+ `/mcp/sse`), `/mcp/tools`, `/mcp/tool/call`, `/`,
//! `/health`. The Lambda entry and the local shim both serve exactly this router.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::AuditEvent;
use crate::auth::{AuthError, Principal, SCOPE_READ};
use crate::dispatch::{self, audit_denial, CallError, Denial};
use crate::http::{
    base_url, body_limit, catch_panic, host_guard, request_id, request_timeout, ApiError,
    HostPolicy, RequestId,
};
use crate::mcp::{
    streamable_service, AuditFailure, AUDIT_UNAVAILABLE, PROTOCOL_VERSIONS, SERVER_NAME,
};
use crate::state::AppState;
use crate::tools::ToolError;

/// The whole MCP function (without the edge layers: `with_edge` adds them once around
/// whatever is served, a single function on Lambda or all of them in the shim).
pub fn mcp_router(state: AppState) -> Router {
    let hosts = Arc::new(HostPolicy::from_config(&state.config));
    let service = streamable_service(state.clone(), &hosts);
    let mcp = Router::new()
        .route_service("/mcp", service.clone())
        .route_service("/mcp/sse", service)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            jsonrpc_envelope,
        ));
    let protected = mcp
        .route("/mcp/tool/call", post(tool_call))
        .layer(middleware::from_fn_with_state(state.clone(), require_auth));
    let mut public = Router::new()
        .route("/", get(server_metadata))
        .route("/health", get(health))
        .route("/mcp/tools", get(list_tools));
    // On Lambda the metrics leave as EMF log lines instead (see `crate::metrics`).
    if state.config.metrics_enabled && !state.config.lambda_runtime {
        public = public.route("/metrics", get(crate::metrics::serve_metrics));
    }
    public.merge(protected).with_state(state)
}

/// The layers every function's router gets, outermost first: the HTTP request metrics (so
/// refusals of the others count too), request id (and the id in every error body), panic
/// guard, Host/Origin guard, rate limits, request timeout, body limit. Authentication and
/// the JSON-RPC envelope follow inside the routers.
pub fn with_edge(router: Router, state: &AppState) -> Router {
    let hosts = Arc::new(HostPolicy::from_config(&state.config));
    let production = state.config.environment == crate::config::Environment::Production;
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.config.max_request_body_bytes,
            body_limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.config.request_timeout_seconds,
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(hosts, host_guard))
        .layer(middleware::from_fn_with_state(production, catch_panic))
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
pub fn bearer_challenge(state: &AppState, headers: &HeaderMap, error: Option<&str>) -> String {
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
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    match state.authenticator.authenticate(req.headers()).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => {
            let (error, reason) = match e {
                AuthError::Missing => (None, "missing"),
                AuthError::Invalid => (Some("invalid_token"), "invalid"),
                AuthError::Malformed => (Some("invalid_token"), "malformed"),
            };
            state.metrics.auth_failure(reason);
            tracing::warn!(reason = %e, "authentication failed");
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            let event = AuditEvent::access_denied(format!("authentication failed: {e}"))
                .with_request_id(&request_id)
                .with_correlation_id(&request_id)
                .with_decision("deny")
                .with_context("path", req.uri().path());
            if state.audit.record(event).await.is_err() {
                return ApiError::Unavailable(
                    "the audit trail is unavailable; try again later".into(),
                )
                .into_response();
            }
            ApiError::Unauthorized {
                message: e.to_string(),
                www_authenticate: bearer_challenge(&state, req.headers(), error),
            }
            .into_response()
        }
    }
}

/// A JSON-RPC error answered before the protocol layer (HTTP 400, no `id`).
/// JSON-RPC error code for a call refused by the gate (scope, write mode, policy).
pub const DENIED: i64 = -32003;

/// A denial on `/mcp`: HTTP 403 with a JSON-RPC error naming the reason.
fn jsonrpc_denial(state: &AppState, headers: &HeaderMap, id: Value, denial: Denial) -> Response {
    tracing::warn!(reason = %denial, "tool call denied");
    let mut response = (
        StatusCode::FORBIDDEN,
        Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": DENIED, "message": format!("access denied: {denial}") },
        })),
    )
        .into_response();
    if let Denial::InsufficientScope { needed } = denial {
        if let Ok(v) = http::HeaderValue::from_str(&scope_challenge(state, headers, needed)) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, v);
        }
    }
    response
}

/// Reads the `/mcp` body once, bounded, and refuses what is not one JSON-RPC message:
/// malformed JSON (-32700), batches and non-objects (-32600), an oversized body (413).
/// The body is handed on unchanged.
async fn jsonrpc_envelope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let limit = state.config.max_request_body_bytes;
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::PayloadTooLarge(limit).into_response(),
    };
    let envelope = match crate::envelope::parse_envelope(&bytes) {
        Ok(e) => e,
        Err(e) => return crate::http::jsonrpc_error(StatusCode::BAD_REQUEST, e.code, e.message),
    };
    let message = &envelope.message;
    let tool = envelope.tool().map(str::to_string);
    // The gate, before the protocol layer: a denied call is an HTTP 403 and never reaches
    // Gitea. Unknown tools pass on so the protocol layer answers -32602 itself.
    if let (Some(tool), Some(principal)) = (&tool, parts.extensions.get::<Principal>()) {
        let arguments = envelope.arguments();
        let gate = match dispatch::authorize(&state, principal, tool, arguments) {
            Ok(a) => {
                dispatch::check_repo_permission(&state, principal, a.spec.kind, a.repo.as_ref())
                    .await
            }
            Err(d) => Err(d),
        };
        match gate {
            // Unknown tools and bad arguments are the protocol layer's to answer (-32602).
            Ok(()) | Err(Denial::UnknownTool(_)) | Err(Denial::BadArguments(_)) => {}
            Err(denial) => {
                let id = message.get("id").cloned().unwrap_or(Value::Null);
                let request_id = parts
                    .extensions
                    .get::<RequestId>()
                    .map(|r| r.0.clone())
                    .unwrap_or_default();
                if audit_denial(&state, principal, &request_id, tool, arguments, &denial)
                    .await
                    .is_err()
                {
                    return audit_unavailable(id);
                }
                return jsonrpc_denial(&state, &parts.headers, id, denial);
            }
        }
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let parts_request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    // The protocol layer can only answer 200 with a JSON-RPC error; the handler raises this
    // flag instead when the audit trail failed, and the answer becomes a 503 here.
    let audit_failed = AuditFailure::default();
    parts.extensions.insert(audit_failed.clone());
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    if audit_failed.is_raised() {
        return audit_unavailable(id);
    }
    let request_id = parts_request_id.unwrap_or_default();
    with_request_id_in_rpc_error(response, &request_id).await
}

/// Largest protocol-layer answer inspected for a JSON-RPC error (tool results are bounded
/// far below this by `MAX_TOOL_RESPONSE_CHARS`; a larger one is answered 500, since it
/// cannot be checked).
const MAX_INSPECTED_ANSWER: usize = 16 * 1024 * 1024;

/// The protocol layer answers errors with HTTP 200 and a JSON-RPC error; those carry the
/// request id in `error.data.request_id` like every other error. Results pass unchanged
/// (a probe that allocates nothing decides).
async fn with_request_id_in_rpc_error(response: Response, request_id: &str) -> Response {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde::de::IgnoredAny>,
    }
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() != StatusCode::OK || !json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_INSPECTED_ANSWER).await else {
        return ApiError::Internal("a protocol answer was too large to inspect".into())
            .into_response();
    };
    let is_error = serde_json::from_slice::<Probe>(&bytes).is_ok_and(|p| p.error.is_some());
    if !is_error {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut message)) => {
            crate::http::tag_jsonrpc_error(&mut message, request_id);
            parts.headers.remove(http::header::CONTENT_LENGTH);
            serde_json::to_vec(&message)
                .map(Bytes::from)
                .unwrap_or(bytes)
        }
        _ => bytes,
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn audit_unavailable(id: Value) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {
                "code": AUDIT_UNAVAILABLE,
                "message": "the audit trail is unavailable, so the call was refused; try again later",
            },
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(30u32));
    response
}

async fn server_metadata(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state.config, &headers);
    Json(json!({
        "name": SERVER_NAME,
        "title": "AegisGitea MCP",
        "version": env!("CARGO_PKG_VERSION"),
        "mcp_endpoint": format!("{base}/mcp"),
        "tools_endpoint": format!("{base}/mcp/tools"),
        "protocol_versions": PROTOCOL_VERSIONS.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "transport": "streamable-http",
        "auth_mode": state.authenticator.mode(),
        "write_mode": state.config.write_mode,
        "tool_count": state.tools.iter().count(),
    }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "healthy", "version": env!("CARGO_PKG_VERSION") }))
}

async fn list_tools(State(state): State<AppState>) -> Json<Value> {
    let tools: Vec<_> = state
        .tools
        .iter()
        .filter(|s| dispatch::offered(&state, s))
        .map(|s| &s.tool)
        .collect();
    Json(json!({ "tools": tools }))
}

/// `POST /mcp/tool/call` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolCallRequest {
    tool: String,
    #[serde(default)]
    arguments: Option<serde_json::Map<String, Value>>,
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
    let value = crate::envelope::parse_bounded(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

async fn tool_call(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let call: ToolCallRequest = parse_json_body(body, state.config.max_request_body_bytes)?;
    let result = dispatch::call(
        &state,
        principal,
        request_id.clone(),
        &call.tool,
        call.arguments,
    )
    .await;
    match result {
        Ok(result) => Ok(Json(json!({
            "success": true,
            "tool": call.tool,
            "result": result.structured,
            "text": result.text,
            "correlation_id": request_id,
        }))),
        Err(CallError::Denied(denial)) => Err(denial_error(&state, &headers, denial)),
        Err(e @ (CallError::AuditUnavailable(_) | CallError::Aborted)) => {
            Err(ApiError::Unavailable(e.to_string()))
        }
        Err(CallError::Tool(e)) => Err(match e {
            ToolError::InvalidArguments(m) => {
                ApiError::BadRequest(format!("invalid arguments: {m}"))
            }
            ToolError::NotFound(m) => ApiError::NotFound(m),
            ToolError::Forbidden(m) => ApiError::Forbidden {
                message: m,
                www_authenticate: None,
            },
            ToolError::Conflict(m) => ApiError::BadRequest(m),
            ToolError::RateLimited(m) => ApiError::TooManyRequests {
                message: m,
                retry_after_secs: 30,
            },
            ToolError::Upstream(m) => ApiError::BadGateway(m),
        }),
    }
}

/// A denial as an HTTP error: 404 for a tool that does not exist here, 403 otherwise
/// (with the `insufficient_scope` challenge when a scope is missing).
fn denial_error(state: &AppState, headers: &HeaderMap, denial: Denial) -> ApiError {
    match denial {
        Denial::UnknownTool(_) => ApiError::NotFound(denial.to_string()),
        Denial::BadArguments(_) => ApiError::BadRequest(denial.to_string()),
        Denial::InsufficientScope { needed } => ApiError::Forbidden {
            message: denial.to_string(),
            www_authenticate: Some(scope_challenge(state, headers, needed)),
        },
        Denial::Forbidden { .. } => ApiError::Forbidden {
            message: denial.to_string(),
            www_authenticate: None,
        },
    }
}

/// RFC 6750 step-up challenge for a missing scope.
pub fn scope_challenge(state: &AppState, headers: &HeaderMap, needed: &str) -> String {
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
