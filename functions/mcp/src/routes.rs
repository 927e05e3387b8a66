//! The MCP function's router: `/mcp` (+ `/mcp/sse`), `/mcp/tools`, `/mcp/tool/call`, `/`,
//! `/health`. The Lambda entry and the local shim both serve exactly this router.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use aegis_core::envelope::MessageKind;
use aegis_edge::auth::{Principal, SCOPE_READ};
use aegis_edge::http::{
    base_url, jsonrpc_refusal, media_types, ApiError, HostPolicy, JsonRpcRefusal, RequestId,
};
use aegis_edge::layers::{
    credential_limit_message, parse_json_body, require_auth, scope_challenge,
};
use aegis_edge::ratelimit;
use aegis_edge::refusals::Refused;
use aegis_mcp::dispatch::{self, audit_denial, CallError, Denial};
use aegis_mcp::protocol::{
    streamable_service, AuditFailure, DirectToolCall, AUDIT_UNAVAILABLE, PROTOCOL_VERSIONS,
    SERVER_NAME,
};
use aegis_mcp::tools::ToolError;
use aegis_mcp::McpState;

/// The whole MCP function (without the edge layers: `with_edge` adds them once around
/// whatever is served, a single function on Lambda or all of them in the shim).
pub fn mcp_router(state: McpState) -> Router {
    let hosts = Arc::new(HostPolicy::from_config(&state.edge.config));
    // One transport for every request, borrowed: rmcp's own `Service::call` clones the whole
    // transport (its configuration's host list, its cancellation token) twice per request.
    let service = Arc::new(streamable_service(state.clone(), &hosts));
    let transport = any(move |req: Request| {
        let service = service.clone();
        async move { service.handle(req).await }
    });
    let mcp = Router::new()
        .route("/mcp", transport.clone())
        .route("/mcp/sse", transport)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            jsonrpc_envelope,
        ));
    let protected =
        mcp.route("/mcp/tool/call", post(tool_call))
            .layer(middleware::from_fn_with_state(
                state.edge.clone(),
                require_auth,
            ));
    let mut public = Router::new()
        .route("/", get(server_metadata))
        .route("/health", get(health))
        .route("/mcp/tools", get(list_tools));
    // On Lambda the metrics leave as EMF log lines instead (see `aegis_edge::metrics`).
    if state.edge.config.metrics_enabled && !state.edge.config.lambda_runtime {
        let endpoint = aegis_edge::metrics::MetricsEndpoint {
            metrics: state.edge.metrics.clone(),
            token: state.edge.config.metrics_token.clone(),
        };
        public = public.route(
            "/metrics",
            get(aegis_edge::metrics::serve_metrics).with_state(endpoint),
        );
    }
    public.merge(protected).with_state(state)
}

/// A JSON-RPC error answered before the protocol layer (HTTP 400, no `id`).
/// JSON-RPC error code for a call refused by the gate (scope, write mode, policy).
pub const DENIED: i64 = -32003;

/// A denial on `/mcp`: HTTP 403 with a JSON-RPC error naming the reason.
fn jsonrpc_denial(state: &McpState, headers: &HeaderMap, id: Value, denial: Denial) -> Response {
    tracing::warn!(reason = %denial, "tool call denied");
    let mut response = jsonrpc_refusal(
        JsonRpcRefusal::Denied,
        id,
        DENIED,
        format!("access denied: {denial}"),
    );
    if let Denial::InsufficientScope { needed } = denial {
        if let Ok(v) = http::HeaderValue::from_str(&scope_challenge(&state.edge, headers, needed)) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, v);
        }
    }
    response
}

