//! The decoding contract, field by field (issue 17): for every endpoint the Gitea client
//! calls and every webhook event the gateway parses, each field the vendored swagger does
//! not make identifying (`aegis_gitea::IDENTIFYING_FIELDS`) is set to `null` in
//! one variant and removed in another, recursively through nested objects and the first
//! item of every list. Every such variant must decode; every identifying field removed
//! must fail with an error naming the endpoint and the field path.
//!
//! The bodies are the simulator's real responses (reads; writes reuse the read of the same
//! definition) and, for webhooks, payloads built from the swagger's definitions. The bulk
//! runs through the real `GiteaClient` against a stub that answers the variant; a
//! representative subset also goes end to end, through a tool call and a signed delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aegis_automation::webhook::{self, WebhookEvent};
use aegis_core::config::Secret;
use aegis_edge::auth::Credential;
use aegis_gitea::{
    GiteaClient, GiteaClientConfig, GiteaError, IssueEdit, LabelFields, NewIssue, NewPullRequest,
    PageRequest, ReleaseFields, TreeRequest, IDENTIFYING_FIELDS,
};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{json, Map, Value};

use crate::sim::{demo_seed, swagger_path, ALICE};
use crate::support;

// ---------------------------------------------------------------- the swagger

struct Swagger {
    definitions: Map<String, Value>,
}

impl Swagger {
    fn load() -> Swagger {
        let text = std::fs::read_to_string(swagger_path()).expect("swagger");
        let doc: Value = serde_json::from_str(&text).expect("swagger JSON");
        Swagger {
            definitions: doc["definitions"].as_object().expect("definitions").clone(),
        }
    }

    /// `(definition name, its schema)` of a `$ref` schema, or `(None, schema)`.
    fn resolve<'a>(&'a self, schema: &'a Value) -> (Option<&'a str>, &'a Value) {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/definitions/");
                (Some(name), &self.definitions[name])
            }
            None => (None, schema),
        }
    }

    /// An example value of `schema`, every property filled (nested definitions down to
    /// `depth`), as Gitea would send it with nothing empty.
    fn example(&self, schema: &Value, depth: usize) -> Value {
        let (_, schema) = self.resolve(schema);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let mut out = Map::new();
            for (key, prop) in props {
                let is_object = self.resolve(prop).1.get("properties").is_some();
                let is_list = prop.get("type").and_then(Value::as_str) == Some("array");
                if depth == 0 && (is_object || is_list) {
                    continue;
                }
                out.insert(key.clone(), self.example(prop, depth.saturating_sub(1)));
            }
            return Value::Object(out);
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => json!([self.example(&schema["items"], depth)]),
            Some("integer") => json!(7),
            Some("number") => json!(1.5),
            Some("boolean") => json!(true),
            Some("object") => json!({}),
            _ if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
                json!("2026-11-26T10:00:00Z")
            }
            _ => json!("x"),
        }
    }
}

// ---------------------------------------------------------------- mutations

/// One step of a path into a JSON document, printed as serde_path_to_error does.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[derive(Clone, Debug)]
struct Mutation {
    /// The object holding the field
    parent: Vec<Step>,
    field: String,
    /// `true`: set to `null`; `false`: removed
    null: bool,
    required: bool,
}

impl Mutation {
    fn path(&self) -> String {
        let mut p = self.parent.clone();
        p.push(Step::Key(self.field.clone()));
        display(&p)
    }

    fn apply(&self, doc: &Value) -> Value {
        let mut doc = doc.clone();
        let mut at = &mut doc;
        for step in &self.parent {
            at = match step {
                Step::Key(k) => &mut at[k.as_str()],
                Step::Index(i) => &mut at[*i],
            };
        }
        let obj = at.as_object_mut().expect("an object");
        if self.null {
            obj.insert(self.field.clone(), Value::Null);
        } else {
            obj.remove(&self.field);
        }
        doc
    }
}

/// Nested objects of a response the client does not read (`Commit.commit.tree`): their
/// fields are never required.
const UNREAD: &[&str] = &["commit.tree."];

/// How a field is judged required: by definition (the decoding contract of the client),
/// or by path (a webhook event, which reads only some of what it is sent).
enum Rules<'a> {
    Definitions,
    Paths(&'a [&'a str]),
}

impl Rules<'_> {
    fn required(
        &self,
        definition: Option<&str>,
        path: &str,
        field: &str,
        obj: &Map<String, Value>,
    ) -> bool {
        let alternatives: Vec<&str> = match self {
            Rules::Definitions => {
                let Some(def) = definition else {
                    return false;
                };
                // Objects the client never reads: nothing in them can be required.
                let generic = generic_path(path);
                if UNREAD
                    .iter()
                    .any(|u| generic.starts_with(u) || generic.contains(&format!(".{u}")))
                {
                    return false;
                }
                let Some((_, fields)) = IDENTIFYING_FIELDS.iter().find(|(d, _)| *d == def) else {
                    return false;
                };
                match fields.iter().find(|f| f.split('|').any(|alt| alt == field)) {
                    Some(f) => f.split('|').collect(),
                    None => return false,
                }
            }
            Rules::Paths(paths) => {
                let generic = generic_path(path);
                if !paths.contains(&generic.as_str()) {
                    return false;
                }
                vec![field]
            }
        };
        // `a|b`: required only when no other alternative is there to stand in.
        !alternatives
            .iter()
            .any(|alt| *alt != field && obj.get(*alt).is_some_and(|v| !v.is_null()))
    }
}

