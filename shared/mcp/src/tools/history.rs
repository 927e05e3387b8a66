//! Read tools over git history and refs: commits, diffs, comparisons, branches, tags,
//! statuses, languages and topics.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::RepoPageArgs;
use super::common::{
    cap_field, filter_diff, invalid, listing, opt_ref, page_request, repo_names, Listing,
    Truncation,
};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_core::paths::validate_ref;
use aegis_gitea::{Branch, CombinedStatus, Commit, Tag};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "list_commits",
            "List commits",
            "List commits of a repository, newest first, starting at a ref (branch, tag or \
             sha; default: the default branch). Paginated with `page`/`limit`.",
        ),
        list_commits,
    );
    r.add(
        read_meta(
            "get_commit_diff",
            "Get commit diff",
            "Get one commit's metadata, changed files and unified diff. Long diffs are cut at \
             line boundaries with a notice.",
        )
        .lists_paths(&["filename"]),
        get_commit_diff,
    );
    r.add(
        read_meta(
            "compare_refs",
            "Compare refs",
            "Compare two refs (`base...head`): the commits `head` has that `base` does not.",
        )
        .lists_paths(&["filename"]),
        compare_refs,
    );
    r.add(
        read_meta(
            "list_branches",
            "List branches",
            "List a repository's branches with their head commits.",
        ),
        list_branches,
    );
    r.add(
        read_meta(
            "get_branch",
            "Get branch",
            "Get one branch: its head commit and whether it is protected.",
        ),
        get_branch,
    );
    r.add(
        read_meta(
            "list_tags",
            "List tags",
            "List a repository's tags with the commits they point at.",
        ),
        list_tags,
    );
    r.add(
        read_meta(
            "get_commit_status",
            "Get commit status",
            "Get the combined CI status of a commit (or branch/tag): the overall state and \
             every status context.",
        ),
        get_commit_status,
    );
    r.add(
        read_meta(
            "get_repo_languages",
            "Get repository languages",
            "Get the languages of a repository with the bytes of code in each and their share.",
        ),
        get_repo_languages,
    );
    r.add(
        read_meta(
            "list_repo_topics",
            "List repository topics",
            "List a repository's topics.",
        ),
        list_repo_topics,
    );
}

// ---- list_commits ---------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCommitsArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Branch, tag or commit sha to start from (default: the default branch)
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

async fn list_commits(ctx: ToolContext, a: ListCommitsArgs) -> Result<Listing<Commit>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let reference = opt_ref(a.reference.as_deref())?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_commits(
            &ctx.principal.credential,
            &a.owner,
            &a.repo,
            reference.as_deref(),
            req,
        )
        .await?;
    Ok(listing(page, &ctx.limits, note, |c, l| {
        cap_field(&mut c.message, l)
    }))
}

// ---- get_commit_diff ------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShaArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Commit sha (full or abbreviated), or a branch or tag name
    pub sha: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommitDiff {
    pub commit: Commit,
    /// The unified diff
    pub diff: String,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for CommitDiff {
    fn render_text(&self) -> Option<String> {
        let mut out = format!(
            "commit {}\nAuthor: {} <{}>\nDate: {}\n\n{}\n\n",
            self.commit.sha,
            self.commit.author_name,
            self.commit.author_email,
            self.commit.date,
            self.commit.message.trim_end()
        );
        if let Some(notice) = &self.truncation.notice {
            out.push_str(&format!("[truncated: {notice}]\n"));
        }
        out.push_str(&self.diff);
        Some(out)
    }
}

async fn get_commit_diff(ctx: ToolContext, a: ShaArgs) -> Result<CommitDiff, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let sha = validate_ref("sha", &a.sha).map_err(invalid)?;
    let cred = &ctx.principal.credential;
    let (commit, diff) = tokio::join!(
        ctx.gitea.get_commit(cred, &a.owner, &a.repo, &sha),
        ctx.gitea.get_commit_diff(cred, &a.owner, &a.repo, &sha)
    );
    let mut commit = commit?;
    let (full, hidden) = filter_diff(&diff?, |path| ctx.path_allowed(path));
    let mut truncation = Truncation::none();
    if hidden > 0 {
        truncation.add("changes to paths hidden by the gateway's path policy are left out");
    }
    if let Some(files) = commit.files.as_mut() {
        ctx.retain_paths(files, |f| &f.filename);
        if ctx.limits.cap_items(files) {
            truncation.add(format!("file list cut to {} entries", files.len()));
        }
    }
    let (diff, cut) = ctx.limits.cap_text(&full);
    if cut {
        truncation.add(format!(
            "diff cut at a line boundary after {} of {} characters (MAX_TOOL_RESPONSE_CHARS); \
             use list_pull_request_files or get_file_contents for single files",
            diff.chars().count(),
            full.chars().count()
        ));
    }
    Ok(CommitDiff {
        commit,
        diff,
        truncation,
    })
}

