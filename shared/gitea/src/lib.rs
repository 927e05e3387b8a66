//! The Gitea REST API v1 client: typed errors per status, Gitea's pagination, size limits.
//!
//! Wire DTOs live in `wire` and never leave this module; callers see the domain types of
//! `types`. Every call takes the credential it acts with, so one client serves every user.

mod pagination;
mod types;
mod wire;
mod write;

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use aegis_core::config::Config;
use aegis_core::principal::Credential;
pub use pagination::{walk_pages, PageInfo, PageRequest, GITEA_DEFAULT_LIMIT, GITEA_MAX_LIMIT};
pub use types::*;
pub use wire::IDENTIFYING_FIELDS;
pub use write::{IssueEdit, LabelFields, NewIssue, NewPullRequest, ReleaseFields};

/// What went wrong talking to Gitea, by kind; the message is safe to show a user.
#[derive(Debug, thiserror::Error)]
pub enum GiteaError {
    #[error("gitea rejected the credentials (401)")]
    Unauthorized,
    #[error("gitea denied access (403): {0}")]
    Forbidden(String),
    #[error("not found in gitea: {0}")]
    NotFound(String),
    #[error("gitea reported a conflict (409): {0}")]
    Conflict(String),
    #[error("gitea rejected the request (422): {0}")]
    Unprocessable(String),
    #[error("gitea is rate limiting requests (429)")]
    RateLimited { retry_after: Option<u64> },
    #[error("gitea answered {status}: {message}")]
    Upstream { status: u16, message: String },
    #[error("gitea did not answer within {0} seconds")]
    Timeout(u64),
    #[error("could not reach gitea: {0}")]
    Transport(String),
    #[error("gitea sent a response this client could not read: {0}")]
    Decode(String),
    #[error("`{path}` is {size} bytes, over the {max}-byte limit (MAX_FILE_SIZE_BYTES)")]
    FileTooLarge { path: String, size: u64, max: u64 },
    #[error("invalid request: {0}")]
    InvalidInput(String),
}

/// What the start-up check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupCheck {
    /// Gitea's version, as `/version` reports it
    pub version: String,
    /// The service token's user, when a token was checked
    pub login: Option<String>,
}

/// Why the start-up check failed; each message names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupCheckError {
    #[error("gitea at `{url}` is unreachable ({reason}); check GITEA_URL (and that Gitea is running and reachable from here), or set STARTUP_VALIDATE_GITEA=false to start anyway")]
    Unreachable { url: String, reason: String },
    #[error("`{url}` does not answer like a Gitea API ({reason}); check GITEA_URL: it is the Gitea base URL, without `/api/v1`")]
    NotGitea { url: String, reason: String },
    #[error("gitea rejected GITEA_TOKEN ({0}); check GITEA_TOKEN: a valid access token of the service user")]
    TokenRejected(String),
    #[error("gitea's OAuth2 provider refused our client ({detail}); check {variable} against the OAuth2 application registered in Gitea")]
    OAuthClientRejected {
        variable: &'static str,
        detail: String,
    },
}

/// The settings the client needs, taken from `Config`.
#[derive(Debug, Clone)]
pub struct GiteaClientConfig {
    pub api_base: Url,
    pub timeout: Duration,
    pub max_file_size_bytes: u64,
}

impl From<&Config> for GiteaClientConfig {
    fn from(c: &Config) -> Self {
        Self {
            api_base: c.gitea_api_base(),
            timeout: Duration::from_secs(c.limits.request_timeout_seconds),
            max_file_size_bytes: c.limits.max_file_size_bytes,
        }
    }
}

/// A Gitea API client. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct GiteaClient {
    http: reqwest::Client,
    config: GiteaClientConfig,
}

/// A page of results plus what Gitea said about the pages around it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub info: PageInfo,
}

