//! Observability: `/metrics` scraped and parsed with a Prometheus text parser (every family
//! present, the counters moving after calls), its protection, request ids on every response
//! and in tool results and audit records.

use std::collections::HashMap;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;

use crate::sim::{Env, ALICE};
use crate::support::{call_tool, rpc, send};

const METRICS_TOKEN: &str = "metrics-scrape-token-0123456789abcdef";

const POLICY: &str = r#"
defaults: { read: allow, write: deny }
tools:
  deny: [list_organizations]
"#;

async fn env(extra: &[(&str, &str)]) -> Env {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, POLICY).unwrap();
    let mut vars = vec![
        ("POLICY_FILE_PATH", path.to_str().unwrap().to_string()),
        ("METRICS_TOKEN", METRICS_TOKEN.to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Env::start(ALICE, &vars).await
}

fn scrape_request(token: Option<&str>) -> Request<Body> {
    let mut req = Request::get("/metrics").header("host", "localhost");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

/// Every sample of a scrape, keyed by metric name and sorted labels, parsed with the
/// `prometheus-parse` crate (histogram buckets folded into one sample, `_sum`/`_count` kept).
struct Scrape {
    samples: HashMap<String, f64>,
    histograms: HashMap<String, f64>,
    text: String,
}

impl Scrape {
    async fn take(router: &axum::Router) -> Scrape {
        let reply = send(router, scrape_request(Some(METRICS_TOKEN))).await;
        assert_eq!(reply.status, StatusCode::OK);
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/openmetrics-text; version=1.0.0"),
            "{content_type}"
        );
        let text = String::from_utf8(reply.body).unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let parsed = prometheus_parse::Scrape::parse(lines).expect("parses as Prometheus text");
        let mut samples = HashMap::new();
        let mut histograms = HashMap::new();
        for s in parsed.samples {
            let mut labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let key = format!("{}{{{}}}", s.metric, labels.join(","));
            match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => {
                    samples.insert(key, v);
                }
                prometheus_parse::Value::Histogram(buckets) => {
                    let inf = buckets
                        .iter()
                        .find(|b| b.less_than.is_infinite())
                        .map(|b| b.count)
                        .unwrap_or_default();
                    histograms.insert(key, inf);
                }
                prometheus_parse::Value::Summary(_) => {}
            }
        }
        Scrape {
            samples,
            histograms,
            text,
        }
    }

    fn get(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or_default()
    }
}

