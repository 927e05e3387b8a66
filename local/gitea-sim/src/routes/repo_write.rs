//! Repository writes (`routers/api/v1/repo/{pull,release,branch}.go`): pull requests, releases
//! (creating their tags) and branches, changed under the world's write lock.

use http::StatusCode;
use serde::Deserialize;

use super::body::{required, valid_ref_name, Body};
use super::issue_write::{assignee_ids, created, doer, not_archived, now};
use super::pulls::pull_stats;
use super::{json_response, parse_index, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::model::{AccessMode, Issue, PullInfo, Release, Repo, World};
use crate::render::{git as render_git, issue as render_issue};

#[derive(Deserialize, Default)]
pub struct CreatePullRequestOption {
    head: Option<String>,
    base: Option<String>,
    title: Option<String>,
    body: Option<String>,
    assignee: Option<String>,
    assignees: Option<Vec<String>>,
    milestone: Option<i64>,
    labels: Option<Vec<i64>>,
    due_date: Option<String>,
}

/// The branch named by `head`: `branch` or `owner:branch` (only this repository's owner: the
/// simulator has no forks).
fn head_branch<'a>(repo: &Repo, head: &'a str) -> Option<&'a str> {
    match head.split_once(':') {
        Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner_name) => Some(branch),
        Some(_) => None,
        None => Some(head),
    }
}

/// `NewPullRequest`'s rule: the poster is a site admin, or owner, member or collaborator of the
/// base repository, or can write to the head repository (the same one here).
fn may_open_pull(world: &World, repo: &Repo, user: &crate::model::User) -> bool {
    user.admin
        || repo.owner_id == user.id
        || repo.collaborators.iter().any(|(id, _)| *id == user.id)
        || world
            .org(repo.owner_id)
            .is_some_and(|o| o.members.iter().any(|(id, _)| *id == user.id))
        || world.access(repo, Some(user)) >= AccessMode::Write
}

/// `POST /repos/{owner}/{repo}/pulls`: 201 PullRequest; 422 head == base; 404 unknown branch or
/// milestone; 409 when an open, unmerged pull for head -> base exists; 403 for a poster who is not
/// a collaborator.
pub async fn create_pull(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        not_archived(&world.repos[index])?;
        let form: CreatePullRequestOption = body.json()?;
        let head = required("Head", form.head.as_deref())?;
        let base = required("Base", form.base.as_deref())?;
        let title = required("Title", form.title.as_deref())?;
        if head == base {
            return Err(ApiError::unprocessable(
                "Invalid PullRequest: There are no changes between the head and the base",
            ));
        }
        let repo = &world.repos[index];
        let base_oid = *repo
            .git
            .branches
            .get(&base)
            .ok_or_else(ApiError::not_found)?;
        let head_name = head_branch(repo, &head)
            .ok_or_else(ApiError::not_found)?
            .to_string();
        let head_oid = *repo
            .git
            .branches
            .get(&head_name)
            .ok_or_else(ApiError::not_found)?;
        if let Some((i, p)) = repo.issues.iter().find_map(|i| {
            i.pull
                .as_ref()
                .filter(|p| {
                    p.head_branch == head_name
                        && p.base_branch == base
                        && p.merged.is_none()
                        && !i.closed
                })
                .map(|p| (i, p))
        }) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: {}, base_repo_id: {}, head_branch: {}, base_branch: {}]",
                    p.id, i.number, repo.id, repo.id, p.head_branch, p.base_branch
                ),
            ));
        }
        let labels: Vec<i64> = form
            .labels
            .unwrap_or_default()
            .into_iter()
            .filter(|id| repo.label(*id).is_some())
            .collect();
        let milestone = match form.milestone.filter(|m| *m > 0) {
            Some(id) => Some(repo.milestone(id).ok_or_else(ApiError::not_found)?.id),
            None => None,
        };
        let due = match form.due_date.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| ApiError::unprocessable(format!("[]: {e}")))?,
            ),
        };
        let assignees = assignee_ids(
            world,
            repo,
            form.assignee.as_deref(),
            form.assignees.as_deref().unwrap_or_default(),
        )
        .map_err(|e| e.create_error(repo))?;
        if !may_open_pull(world, repo, &doer) {
            return Err(ApiError::forbidden("user must be a collaborator"));
        }
        let merge_base = repo.git.merge_base(head_oid, base_oid).unwrap_or(base_oid);
        let now = now();
        let number = repo.next_issue_number();
        let issue = Issue {
            id: world.next_issue_id(),
            number,
            title,
            body: form.body.unwrap_or_default(),
            author: doer.id,
            closed: false,
            labels: Vec::new(),
            milestone,
            assignees,
            created: now,
            updated: now,
            closed_at: None,
            due,
            locked: false,
            comments: Vec::new(),
            pull: Some(PullInfo {
                id: world.next_pull_id(),
                head_branch: head_name,
                base_branch: base,
                head: head_oid,
                merge_base,
                merged: None,
                draft: false,
                mergeable: true,
            }),
        };
        let repo = &mut world.repos[index];
        repo.issues.push(issue);
        for id in labels {
            repo.add_issue_label(number, id);
        }
        let world: &World = world;
        let repo = &world.repos[index];
        let issue = repo.issue(number).ok_or_else(ApiError::not_found)?;
        let pull = issue.pull.as_ref().ok_or_else(ApiError::not_found)?;
        created(render_issue::pull(
            &ctx.view(world),
            repo,
            issue,
            pull,
            mode,
            pull_stats(repo, pull),
        ))
    })
}

