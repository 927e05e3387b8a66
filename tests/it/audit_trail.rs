//! Every tool call and denial lands in the audit trail, which verifies; a trail that cannot
//! be written refuses calls with 503.

use std::collections::HashMap;

use aegis_core::audit::{verify, VerifyOptions};
use aegis_storage::embedded::FileAuditSink;
use aegis_storage::AuditSource;
use http::StatusCode;
use serde_json::{json, Value};

use crate::sim::{demo_seed, swagger_path, ALICE};
use crate::support::{self, call_tool, rpc};

/// Reads every record of every chain under `dir`.
pub async fn records(dir: &std::path::Path) -> Vec<Value> {
    let sink = FileAuditSink::new(dir);
    let mut out = Vec::new();
    for chain in sink.chains().await.unwrap() {
        for n in sink.segment_numbers(&chain, None).await.unwrap() {
            let bytes = sink.read_segment(&chain, n).await.unwrap();
            let seg: Value = serde_json::from_slice(&bytes).unwrap();
            out.extend(seg["records"].as_array().unwrap().iter().cloned());
        }
    }
    out
}

struct AuditEnv {
    router: axum::Router,
    audit_dir: std::path::PathBuf,
    _sim: gitea_sim::RunningSim,
}

async fn env(extra: &[(&str, &str)]) -> AuditEnv {
    let sim = gitea_sim::spawn_with_contract(demo_seed(), swagger_path())
        .await
        .unwrap();
    let vars: HashMap<String, String> = support::vars(&sim.base_url, ALICE, extra);
    let audit_dir = std::path::PathBuf::from(&vars["AUDIT_LOG_PATH"]);
    let router = support::router(&vars).await;
    AuditEnv {
        router,
        audit_dir,
        _sim: sim,
    }
}

#[tokio::test]
async fn calls_and_denials_are_recorded_and_the_trail_verifies() {
    let dir = tempfile::tempdir().unwrap().keep();
    let policy = dir.join("p.yaml");
    std::fs::write(&policy, "tools: { deny: [list_tags] }\n").unwrap();
    let e = env(&[("POLICY_FILE_PATH", policy.to_str().unwrap())]).await;
    let ok = call_tool(
        &e.router,
        "get_repository_info",
        json!({"owner": "acme", "repo": "app"}),
    )
    .await;
    assert_ne!(ok["isError"], true);
    let missing = call_tool(
        &e.router,
        "get_issue",
        json!({"owner": "acme", "repo": "app", "issue_number": 999}),
    )
    .await;
    assert_eq!(missing["isError"], true);
    let denied = rpc(
        &e.router,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "list_tags", "arguments": {"owner": "acme", "repo": "app"}}}),
    )
    .await;
    assert_eq!(denied.status, StatusCode::OK);
    assert_eq!(denied.json()["result"]["isError"], true);

    let recs = records(&e.audit_dir).await;
    let of = |tool: &str| -> Vec<&Value> {
        recs.iter()
            .filter(|r| r["tool"] == tool || r["context"]["tool"] == tool)
            .collect()
    };
    let info = of("get_repository_info");
    let statuses: Vec<&str> = info
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["pending", "success"], "{info:#?}");
    assert_eq!(info[0]["repository"], "acme/app");
    assert!(info[0]["principal"]
        .as_str()
        .unwrap()
        .starts_with("api-key:"));
    assert_eq!(info[0]["request_id"], info[1]["request_id"]);
    let issue = of("get_issue");
    assert_eq!(issue[1]["status"], "error");
    assert!(issue[1]["outcome"].as_str().unwrap().contains("not found"));
    let tags = of("list_tags");
    assert_eq!(tags.len(), 1, "{tags:#?}");
    assert_eq!(tags[0]["type"], "access_denied");
    // Nothing secret in the trail.
    let all = serde_json::to_string(&recs).unwrap();
    assert!(!all.contains(ALICE) && !all.contains(support::API_KEY));

    let report = verify(&FileAuditSink::new(&e.audit_dir), &VerifyOptions::default())
        .await
        .unwrap();
    assert!(report.ok(), "{}", report.render_text());
    assert_eq!(report.events, 5, "{}", report.render_text());
}

