//! Issue-tracker writes (`routers/api/v1/repo/issue*.go`, `label.go`, `milestone.go`): issues,
//! comments, issue labels, labels and milestones, changed under the world's write lock.
//!
//! Each handler runs Gitea's checks in the order of its middleware chain: repository lookup (404),
//! `reqToken` (401), `mustNotBeArchived` (423), `reqRepoWriter` (403) or `bind` (422), then the
//! handler's own checks.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::body::{required, Body};
use super::{json_response, parse_index, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::model::{AccessMode, Comment, Issue, Label, Milestone, Repo, User, UserId, World};
use crate::render::issue as render;

/// Now, to the second (Gitea stores unix seconds).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

pub fn created(value: Value) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, &value))
}

/// The signed-in doer, cloned out of the world so the world can be changed afterwards.
pub fn doer(ctx: &Ctx, world: &World) -> Result<User, ApiError> {
    ctx.require_user(world).cloned()
}

pub fn not_archived(repo: &Repo) -> Result<(), ApiError> {
    if repo.archived {
        return Err(ApiError::archived());
    }
    Ok(())
}

fn require_writer(mode: AccessMode) -> Result<(), ApiError> {
    if mode < AccessMode::Write {
        return Err(ApiError::not_writer());
    }
    Ok(())
}

/// Why assignees given by login were refused.
pub enum AssigneeError {
    /// `user_model.ErrUserNotExist`.
    Unknown(String),
    /// `repo_model.ErrUserDoesNotHaveAccessToRepo`.
    NoAccess(UserId),
}

impl AssigneeError {
    /// The 422 `CreateIssue` / `CreatePullRequest` answer.
    pub fn create_error(&self, repo: &Repo) -> ApiError {
        ApiError::unprocessable(self.message(repo, true))
    }
    pub fn message(&self, repo: &Repo, create: bool) -> String {
        match self {
            AssigneeError::Unknown(name) if create => format!(
                "Assignee does not exist: [name: user does not exist [uid: 0, name: {name}]]"
            ),
            AssigneeError::Unknown(name) => format!("user does not exist [uid: 0, name: {name}]"),
            AssigneeError::NoAccess(id) => format!(
                "user does not have access to repo [user_id: {id}, repo_name: {}]",
                repo.name
            ),
        }
    }
}

/// `MakeIDsFromAPIAssigneesToAdd` + `CanBeAssigned`: the single `assignee` (unless also listed)
/// and the list, as user ids; each must have write access to the repository.
pub fn assignee_ids(
    world: &World,
    repo: &Repo,
    one: Option<&str>,
    many: &[String],
) -> Result<Vec<UserId>, AssigneeError> {
    let mut names: Vec<&str> = Vec::new();
    if let Some(one) = one.filter(|o| !o.is_empty() && !many.iter().any(|m| m == o)) {
        names.push(one);
    }
    if many.first().is_some_and(|m| !m.is_empty()) {
        names.extend(many.iter().map(String::as_str));
    }
    let mut ids = Vec::new();
    for name in names {
        let user = world
            .user_by_login(name)
            .ok_or_else(|| AssigneeError::Unknown(name.to_ascii_lowercase()))?;
        if !ids.contains(&user.id) {
            ids.push(user.id);
        }
    }
    for id in &ids {
        let user = world.user(*id);
        if world.access(repo, user) < AccessMode::Write {
            return Err(AssigneeError::NoAccess(*id));
        }
    }
    Ok(ids)
}

fn time_field(raw: Option<&str>, field: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    match raw {
        None | Some("") => Ok(None),
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(Some)
            .map_err(|e| ApiError::unprocessable(format!("[]: parsing time {field} \"{s}\": {e}"))),
    }
}

fn render_issue(ctx: &Ctx, world: &World, index: usize, number: i64) -> Value {
    let repo = &world.repos[index];
    repo.issue(number)
        .map_or(Value::Null, |i| render::issue(&ctx.view(world), repo, i))
}

#[derive(Deserialize, Default)]
pub struct CreateIssueOption {
    title: Option<String>,
    body: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    assignee: Option<String>,
    assignees: Option<Vec<String>>,
    due_date: Option<String>,
    milestone: Option<i64>,
    labels: Option<Vec<i64>>,
    closed: Option<bool>,
}

