//! The HTTP surface: router, the simulator middleware (auth, errors, request log, contract), shared helpers.

mod body;
mod contents;
mod git;
mod issue_write;
mod issues;
mod misc;
mod oauth;
mod pulls;
mod refs;
mod repo;
mod repo_write;
mod sim;

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::Router;
use http::request::Parts;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::auth::{self, Doer};
use crate::error::{ApiError, ApiResult};
use crate::model::{AccessMode, Repo, User, World};
use crate::pagination::{self, ListOptions};
use crate::render::View;
use crate::state::{LoggedRequest, SimState};

/// The simulator as an axum router (tests drive it with `oneshot`, the binary serves it).
pub fn app(state: SimState) -> Router {
    let repo = "/api/v1/repos/{owner}/{repo}";
    Router::new()
        .route("/api/v1/version", get(misc::version))
        .route("/api/v1/user", get(misc::current_user))
        .route("/api/v1/user/repos", get(misc::current_user_repos))
        .route("/api/v1/user/orgs", get(misc::current_user_orgs))
        .route("/api/v1/orgs/{org}/repos", get(misc::org_repos))
        .route("/api/v1/users/{username}/orgs", get(misc::user_orgs))
        .route("/api/v1/repos/search", get(repo::search))
        .route(repo, get(repo::get_repo))
        .route(&format!("{repo}/languages"), get(repo::languages))
        .route(&format!("{repo}/assignees"), get(repo::assignees))
        .route(&format!("{repo}/topics"), get(repo::topics))
        .route(
            &format!("{repo}/collaborators/{{collaborator}}/permission"),
            get(repo::collaborator_permission),
        )
        .route(&format!("{repo}/contents"), get(contents::root))
        .route(&format!("{repo}/contents/"), get(contents::root))
        .route(
            &format!("{repo}/contents/{{*filepath}}"),
            get(contents::path),
        )
        .route(&format!("{repo}/raw/{{*filepath}}"), get(contents::raw))
        .route(&format!("{repo}/git/trees/{{sha}}"), get(git::tree))
        .route(&format!("{repo}/git/blobs/{{sha}}"), get(git::blob))
        .route(
            &format!("{repo}/git/commits/{{sha}}"),
            get(git::single_commit),
        )
        .route(&format!("{repo}/commits"), get(git::list_commits))
        .route(
            &format!("{repo}/commits/{{ref}}/status"),
            get(refs::combined_status),
        )
        .route(&format!("{repo}/compare/{{*basehead}}"), get(git::compare))
        .route(
            &format!("{repo}/branches"),
            get(refs::branches).post(repo_write::create_branch),
        )
        .route(&format!("{repo}/branches/{{*branch}}"), get(refs::branch))
        .route(&format!("{repo}/tags"), get(refs::tags))
        .route(
            &format!("{repo}/releases"),
            get(refs::releases).post(repo_write::create_release),
        )
        .route(
            &format!("{repo}/releases/latest"),
            get(refs::latest_release),
        )
        .route(
            &format!("{repo}/releases/{{id}}"),
            get(refs::release).patch(repo_write::edit_release),
        )
        .route(
            &format!("{repo}/releases/tags/{{*tag}}"),
            get(refs::release_by_tag),
        )
        .route(
            &format!("{repo}/commits/{{ref}}/statuses"),
            get(refs::statuses),
        )
        .route(
            &format!("{repo}/labels"),
            get(issues::labels).post(issue_write::create_label),
        )
        .route(
            &format!("{repo}/labels/{{id}}"),
            get(issues::label).patch(issue_write::edit_label),
        )
        .route(
            &format!("{repo}/milestones"),
            get(issues::milestones).post(issue_write::create_milestone),
        )
        .route(&format!("{repo}/milestones/{{id}}"), get(issues::milestone))
        .route(
            &format!("{repo}/issues/{{index}}/labels"),
            get(issues::issue_labels)
                .post(issue_write::add_issue_labels)
                .put(issue_write::replace_issue_labels)
                .delete(issue_write::clear_issue_labels),
        )
        .route(
            &format!("{repo}/issues/{{index}}/labels/{{id}}"),
            delete(issue_write::remove_issue_label),
        )
        .route(
            &format!("{repo}/issues"),
            get(issues::list).post(issue_write::create_issue),
        )
        .route(
            &format!("{repo}/issues/{{index}}"),
            get(issues::get_issue).patch(issue_write::edit_issue),
        )
        .route(
            &format!("{repo}/issues/{{index}}/comments"),
            get(issues::comments).post(issue_write::create_comment),
        )
        .route(
            &format!("{repo}/issues/comments/{{id}}"),
            patch(issue_write::edit_comment),
        )
        .route(
            &format!("{repo}/pulls"),
            get(pulls::list).post(repo_write::create_pull),
        )
        .route(&format!("{repo}/pulls/{{index}}"), get(pulls::get_pull))
        .route(&format!("{repo}/pulls/{{index}}/files"), get(pulls::files))
        .route(
            &format!("{repo}/pulls/{{index}}/commits"),
            get(pulls::commits),
        )
        .route(
            "/_sim/requests",
            get(sim::requests).delete(sim::clear_requests),
        )
        .route(
            "/_sim/violations",
            get(sim::violations).delete(sim::clear_violations),
        )
        .route("/_sim/reset", post(sim::reset))
        .route("/.well-known/openid-configuration", get(oauth::well_known))
        .route(
            "/login/oauth/authorize",
            get(oauth::authorize).post(oauth::authorize),
        )
        .route("/login/oauth/access_token", post(oauth::access_token))
        .route("/login/oauth/keys", get(oauth::keys))
        .route(
            "/login/oauth/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route("/login/oauth/introspect", post(oauth::introspect))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), sim_layer))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Set by handlers outside `/api/v1` (the OAuth endpoints) that know who the caller is, for the log.
#[derive(Clone, Debug)]
pub struct LoggedUser(pub String);

/// Paths whose requests go into the request log.
fn is_logged(path: &str) -> bool {
    path.starts_with("/api/v1")
        || path.starts_with("/login/oauth")
        || path.starts_with("/.well-known")
}

/// Request bodies larger than this are cut off in contract mode (none of Gitea's JSON options come close).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Authenticates, enforces token scopes, renders `ApiError`s, checks the contract and logs.
async fn sim_layer(State(state): State<SimState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or("").to_string();
    if let Some(contract) = state.contract() {
        if !matches!(method, http::Method::GET | http::Method::HEAD) {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .unwrap_or_default();
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            state.add_violations(contract.check_request_body(
                method.as_str(),
                &path,
                content_type,
                &bytes,
            ));
            req = Request::from_parts(parts, Body::from(bytes));
        }
    }
    // only the API authenticates here; the OAuth endpoints read their own credentials
    let authenticated = if path.starts_with("/api/") {
        let world = state.world();
        let oauth = state.oauth();
        auth::authenticate(&world, &oauth, req.headers(), &query)
    } else {
        Ok(Doer::default())
    };
    let mut user = None;
    let response = match authenticated {
        Ok(doer) => {
            user = doer.login.clone();
            match auth::check_scope(&doer, &method, &path) {
                Ok(()) => {
                    req.extensions_mut().insert(doer);
                    next.run(req).await
                }
                Err(e) => e.into_response(),
            }
        }
        Err(e) => e.into_response(),
    };
    if let Some(LoggedUser(login)) = response.extensions().get::<LoggedUser>() {
        user = Some(login.clone());
    }
    let response = render_error(&state, response);
    let response = match state.contract() {
        Some(contract) => {
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let found = contract.check(
                method.as_str(),
                &path,
                &query,
                parts.status.as_u16(),
                content_type,
                &bytes,
            );
            state.add_violations(found);
            Response::from_parts(parts, Body::from(bytes))
        }
        None => response,
    };
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    if is_logged(&path) {
        state.log_request(LoggedRequest {
            method: method.to_string(),
            path,
            query,
            user,
            status: response.status().as_u16(),
        });
    }
    response
}

fn render_error(state: &SimState, mut response: Response) -> Response {
    let Some(err) = response.extensions_mut().remove::<ApiError>() else {
        return response;
    };
    let body = json!({
        "message": err.message,
        "url": format!("{}/api/swagger", state.base_url()),
    });
    json_response(err.status, &body)
}

/// `application/json;charset=utf-8`, as Gitea sends it.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

pub fn ok(value: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &value))
}

