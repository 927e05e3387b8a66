//! Automation: signed webhooks (each refusal its status and audit record), the jobs against
//! the simulator's `lab/*` repositories (findings exact, reruns write nothing), and the
//! refusals (disabled, policy) that reach neither the jobs nor Gitea.

use std::collections::HashMap;
use std::path::PathBuf;

use aegis_automation::{self as automation, AutomationError, Job, JobRequest, JobSummary, Trigger};
use aegis_core::Config;
use aegis_local::AppState;
use axum::body::Body;
use axum::Router;
use gitea_sim::RunningSim;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use time::macros::datetime;

use crate::audit_trail::records;
use crate::sim::{demo_seed, gitea_get, swagger_path, ALICE};
use crate::support::{self, send, Reply, API_KEY};

const SECRET: &str = "gitea-webhook-secret-0123456789";
/// "Now" for the stale checks: the seed's issues are dated around it.
const NOW: time::OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

const POLICY: &str = r#"
defaults: { read: allow, write: deny }
tools:
  allow: [automation_audit_digest]
repositories:
  lab/deps-messy:
    tools:
      allow: [automation_webhook, automation_dependency_hygiene_scan, automation_auto_issue_creation]
  lab/deps-tidy:
    tools:
      allow: [automation_webhook, automation_dependency_hygiene_scan]
  lab/stale-tracker:
    tools:
      allow: [automation_webhook, automation_stale_issue_detection]
"#;

struct AutoEnv {
    sim: RunningSim,
    state: AppState,
    router: Router,
    audit_dir: PathBuf,
}

impl AutoEnv {
    /// Automation on, the policy above, a contract-mode simulator; `extra` wins.
    async fn start(extra: &[(&str, &str)]) -> AutoEnv {
        Self::with_policy(POLICY, extra).await
    }

    /// Write mode with `repo` alone on the whitelist.
    async fn writing(repo: &str) -> AutoEnv {
        Self::start(&[("WRITE_MODE", "true"), ("WRITE_REPOSITORY_WHITELIST", repo)]).await
    }

    async fn with_policy(policy: &str, extra: &[(&str, &str)]) -> AutoEnv {
        let sim = gitea_sim::spawn_with_contract(demo_seed(), swagger_path())
            .await
            .expect("simulator");
        let dir = tempfile::tempdir().unwrap().keep();
        let policy_path = dir.join("policy.yaml");
        std::fs::write(&policy_path, policy).unwrap();
        let mut vars: Vec<(&str, &str)> = vec![
            ("AUTOMATION_ENABLED", "true"),
            ("WEBHOOK_SECRET", SECRET),
            ("POLICY_FILE_PATH", policy_path.to_str().unwrap()),
        ];
        vars.extend_from_slice(extra);
        let vars: HashMap<String, String> = support::vars(&sim.base_url, ALICE, &vars);
        let audit_dir = PathBuf::from(&vars["AUDIT_LOG_PATH"]);
        let config = Config::from_vars(&vars).expect("config");
        let state = AppState::from_config(config).await.expect("state");
        let router = aegis_local::router(state.clone());
        AutoEnv {
            sim,
            state,
            router,
            audit_dir,
        }
    }

    async fn run(&self, job: Job, repos: &[&str]) -> Result<JobSummary, AutomationError> {
        let request = JobRequest {
            repositories: repos
                .iter()
                .map(|r| aegis_core::config::RepoName::parse(r).unwrap())
                .collect(),
            now: NOW,
            ..JobRequest::new(job)
        };
        automation::run(&self.state.automation, &Trigger::Schedule, request).await
    }

