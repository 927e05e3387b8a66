//! Test support: building routers from variables and talking to them in process.

use std::collections::HashMap;

use aegis_core::Config;
use aegis_local::AppState;
use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// The API key every test router accepts.
pub const API_KEY: &str = "test-api-key-0123456789abcdef0123456789";

/// Variables for a router in API-key mode against `gitea_url`, plus `extra`.
pub fn vars(
    gitea_url: &str,
    service_token: &str,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let data = tempfile::tempdir().expect("tempdir").keep();
    let mut vars: HashMap<String, String> = [
        ("GITEA_URL", gitea_url.to_string()),
        ("MCP_API_KEYS", API_KEY.to_string()),
        ("GITEA_TOKEN", service_token.to_string()),
        ("DATA_DIR", data.display().to_string()),
        (
            "DCR_STORAGE_PATH",
            data.join("dcr.json").display().to_string(),
        ),
        ("AUDIT_LOG_PATH", data.join("audit").display().to_string()),
        ("ENVIRONMENT", "development".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

/// The local shim's router (every function) built from `vars`.
pub async fn router(vars: &HashMap<String, String>) -> Router {
    let config = Config::from_vars(vars).expect("valid test configuration");
    let state = AppState::from_config(config).await.expect("state");
    aegis_local::router(state)
}

/// A router whose Gitea does not exist: for protocol tests that never reach Gitea.
pub async fn offline_router(extra: &[(&str, &str)]) -> Router {
    router(&vars("http://127.0.0.1:9", "unused-token", extra)).await
}

/// One HTTP exchange's outcome.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    /// Asserts the status, showing the body when it differs.
    pub fn assert_status(&self, status: StatusCode) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through the router.
pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// A POST to `/mcp` with the standard headers, the API key and `extra` headers.
pub fn mcp_request(body: impl Into<Body>, extra: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {API_KEY}"))
        .body(body.into())
        .expect("request");
    for (k, v) in extra {
        let name = http::HeaderName::from_bytes(k.as_bytes()).expect("header name");
        req.headers_mut()
            .insert(name, v.parse().expect("header value"));
    }
    req
}

/// POSTs a JSON-RPC message to `/mcp` at protocol version 2025-11-25.
pub async fn rpc(router: &Router, message: Value) -> Reply {
    send(
        router,
        mcp_request(
            message.to_string(),
            &[("mcp-protocol-version", "2025-11-25")],
        ),
    )
    .await
}

/// `tools/call` through `/mcp`; returns the JSON-RPC `result` or `error` object.
pub async fn call_tool(router: &Router, name: &str, arguments: Value) -> Value {
    let reply = rpc(
        router,
        serde_json::json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": { "name": name, "arguments": arguments }
        }),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let v = reply.json();
    v.get("result")
        .or_else(|| v.get("error"))
        .cloned()
        .unwrap_or(v)
}