/// `commits[0].id` as `commits[].id`.
fn generic_path(path: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for c in path.chars() {
        match c {
            '[' => {
                skipping = true;
                out.push('[');
            }
            ']' => {
                skipping = false;
                out.push(']');
            }
            _ if skipping => {}
            c => out.push(c),
        }
    }
    out
}

fn mutations(swagger: &Swagger, doc: &Value, schema: &Value, rules: &Rules<'_>) -> Vec<Mutation> {
    let mut out = Vec::new();
    walk(swagger, doc, schema, rules, &mut Vec::new(), &mut out);
    out
}

fn walk(
    swagger: &Swagger,
    value: &Value,
    schema: &Value,
    rules: &Rules<'_>,
    path: &mut Vec<Step>,
    out: &mut Vec<Mutation>,
) {
    let (definition, schema) = swagger.resolve(schema);
    match value {
        Value::Array(items) => {
            if let (Some(first), Some(item_schema)) = (items.first(), schema.get("items")) {
                path.push(Step::Index(0));
                walk(swagger, first, item_schema, rules, path, out);
                path.pop();
            }
        }
        Value::Object(obj) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return; // a map (`languages`) or a schema-less object: no fields to vary
            };
            for (field, child) in obj {
                let mut child_path = path.clone();
                child_path.push(Step::Key(field.clone()));
                let required = rules.required(definition, &display(&child_path), field, obj);
                for null in [true, false] {
                    out.push(Mutation {
                        parent: path.clone(),
                        field: field.clone(),
                        null,
                        required,
                    });
                }
                if let Some(prop) = props.get(field) {
                    path.push(Step::Key(field.clone()));
                    walk(swagger, child, prop, rules, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- a stub Gitea

/// Answers every request with the body it holds: the variant under test.
#[derive(Clone, Default)]
pub(crate) struct Stub {
    body: Arc<Mutex<String>>,
}

impl Stub {
    pub(crate) async fn spawn() -> (Stub, String) {
        let stub = Stub::default();
        let held = stub.clone();
        let app = axum::Router::new().fallback(move || {
            let held = held.clone();
            async move {
                let body = held
                    .body
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                ([(http::header::CONTENT_TYPE, "application/json")], body)
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (stub, url)
    }

    pub(crate) fn set(&self, body: &Value) {
        *self.body.lock().unwrap_or_else(PoisonError::into_inner) = body.to_string();
    }
}

// ---------------------------------------------------------------- the client's endpoints

/// A client call, against whatever Gitea answers.
#[derive(Clone, Copy, Debug)]
enum Call {
    Version,
    CurrentUser,
    MyRepos,
    Repo,
    OrgRepos,
    MyOrgs,
    Tree,
    ContentsFile,
    ContentsDir,
    Blob,
    Permission,
    Commits,
    Commit,
    Compare,
    Issues,
    Issue,
    Comments,
    Pulls,
    Pull,
    PullFiles,
    PullCommits,
    Labels,
    Tags,
    Releases,
    Release,
    LatestRelease,
    Branches,
    Branch,
    Milestones,
    Status,
    Topics,
    Languages,
    CreateIssue,
    EditIssue,
    CreateComment,
    EditComment,
    AddLabels,
    CreateLabel,
    EditLabel,
    CreatePull,
    CreateRelease,
    EditRelease,
    CreateBranch,
    CreateMilestone,
}

async fn call(client: &GiteaClient, cred: &Credential, which: Call) -> Result<(), GiteaError> {
    let page = PageRequest::new(None, None);
    let (o, r) = ("acme", "app");
    match which {
        Call::Version => client.version().await.map(drop),
        Call::CurrentUser => client.current_user(cred).await.map(drop),
        Call::MyRepos => client.list_my_repositories(cred, page).await.map(drop),
        Call::Repo => client.get_repository(cred, o, r).await.map(drop),
        Call::OrgRepos => client.list_org_repositories(cred, o, page).await.map(drop),
        Call::MyOrgs => client.list_my_organizations(cred, page).await.map(drop),
        Call::Tree => {
            let req = TreeRequest {
                reference: "main".into(),
                recursive: false,
                page: 1,
                per_page: 5,
            };
            client.get_tree(cred, o, r, &req).await.map(drop)
        }
        Call::ContentsFile => client
            .get_contents(cred, o, r, "README.md", None)
            .await
            .map(drop),
        Call::ContentsDir => client.get_contents(cred, o, r, "", None).await.map(drop),
        Call::Blob => client.get_blob(cred, o, r, "0123abcd").await.map(drop),
        Call::Permission => client
            .get_repo_permission(cred, o, r, "bob")
            .await
            .map(drop),
        Call::Commits => client.list_commits(cred, o, r, None, page).await.map(drop),
        Call::Commit => client.get_commit(cred, o, r, "0123abcd").await.map(drop),
        Call::Compare => client.compare(cred, o, r, "v0.1.0", "main").await.map(drop),
        Call::Issues => client
            .list_issues(cred, o, r, "all", &[], page)
            .await
            .map(drop),
        Call::Issue => client.get_issue(cred, o, r, 1).await.map(drop),
        Call::Comments => client.list_issue_comments(cred, o, r, 1).await.map(drop),
        Call::Pulls => client
            .list_pull_requests(cred, o, r, "all", page)
            .await
            .map(drop),
        Call::Pull => client.get_pull_request(cred, o, r, 1).await.map(drop),
        Call::PullFiles => client
            .list_pull_request_files(cred, o, r, 1, page)
            .await
            .map(drop),
        Call::PullCommits => client
            .list_pull_request_commits(cred, o, r, 1, page)
            .await
            .map(drop),
        Call::Labels => client.list_labels(cred, o, r, page).await.map(drop),
        Call::Tags => client.list_tags(cred, o, r, page).await.map(drop),
        Call::Releases => client.list_releases(cred, o, r, page).await.map(drop),
        Call::Release => client.get_release(cred, o, r, 1).await.map(drop),
        Call::LatestRelease => client.get_latest_release(cred, o, r).await.map(drop),
        Call::Branches => client.list_branches(cred, o, r, page).await.map(drop),
        Call::Branch => client.get_branch(cred, o, r, "main").await.map(drop),
        Call::Milestones => client
            .list_milestones(cred, o, r, "all", page)
            .await
            .map(drop),
        Call::Status => client
            .get_combined_status(cred, o, r, "main")
            .await
            .map(drop),
        Call::Topics => client.get_topics(cred, o, r).await.map(drop),
        Call::Languages => client.get_languages(cred, o, r).await.map(drop),
        Call::CreateIssue => {
            let issue = NewIssue {
                title: "t".into(),
                ..NewIssue::default()
            };
            client.create_issue(cred, o, r, &issue).await.map(drop)
        }
        Call::EditIssue => {
            let edit = IssueEdit {
                title: Some("t".into()),
                ..IssueEdit::default()
            };
            client.edit_issue(cred, o, r, 1, &edit).await.map(drop)
        }
        Call::CreateComment => client.create_comment(cred, o, r, 1, "b").await.map(drop),
        Call::EditComment => client.edit_comment(cred, o, r, 1, "b").await.map(drop),
        Call::AddLabels => client.add_issue_labels(cred, o, r, 1, &[1]).await.map(drop),
        Call::CreateLabel => client
            .create_label(cred, o, r, &LabelFields::default())
            .await
            .map(drop),
        Call::EditLabel => client
            .edit_label(cred, o, r, 1, &LabelFields::default())
            .await
            .map(drop),
        Call::CreatePull => client
            .create_pull_request(cred, o, r, &NewPullRequest::default())
            .await
            .map(drop),
        Call::CreateRelease => client
            .create_release(cred, o, r, &ReleaseFields::default())
            .await
            .map(drop),
        Call::EditRelease => client
            .edit_release(cred, o, r, 1, &ReleaseFields::default())
            .await
            .map(drop),
        Call::CreateBranch => client.create_branch(cred, o, r, "b", None).await.map(drop),
        Call::CreateMilestone => client
            .create_milestone(cred, o, r, "m", None, None)
            .await
            .map(drop),
    }
}

/// `(call, the method and path it sends, the simulator path of a real body, the schema)`.
fn endpoints(ids: &Ids) -> Vec<(Call, &'static str, String, Value)> {
    let one = |d: &str| json!({"$ref": format!("#/definitions/{d}")});
    let many = |d: &str| json!({"type": "array", "items": {"$ref": format!("#/definitions/{d}")}});
    let app = "/repos/acme/app";
    let (issue, pull, release) = (ids.issue, ids.pull, ids.release);
    let (commit, blob) = (&ids.commit, &ids.blob);
    vec![
        (
            Call::Version,
            "GET /version",
            "/version".into(),
            one("ServerVersion"),
        ),
        (Call::CurrentUser, "GET /user", "/user".into(), one("User")),
        (
            Call::MyRepos,
            "GET /user/repos",
            "/user/repos".into(),
            many("Repository"),
        ),
        (
            Call::Repo,
            "GET /repos/acme/app",
            app.into(),
            one("Repository"),
        ),
        (
            Call::OrgRepos,
            "GET /orgs/acme/repos",
            "/orgs/acme/repos".into(),
            many("Repository"),
        ),
        (
            Call::MyOrgs,
            "GET /user/orgs",
            "/user/orgs".into(),
            many("Organization"),
        ),
        (
            Call::Tree,
            "GET /repos/acme/app/git/trees/main",
            format!("{app}/git/trees/main?per_page=5"),
            one("GitTreeResponse"),
        ),
        (
            Call::ContentsFile,
            "GET /repos/acme/app/contents/README.md",
            format!("{app}/contents/README.md"),
            one("ContentsResponse"),
        ),
        (
            Call::ContentsDir,
            "GET /repos/acme/app/contents",
            format!("{app}/contents"),
            many("ContentsResponse"),
        ),
        (
            Call::Blob,
            "GET /repos/acme/app/git/blobs/0123abcd",
            format!("{app}/git/blobs/{blob}"),
            one("GitBlobResponse"),
        ),
        (
            Call::Permission,
            "GET /repos/acme/app/collaborators/bob/permission",
            format!("{app}/collaborators/bob/permission"),
            one("RepoCollaboratorPermission"),
        ),
        (
            Call::Commits,
            "GET /repos/acme/app/commits",
            format!("{app}/commits?limit=3"),
            many("Commit"),
        ),
        (
            Call::Commit,
            "GET /repos/acme/app/git/commits/0123abcd",
            format!("{app}/git/commits/{commit}?stat=true&files=true"),
            one("Commit"),
        ),
        (
            Call::Compare,
            "GET /repos/acme/app/compare/v0.1.0...main",
            format!("{app}/compare/v0.1.0...main"),
            one("Compare"),
        ),
        (
            Call::Issues,
            "GET /repos/acme/app/issues",
            format!("{app}/issues?type=issues&state=all&limit=3"),
            many("Issue"),
        ),
        (
            Call::Issue,
            "GET /repos/acme/app/issues/1",
            format!("{app}/issues/{issue}"),
            one("Issue"),
        ),
        (
            Call::Comments,
            "GET /repos/acme/app/issues/1/comments",
            format!("{app}/issues/{issue}/comments"),
            many("Comment"),
        ),
        (
            Call::Pulls,
            "GET /repos/acme/app/pulls",
            format!("{app}/pulls?state=all&limit=2"),
            many("PullRequest"),
        ),
        (
            Call::Pull,
            "GET /repos/acme/app/pulls/1",
            format!("{app}/pulls/{pull}"),
            one("PullRequest"),
        ),
        (
            Call::PullFiles,
            "GET /repos/acme/app/pulls/1/files",
            format!("{app}/pulls/{pull}/files"),
            many("ChangedFile"),
        ),
        (
            Call::PullCommits,
            "GET /repos/acme/app/pulls/1/commits",
            format!("{app}/pulls/{pull}/commits"),
            many("Commit"),
        ),
        (
            Call::Labels,
            "GET /repos/acme/app/labels",
            format!("{app}/labels?limit=3"),
            many("Label"),
        ),
        (
            Call::Tags,
            "GET /repos/acme/app/tags",
            format!("{app}/tags?limit=3"),
            many("Tag"),
        ),
        (
            Call::Releases,
            "GET /repos/acme/app/releases",
            format!("{app}/releases?limit=3"),
            many("Release"),
        ),
        (
            Call::Release,
            "GET /repos/acme/app/releases/1",
            format!("{app}/releases/{release}"),
            one("Release"),
        ),
        (
            Call::LatestRelease,
            "GET /repos/acme/app/releases/latest",
            format!("{app}/releases/latest"),
            one("Release"),
        ),
        (
            Call::Branches,
            "GET /repos/acme/app/branches",
            format!("{app}/branches?limit=3"),
            many("Branch"),
        ),
        (
            Call::Branch,
            "GET /repos/acme/app/branches/main",
            format!("{app}/branches/main"),
            one("Branch"),
        ),
        (
            Call::Milestones,
            "GET /repos/acme/app/milestones",
            format!("{app}/milestones?state=all"),
            many("Milestone"),
        ),
        (
            Call::Status,
            "GET /repos/acme/app/commits/main/status",
            format!("{app}/commits/main/status"),
            one("CombinedStatus"),
        ),
        (
            Call::Topics,
            "GET /repos/acme/app/topics",
            format!("{app}/topics"),
            one("TopicName"),
        ),
        (
            Call::Languages,
            "GET /repos/acme/app/languages",
            format!("{app}/languages"),
            json!({"type": "object"}),
        ),
        // Writes answer the same definitions as the reads above.
        (
            Call::CreateIssue,
            "POST /repos/acme/app/issues",
            format!("{app}/issues/{issue}"),
            one("Issue"),
        ),
        (
            Call::EditIssue,
            "PATCH /repos/acme/app/issues/1",
            format!("{app}/issues/{issue}"),
            one("Issue"),
        ),
        (
            Call::CreateComment,
            "POST /repos/acme/app/issues/1/comments",
            format!("{app}/issues/{issue}/comments"),
            many("Comment"),
        ),
        (
            Call::EditComment,
            "PATCH /repos/acme/app/issues/comments/1",
            format!("{app}/issues/{issue}/comments"),
            many("Comment"),
        ),
        (
            Call::AddLabels,
            "POST /repos/acme/app/issues/1/labels",
            format!("{app}/labels?limit=3"),
            many("Label"),
        ),
        (
            Call::CreateLabel,
            "POST /repos/acme/app/labels",
            format!("{app}/labels?limit=3"),
            many("Label"),
        ),
        (
            Call::EditLabel,
            "PATCH /repos/acme/app/labels/1",
            format!("{app}/labels?limit=3"),
            many("Label"),
        ),
        (
            Call::CreatePull,
            "POST /repos/acme/app/pulls",
            format!("{app}/pulls/{pull}"),
            one("PullRequest"),
        ),
        (
            Call::CreateRelease,
            "POST /repos/acme/app/releases",
            format!("{app}/releases/{release}"),
            one("Release"),
        ),
        (
            Call::EditRelease,
            "PATCH /repos/acme/app/releases/1",
            format!("{app}/releases/{release}"),
            one("Release"),
        ),
        (
            Call::CreateBranch,
            "POST /repos/acme/app/branches",
            format!("{app}/branches/main"),
            one("Branch"),
        ),
        (
            Call::CreateMilestone,
            "POST /repos/acme/app/milestones",
            format!("{app}/milestones?state=all"),
            many("Milestone"),
        ),
    ]
}

/// Identifiers of the demo data the read paths need.
struct Ids {
    issue: i64,
    pull: i64,
    release: i64,
    commit: String,
    blob: String,
}

async fn sim_get(base: &str, path: &str) -> Value {
    crate::sim::gitea_get(base, path).await
}

/// A body to answer: the simulator's, with a list's first item alone kept when the call
/// expects one object (writes answering a definition read as a list).
fn body_for(call: Call, real: Value) -> Value {
    let single = matches!(
        call,
        Call::CreateComment
            | Call::EditComment
            | Call::CreateLabel
            | Call::EditLabel
            | Call::CreateMilestone
    );
    match real {
        Value::Array(items) if single => items.into_iter().next().expect("an item"),
        other => other,
    }
}

fn schema_for(call: Call, schema: Value) -> Value {
    match (call, schema.get("items")) {
        (
            Call::CreateComment
            | Call::EditComment
            | Call::CreateLabel
            | Call::EditLabel
            | Call::CreateMilestone,
            Some(items),
        ) => items.clone(),
        _ => schema,
    }
}

/// The outcome of one variant, checked; `Err` describes what went wrong.
fn judge(endpoint: &str, m: &Mutation, result: Result<(), GiteaError>) -> Result<(), String> {
    let what = format!(
        "{endpoint}: `{}` {}",
        m.path(),
        if m.null { "null" } else { "removed" }
    );
    match (m.required, result) {
        (false, Ok(())) => Ok(()),
        (false, Err(e)) => Err(format!("{what}: must decode, got: {e}")),
        (true, Ok(())) => Err(format!("{what}: identifying, must fail, decoded")),
        (true, Err(GiteaError::Decode(message))) => {
            let parent = display(&m.parent);
            let names_field = message.contains(&format!("`{}`", m.field));
            let names_parent = parent.is_empty() || message.contains(&format!("`{parent}`"));
            let names_endpoint = message.contains(endpoint);
            if m.null || (names_field && names_parent && names_endpoint) {
                Ok(())
            } else {
                Err(format!(
                    "{what}: the error must name `{endpoint}` and the path, got: {message}"
                ))
            }
        }
        (true, Err(e)) => Err(format!("{what}: must be a decode error, got: {e}")),
    }
}

#[tokio::test]
async fn every_non_identifying_field_of_every_endpoint_may_be_null_or_absent() {
    let swagger = Swagger::load();
    let sim = gitea_sim::spawn(demo_seed()).await.expect("simulator");
    let base = sim.base_url.clone();
    let first = |v: Value, key: &str| v[0][key].clone();
    let ids = Ids {
        // One with comments, so that its comment list has an item to vary.
        issue: sim_get(
            &base,
            "/repos/acme/app/issues?type=issues&state=all&limit=50",
        )
        .await
        .as_array()
        .expect("issues")
        .iter()
        .find(|i| i["comments"].as_i64() > Some(0))
        .expect("an issue with comments")["number"]
            .as_i64()
            .expect("number"),
        pull: first(
            sim_get(&base, "/repos/acme/app/pulls?state=all").await,
            "number",
        )
        .as_i64()
        .expect("a pull request"),
        release: first(sim_get(&base, "/repos/acme/app/releases").await, "id")
            .as_i64()
            .expect("a release"),
        commit: first(
            sim_get(&base, "/repos/acme/app/commits?limit=1").await,
            "sha",
        )
        .as_str()
        .expect("a commit")
        .to_string(),
        blob: sim_get(&base, "/repos/acme/app/git/trees/main").await["tree"]
            .as_array()
            .expect("a tree")
            .iter()
            .find(|e| e["type"] == "blob")
            .expect("a blob")["sha"]
            .as_str()
            .expect("sha")
            .to_string(),
    };
    let (stub, stub_url) = Stub::spawn().await;
    let client = GiteaClient::new(GiteaClientConfig {
        api_base: url::Url::parse(&format!("{stub_url}/api/v1/")).expect("url"),
        timeout: std::time::Duration::from_secs(10),
        max_file_size_bytes: 10 * 1024 * 1024,
    })
    .expect("client");
    let cred = Credential::Token(Secret::new(ALICE));
    let mut failures = Vec::new();
    let (mut variants, mut identifying) = (0usize, 0usize);
    let endpoint_list = endpoints(&ids);
    for (which, endpoint, sim_path, schema) in &endpoint_list {
        let real = body_for(*which, sim_get(&base, sim_path).await);
        let schema = schema_for(*which, schema.clone());
        stub.set(&real);
        if let Err(e) = call(&client, &cred, *which).await {
            failures.push(format!(
                "{endpoint}: the real response does not decode: {e}"
            ));
            continue;
        }
        for m in mutations(&swagger, &real, &schema, &Rules::Definitions) {
            stub.set(&m.apply(&real));
            let result = call(&client, &cred, *which).await;
            variants += 1;
            identifying += usize::from(m.required);
            if let Err(why) = judge(endpoint, &m, result) {
                failures.push(why);
            }
        }
    }
    println!(
        "decoding: {} endpoints, {variants} variants ({identifying} of identifying fields)",
        endpoint_list.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(variants > 1000, "only {variants} variants");
}

#[tokio::test]
async fn a_wrong_shape_is_an_error_naming_the_field_not_an_empty_success() {
    let (stub, stub_url) = Stub::spawn().await;
    let client = GiteaClient::new(GiteaClientConfig {
        api_base: url::Url::parse(&format!("{stub_url}/api/v1/")).expect("url"),
        timeout: std::time::Duration::from_secs(10),
        max_file_size_bytes: 1024,
    })
    .expect("client");
    let cred = Credential::Token(Secret::new(ALICE));
    // A `/git/refs/tags` body on `/tags`.
    stub.set(&json!([{"ref": "refs/tags/v1", "url": "x", "object": {"type": "commit", "sha": "abc", "url": "x"}}]));
    let e = call(&client, &cred, Call::Tags)
        .await
        .expect_err("refs are not tags");
    assert!(
        e.to_string()
            .contains("GET /repos/acme/app/tags: at `[0]`: missing field `name`"),
        "{e}"
    );
    // `milestone: {}` is not milestone 0.
    stub.set(&json!({"number": 3, "milestone": {}}));
    let e = call(&client, &cred, Call::Issue)
        .await
        .expect_err("no milestone id");
    assert!(
        e.to_string().contains("at `milestone`: missing field `id`"),
        "{e}"
    );
    // Fallbacks: `username` for `login`, the owner from `full_name`, counts from lists.
    stub.set(&json!({"id": 1, "username": "gogs-user"}));
    let user = client
        .current_user(&cred)
        .await
        .expect("a username is a login");
    assert_eq!(user.login, "gogs-user");
    stub.set(&json!({"full_name": "acme/app", "owner": {"id": 2}}));
    let repo = client
        .get_repository(&cred, "acme", "app")
        .await
        .expect("repo");
    assert_eq!((repo.owner.as_str(), repo.name.as_str()), ("acme", "app"));
    stub.set(&json!({"commits": [{"sha": "a"}, {"sha": "b"}]}));
    let cmp = client
        .compare(&cred, "acme", "app", "a", "b")
        .await
        .expect("compare");
    assert_eq!(cmp.total_commits, 2);
    stub.set(&json!({"id": 1, "login": ""}));
    let e = client
        .current_user(&cred)
        .await
        .expect_err("a user with no login");
    assert!(e.to_string().contains("`login`"), "{e}");
}

// ---------------------------------------------------------------- tools end to end

#[tokio::test]
async fn tools_succeed_on_every_variant_of_their_response() {
    let swagger = Swagger::load();
    let sim = gitea_sim::spawn(demo_seed()).await.expect("simulator");
    let base = sim.base_url.clone();
    let (stub, stub_url) = Stub::spawn().await;
    let router = support::router(&support::vars(
        &stub_url,
        ALICE,
        &[
            ("RATE_LIMIT_PER_MINUTE", "1000000"),
            ("TOKEN_RATE_LIMIT_PER_MINUTE", "1000000"),
        ],
    ))
    .await;
    let number = |v: Value| v[0]["number"].as_i64().expect("number");
    let ids: HashMap<&str, i64> = [
        (
            "get_issue",
            number(sim_get(&base, "/repos/acme/app/issues?type=issues&state=all").await),
        ),
        (
            "get_pull_request",
            number(sim_get(&base, "/repos/acme/app/pulls?state=all").await),
        ),
        ("list_releases", 0),
    ]
    .into_iter()
    .collect();
    let cases: [(&str, Value, &str, Value); 3] = [
        (
            "get_issue",
            json!({"owner": "acme", "repo": "app", "issue_number": 1}),
            "/repos/acme/app/issues/1",
            json!({"$ref": "#/definitions/Issue"}),
        ),
        (
            "get_pull_request",
            json!({"owner": "acme", "repo": "app", "pull_number": 1}),
            "/repos/acme/app/pulls/1",
            json!({"$ref": "#/definitions/PullRequest"}),
        ),
        (
            "list_releases",
            json!({"owner": "acme", "repo": "app"}),
            "/repos/acme/app/releases?limit=2",
            json!({"type": "array", "items": {"$ref": "#/definitions/Release"}}),
        ),
    ];
    let mut failures = Vec::new();
    let mut variants = 0;
    for (tool, mut arguments, sim_path, schema) in cases {
        // The demo data's own numbers, in the arguments and the path alike.
        let sim_path = sim_path.replace("/1", &format!("/{}", ids[tool]));
        for key in ["issue_number", "pull_number"] {
            if arguments.get(key).is_some() {
                arguments[key] = json!(ids[tool]);
            }
        }
        let real = sim_get(&base, &sim_path).await;
        // The fields a tool renders sit at most two objects deep; deeper ones (a pull
        // request's head repository's owner) are covered at the decode level above.
        let all = std::iter::once(None).chain(
            mutations(&swagger, &real, &schema, &Rules::Definitions)
                .into_iter()
                .filter(|m| !m.required && m.parent.len() <= 2)
                .map(Some),
        );
        for m in all {
            let body = m.as_ref().map_or_else(|| real.clone(), |m| m.apply(&real));
            stub.set(&body);
            let result = support::call_tool(&router, tool, arguments.clone()).await;
            variants += 1;
            if result.get("content").is_none() || result["isError"] == true {
                let what = m.map_or("the real response".into(), |m| m.path());
                failures.push(format!("{tool}: {what}: {result}"));
            }
        }
    }
    println!("tools: {variants} variants end to end");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- webhook events

/// `(event, payload built from the swagger, its schema, the paths it must carry)`.
fn events(swagger: &Swagger) -> Vec<(&'static str, Value, Value, &'static [&'static str])> {
    let def = |d: &str| json!({"$ref": format!("#/definitions/{d}")});
    let list = |d: &str| json!({"type": "array", "items": def(d)});
    let string = json!({"type": "string"});
    let object = |props: Vec<(&str, Value)>| json!({"type": "object", "properties": props.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<String, Value>>()});
    // Nested objects one level deep: an issue's user and milestone are filled, their own
    // nested objects are not (the parser reads none of them).
    let ex = |d: &str| swagger.example(&def(d), 1);
    let mut repository = ex("Repository");
    repository["full_name"] = json!("lab/deps-tidy");
    repository["name"] = json!("deps-tidy");
    repository["owner"]["login"] = json!("lab");
    repository["default_branch"] = json!("main");
    let common = |mut v: Value| {
        v["repository"] = repository.clone();
        v["sender"] = ex("User");
        v
    };
    let mut commit = ex("PayloadCommit");
    commit["modified"] = json!(["README.md"]);
    let push = common(json!({
        "ref": "refs/heads/main", "before": "a", "after": "b", "compare_url": "x",
        "commits": [commit.clone()], "total_commits": 1, "head_commit": commit,
        "pusher": ex("User"),
    }));
    let push_schema = object(vec![
        ("ref", string.clone()),
        ("before", string.clone()),
        ("after", string.clone()),
        ("compare_url", string.clone()),
        ("commits", list("PayloadCommit")),
        ("total_commits", json!({"type": "integer"})),
        ("head_commit", def("PayloadCommit")),
        ("repository", def("Repository")),
        ("pusher", def("User")),
        ("sender", def("User")),
    ]);
    let issue_schema = object(vec![
        ("action", string.clone()),
        ("number", json!({"type": "integer"})),
        ("issue", def("Issue")),
        ("repository", def("Repository")),
        ("sender", def("User")),
    ]);
    let issues = common(json!({"action": "opened", "number": 7, "issue": ex("Issue")}));
    let comment_schema = object(vec![
        ("action", string.clone()),
        ("issue", def("Issue")),
        ("comment", def("Comment")),
        ("is_pull", json!({"type": "boolean"})),
        ("repository", def("Repository")),
        ("sender", def("User")),
    ]);
    let comment = common(json!({
        "action": "created", "issue": ex("Issue"), "comment": ex("Comment"), "is_pull": false,
    }));
    let pull_schema = object(vec![
        ("action", string.clone()),
        ("number", json!({"type": "integer"})),
        ("pull_request", def("PullRequest")),
        ("repository", def("Repository")),
        ("sender", def("User")),
    ]);
    let pull = common(json!({"action": "opened", "number": 7, "pull_request": ex("PullRequest")}));
    let release_schema = object(vec![
        ("action", string.clone()),
        ("release", def("Release")),
        ("repository", def("Repository")),
        ("sender", def("User")),
    ]);
    let release = common(json!({"action": "published", "release": ex("Release")}));
    let ref_schema = object(vec![
        ("ref", string.clone()),
        ("ref_type", string.clone()),
        ("sha", string.clone()),
        ("repository", def("Repository")),
        ("sender", def("User")),
    ]);
    let created = common(json!({"ref": "feature/x", "ref_type": "branch", "sha": "abc"}));
    vec![
        (
            "push",
            push,
            push_schema,
            &["ref", "repository", "commits[].id"],
        ),
        (
            "issues",
            issues,
            issue_schema,
            &["action", "issue", "issue.number", "repository"],
        ),
        (
            "issue_comment",
            comment,
            comment_schema,
            &[
                "action",
                "issue",
                "issue.number",
                "comment",
                "comment.id",
                "repository",
            ],
        ),
        (
            "pull_request",
            pull,
            pull_schema,
            &[
                "action",
                "pull_request",
                "pull_request.number",
                "repository",
            ],
        ),
        (
            "release",
            release,
            release_schema,
            &["action", "release", "release.tag_name", "repository"],
        ),
        (
            "create",
            created.clone(),
            ref_schema.clone(),
            &["ref", "ref_type", "repository"],
        ),
        (
            "delete",
            created,
            ref_schema,
            &["ref", "ref_type", "repository"],
        ),
    ]
}

#[tokio::test]
async fn every_parsed_webhook_event_tolerates_null_and_absent_fields() {
    let swagger = Swagger::load();
    let mut failures = Vec::new();
    let mut variants = 0;
    for (event, payload, schema, required) in events(&swagger) {
        if let Err(e) = WebhookEvent::parse(event, payload.to_string().as_bytes()) {
            failures.push(format!("{event}: the full payload does not parse: {e}"));
            continue;
        }
        for m in mutations(&swagger, &payload, &schema, &Rules::Paths(required)) {
            let body = m.apply(&payload).to_string();
            let result = WebhookEvent::parse(event, body.as_bytes());
            variants += 1;
            let what = format!(
                "{event}: `{}` {}",
                m.path(),
                if m.null { "null" } else { "removed" }
            );
            match (m.required, result) {
                (false, Ok(_)) => {}
                (false, Err(e)) => failures.push(format!("{what}: must parse, got: {e}")),
                (true, Ok(_)) => failures.push(format!("{what}: required, must fail")),
                (true, Err(e)) => {
                    let parent = display(&m.parent);
                    let named = e.contains(&format!("`{}`", m.field))
                        && (parent.is_empty() || e.contains(&format!("`{parent}`")));
                    if !m.null && !named {
                        failures.push(format!("{what}: the error must name the path, got: {e}"));
                    }
                }
            }
        }
    }
    println!("webhooks: {variants} variants");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_push_summary_counts_the_commits_when_the_total_is_missing() {
    let body = json!({
        "ref": "refs/heads/main", "commits": [{"id": "a"}, {"id": "b", "added": null}],
        "repository": {"full_name": "lab/deps", "default_branch": null},
    });
    let WebhookEvent::Push(push) =
        WebhookEvent::parse("push", body.to_string().as_bytes()).expect("parses")
    else {
        panic!("not a push");
    };
    assert_eq!(push.total_commits, 2);
    assert_eq!(push.repository.default_branch, "");
    let e = WebhookEvent::parse(
        "push",
        br#"{"ref": "refs/heads/main", "commits": [{}], "repository": {"full_name": "a/b"}}"#,
    )
    .expect_err("a commit without id");
    assert!(e.contains("at `commits[0]`: missing field `id`"), "{e}");
}

const SECRET: &str = "gitea-webhook-secret-0123456789";

/// Push deliveries, the variants of the fields a push is routed by signed and sent through
/// the router: each is accepted.
#[tokio::test]
async fn push_variants_are_delivered_end_to_end() {
    let swagger = Swagger::load();
    let sim = gitea_sim::spawn(demo_seed()).await.expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        "repositories:\n  lab/deps-tidy:\n    tools:\n      allow: [automation_webhook]\n",
    )
    .expect("policy");
    let policy = policy.display().to_string();
    let vars: HashMap<String, String> = support::vars(
        &sim.base_url,
        ALICE,
        &[
            ("AUTOMATION_ENABLED", "true"),
            ("WEBHOOK_SECRET", SECRET),
            ("POLICY_FILE_PATH", &policy),
            ("RATE_LIMIT_PER_MINUTE", "1000000"),
        ],
    );
    let router = support::router(&vars).await;
    let (event, payload, schema, required) = events(&swagger).into_iter().next().expect("push");
    let mut failures = Vec::new();
    let mut delivered = 0;
    // Top-level fields, the repository's, and the commits' (what a push is routed by);
    // every other field is covered by the parse-level test above.
    let routed = |m: &Mutation| {
        let parent = display(&m.parent);
        parent.is_empty() || parent == "repository" || parent == "commits[0]"
    };
    for (n, m) in mutations(&swagger, &payload, &schema, &Rules::Paths(required))
        .into_iter()
        .filter(|m| !m.required && routed(m))
        .enumerate()
    {
        let body = serde_json::to_vec_pretty(&m.apply(&payload)).expect("json");
        let req = Request::post("/automation/webhook")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header(webhook::EVENT_HEADER, event)
            .header(webhook::DELIVERY_HEADER, format!("variant-{n}"))
            .header(
                webhook::SIGNATURE_HEADER,
                webhook::sign(SECRET.as_bytes(), &body),
            )
            .body(Body::from(body))
            .expect("request");
        let reply = support::send(&router, req).await;
        delivered += 1;
        if reply.status != StatusCode::OK {
            failures.push(format!(
                "`{}` {}: {} {}",
                m.path(),
                if m.null { "null" } else { "removed" },
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
        }
    }
    println!("webhooks: {delivered} push deliveries end to end");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
