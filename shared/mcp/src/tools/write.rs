//! The 15 write tools of the API Reference. Nothing else writes: no merge, no deletion of
//! branches, labels or releases, no force push, no content writes, no administration.
//!
//! Label names resolve to ids and milestone titles to ids here, with errors that list
//! what exists, so a model can correct itself without another round trip.

use std::ops::ControlFlow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{invalid, positive, repo_names};
use super::{ToolContext, ToolError, ToolKind, ToolMeta, ToolOutput, ToolRegistry};
use aegis_core::paths::validate_ref;
use aegis_edge::auth::Credential;
use aegis_gitea::{
    Branch, Comment, GiteaClient, Issue, IssueEdit, Label, LabelFields, Milestone, NewIssue,
    NewPullRequest, PageRequest, PullRequest, Release, ReleaseFields,
};

/// Most labels or milestones read when resolving names (20 pages of 50).
const MAX_RESOLVE_PAGES: u32 = 20;
/// Longest title accepted (Gitea's own limit is 255).
const MAX_TITLE: usize = 255;
/// Longest body accepted, in characters.
const MAX_BODY: usize = 65_536;

fn write_meta(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    idempotent: bool,
    destructive: bool,
) -> ToolMeta {
    ToolMeta {
        name,
        title,
        description,
        kind: ToolKind::Write,
        idempotent,
        destructive,
        path_arguments: &[],
        listed_paths: &[],
    }
}

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(write_meta("create_issue", "Create issue", "Open a new issue. `labels` are label names, `assignees` logins, `milestone` a milestone id or title.", false, false), create_issue);
    r.add(write_meta("update_issue", "Update issue", "Change an issue's title, body, state (`open`/`closed`) or milestone (id or title; 0 clears it). Give at least one field.", true, true), update_issue);
    r.add(
        write_meta(
            "create_issue_comment",
            "Comment on issue",
            "Add a comment to an issue.",
            false,
            false,
        ),
        create_issue_comment,
    );
    r.add(
        write_meta(
            "create_pr_comment",
            "Comment on pull request",
            "Add a comment to a pull request's conversation.",
            false,
            false,
        ),
        create_pr_comment,
    );
    r.add(
        write_meta(
            "edit_issue_comment",
            "Edit comment",
            "Replace the body of an existing issue or pull request comment.",
            true,
            true,
        ),
        edit_issue_comment,
    );
    r.add(
        write_meta(
            "add_labels",
            "Add labels",
            "Add labels (by name) to an issue or pull request; labels it already has stay.",
            true,
            false,
        ),
        add_labels,
    );
    r.add(
        write_meta(
            "remove_labels",
            "Remove labels",
            "Remove labels (by name) from an issue or pull request.",
            true,
            true,
        ),
        remove_labels,
    );
    r.add(write_meta("assign_issue", "Assign issue", "Set the assignees of an issue or pull request to exactly these logins (an empty list unassigns everyone).", true, true), assign_issue);
    r.add(
        write_meta(
            "create_label",
            "Create label",
            "Create a repository label with a hex colour such as `#00aabb`.",
            false,
            false,
        ),
        create_label,
    );
    r.add(write_meta("update_label", "Update label", "Rename a label or change its colour or description. Give at least one of `new_name`, `color`, `description`.", true, true), update_label);
    r.add(
        write_meta(
            "create_pull_request",
            "Create pull request",
            "Open a pull request from `head` into `base`.",
            false,
            false,
        ),
        create_pull_request,
    );
    r.add(write_meta("create_release", "Create release", "Create a release for `tag_name` (the tag is created at `target` when it does not exist).", false, false), create_release);
    r.add(
        write_meta(
            "edit_release",
            "Edit release",
            "Change a release's name, notes, draft or prerelease flag. Give at least one field.",
            true,
            true,
        ),
        edit_release,
    );
    r.add(write_meta("create_branch", "Create branch", "Create a branch from `old_branch_name` (default: the default branch). Never overwrites an existing branch.", false, false), create_branch);
    r.add(write_meta("create_milestone", "Create milestone", "Create a milestone with an optional description and due date (`YYYY-MM-DD` or RFC 3339).", false, false), create_milestone);
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ToolError> {
    if required && value.trim().is_empty() {
        return Err(invalid(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!(
            "`{field}` is longer than {max} characters"
        )));
    }
    Ok(())
}

