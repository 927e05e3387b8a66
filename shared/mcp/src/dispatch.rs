//! The tool-call pipeline both endpoints share: find the tool, check scope, write mode,
//! the write whitelist and the policy, then run it.
//!
//! `authorize` is the gate: it runs before the protocol layer (so a denial is an HTTP 403
//! that never reaches Gitea) and again inside `call`, so no path skips it.
//!
//! Architecture invariant: a tool's Gitea request happens only after `authorize` allowed
//! this exact (principal, tool, repository, path); nothing else calls `ToolRegistry::call`.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::state::McpState;
use crate::tools::{ToolContext, ToolError, ToolKind, ToolResult, ToolSpec, ToolText};
use aegis_core::audit::{outcome_of, AuditError, AuditEvent, InvocationStatus};
use aegis_core::config::RepoName;
use aegis_core::paths::{normalize_repo_path, validate_name};
use aegis_core::policy::{PolicyRequest, ToolClass};
use aegis_edge::auth::Principal;

pub use aegis_gate::{Denial, ForbiddenBy};

/// A call that passed the gate: what the tool may touch.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub spec: ToolSpec,
    pub repo: Option<RepoName>,
}

/// The repository a call targets, from its `owner`/`repo` arguments (or `org` alone for
/// organization tools, which have none). Invalid names are left to the tool's own
/// validation, which rejects them as bad arguments.
pub fn target_repo(arguments: Option<&JsonObject>) -> Option<RepoName> {
    let args = arguments?;
    let owner = args.get("owner")?.as_str()?;
    let repo = args.get("repo")?.as_str()?;
    RepoName::parse(&format!("{owner}/{repo}")).ok()
}

/// Validation precedes authorization: a traversal attempt or a hostile name is a bad
/// argument whatever the policy says.
pub fn validate_targets(arguments: Option<&JsonObject>) -> Result<(), Denial> {
    let Some(args) = arguments else {
        return Ok(());
    };
    for field in ["owner", "repo", "org"] {
        if let Some(Value::String(name)) = args.get(field) {
            validate_name(field, name).map_err(Denial::BadArguments)?;
        }
    }
    if let Some(Value::String(path)) = args.get("filepath") {
        normalize_repo_path(path).map_err(Denial::BadArguments)?;
    }
    Ok(())
}

/// Whether the tool is offered at all (write tools only in write mode).
pub fn offered(state: &McpState, spec: &ToolSpec) -> bool {
    spec.kind == ToolKind::Read || state.edge.config.write.enabled
}

/// The gate. Pure apart from reading the configuration and the policy.
pub fn authorize(
    state: &McpState,
    principal: &Principal,
    tool: &str,
    arguments: Option<&JsonObject>,
) -> Result<Authorized, Denial> {
    let spec = state
        .tools
        .get(tool)
        .filter(|spec| offered(state, spec))
        .ok_or_else(|| Denial::UnknownTool(tool.to_string()))?;
    validate_targets(arguments)?;
    let needed = spec.kind.required_scope();
    if !principal.has_scope(needed) {
        return Err(Denial::InsufficientScope { needed });
    }
    let repo = target_repo(arguments);
    if spec.kind == ToolKind::Write {
        aegis_gate::write_gate(&state.edge.config, repo.as_ref())?;
    }
    let mut request = PolicyRequest::new(tool, ToolClass::from(spec.kind));
    if let Some(repo) = &repo {
        request = request.repo(repo);
    }
    if let Some(path) = spec.target_path(arguments) {
        request = request.path(path);
    }
    let decision = state.policy.authorize(&request);
    if !decision.allowed {
        return Err(Denial::forbidden(
            ForbiddenBy::Policy,
            format!("denied by policy: {}", decision.summary()),
        ));
    }
    Ok(Authorized {
        spec: spec.clone(),
        repo,
    })
}

/// Why a call failed: refused at the gate, the tool itself failed, or the audit trail
/// could not record it (the call then fails closed).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Denied(#[from] Denial),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("the audit trail is unavailable, so the call was refused: {0}")]
    AuditUnavailable(String),
    /// The write's task was cancelled (only when the runtime shuts down)
    #[error("the call was cancelled: the server is shutting down")]
    Aborted,
}

impl From<AuditError> for CallError {
    fn from(e: AuditError) -> Self {
        tracing::error!(error = %e, "audit write failed; refusing the call");
        CallError::AuditUnavailable("audit write failed".into())
    }
}

