//! Gitea write calls: the only requests that change anything. Each is one REST call; the
//! tools resolve names (labels, milestones) to ids before calling these.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::{decode, wire, Comment, GiteaClient, GiteaError, Issue, Label, Milestone};
use super::{Branch, PullRequest, Release};
use aegis_core::principal::Credential;

/// Fields of a new issue (ids already resolved).
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    pub title: String,
    pub body: Option<String>,
    pub labels: Vec<i64>,
    pub assignees: Vec<String>,
    pub milestone: Option<i64>,
}

/// Changes to an issue or pull request; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IssueEdit {
    pub title: Option<String>,
    pub body: Option<String>,
    /// `open` or `closed`
    pub state: Option<String>,
    /// `Some(0)` clears the milestone
    pub milestone: Option<i64>,
    pub assignees: Option<Vec<String>>,
}

/// Fields of a new pull request.
#[derive(Debug, Clone, Default)]
pub struct NewPullRequest {
    pub title: String,
    /// The branch with the changes
    pub head: String,
    /// The branch to merge into
    pub base: String,
    pub body: Option<String>,
}

/// Fields of a new or edited label.
#[derive(Debug, Clone, Default)]
pub struct LabelFields {
    pub name: Option<String>,
    /// `#rrggbb`
    pub color: Option<String>,
    pub description: Option<String>,
    pub exclusive: Option<bool>,
}

/// Fields of a new or edited release.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFields {
    pub tag_name: Option<String>,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: Option<bool>,
    pub prerelease: Option<bool>,
    pub target_commitish: Option<String>,
}

/// Inserts `key: value` when the value is present.
fn put<T: serde::Serialize>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_string(), json!(v));
    }
}

impl GiteaClient {
    async fn write<W: DeserializeOwned, D: From<W>>(
        &self,
        method: Method,
        cred: &Credential,
        segments: &[&str],
        body: Value,
    ) -> Result<D, GiteaError> {
        let url = self.url(segments, &[])?;
        let resp = self.send_body(method, url, Some(cred), Some(&body)).await?;
        let (w, _): (W, _) = decode(resp).await?;
        Ok(w.into())
    }