impl GiteaClient {
    pub fn new(config: GiteaClientConfig) -> Result<Self, GiteaError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, "application/json".parse().expect("static header"));
        headers.insert(
            USER_AGENT,
            concat!("aegis-gitea-mcp/", env!("CARGO_PKG_VERSION"))
                .parse()
                .expect("static header"),
        );
        let http = aegis_http::client_builder()
            .map_err(|e| GiteaError::Transport(e.to_string()))?
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // Never follow redirects with a credential attached.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GiteaError::Transport(e.to_string()))?;
        Ok(Self { http, config })
    }

    pub fn config(&self) -> &GiteaClientConfig {
        &self.config
    }

    /// `GET /user`: the credential's owner, who must have a login (or a `username`).
    pub async fn current_user(&self, cred: &Credential) -> Result<User, GiteaError> {
        let user: wire::User = self.get_json(cred, &["user"], &[]).await?.0;
        if user.login().is_empty() {
            let error = GiteaError::Decode(
                "GET /user: at `login`: missing field `login` (and no `username` in its place)"
                    .into(),
            );
            tracing::warn!(error = %error, "gitea response not understood");
            return Err(error);
        }
        Ok(user.into())
    }

    /// `GET /version`
    pub async fn version(&self) -> Result<String, GiteaError> {
        let url = self.url(&["version"], &[])?;
        let resp = self.send(Method::GET, url, None).await?;
        let v: wire::Version = decode(resp).await?.0;
        Ok(v.version)
    }

    /// What `STARTUP_VALIDATE_GITEA` checks before a process serves: Gitea answers
    /// `/version`, and the service token (when one is configured) is accepted by `/user`.
    /// The error names the variable to fix.
    pub async fn check_reachable(
        &self,
        token: Option<&Credential>,
    ) -> Result<StartupCheck, StartupCheckError> {
        let version = self.version().await.map_err(|e| match e {
            GiteaError::Decode(_) | GiteaError::NotFound(_) => StartupCheckError::NotGitea {
                url: self.config.api_base.to_string(),
                reason: e.to_string(),
            },
            other => StartupCheckError::Unreachable {
                url: self.config.api_base.to_string(),
                reason: other.to_string(),
            },
        })?;
        let login = match token {
            None => None,
            Some(cred) => match self.current_user(cred).await {
                Ok(user) => Some(user.login),
                Err(e @ (GiteaError::Unauthorized | GiteaError::Forbidden(_))) => {
                    return Err(StartupCheckError::TokenRejected(e.to_string()))
                }
                Err(e) => {
                    return Err(StartupCheckError::Unreachable {
                        url: self.config.api_base.to_string(),
                        reason: e.to_string(),
                    })
                }
            },
        };
        Ok(StartupCheck { version, login })
    }

    /// `GET /user/repos`: repositories the credential can see.
    pub async fn list_my_repositories(
        &self,
        cred: &Credential,
        page: PageRequest,
    ) -> Result<Page<Repository>, GiteaError> {
        let query = page.query();
        let (repos, info): (Vec<wire::Repository>, _) =
            self.get_json(cred, &["user", "repos"], &query).await?;
        Ok(Page {
            items: repos.into_iter().map(Into::into).collect(),
            info: info.with_request(page),
        })
    }

    /// `GET /repos/{owner}/{repo}`
    pub async fn get_repository(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
    ) -> Result<Repository, GiteaError> {
        let r: wire::Repository = self.get_json(cred, &["repos", owner, repo], &[]).await?.0;
        Ok(r.into())
    }

    /// `GET /repos/{owner}/{repo}/git/trees/{sha}` (`per_page` up to 1000).
    pub async fn get_tree(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        req: &TreeRequest,
    ) -> Result<Tree, GiteaError> {
        let reference = req.reference.as_str();
        let mut query = vec![
            ("page", req.page.max(1).to_string()),
            ("per_page", req.per_page.clamp(1, 1000).to_string()),
        ];
        if req.recursive {
            query.push(("recursive", "true".to_string()));
        }
        let t: wire::Tree = self
            .get_json(
                cred,
                &["repos", owner, repo, "git", "trees", reference],
                &query,
            )
            .await?
            .0;
        Ok(t.into())
    }

    /// `GET /repos/{owner}/{repo}/contents/{filepath}` (or the root listing when `path` is
    /// empty). A file's content is decoded and refused when over `MAX_FILE_SIZE_BYTES`,
    /// before it is decoded.
    pub async fn get_contents(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        path: &str,
        reference: Option<&str>,
    ) -> Result<Contents, GiteaError> {
        let mut segments = vec!["repos", owner, repo, "contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let query: Vec<(&str, String)> = reference
            .map(|r| vec![("ref", r.to_string())])
            .unwrap_or_default();
        let url = self.url(&segments, &query)?;
        let resp = self.send(Method::GET, url, Some(cred)).await?;
        let endpoint = Endpoint::of(&resp);
        let (value, _) = decode::<serde_json::Value>(resp).await?;
        if value.is_array() {
            let entries: Vec<wire::ContentsEntry> = decode_value(&endpoint, value)?;
            return Ok(Contents::Directory(
                entries.into_iter().map(Into::into).collect(),
            ));
        }
        let entry: wire::ContentsEntry = decode_value(&endpoint, value)?;
        if entry.kind != "file" {
            return Ok(Contents::Other(entry.into()));
        }
        let max = self.config.max_file_size_bytes;
        let declared = entry.size.unwrap_or_default();
        if declared > max {
            return Err(GiteaError::FileTooLarge {
                path: entry.path,
                size: declared,
                max,
            });
        }
        let bytes = entry.decode_content()?;
        if bytes.len() as u64 > max {
            return Err(GiteaError::FileTooLarge {
                path: entry.path,
                size: bytes.len() as u64,
                max,
            });
        }
        Ok(Contents::File(FileContent {
            name: entry.name(),
            path: entry.path,
            sha: entry.sha.unwrap_or_default(),
            size: entry.size.unwrap_or(bytes.len() as u64),
            html_url: entry.html_url,
            bytes,
        }))
    }

    /// `GET /repos/{owner}/{repo}/git/blobs/{sha}`: a blob's bytes, size-checked first.
    pub async fn get_blob(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<Vec<u8>, GiteaError> {
        let blob: wire::Blob = self
            .one_raw(cred, &["repos", owner, repo, "git", "blobs", sha], &[])
            .await?;
        let max = self.config.max_file_size_bytes;
        let declared = blob.size.unwrap_or_default();
        if declared > max {
            return Err(GiteaError::FileTooLarge {
                path: sha.to_string(),
                size: declared,
                max,
            });
        }
        let bytes = blob.decode()?;
        if bytes.len() as u64 > max {
            return Err(GiteaError::FileTooLarge {
                path: sha.to_string(),
                size: bytes.len() as u64,
                max,
            });
        }
        Ok(bytes)
    }

    /// `GET /repos/{owner}/{repo}/collaborators/{user}/permission`: `none`, `read`,
    /// `write`, `admin` or `owner`.
    pub async fn get_repo_permission(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        user: &str,
    ) -> Result<String, GiteaError> {
        let p: wire::RepoPermission = self
            .one_raw(
                cred,
                &["repos", owner, repo, "collaborators", user, "permission"],
                &[],
            )
            .await?;
        Ok(p.permission)
    }

    /// `GET /repos/{owner}/{repo}/commits` (`sha` = the ref), without stats or files.
    pub async fn list_commits(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        reference: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Commit>, GiteaError> {
        let mut query = vec![
            ("stat", "false".to_string()),
            ("verification", "false".to_string()),
            ("files", "false".to_string()),
        ];
        if let Some(r) = reference {
            query.push(("sha", r.to_string()));
        }
        self.list::<wire::Commit, _>(cred, &["repos", owner, repo, "commits"], query, page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/git/commits/{sha}` with stats and files.
    pub async fn get_commit(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<Commit, GiteaError> {
        let query = [
            ("stat", "true".to_string()),
            ("verification", "false".to_string()),
            ("files", "true".to_string()),
        ];
        self.one::<wire::Commit, _>(cred, &["repos", owner, repo, "git", "commits", sha], &query)
            .await
    }

    /// `GET /repos/{owner}/{repo}/git/commits/{sha}.diff`: the unified diff as text.
    pub async fn get_commit_diff(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        sha: &str,
    ) -> Result<String, GiteaError> {
        let file = format!("{sha}.diff");
        self.text(cred, &["repos", owner, repo, "git", "commits", &file], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/compare/{base}...{head}`
    pub async fn compare(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        base: &str,
        head: &str,
    ) -> Result<Comparison, GiteaError> {
        // Gitea routes `compare/*`: a branch name's own `/` stay path separators.
        let basehead = format!("{base}...{head}");
        let mut segments = vec!["repos", owner, repo, "compare"];
        segments.extend(basehead.split('/'));
        self.one::<wire::Compare, _>(cred, &segments, &[]).await
    }

    /// `GET /repos/{owner}/{repo}/issues?type=issues`
    pub async fn list_issues(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        state: &str,
        labels: &[String],
        page: PageRequest,
    ) -> Result<Page<Issue>, GiteaError> {
        let mut query = vec![("state", state.to_string()), ("type", "issues".to_string())];
        if !labels.is_empty() {
            query.push(("labels", labels.join(",")));
        }
        self.list::<wire::Issue, _>(cred, &["repos", owner, repo, "issues"], query, page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/issues/{index}`
    pub async fn get_issue(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Issue, GiteaError> {
        let n = number.to_string();
        self.one::<wire::Issue, _>(cred, &["repos", owner, repo, "issues", &n], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/issues/{index}/comments`: Gitea returns them all at once.
    pub async fn list_issue_comments(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Comment>, GiteaError> {
        let n = number.to_string();
        let (items, _): (Vec<wire::Comment>, _) = self
            .get_json(cred, &["repos", owner, repo, "issues", &n, "comments"], &[])
            .await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// `GET /repos/{owner}/{repo}/pulls`
    pub async fn list_pull_requests(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        state: &str,
        page: PageRequest,
    ) -> Result<Page<PullRequest>, GiteaError> {
        let query = vec![("state", state.to_string())];
        self.list::<wire::PullRequest, _>(cred, &["repos", owner, repo, "pulls"], query, page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/pulls/{index}`
    pub async fn get_pull_request(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullRequest, GiteaError> {
        let n = number.to_string();
        self.one::<wire::PullRequest, _>(cred, &["repos", owner, repo, "pulls", &n], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/pulls/{index}/files`
    pub async fn list_pull_request_files(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        page: PageRequest,
    ) -> Result<Page<ChangedFile>, GiteaError> {
        let n = number.to_string();
        self.list::<wire::ChangedFile, _>(
            cred,
            &["repos", owner, repo, "pulls", &n, "files"],
            vec![],
            page,
        )
        .await
    }

    /// `GET /repos/{owner}/{repo}/pulls/{index}/commits`
    pub async fn list_pull_request_commits(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        page: PageRequest,
    ) -> Result<Page<Commit>, GiteaError> {
        let n = number.to_string();
        let query = vec![
            ("verification", "false".to_string()),
            ("files", "false".to_string()),
        ];
        self.list::<wire::Commit, _>(
            cred,
            &["repos", owner, repo, "pulls", &n, "commits"],
            query,
            page,
        )
        .await
    }

    /// `GET /repos/{owner}/{repo}/labels`
    pub async fn list_labels(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        page: PageRequest,
    ) -> Result<Page<Label>, GiteaError> {
        self.list::<wire::Label, _>(cred, &["repos", owner, repo, "labels"], vec![], page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/tags`
    pub async fn list_tags(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        page: PageRequest,
    ) -> Result<Page<Tag>, GiteaError> {
        self.list::<wire::Tag, _>(cred, &["repos", owner, repo, "tags"], vec![], page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/releases`
    pub async fn list_releases(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        page: PageRequest,
    ) -> Result<Page<Release>, GiteaError> {
        self.list::<wire::Release, _>(cred, &["repos", owner, repo, "releases"], vec![], page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/releases/{id}`
    pub async fn get_release(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        id: u64,
    ) -> Result<Release, GiteaError> {
        let id = id.to_string();
        self.one::<wire::Release, _>(cred, &["repos", owner, repo, "releases", &id], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/releases/latest`
    pub async fn get_latest_release(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
    ) -> Result<Release, GiteaError> {
        self.one::<wire::Release, _>(cred, &["repos", owner, repo, "releases", "latest"], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/branches`
    pub async fn list_branches(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        page: PageRequest,
    ) -> Result<Page<Branch>, GiteaError> {
        self.list::<wire::Branch, _>(cred, &["repos", owner, repo, "branches"], vec![], page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/branches/{branch}`
    pub async fn get_branch(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        branch: &str,
    ) -> Result<Branch, GiteaError> {
        self.one::<wire::Branch, _>(cred, &["repos", owner, repo, "branches", branch], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/milestones`
    pub async fn list_milestones(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        state: &str,
        page: PageRequest,
    ) -> Result<Page<Milestone>, GiteaError> {
        let query = vec![("state", state.to_string())];
        self.list::<wire::Milestone, _>(cred, &["repos", owner, repo, "milestones"], query, page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/commits/{ref}/status`
    pub async fn get_combined_status(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        reference: &str,
    ) -> Result<CombinedStatus, GiteaError> {
        self.one::<wire::CombinedStatus, _>(
            cred,
            &["repos", owner, repo, "commits", reference, "status"],
            &[],
        )
        .await
    }

    /// `GET /orgs/{org}/repos`
    pub async fn list_org_repositories(
        &self,
        cred: &Credential,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<Repository>, GiteaError> {
        self.list::<wire::Repository, _>(cred, &["orgs", org, "repos"], vec![], page)
            .await
    }

    /// `GET /user/orgs`
    pub async fn list_my_organizations(
        &self,
        cred: &Credential,
        page: PageRequest,
    ) -> Result<Page<Organization>, GiteaError> {
        self.list::<wire::Organization, _>(cred, &["user", "orgs"], vec![], page)
            .await
    }

    /// `GET /repos/{owner}/{repo}/languages`: bytes per language.
    pub async fn get_languages(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
    ) -> Result<std::collections::BTreeMap<String, i64>, GiteaError> {
        self.one_raw(cred, &["repos", owner, repo, "languages"], &[])
            .await
    }

    /// `GET /repos/{owner}/{repo}/topics`
    pub async fn get_topics(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
    ) -> Result<Vec<String>, GiteaError> {
        let t: wire::Topics = self
            .one_raw(cred, &["repos", owner, repo, "topics"], &[])
            .await?;
        Ok(t.topics.unwrap_or_default())
    }

    async fn list<W, D>(
        &self,
        cred: &Credential,
        segments: &[&str],
        mut query: Vec<(&'static str, String)>,
        page: PageRequest,
    ) -> Result<Page<D>, GiteaError>
    where
        W: DeserializeOwned,
        D: From<W>,
    {
        query.extend(page.query());
        let (items, info): (Vec<W>, _) = self.get_json(cred, segments, &query).await?;
        Ok(Page {
            items: items.into_iter().map(Into::into).collect(),
            info: info.with_request(page),
        })
    }

    async fn one<W, D>(
        &self,
        cred: &Credential,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<D, GiteaError>
    where
        W: DeserializeOwned,
        D: From<W>,
    {
        Ok(self.one_raw::<W>(cred, segments, query).await?.into())
    }

    async fn one_raw<W: DeserializeOwned>(
        &self,
        cred: &Credential,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<W, GiteaError> {
        Ok(self.get_json(cred, segments, query).await?.0)
    }

    /// A text response (diffs), refused past `MAX_FILE_SIZE_BYTES` without reading it all.
    async fn text(
        &self,
        cred: &Credential,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<String, GiteaError> {
        let url = self.url(segments, query)?;
        let mut resp = self.send(Method::GET, url, Some(cred)).await?;
        let max = self.config.max_file_size_bytes;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| GiteaError::Transport(transport_detail(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max {
                return Err(GiteaError::FileTooLarge {
                    path: segments.last().unwrap_or(&"").to_string(),
                    size: body.len() as u64,
                    max,
                });
            }
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Builds `<api_base>/<segments...>?<query>`, each segment percent-encoded on its own
    /// so a `/`, `?` or `..` inside a value can never change the path.
    pub(crate) fn url(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Url, GiteaError> {
        let mut url = self.config.api_base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| GiteaError::InvalidInput("gitea url cannot be a base".into()))?;
            path.pop_if_empty();
            for segment in segments {
                if segment.is_empty() || *segment == "." || *segment == ".." {
                    return Err(GiteaError::InvalidInput(format!(
                        "invalid path segment `{segment}`"
                    )));
                }
                path.push(segment);
            }
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        cred: &Credential,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<(T, PageInfo), GiteaError> {
        let url = self.url(segments, query)?;
        let resp = self.send(Method::GET, url, Some(cred)).await?;
        decode(resp).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        cred: Option<&Credential>,
    ) -> Result<reqwest::Response, GiteaError> {
        self.send_body(method, url, cred, None).await
    }

    /// Sends a request, with a JSON body when given; non-2xx become typed errors.
    pub(crate) async fn send_body(
        &self,
        method: Method,
        url: Url,
        cred: Option<&Credential>,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, GiteaError> {
        let path = url.path().to_string();
        let endpoint = format!("{method} {}", resource_path(&path));
        let mut req = self.http.request(method.clone(), url);
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(Credential::Token(token)) = cred {
            req = req.header(AUTHORIZATION, format!("token {}", token.expose()));
        }
        let mut resp = req.send().await.map_err(|e| {
            let error = if e.is_timeout() {
                GiteaError::Timeout(self.config.timeout.as_secs())
            } else {
                GiteaError::Transport(transport_detail(&e))
            };
            diagnose(&endpoint, &error);
            error
        })?;
        let status = resp.status();
        if status.is_success() {
            resp.extensions_mut().insert(Endpoint(endpoint));
            return Ok(resp);
        }
        let error = error_for(status, resp, &path).await;
        diagnose(&endpoint, &error);
        Err(error)
    }
}

/// Maps a non-success response to a typed error, reading Gitea's `{"message"}` body.
async fn error_for(status: StatusCode, resp: reqwest::Response, path: &str) -> GiteaError {
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let message = resp
        .json::<wire::ApiError>()
        .await
        .ok()
        .and_then(|e| e.message)
        .filter(|m| !m.is_empty())
        .map(|m| truncate(&m, 300))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let resource = path.split("/api/v1").last().unwrap_or(path).to_string();
    match status.as_u16() {
        401 => GiteaError::Unauthorized,
        403 => GiteaError::Forbidden(message),
        404 => GiteaError::NotFound(resource),
        409 => GiteaError::Conflict(message),
        422 => GiteaError::Unprocessable(message),
        429 => GiteaError::RateLimited { retry_after },
        s => GiteaError::Upstream { status: s, message },
    }
}

/// `METHOD /path` of a request, below `/api/v1`: what logs and decode errors name.
#[derive(Debug, Clone)]
struct Endpoint(String);

impl Endpoint {
    /// The endpoint `send_body` recorded on a response (its path, for any other).
    fn of(resp: &reqwest::Response) -> Endpoint {
        resp.extensions()
            .get::<Endpoint>()
            .cloned()
            .unwrap_or_else(|| Endpoint(resource_path(resp.url().path()).to_string()))
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The API path without the base URL's prefix (`/repos/acme/app`).
fn resource_path(path: &str) -> &str {
    path.split("/api/v1").last().unwrap_or(path)
}

/// Logs what went wrong talking to Gitea, with what to check: the request's span adds
/// the request id. Answers Gitea gives about the request itself (404, 409, 422) are the
/// caller's business and not logged here.
fn diagnose(endpoint: &str, error: &GiteaError) {
    match error {
        GiteaError::Transport(detail) => tracing::error!(
            %endpoint, %detail,
            "gitea unreachable: check GITEA_URL, that Gitea is running, and (for https) its TLS certificate"
        ),
        GiteaError::Timeout(secs) => tracing::warn!(
            %endpoint, timeout_secs = secs,
            "gitea timed out: check Gitea's load and REQUEST_TIMEOUT_SECONDS"
        ),
        GiteaError::Unauthorized => tracing::warn!(
            %endpoint,
            "gitea answered 401: check GITEA_TOKEN (or, in OAuth mode, the user's Gitea grant)"
        ),
        GiteaError::Forbidden(message) => tracing::warn!(
            %endpoint, %message,
            "gitea answered 403: check the token's scopes and the user's access to the repository"
        ),
        GiteaError::RateLimited { retry_after } => tracing::warn!(
            %endpoint, retry_after = ?retry_after,
            "gitea is rate limiting this gateway"
        ),
        GiteaError::Upstream { status, message } if *status >= 500 => tracing::warn!(
            %endpoint, status, %message,
            "gitea answered with a server error: check Gitea's own log"
        ),
        _ => {}
    }
}

/// A transport error without URLs, with the cause chain (the TLS or connect reason is
/// usually in the innermost one).
fn transport_detail(e: &reqwest::Error) -> String {
    let mut detail = without_url(e);
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = cause.source();
    }
    if let Some(url) = e.url() {
        detail = detail.replace(url.as_str(), "<gitea>");
    }
    detail
}

/// Reads a JSON body. A body of the wrong shape is a `Decode` error naming the endpoint
/// and the field path (`GET /repos/acme/app/issues: at `[0].milestone`: missing field
/// `id``), logged at WARN.
async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<(T, PageInfo), GiteaError> {
    let info = PageInfo::from_headers(resp.headers());
    let endpoint = Endpoint::of(&resp);
    let body = resp.bytes().await.map_err(|e| {
        let error = GiteaError::Transport(transport_detail(&e));
        diagnose(&endpoint.0, &error);
        error
    })?;
    let mut de = serde_json::Deserializer::from_slice(&body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| decode_error(&endpoint, e.path().to_string(), e.inner()))?;
    Ok((value, info))
}

/// `decode` for a body already read as a JSON value.
fn decode_value<T: DeserializeOwned>(
    endpoint: &Endpoint,
    value: serde_json::Value,
) -> Result<T, GiteaError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| decode_error(endpoint, e.path().to_string(), e.inner()))
}

fn decode_error(endpoint: &Endpoint, path: String, inner: &serde_json::Error) -> GiteaError {
    // serde's own message ends with " at line L column C", which says nothing here.
    let message = inner.to_string();
    let message = match message.rfind(" at line ") {
        Some(cut) if inner.line() > 0 => message[..cut].to_string(),
        _ => message,
    };
    let error = if path == "." {
        GiteaError::Decode(format!("{endpoint}: {message}"))
    } else {
        GiteaError::Decode(format!("{endpoint}: at `{path}`: {message}"))
    };
    tracing::warn!(%endpoint, field = %path, error = %error, "gitea response not understood: check that GITEA_URL points at Gitea 1.2x or later");
    error
}

/// reqwest errors carry the URL; keep hosts and query strings out of messages.
fn without_url(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    if let Some(url) = e.url() {
        msg = msg.replace(url.as_str(), "<gitea>");
    }
    msg
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}
