//! Issue-tracker JSON: `Label`, `Milestone`, `Issue`, `Comment`, `PullRequest`, `ChangedFile`, `Release`, statuses.

use serde_json::{json, Value};

use super::repo::repo as repo_json;
use super::user::user_by_id;
use super::{escape_segments, path_escape, ts, ts_opt, View};
use crate::model::diff::FileDiff;
use crate::model::git::{FileChange, Oid};
use crate::model::{
    AccessMode, Comment, CommitStatus, Issue, Label, Milestone, PullInfo, Release, Repo,
};

pub fn label(view: &View, r: &Repo, l: &Label) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "exclusive": l.exclusive,
        "is_archived": l.archived,
        "color": l.color,
        "description": l.description,
        "url": format!("{}/labels/{}", view.repo_api(&r.full_name()), l.id),
    })
}

pub fn milestone(r: &Repo, m: &Milestone) -> Value {
    let (mut open, mut closed) = (0, 0);
    for i in r.issues.iter().filter(|i| i.milestone == Some(m.id)) {
        if i.closed {
            closed += 1;
        } else {
            open += 1;
        }
    }
    json!({
        "id": m.id,
        "title": m.title,
        "description": m.description,
        "state": if m.closed { "closed" } else { "open" },
        "open_issues": open,
        "closed_issues": closed,
        "created_at": ts(m.created),
        "updated_at": ts(m.updated),
        "closed_at": ts_opt(m.closed_at),
        "due_on": ts_opt(m.due_on),
    })
}

fn issue_html(view: &View, r: &Repo, i: &Issue) -> String {
    let kind = if i.pull.is_some() { "pulls" } else { "issues" };
    view.html(&format!("/{}/{kind}/{}", r.full_name(), i.number))
}

/// The labels of an issue in Gitea's order (`GetLabelsByIssueID`: by name).
pub fn issue_labels<'r>(r: &'r Repo, i: &Issue) -> Vec<&'r Label> {
    let mut labels: Vec<&Label> = i.labels.iter().filter_map(|id| r.label(*id)).collect();
    labels.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    labels
}

fn labels_of(view: &View, r: &Repo, i: &Issue) -> Value {
    issue_labels(r, i)
        .into_iter()
        .map(|l| label(view, r, l))
        .collect()
}

fn assignees_of(view: &View, i: &Issue) -> (Value, Value) {
    if i.assignees.is_empty() {
        return (Value::Null, Value::Null);
    }
    let list: Vec<Value> = i.assignees.iter().map(|id| user_by_id(view, *id)).collect();
    (
        list.first().cloned().unwrap_or(Value::Null),
        Value::Array(list),
    )
}

fn milestone_of(r: &Repo, i: &Issue) -> Value {
    i.milestone
        .and_then(|id| r.milestone(id))
        .map_or(Value::Null, |m| milestone(r, m))
}

/// `convert.ToAPIIssue`.
pub fn issue(view: &View, r: &Repo, i: &Issue) -> Value {
    let (assignee, assignees) = assignees_of(view, i);
    let pull_request = match &i.pull {
        Some(p) => json!({
            "merged": p.merged.is_some(),
            "merged_at": ts_opt(p.merged.as_ref().map(|m| m.at)),
            "draft": p.draft,
            "html_url": issue_html(view, r, i),
        }),
        None => Value::Null,
    };
    json!({
        "id": i.id,
        "url": format!("{}/issues/{}", view.repo_api(&r.full_name()), i.number),
        "html_url": issue_html(view, r, i),
        "number": i.number,
        "user": user_by_id(view, i.author),
        "original_author": "",
        "original_author_id": 0,
        "title": i.title,
        "body": i.body,
        "ref": "",
        "assets": [],
        "labels": labels_of(view, r, i),
        "milestone": milestone_of(r, i),
        "assignee": assignee,
        "assignees": assignees,
        "state": if i.closed { "closed" } else { "open" },
        "is_locked": i.locked,
        "comments": i.comments.len(),
        "created_at": ts(i.created),
        "updated_at": ts(i.updated),
        "closed_at": ts_opt(i.closed_at),
        "due_date": ts_opt(i.due),
        "time_estimate": 0,
        "pull_request": pull_request,
        "repository": {
            "id": r.id,
            "name": r.name,
            "owner": r.owner_name,
            "full_name": r.full_name(),
        },
        "pin_order": 0,
        "content_version": 0,
    })
}

pub fn comment(view: &View, r: &Repo, i: &Issue, c: &Comment) -> Value {
    let html = issue_html(view, r, i);
    let (issue_url, pull_url) = if i.pull.is_some() {
        (String::new(), html.clone())
    } else {
        (html.clone(), String::new())
    };
    json!({
        "id": c.id,
        "html_url": format!("{html}#issuecomment-{}", c.id),
        "pull_request_url": pull_url,
        "issue_url": issue_url,
        "user": user_by_id(view, c.author),
        "original_author": "",
        "original_author_id": 0,
        "body": c.body,
        "assets": [],
        "created_at": ts(c.created),
        "updated_at": ts(c.updated),
    })
}

fn branch_info(
    view: &View,
    r: &Repo,
    mode: AccessMode,
    name: &str,
    r#ref: &str,
    sha: Oid,
) -> Value {
    json!({
        "label": name,
        "ref": r#ref,
        "sha": sha.hex(),
        "repo_id": r.id,
        "repo": repo_json(view, r, mode),
    })
}