/// `POST /repos/{owner}/{repo}/issues`: anyone who can read the repository may open an issue;
/// labels, assignees, milestone and due date are silently ignored unless the doer can write.
/// Unknown label and milestone ids are dropped silently, like Gitea's `NewIssue`.
pub async fn create_issue(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        not_archived(&world.repos[index])?;
        let form: CreateIssueOption = body.json()?;
        let title = required("Title", form.title.as_deref())?;
        let due = time_field(form.due_date.as_deref(), "due_date")?;
        let writer = mode >= AccessMode::Write;
        let repo = &world.repos[index];
        let (assignees, milestone, labels, due) = if writer {
            let assignees = assignee_ids(
                world,
                repo,
                form.assignee.as_deref(),
                form.assignees.as_deref().unwrap_or_default(),
            )
            .map_err(|e| e.create_error(repo))?;
            let milestone = form
                .milestone
                .filter(|id| *id > 0)
                .and_then(|id| repo.milestone(id))
                .map(|m| m.id);
            (assignees, milestone, form.labels.unwrap_or_default(), due)
        } else {
            (Vec::new(), None, Vec::new(), None)
        };
        let now = now();
        let closed = form.closed.unwrap_or(false);
        let issue = Issue {
            id: world.next_issue_id(),
            number: repo.next_issue_number(),
            title: title.trim().to_string(),
            body: form.body.unwrap_or_default(),
            author: doer.id,
            closed,
            labels: Vec::new(),
            milestone,
            assignees,
            created: now,
            updated: now,
            closed_at: closed.then_some(now),
            due,
            locked: false,
            comments: Vec::new(),
            pull: None,
        };
        let _ = form.reference;
        let number = issue.number;
        let repo = &mut world.repos[index];
        repo.issues.push(issue);
        for id in labels {
            repo.add_issue_label(number, id);
        }
        created(render_issue(&ctx, world, index, number))
    })
}

#[derive(Deserialize, Default)]
pub struct EditIssueOption {
    title: Option<String>,
    body: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    assignee: Option<String>,
    assignees: Option<Vec<String>>,
    milestone: Option<i64>,
    state: Option<String>,
    due_date: Option<String>,
    unset_due_date: Option<bool>,
}

/// `PATCH /repos/{owner}/{repo}/issues/{index}` (issues and pulls): the poster or a writer may edit;
/// assignees, milestone and due date need write access and are ignored otherwise. Answers **201**.
pub async fn edit_issue(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        let form: EditIssueOption = body.json()?;
        let number = parse_index(ctx.param("index"))?;
        let repo = &world.repos[index];
        let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
        let can_write = mode >= AccessMode::Write;
        if issue.author != doer.id && !can_write {
            return Ok(bare(StatusCode::FORBIDDEN));
        }
        let due = time_field(form.due_date.as_deref(), "due_date")?;
        let assignees = match (&form.assignees, &form.assignee) {
            (None, None) => None,
            _ if !can_write => None,
            (many, one) => Some(
                assignee_ids(
                    world,
                    repo,
                    one.as_deref(),
                    many.as_deref().unwrap_or_default(),
                )
                .map_err(|e| ApiError::internal(e.message(repo, false), doer.admin))?,
            ),
        };
        let milestone = match form.milestone {
            Some(id) if can_write && issue.milestone.unwrap_or(0) != id => {
                if id > 0 && repo.milestone(id).is_none() {
                    return Err(ApiError::internal(
                        format!(
                            "milestone does not exist [id: {id}, repo_id: {}, name: ]",
                            repo.id
                        ),
                        doer.admin,
                    ));
                }
                Some((id > 0).then_some(id))
            }
            _ => None,
        };
        let merged = issue.pull.as_ref().is_some_and(|p| p.merged.is_some());
        let now = now();
        let _ = form.reference;
        let Some(issue) = world.repos[index].issue_mut(number) else {
            return Err(ApiError::not_found());
        };
        if let Some(title) = form.title.filter(|t| !t.is_empty()) {
            issue.title = title.trim().to_string();
        }
        if let Some(body) = form.body {
            issue.body = body;
        }
        if can_write {
            if form.unset_due_date == Some(true) {
                issue.due = None;
            } else if due.is_some() {
                issue.due = due;
            }
        }
        if let Some(list) = assignees {
            issue.assignees = list;
        }
        if let Some(m) = milestone {
            issue.milestone = m;
        }
        issue.updated = now;
        if let Some(state) = form.state {
            if merged {
                return Err(ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "cannot change state of this pull request, it was already merged",
                ));
            }
            let closed = match state.as_str() {
                "open" => false,
                "closed" => true,
                other => {
                    return Err(ApiError::new(
                        StatusCode::PRECONDITION_FAILED,
                        format!("unknown state: {other}"),
                    ))
                }
            };
            if issue.closed != closed {
                issue.closed = closed;
                issue.closed_at = closed.then_some(now);
            }
        }
        created(render_issue(&ctx, world, index, number))
    })
}