/// Records a refused call as `access_denied`, durably, before the refusal is answered,
/// and counts it (`aegis_policy_denials_total`, `aegis_tool_calls_total{status="denied"}`):
/// every denial of both endpoints passes here, arguments the gate refused (traversal,
/// malformed names) included. Unknown tools are protocol errors: not recorded.
pub async fn audit_denial(
    state: &McpState,
    principal: &Principal,
    request_id: &str,
    tool: &str,
    arguments: Option<&JsonObject>,
    denial: &Denial,
) -> Result<(), AuditError> {
    if matches!(denial, Denial::UnknownTool(_)) {
        return Ok(());
    }
    state.edge.metrics.policy_denial(tool, denial.reason());
    state.edge.metrics.tool_call(tool, "denied", 0.0);
    let mut event = AuditEvent::access_denied(denial.to_string())
        .with_request_id(request_id)
        .with_correlation_id(request_id)
        .with_principal(&principal.subject)
        .with_decision("deny")
        .with_context("tool", tool);
    if let Some(repo) = target_repo(arguments) {
        event = event.with_repository(repo.to_string());
    }
    state.edge.audit.record(event).await.map(|_| ())
}

/// Authorizes and runs one call, inside a `tool_call` span carrying the request id and
/// the tool so every line it logs can be found by either (the protocol layer may run the
/// handler outside the HTTP request's own span).
#[tracing::instrument(name = "tool_call", skip_all, fields(request_id = %request_id, tool = %tool))]
pub async fn call(
    state: &McpState,
    principal: Principal,
    request_id: String,
    tool: &str,
    arguments: Option<JsonObject>,
) -> Result<ToolResult, CallError> {
    let started = std::time::Instant::now();
    let gate = match authorize(state, &principal, tool, arguments.as_ref()) {
        Ok(a) => state
            .permissions
            .check(&principal, a.spec.kind, a.repo.as_ref())
            .await
            .map(|()| a),
        Err(d) => Err(d),
    };
    let authorized = match gate {
        Ok(a) => a,
        Err(denial) => {
            audit_denial(
                state,
                &principal,
                &request_id,
                tool,
                arguments.as_ref(),
                &denial,
            )
            .await?;
            return Err(denial.into());
        }
    };
    let mut pending = AuditEvent::tool_invocation(tool, InvocationStatus::Pending)
        .with_request_id(&request_id)
        .with_correlation_id(&request_id)
        .with_principal(&principal.subject)
        .with_decision("allow");
    if let Some(repo) = &authorized.repo {
        pending = pending.with_repository(repo.to_string());
    }
    let kind = authorized.spec.kind;
    let credential = principal.credential.clone();
    let authorized_repo = authorized.repo.clone();
    let ctx = ToolContext {
        gitea: state.gitea.clone(),
        principal,
        limits: state.limits,
        request_id,
        policy: Arc::clone(&state.policy),
        repo: authorized.repo,
    };
    let run = state.tools.call(&authorized.spec, ctx, arguments);
    let finish = finish(
        state.clone(),
        tool.to_string(),
        kind,
        credential,
        authorized_repo,
        run,
        pending,
        started,
    );
    if kind != ToolKind::Write {
        return finish.await;
    }
    // A write runs on a task of its own: once its `pending` record is written, the Gitea
    // call and the outcome record complete even if the caller stops waiting (the request
    // timeout answered 504, the client went away). Dropping it midway could leave a write
    // done in Gitea with no outcome on the trail.
    match tokio::spawn(tracing::Instrument::instrument(
        finish,
        tracing::Span::current(),
    ))
    .await
    {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(CallError::Aborted),
    }
}

/// Everything after the gate: the `pending` record of a write, the tool, lockdown, the
/// secret scanner, hygiene, the outcome record, the metrics. Owns what it uses.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: McpState,
    tool: String,
    kind: ToolKind,
    credential: aegis_edge::auth::Credential,
    repo: Option<RepoName>,
    run: impl std::future::Future<Output = Result<ToolResult, ToolError>>,
    pending: AuditEvent,
    started: std::time::Instant,
) -> Result<ToolResult, CallError> {
    let state = &state;
    let tool = tool.as_str();
    if kind == ToolKind::Write {
        // No Gitea write before its `pending` record is durable.
        state.edge.audit.record(pending.clone()).await?;
    }
    let result = run.await;
    let result = match result {
        Ok(mut r) if state.edge.config.lockdown_mode => {
            lockdown(state, &credential, repo.as_ref(), &mut r).await;
            Ok(r)
        }
        other => other,
    };
    let mode = state.edge.config.secret_detection_mode;
    let result = result.map(|r| model_facing(state, tool, mode, r));
    let outcome = match &result {
        Ok(_) => outcome_of(&pending, true, "ok"),
        Err(e) => outcome_of(
            &pending,
            false,
            state.secrets.redact(&e.to_string(), mode).text.into_owned(),
        ),
    };
    // No response leaves before its outcome record is durable. A read's `pending` record
    // is written in the same batch as its outcome: one fsync on the call's path instead of
    // two in a row (a Gitea read is faster than an fsync, so a `pending` submitted before
    // the read was still being written when the outcome arrived, which then waited for it
    // and for its own). A read changes nothing, so nothing is owed before it runs.
    let events = if kind == ToolKind::Write {
        vec![outcome]
    } else {
        vec![pending, outcome]
    };
    for ticket in state.edge.audit.submit_together(events) {
        ticket.durable().await?;
    }
    let status = if result.is_ok() { "ok" } else { "error" };
    state
        .edge
        .metrics
        .tool_call(tool, status, started.elapsed().as_secs_f64());
    Ok(result?)
}

