//! Automation: the jobs (stale issues, dependency hygiene, issue creation, the audit
//! digest), the gate every run passes, and signed Gitea webhook ingestion.
//!
//! Every trigger (`POST /automation/jobs/run`, an EventBridge schedule, the local scheduler
//! loop, a webhook delivery) ends in [`run`], which checks `AUTOMATION_ENABLED`, the
//! policy's `automation_*` pseudo-tool for each repository, write mode and the write
//! whitelist before any Gitea call, records the refusal or the run in the audit trail, and
//! bounds the run in time and pages.
//!
//! Architecture invariant: no job calls Gitea before `run` allowed it and its `pending`
//! record is durable. The gate's own Gitea reads are the repository listing (when no
//! repositories are named) and, in OAuth mode with a service token, the user's permission;
//! a refusal on configuration, scope or policy makes no Gitea request at all.

pub mod hygiene;
pub use aegis_core::manifests;
pub mod scheduler;
pub mod stale;
mod state;
pub use state::AutomationState;
pub mod webhook;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use aegis_core::audit::{outcome_of, AuditError, AuditEvent, InvocationStatus};
use aegis_core::config::RepoName;
use aegis_core::policy::ToolKind;
use aegis_core::policy::{Policy, PolicyRequest, ToolClass};
use aegis_core::Config;
use aegis_edge::auth::{Credential, Principal, SCOPE_READ, SCOPE_WRITE};
use aegis_gitea::{walk_pages, GiteaClient, GiteaError};

/// Gitea pages (of 50) one listing may walk in a job: 500 issues or repositories.
pub const MAX_PAGES: u32 = 10;
/// Repositories one run may visit.
pub const MAX_REPOSITORIES: usize = 100;

/// The jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    StaleIssueDetection,
    DependencyHygieneScan,
    AutoIssueCreation,
    AuditDigest,
}

impl Job {
    pub const ALL: [Job; 4] = [
        Job::StaleIssueDetection,
        Job::DependencyHygieneScan,
        Job::AutoIssueCreation,
        Job::AuditDigest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::StaleIssueDetection => "stale_issue_detection",
            Job::DependencyHygieneScan => "dependency_hygiene_scan",
            Job::AutoIssueCreation => "auto_issue_creation",
            Job::AuditDigest => "audit_digest",
        }
    }

    /// The policy pseudo-tool that allows this job (`automation_<name>`).
    pub fn pseudo_tool(self) -> &'static str {
        match self {
            Job::StaleIssueDetection => "automation_stale_issue_detection",
            Job::DependencyHygieneScan => "automation_dependency_hygiene_scan",
            Job::AutoIssueCreation => "automation_auto_issue_creation",
            Job::AuditDigest => "automation_audit_digest",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    /// Whether the job works on repositories (the audit digest does not).
    pub fn per_repository(self) -> bool {
        self != Job::AuditDigest
    }

    /// Whether the job only makes sense writing (it is refused without write mode).
    fn needs_write(self) -> bool {
        self == Job::AutoIssueCreation
    }

    /// Whether the job writes to Gitea when write mode allows it.
    fn may_write(self) -> bool {
        matches!(self, Job::StaleIssueDetection | Job::AutoIssueCreation)
    }
}

/// Who started a run.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// `POST /automation/jobs/run` by an authenticated caller
    Http {
        principal: Principal,
        request_id: String,
    },
    /// An EventBridge schedule or the local scheduler loop
    Schedule,
    /// A verified webhook delivery (its `X-Gitea-Delivery` id)
    Webhook { delivery: String },
}

