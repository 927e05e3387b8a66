//! The simulated Gitea's data: users, organizations, tokens, repositories and everything in them.

pub mod build;
pub mod diff;
pub mod git;

use std::collections::{BTreeMap, HashMap, HashSet};

use time::OffsetDateTime;

use git::{GitRepo, Oid};

pub type UserId = i64;

/// Gitea's access levels (`perm.AccessMode`), ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessMode {
    None,
    Read,
    Write,
    Admin,
    Owner,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::None => "none",
            AccessMode::Read => "read",
            AccessMode::Write => "write",
            AccessMode::Admin => "admin",
            AccessMode::Owner => "owner",
        }
    }
    pub fn parse(s: &str) -> Option<AccessMode> {
        Some(match s {
            "read" => AccessMode::Read,
            "write" => AccessMode::Write,
            "admin" => AccessMode::Admin,
            "owner" => AccessMode::Owner,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub full_name: String,
    pub email: String,
    pub admin: bool,
    pub created: OffsetDateTime,
    pub last_login: Option<OffsetDateTime>,
    pub description: String,
    pub location: String,
    pub website: String,
    pub visibility: String,
    pub restricted: bool,
    pub password: Option<String>,
}

/// Token scope categories (`models/auth/access_token_scope.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeCategory {
    ActivityPub,
    Admin,
    Misc,
    Notification,
    Organization,
    Package,
    Issue,
    Repository,
    User,
}

impl ScopeCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeCategory::ActivityPub => "activitypub",
            ScopeCategory::Admin => "admin",
            ScopeCategory::Misc => "misc",
            ScopeCategory::Notification => "notification",
            ScopeCategory::Organization => "organization",
            ScopeCategory::Package => "package",
            ScopeCategory::Issue => "issue",
            ScopeCategory::Repository => "repository",
            ScopeCategory::User => "user",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "activitypub" => ScopeCategory::ActivityPub,
            "admin" => ScopeCategory::Admin,
            "misc" => ScopeCategory::Misc,
            "notification" => ScopeCategory::Notification,
            "organization" => ScopeCategory::Organization,
            "package" => ScopeCategory::Package,
            "issue" => ScopeCategory::Issue,
            "repository" => ScopeCategory::Repository,
            "user" => ScopeCategory::User,
            _ => return None,
        })
    }
}

/// The scopes of one token.
#[derive(Clone, Debug, Default)]
pub struct Scopes {
    pub all: bool,
    pub public_only: bool,
    pub read: HashSet<ScopeCategory>,
    pub write: HashSet<ScopeCategory>,
    /// As given in the seed, for error messages.
    pub text: String,
}