#[tokio::test]
async fn metrics_are_scraped_parsed_and_move() {
    let env = env(&[]).await;
    let r = &env.router;
    let before = Scrape::take(r).await;
    // An allowed read (ok), a tool error (missing file), a policy denial, an auth failure.
    let ok = call_tool(
        r,
        "get_repository_info",
        json!({"owner": "acme", "repo": "app"}),
    )
    .await;
    assert_ne!(ok["isError"], true, "{ok}");
    let missing = call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "no/such/file.rs"}),
    )
    .await;
    assert_eq!(missing["isError"], true, "{missing}");
    let denied = rpc(
        r,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "list_organizations", "arguments": {}}}),
    )
    .await;
    assert_eq!(denied.status, StatusCode::OK);
    assert_eq!(denied.json()["result"]["isError"], true);
    let unauthenticated = send(
        r,
        Request::post("/mcp/tool/call")
            .header("host", "localhost")
            .header(
                "authorization",
                "Bearer wrong-key-0123456789abcdef0123456789",
            )
            .body(Body::from(
                json!({"tool": "get_repository_info"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    let unmatched = send(
        r,
        Request::get("/no/such/route/123")
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(unmatched.status, StatusCode::NOT_FOUND);

    let after = Scrape::take(r).await;
    // (sample, at least this much more than before)
    let moved = [
        (
            r#"aegis_http_requests_total{method=POST,path=/mcp,status=200}"#,
            2.0,
        ),
        (
            r#"aegis_http_requests_total{method=POST,path=/mcp,status=200}"#,
            1.0,
        ),
        (
            r#"aegis_http_requests_total{method=POST,path=/mcp/tool/call,status=401}"#,
            1.0,
        ),
        (
            r#"aegis_http_requests_total{method=GET,path=unmatched,status=404}"#,
            1.0,
        ),
        (
            r#"aegis_http_requests_total{method=GET,path=/metrics,status=200}"#,
            1.0,
        ),
        (
            r#"aegis_tool_calls_total{status=ok,tool=get_repository_info}"#,
            1.0,
        ),
        (
            r#"aegis_tool_calls_total{status=error,tool=get_file_contents}"#,
            1.0,
        ),
        (
            r#"aegis_tool_calls_total{status=denied,tool=list_organizations}"#,
            1.0,
        ),
        (
            r#"aegis_tool_duration_seconds_count{tool=get_repository_info}"#,
            1.0,
        ),
        (r#"aegis_auth_failures_total{reason=invalid}"#, 1.0),
        (
            r#"aegis_policy_denials_total{reason=policy,tool=list_organizations}"#,
            1.0,
        ),
    ];
    for (key, delta) in moved {
        assert!(
            after.get(key) - before.get(key) >= delta,
            "{key}: {} -> {}\n{}",
            before.get(key),
            after.get(key),
            after.text
        );
    }
    // The families the calls above touched are declared with their types.
    for (family, kind) in [
        ("aegis_http_requests", "counter"),
        ("aegis_tool_calls", "counter"),
        ("aegis_tool_duration_seconds", "histogram"),
        ("aegis_auth_failures", "counter"),
        ("aegis_policy_denials", "counter"),
    ] {
        assert!(
            after.text.contains(&format!("# TYPE {family} {kind}")),
            "{family}: {}",
            after.text
        );
    }
    // The raw path never becomes a label.
    assert!(!after.text.contains("/no/such/route"), "{}", after.text);
    // The histogram parses as one, its +Inf bucket equals `_count`, and `_sum` moved.
    let buckets = after
        .histograms
        .get("aegis_tool_duration_seconds{tool=get_repository_info}")
        .copied()
        .expect("histogram buckets");
    assert_eq!(
        buckets,
        after.get("aegis_tool_duration_seconds_count{tool=get_repository_info}")
    );
    assert!(after.get("aegis_tool_duration_seconds_sum{tool=get_repository_info}") > 0.0);
}

/// `/metrics` is guarded: the token when one is configured, loopback peers otherwise (an
/// in-process request has no peer address, so it is refused), absent when disabled.
#[tokio::test]
async fn metrics_endpoint_is_guarded() {
    let env = env(&[]).await;
    let reply = send(&env.router, scrape_request(None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = send(&env.router, scrape_request(Some("not-the-token"))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(!String::from_utf8_lossy(&reply.body).contains("aegis_"));

    let open = crate::support::offline_router(&[]).await;
    let reply = send(&open, scrape_request(None)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let disabled = crate::support::offline_router(&[
        ("METRICS_ENABLED", "false"),
        ("METRICS_TOKEN", METRICS_TOKEN),
    ])
    .await;
    let reply = send(&disabled, scrape_request(Some(METRICS_TOKEN))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// `X-Request-ID`: a valid one is kept, anything else replaced; the id is on every
/// response, in the tool result's `_meta.correlation_id` and in the call's audit records.
#[tokio::test]
async fn request_ids_correlate_response_result_and_audit() {
    let audit_dir = tempfile::tempdir().unwrap().keep();
    let audit_path = audit_dir.join("audit.jsonl");
    let env = env(&[("AUDIT_LOG_PATH", audit_path.to_str().unwrap())]).await;
    let r = &env.router;
    let cases = [
        ("req-7f3a.b_c:1", true),
        ("has space", false),
        ("id\u{fc}/x", false),
        (&*"a".repeat(129), false),
    ];
    for (given, kept) in cases {
        let req = Request::get("/health")
            .header("host", "localhost")
            .header(
                "x-request-id",
                http::HeaderValue::from_bytes(given.as_bytes()).unwrap(),
            )
            .body(Body::empty())
            .unwrap();
        let reply = send(r, req).await;
        let id = reply
            .header("x-request-id")
            .expect("request id")
            .to_string();
        assert_eq!(id == given, kept, "{given:?} -> {id}");
        assert!(!id.is_empty() && id.len() <= 128);
    }
    // Generated on error responses too.
    let reply = send(
        r,
        Request::get("/nowhere")
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(reply.header("x-request-id").is_some());

    let id = "corr-0001-observability";
    let message = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}}});
    let req = crate::support::mcp_request(
        message.to_string(),
        &[("mcp-protocol-version", "2025-11-25"), ("x-request-id", id)],
    );
    let reply = send(r, req).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-request-id"), Some(id));
    let v = reply.json();
    assert_eq!(v["result"]["_meta"]["correlation_id"], id, "{v}");

    let trail = std::fs::read_to_string(&audit_path).unwrap();
    let records: Vec<serde_json::Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r.to_string().contains(id))
        .collect();
    assert_eq!(records.len(), 2, "pending and outcome records: {trail}");
    for record in records {
        assert_eq!(record["request_id"], id, "{record}");
        assert_eq!(record["correlation_id"], id, "{record}");
    }
}
