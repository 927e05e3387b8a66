//! Gitea webhook ingestion: size, signature and replay checks on the raw body, then typed
//! events, then the jobs the policy allows for the repository.
//!
//! Order matters: the size limit comes before hashing, the signature (HMAC-SHA256 of the
//! raw body with `WEBHOOK_SECRET`, compared in constant time) before anything is parsed,
//! and the delivery id is used once (`GrantStore::use_once`, so the check holds across
//! instances on every storage adapter). Every delivery, whatever its fate, leaves an audit
//! record.

use std::sync::Arc;

use aegis_core::Config;
use axum::body::{Body, Bytes};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::state::AutomationState;
use super::{Job, JobRequest, Trigger};
use aegis_core::audit::{AuditEvent, InvocationStatus};
use aegis_core::config::RepoName;
use aegis_core::policy::{PolicyRequest, ToolClass};
use aegis_edge::http::ApiError;

pub const SIGNATURE_HEADER: &str = "x-gitea-signature";
pub const DELIVERY_HEADER: &str = "x-gitea-delivery";
pub const EVENT_HEADER: &str = "x-gitea-event";
/// The pseudo-tool a repository's policy must allow for its deliveries to be acted on.
pub const WEBHOOK_TOOL: &str = "automation_webhook";
/// How long a delivery id is remembered (Gitea makes a new id for every redelivery).
pub const REPLAY_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// Whether `signature` (lowercase hex, as Gitea sends it) is the HMAC-SHA256 of `body`
/// under `secret`. Constant-time in the comparison.
pub fn signature_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// What Gitea sends as `X-Gitea-Signature` for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

// ---- typed events (the fields the gateway uses; Gitea sends more) ---------------------
// The decoding contract of `gitea::wire` holds here too: identifying fields (the ref, the
// action, numbers and ids, the repository's name) are required, so a payload of the wrong
// shape is refused naming the field; everything else accepts `null` and absence (Gitea
// sends `null` for empty file lists and nil pointers).

/// A user: `login`, or `username` where older Gitea and Gogs put it.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "PayloadUserFields")]
pub struct PayloadUser {
    pub login: String,
}

#[derive(Debug, Deserialize)]
struct PayloadUserFields {
    login: Option<String>,
    username: Option<String>,
}

impl From<PayloadUserFields> for PayloadUser {
    fn from(u: PayloadUserFields) -> Self {
        let login = [u.login, u.username]
            .into_iter()
            .flatten()
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        Self { login }
    }
}

/// The repository a delivery is about: `full_name`, or built from the owner and `name`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "PayloadRepositoryFields")]
pub struct PayloadRepository {
    pub full_name: String,
    /// Empty when Gitea did not say
    pub default_branch: String,
}

#[derive(Debug, Deserialize)]
struct PayloadRepositoryFields {
    full_name: Option<String>,
    name: Option<String>,
    owner: Option<PayloadUser>,
    default_branch: Option<String>,
}

impl TryFrom<PayloadRepositoryFields> for PayloadRepository {
    type Error = String;

    fn try_from(r: PayloadRepositoryFields) -> Result<Self, String> {
        let built = match (r.owner, r.name) {
            (Some(o), Some(n)) if !o.login.is_empty() && !n.is_empty() => {
                Some(format!("{}/{n}", o.login))
            }
            _ => None,
        };
        let full_name = r.full_name.filter(|f| !f.is_empty()).or(built).ok_or(
            "missing field `full_name` (and no `owner.login` and `name` to build it from)",
        )?;
        Ok(Self {
            full_name,
            default_branch: r.default_branch.unwrap_or_default(),
        })
    }
}

