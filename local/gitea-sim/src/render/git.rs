//! Git JSON: `Commit`, `PayloadCommit`, `Branch`, `Tag`, `ContentsResponse` (`services/convert`, `services/repository/files`).

use base64::Engine;
use serde_json::{json, Value};

use super::user::user;
use super::{escape_segments, path_escape, ts, View, GO_ZERO_TIME};
use crate::model::diff;
use crate::model::git::{Commit, EntryMode, PathEntry, Resolved, Tag};
use crate::model::{AccessMode, Repo};

/// Which optional parts of a `Commit` to include (`stat`, `verification`, `files` query flags).
#[derive(Clone, Copy, Debug)]
pub struct CommitOpts {
    pub stat: bool,
    pub verification: bool,
    pub files: bool,
}

impl Default for CommitOpts {
    fn default() -> Self {
        CommitOpts {
            stat: true,
            verification: true,
            files: true,
        }
    }
}

/// What Gitea reports for an unsigned commit.
pub fn unsigned_verification() -> Value {
    json!({
        "verified": false,
        "reason": "gpg.error.not_signed_commit",
        "signature": "",
        "signer": null,
        "payload": "",
    })
}

fn user_by_email(view: &View, email: &str) -> Value {
    view.world
        .user_by_email(email)
        .map_or(Value::Null, |u| user(view, u))
}

pub fn commit(view: &View, r: &Repo, c: &Commit, opts: CommitOpts) -> Value {
    let api = view.repo_api(&r.full_name());
    let sha = c.oid.hex();
    let parents: Vec<Value> = c
        .parents
        .iter()
        .map(|p| {
            json!({
                "url": format!("{api}/git/commits/{p}"),
                "sha": p.hex(),
                "created": GO_ZERO_TIME,
            })
        })
        .collect();
    let mut out = json!({
        "url": format!("{api}/git/commits/{sha}"),
        "sha": sha,
        "created": ts(c.committer.when),
        "html_url": view.html(&format!("/{}/commit/{sha}", r.full_name())),
        "commit": {
            "url": format!("{api}/git/commits/{sha}"),
            "author": {"name": c.author.name, "email": c.author.email, "date": ts(c.author.when)},
            "committer": {"name": c.committer.name, "email": c.committer.email, "date": ts(c.committer.when)},
            "message": c.message,
            // Gitea fills the tree meta with the commit id, not the tree id
            "tree": {"url": format!("{api}/git/trees/{sha}"), "sha": sha, "created": ts(c.committer.when)},
            "verification": if opts.verification { unsigned_verification() } else { Value::Null },
        },
        "author": user_by_email(view, &c.author.email),
        "committer": user_by_email(view, &c.committer.email),
        "parents": parents,
        "files": Value::Null,
        "stats": Value::Null,
    });
    if opts.files || opts.stat {
        let changes = r.git.commit_changes(c);
        if opts.files {
            out["files"] = changes
                .iter()
                .map(|ch| json!({"filename": ch.path, "status": ch.commit_status()}))
                .collect();
        }
        if opts.stat {
            let (additions, deletions) = diff::stats(&r.git, &changes);
            out["stats"] = json!({
                "total": additions + deletions,
                "additions": additions,
                "deletions": deletions,
            });
        }
    }
    out
}

/// `convert.ToPayloadCommit`, used by branches.
pub fn payload_commit(view: &View, r: &Repo, c: &Commit) -> Value {
    let username = |email: &str| {
        view.world
            .user_by_email(email)
            .map_or(String::new(), |u| u.login.clone())
    };
    json!({
        "id": c.oid.hex(),
        "message": c.message,
        "url": view.html(&format!("/{}/commit/{}", r.full_name(), c.oid)),
        "author": {"name": c.author.name, "email": c.author.email, "username": username(&c.author.email)},
        "committer": {"name": c.committer.name, "email": c.committer.email, "username": username(&c.committer.email)},
        "verification": unsigned_verification(),
        "timestamp": ts(c.author.when),
        "added": null,
        "removed": null,
        "modified": null,
    })
}

