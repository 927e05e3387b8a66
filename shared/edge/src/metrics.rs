//! Metrics. Every part of the gateway reports through the few methods of [`Metrics`], held
//! in the function's `Edge`; how they are exported is this module's business alone:
//!
//! - locally (the shim, a container): a `prometheus-client` registry owned by this handle,
//!   rendered as OpenMetrics text on `GET /metrics` ([`Metrics::render`]);
//! - on AWS Lambda, where scraping one short-lived instance is meaningless: the same
//!   observations as CloudWatch Embedded Metric Format (EMF) log lines, written to stdout
//!   once per request by the edge middleware ([`Metrics::flush_emf`]).
//!
//! Architecture invariant: no global registry; each `Edge` owns its own, so tests that
//! build several states in one process never see each other's counts.

use std::sync::{Arc, Mutex};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::{json, Map, Value};

/// The content type of [`Metrics::render`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The CloudWatch namespace EMF lines are filed under.
pub const EMF_NAMESPACE: &str = "AegisGitea";

/// The `path` label of a request no route matched (never the raw path: unbounded labels).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A label set: fixed label names, values from the call site.
type Labels = Vec<(&'static str, String)>;

fn labels(dims: &[(&'static str, &str)]) -> Labels {
    dims.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

/// Tool latency buckets: 0.5 ms doubling up to ~8 s (a Gitea call dominates).
fn tool_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// Where observations go besides the in-memory registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// `GET /metrics` (OpenMetrics text)
    Prometheus,
    /// CloudWatch Embedded Metric Format lines on stdout (AWS Lambda)
    Emf,
}

struct Inner {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    tool_calls: Family<Labels, Counter>,
    tool_duration: Family<Labels, Histogram, fn() -> Histogram>,
    auth_failures: Family<Labels, Counter>,
    policy_denials: Family<Labels, Counter>,
    rate_limit_hits: Family<Labels, Counter>,
    webhook_deliveries: Family<Labels, Counter>,
    job_runs: Family<Labels, Counter>,
    audit_write_failures: Counter,
    audit_seal_stops: Counter,
    audit_seal_lag: Gauge,
    rate_limiter_fail_open: Counter,
    exporter: Exporter,
    /// EMF documents recorded since the last flush (EMF mode only)
    pending: Mutex<Vec<Value>>,
}

/// The metrics of one process (one Lambda instance). Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("exporter", &self.inner.exporter)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Prometheus metrics (the local shim's exporter).
    pub fn new() -> Self {
        Self::with_exporter(Exporter::Prometheus)
    }

    /// The exporter the configuration calls for: EMF inside AWS Lambda, Prometheus elsewhere.
    pub fn from_config(config: &aegis_core::config::Config) -> Self {
        Self::with_exporter(if config.lambda_runtime {
            Exporter::Emf
        } else {
            Exporter::Prometheus
        })
    }

    pub fn with_exporter(exporter: Exporter) -> Self {
        let mut registry = Registry::default();
        let mut counter = |name: &str, help: &str| {
            let family = Family::<Labels, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let http_requests = counter(
            "aegis_http_requests",
            "HTTP requests answered, by method, route template and status",
        );
        let tool_calls = counter(
            "aegis_tool_calls",
            "Tool calls finished, by tool and status (ok, error, denied)",
        );
        let auth_failures = counter("aegis_auth_failures", "Failed authentications, by reason");
        let policy_denials = counter(
            "aegis_policy_denials",
            "Tool calls refused by the gate, by tool and reason",
        );
        let rate_limit_hits = counter(
            "aegis_rate_limit_hits",
            "Requests refused by a rate limit, by scope",
        );
        let webhook_deliveries = counter(
            "aegis_webhook_deliveries",
            "Webhook deliveries handled, by event and outcome",
        );
        let job_runs = counter(
            "aegis_job_runs",
            "Automation job runs finished, by job and outcome",
        );
        // Alarmed on AWS (infra/template.yaml): no dimensions, so one metric each.
        let audit_write_failures = Counter::default();
        registry.register(
            "aegis_audit_write_failures",
            "Audit batch writes that failed (the calls waiting on them were refused)",
            audit_write_failures.clone(),
        );
        let audit_seal_stops = Counter::default();
        registry.register(
            "aegis_audit_seal_stopped",
            "Audit chains the sealer stopped on (a gap, a fork attempt, a record that does not hash)",
            audit_seal_stops.clone(),
        );
        let audit_seal_lag = Gauge::default();
        registry.register(
            "aegis_audit_seal_lag_seconds",
            "After the latest seal run: age of the oldest durable audit record left unsealed (0 when none)",
            audit_seal_lag.clone(),
        );
        let rate_limiter_fail_open = Counter::default();
        registry.register(
            "aegis_rate_limiter_fail_open",
            "Requests let through unlimited because the rate limiter's store failed",
            rate_limiter_fail_open.clone(),
        );
        let tool_duration: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(tool_histogram);
        registry.register(
            "aegis_tool_duration_seconds",
            "Tool call duration in seconds, gate to audited outcome",
            tool_duration.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                tool_calls,
                tool_duration,
                auth_failures,
                policy_denials,
                rate_limit_hits,
                webhook_deliveries,
                job_runs,
                audit_write_failures,
                audit_seal_stops,
                audit_seal_lag,
                rate_limiter_fail_open,
                exporter,
                pending: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Counts one observation in `family` and queues its EMF document. On CloudWatch only
    /// the labels named in `dimensions` are dimensions (each combination of their values
    /// is a paid custom metric); the others ride along as log properties (Logs Insights
    /// reads them).
    fn count(
        &self,
        family: &Family<Labels, Counter>,
        metric: &str,
        all: &[(&'static str, &str)],
        dimensions: &[&str],
    ) {
        family.get_or_create(&labels(all)).inc();
        let (dims, props): (Vec<_>, Vec<_>) = all
            .iter()
            .copied()
            .partition(|(k, _)| dimensions.contains(k));
        self.emf(&dims, &props, &[(metric, 1.0, "Count")]);
    }

    /// One HTTP request answered: `route` is the matched route template (`/mcp`,
    /// `/oauth/authorize`), never the raw path; unmatched requests use `"unmatched"`.
    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        let code = status.to_string();
        let class = status_class(status);
        // Labels `method`, `path`, `status`; EMF dimensions `path` and `status_class`.
        let all = [
            ("method", method),
            ("path", route),
            ("status", code.as_str()),
        ];
        self.inner.http_requests.get_or_create(&labels(&all)).inc();
        self.emf(
            &[("path", route), ("status_class", class)],
            &[("method", method), ("status", &code)],
            &[("aegis_http_requests_total", 1.0, "Count")],
        );
    }

    /// One tool call finished: `status` is `ok`, `error` (a tool error result) or `denied`.
    /// Denied calls never ran, so they are counted but kept out of the duration histogram.
    pub fn tool_call(&self, tool: &str, status: &str, seconds: f64) {
        // EMF: dimension `status` only; the tool is a property (tens of tools times
        // statuses would be as many paid metrics).
        let all = [("tool", tool), ("status", status)];
        if status == "denied" {
            self.count(
                &self.inner.tool_calls,
                "aegis_tool_calls_total",
                &all,
                &["status"],
            );
            return;
        }
        self.inner.tool_calls.get_or_create(&labels(&all)).inc();
        self.inner
            .tool_duration
            .get_or_create(&labels(&[("tool", tool)]))
            .observe(seconds);
        self.emf(
            &[("status", status)],
            &[("tool", tool)],
            &[
                ("aegis_tool_calls_total", 1.0, "Count"),
                ("aegis_tool_duration_seconds", seconds, "Seconds"),
            ],
        );
    }

    /// One failed authentication: `reason` is a short fixed word (`missing`, `invalid`, `malformed`).
    pub fn auth_failure(&self, reason: &str) {
        let dims = [("reason", reason)];
        self.count(
            &self.inner.auth_failures,
            "aegis_auth_failures_total",
            &dims,
            &["reason"],
        );
    }

    /// One request refused by the policy gate (`reason`: `policy`, `write_mode`, `whitelist`,
    /// `scope`, `permission`).
    pub fn policy_denial(&self, tool: &str, reason: &str) {
        self.count(
            &self.inner.policy_denials,
            "aegis_policy_denials_total",
            &[("tool", tool), ("reason", reason)],
            &["reason"],
        );
    }

    /// One request refused by a rate limit (`scope`: `ip`, `token`, `auth_failures`).
    pub fn rate_limit_hit(&self, scope: &str) {
        let dims = [("scope", scope)];
        self.count(
            &self.inner.rate_limit_hits,
            "aegis_rate_limit_hits_total",
            &dims,
            &["scope"],
        );
    }

    /// One webhook delivery handled (`outcome`: `accepted`, `ignored`, `rejected`, `replayed`).
    pub fn webhook_delivery(&self, event: &str, outcome: &str) {
        self.count(
            &self.inner.webhook_deliveries,
            "aegis_webhook_deliveries_total",
            &[("event", event), ("outcome", outcome)],
            &["outcome"],
        );
    }

    /// One automation job run finished (`outcome`: `ok`, `failed`, `disabled`, `denied`).
    pub fn job_run(&self, job: &str, outcome: &str) {
        let dims = [("job", job), ("outcome", outcome)];
        self.count(
            &self.inner.job_runs,
            "aegis_job_runs_total",
            &dims,
            &["job", "outcome"],
        );
    }

    /// One audit batch write failed: every call waiting on it was refused (503).
    pub fn audit_write_failure(&self) {
        self.inner.audit_write_failures.inc();
        self.emf(
            &[],
            &[],
            &[("aegis_audit_write_failures_total", 1.0, "Count")],
        );
    }

    /// The sealer stopped on a chain (newly): its records stay in the hot log, unsealed,
    /// until an operator looks (docs/audit.md, "Sealing").
    pub fn audit_seal_stopped(&self) {
        self.inner.audit_seal_stops.inc();
        self.emf(
            &[],
            &[],
            &[("aegis_audit_seal_stopped_total", 1.0, "Count")],
        );
    }

    /// After a seal run: the age in seconds of the oldest durable record it left unsealed,
    /// 0 when it sealed everything it found (alarmed above a threshold on AWS).
    pub fn audit_seal_lag(&self, seconds: u64) {
        self.inner
            .audit_seal_lag
            .set(i64::try_from(seconds).unwrap_or(i64::MAX));
        self.emf(
            &[],
            &[],
            &[("aegis_audit_seal_lag_seconds", seconds as f64, "Seconds")],
        );
    }

    /// One request let through without a rate-limit check: the limiter's store failed
    /// (the limiter fails open; the alarm on this metric is what makes that visible).
    pub fn rate_limiter_fail_open(&self) {
        self.inner.rate_limiter_fail_open.inc();
        self.emf(
            &[],
            &[],
            &[("aegis_rate_limiter_fail_open_total", 1.0, "Count")],
        );
    }

    /// The registry as OpenMetrics text (served with [`OPENMETRICS_CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial body,
        // which the `# EOF` check of any scraper rejects.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }

    /// Queues one EMF document (EMF mode only): the dimensions as top-level keys, each
    /// metric's value under its own name, and the `_aws` directive naming them.
    fn emf(
        &self,
        dimensions: &[(&str, &str)],
        properties: &[(&str, &str)],
        values: &[(&str, f64, &str)],
    ) {
        if self.inner.exporter != Exporter::Emf {
            return;
        }
        let mut doc = emf_document(dimensions, values, now_millis());
        if let Value::Object(map) = &mut doc {
            for (k, v) in properties {
                map.insert((*k).to_string(), Value::String((*v).to_string()));
            }
        }
        if let Ok(mut pending) = self.inner.pending.lock() {
            pending.push(doc);
        }
    }

    /// Takes the EMF documents recorded since the last call.
    pub fn drain_emf(&self) -> Vec<Value> {
        match self.inner.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => Vec::new(),
        }
    }

    /// Writes the pending EMF documents to stdout, one JSON line each: the Lambda runtime
    /// ships stdout to CloudWatch Logs, which extracts the metrics. A no-op outside EMF mode.
    pub fn flush_emf(&self) {
        if self.inner.exporter != Exporter::Emf {
            return;
        }
        let docs = self.drain_emf();
        if docs.is_empty() {
            return;
        }
        use std::io::Write;
        let mut out = String::new();
        for doc in docs {
            out.push_str(&doc.to_string());
            out.push('\n');
        }
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let _ = lock.write_all(out.as_bytes());
        let _ = lock.flush();
    }
}

/// Edge middleware: counts every answered request by method, route template (axum's
/// `MatchedPath`; [`UNMATCHED_ROUTE`] when no route matched) and status, and on Lambda
/// flushes the request's EMF lines once it is answered.
pub async fn track_http(
    axum::extract::State(metrics): axum::extract::State<Metrics>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    let response = next.run(req).await;
    metrics.http_request(&method, &route, response.status().as_u16());
    metrics.flush_emf();
    response
}

impl aegis_storage::audit_log::AuditObserver for Metrics {
    fn write_failed(&self) {
        self.audit_write_failure();
    }
}

/// What `GET /metrics` needs: the process's metrics and the scraper's token, not the
/// whole state of a function.
#[derive(Clone)]
pub struct MetricsEndpoint {
    pub metrics: Metrics,
    /// `METRICS_TOKEN`
    pub token: Option<aegis_core::config::Secret>,
}

/// `GET /metrics` (mounted only when `METRICS_ENABLED` and not on Lambda). With
/// `METRICS_TOKEN` set, the scraper must present `Authorization: Bearer <METRICS_TOKEN>`;
/// without it, only loopback peers are answered (a scraper on the same host), and a request
/// whose peer is unknown is refused: fail closed.
pub async fn serve_metrics(
    axum::extract::State(endpoint): axum::extract::State<MetricsEndpoint>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match &endpoint.token {
        Some(token) => {
            let presented = crate::auth::bearer_token(req.headers()).unwrap_or_default();
            if !aegis_core::ct::same(presented, token.expose()) {
                return crate::http::ApiError::Unauthorized {
                    message: "`/metrics` needs `Authorization: Bearer <METRICS_TOKEN>`".into(),
                    www_authenticate: "Bearer realm=\"metrics\"".into(),
                }
                .into_response();
            }
        }
        None => {
            let loopback = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            if !loopback {
                return crate::http::ApiError::Forbidden {
                    message: "`/metrics` answers loopback clients only unless METRICS_TOKEN is set"
                        .into(),
                    www_authenticate: None,
                }
                .into_response();
            }
        }
    }
    (
        [(http::header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        endpoint.metrics.render(),
    )
        .into_response()
}

/// `2xx`, `4xx`, `5xx`...: the EMF dimension of an HTTP status (bounded: at most 5 values).
fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// One EMF document (the CloudWatch Embedded Metric Format specification, version 0):
/// `{"_aws": {"Timestamp", "CloudWatchMetrics": [{"Namespace", "Dimensions", "Metrics"}]},
/// <dimension>: "<value>", <metric>: <number>}`.
pub fn emf_document(
    dimensions: &[(&str, &str)],
    values: &[(&str, f64, &str)],
    timestamp_ms: u64,
) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": EMF_NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": values
                    .iter()
                    .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit }))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    for (name, value, _) in values {
        doc.insert((*name).to_string(), json!(value));
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audit writer's failures reach the metric the audit-write alarm watches.
    #[test]
    fn a_failed_audit_write_is_counted() {
        let metrics = Metrics::new();
        aegis_storage::audit_log::AuditObserver::write_failed(&metrics);
        assert!(metrics
            .render()
            .contains("aegis_audit_write_failures_total 1"));
    }

    /// Every EMF document has the shape CloudWatch requires: `_aws.Timestamp` in ms, one
    /// directive whose dimension names are all top-level strings and whose metric names
    /// are all top-level numbers with a valid unit, at most 30 dimensions, and nothing
    /// recorded outside EMF mode.
    #[test]
    fn emf_documents_have_the_cloudwatch_shape() {
        let m = Metrics::with_exporter(Exporter::Emf);
        m.http_request("POST", "/mcp", 200);
        m.tool_call("get_issue", "ok", 0.012);
        m.auth_failure("invalid");
        m.policy_denial("create_issue", "write_mode");
        m.rate_limit_hit("ip");
        m.webhook_delivery("push", "accepted");
        m.job_run("stale_issues", "ok");
        m.audit_write_failure();
        m.rate_limiter_fail_open();
        let docs = m.drain_emf();
        assert_eq!(docs.len(), 9);
        assert!(m.drain_emf().is_empty(), "drain empties the buffer");
        let units = ["Count", "Seconds"];
        for doc in &docs {
            let aws = &doc["_aws"];
            assert!(aws["Timestamp"]
                .as_u64()
                .is_some_and(|t| t > 1_600_000_000_000));
            let directives = aws["CloudWatchMetrics"].as_array().unwrap();
            assert_eq!(directives.len(), 1, "{doc}");
            let d = &directives[0];
            assert_eq!(d["Namespace"], EMF_NAMESPACE);
            let dim_sets = d["Dimensions"].as_array().unwrap();
            assert_eq!(dim_sets.len(), 1);
            // The alarmed counters have none (one metric each); EMF allows an empty set.
            let dims = dim_sets[0].as_array().unwrap();
            assert!(dims.len() <= 30);
            for dim in dims {
                let name = dim.as_str().unwrap();
                assert!(doc[name].is_string(), "dimension `{name}` missing in {doc}");
            }
            for metric in d["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(name.starts_with("aegis_"));
                assert!(units.contains(&metric["Unit"].as_str().unwrap()));
                assert!(doc[name].is_number(), "metric `{name}` missing in {doc}");
            }
        }
        assert_eq!(docs[0]["path"], "/mcp");
        assert_eq!(docs[0]["status"], "200");
        // Bounded dimensions: the status class and the route, not the method or the code;
        // not the tool (a property, still in the line for Logs Insights).
        let dims_of = |i: usize| docs[i]["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone();
        assert_eq!(dims_of(0), json!([["path", "status_class"]]));
        assert_eq!(docs[0]["status_class"], "2xx");
        assert_eq!(dims_of(1), json!([["status"]]));
        assert_eq!(docs[1]["tool"], "get_issue");
        assert_eq!(dims_of(3), json!([["reason"]]));
        assert_eq!(dims_of(5), json!([["outcome"]]));
        assert_eq!(dims_of(6), json!([["job", "outcome"]]));
        assert_eq!(docs[1]["aegis_tool_duration_seconds"], 0.012);
        assert_eq!(
            docs[7]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(docs[8]["aegis_rate_limiter_fail_open_total"], 1.0);

        let prom = Metrics::new();
        prom.tool_call("get_issue", "ok", 0.1);
        assert!(prom.drain_emf().is_empty());
    }

    /// The registry renders the names the spec lists, with labels, and counts move.
    #[test]
    fn renders_openmetrics_text() {
        let m = Metrics::new();
        m.http_request("GET", "/health", 200);
        m.http_request("GET", "/health", 200);
        m.tool_call("get_issue", "ok", 0.003);
        let text = m.render();
        assert!(
            text.contains(
                r#"aegis_http_requests_total{method="GET",path="/health",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"aegis_tool_calls_total{tool="get_issue",status="ok"} 1"#));
        assert!(text.contains(r#"aegis_tool_duration_seconds_count{tool="get_issue"} 1"#));
        assert!(text.contains(r#"aegis_tool_duration_seconds_sum{tool="get_issue"} 0.003"#));
        m.auth_failure("missing");
        m.policy_denial("create_issue", "write_mode");
        m.rate_limit_hit("token");
        m.webhook_delivery("push", "accepted");
        m.job_run("stale_issues", "ok");
        m.tool_call("create_issue", "denied", 0.0);
        m.audit_write_failure();
        m.rate_limiter_fail_open();
        let text = m.render();
        for line in [
            r#"aegis_auth_failures_total{reason="missing"} 1"#,
            r#"aegis_policy_denials_total{tool="create_issue",reason="write_mode"} 1"#,
            r#"aegis_rate_limit_hits_total{scope="token"} 1"#,
            r#"aegis_webhook_deliveries_total{event="push",outcome="accepted"} 1"#,
            r#"aegis_job_runs_total{job="stale_issues",outcome="ok"} 1"#,
            r#"aegis_tool_calls_total{tool="create_issue",status="denied"} 1"#,
            "aegis_audit_write_failures_total 1",
            "aegis_rate_limiter_fail_open_total 1",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        // Denied calls never ran: no duration observed for them.
        assert!(!text.contains(r#"aegis_tool_duration_seconds_count{tool="create_issue"}"#));
        assert!(text.trim_end().ends_with("# EOF"));
        // A second handle has its own registry.
        assert!(!Metrics::new().render().contains("get_issue"));
    }
}
