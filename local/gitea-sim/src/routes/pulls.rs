//! Pull request endpoints: list, one pull (+ `.diff`/`.patch`), its files and its commits.

use std::cmp::Reverse;

use serde_json::Value;

use super::{ok, paged, parse_index, text, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::diff;
use crate::model::git::{diff_snapshots, FileChange};
use crate::model::{Issue, PullInfo, Repo};
use crate::pagination::ListOptions;
use crate::render::git::{commit as commit_json, CommitOpts};
use crate::render::issue as render;

fn pull_changes(repo: &Repo, p: &PullInfo) -> Vec<FileChange> {
    match (
        repo.git.commit_by_id(&p.merge_base),
        repo.git.commit_by_id(&p.head),
    ) {
        (Some(base), Some(head)) => diff_snapshots(&base.files, &head.files),
        _ => Vec::new(),
    }
}

pub(crate) fn pull_stats(repo: &Repo, p: &PullInfo) -> (usize, usize, usize) {
    let changes = pull_changes(repo, p);
    let (additions, deletions) = diff::stats(&repo.git, &changes);
    (additions, deletions, changes.len())
}

pub async fn list(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let state = ctx.query.str("state");
    let base = ctx.query.str("base_branch");
    let milestone = ctx.query.int("milestone");
    let labels: Vec<i64> = ctx
        .query
        .all("labels")
        .iter()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let poster = ctx.query.str("poster");
    let poster_id = if poster.is_empty() {
        None
    } else {
        Some(world.user_by_login(poster).map(|u| u.id))
    };
    let mut pulls: Vec<(&Issue, &PullInfo)> = repo
        .issues
        .iter()
        .filter_map(|i| i.pull.as_ref().map(|p| (i, p)))
        .filter(|(i, _)| match state {
            "closed" => i.closed,
            "all" => true,
            _ => !i.closed,
        })
        .filter(|(_, p)| base.is_empty() || p.base_branch == base)
        .filter(|(i, _)| milestone <= 0 || i.milestone == Some(milestone))
        .filter(|(i, _)| labels.is_empty() || i.labels.iter().any(|l| labels.contains(l)))
        .filter(|(i, _)| poster_id.is_none_or(|u| u == Some(i.author)))
        .collect();
    match ctx.query.str("sort") {
        "oldest" => pulls.sort_by(|a, b| a.0.created.cmp(&b.0.created).then(a.0.id.cmp(&b.0.id))),
        "recentupdate" => pulls.sort_by_key(|p| Reverse(p.0.updated)),
        "leastupdate" => pulls.sort_by_key(|p| p.0.updated),
        "mostcomment" => pulls.sort_by_key(|p| Reverse(p.0.comments.len())),
        "leastcomment" => pulls.sort_by_key(|p| p.0.comments.len()),
        "recentclose" => pulls.sort_by_key(|p| Reverse(p.0.closed_at)),
        _ => pulls.sort_by(|a, b| b.0.created.cmp(&a.0.created).then(b.0.id.cmp(&a.0.id))),
    }
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&pulls)
        .iter()
        .map(|(i, p)| render::pull(&view, repo, i, p, mode, pull_stats(repo, p)))
        .collect();
    paged(&ctx, Value::Array(body), pulls.len(), opts, Paging::Link)
}

fn find_pull<'r>(repo: &'r Repo, raw: &str) -> Result<(&'r Issue, &'r PullInfo), ApiError> {
    let number = parse_index(raw)?;
    repo.issue(number)
        .and_then(|i| i.pull.as_ref().map(|p| (i, p)))
        .ok_or_else(ApiError::not_found)
}

pub async fn get_pull(ctx: Ctx) -> ApiResult {
    let raw = ctx.param("index").to_string();
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    if let Some(n) = raw.strip_suffix(".diff") {
        let (_, p) = find_pull(repo, n)?;
        return text(diff::git_diff(&repo.git, &pull_changes(repo, p)));
    }
    if let Some(n) = raw.strip_suffix(".patch") {
        let (_, p) = find_pull(repo, n)?;
        let mut series: Vec<_> = repo
            .git
            .commits_between(p.merge_base, p.head)
            .iter()
            .filter_map(|oid| repo.git.commit_by_id(oid))
            .collect();
        series.reverse();
        return text(diff::format_patch(&repo.git, &series));
    }
    let (issue, p) = find_pull(repo, &raw)?;
    ok(render::pull(
        &ctx.view(&world),
        repo,
        issue,
        p,
        mode,
        pull_stats(repo, p),
    ))
}

pub async fn files(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let (_, p) = find_pull(repo, ctx.param("index"))?;
    let changes = pull_changes(repo, p);
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&changes)
        .iter()
        .map(|c| render::changed_file(&view, repo, p.head, c, &diff::change_diff(&repo.git, c)))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        changes.len(),
        opts,
        Paging::PageHeaders { x_total: false },
    )
}

pub async fn commits(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let (_, p) = find_pull(repo, ctx.param("index"))?;
    let commits = repo.git.commits_between(p.merge_base, p.head);
    let opts = ListOptions::from_query(&ctx.query);
    let commit_opts = CommitOpts {
        stat: true,
        verification: ctx.query.bool_or("verification", true),
        files: ctx.query.bool_or("files", true),
    };
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&commits)
        .iter()
        .filter_map(|oid| repo.git.commit_by_id(oid))
        .map(|c| commit_json(&view, repo, c, commit_opts))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        commits.len(),
        opts,
        Paging::PageHeaders { x_total: false },
    )
}