pub fn branch(view: &View, r: &Repo, name: &str, c: &Commit, mode: AccessMode) -> Value {
    json!({
        "name": name,
        "commit": payload_commit(view, r, c),
        "protected": false,
        "required_approvals": 0,
        "enable_status_check": false,
        "status_check_contexts": [],
        "user_can_push": mode >= AccessMode::Write,
        "user_can_merge": mode >= AccessMode::Write,
        "effective_branch_protection_name": "",
    })
}

/// `convert.ToTag`.
pub fn tag(view: &View, r: &Repo, t: &Tag) -> Value {
    let full = r.full_name();
    let commit = r.git.commit_by_id(&t.commit);
    let (id, message) = match (&t.annotation, commit) {
        (Some(a), _) => (a.oid, a.message.trim().to_string()),
        (None, Some(c)) => (c.oid, c.message.trim().to_string()),
        (None, None) => (t.commit, String::new()),
    };
    json!({
        "name": t.name,
        "message": message,
        "id": id.hex(),
        "commit": {
            "sha": t.commit.hex(),
            // Gitea links the tag object id here, as it does upstream
            "url": format!("{}/git/commits/{id}", view.repo_api(&full)),
            "created": commit.map_or(GO_ZERO_TIME.to_string(), |c| ts(c.committer.when)),
        },
        "zipball_url": view.html(&format!("/{full}/archive/{}.zip", path_escape(&t.name))),
        "tarball_url": view.html(&format!("/{full}/archive/{}.tar.gz", path_escape(&t.name))),
    })
}

/// `files_service.getFileContentsByEntryInternal` with commit metadata, as `GET /contents` uses it.
pub fn contents(
    view: &View,
    r: &Repo,
    at: &Resolved,
    path: &str,
    entry: &PathEntry,
    with_content: bool,
) -> Value {
    let api = view.repo_api(&r.full_name());
    let html = view.html(&format!("/{}", r.full_name()));
    let self_url = format!(
        "{api}/contents/{}?ref={}",
        escape_segments(path),
        super::super::pagination::go_query_escape(&at.name)
    );
    let git_url = format!("{api}/git/blobs/{}", entry.oid);
    let html_url = format!("{html}/src/{}/{}", at.web_path(), escape_segments(path));
    let last = r.git.last_commit_for_path(at.commit, path);
    let last_commit = last.and_then(|oid| r.git.commit_by_id(&oid));
    let size = r.git.entry_size(entry.mode, &entry.oid);
    let blob = r.git.blob(&entry.oid);
    let kind = match entry.mode {
        EntryMode::Tree => "dir",
        EntryMode::Symlink => "symlink",
        EntryMode::Blob | EntryMode::Exec => "file",
    };
    let mut out = json!({
        "name": entry.name,
        "path": path,
        "sha": entry.oid.hex(),
        "type": kind,
        "size": size,
        "encoding": null,
        "content": null,
        "target": null,
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": null,
        "submodule_git_url": null,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    });
    if let Some(c) = last_commit {
        out["last_commit_sha"] = json!(c.oid.hex());
        out["last_committer_date"] = json!(ts(c.committer.when));
        out["last_author_date"] = json!(ts(c.author.when));
    }
    match entry.mode {
        EntryMode::Blob | EntryMode::Exec => {
            if with_content {
                let data: &[u8] = blob.map_or(&[], |b| &b[..]);
                out["encoding"] = json!("base64");
                out["content"] = json!(base64::engine::general_purpose::STANDARD.encode(data));
            }
        }
        EntryMode::Symlink => {
            let data: &[u8] = blob.map_or(&[], |b| &b[..]);
            let end = data.len().min(1024);
            out["target"] = json!(String::from_utf8_lossy(&data[..end]));
        }
        EntryMode::Tree => {}
    }
    if !entry.mode.is_tree() {
        out["download_url"] = json!(format!(
            "{html}/raw/{}/{}",
            at.web_path(),
            escape_segments(path)
        ));
    }
    out
}
