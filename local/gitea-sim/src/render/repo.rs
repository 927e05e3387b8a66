//! `Repository` JSON (`convert.ToRepo`).

use serde_json::{json, Value};

use super::user::{org_as_user, user};
use super::{ts, View, GO_ZERO_TIME};
use crate::model::{AccessMode, Repo};

pub fn owner(view: &View, r: &Repo) -> Value {
    if let Some(o) = view.world.org(r.owner_id) {
        return org_as_user(view, o);
    }
    view.world
        .user(r.owner_id)
        .map_or(Value::Null, |u| user(view, u))
}

/// The language with the most bytes, or "".
pub fn primary_language(r: &Repo) -> String {
    r.languages
        .iter()
        .max_by_key(|(name, bytes)| (**bytes, std::cmp::Reverse((*name).clone())))
        .map(|(name, _)| name.clone())
        .unwrap_or_default()
}

pub fn repo(view: &View, r: &Repo, mode: AccessMode) -> Value {
    let full = r.full_name();
    let host = view
        .base
        .split("://")
        .nth(1)
        .unwrap_or(view.base)
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost");
    let open_issues = r
        .issues
        .iter()
        .filter(|i| i.pull.is_none() && !i.closed)
        .count();
    let open_pulls = r
        .issues
        .iter()
        .filter(|i| i.pull.is_some() && !i.closed)
        .count();
    let releases = r.releases.iter().filter(|x| !x.draft).count();
    let watchers = view
        .world
        .org(r.owner_id)
        .map_or(1, |o| o.members.len().max(1));
    json!({
        "id": r.id,
        "owner": owner(view, r),
        "name": r.name,
        "full_name": full,
        "description": r.description,
        "empty": r.git.is_empty(),
        "private": r.private,
        "fork": false,
        "template": r.template,
        "mirror": false,
        "size": r.size_kib(),
        "language": primary_language(r),
        "languages_url": view.api(&format!("/repos/{full}/languages")),
        "html_url": view.html(&format!("/{full}")),
        "url": view.repo_api(&full),
        "link": "",
        "ssh_url": format!("git@{host}:{full}.git"),
        "clone_url": view.html(&format!("/{full}.git")),
        "original_url": "",
        "website": r.website,
        "stars_count": r.stars,
        "forks_count": 0,
        "watchers_count": watchers,
        "open_issues_count": open_issues,
        "open_pr_counter": open_pulls,
        "release_counter": releases,
        "default_branch": r.default_branch,
        "branch_count": r.git.branches.len(),
        "archived": r.archived,
        "created_at": ts(r.created),
        "updated_at": ts(r.updated),
        "archived_at": "1970-01-01T00:00:00Z",
        "permissions": {
            "admin": mode >= AccessMode::Admin,
            "push": mode >= AccessMode::Write,
            "pull": mode >= AccessMode::Read,
        },
        "has_code": true,
        "has_issues": true,
        "internal_tracker": {
            "enable_time_tracker": true,
            "allow_only_contributors_to_track_time": true,
            "enable_issue_dependencies": true,
        },
        "has_wiki": true,
        "has_pull_requests": true,
        "has_projects": true,
        "projects_mode": "all",
        "has_releases": true,
        "has_packages": true,
        "has_actions": true,
        "ignore_whitespace_conflicts": false,
        "allow_merge_commits": true,
        "allow_rebase": true,
        "allow_rebase_explicit": true,
        "allow_squash_merge": true,
        "allow_fast_forward_only_merge": true,
        "allow_rebase_update": true,
        "allow_manual_merge": false,
        "autodetect_manual_merge": false,
        "default_delete_branch_after_merge": false,
        "default_merge_style": "merge",
        "default_update_style": "merge",
        "default_allow_maintainer_edit": false,
        "avatar_url": "",
        "internal": false,
        "mirror_interval": "",
        "object_format_name": "sha1",
        "mirror_updated": GO_ZERO_TIME,
        "topics": r.topics,
        "licenses": [],
    })
}
