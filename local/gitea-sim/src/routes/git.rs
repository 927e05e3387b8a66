//! Git endpoints: trees, blobs, single commits (+ `.diff`/`.patch`), the commit list and compare.

use base64::Engine;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ok, paged, text, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::diff;
use crate::model::git::{diff_snapshots, GitRepo, Oid};
use crate::model::Repo;
use crate::pagination::{ListOptions, GIT_TREES_PER_PAGE};
use crate::render::git::{commit as commit_json, CommitOpts};

fn commit_opts(ctx: &Ctx) -> CommitOpts {
    CommitOpts {
        stat: ctx.query.bool_or("stat", true),
        verification: ctx.query.bool_or("verification", true),
        files: ctx.query.bool_or("files", true),
    }
}

/// `GetTree`: a tree id, or anything that names a commit (branch, tag, commit id).
fn tree_id(git: &GitRepo, sha: &str) -> Option<Oid> {
    if let Some(oid) = GitRepo::parse_full(sha).filter(|o| git.tree(o).is_some()) {
        return Some(oid);
    }
    let resolved = git.resolve(sha)?;
    git.commit_by_id(&resolved.commit).map(|c| c.tree)
}

pub async fn tree(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let sha = ctx.param("sha");
    if sha.is_empty() {
        return Err(ApiError::bad_request("sha not provided"));
    }
    let tree = tree_id(&repo.git, sha)
        .ok_or_else(|| ApiError::bad_request(format!("sha not found [{sha}]")))?;
    let mut entries = Vec::new();
    if ctx.query.bool_or("recursive", false) {
        repo.git.walk_tree(&tree, "", &mut entries);
    } else {
        entries = repo
            .git
            .tree(&tree)
            .unwrap_or_default()
            .iter()
            .map(|e| (e.name.clone(), e.clone()))
            .collect();
    }
    let per_page = match ctx.query.int("per_page") {
        n if n <= 0 || n as usize > GIT_TREES_PER_PAGE => GIT_TREES_PER_PAGE,
        n => n as usize,
    };
    let page = ctx.query.int("page").max(1) as usize;
    let api = ctx.view(&world).repo_api(&repo.full_name());
    let total = entries.len();
    let start = per_page.saturating_mul(page - 1);
    let (tree_json, truncated) = if start >= total {
        (Value::Null, false)
    } else {
        let end = (start + per_page).min(total);
        let items: Vec<Value> = entries[start..end]
            .iter()
            .map(|(path, e)| {
                let kind = if e.mode.is_tree() { "trees" } else { "blobs" };
                json!({
                    "path": path,
                    "mode": e.mode.api(),
                    "type": e.mode.object_type(),
                    "size": repo.git.entry_size(e.mode, &e.oid),
                    "sha": e.oid.hex(),
                    "url": format!("{api}/git/{kind}/{}", e.oid),
                })
            })
            .collect();
        (Value::Array(items), end < total)
    };
    let body = json!({
        "sha": tree.hex(),
        "url": format!("{api}/git/trees/{tree}"),
        "tree": tree_json,
        "truncated": truncated,
        "page": page,
        "total_count": total,
    });
    // the per_page cap is what matters here; ListOptions only carries it for the header helper
    let opts = ListOptions {
        page,
        page_size: per_page,
    };
    paged(&ctx, body, total, opts, Paging::CountOnly)
}

pub async fn blob(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let sha = ctx.param("sha");
    if sha.is_empty() {
        return Err(ApiError::bad_request("sha not provided"));
    }
    let not_found =
        || ApiError::bad_request(format!("object does not exist [id: {sha}, rel_path: ]"));
    let oid = GitRepo::parse_full(&sha.to_ascii_lowercase()).ok_or_else(not_found)?;
    let data = repo.git.blob(&oid).ok_or_else(not_found)?;
    let api = ctx.view(&world).repo_api(&repo.full_name());
    ok(json!({
        "content": base64::engine::general_purpose::STANDARD.encode(&data[..]),
        "encoding": "base64",
        "url": format!("{api}/git/blobs/{oid}"),
        "sha": oid.hex(),
        "size": data.len(),
    }))
}

/// `git.IsValidRefPattern`, roughly: what git would accept as a revision name.
fn valid_ref_pattern(s: &str) -> bool {
    !s.is_empty()
        && !s.contains("..")
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.ends_with(".lock")
        && !s.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c))
}

pub async fn single_commit(ctx: Ctx) -> ApiResult {
    let raw = ctx.param("sha").to_string();
    if let Some(sha) = raw.strip_suffix(".diff") {
        return commit_download(&ctx, sha, false);
    }
    if let Some(sha) = raw.strip_suffix(".patch") {
        return commit_download(&ctx, sha, true);
    }
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    if !valid_ref_pattern(&raw) {
        return Err(ApiError::unprocessable(format!(
            "no valid ref or sha: {raw}"
        )));
    }
    let commit = repo
        .git
        .resolve(&raw)
        .and_then(|r| repo.git.commit_by_id(&r.commit))
        .ok_or_else(ApiError::not_found)?;
    ok(commit_json(
        &ctx.view(&world),
        repo,
        commit,
        commit_opts(&ctx),
    ))
}

