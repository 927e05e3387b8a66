//! Domain types the tools see: only the fields a model needs, in stable shapes.

use schemars::JsonSchema;
use serde::Serialize;

/// A Gitea user (the credential's owner).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub is_admin: bool,
}

/// A repository's metadata.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Repository {
    /// `owner/name`
    pub full_name: String,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub fork: bool,
    pub archived: bool,
    pub empty: bool,
    pub default_branch: String,
    pub html_url: String,
    pub clone_url: String,
    pub language: String,
    pub stars_count: i64,
    pub forks_count: i64,
    pub open_issues_count: i64,
    pub open_pr_counter: i64,
    pub release_counter: i64,
    /// Size in KiB, as Gitea reports it
    pub size: i64,
    pub created_at: String,
    pub updated_at: String,
    pub topics: Vec<String>,
    /// What the credential may do here (`admin`, `push`, `pull`), when Gitea says
    pub permissions: Option<RepoPermissions>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct RepoPermissions {
    pub admin: bool,
    pub push: bool,
    pub pull: bool,
}

/// Which part of a git tree to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRequest {
    /// Branch, tag or commit sha
    pub reference: String,
    pub recursive: bool,
    pub page: u32,
    /// Gitea's git-tree page size (up to 1000)
    pub per_page: u32,
}

/// One page of a git tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub sha: String,
    pub entries: Vec<TreeEntry>,
    /// Gitea cut the tree at its own limit
    pub truncated: bool,
    pub page: u32,
    pub total_count: u64,
}

/// One entry of a git tree.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct TreeEntry {
    pub path: String,
    /// `blob`, `tree` or `commit` (a submodule)
    #[serde(rename = "type")]
    pub kind: String,
    pub mode: String,
    pub sha: String,
    /// Size in bytes (blobs only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// What `contents/{path}` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    File(FileContent),
    Directory(Vec<ContentEntry>),
    /// A symlink or submodule
    Other(ContentEntry),
}

/// A file's metadata and bytes (already size-checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub path: String,
    pub name: String,
    pub sha: String,
    pub size: u64,
    pub html_url: Option<String>,
    pub bytes: Vec<u8>,
}

/// An entry of a directory listing.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ContentEntry {
    pub name: String,
    pub path: String,
    /// `file`, `dir`, `symlink` or `submodule`
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    pub sha: String,
}