impl Scopes {
    /// Parses Gitea scope names; `None` for an unknown name.
    pub fn parse(names: &[String]) -> Option<Scopes> {
        let mut scopes = Scopes {
            text: if names.is_empty() {
                "all".to_string()
            } else {
                names.join(",")
            },
            all: names.is_empty(),
            ..Scopes::default()
        };
        for name in names {
            match name.as_str() {
                "all" => scopes.all = true,
                "public-only" => scopes.public_only = true,
                other => {
                    let (level, category) = other.split_once(':')?;
                    let category = ScopeCategory::parse(category)?;
                    match level {
                        "read" => {
                            scopes.read.insert(category);
                        }
                        "write" => {
                            scopes.read.insert(category);
                            scopes.write.insert(category);
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some(scopes)
    }

    pub fn allows(&self, category: ScopeCategory, write: bool) -> bool {
        self.all
            || if write {
                self.write.contains(&category)
            } else {
                self.read.contains(&category)
            }
    }
}

#[derive(Clone, Debug)]
pub struct Token {
    pub user: UserId,
    pub scopes: Scopes,
    /// Position in the seed, so "the first token of a user" is stable.
    pub order: usize,
}

#[derive(Clone, Debug)]
pub struct Org {
    pub id: UserId,
    pub name: String,
    pub full_name: String,
    pub email: String,
    pub description: String,
    pub website: String,
    pub location: String,
    pub visibility: String,
    pub created: OffsetDateTime,
    pub members: Vec<(UserId, AccessMode)>,
}

#[derive(Clone, Debug)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub description: String,
    pub exclusive: bool,
    pub archived: bool,
}

#[derive(Clone, Debug)]
pub struct Milestone {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub closed: bool,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub due_on: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: i64,
    pub author: UserId,
    pub body: String,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct Merged {
    pub at: OffsetDateTime,
    pub by: UserId,
    pub commit: Option<Oid>,
}

#[derive(Clone, Debug)]
pub struct PullInfo {
    pub id: i64,
    pub head_branch: String,
    pub base_branch: String,
    pub head: Oid,
    pub merge_base: Oid,
    pub merged: Option<Merged>,
    pub draft: bool,
    pub mergeable: bool,
}

#[derive(Clone, Debug)]
pub struct Issue {
    pub id: i64,
    pub number: i64,
    pub title: String,
    pub body: String,
    pub author: UserId,
    pub closed: bool,
    pub labels: Vec<i64>,
    pub milestone: Option<i64>,
    pub assignees: Vec<UserId>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub due: Option<OffsetDateTime>,
    pub locked: bool,
    pub comments: Vec<Comment>,
    pub pull: Option<PullInfo>,
}

#[derive(Clone, Debug)]
pub struct Release {
    pub id: i64,
    pub tag: String,
    pub target: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
    pub author: UserId,
    pub created: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct CommitStatus {
    pub id: i64,
    /// Per-commit index, like Gitea's `commit_status.index`.
    pub index: i64,
    pub commit: Oid,
    pub context: String,
    pub state: String,
    pub description: String,
    pub target_url: String,
    pub creator: UserId,
    pub created: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct Repo {
    pub id: i64,
    pub owner_id: UserId,
    pub owner_name: String,
    pub name: String,
    pub description: String,
    pub website: String,
    pub private: bool,
    pub archived: bool,
    pub template: bool,
    pub default_branch: String,
    pub topics: Vec<String>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub stars: i64,
    pub collaborators: Vec<(UserId, AccessMode)>,
    pub git: GitRepo,
    pub labels: Vec<Label>,
    pub milestones: Vec<Milestone>,
    pub issues: Vec<Issue>,
    pub releases: Vec<Release>,
    pub statuses: Vec<CommitStatus>,
    pub languages: BTreeMap<String, i64>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner_name, self.name)
    }
    pub fn issue(&self, number: i64) -> Option<&Issue> {
        self.issues.iter().find(|i| i.number == number)
    }
    pub fn label(&self, id: i64) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }
    pub fn milestone(&self, id: i64) -> Option<&Milestone> {
        self.milestones.iter().find(|m| m.id == id)
    }
    /// Size in KiB of the default branch's blobs (Gitea reports the on-disk size; close enough).
    pub fn size_kib(&self) -> i64 {
        let Some(head) = self
            .git
            .branches
            .get(&self.default_branch)
            .and_then(|oid| self.git.commit_by_id(oid))
        else {
            return 0;
        };
        let bytes: usize = head
            .files
            .values()
            .map(|(mode, oid)| self.git.entry_size(*mode, oid))
            .sum();
        (bytes as i64 + 1023) / 1024
    }
}

/// Everything the simulator serves.
#[derive(Clone, Debug)]
pub struct World {
    pub version: String,
    pub users: Vec<User>,
    pub orgs: Vec<Org>,
    pub repos: Vec<Repo>,
    pub tokens: HashMap<String, Token>,
}

impl World {
    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
    /// Gitea matches user names case-insensitively.
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }
    pub fn org_by_name(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }
    pub fn org(&self, id: UserId) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos
            .iter()
            .find(|r| r.owner_name.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name))
    }

    /// The access a user (or an anonymous caller) has to a repository.
    pub fn access(&self, repo: &Repo, user: Option<&User>) -> AccessMode {
        let public = if repo.private {
            AccessMode::None
        } else {
            AccessMode::Read
        };
        let Some(user) = user else {
            return public;
        };
        let mut mode = public;
        if repo.owner_id == user.id {
            return AccessMode::Owner;
        }
        if let Some(org) = self.org(repo.owner_id) {
            if let Some((_, role)) = org.members.iter().find(|(id, _)| *id == user.id) {
                mode = mode.max(*role);
            }
        }
        if let Some((_, level)) = repo.collaborators.iter().find(|(id, _)| *id == user.id) {
            mode = mode.max(*level);
        }
        if user.admin {
            mode = mode.max(AccessMode::Admin);
        }
        mode
    }

    /// Organizations a user belongs to.
    pub fn orgs_of(&self, user: UserId) -> Vec<&Org> {
        self.orgs
            .iter()
            .filter(|o| o.members.iter().any(|(id, _)| *id == user))
            .collect()
    }
}

/// Next global ids for new objects: Gitea numbers labels, issues, comments, ... across repositories.
impl World {
    fn max_id<'a>(ids: impl Iterator<Item = &'a i64>) -> i64 {
        ids.max().copied().unwrap_or(0) + 1
    }
    pub fn next_issue_id(&self) -> i64 {
        Self::max_id(
            self.repos
                .iter()
                .flat_map(|r| r.issues.iter().map(|i| &i.id)),
        )
    }
    pub fn next_pull_id(&self) -> i64 {
        Self::max_id(self.repos.iter().flat_map(|r| {
            r.issues
                .iter()
                .filter_map(|i| i.pull.as_ref().map(|p| &p.id))
        }))
    }
    pub fn next_comment_id(&self) -> i64 {
        Self::max_id(self.repos.iter().flat_map(|r| {
            r.issues
                .iter()
                .flat_map(|i| i.comments.iter().map(|c| &c.id))
        }))
    }
    pub fn next_label_id(&self) -> i64 {
        Self::max_id(
            self.repos
                .iter()
                .flat_map(|r| r.labels.iter().map(|l| &l.id)),
        )
    }
    pub fn next_milestone_id(&self) -> i64 {
        Self::max_id(
            self.repos
                .iter()
                .flat_map(|r| r.milestones.iter().map(|m| &m.id)),
        )
    }
    pub fn next_release_id(&self) -> i64 {
        Self::max_id(
            self.repos
                .iter()
                .flat_map(|r| r.releases.iter().map(|x| &x.id)),
        )
    }
    pub fn repo_index(&self, owner: &str, name: &str) -> Option<usize> {
        self.repos.iter().position(|r| {
            r.owner_name.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(name)
        })
    }
}

