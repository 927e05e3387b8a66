//! Gitea's JSON as it arrives. Private to the client: converted to domain types at once.
//!
//! The decoding contract (tested field by field against the vendored swagger by
//! `tests/it/decoding.rs`): Gitea's Go structs send `null` for empty slices and nil
//! pointers, and versions differ in what they omit, so every field that is not
//! *identifying* is an `Option` (or a fallback) and accepts both `null` and absence. The
//! identifying fields are plain, so a body of the wrong shape is an error rather than an
//! empty success: a `/git/refs/tags` body on `/tags` has no tag `name`, a `milestone: {}`
//! has no `id`. They are listed in [`IDENTIFYING_FIELDS`], by swagger definition.
//! Fallbacks: a user's `username` stands in for `login` (older Gitea, Gogs); a
//! repository's owner and name come from `full_name` and the other way round; counts
//! come from list lengths when the total is missing.

use base64::Engine;
use serde::Deserialize;

use super::types;
use super::GiteaError;

/// The fields each Gitea object must carry, by swagger definition name (a `a|b` entry is
/// satisfied by either field). Everything else may be `null` or absent.
pub const IDENTIFYING_FIELDS: &[(&str, &[&str])] = &[
    ("ServerVersion", &["version"]),
    ("Repository", &["full_name|name"]),
    ("GitTreeResponse", &["sha"]),
    ("GitEntry", &["path", "sha"]),
    ("ContentsResponse", &["path", "type"]),
    ("GitBlobResponse", &["sha"]),
    ("RepoCollaboratorPermission", &["permission"]),
    ("Commit", &["sha"]),
    ("CommitMeta", &["sha"]),
    ("CommitAffectedFiles", &["filename"]),
    ("Branch", &["name"]),
    ("PayloadCommit", &["id"]),
    ("Tag", &["name"]),
    ("Release", &["id", "tag_name"]),
    ("Attachment", &["name"]),
    ("Label", &["id", "name"]),
    ("Milestone", &["id", "title"]),
    ("Issue", &["number"]),
    ("PullRequest", &["number"]),
    ("PRBranchInfo", &["ref"]),
    ("Comment", &["id"]),
    ("ChangedFile", &["filename"]),
    ("CombinedStatus", &["sha"]),
    ("Organization", &["id", "name|username"]),
];

