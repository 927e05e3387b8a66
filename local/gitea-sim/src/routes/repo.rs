//! Repository endpoints: the repository, languages, topics, collaborator permission.

use serde_json::{json, Value};

use super::{ok, paged, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::AccessMode;
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
