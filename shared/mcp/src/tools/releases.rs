//! Read tools over releases, organizations and organization repositories.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::RepoPageArgs;
use super::common::{cap_field, listing, no_text, page_request, positive, repo_names, Listing};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_core::paths::validate_name;
use aegis_gitea::{Organization, Release, Repository};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "list_releases",
            "List releases",
            "List a repository's releases, newest first, including drafts and pre-releases \
             the caller may see.",
        ),
        list_releases,
    );
    r.add(
        read_meta(
            "get_release",
            "Get release",
            "Get one release by its numeric id.",
        ),
        get_release,
    );
    r.add(
        read_meta(
            "get_latest_release",
            "Get latest release",
            "Get the latest published release (not a draft or pre-release).",
        ),
        get_latest_release,
    );
    r.add(
        read_meta(
            "list_org_repositories",
            "List organization repositories",
            "List the repositories of an organization that the caller can see.",
        ),
        list_org_repositories,
    );
    r.add(
        read_meta(
            "list_organizations",
            "List organizations",
            "List the organizations the caller belongs to.",
        ),
        list_organizations,
    );
}

fn cap_release(r: &mut Release, l: &super::Limits) -> bool {
    cap_field(&mut r.body, l)
}

async fn list_releases(ctx: ToolContext, a: RepoPageArgs) -> Result<Listing<Release>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_releases(&ctx.principal.credential, &a.owner, &a.repo, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, cap_release))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The release's numeric id (see list_releases)
    pub release_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleaseDetail {
    pub release: Release,
    /// Whether the notes were cut (MAX_TOOL_RESPONSE_CHARS)
    pub truncated: bool,
}

impl ToolOutput for ReleaseDetail {}

async fn get_release(ctx: ToolContext, a: ReleaseArgs) -> Result<ReleaseDetail, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let id = positive("release_id", a.release_id)?;
    let mut release = ctx
        .gitea
        .get_release(&ctx.principal.credential, &a.owner, &a.repo, id)
        .await?;
    let truncated = cap_release(&mut release, &ctx.limits);
    Ok(ReleaseDetail { release, truncated })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatestReleaseArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
}

async fn get_latest_release(
    ctx: ToolContext,
    a: LatestReleaseArgs,
) -> Result<ReleaseDetail, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let mut release = ctx
        .gitea
        .get_latest_release(&ctx.principal.credential, &a.owner, &a.repo)
        .await?;
    let truncated = cap_release(&mut release, &ctx.limits);
    Ok(ReleaseDetail { release, truncated })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPageArgs {
    /// Organization name
    pub org: String,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

async fn list_org_repositories(
    ctx: ToolContext,
    a: OrgPageArgs,
) -> Result<Listing<Repository>, ToolError> {
    validate_name("org", &a.org).map_err(super::common::invalid)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_org_repositories(&ctx.principal.credential, &a.org, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, |r, l| {
        cap_field(&mut r.description, l)
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageArgs {
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

async fn list_organizations(
    ctx: ToolContext,
    a: PageArgs,
) -> Result<Listing<Organization>, ToolError> {
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_my_organizations(&ctx.principal.credential, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, no_text))
}