    /// Gitea requests that changed something.
    fn writes(&self) -> Vec<String> {
        self.sim
            .state
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    async fn audit(&self) -> Vec<Value> {
        records(&self.audit_dir).await
    }

    fn assert_contract_clean(&self) {
        let v = self.sim.state.violations();
        assert!(v.is_empty(), "contract violations: {v:#?}");
    }
}

// ---- webhooks ---------------------------------------------------------------------------

/// A repository as Gitea puts it in every payload.
fn payload_repository(full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    let mut repo = json!({
        "id": 40, "owner": payload_user(owner), "name": name, "full_name": full_name,
        "description": "", "empty": false, "private": false, "fork": false, "template": false,
        "mirror": false, "size": 12, "language": "", "languages_url": "",
        "html_url": format!("http://gitea.local/{full_name}"),
        "url": format!("http://gitea.local/api/v1/repos/{full_name}"), "link": "",
        "ssh_url": format!("git@gitea.local:{full_name}.git"),
        "clone_url": format!("http://gitea.local/{full_name}.git"), "original_url": "",
        "website": "", "stars_count": 0, "forks_count": 0, "watchers_count": 1,
        "default_branch": "main", "archived": false, "created_at": "2026-03-01T09:00:00Z",
    });
    let more = json!({
        "open_issues_count": 0, "open_pr_counter": 0, "release_counter": 0,
        "updated_at": "2026-11-26T10:00:00Z", "archived_at": "1970-01-01T00:00:00Z",
        "permissions": {"admin": true, "push": true, "pull": true},
        "has_issues": true, "has_wiki": true, "has_pull_requests": true, "has_projects": true,
        "has_releases": true, "has_packages": true, "has_actions": true,
        "internal": false, "object_format_name": "sha1", "topics": [], "licenses": []
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut repo, more) {
        a.extend(b);
    }
    repo
}

fn payload_user(login: &str) -> Value {
    json!({
        "id": 1, "login": login, "login_name": "", "source_id": 0, "full_name": "",
        "email": format!("{login}@noreply.gitea.local"), "avatar_url": "", "html_url": "",
        "language": "", "is_admin": false, "last_login": "0001-01-01T00:00:00Z",
        "created": "2024-11-02T08:15:00Z", "restricted": false, "active": false,
        "prohibit_login": false, "location": "", "website": "", "description": "",
        "visibility": "public", "followers_count": 0, "following_count": 0,
        "starred_repos_count": 0, "username": login
    })
}

/// `PushPayload` of one commit touching `modified` on `reference`.
fn push_payload(repo: &str, reference: &str, modified: &[&str]) -> Value {
    let commit = json!({
        "id": "5f3c0a1e9b7d2c4f6a8e0b1d3c5e7f9a1b2c3d4e", "message": "Bump dependencies\n",
        "url": format!("http://gitea.local/{repo}/commit/5f3c0a1e9b7d2c4f6a8e0b1d3c5e7f9a1b2c3d4e"),
        "author": {"name": "Alice Anders", "email": "alice@acme.example", "username": "alice"},
        "committer": {"name": "Alice Anders", "email": "alice@acme.example", "username": "alice"},
        "verification": null, "timestamp": "2026-11-26T10:00:00Z",
        "added": [], "removed": [], "modified": modified
    });
    json!({
        "ref": reference, "before": "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
        "after": "5f3c0a1e9b7d2c4f6a8e0b1d3c5e7f9a1b2c3d4e",
        "compare_url": format!("http://gitea.local/{repo}/compare/0c1d2e3f...5f3c0a1e"),
        "commits": [commit.clone()], "total_commits": 1, "head_commit": commit,
        "repository": payload_repository(repo), "pusher": payload_user("alice"),
        "sender": payload_user("alice")
    })
}

/// `IssuePayload` for `action` on issue `number`.
fn issues_payload(repo: &str, action: &str, number: i64) -> Value {
    json!({
        "action": action, "number": number,
        "issue": {
            "id": 900, "url": "", "html_url": "", "number": number, "user": payload_user("bob"),
            "original_author": "", "original_author_id": 0, "title": "Investigate slow startup",
            "body": "", "ref": "", "assets": [], "labels": [], "milestone": null, "assignee": null,
            "assignees": null, "state": "open", "is_locked": false, "comments": 0,
            "created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
            "closed_at": null, "due_date": null, "pull_request": null,
            "repository": {"id": 40, "name": "stale-tracker", "owner": "lab", "full_name": repo},
            "pin_order": 0
        },
        "repository": payload_repository(repo), "sender": payload_user("bob"), "commit_id": ""
    })
}

/// A delivery as Gitea makes it: the body is `json.MarshalIndent(p, "", "  ")`, the
/// signature the lowercase hex HMAC-SHA256 of those exact bytes.
struct Delivery {
    id: String,
    event: String,
    body: Vec<u8>,
    signature: Option<String>,
}

impl Delivery {
    fn new(id: &str, event: &str, payload: &Value) -> Delivery {
        let body = serde_json::to_vec_pretty(payload).unwrap();
        let signature = Some(automation::webhook::sign(SECRET.as_bytes(), &body));
        Delivery {
            id: id.into(),
            event: event.into(),
            body,
            signature,
        }
    }

    fn request(&self) -> Request<Body> {
        let mut req = Request::post("/automation/webhook")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("x-gitea-delivery", &self.id)
            .header("x-gitea-event", &self.event)
            .header("x-gitea-event-type", &self.event)
            .header("x-gitea-hook-installation-target-type", "repository")
            .header("user-agent", "Go-http-client/1.1");
        if let Some(sig) = &self.signature {
            req = req
                .header("x-gitea-signature", sig)
                .header("x-gogs-signature", sig)
                .header("x-hub-signature-256", format!("sha256={sig}"));
        }
        req.body(Body::from(self.body.clone())).unwrap()
    }
}

/// The audit records of one delivery.
fn of_delivery<'a>(recs: &'a [Value], id: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["context"]["delivery"] == id && r["context"]["kind"] == "webhook_delivery")
        .collect()
}

