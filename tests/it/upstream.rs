//! Upstream diagnostics (issue 17): the start-up check names the variable to fix, and a
//! failing Gitea call leaves a WARN/ERROR line naming Gitea, what to check and the request
//! id (which the request's span adds to every line).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use aegis_core::Config;
use aegis_local::AppState;
use serde_json::{json, Value};

use crate::sim::{demo_seed, ALICE};
use crate::support::{self, mcp_request, send};

const CLIENT_ID: &str = "aegis-demo-client";
const CLIENT_SECRET: &str = "aegis-demo-secret-5f0c1d7e9b2a4c68";

/// What `check_gitea` says for a gateway on `gitea_url` with `extra` variables: `Ok(())`
/// or the error's text.
async fn start_up_check(
    gitea_url: &str,
    token: &str,
    extra: &[(&str, &str)],
) -> Result<(), String> {
    let vars: HashMap<String, String> = support::vars(gitea_url, token, extra);
    let config = Config::from_vars(&vars).expect("config");
    let state = AppState::from_config(config).await.expect("state");
    aegis_local::check_gitea(&state)
        .await
        .map_err(|e| e.to_string())
}

/// (why, Gitea's URL, service token, more variables, the variable the error must name)
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<&'a str>,
);

#[tokio::test]
async fn the_start_up_check_names_the_variable_to_fix() {
    let sim = gitea_sim::spawn(demo_seed()).await.expect("simulator");
    let unreachable = "http://127.0.0.1:9";
    let oauth = |id: &'static str, secret: &'static str| {
        vec![
            ("OAUTH_MODE", "true"),
            ("GITEA_OAUTH_CLIENT_ID", id),
            ("GITEA_OAUTH_CLIENT_SECRET", secret),
            (
                "OAUTH_STATE_SECRET",
                "it-oauth-state-secret-0123456789abcdef0123",
            ),
            ("MCP_API_KEYS", ""),
            ("GITEA_TOKEN", ""),
        ]
    };
    let cases: Vec<Case<'_>> = vec![
        ("unreachable", unreachable, ALICE, vec![], Some("GITEA_URL")),
        (
            "a reachable Gitea and a good token",
            &sim.base_url,
            ALICE,
            vec![],
            None,
        ),
        (
            "a rejected token",
            &sim.base_url,
            "not-a-token-0123456789",
            vec![],
            Some("GITEA_TOKEN"),
        ),
        (
            "the check off",
            unreachable,
            ALICE,
            vec![("STARTUP_VALIDATE_GITEA", "false")],
            None,
        ),
        (
            "oauth, right client",
            &sim.base_url,
            "",
            oauth(CLIENT_ID, CLIENT_SECRET),
            None,
        ),
        (
            "oauth, unknown client",
            &sim.base_url,
            "",
            oauth("no-such-client", CLIENT_SECRET),
            Some("GITEA_OAUTH_CLIENT_ID"),
        ),
        (
            "oauth, wrong secret",
            &sim.base_url,
            "",
            oauth(CLIENT_ID, "wrong-secret-0123456789abcdef"),
            Some("GITEA_OAUTH_CLIENT_SECRET"),
        ),
        (
            "oauth, unreachable",
            unreachable,
            "",
            oauth(CLIENT_ID, CLIENT_SECRET),
            Some("GITEA_URL"),
        ),
    ];
    for (why, url, token, extra, names) in cases {
        let got = start_up_check(url, token, &extra).await;
        match names {
            None => assert_eq!(got, Ok(()), "{why}"),
            Some(var) => {
                let message = got.expect_err(why);
                assert!(message.contains(var), "{why}: {message}");
            }
        }
    }
    // A web server that is not Gitea: `/api/v1/version` is not there.
    let (stub, stub_url) = crate::decoding::Stub::spawn().await;
    stub.set(&json!({"not": "gitea"}));
    let message = start_up_check(&stub_url, ALICE, &[])
        .await
        .expect_err("not gitea");
    assert!(
        message.contains("GITEA_URL") && message.contains("/version"),
        "{message}"
    );
}