/// A milestone named by id or by title.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MilestoneArg {
    /// The milestone id (`0` clears the milestone on `update_issue`)
    Id(i64),
    /// The milestone title, matched case-insensitively against open and closed milestones
    Title(String),
}

pub(super) async fn all_labels(
    gitea: &GiteaClient,
    cred: &Credential,
    owner: &str,
    repo: &str,
) -> Result<Vec<Label>, ToolError> {
    walk_pages(|req| gitea.list_labels(cred, owner, repo, req)).await
}

/// Every item of a paginated listing, 50 a page, up to `MAX_RESOLVE_PAGES` pages.
async fn walk_pages<T, F, Fut>(fetch: F) -> Result<Vec<T>, ToolError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<aegis_gitea::Page<T>, aegis_gitea::GiteaError>>,
{
    let mut out = Vec::new();
    aegis_gitea::walk_pages(MAX_RESOLVE_PAGES, fetch, |items| {
        out.extend(items);
        ControlFlow::Continue(())
    })
    .await?;
    Ok(out)
}

/// Label names to ids, case-insensitively; an unknown name lists the known ones.
async fn label_ids(
    ctx: &ToolContext,
    owner: &str,
    repo: &str,
    names: &[String],
) -> Result<Vec<i64>, ToolError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let labels = all_labels(&ctx.gitea, &ctx.principal.credential, owner, repo).await?;
    let mut ids = Vec::new();
    for name in names {
        let found = labels
            .iter()
            .find(|l| l.name == *name)
            .or_else(|| labels.iter().find(|l| l.name.eq_ignore_ascii_case(name)));
        match found {
            Some(l) => {
                if !ids.contains(&l.id) {
                    ids.push(l.id)
                }
            }
            None => {
                let known: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
                return Err(ToolError::NotFound(format!(
                    "unknown label `{}` in {owner}/{repo}; known labels: {}",
                    name.escape_default(),
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
    }
    Ok(ids)
}

/// A milestone id or title to an id; `0` passes through (it clears on update).
async fn milestone_id(
    ctx: &ToolContext,
    owner: &str,
    repo: &str,
    m: &MilestoneArg,
) -> Result<i64, ToolError> {
    let title = match m {
        MilestoneArg::Id(id) if *id >= 0 => return Ok(*id),
        MilestoneArg::Id(id) => {
            return Err(invalid(format!(
                "`milestone` id must not be negative, got {id}"
            )))
        }
        MilestoneArg::Title(t) => t.trim(),
    };
    if let Ok(id) = title.parse::<i64>() {
        return Ok(id);
    }
    let all: Vec<Milestone> = walk_pages(|req| {
        ctx.gitea
            .list_milestones(&ctx.principal.credential, owner, repo, "all", req)
    })
    .await?;
    all.iter()
        .find(|ms| ms.title.eq_ignore_ascii_case(title))
        .map(|ms| ms.id)
        .ok_or_else(|| {
            let known: Vec<String> = all
                .iter()
                .map(|ms| format!("{} (id {}, {})", ms.title, ms.id, ms.state))
                .collect();
            ToolError::NotFound(format!(
                "unknown milestone `{}` in {owner}/{repo}; known milestones: {}",
                title.escape_default(),
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
}

fn logins(field: &str, list: &[String]) -> Result<(), ToolError> {
    for login in list {
        aegis_core::paths::validate_name(field, login).map_err(invalid)?;
    }
    Ok(())
}

// ---- issues ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssueArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Issue title
    pub title: String,
    /// Issue description (Markdown)
    #[serde(default)]
    pub body: Option<String>,
    /// Label names
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Logins to assign
    #[serde(default)]
    pub assignees: Option<Vec<String>>,
    /// Milestone id or title
    #[serde(default)]
    pub milestone: Option<MilestoneArg>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IssueWritten {
    pub issue: Issue,
}

impl ToolOutput for IssueWritten {}

async fn create_issue(ctx: ToolContext, a: CreateIssueArgs) -> Result<IssueWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    text("title", &a.title, MAX_TITLE, true)?;
    text("body", a.body.as_deref().unwrap_or(""), MAX_BODY, false)?;
    let assignees = a.assignees.unwrap_or_default();
    logins("assignees", &assignees)?;
    let labels = label_ids(&ctx, &a.owner, &a.repo, &a.labels.unwrap_or_default()).await?;
    let milestone = match &a.milestone {
        Some(m) => Some(milestone_id(&ctx, &a.owner, &a.repo, m).await?).filter(|id| *id != 0),
        None => None,
    };
    let issue = ctx
        .gitea
        .create_issue(
            &ctx.principal.credential,
            &a.owner,
            &a.repo,
            &NewIssue {
                title: a.title,
                body: a.body,
                labels,
                assignees,
                milestone,
            },
        )
        .await?;
    Ok(IssueWritten { issue })
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    Open,
    Closed,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIssueArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue number
    pub issue_number: i64,
    /// New title
    #[serde(default)]
    pub title: Option<String>,
    /// New description (replaces the old one)
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`
    #[serde(default)]
    pub state: Option<IssueState>,
    /// Milestone id or title; `0` clears the milestone
    #[serde(default)]
    pub milestone: Option<MilestoneArg>,
}

async fn update_issue(ctx: ToolContext, a: UpdateIssueArgs) -> Result<IssueWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    if a.title.is_none() && a.body.is_none() && a.state.is_none() && a.milestone.is_none() {
        return Err(invalid(
            "give at least one of `title`, `body`, `state`, `milestone`".into(),
        ));
    }
    if let Some(t) = &a.title {
        text("title", t, MAX_TITLE, true)?;
    }
    text("body", a.body.as_deref().unwrap_or(""), MAX_BODY, false)?;
    let milestone = match &a.milestone {
        Some(m) => Some(milestone_id(&ctx, &a.owner, &a.repo, m).await?),
        None => None,
    };
    let edit = IssueEdit {
        title: a.title,
        body: a.body,
        state: a.state.map(|s| {
            if s == IssueState::Open {
                "open"
            } else {
                "closed"
            }
            .to_string()
        }),
        milestone,
        assignees: None,
    };
    let issue = ctx
        .gitea
        .edit_issue(&ctx.principal.credential, &a.owner, &a.repo, n, &edit)
        .await?;
    Ok(IssueWritten { issue })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCommentArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue number
    pub issue_number: i64,
    /// Comment text (Markdown)
    pub body: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentWritten {
    pub comment: Comment,
}

impl ToolOutput for CommentWritten {}

async fn create_issue_comment(
    ctx: ToolContext,
    a: IssueCommentArgs,
) -> Result<CommentWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    text("body", &a.body, MAX_BODY, true)?;
    let comment = ctx
        .gitea
        .create_comment(&ctx.principal.credential, &a.owner, &a.repo, n, &a.body)
        .await?;
    Ok(CommentWritten { comment })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrCommentArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The pull request number
    pub pull_number: i64,
    /// Comment text (Markdown)
    pub body: String,
}

async fn create_pr_comment(
    ctx: ToolContext,
    a: PrCommentArgs,
) -> Result<CommentWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("pull_number", a.pull_number)?;
    text("body", &a.body, MAX_BODY, true)?;
    // Make sure the number is a pull request, so a comment never lands on an issue by mistake.
    ctx.gitea
        .get_pull_request(&ctx.principal.credential, &a.owner, &a.repo, n)
        .await?;
    let comment = ctx
        .gitea
        .create_comment(&ctx.principal.credential, &a.owner, &a.repo, n, &a.body)
        .await?;
    Ok(CommentWritten { comment })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The comment id (see list_issue_comments)
    pub comment_id: i64,
    /// The new comment text (replaces the old one)
    pub body: String,
}

async fn edit_issue_comment(
    ctx: ToolContext,
    a: EditCommentArgs,
) -> Result<CommentWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let id = positive("comment_id", a.comment_id)?;
    text("body", &a.body, MAX_BODY, true)?;
    let comment = ctx
        .gitea
        .edit_comment(&ctx.principal.credential, &a.owner, &a.repo, id, &a.body)
        .await?;
    Ok(CommentWritten { comment })
}

// ---- labels and assignees -------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLabelsArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue or pull request number
    pub issue_number: i64,
    /// Label names
    pub labels: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IssueLabels {
    pub issue_number: i64,
    /// The issue's labels afterwards
    pub labels: Vec<String>,
}

impl ToolOutput for IssueLabels {}

async fn add_labels(ctx: ToolContext, a: IssueLabelsArgs) -> Result<IssueLabels, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    if a.labels.is_empty() {
        return Err(invalid("`labels` must name at least one label".into()));
    }
    let ids = label_ids(&ctx, &a.owner, &a.repo, &a.labels).await?;
    let labels = ctx
        .gitea
        .add_issue_labels(&ctx.principal.credential, &a.owner, &a.repo, n, &ids)
        .await?;
    Ok(IssueLabels {
        issue_number: a.issue_number,
        labels: labels.into_iter().map(|l| l.name).collect(),
    })
}

async fn remove_labels(ctx: ToolContext, a: IssueLabelsArgs) -> Result<IssueLabels, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    if a.labels.is_empty() {
        return Err(invalid("`labels` must name at least one label".into()));
    }
    let ids = label_ids(&ctx, &a.owner, &a.repo, &a.labels).await?;
    let cred = &ctx.principal.credential;
    let current = ctx.gitea.get_issue(cred, &a.owner, &a.repo, n).await?;
    let all = all_labels(&ctx.gitea, cred, &a.owner, &a.repo).await?;
    for id in &ids {
        let name = all
            .iter()
            .find(|l| l.id == *id)
            .map(|l| l.name.as_str())
            .unwrap_or_default();
        // Removing a label the issue does not carry is a no-op, not an error (idempotent).
        if current.labels.iter().any(|l| l == name) {
            ctx.gitea
                .remove_issue_label(cred, &a.owner, &a.repo, n, *id)
                .await?;
        }
    }
    let after = ctx.gitea.get_issue(cred, &a.owner, &a.repo, n).await?;
    Ok(IssueLabels {
        issue_number: a.issue_number,
        labels: after.labels,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The issue or pull request number
    pub issue_number: i64,
    /// Logins to assign (replaces the current assignees)
    pub assignees: Vec<String>,
}

async fn assign_issue(ctx: ToolContext, a: AssignArgs) -> Result<IssueWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let n = positive("issue_number", a.issue_number)?;
    logins("assignees", &a.assignees)?;
    let edit = IssueEdit {
        assignees: Some(a.assignees),
        ..Default::default()
    };
    let issue = ctx
        .gitea
        .edit_issue(&ctx.principal.credential, &a.owner, &a.repo, n, &edit)
        .await?;
    Ok(IssueWritten { issue })
}

/// `#rrggbb` or `rrggbb`, normalised to `#rrggbb` lowercase.
fn hex_color(c: &str) -> Result<String, ToolError> {
    let hex = c.trim().trim_start_matches('#');
    if hex.len() == 6 && hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err(invalid(format!(
            "`color` must be a hex colour like `#00aabb`, got `{}`",
            c.escape_default()
        )))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabelArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Label name
    pub name: String,
    /// Hex colour, e.g. `#00aabb`
    pub color: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Scoped label: only one label of its scope (`scope/name`) per issue
    #[serde(default)]
    pub exclusive: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LabelWritten {
    pub label: Label,
}

impl ToolOutput for LabelWritten {}

async fn create_label(ctx: ToolContext, a: CreateLabelArgs) -> Result<LabelWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    text("name", &a.name, 50, true)?;
    let color = hex_color(&a.color)?;
    let fields = LabelFields {
        name: Some(a.name),
        color: Some(color),
        description: a.description,
        exclusive: a.exclusive,
    };
    let label = ctx
        .gitea
        .create_label(&ctx.principal.credential, &a.owner, &a.repo, &fields)
        .await?;
    Ok(LabelWritten { label })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLabelArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The label's current name
    pub name: String,
    #[serde(default)]
    pub new_name: Option<String>,
    /// Hex colour, e.g. `#00aabb`
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

async fn update_label(ctx: ToolContext, a: UpdateLabelArgs) -> Result<LabelWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    if a.new_name.is_none() && a.color.is_none() && a.description.is_none() {
        return Err(invalid(
            "give at least one of `new_name`, `color`, `description`".into(),
        ));
    }
    if let Some(n) = &a.new_name {
        text("new_name", n, 50, true)?;
    }
    let color = a.color.as_deref().map(hex_color).transpose()?;
    let id = label_ids(&ctx, &a.owner, &a.repo, std::slice::from_ref(&a.name)).await?[0];
    let fields = LabelFields {
        name: a.new_name,
        color,
        description: a.description,
        exclusive: None,
    };
    let label = ctx
        .gitea
        .edit_label(&ctx.principal.credential, &a.owner, &a.repo, id, &fields)
        .await?;
    Ok(LabelWritten { label })
}

// ---- pull requests, releases, branches, milestones ------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePullArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    pub title: String,
    /// The branch with the changes
    pub head: String,
    /// The branch to merge into
    pub base: String,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PullRequestWritten {
    pub pull_request: PullRequest,
}

impl ToolOutput for PullRequestWritten {}

async fn create_pull_request(
    ctx: ToolContext,
    a: CreatePullArgs,
) -> Result<PullRequestWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    text("title", &a.title, MAX_TITLE, true)?;
    text("body", a.body.as_deref().unwrap_or(""), MAX_BODY, false)?;
    let head = validate_ref("head", &a.head).map_err(invalid)?;
    let base = validate_ref("base", &a.base).map_err(invalid)?;
    if head == base {
        return Err(invalid(
            "`head` and `base` must be different branches".into(),
        ));
    }
    let pr = NewPullRequest {
        title: a.title,
        head,
        base,
        body: a.body,
    };
    let pull_request = ctx
        .gitea
        .create_pull_request(&ctx.principal.credential, &a.owner, &a.repo, &pr)
        .await?;
    Ok(PullRequestWritten { pull_request })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReleaseArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Tag to release (created when missing)
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Release notes (Markdown)
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub prerelease: Option<bool>,
    /// Branch or commit the new tag points at (default: the default branch)
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleaseWritten {
    pub release: Release,
}

impl ToolOutput for ReleaseWritten {}

async fn create_release(
    ctx: ToolContext,
    a: CreateReleaseArgs,
) -> Result<ReleaseWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let tag = validate_ref("tag_name", &a.tag_name).map_err(invalid)?;
    let target = a
        .target
        .as_deref()
        .map(|t| validate_ref("target", t))
        .transpose()
        .map_err(invalid)?;
    text("name", a.name.as_deref().unwrap_or(""), MAX_TITLE, false)?;
    text("body", a.body.as_deref().unwrap_or(""), MAX_BODY, false)?;
    let fields = ReleaseFields {
        tag_name: Some(tag),
        name: a.name,
        body: a.body,
        draft: a.draft,
        prerelease: a.prerelease,
        target_commitish: target,
    };
    let release = ctx
        .gitea
        .create_release(&ctx.principal.credential, &a.owner, &a.repo, &fields)
        .await?;
    Ok(ReleaseWritten { release })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditReleaseArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The release's numeric id
    pub release_id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub prerelease: Option<bool>,
}

async fn edit_release(ctx: ToolContext, a: EditReleaseArgs) -> Result<ReleaseWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let id = positive("release_id", a.release_id)?;
    if a.name.is_none() && a.body.is_none() && a.draft.is_none() && a.prerelease.is_none() {
        return Err(invalid(
            "give at least one of `name`, `body`, `draft`, `prerelease`".into(),
        ));
    }
    text("name", a.name.as_deref().unwrap_or(""), MAX_TITLE, false)?;
    text("body", a.body.as_deref().unwrap_or(""), MAX_BODY, false)?;
    let fields = ReleaseFields {
        name: a.name,
        body: a.body,
        draft: a.draft,
        prerelease: a.prerelease,
        ..Default::default()
    };
    let release = ctx
        .gitea
        .edit_release(&ctx.principal.credential, &a.owner, &a.repo, id, &fields)
        .await?;
    Ok(ReleaseWritten { release })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBranchArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    pub new_branch_name: String,
    /// The branch to start from (default: the default branch)
    #[serde(default)]
    pub old_branch_name: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BranchWritten {
    pub branch: Branch,
}

impl ToolOutput for BranchWritten {}

async fn create_branch(ctx: ToolContext, a: CreateBranchArgs) -> Result<BranchWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let new = validate_ref("new_branch_name", &a.new_branch_name).map_err(invalid)?;
    let old = a
        .old_branch_name
        .as_deref()
        .map(|o| validate_ref("old_branch_name", o))
        .transpose()
        .map_err(invalid)?;
    let branch = ctx
        .gitea
        .create_branch(
            &ctx.principal.credential,
            &a.owner,
            &a.repo,
            &new,
            old.as_deref(),
        )
        .await?;
    Ok(BranchWritten { branch })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMilestoneArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Due date: `YYYY-MM-DD` or RFC 3339
    #[serde(default)]
    pub due_on: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MilestoneWritten {
    pub milestone: Milestone,
}

impl ToolOutput for MilestoneWritten {}

/// `YYYY-MM-DD` (taken as midnight UTC) or RFC 3339, as RFC 3339.
fn due_date(raw: &str) -> Result<String, ToolError> {
    use time::format_description::well_known::Rfc3339;
    let raw = raw.trim();
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return t.format(&Rfc3339).map_err(|e| invalid(e.to_string()));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw, &format).map_err(|_| {
        invalid(format!(
            "`due_on` must be YYYY-MM-DD or RFC 3339, got `{}`",
            raw.escape_default()
        ))
    })?;
    date.midnight()
        .assume_utc()
        .format(&Rfc3339)
        .map_err(|e| invalid(e.to_string()))
}

async fn create_milestone(
    ctx: ToolContext,
    a: CreateMilestoneArgs,
) -> Result<MilestoneWritten, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    text("title", &a.title, MAX_TITLE, true)?;
    text(
        "description",
        a.description.as_deref().unwrap_or(""),
        MAX_BODY,
        false,
    )?;
    let due = a.due_on.as_deref().map(due_date).transpose()?;
    let milestone = ctx
        .gitea
        .create_milestone(
            &ctx.principal.credential,
            &a.owner,
            &a.repo,
            &a.title,
            a.description.as_deref(),
            due.as_deref(),
        )
        .await?;
    Ok(MilestoneWritten { milestone })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_dates() {
        assert_eq!(hex_color("#00AABB").unwrap(), "#00aabb");
        assert_eq!(hex_color("00aabb").unwrap(), "#00aabb");
        for bad in ["#00aab", "#00aabbcc", "red", "#gg0000", ""] {
            assert!(hex_color(bad).is_err(), "{bad}");
        }
        assert_eq!(due_date("2026-12-15").unwrap(), "2026-12-15T00:00:00Z");
        assert_eq!(
            due_date("2026-12-15T10:00:00+02:00").unwrap(),
            "2026-12-15T10:00:00+02:00"
        );
        assert!(due_date("15/12/2026").is_err());
    }
}