/// `convert.ToAPIPullRequest`; `stats` are the pull's diff totals (additions, deletions, files).
pub fn pull(
    view: &View,
    r: &Repo,
    i: &Issue,
    p: &PullInfo,
    mode: AccessMode,
    stats: (usize, usize, usize),
) -> Value {
    let (assignee, assignees) = assignees_of(view, i);
    let html = issue_html(view, r, i);
    let base_sha = r
        .git
        .branches
        .get(&p.base_branch)
        .copied()
        .unwrap_or(p.merge_base);
    let head_ref = if r.git.branches.contains_key(&p.head_branch) {
        p.head_branch.clone()
    } else {
        format!("refs/pull/{}/head", i.number)
    };
    let merged = p.merged.as_ref();
    json!({
        "id": p.id,
        "url": html,
        "number": i.number,
        "user": user_by_id(view, i.author),
        "title": i.title,
        "body": i.body,
        "labels": labels_of(view, r, i),
        "milestone": milestone_of(r, i),
        "assignee": assignee,
        "assignees": assignees,
        "requested_reviewers": [],
        "requested_reviewers_teams": [],
        "state": if i.closed { "closed" } else { "open" },
        "draft": p.draft,
        "is_locked": i.locked,
        "comments": i.comments.len(),
        "review_comments": 0,
        "additions": stats.0,
        "deletions": stats.1,
        "changed_files": stats.2,
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "mergeable": p.mergeable && merged.is_none() && !i.closed,
        "merged": merged.is_some(),
        "merged_at": ts_opt(merged.map(|m| m.at)),
        "merge_commit_sha": merged.and_then(|m| m.commit).map_or(Value::Null, |c| json!(c.hex())),
        "merged_by": merged.map_or(Value::Null, |m| user_by_id(view, m.by)),
        "allow_maintainer_edit": false,
        "base": branch_info(view, r, mode, &p.base_branch, &p.base_branch, base_sha),
        "head": branch_info(view, r, mode, &p.head_branch, &head_ref, p.head),
        "merge_base": p.merge_base.hex(),
        "due_date": ts_opt(i.due),
        "created_at": ts(i.created),
        "updated_at": ts(i.updated),
        "closed_at": ts_opt(i.closed_at),
        "pin_order": 0,
    })
}

/// `convert.ToChangedFile`.
pub fn changed_file(view: &View, r: &Repo, head: Oid, change: &FileChange, d: &FileDiff) -> Value {
    let path = escape_segments(&change.path);
    let full = r.full_name();
    json!({
        "filename": change.path,
        "status": change.changed_file_status(),
        "additions": d.additions,
        "deletions": d.deletions,
        "changes": d.additions + d.deletions,
        "html_url": view.html(&format!("/{full}/src/commit/{head}/{path}")),
        "contents_url": format!("{}/contents/{path}?ref={head}", view.repo_api(&full)),
        "raw_url": view.html(&format!("/{full}/raw/commit/{head}/{path}")),
    })
}

pub fn release(view: &View, r: &Repo, rel: &Release) -> Value {
    let full = r.full_name();
    let api = view.repo_api(&full);
    let tag = path_escape(&rel.tag);
    json!({
        "id": rel.id,
        "tag_name": rel.tag,
        "target_commitish": rel.target,
        "name": rel.name,
        "body": rel.body,
        "url": format!("{api}/releases/{}", rel.id),
        "html_url": view.html(&format!("/{full}/releases/tag/{tag}")),
        "tarball_url": view.html(&format!("/{full}/archive/{tag}.tar.gz")),
        "zipball_url": view.html(&format!("/{full}/archive/{tag}.zip")),
        "upload_url": format!("{api}/releases/{}/assets", rel.id),
        "draft": rel.draft,
        "prerelease": rel.prerelease,
        "created_at": ts(rel.created),
        "published_at": ts(rel.created),
        "author": user_by_id(view, rel.author),
        "assets": [],
    })
}

pub fn commit_status(view: &View, r: &Repo, s: &CommitStatus) -> Value {
    json!({
        "id": s.id,
        "status": s.state,
        "target_url": s.target_url,
        "description": s.description,
        "url": format!("{}/statuses/{}", view.repo_api(&r.full_name()), s.commit),
        "context": s.context,
        "creator": user_by_id(view, s.creator),
        "created_at": ts(s.created),
        "updated_at": ts(s.created),
    })
}

/// Lower is worse (`commitStatusPriorities`); the combined state is the worst one.
fn priority(state: &str) -> u8 {
    match state {
        "error" => 0,
        "failure" => 1,
        "warning" => 2,
        "pending" => 3,
        "success" => 4,
        _ => 5,
    }
}

/// `convert.ToCombinedStatus` over the latest status of each context (already paginated).
pub fn combined_status(
    view: &View,
    r: &Repo,
    mode: AccessMode,
    sha: Oid,
    latest: &[&CommitStatus],
    total: usize,
) -> Value {
    let state = latest
        .iter()
        .map(|s| s.state.as_str())
        .min_by_key(|s| priority(s))
        .unwrap_or("");
    json!({
        "state": state,
        "sha": sha.hex(),
        "total_count": total,
        "statuses": latest.iter().map(|s| commit_status(view, r, s)).collect::<Vec<_>>(),
        "repository": repo_json(view, r, mode),
        "commit_url": "",
        "url": "",
    })
}
