//! The MCP transport as clients see it: versions, discovery, headers, auth, bad input.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

fn initialize(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": { "name": "it", "version": "1" }
        }
    })
}

#[tokio::test]
async fn initialize_negotiates_every_supported_version() {
    let router = offline_router(&[]).await;
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let reply = send(&router, mcp_request(initialize(version).to_string(), &[])).await;
        assert_eq!(reply.status, StatusCode::OK, "{version}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let v = reply.json();
        assert_eq!(v["result"]["protocolVersion"], version, "{v}");
        assert_eq!(v["result"]["serverInfo"]["name"], "aegis-gitea-mcp");
        assert!(v["result"]["capabilities"]["tools"].is_object());
        assert!(
            reply.header("mcp-session-id").is_none(),
            "stateless: no session"
        );
    }
    // An unknown (future) version is answered with one we support.
    let v = send(
        &router,
        mcp_request(initialize("2099-01-01").to_string(), &[]),
    )
    .await
    .json();
    let got = v["result"]["protocolVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"].contains(&got.as_str()),
        "{v}"
    );
}

fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "it", "version": "1" }
    })
}

#[tokio::test]
async fn protocol_2026_is_stateless_with_discover_and_method_headers() {
    let router = offline_router(&[]).await;
    let discover = json!({
        "jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": { "_meta": meta_2026() }
    });
    let reply = send(
        &router,
        mcp_request(
            discover.to_string(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "server/discover"),
            ],
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let v = reply.json();
    let versions = v["result"]["supportedVersions"].to_string();
    assert!(
        versions.contains("2026-07-28") && versions.contains("2025-03-26"),
        "{v}"
    );

    // tools/list without any initialize, 2026 style.
    let list = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/list",
        "params": { "_meta": meta_2026() }
    });
    let reply = send(
        &router,
        mcp_request(
            list.to_string(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json()["result"]["tools"]
        .as_array()
        .is_some_and(|t| t.len() >= 4));

    // A header that contradicts the body is refused.
    let reply = send(
        &router,
        mcp_request(
            list.to_string(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json()["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("Mcp-Method")));

    // So is an Mcp-Name that does not match the tool.
    let call = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": "list_repositories", "arguments": {}, "_meta": meta_2026() }
    });
    let reply = send(
        &router,
        mcp_request(
            call.to_string(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "get_file_contents"),
            ],
        ),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

/// (case, request, expected status, expected JSON-RPC error code if any)
#[tokio::test]
async fn bad_input_gets_the_right_error() {
    let router = offline_router(&[("MAX_REQUEST_BODY_BYTES", "4096")]).await;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "a".repeat(5000)
    );
    // A tool's own refusal: a `tools/call` result with `isError` (HTTP 200), which the
    // model can read and correct (docs/adr/0007-mcp-error-model.md).
    const TOOL_ERROR: i64 = 0;
    let cases: Vec<(&str, Request<Body>, StatusCode, Option<i64>)> = vec![
        (
            "null id",
            mcp_request(r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "method is not a string",
            mcp_request(r#"{"jsonrpc":"2.0","id":1,"method":5}"#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "neither request nor response",
            mcp_request(r#"{"jsonrpc":"2.0","id":1}"#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "invalid tools/list cursor",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"nope"}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(-32602),
        ),
        (
            "wrongly typed argument",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_issues","arguments":{"owner":"a","repo":"b","limit":"ten"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "wrong content type",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                &[("content-type", "text/plain")],
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(-32600),
        ),
        (
            "malformed JSON",
            mcp_request("{\"jsonrpc\":", &[]),
            StatusCode::BAD_REQUEST,
            Some(-32700),
        ),
        (
            "not JSON at all",
            mcp_request("hello", &[]),
            StatusCode::BAD_REQUEST,
            Some(-32700),
        ),
        (
            "batch",
            mcp_request(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "a string",
            mcp_request(r#""ping""#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "wrong jsonrpc version",
            mcp_request(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, &[]),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "unknown method",
            mcp_request(r#"{"jsonrpc":"2.0","id":1,"method":"repos/delete"}"#, &[]),
            StatusCode::OK,
            Some(-32601),
        ),
        (
            "unknown tool",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"merge_pull_request","arguments":{}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(-32602),
        ),
        (
            "unknown argument",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_repository_info","arguments":{"owner":"a","repo":"b","admin":true}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "wrong argument type",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_file_tree","arguments":{"owner":"a","repo":"b","recursive":"yes"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "missing argument",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"a","repo":"b"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "path traversal",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"a","repo":"b","filepath":"../../etc/passwd"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "encoded traversal",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_file_contents","arguments":{"owner":"a","repo":"b","filepath":"%2e%2e/%2e%2e/etc/passwd"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "hostile owner",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_repository_info","arguments":{"owner":"../admin","repo":"b"}}}"#,
                &[],
            ),
            StatusCode::OK,
            Some(TOOL_ERROR),
        ),
        (
            "oversized body",
            mcp_request(big, &[]),
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
        (
            "unsupported protocol version header",
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                &[("mcp-protocol-version", "1999-01-01")],
            ),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "foreign Host (DNS rebinding)",
            mcp_request("{}", &[("host", "evil.example.com")]),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "foreign Origin",
            mcp_request("{}", &[("origin", "https://evil.example.com")]),
            StatusCode::FORBIDDEN,
            None,
        ),
    ];
    for (name, req, status, code) in cases {
        let reply = send(&router, req).await;
        assert_eq!(
            reply.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_ne!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
        match code {
            Some(TOOL_ERROR) => {
                let v = reply.json();
                assert_eq!(v["result"]["isError"], true, "{name}: {v}");
                let text = v["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or_default();
                assert!(text.starts_with("invalid arguments:"), "{name}: {v}");
            }
            Some(code) => {
                let v = reply.json();
                assert_eq!(v["jsonrpc"], "2.0", "{name}: {v}");
                assert_eq!(v["error"]["code"], code, "{name}: {v}");
                let message = v["error"]["message"].as_str().unwrap_or_default();
                assert!(!message.is_empty(), "{name}: error has a message");
            }
            None => {}
        }
        assert!(reply.header("x-request-id").is_some(), "{name}: request id");
    }
}

#[tokio::test]
async fn an_unknown_method_is_named_in_its_error() {
    let router = offline_router(&[]).await;
    let reply = send(
        &router,
        mcp_request(
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/subscribe_all"}"#,
            &[("mcp-protocol-version", "2025-11-25")],
        ),
    )
    .await;
    let v = reply.json();
    assert_eq!(v["error"]["code"], -32601, "{v}");
    assert_eq!(
        v["error"]["message"], "method not found: resources/subscribe_all",
        "{v}"
    );
}

#[tokio::test]
async fn a_client_that_accepts_anything_gets_json() {
    let router = offline_router(&[]).await;
    for accept in ["*/*", "application/json", "application/*;q=0.9, text/html"] {
        let reply = send(
            &router,
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                &[("accept", accept), ("mcp-protocol-version", "2025-11-25")],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{accept}: {:?}", reply.json());
        assert_eq!(reply.json()["result"], json!({}), "{accept}");
    }
    // One that accepts only something else is told so, in JSON-RPC.
    let reply = send(
        &router,
        mcp_request(
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            &[("accept", "text/html")],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(reply.json()["error"]["code"], -32600);
    assert_eq!(reply.json()["id"], 1);
}

#[tokio::test]
async fn a_same_origin_loopback_browser_request_is_served() {
    let router = offline_router(&[]).await;
    for (host, origin) in [
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("localhost:8080", "http://localhost:8080"),
        ("[::1]:8080", "http://[::1]:8080"),
    ] {
        let reply = send(
            &router,
            mcp_request(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                &[
                    ("host", host),
                    ("origin", origin),
                    ("mcp-protocol-version", "2025-11-25"),
                ],
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{origin}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    // A loopback Origin of another port is another origin: refused, naming the setting.
    let reply = send(
        &router,
        mcp_request(
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:5173"),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&reply.body).contains("ALLOWED_ORIGINS"));
}

#[tokio::test]
async fn missing_or_wrong_keys_get_the_spec_challenge() {
    let router = offline_router(&[]).await;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let cases: Vec<(Option<String>, Option<&str>)> = vec![
        (None, None),
        (Some("Bearer wrong-key".into()), Some("invalid_token")),
        (Some(format!("Bearer {API_KEY}x")), Some("invalid_token")),
        (Some("Basic dXNlcjpwYXNz".into()), Some("invalid_token")),
    ];
    for (auth, error) in cases {
        let mut builder = Request::post("/mcp")
            .header("host", "localhost:8080")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(a) = &auth {
            builder = builder.header("authorization", a.as_str());
        }
        let reply = send(&router, builder.body(Body::from(body)).unwrap()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        let mut expected = "Bearer resource_metadata=\"http://localhost:8080/.well-known/oauth-protected-resource\", scope=\"read:repository\"".to_string();
        if let Some(e) = error {
            expected.push_str(&format!(", error=\"{e}\""));
        }
        assert_eq!(
            reply.header("www-authenticate"),
            Some(expected.as_str()),
            "{auth:?}"
        );
        assert!(!String::from_utf8_lossy(&reply.body).contains("wrong-key"));
    }
    // The key in the query string is never accepted.
    let req = Request::post(format!("/mcp?api_key={API_KEY}&access_token={API_KEY}"))
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(send(&router, req).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_endpoints_and_get_405() {
    let router = offline_router(&[]).await;
    let get = |path: &str| {
        Request::get(path)
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&router, get("/mcp/tools")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let names: Vec<String> = reply.json()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    for n in [
        "list_repositories",
        "get_repository_info",
        "get_file_tree",
        "get_file_contents",
    ] {
        assert!(names.contains(&n.to_string()), "{n}");
    }
    let reply = send(&router, get("/health")).await;
    assert_eq!(reply.json()["status"], "healthy");
    let reply = send(&router, get("/")).await;
    let v = reply.json();
    assert_eq!(v["name"], "aegis-gitea-mcp");
    assert_eq!(v["mcp_endpoint"], "http://localhost/mcp");
    assert_eq!(v["auth_mode"], "api_key");
    for path in ["/mcp", "/mcp/sse"] {
        let mut req = get(path);
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {API_KEY}").parse().unwrap(),
        );
        let reply = send(&router, req).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(reply.header("allow"), Some("POST"));
    }
    // A valid request id is echoed; a hostile one is replaced.
    let mut req = get("/health");
    req.headers_mut()
        .insert("x-request-id", "trace-42".parse().unwrap());
    assert_eq!(
        send(&router, req).await.header("x-request-id"),
        Some("trace-42")
    );
    let mut req = get("/health");
    req.headers_mut()
        .insert("x-request-id", "<script>".parse().unwrap());
    let id = send(&router, req)
        .await
        .header("x-request-id")
        .unwrap()
        .to_string();
    assert_ne!(id, "<script>");
}

#[tokio::test]
async fn direct_tool_call_endpoint_validates() {
    let router = offline_router(&[]).await;
    let post = |body: &str, auth: bool| {
        let mut b = Request::post("/mcp/tool/call")
            .header("host", "localhost")
            .header("content-type", "application/json");
        if auth {
            b = b.header("authorization", format!("Bearer {API_KEY}"));
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let cases = [
        (
            r#"{"tool":"list_repositories"}"#,
            false,
            StatusCode::UNAUTHORIZED,
        ),
        (
            r#"{"tool":"nope","arguments":{}}"#,
            true,
            StatusCode::NOT_FOUND,
        ),
        (
            r#"{"tool":"list_repositories","extra":1}"#,
            true,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"tool":"get_repository_info","arguments":{"owner":"a"}}"#,
            true,
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"tool":"get_file_contents","arguments":{"owner":"a","repo":"b","filepath":"..\\x"}}"#,
            true,
            StatusCode::BAD_REQUEST,
        ),
        ("not json", true, StatusCode::BAD_REQUEST),
        // the Gitea of this router does not exist: a clear upstream error, not a 500
        (
            r#"{"tool":"get_repository_info","arguments":{"owner":"a","repo":"b"}}"#,
            true,
            StatusCode::BAD_GATEWAY,
        ),
    ];
    for (body, auth, status) in cases {
        let reply = send(&router, post(body, auth)).await;
        assert_eq!(
            reply.status,
            status,
            "{body}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let v = reply.json();
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
}