impl Label {
    /// `Label.ExclusiveScope`: the part before the last `/` of an exclusive label's name.
    pub fn exclusive_scope(&self) -> Option<&str> {
        if !self.exclusive {
            return None;
        }
        match self.name.rfind('/') {
            Some(i) if i > 0 && i + 1 < self.name.len() => Some(&self.name[..i]),
            _ => None,
        }
    }
}

impl Repo {
    pub fn issue_mut(&mut self, number: i64) -> Option<&mut Issue> {
        self.issues.iter_mut().find(|i| i.number == number)
    }
    pub fn next_issue_number(&self) -> i64 {
        self.issues.iter().map(|i| i.number).max().unwrap_or(0) + 1
    }
    /// Adds a label to an issue like `newIssueLabel`: skips labels of other repositories and
    /// labels already present, and drops the other labels of the same exclusive scope.
    pub fn add_issue_label(&mut self, number: i64, label_id: i64) {
        let Some(label) = self.label(label_id).cloned() else {
            return;
        };
        let scoped: Vec<i64> = match label.exclusive_scope() {
            Some(scope) => self
                .labels
                .iter()
                .filter(|l| l.id != label.id && l.exclusive_scope() == Some(scope))
                .map(|l| l.id)
                .collect(),
            None => Vec::new(),
        };
        if let Some(issue) = self.issue_mut(number) {
            if issue.labels.contains(&label.id) {
                return;
            }
            issue.labels.retain(|id| !scoped.contains(id));
            issue.labels.push(label.id);
        }
    }
}
