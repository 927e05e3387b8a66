//! Read tools over issues, comments, labels and milestones.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{RepoPageArgs, RepoStatePageArgs, StateFilter};
use super::common::{cap_field, listing, no_text, page_request, positive, repo_names, Listing};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_gitea::{Comment, Issue, Label, Milestone, Page, PageInfo};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "list_issues",
            "List issues",
            "List a repository's issues (not pull requests), filtered by `state` (default \
             open) and `labels` (names; an issue must carry all of them). Bodies are cut at \
             the response limit.",
        ),
        list_issues,
    );
    r.add(
        read_meta(
            "get_issue",
            "Get issue",
            "Get one issue by number: title, body, state, labels, assignees, milestone.",
        ),
        get_issue,
    );
    r.add(
        read_meta(
            "list_issue_comments",
            "List issue comments",
            "List the comments of an issue or pull request, oldest first, paginated with \
             `page`/`limit`.",
        ),
        list_issue_comments,
    );
    r.add(
        read_meta(
            "list_labels",
            "List labels",
            "List a repository's labels with colours and descriptions.",
        ),
        list_labels,
    );
    r.add(
        read_meta(
            "list_milestones",
            "List milestones",
            "List a repository's milestones filtered by `state` (default open), with open and \
             closed issue counts and due dates.",
        ),
        list_milestones,
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListIssuesArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// `open` (default), `closed` or `all`
    #[serde(default)]
    pub state: Option<StateFilter>,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    /// Label names; only issues carrying every one are listed
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

fn cap_issue(i: &mut Issue, l: &super::Limits) -> bool {
    cap_field(&mut i.body, l)
}

async fn list_issues(ctx: ToolContext, a: ListIssuesArgs) -> Result<Listing<Issue>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let labels = a.labels.unwrap_or_default();
    if let Some(bad) = labels
        .iter()
        .find(|l| l.trim().is_empty() || l.contains(','))
    {
        return Err(ToolError::InvalidArguments(format!(
            "label names must be non-empty and contain no comma, got `{}`",
            bad.escape_default()
        )));
    }
    if !labels.is_empty() {
        // Gitea silently drops label names it does not know, which would widen the filter.
        let known = all_label_names(&ctx, &a.owner, &a.repo).await?;
        if let Some(unknown) = labels
            .iter()
            .find(|l| !known.iter().any(|k| k.eq_ignore_ascii_case(l)))
        {
            return Err(ToolError::NotFound(format!(
                "unknown label `{}` in {}/{}; known labels: {}",
                unknown.escape_default(),
                a.owner,
                a.repo,
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let state = a.state.unwrap_or(StateFilter::Open).as_str();
    let page = ctx
        .gitea
        .list_issues(
            &ctx.principal.credential,
            &a.owner,
            &a.repo,
            state,
            &labels,
            req,
        )
        .await?;
    Ok(listing(page, &ctx.limits, note, cap_issue))
}

/// Every label name of a repository (up to 1,000).
async fn all_label_names(
    ctx: &ToolContext,
    owner: &str,
    repo: &str,
) -> Result<Vec<String>, ToolError> {
    let labels =
        super::write::all_labels(&ctx.gitea, &ctx.principal.credential, owner, repo).await?;
    Ok(labels.into_iter().map(|l| l.name).collect())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue number (as shown in `#12`)
    pub issue_number: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IssueDetail {
    pub issue: Issue,
    /// Whether the body was cut (MAX_TOOL_RESPONSE_CHARS)
    pub truncated: bool,
}

impl ToolOutput for IssueDetail {}

async fn get_issue(ctx: ToolContext, a: IssueArgs) -> Result<IssueDetail, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    let debug = tracing::enabled!(tracing::Level::DEBUG);
    if debug {
        aegis_edge::telemetry::log_event(
            tracing::Level::DEBUG,
            "get_issue.start",
            &serde_json::json!({"owner": a.owner, "repo": a.repo, "issue_number": n}),
        );
    }
    let mut issue = ctx
        .gitea
        .get_issue(&ctx.principal.credential, &a.owner, &a.repo, n)
        .await?;
    if debug {
        issue_diagnostics(&issue);
    }
    let truncated = cap_issue(&mut issue, &ctx.limits);
    Ok(IssueDetail { issue, truncated })
}

/// The spec's `get_issue` diagnostics (DEBUG only): which fields the parsed issue carries,
/// and for each nullable one whether it is null and its type, never its contents.
fn issue_diagnostics(issue: &Issue) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(issue) else {
        return;
    };
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    aegis_edge::telemetry::log_event(
        tracing::Level::DEBUG,
        "get_issue.payload_shape",
        &serde_json::json!({ "keys": keys }),
    );
    for field in ["milestone", "closed_at", "body", "assignees", "labels"] {
        let value = fields.get(field).unwrap_or(&serde_json::Value::Null);
        aegis_edge::telemetry::log_nullable_field("get_issue.field_check", field, value);
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCommentsArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue or pull request number
    pub issue_number: i64,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

async fn list_issue_comments(
    ctx: ToolContext,
    a: IssueCommentsArgs,
) -> Result<Listing<Comment>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    // Gitea returns every comment of an issue at once; page them here.
    let all = ctx
        .gitea
        .list_issue_comments(&ctx.principal.credential, &a.owner, &a.repo, n)
        .await?;
    let total = all.len();
    let start = ((req.page - 1) as usize).saturating_mul(req.limit as usize);
    let items: Vec<Comment> = all
        .into_iter()
        .skip(start)
        .take(req.limit as usize)
        .collect();
    let page = Page {
        items,
        info: PageInfo {
            total: Some(total as u64),
            ..Default::default()
        }
        .with_request(req),
    };
    Ok(listing(page, &ctx.limits, note, |c, l| {
        cap_field(&mut c.body, l)
    }))
}

async fn list_labels(ctx: ToolContext, a: RepoPageArgs) -> Result<Listing<Label>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_labels(&ctx.principal.credential, &a.owner, &a.repo, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, no_text))
}

async fn list_milestones(
    ctx: ToolContext,
    a: RepoStatePageArgs,
) -> Result<Listing<Milestone>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let state = a.state.unwrap_or(StateFilter::Open).as_str();
    let page = ctx
        .gitea
        .list_milestones(&ctx.principal.credential, &a.owner, &a.repo, state, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, |m, l| {
        cap_field(&mut m.description, l)
    }))
}
