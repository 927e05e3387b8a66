//! Metrics. Every part of the gateway reports through the few methods of [`Metrics`], held
//! in `AppState`; how they are exported (Prometheus text on `/metrics` locally, CloudWatch
//! Embedded Metric Format log lines on Lambda) is this module's business alone
//! (observability issue). Until that lands the methods record nothing.

/// The metrics of one process (one Lambda instance). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// One HTTP request answered: `route` is the matched route template (`/mcp`,
    /// `/oauth/authorize`), never the raw path; unmatched requests use `"unmatched"`.
    pub fn http_request(&self, _method: &str, _route: &str, _status: u16) {}

    /// One tool call finished: `status` is `ok`, `error` (a tool error result) or `denied`.
    pub fn tool_call(&self, _tool: &str, _status: &str, _seconds: f64) {}

    /// One failed authentication: `reason` is a short fixed word (`missing`, `invalid`, `expired`).
    pub fn auth_failure(&self, _reason: &str) {}

    /// One request refused by the policy gate (`reason`: `policy`, `write_mode`, `whitelist`,
    /// `scope`, `permission`).
    pub fn policy_denial(&self, _tool: &str, _reason: &str) {}

    /// One request refused by a rate limit (`scope`: `ip`, `token`, `auth_failures`).
    pub fn rate_limit_hit(&self, _scope: &str) {}

    /// One webhook delivery handled (`outcome`: `accepted`, `ignored`, `rejected`, `replayed`).
    pub fn webhook_delivery(&self, _event: &str, _outcome: &str) {}

    /// One automation job run finished (`outcome`: `ok`, `failed`, `disabled`, `denied`).
    pub fn job_run(&self, _job: &str, _outcome: &str) {}
}