#[derive(Deserialize, Default)]
pub struct CommentOption {
    body: Option<String>,
}

/// `POST /repos/{owner}/{repo}/issues/{index}/comments`. An unknown index is a 500 in Gitea 1.27
/// (`GetIssueByIndex` errors are not mapped), reproduced here.
pub async fn create_comment(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        not_archived(&world.repos[index])?;
        let form: CommentOption = body.json()?;
        let text = required("Body", form.body.as_deref())?;
        let repo = &world.repos[index];
        let number = ctx.param("index").parse::<i64>().unwrap_or(0);
        let issue = repo.issue(number).ok_or_else(|| {
            ApiError::internal(
                format!(
                    "issue does not exist [id: 0, repo_id: {}, index: {number}]",
                    repo.id
                ),
                doer.admin,
            )
        })?;
        if issue.locked && mode < AccessMode::Write && !doer.admin {
            return Err(ApiError::forbidden("You cannot comment on a locked issue."));
        }
        let now = now();
        let comment = Comment {
            id: world.next_comment_id(),
            author: doer.id,
            body: text,
            created: now,
            updated: now,
        };
        let id = comment.id;
        let Some(issue) = world.repos[index].issue_mut(number) else {
            return Err(ApiError::not_found());
        };
        issue.comments.push(comment);
        issue.updated = now;
        let world: &World = world;
        let repo = &world.repos[index];
        let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
        let comment = issue
            .comments
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(ApiError::not_found)?;
        created(render::comment(&ctx.view(world), repo, issue, comment))
    })
}

/// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`: the author or a writer; 404 (empty body)
/// for a comment of another repository, 403 (empty body) for anyone else.
pub async fn edit_comment(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        not_archived(&world.repos[index])?;
        let form: CommentOption = body.json()?;
        let text = required("Body", form.body.as_deref())?;
        let id = ctx.param("id").parse::<i64>().unwrap_or(0);
        let found = world.repos.iter().enumerate().find_map(|(ri, r)| {
            r.issues.iter().find_map(|i| {
                i.comments
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| (ri, i.number, c.author))
            })
        });
        let Some((repo_index, number, author)) = found else {
            return Err(ApiError::not_found());
        };
        if repo_index != index {
            return Ok(bare(StatusCode::NOT_FOUND));
        }
        if author != doer.id && mode < AccessMode::Write {
            return Ok(bare(StatusCode::FORBIDDEN));
        }
        let now = now();
        let repo = &mut world.repos[index];
        let Some(issue) = repo.issue_mut(number) else {
            return Err(ApiError::not_found());
        };
        if let Some(c) = issue.comments.iter_mut().find(|c| c.id == id) {
            c.body = text;
            c.updated = now;
        }
        let world: &World = world;
        let repo = &world.repos[index];
        let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
        let comment = issue
            .comments
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(ApiError::not_found)?;
        Ok(json_response(
            StatusCode::OK,
            &render::comment(&ctx.view(world), repo, issue, comment),
        ))
    })
}

#[derive(Deserialize, Default)]
pub struct IssueLabelsOption {
    labels: Option<Vec<Value>>,
}