/// What leaves for the client: every tool output passes the secret scanner, then the
/// untrusted-content hygiene (invisible characters out of every string), before anyone
/// sees it. The text content is then rendered (the cleaned structured result as compact
/// JSON with lists as tables, `tools::render`, unless the tool has a text of its own),
/// bounded as a whole by
/// `MAX_TOOL_RESPONSE_CHARS` with a notice saying how to get the rest, and delimited as
/// untrusted data (`aegis_core::hygiene`).
fn model_facing(
    state: &McpState,
    tool: &str,
    mode: aegis_core::config::SecretDetectionMode,
    mut r: ToolResult,
) -> ToolResult {
    let findings = state.secrets.redact_json(&mut r.structured, mode);
    let mut masked = findings.len();
    aegis_core::hygiene::strip_json(&mut r.structured);
    let text = match std::mem::replace(&mut r.text, ToolText::Structured) {
        ToolText::Custom(text) => {
            let redacted = state.secrets.redact(&text, mode);
            masked = masked.max(redacted.findings.len());
            aegis_core::hygiene::strip_invisible(&redacted.text).into_owned()
        }
        // Rendered from what was just masked and cleaned: nothing to scan again.
        ToolText::Structured | ToolText::Final(_) => {
            crate::tools::render::model_text(&r.structured)
        }
    };
    if masked > 0 {
        tracing::info!(tool, masked, "secrets masked in a tool result");
    }
    r.text = ToolText::Final(bounded_frame(
        tool,
        &text,
        state.edge.config.limits.max_tool_response_chars,
    ));
    r
}

/// `text` delimited as untrusted data, the whole at most `max_chars` characters plus a
/// truncation notice after the block when the data had to be cut.
pub fn bounded_frame(tool: &str, text: &str, max_chars: usize) -> String {
    let frame = aegis_core::hygiene::delimit(tool, "").chars().count();
    let budget = max_chars.saturating_sub(frame);
    let (kept, cut) = crate::tools::limits::cap_chars(text, budget);
    let mut out = aegis_core::hygiene::delimit(tool, &kept);
    if cut {
        let total = text.chars().count();
        out.push_str(&format!(
            "\n[truncated: the text above is the first {} of {total} characters \
(MAX_TOOL_RESPONSE_CHARS={max_chars}); structuredContent has the whole result. For the rest \
as text, call again with a smaller `limit` or the next `page`, or name a narrower path, ref \
or query]",
            kept.chars().count()
        ));
    }
    out
}

/// Lockdown mode: bodies (issues, pull requests, comments) whose author lacks push access
/// to the call's repository are replaced by a notice. Without a repository, or when
/// Gitea cannot say, the body is hidden: the check fails closed.
async fn lockdown(
    state: &McpState,
    credential: &aegis_edge::auth::Credential,
    repo: Option<&RepoName>,
    result: &mut ToolResult,
) {
    let authors = aegis_core::hygiene::body_authors(&result.structured);
    if authors.is_empty() {
        return;
    }
    let mut trusted = std::collections::BTreeSet::new();
    if let Some(repo) = repo {
        // One permission lookup per author, all at once rather than one round trip after
        // another.
        let checks = authors.into_iter().map(|author| async move {
            let push = state
                .permissions
                .has_push_access(credential, repo, &author)
                .await;
            (author, push)
        });
        trusted.extend(
            futures_util::future::join_all(checks)
                .await
                .into_iter()
                .filter_map(|(author, push)| push.then_some(author)),
        );
    }
    let hidden =
        aegis_core::hygiene::hide_bodies(&mut result.structured, &|a: &str| trusted.contains(a));
    if hidden > 0 {
        tracing::info!(
            hidden,
            "lockdown mode hid bodies by users without push access"
        );
        // The text content is rendered from the structured result, so the hidden bodies
        // are gone from both content blocks.
        result.text = ToolText::Structured;
    }
}

#[cfg(test)]
mod tests {
    use super::bounded_frame;

    #[test]
    fn the_text_is_bounded_as_a_whole_with_a_notice_after_the_block() {
        let short = bounded_frame("get_issue", "{\"a\":1}", 1_000);
        assert!(
            short.ends_with("{\"a\":1}\n</untrusted-repository-data>"),
            "{short}"
        );
        assert!(!short.contains("[truncated"));
        for max in [200, 500, 1_000] {
            let text = "x".repeat(5_000);
            let framed = bounded_frame("list_repositories", &text, max);
            let (block, notice) = framed.split_once("\n[truncated: ").expect("a notice");
            assert_eq!(block.chars().count(), max, "{max}");
            assert!(block.ends_with("</untrusted-repository-data>"));
            assert!(notice.contains(&format!(
                "of 5000 characters (MAX_TOOL_RESPONSE_CHARS={max})"
            )));
            assert!(notice.contains("next `page`"));
        }
    }
}