impl Trigger {
    fn name(&self) -> &'static str {
        match self {
            Trigger::Http { .. } => "http",
            Trigger::Schedule => "schedule",
            Trigger::Webhook { .. } => "webhook",
        }
    }

    fn subject(&self) -> String {
        match self {
            Trigger::Http { principal, .. } => principal.subject.clone(),
            Trigger::Schedule => "automation:schedule".into(),
            Trigger::Webhook { .. } => "automation:webhook".into(),
        }
    }

    fn correlation(&self) -> String {
        match self {
            Trigger::Http { request_id, .. } => request_id.clone(),
            Trigger::Webhook { delivery } => delivery.clone(),
            Trigger::Schedule => uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub job: Job,
    /// The repositories; empty means every repository the credential sees whose policy
    /// allows the job
    pub repositories: Vec<RepoName>,
    /// Report what would be written, write nothing
    pub dry_run: bool,
    /// "Now" for the job (tests pin it)
    pub now: OffsetDateTime,
    /// What the runs of one delivery or tick share (see [`RunCache`]); a fresh one by default
    pub cache: Arc<RunCache>,
}

impl JobRequest {
    pub fn new(job: Job) -> Self {
        Self {
            job,
            repositories: Vec::new(),
            dry_run: false,
            now: OffsetDateTime::now_utc(),
            cache: Arc::default(),
        }
    }
}

/// What the jobs of one webhook delivery or one scheduled tick share, so that running
/// `dependency_hygiene_scan` and then `auto_issue_creation` reads each repository's
/// manifests once, and the repository list is fetched once per tick. Every run of a
/// delivery or tick acts with the same credential (the service token) and the same policy,
/// so what one run read is what the next would read. Never kept past the delivery or tick.
#[derive(Debug, Default)]
pub struct RunCache {
    scans: Mutex<HashMap<RepoName, hygiene::ScanReport>>,
    discovered: Mutex<Option<(Vec<RepoName>, bool)>>,
}

impl RunCache {
    fn scan(&self, repo: &RepoName) -> Option<hygiene::ScanReport> {
        self.scans.lock().ok()?.get(repo).cloned()
    }

    fn keep_scan(&self, repo: &RepoName, report: &hygiene::ScanReport) {
        if let Ok(mut scans) = self.scans.lock() {
            scans.insert(repo.clone(), report.clone());
        }
    }
}

/// Why a run was refused or failed. Messages are safe to return to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    #[error("automation is disabled (AUTOMATION_ENABLED=false)")]
    Disabled,
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotConfigured(String),
    #[error("the audit trail is unavailable, so the run was refused")]
    AuditUnavailable,
    #[error("gitea: {0}")]
    Gitea(#[from] GiteaError),
}

impl From<AuditError> for AutomationError {
    fn from(e: AuditError) -> Self {
        tracing::error!(error = %e, "audit write failed; refusing the automation run");
        AutomationError::AuditUnavailable
    }
}

impl From<AutomationError> for aegis_edge::http::ApiError {
    fn from(e: AutomationError) -> Self {
        use aegis_edge::http::ApiError;
        match e {
            AutomationError::Disabled | AutomationError::Denied(_) => ApiError::Forbidden {
                message: e.to_string(),
                www_authenticate: None,
            },
            AutomationError::BadRequest(m) => ApiError::BadRequest(m),
            AutomationError::NotConfigured(_) | AutomationError::AuditUnavailable => {
                ApiError::Unavailable(e.to_string())
            }
            AutomationError::Gitea(e) => ApiError::BadGateway(e.to_string()),
        }
    }
}

/// How a run treats Gitea.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Reads only, because write mode, the whitelist or the caller do not allow writes
    Report,
    /// Writes where the job writes
    Write,
    /// Asked not to write: reports what it would write
    DryRun,
}

/// One repository's part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RepoResult {
    pub repository: String,
    /// `ok`, `skipped` or `error`
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the job found and did here (its own shape, see `docs/automation.md`)
    #[serde(skip_serializing_if = "Value::is_null")]
    pub result: Value,
}

/// The structured summary every run returns.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub job: &'static str,
    pub run_id: String,
    pub trigger: &'static str,
    pub mode: Mode,
    pub started_at: String,
    pub duration_ms: u64,
    /// The run stopped at its time or size budget; `repositories` is what it got through
    pub truncated: bool,
    pub repositories: Vec<RepoResult>,
    /// Counters over every repository (`findings`, `stale`, `created`, ...)
    pub totals: serde_json::Map<String, Value>,
    /// Job-wide output (the audit digest's)
    #[serde(skip_serializing_if = "Value::is_null")]
    pub result: Value,
}

/// What a job's per-repository step gets.
pub struct JobContext<'a> {
    pub gitea: &'a GiteaClient,
    /// Shared with the other runs of the same delivery or tick
    pub cache: &'a RunCache,
    /// The policy: a job reads only the paths it allows (`repositories[].paths`)
    pub policy: &'a Policy,
    pub credential: &'a Credential,
    pub now: OffsetDateTime,
    pub stale_days: u32,
    deadline: Instant,
}