fn commit_download(ctx: &Ctx, sha: &str, patch: bool) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let commit = repo
        .git
        .resolve(sha)
        .and_then(|r| repo.git.commit_by_id(&r.commit))
        .ok_or_else(ApiError::not_found)?;
    if patch {
        return text(diff::format_patch(&repo.git, &[commit]));
    }
    text(diff::git_diff(&repo.git, &repo.git.commit_changes(commit)))
}

fn parse_time(ctx: &Ctx, key: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    let raw = ctx.query.str(key);
    if raw.is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(Some)
        .map_err(|e| ApiError::unprocessable(format!("parsing time \"{raw}\": {e}")))
}

/// `git log -- <path>`: the commit changed the path relative to every parent.
fn touches(git: &GitRepo, oid: &Oid, path: &str) -> bool {
    let Some(c) = git.commit_by_id(oid) else {
        return false;
    };
    let mine = git.entry_at(c, path).map(|e| e.oid);
    if c.parents.is_empty() {
        return mine.is_some();
    }
    c.parents.iter().all(|p| {
        git.commit_by_id(p)
            .map(|pc| git.entry_at(pc, path).map(|e| e.oid))
            != Some(mine)
    })
}

pub async fn list_commits(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    if repo.git.is_empty() {
        return Err(ApiError::new(
            http::StatusCode::CONFLICT,
            "Git Repository is empty.",
        ));
    }
    let start = super::contents::resolve_ref(repo, ctx.query.str("sha"))?;
    let since = parse_time(&ctx, "since")?;
    let until = parse_time(&ctx, "until")?;
    let path = ctx.query.str("path").trim_matches('/').to_string();
    let mut commits = repo.git.history(start.commit);
    let not = ctx.query.str("not");
    if !not.is_empty() {
        let excluded = super::contents::resolve_ref(repo, not)?;
        let hidden = repo.git.history(excluded.commit);
        commits.retain(|c| !hidden.contains(c));
    }
    commits.retain(|oid| {
        let Some(c) = repo.git.commit_by_id(oid) else {
            return false;
        };
        since.is_none_or(|s| c.committer.when >= s)
            && until.is_none_or(|u| c.committer.when <= u)
            && (path.is_empty() || touches(&repo.git, oid, &path))
    });
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let page_opts = commit_opts(&ctx);
    let body: Vec<Value> = opts
        .slice(&commits)
        .iter()
        .filter_map(|oid| repo.git.commit_by_id(oid))
        .map(|c| commit_json(&view, repo, c, page_opts))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        commits.len(),
        opts,
        Paging::PageHeaders { x_total: true },
    )
}

/// Splits `base...head` / `base..head`; without dots the head is compared to the default branch.
fn split_basehead<'a>(repo: &'a Repo, raw: &'a str) -> (&'a str, &'a str, bool) {
    if let Some((b, h)) = raw.split_once("...") {
        (b, h, true)
    } else if let Some((b, h)) = raw.split_once("..") {
        (b, h, false)
    } else {
        (repo.default_branch.as_str(), raw, true)
    }
}

pub async fn compare(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let raw = ctx.param("basehead");
    let (base, head, three_dots) = split_basehead(repo, raw);
    if base.is_empty() || head.is_empty() {
        return Err(ApiError::bad_request(format!("invalid basehead `{raw}`")));
    }
    let base = repo.git.resolve(base).ok_or_else(ApiError::not_found)?;
    let head = repo.git.resolve(head).ok_or_else(ApiError::not_found)?;
    let from = if three_dots {
        repo.git
            .merge_base(base.commit, head.commit)
            .unwrap_or(base.commit)
    } else {
        base.commit
    };
    let commits = repo.git.commits_between(base.commit, head.commit);
    match ctx.query.str("output") {
        "" => {}
        "diff" | "patch" => {
            let (Some(a), Some(b)) = (
                repo.git.commit_by_id(&from),
                repo.git.commit_by_id(&head.commit),
            ) else {
                return Err(ApiError::not_found());
            };
            if ctx.query.str("output") == "patch" {
                let mut series: Vec<_> = commits
                    .iter()
                    .filter_map(|oid| repo.git.commit_by_id(oid))
                    .collect();
                series.reverse();
                return text(diff::format_patch(&repo.git, &series));
            }
            return text(diff::git_diff(
                &repo.git,
                &diff_snapshots(&a.files, &b.files),
            ));
        }
        other => return Err(ApiError::bad_request(format!("unknown output `{other}`"))),
    }
    let view = ctx.view(&world);
    let opts = commit_opts(&ctx);
    let list: Vec<Value> = commits
        .iter()
        .filter_map(|oid| repo.git.commit_by_id(oid))
        .map(|c| commit_json(&view, repo, c, opts))
        .collect();
    ok(json!({ "total_commits": list.len(), "commits": list }))
}
