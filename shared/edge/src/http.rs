//! The HTTP edge shared by every function: one error type, request ids, Host/Origin checks.
//!
//! Error kinds map to status codes here and nowhere else; bodies carry a message and the
//! request id, never internal details.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tracing::Instrument;

use aegis_core::config::Config;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of the current request (set by `request_id` middleware).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An error answered over HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Unauthorized {
        message: String,
        www_authenticate: String,
    },
    #[error("{message}")]
    Forbidden {
        message: String,
        www_authenticate: Option<String>,
    },
    #[error("{0}")]
    NotFound(String),
    /// The request repeats one that was already handled (a replayed webhook delivery)
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("the request took longer than {0} s (REQUEST_TIMEOUT_SECONDS)")]
    Timeout(u64),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::BadGateway(_) => "bad_gateway",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Timeout(_) => "timeout",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            // The detail goes to the log only.
            tracing::error!(detail = %detail, "internal error");
        }
        let status = self.status();
        let body = json!({ "error": self.code(), "message": self.to_string() });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized {
                www_authenticate, ..
            }
            | ApiError::Forbidden {
                www_authenticate: Some(www_authenticate),
                ..
            } => {
                if let Ok(v) = HeaderValue::from_str(www_authenticate) {
                    headers.insert(http::header::WWW_AUTHENTICATE, v);
                }
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(
                    http::header::RETRY_AFTER,
                    HeaderValue::from(*retry_after_secs),
                );
            }
            _ => {}
        }
        response
    }
}

/// Accepts a well-formed `X-Request-ID` or makes one; echoes it on the response and adds
/// it to JSON error bodies.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let response = next.run(req).instrument(span).await;
    let mut response = with_request_id_in_error(response, &id).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// Largest error body rewritten to carry the request id (ours are a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Every error answer carries the request id in its body: JSON objects get `request_id`
/// (JSON-RPC errors in `error.data.request_id`), and anything else (axum's plain-text
/// rejections: 405, 415, 422, ...) becomes the edge's JSON error body.
async fn with_request_id_in_error(response: Response, id: &str) -> Response {
    let status = response.status();
    // HTML error pages (the consent flow's) are for people; they carry the id in the
    // `X-Request-ID` header only.
    let html = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut map)) => {
            if map.contains_key("jsonrpc") {
                tag_jsonrpc_error(&mut map, id);
            } else {
                map.insert("request_id".into(), id.into());
            }
            serde_json::Value::Object(map)
        }
        _ => {
            let text = String::from_utf8_lossy(&bytes);
            let message = if text.trim().is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_ascii_lowercase()
            } else {
                text.trim().to_string()
            };
            json!({
                "error": error_code_for(status),
                "message": message,
                "request_id": id,
            })
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Puts the request id into a JSON-RPC error's `data` (an object; a non-object `data`
/// moves to `data.detail`). Returns whether `message` was an error.
pub fn tag_jsonrpc_error(
    message: &mut serde_json::Map<String, serde_json::Value>,
    id: &str,
) -> bool {
    let Some(serde_json::Value::Object(error)) = message.get_mut("error") else {
        return false;
    };
    match error
        .entry("data")
        .or_insert_with(|| serde_json::Value::Object(Default::default()))
    {
        serde_json::Value::Object(data) => {
            data.insert("request_id".into(), id.into());
        }
        other => {
            *other = json!({ "detail": other.take(), "request_id": id });
        }
    }
    true
}

/// The `error` word of an answer the edge did not build itself.
fn error_code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "bad_request",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal_error",
        _ => "error",
    }
}

/// Whether `path` is served by the MCP endpoint, whose errors are JSON-RPC errors.
pub(crate) fn is_mcp_path(path: &str) -> bool {
    path == "/mcp" || path.starts_with("/mcp/")
}

/// A JSON-RPC error answer with no request id (the request could not be read or was
/// refused before it was).
/// Why `/mcp` answers a JSON-RPC error itself, before or instead of the protocol layer. The
/// HTTP status of each is chosen here, in [`jsonrpc_refusal`], as `ApiError::status` chooses
/// it for the REST routes: handlers name what happened, not a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonRpcRefusal {
    /// Not one JSON-RPC message (malformed, a batch, too deep, a bad shape): 400
    BadMessage,
    /// The gate refused a call before the protocol layer (the scope step-up): 403
    Denied,
    /// A rate limit: 429
    RateLimited,
    /// The audit trail cannot record the call: 503
    AuditUnavailable,
}

/// A JSON-RPC error response for `refusal`, answering `id` (`null` when the message had none).
pub fn jsonrpc_refusal(
    refusal: JsonRpcRefusal,
    id: serde_json::Value,
    code: i64,
    message: impl Into<String>,
) -> Response {
    let status = match refusal {
        JsonRpcRefusal::BadMessage => StatusCode::BAD_REQUEST,
        JsonRpcRefusal::Denied => StatusCode::FORBIDDEN,
        JsonRpcRefusal::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        JsonRpcRefusal::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": message.into() },
        })),
    )
        .into_response()
}

/// A JSON-RPC error at an `ApiError`'s status (the request timeout on `/mcp`).
fn jsonrpc_error(status: StatusCode, code: i64, message: String) -> Response {
    (
        status,
        Json(json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response()
}

/// Bounds the time to an answer (`REQUEST_TIMEOUT_SECONDS`): 504 with a JSON body (a
/// JSON-RPC error on `/mcp`). The handler's future is dropped, so its Gitea calls stop.
pub async fn request_timeout(State(secs): State<u64>, req: Request, next: Next) -> Response {
    let mcp = is_mcp_path(req.uri().path());
    match tokio::time::timeout(std::time::Duration::from_secs(secs), next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = secs, "request timed out");
            let error = ApiError::Timeout(secs);
            if mcp {
                jsonrpc_error(error.status(), -32001, error.to_string())
            } else {
                error.into_response()
            }
        }
    }
}