/// Creates the tag of a published release when it is missing (`release_service.createTag`):
/// a lightweight tag at the target (a branch, tag or commit), 404 when the target is unknown.
fn ensure_tag(repo: &mut Repo, tag: &str, target: &str) -> Result<(), ApiError> {
    if repo.git.tags.contains_key(tag) {
        return Ok(());
    }
    let commit = repo.git.resolve(target).map(|r| r.commit).ok_or_else(|| {
        ApiError::not_found_with(format!(
            "target \"{target}\" not found: object does not exist [id: {target}, rel_path: ]"
        ))
    })?;
    repo.git.tag(tag, commit, None);
    Ok(())
}

#[derive(Deserialize, Default)]
pub struct ReleaseOption {
    tag_name: Option<String>,
    target_commitish: Option<String>,
    name: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
    prerelease: Option<bool>,
    tag_message: Option<String>,
}

fn require_writer(mode: AccessMode) -> Result<(), ApiError> {
    if mode < AccessMode::Write {
        return Err(ApiError::not_writer());
    }
    Ok(())
}

/// `POST /repos/{owner}/{repo}/releases`: writers only; 409 when the tag already has a release;
/// a published release creates its tag at `target_commitish` (default branch) when missing.
pub async fn create_release(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        require_writer(mode)?;
        let form: ReleaseOption = body.json()?;
        let tag = required("TagName", form.tag_name.as_deref())?;
        let id = world.next_release_id();
        let repo = &mut world.repos[index];
        if repo.git.is_empty() {
            return Err(ApiError::unprocessable("repo is empty"));
        }
        if repo.releases.iter().any(|r| r.tag == tag) {
            return Err(ApiError::new(StatusCode::CONFLICT, "Release is has no Tag"));
        }
        let target = form
            .target_commitish
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| repo.default_branch.clone());
        let draft = form.draft.unwrap_or(false);
        let _ = form.tag_message;
        if !draft {
            ensure_tag(repo, &tag, &target)?;
        }
        repo.releases.push(Release {
            id,
            tag,
            target,
            name: form.name.unwrap_or_default(),
            body: form.body.unwrap_or_default(),
            draft,
            prerelease: form.prerelease.unwrap_or(false),
            author: doer.id,
            created: now(),
        });
        let repo = &world.repos[index];
        let rel = repo
            .releases
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(ApiError::not_found)?;
        created(render_issue::release(&ctx.view(world), repo, rel))
    })
}