impl JobContext<'_> {
    /// The time budget is spent: stop before the next Gitea call.
    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

impl JobContext<'_> {
    /// The issues (not pull requests) of `repo` in `state` (`open`, `all`), walked up to
    /// [`MAX_PAGES`] pages; the flag says whether the walk reached the last page.
    pub async fn issues(
        &self,
        repo: &RepoName,
        state: &str,
    ) -> Result<(Vec<aegis_gitea::Issue>, bool), StepError> {
        let mut out = Vec::new();
        let complete = walk_pages(
            MAX_PAGES,
            |page| async move {
                if self.out_of_time() {
                    return Err(StepError::OutOfTime);
                }
                let got = self
                    .gitea
                    .list_issues(self.credential, &repo.owner, &repo.repo, state, &[], page)
                    .await?;
                Ok(got)
            },
            |items| {
                out.extend(items.into_iter().filter(|i| !i.is_pull_request));
                ControlFlow::Continue(())
            },
        )
        .await?;
        Ok((out, complete))
    }
}

/// Why one step stopped early.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Gitea(#[from] GiteaError),
    #[error("the run's time budget (AUTOMATION_JOB_TIMEOUT_SECONDS) ran out")]
    OutOfTime,
}

/// Runs one job: the gate, the audit records, the work, the summary.
pub async fn run(
    state: &AutomationState,
    trigger: &Trigger,
    request: JobRequest,
) -> Result<JobSummary, AutomationError> {
    let job = request.job;
    let started = Instant::now();
    let run_id = uuid::Uuid::new_v4().to_string();
    let correlation = trigger.correlation();
    let refuse = |error: AutomationError, repo: Option<&RepoName>| {
        let mut event = AuditEvent::access_denied(error.to_string())
            .with_request_id(&correlation)
            .with_correlation_id(&correlation)
            .with_principal(trigger.subject())
            .with_context("tool", job.pseudo_tool())
            .with_context("trigger", trigger.name())
            .with_context("run_id", run_id.as_str());
        event.tool = Some(job.pseudo_tool().to_string());
        if let Some(repo) = repo {
            event = event.with_repository(repo.to_string());
        }
        (event, error)
    };
    let gate = gate(state, trigger, &request).await;
    let plan = match gate {
        Ok(plan) => plan,
        Err((error, repo)) => {
            let outcome = match error {
                AutomationError::Disabled => "disabled",
                AutomationError::Gitea(_) => "failed",
                _ => "denied",
            };
            tracing::warn!(job = job.name(), trigger = trigger.name(), reason = %error, "automation run refused");
            state.edge.metrics.job_run(job.name(), outcome);
            let (event, error) = refuse(error, repo.as_ref());
            state.edge.audit.record(event).await?;
            return Err(error);
        }
    };

    let mut pending = AuditEvent::tool_invocation(job.pseudo_tool(), InvocationStatus::Pending)
        .with_request_id(&correlation)
        .with_correlation_id(&correlation)
        .with_principal(trigger.subject())
        .with_decision("allow")
        .with_context("trigger", trigger.name())
        .with_context("run_id", run_id.as_str())
        .with_context("mode", json!(plan.mode))
        .with_context(
            "repositories",
            json!(plan
                .repos
                .iter()
                .map(|(r, _)| r.to_string())
                .collect::<Vec<_>>()),
        );
    if let [(repo, _)] = plan.repos.as_slice() {
        pending = pending.with_repository(repo.to_string());
    }
    // No Gitea call before the run's `pending` record is durable.
    state.edge.audit.record(pending.clone()).await?;
    tracing::info!(job = job.name(), run_id, trigger = trigger.name(), repositories = plan.repos.len(), mode = ?plan.mode, "automation run started");

    let budget = Duration::from_secs(state.edge.config.automation.job_timeout_seconds);
    let ctx = JobContext {
        gitea: &state.gitea,
        cache: &request.cache,
        policy: &state.policy,
        credential: &plan.credential,
        now: request.now,
        stale_days: state.edge.config.automation.stale_days,
        deadline: started + budget,
    };
    let mut summary = JobSummary {
        job: job.name(),
        run_id: run_id.clone(),
        trigger: trigger.name(),
        mode: plan.mode,
        started_at: request
            .now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        duration_ms: 0,
        truncated: plan.truncated,
        repositories: Vec::new(),
        totals: serde_json::Map::new(),
        result: Value::Null,
    };
    let mut failed = false;
    if job == Job::AuditDigest {
        match audit_digest(state, request.now).await {
            Ok(v) => summary.result = v,
            Err(e) => {
                failed = true;
                summary.result = json!({ "error": e.to_string() });
            }
        }
    }
    for (repo, writable) in &plan.repos {
        if ctx.out_of_time() {
            summary.truncated = true;
            break;
        }
        let write = *writable && plan.mode == Mode::Write;
        let dry = plan.mode == Mode::DryRun;
        let step = match job {
            Job::StaleIssueDetection => stale::run(&ctx, repo, write, dry).await,
            Job::DependencyHygieneScan => hygiene::scan(&ctx, repo).await,
            Job::AutoIssueCreation => hygiene::create_issues(&ctx, repo, write).await,
            Job::AuditDigest => continue,
        };
        let result = match step {
            Ok(value) => {
                add_totals(&mut summary.totals, &value);
                RepoResult {
                    repository: repo.to_string(),
                    status: "ok",
                    reason: None,
                    result: value,
                }
            }
            Err(StepError::OutOfTime) => {
                summary.truncated = true;
                RepoResult {
                    repository: repo.to_string(),
                    status: "skipped",
                    reason: Some(StepError::OutOfTime.to_string()),
                    result: Value::Null,
                }
            }
            Err(StepError::Gitea(e)) => {
                failed = true;
                tracing::warn!(job = job.name(), repository = %repo, error = %e, "automation step failed");
                RepoResult {
                    repository: repo.to_string(),
                    status: "error",
                    reason: Some(e.to_string()),
                    result: Value::Null,
                }
            }
        };
        tracing::info!(job = job.name(), run_id, repository = %repo, status = result.status, "repository done");
        summary.repositories.push(result);
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let outcome = if failed { "failed" } else { "ok" };
    state.edge.metrics.job_run(job.name(), outcome);
    let record = outcome_of(&pending, !failed, outcome)
        .with_context("run_id", run_id.as_str())
        .with_context("totals", Value::Object(summary.totals.clone()))
        .with_context("truncated", summary.truncated);
    state.edge.audit.record(record).await?;
    tracing::info!(
        job = job.name(),
        run_id,
        outcome,
        duration_ms = summary.duration_ms,
        truncated = summary.truncated,
        "automation run finished"
    );
    Ok(summary)
}

/// Sums the numeric top-level fields of a repository result into the run's totals.
fn add_totals(totals: &mut serde_json::Map<String, Value>, value: &Value) {
    let Some(obj) = value.get("counts").and_then(Value::as_object) else {
        return;
    };
    for (k, v) in obj {
        if let Some(n) = v.as_u64() {
            let sum = totals.get(k).and_then(Value::as_u64).unwrap_or(0) + n;
            totals.insert(k.clone(), json!(sum));
        }
    }
}

/// What the gate allowed: the credential, the repositories (each with whether it may be
/// written to), the mode.
struct Plan {
    credential: Credential,
    repos: Vec<(RepoName, bool)>,
    mode: Mode,
    truncated: bool,
}

/// `AUTOMATION_ENABLED`, the caller's scope, write mode, the policy per repository, the
/// whitelist. Repositories named by the caller must all pass; discovered ones are kept
/// when the policy allows the job there.
async fn gate(
    state: &AutomationState,
    trigger: &Trigger,
    request: &JobRequest,
) -> Result<Plan, (AutomationError, Option<RepoName>)> {
    let config = &state.edge.config;
    let mode = run_mode(config, request).map_err(|e| (e, None))?;
    let credential = acting_credential(config, trigger, mode).map_err(|e| (e, None))?;
    if !request.job.per_repository() {
        return trail_plan(state, trigger, request, credential).map_err(|e| (e, None));
    }
    let (candidates, explicit, truncated) = candidates(state, request, &credential).await?;
    let mut repos = Vec::new();
    for repo in candidates {
        match admit_repository(state, trigger, request.job, mode, &repo).await {
            Ok(writable) => repos.push((repo, writable)),
            // Named by the caller: the refusal is the answer; discovered: skipped.
            Err(e) if explicit => return Err((e, Some(repo))),
            Err(_) => continue,
        }
    }
    if explicit && repos.is_empty() {
        return Err((
            AutomationError::BadRequest("no repositories to run on".into()),
            None,
        ));
    }
    Ok(Plan {
        credential,
        repos,
        mode,
        truncated,
    })
}

/// Automation at all, write mode for a job that needs it, and what the run may do.
fn run_mode(config: &Config, request: &JobRequest) -> Result<Mode, AutomationError> {
    let job = request.job;
    if !config.automation.enabled {
        return Err(AutomationError::Disabled);
    }
    if job.needs_write() && !request.dry_run && !config.write.enabled {
        return Err(AutomationError::Denied(format!(
            "`{}` writes issues: write mode is disabled (WRITE_MODE=false)",
            job.name()
        )));
    }
    let wants_write = job.may_write() && !request.dry_run;
    Ok(if request.dry_run {
        Mode::DryRun
    } else if wants_write && config.write.enabled {
        Mode::Write
    } else {
        Mode::Report
    })
}

/// Whom the run acts as: the caller's credential (with the scope the mode needs) for an
/// HTTP trigger, the service token for a schedule or a webhook.
fn acting_credential(
    config: &Config,
    trigger: &Trigger,
    mode: Mode,
) -> Result<Credential, AutomationError> {
    match trigger {
        Trigger::Http { principal, .. } => {
            let needed = if mode == Mode::Write {
                SCOPE_WRITE
            } else {
                SCOPE_READ
            };
            if !principal.has_scope(needed) {
                return Err(AutomationError::Denied(format!(
                    "the token lacks the `{needed}` scope this run needs"
                )));
            }
            Ok(principal.credential.clone())
        }
        Trigger::Schedule | Trigger::Webhook { .. } => match &config.gitea_token {
            Some(token) => Ok(Credential::Token(token.clone())),
            None => Err(AutomationError::NotConfigured(
                "scheduled and webhook jobs act with the service token: set GITEA_TOKEN".into(),
            )),
        },
    }
}

/// The plan of a job over the audit trail rather than repositories (`audit_digest`): no
/// repositories, no dry run, the write scope (it writes a signed digest), the policy's
/// pseudo-tool, and a signing key.
fn trail_plan(
    state: &AutomationState,
    trigger: &Trigger,
    request: &JobRequest,
    credential: Credential,
) -> Result<Plan, AutomationError> {
    let job = request.job;
    if !request.repositories.is_empty() {
        return Err(AutomationError::BadRequest(format!(
            "`{}` does not take repositories",
            job.name()
        )));
    }
    if request.dry_run {
        return Err(AutomationError::BadRequest(format!(
            "`{}` has no dry run: its only effect is the signed digest it writes",
            job.name()
        )));
    }
    // It writes to the audit trail: a caller needs the write scope, as for a Gitea write.
    if let Trigger::Http { principal, .. } = trigger {
        if !principal.has_scope(SCOPE_WRITE) {
            return Err(AutomationError::Denied(format!(
                "`{}` writes a signed digest: the token lacks the `{SCOPE_WRITE}` scope",
                job.name()
            )));
        }
    }
    let decision = state.policy.authorize(&PolicyRequest::new(
        job.pseudo_tool(),
        ToolClass::Automation,
    ));
    if !decision.allowed {
        return Err(AutomationError::Denied(format!(
            "denied by policy: {}",
            decision.summary()
        )));
    }
    if state.edge.config.audit.signing_key.is_none() {
        return Err(AutomationError::NotConfigured(
            "`audit_digest` signs with AUDIT_SIGNING_KEY, which is not set".into(),
        ));
    }
    Ok(Plan {
        credential,
        repos: Vec::new(),
        mode: Mode::Write,
        truncated: false,
    })
}

/// The repositories to consider: those the caller named (bounded), or those the credential
/// can see (discovered once per trigger, shared through the request's cache). Also whether
/// they were named, and whether the discovery was cut short.
async fn candidates(
    state: &AutomationState,
    request: &JobRequest,
    credential: &Credential,
) -> Result<(Vec<RepoName>, bool, bool), (AutomationError, Option<RepoName>)> {
    if !request.repositories.is_empty() {
        if request.repositories.len() > MAX_REPOSITORIES {
            return Err((
                AutomationError::BadRequest(format!(
                    "at most {MAX_REPOSITORIES} repositories per run"
                )),
                None,
            ));
        }
        return Ok((request.repositories.clone(), true, false));
    }
    let cached = request.cache.discovered.lock().ok().and_then(|d| d.clone());
    let (found, truncated) = match cached {
        Some(found) => found,
        None => {
            let found = discover(state, credential)
                .await
                .map_err(|e| (AutomationError::Gitea(e), None))?;
            if let Ok(mut slot) = request.cache.discovered.lock() {
                *slot = Some(found.clone());
            }
            found
        }
    };
    Ok((found, false, truncated))
}

/// One repository through the gate: the policy's pseudo-tool, the write gate when the run
/// writes (a job that must write is refused where it may not), and, for an HTTP caller,
/// the user's own permission. Returns whether the run may write there.
async fn admit_repository(
    state: &AutomationState,
    trigger: &Trigger,
    job: Job,
    mode: Mode,
    repo: &RepoName,
) -> Result<bool, AutomationError> {
    let decision = state
        .policy
        .authorize(&PolicyRequest::new(job.pseudo_tool(), ToolClass::Automation).repo(repo));
    if !decision.allowed {
        return Err(AutomationError::Denied(format!(
            "denied by policy: {}",
            decision.summary()
        )));
    }
    let write_refusal = match mode {
        Mode::Write => aegis_gate::write_gate(&state.edge.config, Some(repo)).err(),
        _ => None,
    };
    let writable = mode == Mode::Write && write_refusal.is_none();
    if job.needs_write() {
        if let Some(refusal) = write_refusal {
            return Err(AutomationError::Denied(refusal.to_string()));
        }
    }
    if let Trigger::Http { principal, .. } = trigger {
        let kind = if writable {
            ToolKind::Write
        } else {
            ToolKind::Read
        };
        if let Err(d) = state.permissions.check(principal, kind, Some(repo)).await {
            return Err(AutomationError::Denied(d.to_string()));
        }
    }
    Ok(writable)
}

/// Every repository the credential sees (`GET /user/repos`), up to [`MAX_PAGES`] pages and
/// [`MAX_REPOSITORIES`]; archived and empty ones are left out.
async fn discover(
    state: &AutomationState,
    credential: &Credential,
) -> Result<(Vec<RepoName>, bool), GiteaError> {
    let mut out = Vec::new();
    let complete = walk_pages(
        MAX_PAGES,
        |page| state.gitea.list_my_repositories(credential, page),
        |items| {
            let usable = items.into_iter().filter(|r| !r.archived && !r.empty);
            out.extend(usable.filter_map(|r| RepoName::parse(&r.full_name).ok()));
            if out.len() >= MAX_REPOSITORIES {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await?;
    let truncated = !complete || out.len() > MAX_REPOSITORIES;
    out.truncate(MAX_REPOSITORIES);
    Ok((out, truncated))
}

/// `audit_digest`: signs the audit segments written since the previous digest.
async fn audit_digest(
    state: &AutomationState,
    now: OffsetDateTime,
) -> Result<Value, AutomationError> {
    let signer = state
        .edge
        .config
        .audit
        .signing_key
        .as_ref()
        .ok_or_else(|| AutomationError::NotConfigured("AUDIT_SIGNING_KEY is not set".into()))?;
    // With the hot log, sealing comes first: the digest then lists what was just sealed.
    let sealed = match &state.edge.storage.hot_log {
        Some(hot) => Some(audit_seal(state, hot.as_ref(), now).await?),
        None => None,
    };
    let digest = aegis_core::audit::write_digest(state.edge.storage.audit.as_ref(), signer, now)
        .await
        .map_err(|e| AutomationError::NotConfigured(format!("digest not written: {e}")))?;
    Ok(json!({
        "sealed": sealed,
        "sequence": digest.sequence,
        "period_start": digest.period_start,
        "period_end": digest.period_end,
        "segments": digest.segments.len(),
        "public_key": digest.public_key,
    }))
}

/// The seal schedule (always on with the hot log, whatever `AUTOMATION_ENABLED`, the policy
/// or the signing key say): the trail's own upkeep, not a job on repositories, so no gate.
/// Without it, records would stay in the hot log until their TTL ends them. Returns the
/// seal report, or `null` when there is no hot log (`AUDIT_HOT_LOG=off`, embedded storage).
pub async fn seal_hot_log(
    state: &AutomationState,
    now: OffsetDateTime,
) -> Result<Value, AutomationError> {
    match &state.edge.storage.hot_log {
        Some(hot) => Ok(json!({ "sealed": audit_seal(state, hot.as_ref(), now).await? })),
        None => Ok(json!({ "sealed": null, "reason": "no audit hot log (AUDIT_HOT_LOG=off)" })),
    }
}

/// Seals the hot log's batches into S3 segments (`aegis_core::audit::seal`) and reports the
/// sealing lag it leaves (`aegis_audit_seal_lag_seconds`); every chain that stops sealing
/// (a gap, a fork attempt, a record that does not hash) is recorded as a `security_event`
/// and reported. A store error fails the run (the next resumes).
async fn audit_seal(
    state: &AutomationState,
    hot: &dyn aegis_storage::HotAuditLog,
    now: OffsetDateTime,
) -> Result<aegis_core::audit::SealReport, AutomationError> {
    let report = aegis_core::audit::seal(
        hot,
        state.edge.storage.audit.as_ref(),
        &aegis_core::audit::SealOptions::at(now),
    )
    .await
    .map_err(|e| AutomationError::NotConfigured(format!("sealing failed: {e}")))?;
    let lag = report.lag(now).whole_seconds().max(0) as u64;
    state.edge.metrics.audit_seal_lag(lag);
    for stop in report.stopped.iter().filter(|s| s.new) {
        state.edge.metrics.audit_seal_stopped();
        let event = AuditEvent::security_event("audit_seal_stopped")
            .with_context("chain_id", stop.chain_id.clone())
            .with_context("batch", stop.batch)
            .with_context("reason", stop.reason.clone());
        state.edge.audit.record(event).await?;
    }
    Ok(report)
}

/// The body of `POST /automation/jobs/run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    pub job: String,
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub dry_run: bool,
}

impl RunBody {
    /// Validates names; unknown jobs and malformed repositories are bad requests.
    pub fn into_request(self) -> Result<JobRequest, AutomationError> {
        let job = Job::parse(&self.job).ok_or_else(|| {
            AutomationError::BadRequest(format!(
                "unknown job `{}`: expected one of {}",
                self.job.escape_default(),
                Job::ALL.map(Job::name).join(", ")
            ))
        })?;
        let repositories = self
            .repositories
            .iter()
            .map(|r| RepoName::parse(r).map_err(AutomationError::BadRequest))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JobRequest {
            repositories,
            dry_run: self.dry_run,
            ..JobRequest::new(job)
        })
    }
}

/// The EventBridge scheduled event (or a rule's constant input of the same shape): the
/// jobs to run in `detail.jobs`, every job when absent.
pub fn scheduled_jobs(event: &Value) -> Result<Vec<Job>, AutomationError> {
    let Some(names) = event.get("detail").and_then(|d| d.get("jobs")) else {
        return Ok(Job::ALL.to_vec());
    };
    let names = names
        .as_array()
        .ok_or_else(|| AutomationError::BadRequest("`detail.jobs` must be a list".into()))?;
    names
        .iter()
        .map(|n| {
            n.as_str().and_then(Job::parse).ok_or_else(|| {
                AutomationError::BadRequest(format!("unknown job `{n}` in `detail.jobs`"))
            })
        })
        .collect()
}

/// Runs `jobs` for a schedule, one after the other; a refused or failed job does not stop
/// the others. Returns each job's summary or refusal.
pub async fn run_scheduled(state: &AutomationState, jobs: &[Job], now: OffsetDateTime) -> Value {
    let mut results = Vec::new();
    let cache = Arc::new(RunCache::default());
    for job in jobs {
        let request = JobRequest {
            now,
            cache: Arc::clone(&cache),
            ..JobRequest::new(*job)
        };
        let entry = match run(state, &Trigger::Schedule, request).await {
            Ok(summary) => json!({ "job": job.name(), "status": "ran", "summary": summary }),
            Err(e) => json!({ "job": job.name(), "status": "refused", "reason": e.to_string() }),
        };
        results.push(entry);
    }
    json!({ "jobs": results })
}
