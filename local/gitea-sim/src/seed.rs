//! The seed file format (YAML) and `Seed`, a validated, fully built simulated Gitea ready to serve.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::SeedError;
use crate::model::World;
use crate::oauth::OAuthConfig;

/// A validated seed: the world (users, orgs, repositories with git history, issues, ...) it describes.
#[derive(Clone, Debug)]
pub struct Seed {
    pub(crate) world: World,
    pub(crate) oauth: OAuthConfig,
}

impl Seed {
    /// Reads and validates a YAML seed file.
    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<Seed> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::from_yaml_str(&text)?)
    }

    /// Parses and validates a YAML seed document.
    pub fn from_yaml_str(yaml: &str) -> Result<Seed, SeedError> {
        let mut file: SeedFile = serde_yaml::from_str(yaml)?;
        let oauth = OAuthConfig::from_specs(
            std::mem::take(&mut file.oauth_apps),
            std::mem::take(&mut file.oauth),
        )?;
        let world = crate::model::build::build_world(file)?;
        Ok(Seed { world, oauth })
    }

    /// The seed shipped with the crate (`seed/demo.yaml`), compiled in.
    pub fn demo() -> Result<Seed, SeedError> {
        Self::from_yaml_str(include_str!("../seed/demo.yaml"))
    }

    /// Logins of the seeded users, in seed order.
    pub fn user_logins(&self) -> Vec<String> {
        self.world.users.iter().map(|u| u.login.clone()).collect()
    }

    /// The personal access token seeded for a user (the first one listed).
    pub fn token_for(&self, login: &str) -> Option<String> {
        let user = self.world.user_by_login(login)?;
        let mut tokens: Vec<(&String, &crate::model::Token)> = self
            .world
            .tokens
            .iter()
            .filter(|(_, t)| t.user == user.id)
            .collect();
        tokens.sort_by_key(|(_, t)| t.order);
        tokens.first().map(|(token, _)| (*token).clone())
    }

    /// `owner/name` of every repository, in id order.
    pub fn repo_full_names(&self) -> Vec<String> {
        self.world
            .repos
            .iter()
            .map(|r| format!("{}/{}", r.owner_name, r.name))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedFile {
    /// The version `/api/v1/version` reports.
    #[serde(default = "default_version")]
    pub version: String,
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub orgs: Vec<OrgSpec>,
    #[serde(default)]
    pub repos: Vec<RepoSpec>,
    #[serde(default)]
    pub generate: Vec<GenerateSpec>,
    /// OAuth2 applications registered with the simulated Gitea.
    #[serde(default)]
    pub oauth_apps: Vec<OAuthAppSpec>,
    /// Gitea's `[oauth2]` settings.
    #[serde(default)]
    pub oauth: OAuthSettingsSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthAppSpec {
    pub name: String,
    pub client_id: String,
    /// Required for confidential clients.
    #[serde(default)]
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    #[serde(default = "default_true")]
    pub confidential: bool,
    /// Simulator-only: a loopback redirect URI (127.0.0.1, [::1], localhost) matches on any port.
    #[serde(default)]
    pub allow_any_loopback_port: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthSettingsSpec {
    /// `INVALIDATE_REFRESH_TOKENS`: a refresh token works once.
    #[serde(default)]
    pub invalidate_refresh_tokens: bool,
    /// `ACCESS_TOKEN_EXPIRATION_TIME`, seconds.
    #[serde(default = "default_access_ttl")]
    pub access_token_expiration_time: u64,
    /// `REFRESH_TOKEN_EXPIRATION_TIME`, hours.
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_expiration_time: u64,
}

impl Default for OAuthSettingsSpec {
    fn default() -> Self {
        OAuthSettingsSpec {
            invalidate_refresh_tokens: false,
            access_token_expiration_time: default_access_ttl(),
            refresh_token_expiration_time: default_refresh_ttl(),
        }
    }
}

fn default_access_ttl() -> u64 {
    3600
}
fn default_refresh_ttl() -> u64 {
    730
}

fn default_version() -> String {
    "1.27.0".to_string()
}
fn default_branch() -> String {
    "main".to_string()
}
fn default_state() -> String {
    "open".to_string()
}
fn default_visibility() -> String {
    "public".to_string()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserSpec {
    pub login: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub website: String,
    #[serde(default = "default_visibility")]
    pub visibility: String,
    #[serde(default)]
    pub restricted: bool,
    /// Accepted as the password of HTTP Basic auth.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenSpec {
    pub name: String,
    pub token: String,
    /// Gitea token scopes (`all`, `public-only`, `read:repository`, `write:issue`, ...); empty means `all`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgSpec {
    pub name: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub location: String,
    #[serde(default = "default_visibility")]
    pub visibility: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default)]
    pub members: Vec<MemberSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberSpec {
    pub login: String,
    /// `owner`, `admin`, `write` or `read`: the access the member's team gives on every org repository.
    pub role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepoSpec {
    pub owner: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub template: bool,
    #[serde(default = "default_branch")]
    pub default_branch: String,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default)]
    pub stars: i64,
    #[serde(default)]
    pub collaborators: Vec<CollaboratorSpec>,
    #[serde(default)]
    pub commits: Vec<CommitSpec>,
    /// Branch name -> commit id (the `id` label of a commit).
    #[serde(default)]
    pub branches: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<TagSpec>,
    #[serde(default)]
    pub labels: Vec<LabelSpec>,
    #[serde(default)]
    pub milestones: Vec<MilestoneSpec>,
    /// Issues and pull requests share one numbering, in list order.
    #[serde(default)]
    pub issues: Vec<IssueSpec>,
    #[serde(default)]
    pub releases: Vec<ReleaseSpec>,
    #[serde(default)]
    pub statuses: Vec<StatusSpec>,
    /// Bytes per language; computed from file extensions when absent.
    #[serde(default)]
    pub languages: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollaboratorSpec {
    pub login: String,
    /// `read`, `write` or `admin`.
    pub permission: String,
}

/// A commit author: a seeded user's login, or an explicit identity.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum AuthorSpec {
    Login(String),
    Ident { name: String, email: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitSpec {
    /// Seed-local label other entries use to point at this commit.
    pub id: String,
    /// Labels of the parents; defaults to the previous commit in the list (none for the first).
    #[serde(default)]
    pub parents: Option<Vec<String>>,
    pub author: AuthorSpec,
    #[serde(default)]
    pub committer: Option<AuthorSpec>,
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    pub message: String,
    /// Path -> new content; `null` deletes the file.
    #[serde(default)]
    pub files: BTreeMap<String, Option<FileSpec>>,
}

/// File content: a plain string, or a detailed form.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FileSpec {
    Text(String),
    Detail(FileDetail),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDetail {
    #[serde(default)]
    pub text: Option<String>,
    /// Binary content, standard base64.
    #[serde(default)]
    pub base64: Option<String>,
    /// A line template repeated `lines` times; `{n}` becomes the 1-based line number.
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub lines: Option<usize>,
    /// Makes the file a symbolic link to this target.
    #[serde(default)]
    pub symlink: Option<String>,
    #[serde(default)]
    pub executable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagSpec {
    pub name: String,
    pub commit: String,
    /// With a message the tag is annotated.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub tagger: Option<AuthorSpec>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LabelSpec {
    pub name: String,
    /// Six hex digits, with or without `#`.
    pub color: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MilestoneSpec {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_state")]
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub due_on: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueSpec {
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub author: String,
    #[serde(default = "default_state")]
    pub state: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub milestone: Option<String>,
    #[serde(default)]
    pub assignees: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub due: Option<OffsetDateTime>,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub comments: Vec<CommentSpec>,
    /// Present for a pull request.
    #[serde(default)]
    pub pull: Option<PullSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullSpec {
    /// Head branch name.
    pub head: String,
    /// Base branch name.
    pub base: String,
    /// Commit label of the head; defaults to the head branch's commit.
    #[serde(default)]
    pub head_commit: Option<String>,
    /// Commit label of the merge base; computed when absent (give it for merged pulls).
    #[serde(default)]
    pub merge_base: Option<String>,
    #[serde(default)]
    pub merged: Option<MergedSpec>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default = "default_true")]
    pub mergeable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergedSpec {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: String,
    /// Commit label of the merge commit.
    #[serde(default)]
    pub commit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentSpec {
    pub author: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseSpec {
    pub tag: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub body: String,
    /// Branch name or commit label the tag is (to be) created from; defaults to the default branch.
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusSpec {
    /// Commit label or branch name.
    pub commit: String,
    pub context: String,
    /// `pending`, `success`, `error`, `failure` or `warning`.
    pub state: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: String,
    pub creator: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// Many small repositories from one entry: `<prefix>01` .. `<prefix><count>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateSpec {
    pub owner: String,
    pub prefix: String,
    pub count: usize,
    #[serde(default)]
    pub private: bool,
    /// `{n}` becomes the two-digit number.
    #[serde(default)]
    pub description: String,
    /// Login of the user who authored the single commit.
    pub author: String,
    /// Date of the first repository; each next one is a day later.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(default)]
    pub topics: Vec<String>,
}
