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

/// A login and display name.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq, Default)]
pub struct UserRef {
    pub login: String,
}

/// A commit, as listed.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Author date, RFC 3339
    pub date: String,
    /// Gitea login of the author, when the email maps to a user
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_login: Option<String>,
    pub parents: Vec<String>,
    pub html_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<CommitStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<CommitFile>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CommitStats {
    pub additions: i64,
    pub deletions: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CommitFile {
    pub filename: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Branch {
    pub name: String,
    pub commit_sha: String,
    pub commit_message: String,
    pub protected: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub commit_sha: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ReleaseAsset {
    pub name: String,
    pub size: i64,
    pub download_url: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Release {
    pub id: i64,
    pub tag_name: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
    pub target_commitish: String,
    pub author: String,
    pub created_at: String,
    pub published_at: String,
    pub html_url: String,
    pub assets: Vec<ReleaseAsset>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Label {
    pub id: i64,
    pub name: String,
    /// Hex colour without `#`, as Gitea stores it
    pub color: String,
    pub description: String,
    pub exclusive: bool,
    pub is_archived: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Milestone {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `open` or `closed`
    pub state: String,
    pub open_issues: i64,
    pub closed_issues: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_on: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

/// A milestone as referenced from an issue.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct MilestoneRef {
    pub id: i64,
    pub title: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Issue {
    pub number: i64,
    pub title: String,
    pub body: String,
    /// `open` or `closed`
    pub state: String,
    pub author: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone: Option<MilestoneRef>,
    pub comments: i64,
    pub is_pull_request: bool,
    pub is_locked: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub html_url: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct BranchRef {
    /// Branch name
    #[serde(rename = "ref")]
    pub reference: String,
    pub sha: String,
    /// `owner/repo` the branch lives in
    pub repository: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PullRequest {
    pub number: i64,
    pub title: String,
    pub body: String,
    /// `open` or `closed`
    pub state: String,
    pub author: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone: Option<MilestoneRef>,
    pub head: BranchRef,
    pub base: BranchRef,
    pub draft: bool,
    pub merged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mergeable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<String>,
    pub additions: i64,
    pub deletions: i64,
    pub changed_files: i64,
    pub comments: i64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub html_url: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub html_url: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct ChangedFile {
    pub filename: String,
    /// `added`, `modified`, `deleted`, `renamed`, ...
    pub status: String,
    pub additions: i64,
    pub deletions: i64,
    pub changes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_filename: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CommitStatus {
    pub context: String,
    /// `pending`, `success`, `error`, `failure` or `warning`
    pub status: String,
    pub description: String,
    pub target_url: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct CombinedStatus {
    pub sha: String,
    /// The combined state over every context
    pub state: String,
    pub total_count: i64,
    pub statuses: Vec<CommitStatus>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub full_name: String,
    pub description: String,
    pub visibility: String,
    pub website: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Comparison {
    pub total_commits: i64,
    pub commits: Vec<Commit>,
}