#[tokio::test]
async fn an_unwritable_trail_fails_calls_closed_with_503() {
    let e = env(&[]).await;
    // Replace the segment directory with a plain file: every later write fails.
    let segments = e.audit_dir.join("segments");
    std::fs::remove_dir_all(&segments).unwrap();
    std::fs::write(&segments, b"not a directory").unwrap();
    let reply = rpc(
        &e.router,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}}}),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let v = reply.json();
    assert_eq!(v["id"], 4);
    assert!(v["error"]["message"].as_str().unwrap().contains("audit"));
    assert_eq!(reply.header("retry-after"), Some("30"));
    // The direct endpoint too.
    let req = http::Request::post("/mcp/tool/call")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {}", support::API_KEY))
        .body(axum::body::Body::from(
            json!({"tool": "list_repositories"}).to_string(),
        ))
        .unwrap();
    assert_eq!(
        support::send(&e.router, req).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// The trail's `security_event` records of `kind`, once the writer stored at least `at_least`
/// (refusals are recorded without waiting for durability: poll briefly).
async fn security_events(dir: &std::path::Path, kind: &str, at_least: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found: Vec<Value> = records(dir)
            .await
            .into_iter()
            .filter(|r| r["type"] == "security_event" && r["outcome"] == kind)
            .collect();
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Vec::new()
}

/// Refusals before any handler (Host/Origin, an oversized body, a malformed envelope) are
/// `security_event` records; a flood of one kind from one source is one record per window.
#[tokio::test]
async fn transport_refusals_are_recorded_once_per_kind_and_source() {
    let vars = support::vars("http://127.0.0.1:9", "unused-token", &[]);
    let audit_dir = std::path::PathBuf::from(&vars["AUDIT_LOG_PATH"]);
    let router = support::router(&vars).await;
    for _ in 0..25 {
        let req = support::mcp_request("{}", &[("host", "evil.example")]);
        support::send(&router, req)
            .await
            .assert_status(StatusCode::FORBIDDEN);
    }
    for _ in 0..5 {
        let req = support::mcp_request("{not json", &[]);
        support::send(&router, req)
            .await
            .assert_status(StatusCode::BAD_REQUEST);
    }
    let big = support::mcp_request("{}", &[("content-length", "99999999")]);
    support::send(&router, big)
        .await
        .assert_status(StatusCode::PAYLOAD_TOO_LARGE);

    let host = security_events(&audit_dir, "host_origin", 1).await;
    let parse = security_events(&audit_dir, "jsonrpc_parse_error", 1).await;
    let size = security_events(&audit_dir, "body_too_large", 1).await;
    // Let any stray record of the floods land before counting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let host_now = security_events(&audit_dir, "host_origin", 1).await;
    assert_eq!(host.len(), 1, "{host:?}");
    assert_eq!(
        host_now.len(),
        1,
        "25 refusals in one window: one record {host_now:?}"
    );
    assert_eq!(parse.len(), 1, "{parse:?}");
    assert_eq!(size.len(), 1, "{size:?}");
    let record = &host[0];
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["context"]["status"], 403);
    assert_eq!(record["context"]["count"], 1);
    assert!(record["context"]["source"].is_string(), "{record}");
    assert!(
        record["context"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("evil.example")),
        "{record}"
    );
    assert_eq!(size[0]["context"]["status"], 413);
    // What was recorded still verifies.
    let sink = FileAuditSink::new(&audit_dir);
    let report = verify(&sink, &VerifyOptions::default()).await.unwrap();
    assert_eq!(report.exit_code(), 0, "{report:?}");
}
