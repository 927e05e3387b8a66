//! Issue-tracker endpoints: issues (with filters), one issue, its comments, labels, milestones.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ok, paged, parse_index, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::{Issue, Milestone, Repo, World};
use crate::pagination::ListOptions;
use crate::render::issue as render;

fn time_param(ctx: &Ctx, key: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    let raw = ctx.query.str(key);
    if raw.is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(Some)
        .map_err(|e| ApiError::unprocessable(format!("parsing time \"{raw}\": {e}")))
}

/// Ids for comma-separated names (or, for milestones, ids); unknown entries are dropped like Gitea does.
fn label_ids(repo: &Repo, raw: &str) -> Vec<i64> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|name| repo.labels.iter().find(|l| l.name == name).map(|l| l.id))
        .collect()
}

fn milestone_ids(repo: &Repo, raw: &str) -> Vec<i64> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|part| {
            repo.milestones
                .iter()
                .find(|m| m.title == part)
                .or_else(|| part.parse::<i64>().ok().and_then(|id| repo.milestone(id)))
                .map(|m| m.id)
        })
        .collect()
}

fn user_filter(world: &World, login: &str) -> Option<Option<i64>> {
    if login.is_empty() {
        return None;
    }
    Some(world.user_by_login(login).map(|u| u.id))
}

pub async fn list(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let state = ctx.query.str("state");
    let kind = ctx.query.str("type");
    let labels = label_ids(repo, ctx.query.str("labels"));
    let milestones = milestone_ids(repo, ctx.query.str("milestones"));
    let keyword = ctx.query.str("q").to_lowercase();
    let since = time_param(&ctx, "since")?;
    let before = time_param(&ctx, "before")?;
    let created_by = user_filter(&world, ctx.query.str("created_by"));
    let assigned = user_filter(&world, ctx.query.str("assigned_by"));
    let mentioned = ctx.query.str("mentioned_by").to_lowercase();
    let mut issues: Vec<&Issue> = repo
        .issues
        .iter()
        .filter(|i| match state {
            "closed" => i.closed,
            "all" => true,
            _ => !i.closed,
        })
        .filter(|i| match kind {
            "issues" => i.pull.is_none(),
            "pulls" => i.pull.is_some(),
            _ => true,
        })
        .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
        .filter(|i| milestones.is_empty() || i.milestone.is_some_and(|m| milestones.contains(&m)))
        .filter(|i| {
            keyword.is_empty()
                || i.title.to_lowercase().contains(&keyword)
                || i.body.to_lowercase().contains(&keyword)
                || i.comments
                    .iter()
                    .any(|c| c.body.to_lowercase().contains(&keyword))
        })
        .filter(|i| since.is_none_or(|s| i.updated >= s) && before.is_none_or(|b| i.updated <= b))
        .filter(|i| created_by.is_none_or(|u| u == Some(i.author)))
        .filter(|i| assigned.is_none_or(|u| u.is_some_and(|u| i.assignees.contains(&u))))
        .filter(|i| {
            mentioned.is_empty() || i.body.to_lowercase().contains(&format!("@{mentioned}"))
        })
        .collect();
    issues.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&issues)
        .iter()
        .map(|i| render::issue(&view, repo, i))
        .collect();
    paged(&ctx, Value::Array(body), issues.len(), opts, Paging::Link)
}

pub async fn get_issue(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let number = parse_index(ctx.param("index"))?;
    let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
    ok(render::issue(&ctx.view(&world), repo, issue))
}

/// All comments of one issue (no paging), filtered by `since` / `before` on the update time.
pub async fn comments(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let number = parse_index(ctx.param("index"))?;
    let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
    let since = time_param(&ctx, "since")?;
    let before = time_param(&ctx, "before")?;
    let view = ctx.view(&world);
    let body: Vec<Value> = issue
        .comments
        .iter()
        .filter(|c| since.is_none_or(|s| c.updated >= s) && before.is_none_or(|b| c.updated <= b))
        .map(|c| render::comment(&view, repo, issue, c))
        .collect();
    let total = body.len();
    let opts = ListOptions {
        page: 1,
        page_size: total.max(1),
    };
    paged(&ctx, Value::Array(body), total, opts, Paging::CountOnly)
}

pub async fn labels(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let mut labels: Vec<_> = repo.labels.iter().collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&labels)
        .iter()
        .map(|l| render::label(&view, repo, l))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        labels.len(),
        opts,
        Paging::CountOnly,
    )
}

/// Milestones: `state` open/closed (anything else is all), `name` keyword; by due date, then id.
pub async fn milestones(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let state = ctx.query.str("state");
    let name = ctx.query.str("name").to_lowercase();
    let mut found: Vec<&Milestone> = repo
        .milestones
        .iter()
        .filter(|m| match state {
            "open" => !m.closed,
            "closed" => m.closed,
            _ => true,
        })
        .filter(|m| name.is_empty() || m.title.to_lowercase().contains(&name))
        .collect();
    // no due date sorts last, like Gitea's far-future placeholder
    found.sort_by_key(|m| (m.due_on.is_none(), m.due_on, m.id));
    let opts = ListOptions::from_query(&ctx.query);
    let body: Vec<Value> = opts
        .slice(&found)
        .iter()
        .map(|m| render::milestone(repo, m))
        .collect();
    paged(
        &ctx,
        Value::Array(body),
        found.len(),
        opts,
        Paging::CountOnly,
    )
}

pub async fn label(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let id = parse_index(ctx.param("id"))?;
    let label = repo.label(id).ok_or_else(ApiError::not_found)?;
    ok(render::label(&ctx.view(&world), repo, label))
}

/// The labels of one issue or pull request (not paginated).
pub async fn issue_labels(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let number = parse_index(ctx.param("index"))?;
    let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
    let view = ctx.view(&world);
    let body: Vec<Value> = render::issue_labels(repo, issue)
        .into_iter()
        .map(|l| render::label(&view, repo, l))
        .collect();
    ok(Value::Array(body))
}

/// A milestone by id, or by title when the parameter is not a number (`getMilestoneByIDOrName`).
pub async fn milestone(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let raw = ctx.param("id");
    let found = match raw.parse::<i64>() {
        Ok(id) => repo.milestone(id),
        Err(_) => repo.milestones.iter().find(|m| m.title == raw),
    };
    let m = found.ok_or_else(ApiError::not_found)?;
    ok(render::milestone(repo, m))
}
