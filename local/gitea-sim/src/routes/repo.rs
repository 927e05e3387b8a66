//! Repository endpoints: the repository, languages, topics, collaborator permission.

use serde_json::{json, Value};

use super::{ok, paged, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::{AccessMode, Repo};
use crate::pagination::ListOptions;
use crate::render::{repo::repo as repo_json, user};

pub async fn get_repo(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, mode) = ctx.repo(&world)?;
    ok(repo_json(&ctx.view(&world), repo, mode))
}

pub async fn languages(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    ok(json!(repo.languages))
}

pub async fn topics(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let opts = ListOptions::from_query(&ctx.query);
    let page = opts.slice(&repo.topics);
    paged(
        &ctx,
        json!({ "topics": page }),
        repo.topics.len(),
        opts,
        Paging::CountOnly,
    )
}

/// `GET /repos/{o}/{r}/collaborators/{collaborator}/permission`.
pub async fn collaborator_permission(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let me = ctx.require_user(&world)?;
    let (repo, mode) = ctx.repo(&world)?;
    let name = ctx.param("collaborator");
    if !me.admin && !me.login.eq_ignore_ascii_case(name) && mode < AccessMode::Admin {
        return Err(ApiError::forbidden(
            "Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own",
        ));
    }
    let who = world.user_by_login(name).ok_or_else(|| {
        ApiError::not_found_with(format!("user does not exist [uid: 0, name: {name}]"))
    })?;
    let level = world.access(repo, Some(who));
    let body: Value = json!({
        "permission": level.as_str(),
        "role_name": level.as_str(),
        "user": user::user(&ctx.view(&world), who),
    });
    ok(body)
}

/// Users who can be assigned: everyone with write access (owner, org members, collaborators).
pub async fn assignees(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let mut users: Vec<_> = world
        .users
        .iter()
        .filter(|u| {
            let mut mode = if repo.owner_id == u.id {
                AccessMode::Owner
            } else {
                AccessMode::None
            };
            if let Some(org) = world.org(repo.owner_id) {
                if let Some((_, role)) = org.members.iter().find(|(id, _)| *id == u.id) {
                    mode = mode.max(*role);
                }
            }
            if let Some((_, level)) = repo.collaborators.iter().find(|(id, _)| *id == u.id) {
                mode = mode.max(*level);
            }
            mode >= AccessMode::Write
        })
        .collect();
    users.sort_by_key(|u| u.login.to_ascii_lowercase());
    let view = ctx.view(&world);
    ok(Value::Array(
        users.iter().map(|u| user::user(&view, u)).collect(),
    ))
}

/// `GET /repos/search`: name (and optionally description) search over visible repositories.
pub async fn search(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let q = ctx.query.str("q").to_lowercase();
    let topic = ctx.query.bool_or("topic", false);
    let include_desc = ctx.query.bool_or("includeDesc", false);
    let uid = ctx.query.int("uid");
    let include_private = ctx.query.bool_or("private", true);
    let mut repos: Vec<(&Repo, AccessMode)> = world
        .repos
        .iter()
        .filter_map(|r| ctx.visible(&world, r).map(|mode| (r, mode)))
        .filter(|(r, _)| {
            q.is_empty()
                || if topic {
                    r.topics.iter().any(|t| t.to_lowercase() == q)
                } else {
                    r.name.to_lowercase().contains(&q)
                        || (include_desc && r.description.to_lowercase().contains(&q))
                }
        })
        .filter(|(r, _)| uid <= 0 || r.owner_id == uid)
        .filter(|(r, _)| include_private || !r.private)
        .filter(|(r, _)| {
            !ctx.query.has("is_private") || r.private == ctx.query.bool_or("is_private", false)
        })
        .filter(|(r, _)| {
            !ctx.query.has("archived") || r.archived == ctx.query.bool_or("archived", false)
        })
        .filter(|(r, _)| {
            !ctx.query.has("template") || r.template == ctx.query.bool_or("template", false)
        })
        .collect();
    match ctx.query.str("sort") {
        "" | "alpha" => repos.sort_by_key(|(r, _)| (r.name.to_ascii_lowercase(), r.id)),
        "created" => repos.sort_by_key(|(r, _)| (r.created, r.id)),
        "updated" => repos.sort_by_key(|(r, _)| (r.updated, r.id)),
        "size" => repos.sort_by_key(|(r, _)| (r.size_kib(), r.id)),
        "id" => repos.sort_by_key(|(r, _)| r.id),
        other => return Err(ApiError::unprocessable(format!("Invalid sort: {other}"))),
    }
    match ctx.query.str("order") {
        "" | "asc" => {}
        "desc" => repos.reverse(),
        other => return Err(ApiError::unprocessable(format!("Invalid order: {other}"))),
    }
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let data: Vec<Value> = opts
        .slice(&repos)
        .iter()
        .map(|(r, mode)| repo_json(&view, r, *mode))
        .collect();
    paged(
        &ctx,
        json!({"ok": true, "data": data}),
        repos.len(),
        opts,
        Paging::Link,
    )
}
