//! Server and account endpoints: `/version`, `/user`, `/user/repos`, `/user/orgs`, `/orgs/{org}/repos`.

use serde_json::{json, Value};

use super::{ok, paged, Ctx, Paging};
use crate::error::{ApiError, ApiResult};
use crate::model::{AccessMode, Repo};
use crate::pagination::ListOptions;
use crate::render::{repo::repo as repo_json, user};

pub async fn version(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    ok(json!({ "version": world.version }))
}

pub async fn current_user(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let me = ctx.require_user(&world)?;
    ok(user::user(&ctx.view(&world), me))
}

/// Repositories sorted like Gitea's default search order (alphabetically by name).
fn sort_repos(repos: &mut [(&Repo, AccessMode)]) {
    repos.sort_by(|(a, _), (b, _)| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
            .then(a.id.cmp(&b.id))
    });
}

/// Repositories the user owns, collaborates on, or reaches through an organization team.
pub async fn current_user_repos(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let me = ctx.require_user(&world)?;
    let mut repos: Vec<(&Repo, AccessMode)> = world
        .repos
        .iter()
        .filter(|r| {
            r.owner_id == me.id
                || r.collaborators.iter().any(|(id, _)| *id == me.id)
                || world
                    .org(r.owner_id)
                    .is_some_and(|o| o.members.iter().any(|(id, _)| *id == me.id))
        })
        .filter_map(|r| ctx.visible(&world, r).map(|mode| (r, mode)))
        .collect();
    sort_repos(&mut repos);
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&repos)
        .iter()
        .map(|(r, mode)| repo_json(&view, r, *mode))
        .collect();
    paged(&ctx, Value::Array(body), repos.len(), opts, Paging::Link)
}

pub async fn current_user_orgs(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let me = ctx.require_user(&world)?;
    let mut orgs = world.orgs_of(me.id);
    if ctx.doer.public_only() {
        orgs.retain(|o| o.visibility == "public");
    }
    orgs.sort_by_key(|o| o.name.to_ascii_lowercase());
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&orgs)
        .iter()
        .map(|o| user::organization(&view, o))
        .collect();
    paged(&ctx, Value::Array(body), orgs.len(), opts, Paging::Link)
}

pub async fn org_repos(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let org = world
        .org_by_name(ctx.param("org"))
        .ok_or_else(ApiError::not_found)?;
    let me = ctx.user(&world);
    let member = me.is_some_and(|u| u.admin || org.members.iter().any(|(id, _)| *id == u.id));
    // limited orgs need a signed-in user, private ones membership
    let hidden = match org.visibility.as_str() {
        "private" => !member,
        "limited" => me.is_none(),
        _ => false,
    };
    if hidden {
        return Err(ApiError::not_found());
    }
    let mut repos: Vec<(&Repo, AccessMode)> = world
        .repos
        .iter()
        .filter(|r| r.owner_id == org.id)
        .filter_map(|r| ctx.visible(&world, r).map(|mode| (r, mode)))
        .collect();
    sort_repos(&mut repos);
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&repos)
        .iter()
        .map(|(r, mode)| repo_json(&view, r, *mode))
        .collect();
    paged(&ctx, Value::Array(body), repos.len(), opts, Paging::Link)
}

/// Organizations of a user: all of them for the user themself and site admins, else public ones.
pub async fn user_orgs(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let who = world
        .user_by_login(ctx.param("username"))
        .ok_or_else(ApiError::not_found)?;
    let me = ctx.user(&world);
    let all = me.is_some_and(|u| u.id == who.id || u.admin);
    let mut orgs: Vec<_> = world
        .orgs_of(who.id)
        .into_iter()
        .filter(|o| all || o.visibility == "public" || (o.visibility == "limited" && me.is_some()))
        .collect();
    orgs.sort_by_key(|o| o.name.to_ascii_lowercase());
    let opts = ListOptions::from_query(&ctx.query);
    let view = ctx.view(&world);
    let body: Vec<Value> = opts
        .slice(&orgs)
        .iter()
        .map(|o| user::organization(&view, o))
        .collect();
    paged(&ctx, Value::Array(body), orgs.len(), opts, Paging::Link)
}
