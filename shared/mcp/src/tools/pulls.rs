//! Read tools over pull requests: listing, details, changed files and commits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{RepoStatePageArgs, StateFilter};
use super::common::{cap_field, listing, no_text, page_request, positive, repo_names, Listing};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_gitea::{ChangedFile, Commit, PullRequest};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "list_pull_requests",
            "List pull requests",
            "List a repository's pull requests filtered by `state` (default open), with head \
             and base branches, merge state and counts.",
        ),
        list_pull_requests,
    );
    r.add(
        read_meta(
            "get_pull_request",
            "Get pull request",
            "Get one pull request by number: description, branches, merge state, additions \
             and deletions.",
        ),
        get_pull_request,
    );
    r.add(
        read_meta(
            "list_pull_request_files",
            "List pull request files",
            "List the files a pull request changes, with status and line counts.",
        )
        .lists_paths(&["filename"]),
        list_pull_request_files,
    );
    r.add(
        read_meta(
            "list_pull_request_commits",
            "List pull request commits",
            "List the commits of a pull request.",
        ),
        list_pull_request_commits,
    );
}

fn cap_pr(p: &mut PullRequest, l: &super::Limits) -> bool {
    cap_field(&mut p.body, l)
}

async fn list_pull_requests(
    ctx: ToolContext,
    a: RepoStatePageArgs,
) -> Result<Listing<PullRequest>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let state = a.state.unwrap_or(StateFilter::Open).as_str();
    let page = ctx
        .gitea
        .list_pull_requests(&ctx.principal.credential, &a.owner, &a.repo, state, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, cap_pr))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The pull request number
    pub pull_number: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PullRequestDetail {
    pub pull_request: PullRequest,
    /// Whether the description was cut (MAX_TOOL_RESPONSE_CHARS)
    pub truncated: bool,
}

impl ToolOutput for PullRequestDetail {}

async fn get_pull_request(ctx: ToolContext, a: PullArgs) -> Result<PullRequestDetail, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("pull_number", a.pull_number)?;
    let mut pull_request = ctx
        .gitea
        .get_pull_request(&ctx.principal.credential, &a.owner, &a.repo, n)
        .await?;
    let truncated = cap_pr(&mut pull_request, &ctx.limits);
    Ok(PullRequestDetail {
        pull_request,
        truncated,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PullPageArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The pull request number
    pub pull_number: i64,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

async fn list_pull_request_files(
    ctx: ToolContext,
    a: PullPageArgs,
) -> Result<Listing<ChangedFile>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("pull_number", a.pull_number)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let mut page = ctx
        .gitea
        .list_pull_request_files(&ctx.principal.credential, &a.owner, &a.repo, n, req)
        .await?;
    ctx.retain_paths(&mut page.items, |f| &f.filename);
    Ok(listing(page, &ctx.limits, note, no_text))
}

async fn list_pull_request_commits(
    ctx: ToolContext,
    a: PullPageArgs,
) -> Result<Listing<Commit>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("pull_number", a.pull_number)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_pull_request_commits(&ctx.principal.credential, &a.owner, &a.repo, n, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, |c, l| {
        cap_field(&mut c.message, l)
    }))
}
