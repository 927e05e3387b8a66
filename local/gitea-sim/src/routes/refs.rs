//! Ref endpoints: branches, tags, releases and the combined commit status.

use serde_json::{json, Value};

use super::{ok, paged, parse_index, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::git::Tag;
use crate::model::{AccessMode, CommitStatus, Release, Repo};
use crate::pagination::ListOptions;
use crate::render::{git as render_git, issue as render_issue};

pub async fn branches(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let keyword = ctx.query.str("q").to_ascii_lowercase();
    let names: Vec<(&String, &crate::model::git::Commit)> = repo
        .git
        .branches
        .iter()
        .filter(|(name, _)| keyword.is_empty() || name.to_ascii_lowercase().contains(&keyword))
        .filter_map(|(name, oid)| repo.git.commit_by_id(oid).map(|c| (name, c)))
        .collect();
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&names)
        .iter()
        .map(|(name, c)| render_git::branch(&view, repo, name, c, mode))
        .collect();
    paged(&ctx, Value::Array(body), names.len(), opts, Paging::Link)
}

pub async fn branch(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let name = ctx.param("branch");
    let commit = repo
        .git
        .branches
        .get(name)
        .and_then(|oid| repo.git.commit_by_id(oid))
        .ok_or_else(|| ApiError::not_found_with("branch doesn't exist"))?;
    ok(render_git::branch(
        &ctx.view(&world),
        repo,
        name,
        commit,
        mode,
    ))
}

/// Tags newest first (by tagger date, else commit date), then by name.
fn sorted_tags(repo: &Repo) -> Vec<&Tag> {
    let mut tags: Vec<&Tag> = repo.git.tags.values().collect();
    let when = |t: &Tag| {
        t.annotation
            .as_ref()
            .map(|a| a.tagger.when)
            .or_else(|| repo.git.commit_by_id(&t.commit).map(|c| c.committer.when))
    };
    tags.sort_by(|a, b| when(b).cmp(&when(a)).then(a.name.cmp(&b.name)));
    tags
}

pub async fn tags(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let tags = sorted_tags(repo);
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&tags)
        .iter()
        .map(|t| render_git::tag(&view, repo, t))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        tags.len(),
        opts,
        Paging::CountOnly,
    )
}

/// Releases the caller may see (drafts need write access), newest first.
fn visible_releases(repo: &Repo, mode: AccessMode) -> Vec<&Release> {
    let mut out: Vec<&Release> = repo
        .releases
        .iter()
        .filter(|r| !r.draft || mode >= AccessMode::Write)
        .collect();
    out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    out
}

pub async fn releases(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let mut rels = visible_releases(repo, mode);
    if ctx.query.has("draft") {
        let draft = ctx.query.bool_or("draft", false);
        rels.retain(|r| r.draft == draft);
    }
    if ctx.query.has("pre-release") {
        let pre = ctx.query.bool_or("pre-release", false);
        rels.retain(|r| r.prerelease == pre);
    }
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&rels)
        .iter()
        .map(|r| render_issue::release(&view, repo, r))
        .collect();
    paged(&ctx, Value::Array(body), rels.len(), opts, Paging::Link)
}

pub async fn release(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let id = parse_index(ctx.param("id"))?;
    let rel = visible_releases(repo, mode)
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(ApiError::not_found)?;
    ok(render_issue::release(&ctx.view(&world), repo, rel))
}

pub async fn latest_release(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let rel = visible_releases(repo, mode)
        .into_iter()
        .find(|r| !r.draft && !r.prerelease)
        .ok_or_else(ApiError::not_found)?;
    ok(render_issue::release(&ctx.view(&world), repo, rel))
}

/// `GET /commits/{ref}/status`: the latest status per context. An unknown ref is taken as a
/// commit id without statuses, which Gitea answers with an empty `CombinedStatus`.
pub async fn combined_status(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let r = ctx.param("ref");
    if r.is_empty() {
        return Err(ApiError::bad_request("ref not given"));
    }
    let Some(sha) = repo.git.resolve(r).map(|x| x.commit) else {
        return ok(empty_combined());
    };
    let mut latest: Vec<&CommitStatus> = Vec::new();
    for s in repo.statuses.iter().filter(|s| s.commit == sha) {
        match latest.iter_mut().find(|l| l.context == s.context) {
            Some(slot) if slot.index < s.index => *slot = s,
            Some(_) => {}
            None => latest.push(s),
        }
    }
    if latest.is_empty() {
        return ok(empty_combined());
    }
    latest.sort_by_key(|s| s.id);
    let opts = ListOptions::from_query(&ctx.query);
    let page = opts.slice(&latest);
    let body = render_issue::combined_status(&ctx.view(&world), repo, mode, sha, page, page.len());
    paged(&ctx, body, latest.len(), opts, Paging::CountOnly)
}

fn empty_combined() -> Value {
    json!({
        "state": "",
        "sha": "",
        "total_count": 0,
        "statuses": null,
        "repository": null,
        "commit_url": "",
        "url": "",
    })
}

pub async fn release_by_tag(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    let tag = ctx.param("tag");
    let rel = visible_releases(repo, mode)
        .into_iter()
        .find(|r| r.tag == tag)
        .ok_or_else(ApiError::not_found)?;
    ok(render_issue::release(&ctx.view(&world), repo, rel))
}

/// `GET /commits/{ref}/statuses`: every status of the commit, filtered by `state`, sorted by `sort`.
pub async fn statuses(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let r = ctx.param("ref");
    if r.is_empty() {
        return Err(ApiError::bad_request("ref/sha not given"));
    }
    let sha = repo.git.resolve(r).map(|x| x.commit);
    let state = ctx.query.str("state");
    let mut found: Vec<&CommitStatus> = repo
        .statuses
        .iter()
        .filter(|s| Some(s.commit) == sha)
        .filter(|s| state.is_empty() || s.state == state)
        .collect();
    match ctx.query.str("sort") {
        "oldest" => found.sort_by_key(|s| (s.created, s.id)),
        "recentupdate" => found.sort_by_key(|s| std::cmp::Reverse((s.created, s.id))),
        "leastupdate" => found.sort_by_key(|s| (s.created, s.id)),
        "leastindex" => found.sort_by_key(|s| s.index),
        "highestindex" => found.sort_by_key(|s| std::cmp::Reverse(s.index)),
        _ => found.sort_by_key(|s| std::cmp::Reverse(s.id)),
    }
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&found)
        .iter()
        .map(|s| render_issue::commit_status(&view, repo, s))
        .collect();
    paged(&ctx, Value::Array(body), found.len(), opts, Paging::Link)
}
