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

use crate::auth::Credential;
use crate::config::Config;
pub use pagination::{walk_pages, PageInfo, PageRequest, GITEA_DEFAULT_LIMIT, GITEA_MAX_LIMIT};
pub use types::*;
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
            timeout: Duration::from_secs(c.request_timeout_seconds),
            max_file_size_bytes: c.max_file_size_bytes,
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
        let http = reqwest::Client::builder()
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

    /// `GET /user`
    pub async fn current_user(&self, cred: &Credential) -> Result<User, GiteaError> {
        let user: wire::User = self.get_json(cred, &["user"], &[]).await?.0;
        Ok(user.into())
    }

    /// `GET /version`
    pub async fn version(&self) -> Result<String, GiteaError> {
        let url = self.url(&["version"], &[])?;
        let resp = self.send(Method::GET, url, None).await?;
        let v: wire::Version = decode(resp).await?.0;
        Ok(v.version)
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
        let (value, _) = decode::<serde_json::Value>(resp).await?;
        if value.is_array() {
            let entries: Vec<wire::ContentsEntry> =
                serde_json::from_value(value).map_err(|e| GiteaError::Decode(e.to_string()))?;
            return Ok(Contents::Directory(
                entries.into_iter().map(Into::into).collect(),
            ));
        }
        let entry: wire::ContentsEntry =
            serde_json::from_value(value).map_err(|e| GiteaError::Decode(e.to_string()))?;
        if entry.kind != "file" {
            return Ok(Contents::Other(entry.into()));
        }
        let max = self.config.max_file_size_bytes;
        if entry.size > max {
            return Err(GiteaError::FileTooLarge {
                path: entry.path,
                size: entry.size,
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
            path: entry.path,
            name: entry.name,
            sha: entry.sha,
            size: entry.size,
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
        if blob.size > max {
            return Err(GiteaError::FileTooLarge {
                path: sha.to_string(),
                size: blob.size,
                max,
            });
        }
        blob.decode()
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
        Ok(p.permission.unwrap_or_else(|| "none".into()))
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
            .map_err(|e| GiteaError::Transport(without_url(&e)))?
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
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(Credential::Token(token)) = cred {
            req = req.header(AUTHORIZATION, format!("token {}", token.expose()));
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                GiteaError::Timeout(self.config.timeout.as_secs())
            } else {
                GiteaError::Transport(without_url(&e))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(error_for(status, resp, &path).await)
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

async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<(T, PageInfo), GiteaError> {
    let info = PageInfo::from_headers(resp.headers());
    let body = resp
        .bytes()
        .await
        .map_err(|e| GiteaError::Transport(without_url(&e)))?;
    let value = serde_json::from_slice(&body).map_err(|e| GiteaError::Decode(e.to_string()))?;
    Ok((value, info))
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