/// `PATCH /repos/{owner}/{repo}/releases/{id}`: empty strings keep the old value; publishing a
/// draft creates its tag.
pub async fn edit_release(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        ctx.require_user(world)?;
        require_writer(mode)?;
        let form: ReleaseOption = body.json()?;
        let id = parse_index(ctx.param("id"))?;
        let repo = &mut world.repos[index];
        let mut rel = repo
            .releases
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        let keep = |v: Option<String>, old: &mut String| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                *old = v;
            }
        };
        keep(form.tag_name, &mut rel.tag);
        keep(form.target_commitish, &mut rel.target);
        keep(form.name, &mut rel.name);
        keep(form.body, &mut rel.body);
        if let Some(draft) = form.draft {
            rel.draft = draft;
        }
        if let Some(pre) = form.prerelease {
            rel.prerelease = pre;
        }
        if !rel.draft {
            ensure_tag(repo, &rel.tag, &rel.target)?;
        }
        if let Some(slot) = repo.releases.iter_mut().find(|r| r.id == id) {
            *slot = rel;
        }
        let repo = &world.repos[index];
        let rel = repo
            .releases
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(ApiError::not_found)?;
        Ok(json_response(
            StatusCode::OK,
            &render_issue::release(&ctx.view(world), repo, rel),
        ))
    })
}

#[derive(Deserialize, Default)]
pub struct CreateBranchRepoOption {
    new_branch_name: Option<String>,
    old_branch_name: Option<String>,
    old_ref_name: Option<String>,
}

/// `POST /repos/{owner}/{repo}/branches`: writers only; from `old_ref_name` (any ref or commit; an
/// unknown one is a 500 in Gitea), `old_branch_name` (404 when missing) or the default branch;
/// 409 when the name is taken by a branch or a tag, or clashes with a branch directory.
pub async fn create_branch(ctx: Ctx, body: Body) -> ApiResult {
    ctx.state.update_world(|world| {
        let (index, mode) = ctx.repo_index(world)?;
        let doer = doer(&ctx, world)?;
        require_writer(mode)?;
        not_archived(&world.repos[index])?;
        let form: CreateBranchRepoOption = body.json()?;
        let name = required("BranchName", form.new_branch_name.as_deref())?;
        if !valid_ref_name(&name) || name.len() > 100 {
            return Err(ApiError::binding(
                "BranchName",
                if name.len() > 100 {
                    "MaxSize"
                } else {
                    "GitRefName"
                },
            ));
        }
        let repo = &mut world.repos[index];
        if repo.git.is_empty() {
            return Err(ApiError::not_found_with("Git Repository is empty."));
        }
        let old_ref = form.old_ref_name.filter(|r| !r.is_empty());
        let old_branch = form.old_branch_name.filter(|b| !b.is_empty());
        let commit = if let Some(r) = old_ref {
            repo.git.resolve(&r).map(|x| x.commit).ok_or_else(|| {
                ApiError::internal(
                    format!("object does not exist [id: {r}, rel_path: ]"),
                    doer.admin,
                )
            })?
        } else if let Some(b) = old_branch {
            *repo
                .git
                .branches
                .get(&b)
                .ok_or_else(|| ApiError::not_found_with("The old branch does not exist"))?
        } else {
            *repo
                .git
                .branches
                .get(&repo.default_branch)
                .ok_or_else(|| ApiError::internal("default branch missing", doer.admin))?
        };
        let conflict = |m: &str| ApiError::new(StatusCode::CONFLICT, m);
        if repo.git.branches.contains_key(&name) {
            return Err(conflict("The branch already exists."));
        }
        if repo.git.tags.contains_key(&name) {
            return Err(conflict("The branch with the same tag already exists."));
        }
        let dir = format!("{name}/");
        if repo
            .git
            .branches
            .keys()
            .any(|b| b.starts_with(&dir) || name.starts_with(&format!("{b}/")))
        {
            return Err(conflict("The branch with the same name already exists."));
        }
        repo.git.branches.insert(name.clone(), commit);
        let repo = &world.repos[index];
        let c = repo
            .git
            .commit_by_id(&commit)
            .ok_or_else(ApiError::not_found)?;
        created(render_git::branch(&ctx.view(world), repo, &name, c, mode))
    })
}