/// The issue of the path and the label ids of an `IssueLabelsOption` (`prepareForReplaceOrAdd`):
/// ids or names (of this repository), not both.
fn labels_request(
    ctx: &Ctx,
    world: &World,
    body: &Body,
) -> Result<(usize, i64, Vec<i64>), ApiError> {
    let (index, mode) = ctx.repo_index(world)?;
    ctx.require_user(world)?;
    let form: IssueLabelsOption = body.json()?;
    let number = parse_index(ctx.param("index"))?;
    let repo = &world.repos[index];
    repo.issue(number).ok_or_else(ApiError::not_found)?;
    if mode < AccessMode::Write {
        return Err(ApiError::forbidden("write permission is required"));
    }
    let (mut ids, mut names) = (Vec::new(), Vec::new());
    for item in form.labels.unwrap_or_default() {
        match item {
            Value::Number(n) => ids.push(n.as_f64().unwrap_or(0.0) as i64),
            Value::String(s) => names.push(s),
            _ => {
                return Err(ApiError::bad_request(
                    "a label must be an integer or a string",
                ))
            }
        }
    }
    if !ids.is_empty() && !names.is_empty() {
        return Err(ApiError::bad_request(
            "labels should be an array of strings or integers",
        ));
    }
    for name in names {
        ids.extend(repo.labels.iter().filter(|l| l.name == name).map(|l| l.id));
    }
    Ok((index, number, ids))
}

fn issue_labels_json(ctx: &Ctx, world: &World, index: usize, number: i64) -> Value {
    let repo = &world.repos[index];
    let view = ctx.view(world);
    let Some(issue) = repo.issue(number) else {
        return Value::Array(Vec::new());
    };
    Value::Array(
        render::issue_labels(repo, issue)
            .into_iter()
            .map(|l| render::label(&view, repo, l))
            .collect(),
    )
}

/// `POST /repos/{owner}/{repo}/issues/{index}/labels`: 200 with the issue's labels afterwards;
/// labels of other repositories are skipped.
pub async fn add_issue_labels(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, number, ids) = labels_request(&ctx, world, &body)?;
        let repo = &mut world.repos[index];
        for id in ids {
            repo.add_issue_label(number, id);
        }
        if let Some(issue) = repo.issue_mut(number) {
            issue.updated = now();
        }
        Ok(json_response(
            StatusCode::OK,
            &issue_labels_json(&ctx, world, index, number),
        ))
    })
}

/// `PUT /repos/{owner}/{repo}/issues/{index}/labels`: replaces the issue's labels.
pub async fn replace_issue_labels(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, number, ids) = labels_request(&ctx, world, &body)?;
        let repo = &mut world.repos[index];
        if let Some(issue) = repo.issue_mut(number) {
            issue.labels.clear();
            issue.updated = now();
        }
        for id in ids {
            repo.add_issue_label(number, id);
        }
        Ok(json_response(
            StatusCode::OK,
            &issue_labels_json(&ctx, world, index, number),
        ))
    })
}

/// `DELETE /repos/{owner}/{repo}/issues/{index}/labels/{id}`: 204; 403 (empty body) without write
/// access; 422 for an id that is no label at all; a label not on the issue is a no-op.
pub async fn remove_issue_label(ctx: Ctx) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        let number = parse_index(ctx.param("index"))?;
        world.repos[index]
            .issue(number)
            .ok_or_else(ApiError::not_found)?;
        if mode < AccessMode::Write {
            return Ok(bare(StatusCode::FORBIDDEN));
        }
        let id = ctx.param("id").parse::<i64>().unwrap_or(0);
        if !world.repos.iter().any(|r| r.label(id).is_some()) {
            return Err(ApiError::unprocessable(format!(
                "label does not exist [label_id: {id}]"
            )));
        }
        if let Some(issue) = world.repos[index].issue_mut(number) {
            if issue.labels.contains(&id) {
                issue.labels.retain(|l| *l != id);
                issue.updated = now();
            }
        }
        Ok(bare(StatusCode::NO_CONTENT))
    })
}

/// `DELETE /repos/{owner}/{repo}/issues/{index}/labels`: removes every label (204).
pub async fn clear_issue_labels(ctx: Ctx) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        let number = parse_index(ctx.param("index"))?;
        world.repos[index]
            .issue(number)
            .ok_or_else(ApiError::not_found)?;
        if mode < AccessMode::Write {
            return Ok(bare(StatusCode::FORBIDDEN));
        }
        if let Some(issue) = world.repos[index].issue_mut(number) {
            issue.labels.clear();
            issue.updated = now();
        }
        Ok(bare(StatusCode::NO_CONTENT))
    })
}