    /// `POST /repos/{owner}/{repo}/issues`
    pub async fn create_issue(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        issue: &NewIssue,
    ) -> Result<Issue, GiteaError> {
        let mut body = Map::new();
        body.insert("title".into(), json!(issue.title));
        put(&mut body, "body", issue.body.as_ref());
        if !issue.labels.is_empty() {
            body.insert("labels".into(), json!(issue.labels));
        }
        if !issue.assignees.is_empty() {
            body.insert("assignees".into(), json!(issue.assignees));
        }
        put(&mut body, "milestone", issue.milestone);
        self.write::<wire::Issue, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "issues"],
            Value::Object(body),
        )
        .await
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{index}` (issues and pull requests alike)
    pub async fn edit_issue(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        edit: &IssueEdit,
    ) -> Result<Issue, GiteaError> {
        let mut body = Map::new();
        put(&mut body, "title", edit.title.as_ref());
        put(&mut body, "body", edit.body.as_ref());
        put(&mut body, "state", edit.state.as_ref());
        put(&mut body, "milestone", edit.milestone);
        put(&mut body, "assignees", edit.assignees.as_ref());
        let n = number.to_string();
        self.write::<wire::Issue, _>(
            Method::PATCH,
            cred,
            &["repos", owner, repo, "issues", &n],
            Value::Object(body),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/issues/{index}/comments`
    pub async fn create_comment(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Comment, GiteaError> {
        let n = number.to_string();
        self.write::<wire::Comment, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "issues", &n, "comments"],
            json!({ "body": body }),
        )
        .await
    }

    /// `PATCH /repos/{owner}/{repo}/issues/comments/{id}`
    pub async fn edit_comment(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<Comment, GiteaError> {
        let id = id.to_string();
        self.write::<wire::Comment, _>(
            Method::PATCH,
            cred,
            &["repos", owner, repo, "issues", "comments", &id],
            json!({ "body": body }),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/issues/{index}/labels`: the issue's labels afterwards.
    pub async fn add_issue_labels(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        ids: &[i64],
    ) -> Result<Vec<Label>, GiteaError> {
        let n = number.to_string();
        let url = self.url(&["repos", owner, repo, "issues", &n, "labels"], &[])?;
        let body = json!({ "labels": ids });
        let resp = self
            .send_body(Method::POST, url, Some(cred), Some(&body))
            .await?;
        let (labels, _): (Vec<wire::Label>, _) = decode(resp).await?;
        Ok(labels.into_iter().map(Into::into).collect())
    }

    /// `DELETE /repos/{owner}/{repo}/issues/{index}/labels/{id}`
    pub async fn remove_issue_label(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        number: u64,
        id: i64,
    ) -> Result<(), GiteaError> {
        let (n, id) = (number.to_string(), id.to_string());
        let url = self.url(&["repos", owner, repo, "issues", &n, "labels", &id], &[])?;
        self.send_body(Method::DELETE, url, Some(cred), None)
            .await?;
        Ok(())
    }

    /// `POST /repos/{owner}/{repo}/labels`
    pub async fn create_label(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        label: &LabelFields,
    ) -> Result<Label, GiteaError> {
        let mut body = Map::new();
        put(&mut body, "name", label.name.as_ref());
        put(&mut body, "color", label.color.as_ref());
        put(&mut body, "description", label.description.as_ref());
        put(&mut body, "exclusive", label.exclusive);
        self.write::<wire::Label, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "labels"],
            Value::Object(body),
        )
        .await
    }

    /// `PATCH /repos/{owner}/{repo}/labels/{id}`
    pub async fn edit_label(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        id: i64,
        label: &LabelFields,
    ) -> Result<Label, GiteaError> {
        let mut body = Map::new();
        put(&mut body, "name", label.name.as_ref());
        put(&mut body, "color", label.color.as_ref());
        put(&mut body, "description", label.description.as_ref());
        put(&mut body, "exclusive", label.exclusive);
        let id = id.to_string();
        self.write::<wire::Label, _>(
            Method::PATCH,
            cred,
            &["repos", owner, repo, "labels", &id],
            Value::Object(body),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/pulls`
    pub async fn create_pull_request(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, GiteaError> {
        let mut map = Map::new();
        map.insert("title".into(), json!(pr.title));
        map.insert("head".into(), json!(pr.head));
        map.insert("base".into(), json!(pr.base));
        put(&mut map, "body", pr.body.as_ref());
        self.write::<wire::PullRequest, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "pulls"],
            Value::Object(map),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/releases`
    pub async fn create_release(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        release: &ReleaseFields,
    ) -> Result<Release, GiteaError> {
        self.write::<wire::Release, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "releases"],
            release_body(release),
        )
        .await
    }

    /// `PATCH /repos/{owner}/{repo}/releases/{id}`
    pub async fn edit_release(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        id: u64,
        release: &ReleaseFields,
    ) -> Result<Release, GiteaError> {
        let id = id.to_string();
        self.write::<wire::Release, _>(
            Method::PATCH,
            cred,
            &["repos", owner, repo, "releases", &id],
            release_body(release),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/branches`
    pub async fn create_branch(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        new_branch: &str,
        old_branch: Option<&str>,
    ) -> Result<Branch, GiteaError> {
        let mut body = Map::new();
        body.insert("new_branch_name".into(), json!(new_branch));
        put(&mut body, "old_branch_name", old_branch);
        self.write::<wire::Branch, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "branches"],
            Value::Object(body),
        )
        .await
    }

    /// `POST /repos/{owner}/{repo}/milestones`
    pub async fn create_milestone(
        &self,
        cred: &Credential,
        owner: &str,
        repo: &str,
        title: &str,
        description: Option<&str>,
        due_on: Option<&str>,
    ) -> Result<Milestone, GiteaError> {
        let mut body = Map::new();
        body.insert("title".into(), json!(title));
        put(&mut body, "description", description);
        put(&mut body, "due_on", due_on);
        self.write::<wire::Milestone, _>(
            Method::POST,
            cred,
            &["repos", owner, repo, "milestones"],
            Value::Object(body),
        )
        .await
    }
}

fn release_body(r: &ReleaseFields) -> Value {
    let mut body = Map::new();
    put(&mut body, "tag_name", r.tag_name.as_ref());
    put(&mut body, "name", r.name.as_ref());
    put(&mut body, "body", r.body.as_ref());
    put(&mut body, "draft", r.draft);
    put(&mut body, "prerelease", r.prerelease);
    put(&mut body, "target_commitish", r.target_commitish.as_ref());
    Value::Object(body)
}