/// A panic in a handler becomes a 500 with a plain body; the panic message goes to the
/// log, and to the body only outside production (`ENVIRONMENT`).
pub async fn catch_panic(State(production): State<bool>, req: Request, next: Next) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            tracing::error!(detail = %detail, "handler panicked");
            let mut body = json!({ "error": "internal_error", "message": "internal error" });
            if !production {
                body["detail"] = detail.into();
            }
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Refuses a declared `Content-Length` over `limit` with a JSON 413 before reading, and
/// bounds bodies without one so a reader fails at the limit instead of buffering more.
pub async fn body_limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return crate::refusals::Refused::tag(
            ApiError::PayloadTooLarge(limit).into_response(),
            "body_too_large",
            format!("declared Content-Length over {limit} bytes"),
        );
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Names and origins the server answers to, built once from configuration.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// Lowercase host names (without port) accepted in `Host`
    pub hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) accepted in `Origin`
    pub origins: Vec<String>,
}

impl HostPolicy {
    pub fn from_config(config: &Config) -> Self {
        let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        let mut origins: Vec<String> = config
            .allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        if let Some(url) = &config.public_base_url {
            if let Some(h) = url.host_str() {
                hosts.push(h.trim_matches(['[', ']']).to_ascii_lowercase());
            }
            origins.push(url.origin().ascii_serialization().to_ascii_lowercase());
        }
        if !config.mcp_host.is_loopback() && !config.mcp_host.is_unspecified() {
            hosts.push(config.mcp_host.to_string());
        }
        hosts.extend(config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Self { hosts, origins }
    }

    /// The `Host` header (authority, possibly with a port) is one of ours.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = if let Some(rest) = host.strip_prefix('[') {
            rest.split(']').next().unwrap_or_default().to_string()
        } else {
            host.rsplit_once(':')
                .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
                .map(|(h, _)| h.to_string())
                .unwrap_or(host)
        };
        self.hosts.contains(&name)
    }

    /// A present `Origin` must be one we allow, or a loopback origin when we are local.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        // Same-machine browser tools (the MCP inspector) on loopback are allowed only when
        // explicitly listed; everything else is refused.
        false
    }
}

/// DNS-rebinding defence for every route: refuses a foreign `Host` or `Origin` with 403.
pub async fn host_guard(
    State(policy): State<std::sync::Arc<HostPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    if let Err(e) = check_host(&policy, req.headers()) {
        let detail = e.to_string();
        return crate::refusals::Refused::tag(e.into_response(), "host_origin", detail);
    }
    next.run(req).await
}

fn check_host(policy: &HostPolicy, headers: &HeaderMap) -> Result<(), ApiError> {
    for host in headers.get_all(http::header::HOST) {
        let host = host.to_str().unwrap_or_default();
        if !policy.host_allowed(host) {
            return Err(ApiError::Forbidden {
                message: format!(
                    "host `{}` is not served here (set PUBLIC_BASE_URL or ALLOWED_HOSTS)",
                    host.escape_default()
                ),
                www_authenticate: None,
            });
        }
    }
    // Same-origin requests (our own consent form) carry `Origin: <scheme>://<Host>`; the
    // Host was just checked, so such an Origin is ours.
    let own_host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.to_ascii_lowercase());
    for origin in headers.get_all(http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let lowered = origin.trim_end_matches('/').to_ascii_lowercase();
        let same_origin = own_host
            .as_deref()
            .is_some_and(|h| lowered == format!("http://{h}") || lowered == format!("https://{h}"));
        if !same_origin && !policy.origin_allowed(origin) {
            return Err(ApiError::Forbidden {
                message: format!(
                    "origin `{}` is not allowed (set ALLOWED_ORIGINS)",
                    origin.escape_default()
                ),
                www_authenticate: None,
            });
        }
    }
    Ok(())
}

/// The media type of one `Accept` or `Content-Type` entry, without its parameters,
/// lowercase: `"Application/JSON; charset=utf-8"` is `application/json`.
pub fn media_essence(entry: &str) -> String {
    entry
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The media types header `name` lists, over all its values and comma-separated entries.
pub fn media_types(
    headers: &HeaderMap,
    name: http::HeaderName,
) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(media_essence)
}

/// The absolute base URL of this server: `PUBLIC_BASE_URL`, else derived from `Host`.
pub fn base_url(config: &Config, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_base_url {
        return url.as_str().trim_end_matches('/').to_string();
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// (issuer, resource) for a request: the base URL, and the MCP endpoint access tokens are
/// bound to (the OAuth metadata and the bearer-token check both need it).
pub fn resource_url_for(config: &Config, headers: &HeaderMap) -> (String, String) {
    let base = base_url(config, headers);
    let resource = format!("{base}/mcp");
    (base, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HostPolicy {
        HostPolicy {
            hosts: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                "mcp.example.com".into(),
            ],
            origins: vec!["https://mcp.example.com".into()],
        }
    }

    #[test]
    fn hosts_and_origins() {
        let p = policy();
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "MCP.example.com",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "127.0.0.1.evil.com",
            "mcp.example.com.evil",
            "",
        ] {
            assert!(!p.host_allowed(bad), "{bad}");
        }
        assert!(p.origin_allowed("https://mcp.example.com"));
        assert!(!p.origin_allowed("https://evil.example.com"));
        assert!(!p.origin_allowed("null"));
    }

    #[test]
    fn request_ids() {
        assert!(valid_request_id("abc-123_x.y:z"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id(&"a".repeat(129)));
    }
}
