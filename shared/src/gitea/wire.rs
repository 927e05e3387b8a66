//! Gitea's JSON as it arrives. Private to the client: converted to domain types at once.
//!
//! Fields Gitea may send as `null` or leave out are `Option`/`default`, so an older or newer
//! Gitea that omits one still decodes.

use base64::Engine;
use serde::Deserialize;

use super::types;
use super::GiteaError;

#[derive(Debug, Deserialize)]
pub(super) struct ApiError {
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Version {
    pub version: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub id: i64,
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub is_admin: bool,
}

impl From<User> for types::User {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            login: u.login,
            full_name: u.full_name,
            is_admin: u.is_admin,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Permission {
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub pull: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Repository {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub name: String,
    pub owner: Option<User>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub empty: bool,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub clone_url: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub stars_count: i64,
    #[serde(default)]
    pub forks_count: i64,
    #[serde(default)]
    pub open_issues_count: i64,
    #[serde(default)]
    pub open_pr_counter: i64,
    #[serde(default)]
    pub release_counter: i64,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    #[serde(default)]
    pub permissions: Option<Permission>,
}

impl From<Repository> for types::Repository {
    fn from(r: Repository) -> Self {
        let owner = r.owner.map(|o| o.login).unwrap_or_else(|| {
            r.full_name
                .split_once('/')
                .map(|(o, _)| o.to_string())
                .unwrap_or_default()
        });
        Self {
            full_name: r.full_name,
            owner,
            name: r.name,
            description: r.description.unwrap_or_default(),
            private: r.private,
            fork: r.fork,
            archived: r.archived,
            empty: r.empty,
            default_branch: r.default_branch.unwrap_or_default(),
            html_url: r.html_url.unwrap_or_default(),
            clone_url: r.clone_url.unwrap_or_default(),
            language: r.language.unwrap_or_default(),
            stars_count: r.stars_count,
            forks_count: r.forks_count,
            open_issues_count: r.open_issues_count,
            open_pr_counter: r.open_pr_counter,
            release_counter: r.release_counter,
            size: r.size,
            created_at: r.created_at.unwrap_or_default(),
            updated_at: r.updated_at.unwrap_or_default(),
            topics: r.topics.unwrap_or_default(),
            permissions: r.permissions.map(|p| types::RepoPermissions {
                admin: p.admin,
                push: p.push,
                pull: p.pull,
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TreeEntry {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Tree {
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub tree: Option<Vec<TreeEntry>>,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub total_count: u64,
}

impl From<Tree> for types::Tree {
    fn from(t: Tree) -> Self {
        Self {
            sha: t.sha,
            entries: t
                .tree
                .unwrap_or_default()
                .into_iter()
                .map(|e| types::TreeEntry {
                    size: if e.kind == "blob" { e.size } else { None },
                    path: e.path,
                    kind: e.kind,
                    mode: e.mode,
                    sha: e.sha,
                })
                .collect(),
            truncated: t.truncated,
            page: t.page,
            total_count: t.total_count,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ContentsEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

impl ContentsEntry {
    /// Decodes `content` (base64, possibly wrapped in newlines as Gitea may send it).
    pub fn decode_content(&self) -> Result<Vec<u8>, GiteaError> {
        let Some(content) = &self.content else {
            return Ok(Vec::new());
        };
        match self.encoding.as_deref() {
            Some("base64") | None => {
                let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| GiteaError::Decode(format!("file content: {e}")))
            }
            Some(other) => Err(GiteaError::Decode(format!(
                "unsupported content encoding `{other}`"
            ))),
        }
    }
}

impl From<ContentsEntry> for types::ContentEntry {
    fn from(e: ContentsEntry) -> Self {
        Self {
            name: e.name,
            path: e.path,
            kind: e.kind,
            size: e.size,
            sha: e.sha,
        }
    }
}