/// Reads the `/mcp` body once, bounded, and refuses what is not one JSON-RPC message:
/// malformed JSON (-32700), batches, non-objects and bad shapes such as `"id": null`
/// (-32600), an oversized body (413), all HTTP 400/413 with a JSON-RPC error body. Then,
/// for a request, the credential's limit (a `tools/call` over it is an `isError` result,
/// any other request a JSON-RPC error, both HTTP 200 so the client's session survives)
/// and the scope check of a `tools/call` (HTTP 403 `insufficient_scope`, the MCP step-up
/// challenge; likewise a resource read, completion or prompt without `read:repository`).
/// Every other refusal of a call (arguments, write mode, whitelist, policy,
/// permission) is the handler's tool result with `isError` (`aegis_mcp::protocol`). A plain
/// `tools/call` of a revision before 2026-07-28 is answered here (`DirectToolCall`, the
/// answer rmcp would give); anything else is handed on unchanged, and the protocol layer's
/// own HTTP errors get JSON-RPC bodies.
async fn jsonrpc_envelope(State(state): State<McpState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let limit = state.edge.config.max_request_body_bytes;
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return Refused::tag(
                ApiError::PayloadTooLarge(limit).into_response(),
                "body_too_large",
                format!("body over {limit} bytes"),
            )
        }
    };
    let refused = |e: aegis_core::envelope::EnvelopeError| {
        let kind = if e.code == aegis_core::envelope::PARSE_ERROR {
            "jsonrpc_parse_error"
        } else {
            "jsonrpc_invalid_request"
        };
        let detail = e.message.clone();
        Refused::tag(
            jsonrpc_refusal(JsonRpcRefusal::BadMessage, Value::Null, e.code, e.message),
            kind,
            detail,
        )
    };
    let envelope = match aegis_core::envelope::parse_envelope(&bytes) {
        Ok(e) => e,
        Err(e) => return refused(e),
    };
    let kind = match aegis_core::envelope::message_kind(&envelope) {
        Ok(kind) => kind,
        Err(e) => return refused(e),
    };
    let id = envelope.id();
    let method = envelope.method().map(str::to_string);
    let tool = envelope.tool().map(str::to_string);
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    if kind == MessageKind::Request {
        if let Some((key, wait)) =
            ratelimit::credential_over_limit(&state.edge, &parts.headers).await
        {
            let path = parts.uri.path().to_string();
            ratelimit::audit_refusal(&state.edge, &key, &path, &request_id, wait).await;
            let stateless = parts
                .headers
                .get("mcp-protocol-version")
                .is_some_and(|v| v.as_bytes() == b"2026-07-28");
            return credential_limited(&state, id, tool.is_some(), wait, &request_id, stateless);
        }
    }
    if let (Some(tool), Some(principal)) = (&tool, parts.extensions.get::<Principal>()) {
        let arguments = envelope.arguments();
        if let Err(denial @ Denial::InsufficientScope { .. }) =
            dispatch::authorize(&state, principal, tool, arguments)
        {
            if audit_denial(&state, principal, &request_id, tool, arguments, &denial)
                .await
                .is_err()
            {
                return audit_unavailable(id);
            }
            return jsonrpc_denial(&state, &parts.headers, id, denial);
        }
    }
    // Resource reads, completions and prompts read repositories: without `read:repository`
    // they get the same step-up challenge a read tool gets (each tool call they make checks
    // the scope again in the gate).
    if let (Some(method), Some(principal)) = (&method, parts.extensions.get::<Principal>()) {
        if aegis_mcp::resources::READING_METHODS.contains(&method.as_str())
            && !principal.has_scope(SCOPE_READ)
        {
            let denial = Denial::InsufficientScope { needed: SCOPE_READ };
            if audit_denial(&state, principal, &request_id, method, None, &denial)
                .await
                .is_err()
            {
                return audit_unavailable(id);
            }
            return jsonrpc_denial(&state, &parts.headers, id, denial);
        }
    }
    accept_json_answers(&mut parts.headers);
    if let (Some(principal), Some(call)) = (
        parts.extensions.get::<Principal>(),
        DirectToolCall::eligible(&parts.headers, &bytes),
    ) {
        let answer = call.answer(&state, principal.clone(), &request_id).await;
        if answer.audit_failed {
            return audit_unavailable(id);
        }
        let response = (
            [(http::header::CONTENT_TYPE, "application/json")],
            answer.body,
        )
            .into_response();
        if !answer.is_error {
            return response;
        }
        return with_request_id_in_rpc_error(response, &request_id, method.as_deref()).await;
    }
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
    if response.status().is_client_error() {
        return protocol_refusal_as_jsonrpc(response, id).await;
    }
    with_request_id_in_rpc_error(response, &request_id, method.as_deref()).await
}

/// Every answer of ours is JSON (stateless, no streams), so a client that accepts
/// anything (`*/*`, `application/*`) or JSON accepts what it gets: the header the
/// protocol layer insists on (both JSON and an event stream) is supplied for it.
fn accept_json_answers(headers: &mut HeaderMap) {
    let accepts_json = media_types(headers, http::header::ACCEPT)
        .any(|v| v == "*/*" || v == "application/*" || v == "application/json");
    if accepts_json || !headers.contains_key(http::header::ACCEPT) {
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json, text/event-stream"),
        );
    }
}

/// A request over the credential's budget: a `tools/call` gets a tool result with
/// `isError` the model can act on, any other request a JSON-RPC error; HTTP 200 with
/// `Retry-After` either way, so clients that end their session on an HTTP error keep it.
fn credential_limited(
    state: &McpState,
    id: Value,
    tool_call: bool,
    wait: std::time::Duration,
    request_id: &str,
    stateless: bool,
) -> Response {
    let message = credential_limit_message(&state.edge, wait);
    let secs = ratelimit::retry_after_secs(wait);
    let body = if tool_call {
        let mut body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": {
                "content": [{ "type": "text", "text": message }],
                "isError": true,
                "_meta": { aegis_mcp::protocol::CORRELATION_META_KEY: request_id },
            },
        });
        // 2026-07-28 results say they are complete (rmcp adds it to the results it builds).
        if stateless {
            body["result"]["resultType"] = json!("complete");
        }
        body
    } else {
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {
                "code": ratelimit::RATE_LIMITED,
                "message": message,
                "data": { "retry_after_seconds": secs, "request_id": request_id },
            },
        })
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    response
}