fn s(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn n(v: Option<i64>) -> i64 {
    v.unwrap_or_default()
}

fn b(v: Option<bool>) -> bool {
    v.unwrap_or_default()
}

fn list<T>(v: Option<Vec<T>>) -> Vec<T> {
    v.unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiError {
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Version {
    pub version: String,
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct User {
    pub id: Option<i64>,
    pub login: Option<String>,
    /// What older Gitea and Gogs call the login
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub is_admin: Option<bool>,
}

impl User {
    /// `login`, else `username`; empty when the object names nobody (`author: {}`).
    pub fn login(&self) -> String {
        [&self.login, &self.username]
            .into_iter()
            .flatten()
            .find(|l| !l.is_empty())
            .cloned()
            .unwrap_or_default()
    }
}

impl From<User> for types::User {
    fn from(u: User) -> Self {
        Self {
            login: u.login(),
            id: n(u.id),
            full_name: s(u.full_name),
            is_admin: b(u.is_admin),
        }
    }
}

fn login(u: &Option<User>) -> String {
    u.as_ref().map(User::login).unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub(super) struct Permission {
    pub admin: Option<bool>,
    pub push: Option<bool>,
    pub pull: Option<bool>,
}

/// A repository as sent; becomes a [`Repository`] once it names one.
#[derive(Debug, Deserialize)]
pub(super) struct RepositoryFields {
    full_name: Option<String>,
    name: Option<String>,
    owner: Option<User>,
    description: Option<String>,
    private: Option<bool>,
    fork: Option<bool>,
    archived: Option<bool>,
    empty: Option<bool>,
    default_branch: Option<String>,
    html_url: Option<String>,
    clone_url: Option<String>,
    language: Option<String>,
    stars_count: Option<i64>,
    forks_count: Option<i64>,
    open_issues_count: Option<i64>,
    open_pr_counter: Option<i64>,
    release_counter: Option<i64>,
    size: Option<i64>,
    created_at: Option<String>,
    updated_at: Option<String>,
    topics: Option<Vec<String>>,
    permissions: Option<Permission>,
}

/// A repository that names itself: `full_name`, or an owner and a `name` to build it from.
#[derive(Debug, Deserialize)]
#[serde(try_from = "RepositoryFields")]
pub(super) struct Repository(types::Repository);

impl TryFrom<RepositoryFields> for Repository {
    type Error = String;

    fn try_from(r: RepositoryFields) -> Result<Self, String> {
        let full = r.full_name.filter(|f| f.contains('/'));
        let owner_login = r.owner.as_ref().map(User::login).filter(|l| !l.is_empty());
        let name = r.name.filter(|n| !n.is_empty());
        let (full_name, owner, name) =
            match (full, owner_login, name) {
                (Some(full), owner, name) => {
                    let (o, n) = full.split_once('/').unwrap_or_default();
                    let owner = owner.unwrap_or_else(|| o.to_string());
                    let name = name.unwrap_or_else(|| n.to_string());
                    (full, owner, name)
                }
                (None, Some(owner), Some(name)) => (format!("{owner}/{name}"), owner, name),
                _ => return Err(
                    "missing field `full_name` (and no `owner.login` and `name` to build it from)"
                        .into(),
                ),
            };
        Ok(Self(types::Repository {
            full_name,
            owner,
            name,
            description: s(r.description),
            private: b(r.private),
            fork: b(r.fork),
            archived: b(r.archived),
            empty: b(r.empty),
            default_branch: s(r.default_branch),
            html_url: s(r.html_url),
            clone_url: s(r.clone_url),
            language: s(r.language),
            stars_count: n(r.stars_count),
            forks_count: n(r.forks_count),
            open_issues_count: n(r.open_issues_count),
            open_pr_counter: n(r.open_pr_counter),
            release_counter: n(r.release_counter),
            size: n(r.size),
            created_at: s(r.created_at),
            updated_at: s(r.updated_at),
            topics: list(r.topics),
            permissions: r.permissions.map(|p| types::RepoPermissions {
                admin: b(p.admin),
                push: b(p.push),
                pull: b(p.pull),
            }),
        }))
    }
}

impl From<Repository> for types::Repository {
    fn from(r: Repository) -> Self {
        r.0
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TreeEntry {
    pub path: String,
    pub mode: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub sha: String,
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Tree {
    pub sha: String,
    pub tree: Option<Vec<TreeEntry>>,
    pub truncated: Option<bool>,
    pub page: Option<u32>,
    pub total_count: Option<u64>,
}

impl From<Tree> for types::Tree {
    fn from(t: Tree) -> Self {
        let entries: Vec<types::TreeEntry> = list(t.tree)
            .into_iter()
            .map(|e| {
                let kind = s(e.kind);
                types::TreeEntry {
                    size: if kind == "blob" { e.size } else { None },
                    path: e.path,
                    kind,
                    mode: s(e.mode),
                    sha: e.sha,
                }
            })
            .collect();
        Self {
            sha: t.sha,
            truncated: b(t.truncated),
            page: t.page.unwrap_or(1),
            total_count: t.total_count.unwrap_or(entries.len() as u64),
            entries,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ContentsEntry {
    pub name: Option<String>,
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub size: Option<u64>,
    pub sha: Option<String>,
    pub encoding: Option<String>,
    pub content: Option<String>,
    pub html_url: Option<String>,
}

impl ContentsEntry {
    /// `name`, else the last segment of `path`.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.path.rsplit('/').next().unwrap_or_default().to_string())
    }

    /// Decodes `content` (base64, possibly wrapped in newlines as Gitea may send it).
    pub fn decode_content(&self) -> Result<Vec<u8>, GiteaError> {
        decode_base64(self.content.as_deref(), self.encoding.as_deref())
    }
}

fn decode_base64(content: Option<&str>, encoding: Option<&str>) -> Result<Vec<u8>, GiteaError> {
    let Some(content) = content else {
        return Ok(Vec::new());
    };
    match encoding {
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

impl From<ContentsEntry> for types::ContentEntry {
    fn from(e: ContentsEntry) -> Self {
        Self {
            name: e.name(),
            path: e.path,
            kind: e.kind,
            size: e.size.unwrap_or_default(),
            sha: s(e.sha),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct CommitUser {
    pub name: Option<String>,
    pub email: Option<String>,
    pub date: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct RepoCommit {
    pub message: Option<String>,
    pub author: Option<CommitUser>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommitMeta {
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommitStats {
    pub additions: Option<i64>,
    pub deletions: Option<i64>,
    pub total: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommitAffectedFile {
    pub filename: String,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Commit {
    pub sha: String,
    pub html_url: Option<String>,
    pub commit: Option<RepoCommit>,
    pub author: Option<User>,
    pub parents: Option<Vec<CommitMeta>>,
    pub stats: Option<CommitStats>,
    pub files: Option<Vec<CommitAffectedFile>>,
}

impl From<Commit> for types::Commit {
    fn from(c: Commit) -> Self {
        let rc = c.commit.unwrap_or_default();
        let author = rc.author.unwrap_or_default();
        Self {
            sha: c.sha,
            message: s(rc.message),
            author_name: s(author.name),
            author_email: s(author.email),
            date: s(author.date),
            author_login: c.author.map(|u| u.login()).filter(|l| !l.is_empty()),
            parents: list(c.parents).into_iter().map(|p| p.sha).collect(),
            html_url: s(c.html_url),
            stats: c.stats.map(|st| {
                let (additions, deletions) = (n(st.additions), n(st.deletions));
                types::CommitStats {
                    additions,
                    deletions,
                    total: st.total.unwrap_or(additions + deletions),
                }
            }),
            files: c.files.map(|fs| {
                fs.into_iter()
                    .map(|f| types::CommitFile {
                        filename: f.filename,
                        status: s(f.status),
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PayloadCommit {
    pub id: String,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Branch {
    pub name: String,
    pub commit: Option<PayloadCommit>,
    pub protected: Option<bool>,
}

impl From<Branch> for types::Branch {
    fn from(br: Branch) -> Self {
        let (commit_sha, commit_message) = match br.commit {
            Some(c) => (c.id, s(c.message)),
            None => Default::default(),
        };
        Self {
            name: br.name,
            commit_sha,
            commit_message,
            protected: b(br.protected),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Tag {
    pub name: String,
    pub message: Option<String>,
    pub commit: Option<CommitMeta>,
}

impl From<Tag> for types::Tag {
    fn from(t: Tag) -> Self {
        Self {
            name: t.name,
            commit_sha: t.commit.map(|c| c.sha).unwrap_or_default(),
            message: s(t.message),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Attachment {
    pub name: String,
    pub size: Option<i64>,
    pub browser_download_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Release {
    pub id: i64,
    pub tag_name: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: Option<bool>,
    pub prerelease: Option<bool>,
    pub target_commitish: Option<String>,
    pub author: Option<User>,
    pub created_at: Option<String>,
    pub published_at: Option<String>,
    pub html_url: Option<String>,
    pub assets: Option<Vec<Attachment>>,
}

impl From<Release> for types::Release {
    fn from(r: Release) -> Self {
        Self {
            author: login(&r.author),
            id: r.id,
            tag_name: r.tag_name,
            name: s(r.name),
            body: s(r.body),
            draft: b(r.draft),
            prerelease: b(r.prerelease),
            target_commitish: s(r.target_commitish),
            created_at: s(r.created_at),
            published_at: s(r.published_at),
            html_url: s(r.html_url),
            assets: list(r.assets)
                .into_iter()
                .map(|a| types::ReleaseAsset {
                    name: a.name,
                    size: n(a.size),
                    download_url: s(a.browser_download_url),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Label {
    pub id: i64,
    pub name: String,
    pub color: Option<String>,
    pub description: Option<String>,
    pub exclusive: Option<bool>,
    pub is_archived: Option<bool>,
}

impl From<Label> for types::Label {
    fn from(l: Label) -> Self {
        Self {
            id: l.id,
            name: l.name,
            color: s(l.color),
            description: s(l.description),
            exclusive: b(l.exclusive),
            is_archived: b(l.is_archived),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Milestone {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub state: Option<String>,
    pub open_issues: Option<i64>,
    pub closed_issues: Option<i64>,
    pub due_on: Option<String>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
}

impl Milestone {
    fn reference(&self) -> types::MilestoneRef {
        types::MilestoneRef {
            id: self.id,
            title: self.title.clone(),
            state: self.state.clone().unwrap_or_default(),
        }
    }
}

impl From<Milestone> for types::Milestone {
    fn from(m: Milestone) -> Self {
        Self {
            id: m.id,
            title: m.title,
            description: s(m.description),
            state: s(m.state),
            open_issues: n(m.open_issues),
            closed_issues: n(m.closed_issues),
            due_on: m.due_on,
            created_at: s(m.created_at),
            closed_at: m.closed_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PullRequestMeta {}

#[derive(Debug, Deserialize)]
pub(super) struct Issue {
    pub number: i64,
    pub title: Option<String>,
    pub body: Option<String>,
    pub state: Option<String>,
    pub user: Option<User>,
    pub labels: Option<Vec<Label>>,
    pub assignees: Option<Vec<User>>,
    pub milestone: Option<Milestone>,
    pub comments: Option<i64>,
    pub pull_request: Option<PullRequestMeta>,
    pub is_locked: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub closed_at: Option<String>,
    pub html_url: Option<String>,
}

fn label_names(labels: Option<Vec<Label>>) -> Vec<String> {
    list(labels).into_iter().map(|l| l.name).collect()
}

fn logins(users: Option<Vec<User>>) -> Vec<String> {
    list(users)
        .iter()
        .map(User::login)
        .filter(|l| !l.is_empty())
        .collect()
}

impl From<Issue> for types::Issue {
    fn from(i: Issue) -> Self {
        Self {
            author: login(&i.user),
            number: i.number,
            title: s(i.title),
            body: s(i.body),
            state: s(i.state),
            labels: label_names(i.labels),
            assignees: logins(i.assignees),
            milestone: i.milestone.as_ref().map(Milestone::reference),
            comments: n(i.comments),
            is_pull_request: i.pull_request.is_some(),
            is_locked: b(i.is_locked),
            created_at: s(i.created_at),
            updated_at: s(i.updated_at),
            closed_at: i.closed_at,
            html_url: s(i.html_url),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PrBranchInfo {
    #[serde(rename = "ref")]
    pub reference: String,
    pub sha: Option<String>,
    pub repo: Option<Repository>,
}

impl From<Option<PrBranchInfo>> for types::BranchRef {
    fn from(info: Option<PrBranchInfo>) -> Self {
        match info {
            Some(b) => Self {
                reference: b.reference,
                sha: s(b.sha),
                repository: b.repo.map(|r| r.0.full_name).unwrap_or_default(),
            },
            None => Self {
                reference: String::new(),
                sha: String::new(),
                repository: String::new(),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PullRequest {
    pub number: i64,
    pub title: Option<String>,
    pub body: Option<String>,
    pub state: Option<String>,
    pub user: Option<User>,
    pub labels: Option<Vec<Label>>,
    pub assignees: Option<Vec<User>>,
    pub milestone: Option<Milestone>,
    pub head: Option<PrBranchInfo>,
    pub base: Option<PrBranchInfo>,
    pub draft: Option<bool>,
    pub merged: Option<bool>,
    pub mergeable: Option<bool>,
    pub merged_at: Option<String>,
    pub additions: Option<i64>,
    pub deletions: Option<i64>,
    pub changed_files: Option<i64>,
    pub comments: Option<i64>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub closed_at: Option<String>,
    pub html_url: Option<String>,
}

impl From<PullRequest> for types::PullRequest {
    fn from(p: PullRequest) -> Self {
        Self {
            author: login(&p.user),
            number: p.number,
            title: s(p.title),
            body: s(p.body),
            state: s(p.state),
            labels: label_names(p.labels),
            assignees: logins(p.assignees),
            milestone: p.milestone.as_ref().map(Milestone::reference),
            head: p.head.into(),
            base: p.base.into(),
            draft: b(p.draft),
            // A merge time says merged when the flag is missing.
            merged: p.merged.unwrap_or(p.merged_at.is_some()),
            mergeable: p.mergeable,
            merged_at: p.merged_at,
            additions: n(p.additions),
            deletions: n(p.deletions),
            changed_files: n(p.changed_files),
            comments: n(p.comments),
            created_at: s(p.created_at),
            updated_at: s(p.updated_at),
            closed_at: p.closed_at,
            html_url: s(p.html_url),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Comment {
    pub id: i64,
    pub body: Option<String>,
    pub user: Option<User>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub html_url: Option<String>,
}

impl From<Comment> for types::Comment {
    fn from(c: Comment) -> Self {
        Self {
            author: login(&c.user),
            id: c.id,
            body: s(c.body),
            created_at: s(c.created_at),
            updated_at: s(c.updated_at),
            html_url: s(c.html_url),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ChangedFile {
    pub filename: String,
    pub status: Option<String>,
    pub additions: Option<i64>,
    pub deletions: Option<i64>,
    pub changes: Option<i64>,
    pub previous_filename: Option<String>,
}

impl From<ChangedFile> for types::ChangedFile {
    fn from(f: ChangedFile) -> Self {
        let (additions, deletions) = (n(f.additions), n(f.deletions));
        Self {
            filename: f.filename,
            status: s(f.status),
            additions,
            deletions,
            changes: f.changes.unwrap_or(additions + deletions),
            previous_filename: f.previous_filename.filter(|p| !p.is_empty()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    pub context: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CombinedStatus {
    pub sha: String,
    pub state: Option<String>,
    pub total_count: Option<i64>,
    pub statuses: Option<Vec<CommitStatus>>,
}

impl From<CombinedStatus> for types::CombinedStatus {
    fn from(c: CombinedStatus) -> Self {
        let statuses: Vec<types::CommitStatus> = list(c.statuses)
            .into_iter()
            .map(|st| types::CommitStatus {
                context: s(st.context),
                status: s(st.status),
                description: s(st.description),
                target_url: s(st.target_url),
                created_at: s(st.created_at),
            })
            .collect();
        Self {
            sha: c.sha,
            state: s(c.state),
            total_count: c.total_count.unwrap_or(statuses.len() as i64),
            statuses,
        }
    }
}

/// An organization as sent; becomes an [`Organization`] once it has a name.
#[derive(Debug, Deserialize)]
pub(super) struct OrganizationFields {
    id: i64,
    name: Option<String>,
    username: Option<String>,
    full_name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "OrganizationFields")]
pub(super) struct Organization(types::Organization);

impl TryFrom<OrganizationFields> for Organization {
    type Error = String;

    fn try_from(o: OrganizationFields) -> Result<Self, String> {
        let name = [o.name, o.username]
            .into_iter()
            .flatten()
            .find(|n| !n.is_empty())
            .ok_or("missing field `name` (and no `username` in its place)")?;
        Ok(Self(types::Organization {
            id: o.id,
            name,
            full_name: s(o.full_name),
            description: s(o.description),
            visibility: s(o.visibility),
            website: s(o.website),
        }))
    }
}

impl From<Organization> for types::Organization {
    fn from(o: Organization) -> Self {
        o.0
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Compare {
    pub total_commits: Option<i64>,
    pub commits: Option<Vec<Commit>>,
}

impl From<Compare> for types::Comparison {
    fn from(c: Compare) -> Self {
        let commits: Vec<types::Commit> = list(c.commits).into_iter().map(Into::into).collect();
        Self {
            total_commits: c.total_commits.unwrap_or(commits.len() as i64),
            commits,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Topics {
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Blob {
    #[allow(dead_code)] // identifying: a body without it is not a blob
    pub sha: String,
    pub content: Option<String>,
    pub encoding: Option<String>,
    pub size: Option<u64>,
}

impl Blob {
    pub fn decode(&self) -> Result<Vec<u8>, GiteaError> {
        decode_base64(self.content.as_deref(), self.encoding.as_deref())
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RepoPermission {
    pub permission: String,
}