/// Plain text (diffs and patches).
pub fn text(body: String) -> ApiResult {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    Ok(response)
}

/// The query string, with Go's `ctx.FormX` semantics.
#[derive(Clone, Debug, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: &str) -> QueryParams {
        QueryParams {
            pairs: url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
    /// First value, trimmed (`ctx.FormTrim`); "" when absent.
    pub fn str(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.trim())
    }
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }
    /// `ctx.FormInt`: 0 when absent or not a number.
    pub fn int(&self, key: &str) -> i64 {
        self.str(key).parse().unwrap_or(0)
    }
    /// `ctx.FormOptionalBool` with a default for absent or unparsable values.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        match self.str(key) {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
            _ => default,
        }
    }
    /// Every value of a repeated key.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Everything a handler needs about its request.
pub struct Ctx {
    pub state: SimState,
    pub doer: Doer,
    pub query: QueryParams,
    pub path: String,
    params: HashMap<String, String>,
}

impl FromRequestParts<SimState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SimState,
    ) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid path parameter"))?;
        let params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(Ctx {
            state: state.clone(),
            doer: parts.extensions.get::<Doer>().cloned().unwrap_or_default(),
            query: QueryParams::parse(parts.uri.query().unwrap_or("")),
            path: parts.uri.path().to_string(),
            params,
        })
    }
}