/// The protocol layer refuses some requests with a bare HTTP error (an unsupported
/// `MCP-Protocol-Version` 400, a wrong `Content-Type` 415, an `Accept` without JSON 406):
/// the status stays, the body becomes a JSON-RPC error with the request's id.
async fn protocol_refusal_as_jsonrpc(response: Response, id: Value) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(&bytes) {
        if message.contains_key("jsonrpc") {
            return Response::from_parts(parts, axum::body::Body::from(bytes));
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    // rmcp prefixes its messages with the status's reason phrase.
    let reason = parts.status.canonical_reason().unwrap_or_default();
    let detail = text
        .strip_prefix(reason)
        .map(|t| t.trim_start_matches(':').trim())
        .unwrap_or(text);
    let message = if detail.is_empty() {
        reason.to_ascii_lowercase()
    } else {
        let mut chars = detail.chars();
        chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default()
    };
    let mut answer = (
        parts.status,
        Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": aegis_core::envelope::INVALID_REQUEST, "message": message },
        })),
    )
        .into_response();
    for (name, value) in parts.headers.iter() {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// Largest protocol-layer answer inspected for a JSON-RPC error (tool results are bounded
/// far below this by `MAX_TOOL_RESPONSE_CHARS`; a larger one is answered 500, since it
/// cannot be checked).
const MAX_INSPECTED_ANSWER: usize = 16 * 1024 * 1024;

/// The protocol layer answers errors with HTTP 200 and a JSON-RPC error; those carry the
/// request id in `error.data.request_id` like every other error, and an unknown method's
/// error names the method. Results pass unchanged (a probe that allocates nothing
/// decides).
async fn with_request_id_in_rpc_error(
    response: Response,
    request_id: &str,
    method: Option<&str>,
) -> Response {
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
            name_unknown_method(&mut message, method);
            aegis_edge::http::tag_jsonrpc_error(&mut message, request_id);
            parts.headers.remove(http::header::CONTENT_LENGTH);
            serde_json::to_vec(&message)
                .map(Bytes::from)
                .unwrap_or(bytes)
        }
        _ => bytes,
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// `-32601` says which method: `method not found: <name>`.
fn name_unknown_method(message: &mut serde_json::Map<String, Value>, method: Option<&str>) {
    let (Some(Value::Object(error)), Some(method)) = (message.get_mut("error"), method) else {
        return;
    };
    if error.get("code").and_then(Value::as_i64) == Some(-32601) {
        error.insert(
            "message".into(),
            format!("method not found: {}", method.escape_default()).into(),
        );
    }
}

fn audit_unavailable(id: Value) -> Response {
    let mut response = jsonrpc_refusal(
        JsonRpcRefusal::AuditUnavailable,
        id,
        i64::from(AUDIT_UNAVAILABLE),
        "the audit trail is unavailable, so the call was refused; try again later",
    );
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(30u32));
    response
}

async fn server_metadata(State(state): State<McpState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state.edge.config, &headers);
    Json(json!({
        "name": SERVER_NAME,
        "title": "AegisGitea MCP",
        "version": env!("CARGO_PKG_VERSION"),
        "mcp_endpoint": format!("{base}/mcp"),
        "tools_endpoint": format!("{base}/mcp/tools"),
        "protocol_versions": PROTOCOL_VERSIONS.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "transport": "streamable-http",
        "auth_mode": state.edge.authenticator.mode(),
        "write_mode": state.edge.config.write.enabled,
        "tool_count": state.tools.iter().filter(|s| dispatch::offered(&state, s)).count(),
    }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "healthy", "version": env!("CARGO_PKG_VERSION") }))
}

async fn list_tools(State(state): State<McpState>) -> Json<Value> {
    let tools: Vec<_> = state
        .tools
        .iter()
        .filter(|s| dispatch::offered(&state, s))
        .map(|s| s.tool())
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

async fn tool_call(
    State(state): State<McpState>,
    Extension(principal): Extension<Principal>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let call: ToolCallRequest = parse_json_body(body, state.edge.config.max_request_body_bytes)?;
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
            "text": result.text.as_str(),
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
fn denial_error(state: &McpState, headers: &HeaderMap, denial: Denial) -> ApiError {
    match denial {
        Denial::UnknownTool(_) => ApiError::NotFound(denial.to_string()),
        Denial::BadArguments(_) => ApiError::BadRequest(denial.to_string()),
        Denial::InsufficientScope { needed } => ApiError::Forbidden {
            message: denial.to_string(),
            www_authenticate: Some(scope_challenge(&state.edge, headers, needed)),
        },
        Denial::Forbidden { .. } => ApiError::Forbidden {
            message: denial.to_string(),
            www_authenticate: None,
        },
    }
}