// ---- compare_refs ---------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The ref to compare from (branch, tag or sha)
    pub base: String,
    /// The ref to compare to (branch, tag or sha)
    pub head: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RefComparison {
    pub base: String,
    pub head: String,
    /// Commits in `head` that are not in `base`
    pub total_commits: i64,
    pub commits: Vec<Commit>,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for RefComparison {}

async fn compare_refs(ctx: ToolContext, a: CompareArgs) -> Result<RefComparison, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let base = validate_ref("base", &a.base).map_err(invalid)?;
    let head = validate_ref("head", &a.head).map_err(invalid)?;
    let mut cmp = ctx
        .gitea
        .compare(&ctx.principal.credential, &a.owner, &a.repo, &base, &head)
        .await?;
    // Each commit's denied files are dropped by the registry (`lists_paths`).
    let mut truncation = Truncation::none();
    if ctx.limits.cap_items(&mut cmp.commits) {
        truncation.add(format!(
            "showing {} of {} commits (MAX_TOOL_RESPONSE_ITEMS); page through them with list_commits",
            cmp.commits.len(),
            cmp.total_commits
        ));
    }
    let mut cut = 0;
    for c in cmp.commits.iter_mut() {
        if cap_field(&mut c.message, &ctx.limits) {
            cut += 1;
        }
    }
    if cut > 0 {
        truncation.add(format!(
            "{cut} commit message(s) cut (MAX_TOOL_RESPONSE_CHARS)"
        ));
    }
    Ok(RefComparison {
        base,
        head,
        total_commits: cmp.total_commits,
        commits: cmp.commits,
        truncation,
    })
}

// ---- branches and tags ----------------------------------------------------------------

async fn list_branches(ctx: ToolContext, a: RepoPageArgs) -> Result<Listing<Branch>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_branches(&ctx.principal.credential, &a.owner, &a.repo, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, |b, l| {
        cap_field(&mut b.commit_message, l)
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Branch name
    pub branch: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BranchInfo {
    pub branch: Branch,
}

impl ToolOutput for BranchInfo {}

async fn get_branch(ctx: ToolContext, a: BranchArgs) -> Result<BranchInfo, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let name = validate_ref("branch", &a.branch).map_err(invalid)?;
    let mut branch = ctx
        .gitea
        .get_branch(&ctx.principal.credential, &a.owner, &a.repo, &name)
        .await?;
    cap_field(&mut branch.commit_message, &ctx.limits);
    Ok(BranchInfo { branch })
}

async fn list_tags(ctx: ToolContext, a: RepoPageArgs) -> Result<Listing<Tag>, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let page = ctx
        .gitea
        .list_tags(&ctx.principal.credential, &a.owner, &a.repo, req)
        .await?;
    Ok(listing(page, &ctx.limits, note, |t, l| {
        cap_field(&mut t.message, l)
    }))
}

// ---- statuses -------------------------------------------------------------------------

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommitStatusReport {
    pub status: CombinedStatus,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for CommitStatusReport {}

async fn get_commit_status(ctx: ToolContext, a: ShaArgs) -> Result<CommitStatusReport, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let sha = validate_ref("sha", &a.sha).map_err(invalid)?;
    let mut status = ctx
        .gitea
        .get_combined_status(&ctx.principal.credential, &a.owner, &a.repo, &sha)
        .await?;
    if status.sha.is_empty() {
        // Gitea answers an unknown ref and a commit without statuses alike (empty sha and
        // state): tell them apart, and name the commit when it exists.
        let commit = ctx
            .gitea
            .get_commit(&ctx.principal.credential, &a.owner, &a.repo, &sha)
            .await
            .map_err(|e| match e {
                aegis_gitea::GiteaError::NotFound(_)
                | aegis_gitea::GiteaError::Unprocessable(_)
                | aegis_gitea::GiteaError::Upstream { status: 400, .. } => {
                    ToolError::NotFound(format!(
                        "ref `{}` does not exist in this repository",
                        sha.escape_default()
                    ))
                }
                other => other.into(),
            })?;
        status.sha = commit.sha;
        if status.state.is_empty() {
            status.state = "none".into();
        }
    }
    let mut truncation = Truncation::none();
    if ctx.limits.cap_items(&mut status.statuses) {
        truncation.add(format!("showing {} status contexts", status.statuses.len()));
    }
    Ok(CommitStatusReport { status, truncation })
}

// ---- languages and topics -------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoOnlyArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Language {
    pub name: String,
    pub bytes: i64,
    /// Share of all code bytes, in percent (one decimal)
    pub percent: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Languages {
    /// Largest first
    pub languages: Vec<Language>,
    pub total_bytes: i64,
}

impl ToolOutput for Languages {}

async fn get_repo_languages(ctx: ToolContext, a: RepoOnlyArgs) -> Result<Languages, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let map: BTreeMap<String, i64> = ctx
        .gitea
        .get_languages(&ctx.principal.credential, &a.owner, &a.repo)
        .await?;
    let total: i64 = map.values().sum();
    let mut languages: Vec<Language> = map
        .into_iter()
        .map(|(name, bytes)| Language {
            percent: if total > 0 {
                (bytes as f64 * 1000.0 / total as f64).round() / 10.0
            } else {
                0.0
            },
            name,
            bytes,
        })
        .collect();
    languages.sort_by(|x, y| y.bytes.cmp(&x.bytes).then(x.name.cmp(&y.name)));
    Ok(Languages {
        languages,
        total_bytes: total,
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Topics {
    pub topics: Vec<String>,
}

impl ToolOutput for Topics {}

async fn list_repo_topics(ctx: ToolContext, a: RepoOnlyArgs) -> Result<Topics, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let mut topics = ctx
        .gitea
        .get_topics(&ctx.principal.credential, &a.owner, &a.repo)
        .await?;
    ctx.limits.cap_items(&mut topics);
    Ok(Topics { topics })
}