/// Deserialises `null` as the type's default (Go's nil slices), absence too with
/// `#[serde(default)]`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayloadCommit {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub added: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub removed: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub modified: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(from = "PushEventFields")]
pub struct PushEvent {
    pub reference: String,
    pub before: String,
    pub after: String,
    pub commits: Vec<PayloadCommit>,
    /// `total_commits`, else the number of `commits`
    pub total_commits: i64,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

#[derive(Debug, Deserialize)]
struct PushEventFields {
    #[serde(rename = "ref")]
    reference: String,
    before: Option<String>,
    after: Option<String>,
    commits: Option<Vec<PayloadCommit>>,
    total_commits: Option<i64>,
    repository: PayloadRepository,
    sender: Option<PayloadUser>,
}

impl From<PushEventFields> for PushEvent {
    fn from(p: PushEventFields) -> Self {
        let commits = p.commits.unwrap_or_default();
        Self {
            reference: p.reference,
            before: p.before.unwrap_or_default(),
            after: p.after.unwrap_or_default(),
            total_commits: p.total_commits.unwrap_or(commits.len() as i64),
            commits,
            repository: p.repository,
            sender: p.sender,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayloadIssue {
    pub number: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssuesEvent {
    pub action: String,
    pub issue: PayloadIssue,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayloadComment {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssueCommentEvent {
    pub action: String,
    pub issue: PayloadIssue,
    pub comment: PayloadComment,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_pull: bool,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayloadPullRequest {
    pub number: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub merged: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(from = "PullRequestEventFields")]
pub struct PullRequestEvent {
    pub action: String,
    /// `number`, else the pull request's own
    pub number: i64,
    pub pull_request: PayloadPullRequest,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

#[derive(Debug, Deserialize)]
struct PullRequestEventFields {
    action: String,
    number: Option<i64>,
    pull_request: PayloadPullRequest,
    repository: PayloadRepository,
    sender: Option<PayloadUser>,
}

impl From<PullRequestEventFields> for PullRequestEvent {
    fn from(e: PullRequestEventFields) -> Self {
        Self {
            action: e.action,
            number: e.number.unwrap_or(e.pull_request.number),
            pull_request: e.pull_request,
            repository: e.repository,
            sender: e.sender,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayloadRelease {
    pub tag_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub draft: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub prerelease: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseEvent {
    pub action: String,
    pub release: PayloadRelease,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

/// `create` and `delete`: a branch or tag appeared or went away.
#[derive(Debug, Clone, Deserialize)]
pub struct RefEvent {
    #[serde(rename = "ref")]
    pub reference: String,
    pub ref_type: String,
    pub repository: PayloadRepository,
    pub sender: Option<PayloadUser>,
}

/// One delivery, parsed by its `X-Gitea-Event`.
#[derive(Debug, Clone)]
pub enum WebhookEvent {
    Push(PushEvent),
    Issues(IssuesEvent),
    IssueComment(IssueCommentEvent),
    PullRequest(PullRequestEvent),
    Release(ReleaseEvent),
    Create(RefEvent),
    Delete(RefEvent),
    /// An event this gateway does not act on (fork, wiki, status, ...)
    Unknown(String),
}

impl WebhookEvent {
    /// Parses `body` as the `event` Gitea names. Unknown events are not an error.
    pub fn parse(event: &str, body: &[u8]) -> Result<Self, String> {
        fn de<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
            let mut json = serde_json::Deserializer::from_slice(body);
            serde_path_to_error::deserialize(&mut json).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                // serde's own " at line L column C" says nothing a sender can use.
                let mut message = inner.to_string();
                if let Some(cut) = message.rfind(" at line ") {
                    message.truncate(cut);
                }
                if path == "." {
                    format!("invalid payload: {message}")
                } else {
                    format!("invalid payload: at `{path}`: {message}")
                }
            })
        }
        Ok(match event {
            "push" => Self::Push(de(body)?),
            "issues" => Self::Issues(de(body)?),
            "issue_comment" => Self::IssueComment(de(body)?),
            "pull_request" => Self::PullRequest(de(body)?),
            "release" => Self::Release(de(body)?),
            "create" => Self::Create(de(body)?),
            "delete" => Self::Delete(de(body)?),
            other => Self::Unknown(other.to_string()),
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Push(_) => "push",
            Self::Issues(_) => "issues",
            Self::IssueComment(_) => "issue_comment",
            Self::PullRequest(_) => "pull_request",
            Self::Release(_) => "release",
            Self::Create(_) => "create",
            Self::Delete(_) => "delete",
            Self::Unknown(name) => name,
        }
    }

    fn repository(&self) -> Option<&PayloadRepository> {
        match self {
            Self::Push(e) => Some(&e.repository),
            Self::Issues(e) => Some(&e.repository),
            Self::IssueComment(e) => Some(&e.repository),
            Self::PullRequest(e) => Some(&e.repository),
            Self::Release(e) => Some(&e.repository),
            Self::Create(e) | Self::Delete(e) => Some(&e.repository),
            Self::Unknown(_) => None,
        }
    }

    /// A few words on what happened, for the audit record.
    fn describe(&self) -> String {
        match self {
            Self::Push(e) => format!("{} commit(s) to `{}`", e.total_commits, e.reference),
            Self::Issues(e) => format!("issue #{} {}", e.issue.number, e.action),
            Self::IssueComment(e) => format!(
                "comment {} {} on #{}",
                e.comment.id, e.action, e.issue.number
            ),
            Self::PullRequest(e) => format!("pull request #{} {}", e.number, e.action),
            Self::Release(e) => format!("release `{}` {}", e.release.tag_name, e.action),
            Self::Create(e) => format!("{} `{}` created", e.ref_type, e.reference),
            Self::Delete(e) => format!("{} `{}` deleted", e.ref_type, e.reference),
            Self::Unknown(name) => format!("`{name}` is not handled"),
        }
    }

    /// The jobs this event calls for. A push to the default branch that touches a
    /// dependency manifest or lockfile re-runs the hygiene scan and issue creation; the
    /// other events are recorded and call for nothing (the stale check runs on schedule,
    /// since every event on an issue is activity that already makes it fresh).
    pub fn routes(&self) -> Vec<Job> {
        match self {
            Self::Push(push) => {
                let default = format!("refs/heads/{}", push.repository.default_branch);
                let touches_manifest = push.commits.iter().any(|c| {
                    c.added
                        .iter()
                        .chain(&c.modified)
                        .chain(&c.removed)
                        .any(|p| is_dependency_file(p))
                });
                if push.reference == default && touches_manifest {
                    vec![Job::DependencyHygieneScan, Job::AutoIssueCreation]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }
}

/// A manifest or a lockfile: a change to it can change the hygiene findings.
fn is_dependency_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    super::manifests::manifest_kind(path).is_some() || super::manifests::is_lockfile(name)
}

/// A header value that is safe to log and record: visible ASCII, bounded.
fn header_token(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| v.to_string())
}

/// The context of one delivery's audit record.
struct Delivery {
    id: Option<String>,
    event: Option<String>,
    request_id: String,
}

impl Delivery {
    fn base(&self, mut record: AuditEvent) -> AuditEvent {
        record.tool = Some(WEBHOOK_TOOL.to_string());
        let correlation = self.id.clone().unwrap_or_else(|| self.request_id.clone());
        record = record
            .with_request_id(&self.request_id)
            .with_correlation_id(correlation)
            .with_principal("gitea:webhook")
            .with_context("kind", "webhook_delivery");
        if let Some(id) = &self.id {
            record = record.with_context("delivery", id.as_str());
        }
        if let Some(event) = &self.event {
            record = record.with_context("event", event.as_str());
        }
        record
    }

    /// Records the refusal (durably) and turns it into the answer.
    async fn reject(&self, state: &AutomationState, outcome: &str, error: ApiError) -> ApiError {
        let reason = error.to_string();
        tracing::warn!(delivery = ?self.id, event = ?self.event, %reason, "webhook delivery rejected");
        state
            .edge
            .metrics
            .webhook_delivery(self.event.as_deref().unwrap_or("unknown"), outcome);
        let record = self
            .base(AuditEvent::access_denied(reason))
            .with_context("result", outcome);
        if state.edge.audit.record(record).await.is_err() {
            return ApiError::Unavailable("the audit trail is unavailable; try again later".into());
        }
        error
    }
}

/// Handles one delivery end to end; the answer is the JSON body of a 200, or the error.
pub async fn ingest(
    state: &AutomationState,
    headers: &HeaderMap,
    request_id: &str,
    body: Body,
) -> Result<Value, ApiError> {
    let delivery = Delivery {
        id: header_token(headers, DELIVERY_HEADER),
        event: header_token(headers, EVENT_HEADER),
        request_id: request_id.to_string(),
    };
    match admit(state, headers, &delivery, body).await {
        Ok(admitted) => route(state, &delivery, admitted).await,
        Err((outcome, error)) => Err(delivery.reject(state, outcome, error).await),
    }
}

/// A delivery that passed every check, ready to route.
struct Admitted {
    id: String,
    event: WebhookEvent,
    /// The repository the event is about; `None` for an event we do not handle
    repo: Option<RepoName>,
}

/// Steps 1 to 6 in order, each refusing with its audit outcome and HTTP error: size (before
/// anything is hashed or parsed), automation at all, the signature over the raw bytes, once
/// per delivery id, the parse, and the repository's policy.
async fn admit(
    state: &AutomationState,
    headers: &HeaderMap,
    delivery: &Delivery,
    body: Body,
) -> Result<Admitted, (&'static str, ApiError)> {
    let config = &state.edge.config;
    let body = bounded_body(headers, body, config.automation.webhook_max_body_bytes)
        .await
        .map_err(|e| ("rejected", e))?;
    if !config.automation.enabled {
        return Err((
            "rejected",
            ApiError::Forbidden {
                message: "automation is disabled (AUTOMATION_ENABLED=false)".into(),
                www_authenticate: None,
            },
        ));
    }
    check_signature(config, headers, &body).map_err(|e| ("rejected", e))?;
    let id = first_delivery(state, delivery).await?;
    let event_name = delivery.event.clone().ok_or_else(|| {
        (
            "rejected",
            ApiError::BadRequest("missing or malformed X-Gitea-Event".into()),
        )
    })?;
    let event = WebhookEvent::parse(&event_name, &body)
        .map_err(|reason| ("rejected", ApiError::BadRequest(reason)))?;
    let repo = event
        .repository()
        .map(|r| RepoName::parse(&r.full_name))
        .transpose()
        .map_err(|e| ("rejected", ApiError::BadRequest(e)))?;
    if let Some(repo) = &repo {
        let decision = state
            .policy
            .authorize(&PolicyRequest::new(WEBHOOK_TOOL, ToolClass::Automation).repo(repo));
        if !decision.allowed {
            return Err((
                "rejected",
                ApiError::Forbidden {
                    message: format!("denied by policy: {}", decision.summary()),
                    www_authenticate: None,
                },
            ));
        }
    }
    Ok(Admitted { id, event, repo })
}

/// Step 1: the body, refused (413) above `limit` by its declared length or as it is read.
async fn bounded_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(limit))
}

/// Step 3: `X-Gitea-Signature` over the raw bytes with `WEBHOOK_SECRET` (503 when unset).
fn check_signature(config: &Config, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(secret) = &config.automation.webhook_secret else {
        return Err(ApiError::Unavailable(
            "webhook deliveries cannot be verified: WEBHOOK_SECRET is not set".into(),
        ));
    };
    let unauthorized = |message: &str| ApiError::Unauthorized {
        message: message.to_string(),
        www_authenticate: "HMAC-SHA256 header=\"X-Gitea-Signature\"".into(),
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unauthorized("missing X-Gitea-Signature"))?;
    if !signature_valid(secret.expose().as_bytes(), body, signature) {
        return Err(unauthorized("invalid X-Gitea-Signature"));
    }
    Ok(())
}

/// Step 4: the delivery id, seen for the first time within the replay window.
async fn first_delivery(
    state: &AutomationState,
    delivery: &Delivery,
) -> Result<String, (&'static str, ApiError)> {
    let Some(id) = delivery.id.clone() else {
        return Err((
            "rejected",
            ApiError::BadRequest("missing or malformed X-Gitea-Delivery".into()),
        ));
    };
    let expires = aegis_storage::now_secs() + REPLAY_WINDOW_SECS;
    let key = format!("webhook-delivery:{id}");
    match state.edge.storage.grants.use_once(&key, expires).await {
        Ok(true) => Ok(id),
        Ok(false) => Err((
            "replayed",
            ApiError::Conflict(format!("delivery `{id}` was already received")),
        )),
        Err(e) => {
            tracing::error!(error = %e, "replay store unavailable");
            Err((
                "rejected",
                ApiError::Unavailable("the replay check is unavailable; redeliver later".into()),
            ))
        }
    }
}

/// Step 7: the jobs the event routes to, each through the automation gate (`run`), and the
/// delivery's own audit record; an event we do not handle is accepted and recorded.
async fn route(
    state: &AutomationState,
    delivery: &Delivery,
    Admitted { id, event, repo }: Admitted,
) -> Result<Value, ApiError> {
    let accepted = |outcome: &str, repo: Option<&RepoName>| {
        let mut record = delivery
            .base(AuditEvent::tool_invocation(
                WEBHOOK_TOOL,
                InvocationStatus::Success,
            ))
            .with_decision("allow")
            .with_outcome(outcome)
            .with_context("summary", event.describe());
        if let Some(repo) = repo {
            record = record.with_repository(repo.to_string());
        }
        record
    };
    let Some(repo) = repo else {
        state.edge.metrics.webhook_delivery(event.name(), "ignored");
        state
            .edge
            .audit
            .record(accepted("ignored", None).with_context("result", "ignored"))
            .await
            .map_err(|_| ApiError::Unavailable("the audit trail is unavailable".into()))?;
        return Ok(json!({
            "delivery": id, "event": event.name(), "outcome": "ignored",
            "reason": "event type not handled", "jobs": [],
        }));
    };
    let mut jobs = Vec::new();
    let cache = Arc::new(super::RunCache::default());
    for job in event.routes() {
        let request = JobRequest {
            repositories: vec![repo.clone()],
            cache: Arc::clone(&cache),
            ..JobRequest::new(job)
        };
        let trigger = Trigger::Webhook {
            delivery: id.clone(),
        };
        let entry = match super::run(state, &trigger, request).await {
            Ok(summary) => json!({ "job": job.name(), "status": "ran", "summary": summary }),
            Err(super::AutomationError::AuditUnavailable) => {
                return Err(ApiError::Unavailable(
                    "the audit trail is unavailable; redeliver later".into(),
                ))
            }
            Err(e) => json!({ "job": job.name(), "status": "refused", "reason": e.to_string() }),
        };
        jobs.push(entry);
    }
    let outcome = if jobs.is_empty() {
        "ignored"
    } else {
        "accepted"
    };
    state.edge.metrics.webhook_delivery(event.name(), outcome);
    let ran: Vec<Value> = jobs
        .iter()
        .map(|j| json!({ "job": j["job"], "status": j["status"] }))
        .collect();
    state
        .edge
        .audit
        .record(
            accepted(outcome, Some(&repo))
                .with_context("result", outcome)
                .with_context("jobs", Value::Array(ran)),
        )
        .await
        .map_err(|_| ApiError::Unavailable("the audit trail is unavailable".into()))?;
    tracing::info!(delivery = %id, event = event.name(), repository = %repo, outcome, "webhook delivery handled");
    Ok(json!({
        "delivery": id,
        "event": event.name(),
        "repository": repo.to_string(),
        "outcome": outcome,
        "summary": event.describe(),
        "jobs": jobs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_exact_bytes() {
        let secret = b"webhook-secret-0123456789";
        let body = br#"{"ref": "refs/heads/main"}"#;
        let sig = sign(secret, body);
        assert_eq!(sig.len(), 64);
        assert!(signature_valid(secret, body, &sig));
        assert!(
            signature_valid(secret, body, &sig.to_uppercase()),
            "hex is case-insensitive"
        );
        assert!(!signature_valid(
            secret,
            br#"{"ref":"refs/heads/main"}"#,
            &sig
        ));
        assert!(!signature_valid(b"other-secret-0123456789", body, &sig));
        assert!(!signature_valid(secret, body, "not-hex"));
        assert!(!signature_valid(secret, body, &sig[..62]));
        assert!(!signature_valid(secret, body, ""));
    }

    #[test]
    fn pushes_route_to_the_hygiene_jobs_only_when_they_touch_manifests() {
        let push = |reference: &str, files: &[&str]| {
            let body = json!({
                "ref": reference, "before": "a", "after": "b", "total_commits": 1,
                "commits": [{"id": "b", "message": "m", "modified": files, "added": [], "removed": []}],
                "repository": {"full_name": "lab/deps", "default_branch": "main"},
            });
            WebhookEvent::parse("push", body.to_string().as_bytes())
                .unwrap()
                .routes()
        };
        assert_eq!(
            push("refs/heads/main", &["web/package.json"]),
            [Job::DependencyHygieneScan, Job::AutoIssueCreation]
        );
        assert_eq!(
            push("refs/heads/main", &["go.sum"]),
            [Job::DependencyHygieneScan, Job::AutoIssueCreation]
        );
        assert!(push("refs/heads/main", &["README.md"]).is_empty());
        assert!(push("refs/heads/feature", &["Cargo.toml"]).is_empty());
        assert!(matches!(
            WebhookEvent::parse("wiki", b"{}").unwrap(),
            WebhookEvent::Unknown(_)
        ));
        assert!(WebhookEvent::parse("push", b"{}").is_err());
    }
}