/// The JSON log lines of the whole test binary that mention a `diag-` request id.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Only this module's requests are kept: every other test logs here too.
        if buf.windows(5).any(|w| w == b"diag-") {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The process's subscriber, formatting as `telemetry::init` does into one buffer.
    /// Global rather than per test (`set_default`): tracing caches whether a callsite is
    /// wanted across threads, and a thread-local subscriber then loses the request span
    /// when other tests run at the same time.
    fn global() -> Captured {
        static CAPTURED: OnceLock<Captured> = OnceLock::new();
        CAPTURED
            .get_or_init(|| {
                let captured = Captured::default();
                let sink = captured.clone();
                use tracing_subscriber::layer::SubscriberExt;
                use tracing_subscriber::Layer;
                // Spans (the request's carries its id) and events at WARN and above: the
                // other tests' INFO lines are not worth formatting.
                let wanted = tracing_subscriber::filter::filter_fn(|meta| {
                    meta.is_span() || *meta.level() <= tracing::Level::WARN
                });
                let layer = tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(move || sink.clone())
                    .with_filter(wanted);
                let subscriber = tracing_subscriber::registry().with(layer);
                let _ = tracing::subscriber::set_global_default(subscriber);
                captured
            })
            .clone()
    }

    fn lines(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Sends a `get_repository_info` call with `X-Request-ID: request_id`; the first log line
/// at WARN or above that carries that id and whose message holds `says`.
async fn warning_of_a_call(router: &axum::Router, request_id: &str, says: &str) -> Value {
    let logs = Captured::global();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_repository_info", "arguments": {"owner": "acme", "repo": "app"}}});
    let req = mcp_request(
        body.to_string(),
        &[
            ("mcp-protocol-version", "2025-11-25"),
            ("x-request-id", request_id),
        ],
    );
    let reply = send(router, req).await;
    assert_eq!(reply.header("x-request-id"), Some(request_id));
    let lines: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
        .filter(|l| l.to_string().contains(request_id))
        .collect();
    lines
        .iter()
        .find(|l| l["message"].as_str().unwrap_or("").contains(says))
        .cloned()
        .unwrap_or_else(|| panic!("no line saying `{says}` among {lines:#?}"))
}

#[tokio::test]
async fn an_unreachable_gitea_is_logged_with_the_request_id_and_what_to_check() {
    let router = support::offline_router(&[("STARTUP_VALIDATE_GITEA", "false")]).await;
    let line = warning_of_a_call(&router, "diag-unreachable-1", "gitea unreachable").await;
    assert!(
        line["message"].as_str().unwrap().contains("GITEA_URL"),
        "{line}"
    );
    assert_eq!(line["level"], "ERROR", "{line}");
}

#[tokio::test]
async fn a_response_of_the_wrong_shape_is_logged_with_endpoint_field_and_request_id() {
    let (stub, stub_url) = crate::decoding::Stub::spawn().await;
    stub.set(&json!({"owner": {"login": "acme"}, "private": "yes"}));
    let router = support::router(&support::vars(&stub_url, ALICE, &[])).await;
    let line = warning_of_a_call(&router, "diag-shape-1", "not understood").await;
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(line["endpoint"], "GET /repos/acme/app", "{line}");
    assert_eq!(line["field"], "private", "{line}");
}

#[tokio::test]
async fn a_rejected_token_is_logged_with_what_to_check() {
    let sim = gitea_sim::spawn(demo_seed()).await.expect("simulator");
    let router =
        support::router(&support::vars(&sim.base_url, "not-a-token-0123456789", &[])).await;
    let line = warning_of_a_call(&router, "diag-401-1", "check GITEA_TOKEN").await;
    assert_eq!(line["level"], "WARN", "{line}");
}