/// `label.NormalizeColor`: `#rgb`, `rgb`, `#rrggbb` or `rrggbb`, any case; stored as `#rrggbb`
/// (the API shows it without the `#`).
pub fn normalize_color(raw: &str) -> Result<String, ApiError> {
    let mut color = raw.trim().to_ascii_lowercase();
    if color.len() == 6 || color.len() == 3 {
        color.insert(0, '#');
    }
    let hex = color.strip_prefix('#').unwrap_or("");
    if !(hex.len() == 6 || hex.len() == 3) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::unprocessable(format!("bad color code: {color}")));
    }
    let six: String = if hex.len() == 3 {
        hex.chars().flat_map(|c| [c, c]).collect()
    } else {
        hex.to_string()
    };
    Ok(six)
}

#[derive(Deserialize, Default)]
pub struct LabelOption {
    name: Option<String>,
    color: Option<String>,
    description: Option<String>,
    exclusive: Option<bool>,
    is_archived: Option<bool>,
}

/// `POST /repos/{owner}/{repo}/labels`: writers only; duplicate names are allowed, as in Gitea.
pub async fn create_label(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        require_writer(mode)?;
        let form: LabelOption = body.json()?;
        let name = required("Name", form.name.as_deref())?;
        let color = required("Color", form.color.as_deref())?;
        let color = normalize_color(&color)?;
        let label = Label {
            id: world.next_label_id(),
            name,
            color,
            description: form.description.unwrap_or_default(),
            exclusive: form.exclusive.unwrap_or(false),
            archived: form.is_archived.unwrap_or(false),
        };
        let id = label.id;
        world.repos[index].labels.push(label);
        let repo = &world.repos[index];
        let label = repo.label(id).ok_or_else(ApiError::not_found)?;
        created(render::label(&ctx.view(world), repo, label))
    })
}

/// `PATCH /repos/{owner}/{repo}/labels/{id}`. Like Gitea, a body without `is_archived` unarchives.
pub async fn edit_label(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        require_writer(mode)?;
        let form: LabelOption = body.json()?;
        let id = parse_index(ctx.param("id"))?;
        world.repos[index]
            .label(id)
            .ok_or_else(ApiError::not_found)?;
        let color = form.color.as_deref().map(normalize_color).transpose()?;
        let repo = &mut world.repos[index];
        if let Some(label) = repo.labels.iter_mut().find(|l| l.id == id) {
            if let Some(name) = form.name {
                label.name = name;
            }
            if let Some(exclusive) = form.exclusive {
                label.exclusive = exclusive;
            }
            if let Some(color) = color {
                label.color = color;
            }
            if let Some(description) = form.description {
                label.description = description;
            }
            label.archived = form.is_archived == Some(true);
        }
        let repo = &world.repos[index];
        let label = repo.label(id).ok_or_else(ApiError::not_found)?;
        Ok(json_response(
            StatusCode::OK,
            &render::label(&ctx.view(world), repo, label),
        ))
    })
}

#[derive(Deserialize, Default)]
pub struct CreateMilestoneOption {
    title: Option<String>,
    description: Option<String>,
    due_on: Option<String>,
    state: Option<String>,
}

/// `POST /repos/{owner}/{repo}/milestones`: writers only; `state: closed` closes it at once.
pub async fn create_milestone(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        require_writer(mode)?;
        let form: CreateMilestoneOption = body.json()?;
        let due_on = time_field(form.due_on.as_deref(), "due_on")?;
        let now = now();
        let closed = form.state.as_deref() == Some("closed");
        let milestone = Milestone {
            id: world.next_milestone_id(),
            title: form.title.unwrap_or_default(),
            description: form.description.unwrap_or_default(),
            closed,
            created: now,
            updated: now,
            due_on,
            closed_at: closed.then_some(now),
        };
        let id = milestone.id;
        world.repos[index].milestones.push(milestone);
        let repo = &world.repos[index];
        let m = repo.milestone(id).ok_or_else(ApiError::not_found)?;
        created(render::milestone(repo, m))
    })
}

/// A bare status without a body (Gitea's `ctx.Status(...)`).
pub fn bare(status: StatusCode) -> Response {
    status.into_response()
}
