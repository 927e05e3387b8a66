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

// ---- issue 3 shapes -------------------------------------------------------------------
// Struct-level `default` keeps decoding lenient: Gitea omits or nulls many fields.

fn s(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn login(u: &Option<User>) -> String {
    u.as_ref().map(|u| u.login.clone()).unwrap_or_default()
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CommitUser {
    pub name: Option<String>,
    pub email: Option<String>,
    pub date: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct RepoCommit {
    pub message: Option<String>,
    pub author: Option<CommitUser>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CommitMeta {
    pub sha: Option<String>,
    pub created: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CommitStats {
    pub additions: i64,
    pub deletions: i64,
    pub total: i64,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CommitAffectedFile {
    pub filename: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Commit {
    pub sha: Option<String>,
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
            sha: s(c.sha),
            message: s(rc.message),
            author_name: s(author.name),
            author_email: s(author.email),
            date: s(author.date),
            author_login: c.author.map(|u| u.login).filter(|l| !l.is_empty()),
            parents: c
                .parents
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.sha)
                .collect(),
            html_url: s(c.html_url),
            stats: c.stats.map(|st| types::CommitStats {
                additions: st.additions,
                deletions: st.deletions,
                total: st.total,
            }),
            files: c.files.map(|fs| {
                fs.into_iter()
                    .map(|f| types::CommitFile {
                        filename: s(f.filename),
                        status: s(f.status),
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct PayloadCommit {
    pub id: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Branch {
    pub name: Option<String>,
    pub commit: Option<PayloadCommit>,
    pub protected: bool,
}

impl From<Branch> for types::Branch {
    fn from(b: Branch) -> Self {
        let c = b.commit.unwrap_or_default();
        Self {
            name: s(b.name),
            commit_sha: s(c.id),
            commit_message: s(c.message),
            protected: b.protected,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Tag {
    pub name: Option<String>,
    pub message: Option<String>,
    pub commit: Option<CommitMeta>,
}

impl From<Tag> for types::Tag {
    fn from(t: Tag) -> Self {
        Self {
            name: s(t.name),
            commit_sha: t.commit.and_then(|c| c.sha).unwrap_or_default(),
            message: s(t.message),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Attachment {
    pub name: Option<String>,
    pub size: i64,
    pub browser_download_url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Release {
    pub id: i64,
    pub tag_name: Option<String>,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
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
            tag_name: s(r.tag_name),
            name: s(r.name),
            body: s(r.body),
            draft: r.draft,
            prerelease: r.prerelease,
            target_commitish: s(r.target_commitish),
            created_at: s(r.created_at),
            published_at: s(r.published_at),
            html_url: s(r.html_url),
            assets: r
                .assets
                .unwrap_or_default()
                .into_iter()
                .map(|a| types::ReleaseAsset {
                    name: s(a.name),
                    size: a.size,
                    download_url: s(a.browser_download_url),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Label {
    pub id: i64,
    pub name: Option<String>,
    pub color: Option<String>,
    pub description: Option<String>,
    pub exclusive: bool,
    pub is_archived: bool,
}

impl From<Label> for types::Label {
    fn from(l: Label) -> Self {
        Self {
            id: l.id,
            name: s(l.name),
            color: s(l.color),
            description: s(l.description),
            exclusive: l.exclusive,
            is_archived: l.is_archived,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Milestone {
    pub id: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    pub open_issues: i64,
    pub closed_issues: i64,
    pub due_on: Option<String>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
}

impl Milestone {
    fn reference(&self) -> types::MilestoneRef {
        types::MilestoneRef {
            id: self.id,
            title: self.title.clone().unwrap_or_default(),
            state: self.state.clone().unwrap_or_default(),
        }
    }
}

impl From<Milestone> for types::Milestone {
    fn from(m: Milestone) -> Self {
        Self {
            id: m.id,
            title: s(m.title),
            description: s(m.description),
            state: s(m.state),
            open_issues: m.open_issues,
            closed_issues: m.closed_issues,
            due_on: m.due_on,
            created_at: s(m.created_at),
            closed_at: m.closed_at,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct PullRequestMeta {
    pub merged: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Issue {
    pub number: i64,
    pub title: Option<String>,
    pub body: Option<String>,
    pub state: Option<String>,
    pub user: Option<User>,
    pub labels: Option<Vec<Label>>,
    pub assignees: Option<Vec<User>>,
    pub milestone: Option<Milestone>,
    pub comments: i64,
    pub pull_request: Option<PullRequestMeta>,
    pub is_locked: bool,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub closed_at: Option<String>,
    pub html_url: Option<String>,
}

fn label_names(labels: Option<Vec<Label>>) -> Vec<String> {
    labels
        .unwrap_or_default()
        .into_iter()
        .filter_map(|l| l.name)
        .collect()
}

fn logins(users: Option<Vec<User>>) -> Vec<String> {
    users
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.login)
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
            comments: i.comments,
            is_pull_request: i.pull_request.is_some(),
            is_locked: i.is_locked,
            created_at: s(i.created_at),
            updated_at: s(i.updated_at),
            closed_at: i.closed_at,
            html_url: s(i.html_url),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct PrBranchInfo {
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub sha: Option<String>,
    pub repo: Option<Box<Repository>>,
}

impl From<PrBranchInfo> for types::BranchRef {
    fn from(b: PrBranchInfo) -> Self {
        Self {
            reference: s(b.reference),
            sha: s(b.sha),
            repository: b.repo.map(|r| r.full_name).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
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
    pub draft: bool,
    pub merged: bool,
    pub mergeable: Option<bool>,
    pub merged_at: Option<String>,
    pub additions: i64,
    pub deletions: i64,
    pub changed_files: i64,
    pub comments: i64,
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
            head: p.head.unwrap_or_default().into(),
            base: p.base.unwrap_or_default().into(),
            draft: p.draft,
            merged: p.merged,
            mergeable: p.mergeable,
            merged_at: p.merged_at,
            additions: p.additions,
            deletions: p.deletions,
            changed_files: p.changed_files,
            comments: p.comments,
            created_at: s(p.created_at),
            updated_at: s(p.updated_at),
            closed_at: p.closed_at,
            html_url: s(p.html_url),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
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

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct ChangedFile {
    pub filename: Option<String>,
    pub status: Option<String>,
    pub additions: i64,
    pub deletions: i64,
    pub changes: i64,
    pub previous_filename: Option<String>,
}

impl From<ChangedFile> for types::ChangedFile {
    fn from(f: ChangedFile) -> Self {
        Self {
            filename: s(f.filename),
            status: s(f.status),
            additions: f.additions,
            deletions: f.deletions,
            changes: f.changes,
            previous_filename: f.previous_filename.filter(|p| !p.is_empty()),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CommitStatus {
    pub context: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct CombinedStatus {
    pub sha: Option<String>,
    pub state: Option<String>,
    pub total_count: i64,
    pub statuses: Option<Vec<CommitStatus>>,
}

impl From<CombinedStatus> for types::CombinedStatus {
    fn from(c: CombinedStatus) -> Self {
        Self {
            sha: s(c.sha),
            state: s(c.state),
            total_count: c.total_count,
            statuses: c
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(|st| types::CommitStatus {
                    context: s(st.context),
                    status: s(st.status),
                    description: s(st.description),
                    target_url: s(st.target_url),
                    created_at: s(st.created_at),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Organization {
    pub id: i64,
    pub name: Option<String>,
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<String>,
    pub website: Option<String>,
}

impl From<Organization> for types::Organization {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name.or(o.username).unwrap_or_default(),
            full_name: s(o.full_name),
            description: s(o.description),
            visibility: s(o.visibility),
            website: s(o.website),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Compare {
    pub total_commits: i64,
    pub commits: Option<Vec<Commit>>,
}

impl From<Compare> for types::Comparison {
    fn from(c: Compare) -> Self {
        Self {
            total_commits: c.total_commits,
            commits: c
                .commits
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Topics {
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct Blob {
    pub content: Option<String>,
    pub encoding: Option<String>,
    pub size: u64,
}

impl Blob {
    pub fn decode(&self) -> Result<Vec<u8>, GiteaError> {
        let entry = ContentsEntry {
            name: String::new(),
            path: String::new(),
            kind: "file".into(),
            size: self.size,
            sha: String::new(),
            encoding: self.encoding.clone(),
            content: self.content.clone(),
            html_url: None,
        };
        entry.decode_content()
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(super) struct RepoPermission {
    pub permission: Option<String>,
}