#[tokio::test]
async fn webhook_deliveries_get_their_exact_outcome_and_record() {
    let env = AutoEnv::start(&[
        ("WRITE_MODE", "true"),
        ("WRITE_REPOSITORY_WHITELIST", "lab/deps-messy"),
        ("WEBHOOK_MAX_BODY_BYTES", "65536"),
    ])
    .await;
    let push = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000001",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["web/package.json"]),
    );
    let mut tampered = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000002",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["web/package.json"]),
    );
    let at = tampered.body.len() / 2;
    tampered.body.insert(at, b' ');
    let mut wrong_secret = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000003",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["Cargo.toml"]),
    );
    wrong_secret.signature = Some(automation::webhook::sign(
        b"not-the-secret-0123456789",
        &wrong_secret.body,
    ));
    let mut unsigned = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000004",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["Cargo.toml"]),
    );
    unsigned.signature = None;
    let mut oversized_payload = push_payload("lab/deps-messy", "refs/heads/main", &["README.md"]);
    oversized_payload["padding"] = json!("x".repeat(70_000));
    let oversized = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000005",
        "push",
        &oversized_payload,
    );
    let unknown = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000006",
        "wiki",
        &json!({"action": "created", "repository": payload_repository("lab/deps-messy"),
                "sender": payload_user("alice"), "page": "Home", "comment": ""}),
    );
    let issue = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000007",
        "issues",
        &issues_payload("lab/stale-tracker", "edited", 1),
    );
    let readme_push = Delivery::new(
        "d0c1a9e2-1111-4a5b-8c6d-000000000008",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["README.md"]),
    );

    // (delivery, status, audit record type, outcome or reason fragment)
    let cases: Vec<(&Delivery, StatusCode, &str, &str)> = vec![
        (
            &tampered,
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "invalid X-Gitea-Signature",
        ),
        (
            &wrong_secret,
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "invalid X-Gitea-Signature",
        ),
        (
            &unsigned,
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "missing X-Gitea-Signature",
        ),
        (
            &oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "access_denied",
            "larger than 65536 bytes",
        ),
        (&unknown, StatusCode::OK, "tool_invocation", "ignored"),
        (&issue, StatusCode::OK, "tool_invocation", "ignored"),
        (&readme_push, StatusCode::OK, "tool_invocation", "ignored"),
    ];
    for (delivery, status, record_type, fragment) in &cases {
        env.sim.state.clear_requests();
        let reply = send(&env.router, delivery.request()).await;
        assert_eq!(
            reply.status,
            *status,
            "{}: {}",
            delivery.id,
            String::from_utf8_lossy(&reply.body)
        );
        let recs = env.audit().await;
        let mine = of_delivery(&recs, &delivery.id);
        assert_eq!(mine.len(), 1, "{}: {mine:#?}", delivery.id);
        assert_eq!(mine[0]["type"], *record_type, "{}", delivery.id);
        assert_eq!(mine[0]["tool"], "automation_webhook");
        assert!(
            mine[0]["outcome"].as_str().unwrap().contains(fragment),
            "{}: {}",
            delivery.id,
            mine[0]
        );
        // Nothing of these reaches Gitea.
        assert!(env.sim.state.requests().is_empty(), "{}", delivery.id);
    }

    // The real one: verified, routed to the hygiene jobs, which write the issues.
    let reply = send(&env.router, push.request()).await;
    reply.assert_status(StatusCode::OK);
    let v = reply.json();
    assert_eq!(v["outcome"], "accepted");
    assert_eq!(v["repository"], "lab/deps-messy");
    let jobs: Vec<(&str, &str)> = v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["job"].as_str().unwrap(), j["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        jobs,
        [
            ("dependency_hygiene_scan", "ran"),
            ("auto_issue_creation", "ran")
        ]
    );
    assert_eq!(v["jobs"][1]["summary"]["totals"]["created"], 24);
    // Both jobs used one read of the repository: one tree walk, six manifest blobs.
    let requests = env.sim.state.requests();
    let count = |part: &str| requests.iter().filter(|r| r.path.contains(part)).count();
    assert_eq!((count("/git/trees/"), count("/git/blobs/")), (1, 6));
    let recs = env.audit().await;
    let mine = of_delivery(&recs, &push.id);
    assert_eq!(mine.len(), 1, "{mine:#?}");
    assert_eq!(mine[0]["outcome"], "accepted");
    assert_eq!(mine[0]["repository"], "lab/deps-messy");
    // The jobs' own records carry the delivery as their correlation id.
    let runs: Vec<&Value> = recs
        .iter()
        .filter(|r| r["correlation_id"] == push.id.as_str() && r["type"] == "tool_invocation")
        .filter(|r| r["tool"] != "automation_webhook")
        .collect();
    assert_eq!(runs.len(), 4, "pending and outcome of both jobs: {runs:#?}");

    // The same delivery again: a replay.
    env.sim.state.clear_requests();
    let replay = send(&env.router, push.request()).await;
    assert_eq!(replay.status, StatusCode::CONFLICT);
    let recs = env.audit().await;
    let mine = of_delivery(&recs, &push.id);
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[1]["type"], "access_denied");
    assert_eq!(mine[1]["context"]["result"], "replayed");
    assert!(env.sim.state.requests().is_empty());
    env.assert_contract_clean();
}

