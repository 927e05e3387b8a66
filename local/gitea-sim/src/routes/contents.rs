//! File endpoints: `/contents` (root), `/contents/{filepath}`, `/raw/{filepath}`.

use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde_json::Value;
use time::macros::format_description;
use time::UtcOffset;

use super::{ok, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::model::git::{EntryMode, Resolved};
use crate::model::Repo;
use crate::render::git::contents;

/// `files_service.CleanGitTreePath`: a clean relative path; `None` when it names `.git`.
pub fn clean_tree_path(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.iter().any(|p| p.eq_ignore_ascii_case(".git")) {
        return None;
    }
    Some(parts.join("/"))
}

/// A `ref` query value, or the default branch when it is empty; unknown refs are 404.
pub fn resolve_ref(repo: &Repo, rev: &str) -> Result<Resolved, ApiError> {
    let rev = if rev.is_empty() {
        repo.default_branch.as_str()
    } else {
        rev
    };
    repo.git.resolve(rev).ok_or_else(ApiError::not_found)
}

fn listing(ctx: &Ctx, raw_path: &str) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    let path = clean_tree_path(raw_path).ok_or_else(ApiError::not_found)?;
    if repo.git.is_empty() && path.is_empty() {
        return ok(Value::Array(Vec::new()));
    }
    let at = resolve_ref(repo, ctx.query.str("ref"))?;
    let commit = repo
        .git
        .commit_by_id(&at.commit)
        .ok_or_else(ApiError::not_found)?;
    let entry = repo
        .git
        .entry_at(commit, &path)
        .ok_or_else(ApiError::not_found)?;
    let view = ctx.view(&world);
    if !entry.mode.is_tree() {
        return ok(contents(&view, repo, &at, &path, &entry, true));
    }
    let children = repo.git.tree(&entry.oid).unwrap_or_default();
    let items: Vec<Value> = children
        .iter()
        .map(|e| {
            let child_path = if path.is_empty() {
                e.name.clone()
            } else {
                format!("{path}/{}", e.name)
            };
            let child = crate::model::git::PathEntry {
                name: e.name.clone(),
                mode: e.mode,
                oid: e.oid,
            };
            contents(&view, repo, &at, &child_path, &child, false)
        })
        .collect();
    ok(Value::Array(items))
}

pub async fn root(ctx: Ctx) -> ApiResult {
    listing(&ctx, "")
}

pub async fn path(ctx: Ctx) -> ApiResult {
    let raw = ctx.param("filepath").to_string();
    listing(&ctx, &raw)
}

/// `RepoRefForAPI` without `?ref=`: a leading branch, tag or commit id in the path, else the default branch.
fn ref_from_path(repo: &Repo, raw: &str) -> Option<(Resolved, String)> {
    let parts: Vec<&str> = raw.split('/').collect();
    for i in (1..parts.len()).rev() {
        let candidate = parts[..i].join("/");
        let found = repo
            .git
            .branches
            .contains_key(&candidate)
            .then(|| repo.git.resolve(&candidate))
            .flatten()
            .or_else(|| {
                repo.git
                    .tags
                    .contains_key(&candidate)
                    .then(|| repo.git.resolve(&candidate))
                    .flatten()
            })
            .or_else(|| {
                (candidate.len() == 40)
                    .then(|| repo.git.resolve(&candidate))
                    .flatten()
            });
        if let Some(found) = found {
            return Some((found, parts[i..].join("/")));
        }
    }
    None
}

fn http_date(t: time::OffsetDateTime) -> String {
    let fmt = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(UtcOffset::UTC).format(fmt).unwrap_or_default()
}

/// What Gitea's type sniffer would answer for a blob.
fn content_type(data: &[u8]) -> &'static str {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if data.starts_with(b"GIF8") {
        "image/gif"
    } else if data.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if !crate::model::diff::is_binary(data) && std::str::from_utf8(data).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

pub async fn raw(ctx: Ctx) -> ApiResult {
    let world = ctx.state.world();
    let (repo, _) = ctx.repo(&world)?;
    if repo.git.is_empty() {
        return Err(ApiError::not_found());
    }
    let raw = ctx.param("filepath");
    let explicit = ctx.query.str("ref");
    let (at, path) = if !explicit.is_empty() {
        (resolve_ref(repo, explicit)?, raw.to_string())
    } else {
        match ref_from_path(repo, raw) {
            Some(found) => found,
            None => (resolve_ref(repo, "")?, raw.to_string()),
        }
    };
    let path = clean_tree_path(&path).ok_or_else(ApiError::not_found)?;
    let commit = repo
        .git
        .commit_by_id(&at.commit)
        .ok_or_else(ApiError::not_found)?;
    let entry = repo
        .git
        .entry_at(commit, &path)
        .filter(|e| !e.mode.is_tree() && !path.is_empty())
        .ok_or_else(ApiError::not_found)?;
    let data = repo
        .git
        .blob(&entry.oid)
        .ok_or_else(ApiError::not_found)?
        .clone();
    let last_modified = repo
        .git
        .last_commit_for_path(at.commit, &path)
        .and_then(|oid| repo.git.commit_by_id(&oid))
        .map(|c| http_date(c.committer.when));
    let kind = if entry.mode == EntryMode::Symlink {
        "symlink"
    } else {
        "file"
    };
    let mime = content_type(&data);
    let disposition = if mime.starts_with("text/") || mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let mut response = Response::new(Body::from(data.to_vec()));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let mut put = |name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put(header::CONTENT_TYPE, mime.to_string());
    put(
        header::CONTENT_DISPOSITION,
        format!(
            "{disposition}; filename=\"{}\"",
            entry.name.replace('"', "")
        ),
    );
    put(header::ETAG, format!("\"{}\"", entry.oid));
    put(header::CACHE_CONTROL, "private, max-age=300".to_string());
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string());
    put(
        header::HeaderName::from_static("x-gitea-object-type"),
        kind.to_string(),
    );
    if let Some(date) = last_modified {
        put(header::LAST_MODIFIED, date);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_paths_are_cleaned_like_gitea() {
        let cases = [
            ("", Some("")),
            (".", Some("")),
            ("/src//main.rs", Some("src/main.rs")),
            ("src/../README.md", Some("README.md")),
            ("../../etc/passwd", Some("etc/passwd")),
            (".git/config", None),
            ("a/.GIT/x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_tree_path(raw).as_deref(), want, "{raw}");
        }
    }
}