impl Ctx {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    pub fn user<'w>(&self, world: &'w World) -> Option<&'w User> {
        self.doer.user.and_then(|id| world.user(id))
    }

    /// The signed-in user, or 401 `token is required`.
    pub fn require_user<'w>(&self, world: &'w World) -> Result<&'w User, ApiError> {
        self.user(world).ok_or_else(ApiError::token_required)
    }

    pub fn view<'w>(&'w self, world: &'w World) -> View<'w> {
        View {
            world,
            base: self.state.base_url(),
            doer: self.user(world),
        }
    }

    /// The `{owner}/{repo}` of the path, 404 unless the caller may read it (private repos are hidden).
    pub fn repo<'w>(&self, world: &'w World) -> Result<(&'w Repo, AccessMode), ApiError> {
        let repo = world
            .repo(self.param("owner"), self.param("repo"))
            .ok_or_else(ApiError::not_found)?;
        let mode = world.access(repo, self.user(world));
        if mode < AccessMode::Read {
            return Err(ApiError::not_found());
        }
        if repo.private && self.doer.public_only() {
            return Err(ApiError::forbidden(
                "token scope is limited to public repos",
            ));
        }
        Ok((repo, mode))
    }

    /// Like [`Ctx::repo`], for write handlers: the repository's index in `world.repos`.
    pub fn repo_index(&self, world: &World) -> Result<(usize, AccessMode), ApiError> {
        let index = world
            .repo_index(self.param("owner"), self.param("repo"))
            .ok_or_else(ApiError::not_found)?;
        let (_, mode) = self.repo(world)?;
        Ok((index, mode))
    }

    /// Repositories of a listing the caller may see.
    pub fn visible(&self, world: &World, repo: &Repo) -> Option<AccessMode> {
        let mode = world.access(repo, self.user(world));
        (mode >= AccessMode::Read && !(repo.private && self.doer.public_only())).then_some(mode)
    }
}

/// Which paging headers a list endpoint sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `Link` and `X-Total-Count`.
    Link,
    /// `X-Total-Count` only (labels, tags, milestones, topics, trees, issue comments).
    CountOnly,
    /// `Link`, `X-Total-Count`, `X-Page`, `X-PerPage`, `X-PageCount`, `X-HasMore`, and `X-Total` when true.
    PageHeaders { x_total: bool },
}

/// A JSON list response with Gitea's paging headers.
pub fn paged(ctx: &Ctx, body: Value, total: usize, opts: ListOptions, paging: Paging) -> ApiResult {
    let mut response = json_response(StatusCode::OK, &body);
    let headers = response.headers_mut();
    if paging != Paging::CountOnly {
        if let Some(link) = pagination::link_header(
            ctx.state.base_url(),
            &ctx.path,
            ctx.query.pairs(),
            total,
            opts.page_size,
            ctx.query.int("page"),
        ) {
            pagination::set(headers, "link", link);
            pagination::expose(headers, &["Link"]);
        }
    }
    pagination::set(headers, "x-total-count", total);
    pagination::expose(headers, &["X-Total-Count"]);
    if let Paging::PageHeaders { x_total } = paging {
        let pages = opts.page_count(total);
        pagination::set(headers, "x-page", opts.page);
        pagination::set(headers, "x-perpage", opts.page_size);
        if x_total {
            pagination::set(headers, "x-total", total);
        }
        pagination::set(headers, "x-pagecount", pages);
        pagination::set(headers, "x-hasmore", opts.page < pages);
        let mut names = vec!["X-Page", "X-PerPage", "X-PageCount", "X-HasMore"];
        if x_total {
            names.insert(0, "X-Total");
        }
        pagination::expose(headers, &names);
    }
    Ok(response)
}

/// A path parameter that must be a positive number (issue index, release id).
pub fn parse_index(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(ApiError::not_found)
}