#[tokio::test]
async fn webhooks_are_refused_when_disabled_or_denied_by_policy() {
    let push = Delivery::new(
        "e1e1e1e1-2222-4a5b-8c6d-000000000001",
        "push",
        &push_payload("lab/deps-messy", "refs/heads/main", &["Cargo.toml"]),
    );
    let disabled = AutoEnv::start(&[("AUTOMATION_ENABLED", "false")]).await;
    let reply = send(&disabled.router, push.request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let recs = disabled.audit().await;
    let mine = of_delivery(&recs, &push.id);
    assert_eq!(mine.len(), 1);
    assert!(mine[0]["outcome"]
        .as_str()
        .unwrap()
        .contains("AUTOMATION_ENABLED=false"));
    assert!(disabled.sim.state.requests().is_empty());

    // The policy names no automation for lab/deps-messy here.
    let denied = AutoEnv::with_policy("defaults: { read: allow }\n", &[]).await;
    let reply = send(&denied.router, push.request()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("automation_webhook"));
    let recs = denied.audit().await;
    let mine = of_delivery(&recs, &push.id);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["type"], "access_denied");
    assert!(denied.sim.state.requests().is_empty());

    // No secret configured: nothing can be verified.
    let unset = AutoEnv::start(&[("WEBHOOK_SECRET", "")]).await;
    let reply = send(&unset.router, push.request()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

// ---- jobs -------------------------------------------------------------------------------

#[tokio::test]
async fn stale_issues_are_reported_then_labelled_once() {
    let env = AutoEnv::start(&[]).await;
    let summary = env
        .run(Job::StaleIssueDetection, &["lab/stale-tracker"])
        .await
        .unwrap();
    let v = serde_json::to_value(&summary).unwrap();
    assert_eq!(v["mode"], "report");
    let repo = &v["repositories"][0];
    assert_eq!(repo["status"], "ok");
    let stale: Vec<(i64, i64, &str)> = repo["result"]["stale_issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["number"].as_i64().unwrap(),
                i["days_inactive"].as_i64().unwrap(),
                i["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(stale, [(1, 164, "reported"), (2, 37, "reported")]);
    assert_eq!(repo["result"]["counts"]["open_issues"], 4);
    assert!(env.writes().is_empty());

    // Write mode: the `stale` label is created once and added to each stale issue once.
    let env = AutoEnv::writing("lab/stale-tracker").await;
    let first = env
        .run(Job::StaleIssueDetection, &["lab/stale-tracker"])
        .await
        .unwrap();
    assert_eq!(first.totals["labelled"], 2, "{first:#?}");
    assert_eq!(
        env.writes(),
        [
            "POST /api/v1/repos/lab/stale-tracker/labels",
            "POST /api/v1/repos/lab/stale-tracker/issues/1/labels",
            "POST /api/v1/repos/lab/stale-tracker/issues/2/labels",
        ]
    );
    env.sim.state.clear_requests();
    let second = env
        .run(Job::StaleIssueDetection, &["lab/stale-tracker"])
        .await
        .unwrap();
    assert_eq!(second.totals["labelled"], 0, "{second:#?}");
    assert!(env.writes().is_empty(), "{:?}", env.writes());
    env.assert_contract_clean();
}

/// (manifest, rule, dependency) of every finding in `lab/deps-messy`.
const MESSY_FINDINGS: [(&str, &str, &str); 24] = [
    ("Cargo.toml", "missing_lockfile", ""),
    ("Cargo.toml", "wildcard_version", "anyhow"),
    ("Cargo.toml", "unpinned_version", "rand"),
    ("Cargo.toml", "git_dependency", "forked"),
    ("Cargo.toml", "path_dependency", "helpers"),
    ("Cargo.toml", "duplicate_declaration", "serde"),
    ("go/go.mod", "missing_lockfile", ""),
    ("go/go.mod", "path_dependency", "example.com/lib"),
    ("go/go.mod", "duplicate_declaration", "golang.org/x/text"),
    ("pyproject.toml", "missing_lockfile", ""),
    ("pyproject.toml", "unpinned_version", "httpx"),
    ("pyproject.toml", "unpinned_version", "pydantic"),
    ("requirements.txt", "unpinned_version", "flask"),
    ("requirements.txt", "unpinned_version", "click"),
    ("requirements.txt", "git_dependency", "tools"),
    ("requirements.txt", "path_dependency", "./libs/local-pkg"),
    ("requirements.txt", "duplicate_declaration", "requests"),
    ("web/package.json", "missing_lockfile", ""),
    ("web/package.json", "wildcard_version", "lodash"),
    ("web/package.json", "wildcard_version", "left-pad"),
    ("web/package.json", "unpinned_version", "jest"),
    ("web/package.json", "git_dependency", "forked-lib"),
    ("web/package.json", "path_dependency", "internal-ui"),
    ("web/package.json", "duplicate_declaration", "express"),
];

fn findings_of(result: &Value) -> Vec<(String, String, String)> {
    let mut got: Vec<(String, String, String)> = result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["manifest"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["dependency"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    got
}

#[tokio::test]
async fn the_hygiene_scan_finds_exactly_the_seeded_problems() {
    let env = AutoEnv::start(&[]).await;
    let summary = env
        .run(
            Job::DependencyHygieneScan,
            &["lab/deps-messy", "lab/deps-tidy"],
        )
        .await
        .unwrap();
    let v = serde_json::to_value(&summary).unwrap();
    let messy = &v["repositories"][0];
    assert_eq!(messy["repository"], "lab/deps-messy");
    let mut want: Vec<(String, String, String)> = MESSY_FINDINGS
        .iter()
        .map(|(m, r, d)| (m.to_string(), r.to_string(), d.to_string()))
        .collect();
    want.sort();
    assert_eq!(findings_of(&messy["result"]), want);
    assert_eq!(
        messy["result"]["manifests"],
        json!([
            "Cargo.toml",
            "crates/helpers/Cargo.toml",
            "go/go.mod",
            "pyproject.toml",
            "requirements.txt",
            "web/package.json"
        ])
    );
    let tidy = &v["repositories"][1];
    assert_eq!(tidy["repository"], "lab/deps-tidy");
    assert_eq!(tidy["result"]["findings"], json!([]), "{tidy:#}");
    assert_eq!(tidy["result"]["counts"]["manifests"], 4);
    assert_eq!(v["totals"]["findings"], 24);
    assert!(env.writes().is_empty());
    env.assert_contract_clean();
}

#[tokio::test]
async fn the_hygiene_scan_neither_reads_nor_names_paths_the_policy_denies() {
    let policy = POLICY.replace(
        "      allow: [automation_webhook, automation_dependency_hygiene_scan, automation_auto_issue_creation]\n",
        "      allow: [automation_webhook, automation_dependency_hygiene_scan, automation_auto_issue_creation]\n    paths:\n      deny: [\"web/**\"]\n",
    );
    assert_ne!(policy, POLICY, "the policy edit no longer applies");
    let env = AutoEnv::with_policy(&policy, &[]).await;
    let summary = env
        .run(Job::DependencyHygieneScan, &["lab/deps-messy"])
        .await
        .unwrap();
    let v = serde_json::to_value(&summary).unwrap();
    let result = &v["repositories"][0]["result"];
    let mut want: Vec<(String, String, String)> = MESSY_FINDINGS
        .iter()
        .filter(|(m, _, _)| !m.starts_with("web/"))
        .map(|(m, r, d)| (m.to_string(), r.to_string(), d.to_string()))
        .collect();
    want.sort();
    assert_eq!(findings_of(result), want);
    assert!(!result.to_string().contains("web/"), "{result:#}");
    assert!(result["denied_paths"].as_u64().unwrap() >= 1, "{result:#}");
    // Five manifests read, not six: the denied one's blob was never asked for.
    let blobs = env
        .sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/git/blobs/"))
        .count();
    assert_eq!(blobs, 5);
    env.assert_contract_clean();

    // A denied lockfile is neither read nor named, but it exists: no `missing_lockfile`.
    let policy = POLICY.replace(
        "      allow: [automation_webhook, automation_dependency_hygiene_scan]\n",
        "      allow: [automation_webhook, automation_dependency_hygiene_scan]\n    paths:\n      deny: [Cargo.lock, package-lock.json]\n",
    );
    assert_ne!(policy, POLICY, "the policy edit no longer applies");
    let env = AutoEnv::with_policy(&policy, &[]).await;
    let summary = env
        .run(Job::DependencyHygieneScan, &["lab/deps-tidy"])
        .await
        .unwrap();
    let v = serde_json::to_value(&summary).unwrap();
    let result = &v["repositories"][0]["result"];
    assert_eq!(result["findings"], json!([]), "{result:#}");
    assert_eq!(result["denied_paths"], 2, "{result:#}");
    assert!(!result.to_string().contains(".lock"), "{result:#}");
}

#[tokio::test]
async fn auto_issue_creation_run_twice_creates_each_issue_once() {
    let env = AutoEnv::writing("lab/deps-messy").await;
    let first = env
        .run(Job::AutoIssueCreation, &["lab/deps-messy"])
        .await
        .unwrap();
    assert_eq!(first.totals["created"], 24, "{first:#?}");
    assert_eq!(first.totals["existing"], 0);
    let second = env
        .run(Job::AutoIssueCreation, &["lab/deps-messy"])
        .await
        .unwrap();
    assert_eq!(second.totals["created"], 0, "{second:#?}");
    assert_eq!(second.totals["existing"], 24);
    let creates = env
        .writes()
        .into_iter()
        .filter(|w| w == "POST /api/v1/repos/lab/deps-messy/issues")
        .count();
    assert_eq!(creates, 24);
    // Each issue names its finding and carries the fingerprint marker.
    let issues = gitea_get(
        &env.sim.base_url,
        "/repos/lab/deps-messy/issues?state=all&type=issues&limit=50",
    )
    .await;
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), 24);
    assert!(issues.iter().any(
        |i| i["title"] == "Dependency hygiene: wildcard version `lodash` in `web/package.json`"
    ));
    assert!(issues.iter().all(|i| i["body"]
        .as_str()
        .unwrap()
        .contains("aegis-automation-fingerprint: ")));

    // Without write mode the job is refused, not downgraded.
    let env = AutoEnv::start(&[]).await;
    let refused = env.run(Job::AutoIssueCreation, &["lab/deps-messy"]).await;
    assert!(matches!(refused, Err(AutomationError::Denied(ref m)) if m.contains("WRITE_MODE")));
    assert!(env.sim.state.requests().is_empty());
    env.assert_contract_clean();
}

#[tokio::test]
async fn refused_runs_reach_nothing_and_are_audited() {
    // AUTOMATION_ENABLED=false
    let env = AutoEnv::start(&[("AUTOMATION_ENABLED", "false")]).await;
    for job in Job::ALL {
        let repos: &[&str] = if job.per_repository() {
            &["lab/stale-tracker"]
        } else {
            &[]
        };
        let err = env.run(job, repos).await.unwrap_err();
        assert!(matches!(err, AutomationError::Disabled), "{job:?}: {err}");
    }
    assert!(env.sim.state.requests().is_empty());
    let recs = env.audit().await;
    let refusals: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "access_denied")
        .collect();
    assert_eq!(refusals.len(), 4, "{refusals:#?}");
    assert!(refusals.iter().all(|r| r["outcome"]
        .as_str()
        .unwrap()
        .contains("AUTOMATION_ENABLED=false")));

    // The policy does not allow the job on this repository (only the scan is allowed there).
    let env = AutoEnv::start(&[]).await;
    let err = env
        .run(Job::StaleIssueDetection, &["lab/deps-tidy"])
        .await
        .unwrap_err();
    assert!(
        matches!(err, AutomationError::Denied(ref m) if m.contains("automation_stale_issue_detection")),
        "{err}"
    );
    assert!(env.sim.state.requests().is_empty());
    let recs = env.audit().await;
    let denial = recs
        .iter()
        .find(|r| r["type"] == "access_denied")
        .expect("denial recorded");
    assert_eq!(denial["tool"], "automation_stale_issue_detection");
    assert_eq!(denial["repository"], "lab/deps-tidy");
}

fn jobs_request(body: Value, key: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/automation/jobs/run")
        .header("host", "localhost")
        .header("content-type", "application/json");
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    req.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn the_jobs_endpoint_is_authenticated_validated_and_gated() {
    let env = AutoEnv::start(&[]).await;
    let scan = json!({"job": "dependency_hygiene_scan", "repositories": ["lab/deps-tidy"]});
    // (body, key, status)
    let cases: Vec<(Value, Option<&str>, StatusCode)> = vec![
        (scan.clone(), None, StatusCode::UNAUTHORIZED),
        (
            scan.clone(),
            Some("wrong-key-0123456789abcdef0123456789"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"job": "mine_bitcoin"}),
            Some(API_KEY),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"job": "dependency_hygiene_scan", "repositories": ["../x"]}),
            Some(API_KEY),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"job": "dependency_hygiene_scan", "extra": 1}),
            Some(API_KEY),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"job": "stale_issue_detection", "repositories": ["lab/deps-tidy"]}),
            Some(API_KEY),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"job": "auto_issue_creation", "repositories": ["lab/deps-messy"]}),
            Some(API_KEY),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"job": "audit_digest"}),
            Some(API_KEY),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    for (body, key, status) in cases {
        env.sim.state.clear_requests();
        let reply: Reply = send(&env.router, jobs_request(body.clone(), key)).await;
        assert_eq!(
            reply.status,
            status,
            "{body}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(env.sim.state.requests().is_empty(), "{body}");
    }
    let reply = send(&env.router, jobs_request(scan, Some(API_KEY))).await;
    reply.assert_status(StatusCode::OK);
    let v = reply.json();
    assert_eq!(v["job"], "dependency_hygiene_scan");
    assert_eq!(v["trigger"], "http");
    assert_eq!(v["repositories"][0]["result"]["counts"]["findings"], 0);

    // Disabled: 403, recorded.
    let off = AutoEnv::start(&[("AUTOMATION_ENABLED", "false")]).await;
    let reply = send(
        &off.router,
        jobs_request(json!({"job": "dependency_hygiene_scan"}), Some(API_KEY)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(off.sim.state.requests().is_empty());
    assert!(
        off.audit()
            .await
            .iter()
            .any(|r| r["type"] == "access_denied"
                && r["tool"] == "automation_dependency_hygiene_scan")
    );
}

#[tokio::test]
async fn the_audit_digest_job_signs_the_trail() {
    let seed = "33".repeat(32);
    let env = AutoEnv::start(&[("AUDIT_SIGNING_KEY", &seed)]).await;
    // The digest covers segments by the time they were written: use the real clock.
    let digest = |env: &AutoEnv| {
        let state = env.state.automation.clone();
        async move {
            automation::run(
                &state,
                &Trigger::Schedule,
                JobRequest::new(Job::AuditDigest),
            )
            .await
            .unwrap()
        }
    };
    let first = digest(&env).await;
    assert_eq!(first.result["sequence"], 0, "{first:#?}");
    assert!(first.result["segments"].as_u64().unwrap() >= 1);
    let second = digest(&env).await;
    assert_eq!(second.result["sequence"], 1, "{second:#?}");
    assert_eq!(
        second.result["public_key"],
        aegis_core::audit::AuditSigner::parse(&seed)
            .unwrap()
            .public_key_hex()
    );
    assert!(env.sim.state.requests().is_empty());
}

#[tokio::test]
async fn the_audit_digest_job_needs_the_write_scope_and_has_no_dry_run() {
    let env = AutoEnv::start(&[("AUDIT_SIGNING_KEY", &"44".repeat(32))]).await;
    let caller = |scopes: &[&str]| Trigger::Http {
        principal: aegis_edge::auth::Principal {
            subject: "test-caller".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            credential: aegis_edge::auth::Credential::Anonymous,
            gitea_login: None,
            check_repo_permission: false,
        },
        request_id: "req-digest".into(),
    };
    let refused = automation::run(
        &env.state.automation,
        &caller(&["read:repository"]),
        JobRequest::new(Job::AuditDigest),
    )
    .await;
    assert!(
        matches!(refused, Err(AutomationError::Denied(ref m)) if m.contains("write:repository")),
        "{refused:?}"
    );
    let dry = automation::run(
        &env.state.automation,
        &caller(&["write:repository"]),
        JobRequest {
            dry_run: true,
            ..JobRequest::new(Job::AuditDigest)
        },
    )
    .await;
    assert!(
        matches!(dry, Err(AutomationError::BadRequest(ref m)) if m.contains("no dry run")),
        "{dry:?}"
    );
    let done = automation::run(
        &env.state.automation,
        &caller(&["write:repository"]),
        JobRequest::new(Job::AuditDigest),
    )
    .await
    .unwrap();
    assert_eq!(done.result["sequence"], 0, "{done:#?}");
    // The two refusals are on the trail.
    let denials = env
        .audit()
        .await
        .into_iter()
        .filter(|r| r["type"] == "access_denied" && r["tool"] == "automation_audit_digest")
        .count();
    assert_eq!(denials, 2);
}

#[tokio::test]
async fn one_tick_lists_the_repositories_once() {
    let env = AutoEnv::start(&[]).await;
    let jobs = [Job::DependencyHygieneScan, Job::StaleIssueDetection];
    let out = automation::run_scheduled(&env.state.automation, &jobs, NOW).await;
    let ran: Vec<&Value> = out["jobs"].as_array().unwrap().iter().collect();
    assert!(ran.iter().all(|j| j["status"] == "ran"), "{out:#}");
    let listings = env
        .sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/user/repos")
        .count();
    assert_eq!(listings, 1, "two jobs, one repository listing");
}

#[tokio::test]
async fn scheduled_events_run_the_jobs_the_policy_allows() {
    let env = AutoEnv::start(&[]).await;
    let event = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-26T12:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/aegis-jobs"],
        "detail": {"jobs": ["dependency_hygiene_scan", "auto_issue_creation"]}
    });
    assert!(!aegis_edge::runtime::is_http_event(&event));
    let out = aegis_fn_jobs::handle_event(env.state.automation.clone(), event)
        .await
        .unwrap();
    let jobs = out["jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["status"], "ran", "{out:#}");
    // alice's own repositories are the `acme` ones: the policy allows the scan on none.
    assert_eq!(jobs[0]["summary"]["repositories"], json!([]));
    assert_eq!(jobs[1]["status"], "refused");
    assert!(env.writes().is_empty());
    let not_scheduled =
        aegis_fn_jobs::handle_event(env.state.automation.clone(), json!({"hello": 1})).await;
    assert!(not_scheduled.is_err());
    assert!(aegis_edge::runtime::is_http_event(
        &json!({"version": "2.0", "rawPath": "/automation/jobs/run", "requestContext": {}})
    ));
}

/// The jobs function on Lambda: an API Gateway HTTP API (v2) event goes through the router
/// exactly as `lambda_http::run` would send it.
#[tokio::test]
async fn http_lambda_events_reach_the_router() {
    let env = AutoEnv::start(&[]).await;
    let body = json!({"job": "dependency_hygiene_scan", "repositories": ["lab/deps-tidy"]});
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/automation/jobs/run",
        "rawQueryString": "",
        "headers": {
            "host": "localhost", "content-type": "application/json",
            "authorization": format!("Bearer {API_KEY}")
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "localhost",
            "domainPrefix": "localhost", "requestId": "r1", "routeKey": "$default",
            "stage": "$default", "time": "26/Nov/2026:12:00:00 +0000", "timeEpoch": 1_795_694_400_000i64,
            "http": {"method": "POST", "path": "/automation/jobs/run", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"}
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    });
    assert!(aegis_edge::runtime::is_http_event(&event));
    let response = aegis_edge::runtime::http_event(
        env.router.clone(),
        event,
        aegis_edge::runtime::LambdaContext::default(),
    )
    .await
    .unwrap();
    assert_eq!(response["statusCode"], 200, "{response:#}");
    let answer: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["job"], "dependency_hygiene_scan");
    assert_eq!(answer["repositories"][0]["status"], "ok");
}

#[tokio::test]
async fn dry_runs_report_what_they_would_write() {
    let env = AutoEnv::start(&[]).await;
    let request = JobRequest {
        repositories: vec![aegis_core::config::RepoName::parse("lab/deps-messy").unwrap()],
        dry_run: true,
        now: NOW,
        ..JobRequest::new(Job::AutoIssueCreation)
    };
    let summary = automation::run(&env.state.automation, &Trigger::Schedule, request)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(summary.mode).unwrap(), "dry_run");
    assert_eq!(summary.totals["would_create"], 24, "{summary:#?}");
    assert_eq!(summary.totals["created"], 0);
    assert!(env.writes().is_empty());
}

#[tokio::test]
async fn the_local_scheduler_runs_the_jobs_on_its_interval() {
    let off = AutoEnv::start(&[]).await;
    assert!(automation::scheduler::spawn(off.state.automation.clone()).is_none());
    let env = AutoEnv::start(&[
        ("AUTOMATION_SCHEDULER_ENABLED", "true"),
        ("AUTOMATION_SCHEDULER_INTERVAL_SECONDS", "3600"),
    ])
    .await;
    let task = automation::scheduler::spawn(env.state.automation.clone()).expect("scheduler");
    // The first run starts at once: every job leaves a record with trigger `schedule`.
    let mut seen = Vec::new();
    for _ in 0..100 {
        let recs = env.audit().await;
        seen = recs
            .iter()
            .filter(|r| r["context"]["trigger"] == "schedule")
            .filter_map(|r| r["tool"].as_str().map(str::to_string))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if seen.len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    task.abort();
    assert_eq!(
        seen,
        [
            "automation_audit_digest",
            "automation_auto_issue_creation",
            "automation_dependency_hygiene_scan",
            "automation_stale_issue_detection"
        ]
    );
}
