//! Write endpoints: a table per endpoint of (user, body) -> (status, state change seen by later
//! reads), run in contract mode against the demo seed (reset before each row), zero violations.

use serde_json::{json, Value};

use crate::support::{Sim, ALICE, ALICE_READ_ONLY, BOB, CAROL};

const APP: &str = "/api/v1/repos/acme/app";
const VAULT: &str = "/api/v1/repos/acme/secrets-vault";

/// What must hold after a row: on the response itself (`path: None`) or on a later GET as alice.
struct Check {
    path: Option<String>,
    status: u16,
    pointer: &'static str,
    want: Option<Value>,
}

/// A JSON pointer into the response body.
fn resp(pointer: &'static str, want: Value) -> Check {
    Check {
        path: None,
        status: 0,
        pointer,
        want: Some(want),
    }
}

/// A JSON pointer into `GET path` (as alice, 200).
fn get(path: impl Into<String>, pointer: &'static str, want: Value) -> Check {
    Check {
        path: Some(path.into()),
        status: 200,
        pointer,
        want: Some(want),
    }
}

/// The status of `GET path` as alice.
fn get_status(path: impl Into<String>, status: u16) -> Check {
    Check {
        path: Some(path.into()),
        status,
        pointer: "",
        want: None,
    }
}

struct Row {
    who: Option<&'static str>,
    method: &'static str,
    path: String,
    body: Value,
    status: u16,
    /// A substring of the error message (JSON error bodies only).
    message: &'static str,
    checks: Vec<Check>,
    /// The body breaks the swagger on purpose: contract mode must report it.
    bad_body: bool,
}

fn row(
    who: Option<&'static str>,
    method: &'static str,
    path: impl Into<String>,
    body: Value,
    status: u16,
) -> Row {
    Row {
        who,
        method,
        path: path.into(),
        body,
        status,
        message: "",
        checks: Vec::new(),
        bad_body: false,
    }
}

impl Row {
    fn msg(mut self, message: &'static str) -> Row {
        self.message = message;
        self
    }
    fn bad_body(mut self) -> Row {
        self.bad_body = true;
        self
    }
    fn then(mut self, check: Check) -> Row {
        self.checks.push(check);
        self
    }
}

/// Runs every row against a freshly reset world; fails with every mismatch and contract violation.
async fn run(rows: Vec<Row>) {
    let sim = Sim::new();
    let mut wrong = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        sim.state.reset();
        sim.state.clear_violations();
        let label = format!("row {n}: {} {} as {:?} {}", r.method, r.path, r.who, r.body);
        let resp = sim.send(r.method, &r.path, r.who, &r.body).await;
        if resp.status.as_u16() != r.status {
            wrong.push(format!(
                "{label}: status {} want {}: {}",
                resp.status,
                r.status,
                resp.text()
            ));
            continue;
        }
        if !r.message.is_empty() {
            let message = resp.json()["message"].as_str().unwrap_or("").to_string();
            if !message.contains(r.message) {
                wrong.push(format!(
                    "{label}: message `{message}` lacks `{}`",
                    r.message
                ));
            }
        }
        for c in &r.checks {
            let (body, at) = match &c.path {
                None => (resp.json(), "response".to_string()),
                Some(path) => {
                    let later = sim.get(path, Some(ALICE)).await;
                    if later.status.as_u16() != c.status {
                        wrong.push(format!(
                            "{label}: then GET {path}: status {} want {}",
                            later.status, c.status
                        ));
                        continue;
                    }
                    if c.want.is_none() {
                        continue;
                    }
                    (later.json(), format!("GET {path}"))
                }
            };
            let got = body.pointer(c.pointer).cloned().unwrap_or(Value::Null);
            if let Some(want) = &c.want {
                if &got != want {
                    wrong.push(format!(
                        "{label}: {at} {}: got {got} want {want}",
                        c.pointer
                    ));
                }
            }
        }
        let violations = sim.state.violations();
        let body_violations = violations
            .iter()
            .filter(|v| v.contains("request body"))
            .count();
        if r.bad_body && (body_violations == 0 || body_violations != violations.len()) {
            wrong.push(format!(
                "{label}: want only request body violations: {violations:?}"
            ));
        }
        if !r.bad_body && !violations.is_empty() {
            wrong.push(format!(
                "{label}: contract violations:\n{}",
                violations.join("\n")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn create_issue() {
    let issues = format!("{APP}/issues");
    let new = format!("{APP}/issues/12");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(a, "POST", &issues, json!({"title": "New bug", "body": "It broke.", "labels": [1, 5], "assignees": ["bob"], "milestone": 2}), 201)
            .then(resp("/number", json!(12)))
            .then(resp("/user/login", json!("alice")))
            .then(get(&new, "/title", json!("New bug")))
            .then(get(&new, "/labels/0/name", json!("bug")))
            .then(get(&new, "/labels/1/name", json!("priority/high")))
            .then(get(&new, "/assignees/0/login", json!("bob")))
            .then(get(&new, "/milestone/id", json!(2)))
            .then(get(format!("{APP}/milestones/2"), "/open_issues", json!(4))),
        // readers may open issues; labels, assignees and milestone are dropped silently
        row(c, "POST", &issues, json!({"title": "From carol", "labels": [1], "assignees": ["alice"], "milestone": 2}), 201)
            .then(get(&new, "/user/login", json!("carol")))
            .then(get(&new, "/labels", json!([])))
            .then(get(&new, "/assignees", Value::Null))
            .then(get(&new, "/milestone", Value::Null)),
        // unknown and foreign label ids, unknown milestones: dropped, as Gitea's NewIssue does
        row(b, "POST", &issues, json!({"title": "Labels", "labels": [1, 9, 999], "milestone": 999}), 201)
            .then(get(&new, "/labels/0/name", json!("bug")))
            .then(get(&new, "/labels/1", Value::Null))
            .then(get(&new, "/milestone", Value::Null)),
        // exclusive scope: priority/low replaces priority/high
        row(a, "POST", &issues, json!({"title": "Scoped", "labels": [5, 6]}), 201)
            .then(resp("/labels/0/name", json!("priority/low")))
            .then(resp("/labels/1", Value::Null)),
        row(a, "POST", &issues, json!({"title": "Done already", "closed": true, "due_date": "2027-01-01T00:00:00Z"}), 201)
            .then(get(&new, "/state", json!("closed")))
            .then(get(&new, "/due_date", json!("2027-01-01T00:00:00Z"))),
        row(b, "POST", format!("{VAULT}/issues"), json!({"title": "Vault"}), 201)
            .then(get(format!("{VAULT}/issues/2"), "/title", json!("Vault"))),
        row(a, "POST", &issues, json!({"title": ""}), 422).msg("[Title]: Required").then(get_status(&new, 404)),
        row(a, "POST", &issues, json!({"body": "no title"}), 422).msg("[Title]: Required").bad_body(),
        row(a, "POST", &issues, Value::Null, 422).msg("[Title]: Required"),
        row(a, "POST", &issues, json!({"title": 5}), 422).msg("[]: invalid type").bad_body(),
        // a field Gitea does not know is silently ignored, but the contract reports it
        row(a, "POST", &issues, json!({"title": "Typo", "lables": [1]}), 201).bad_body().then(resp("/labels", json!([]))),
        row(a, "POST", &issues, json!({"title": "x", "assignees": ["nobody"]}), 422)
            .msg("Assignee does not exist: [name: user does not exist [uid: 0, name: nobody]]"),
        row(a, "POST", &issues, json!({"title": "x", "assignee": "carol"}), 422)
            .msg("user does not have access to repo [user_id: 3, repo_name: app]"),
        row(None, "POST", &issues, json!({"title": "x"}), 401).msg("token is required"),
        row(Some(ALICE_READ_ONLY), "POST", &issues, json!({"title": "x"}), 403)
            .msg("required=[write:issue]"),
        row(c, "POST", format!("{VAULT}/issues"), json!({"title": "x"}), 404),
        row(a, "POST", "/api/v1/repos/acme/nope/issues", json!({"title": "x"}), 404),
    ])
    .await;
}

#[tokio::test]
async fn edit_issue() {
    let i = |n: i64| format!("{APP}/issues/{n}");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(
            a,
            "PATCH",
            i(5),
            json!({"title": "Renamed", "state": "closed"}),
            201,
        )
        .then(resp("/title", json!("Renamed")))
        .then(get(i(5), "/state", json!("closed")))
        .then(get(
            format!("{APP}/issues?state=closed&type=issues"),
            "/0/number",
            json!(5),
        )),
        // the poster may edit their issue; assignees and milestone need write access
        row(
            c,
            "PATCH",
            i(5),
            json!({"body": "edited by carol", "assignees": ["alice"], "milestone": 2}),
            201,
        )
        .then(get(i(5), "/body", json!("edited by carol")))
        .then(get(i(5), "/assignees", Value::Null))
        .then(get(i(5), "/milestone", Value::Null)),
        row(c, "PATCH", i(4), json!({"title": "not mine"}), 403).then(get(
            i(4),
            "/title",
            json!("Add rate limiting to the API"),
        )),
        row(
            b,
            "PATCH",
            i(5),
            json!({"assignees": ["alice", "bob"], "milestone": 2}),
            201,
        )
        .then(get(i(5), "/assignees/1/login", json!("bob")))
        .then(get(i(5), "/milestone/title", json!("v0.4.0"))),
        row(
            a,
            "PATCH",
            i(4),
            json!({"milestone": 0, "assignees": []}),
            201,
        )
        .then(get(i(4), "/milestone", Value::Null))
        .then(get(i(4), "/assignees", Value::Null)),
        row(a, "PATCH", i(4), json!({"assignee": "bob"}), 201)
            .then(get(i(4), "/assignees/0/login", json!("bob")))
            .then(get(i(4), "/assignees/1", Value::Null)),
        row(a, "PATCH", i(4), json!({"unset_due_date": true}), 201).then(get(
            i(4),
            "/due_date",
            Value::Null,
        )),
        row(a, "PATCH", i(1), json!({"state": "open"}), 201)
            .then(get(i(1), "/state", json!("open")))
            .then(get(i(1), "/closed_at", Value::Null)),
        // pull requests are issues too
        row(a, "PATCH", i(6), json!({"state": "closed"}), 201).then(get(
            format!("{APP}/pulls/6"),
            "/state",
            json!("closed"),
        )),
        row(a, "PATCH", i(3), json!({"state": "open"}), 412).msg("it was already merged"),
        row(
            a,
            "PATCH",
            i(4),
            json!({"title": "Changed", "state": "bogus"}),
            412,
        )
        .msg("unknown state: bogus")
        .then(get(i(4), "/title", json!("Changed"))),
        row(a, "PATCH", i(4), json!({"milestone": 999}), 500).msg("milestone does not exist"),
        row(b, "PATCH", i(4), json!({"milestone": 999}), 500).then(resp("/message", json!(""))),
        row(a, "PATCH", i(4), json!({"assignees": ["carol"]}), 500).msg("does not have access"),
        row(a, "PATCH", i(99), json!({"title": "x"}), 404),
        row(None, "PATCH", i(4), json!({"title": "x"}), 401),
        row(
            Some(ALICE_READ_ONLY),
            "PATCH",
            i(4),
            json!({"title": "x"}),
            403,
        ),
    ])
    .await;
}

#[tokio::test]
async fn issue_comments() {
    let comments = |n: i64| format!("{APP}/issues/{n}/comments");
    let edit = |id: i64| format!("{APP}/issues/comments/{id}");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(c, "POST", comments(4), json!({"body": "Me too."}), 201)
            .then(resp("/user/login", json!("carol")))
            .then(resp(
                "/issue_url",
                json!("http://gitea.test/acme/app/issues/4"),
            ))
            .then(get(comments(4), "/3/body", json!("Me too.")))
            .then(get(format!("{APP}/issues/4"), "/comments", json!(4))),
        row(a, "POST", comments(6), json!({"body": "On a pull."}), 201).then(resp(
            "/pull_request_url",
            json!("http://gitea.test/acme/app/pulls/6"),
        )),
        row(a, "POST", comments(4), json!({"body": ""}), 422).msg("[Body]: Required"),
        row(a, "POST", comments(99), json!({"body": "x"}), 500).msg("issue does not exist"),
        row(None, "POST", comments(4), json!({"body": "x"}), 401),
        row(
            Some(ALICE_READ_ONLY),
            "POST",
            comments(4),
            json!({"body": "x"}),
            403,
        ),
        row(
            c,
            "POST",
            format!("{VAULT}/issues/1/comments"),
            json!({"body": "x"}),
            404,
        ),
        // comment 7 is carol's, 5 is bob's (both on issue 4)
        row(
            c,
            "PATCH",
            edit(7),
            json!({"body": "Please send Retry-After."}),
            200,
        )
        .then(resp("/body", json!("Please send Retry-After.")))
        .then(get(
            comments(4),
            "/2/body",
            json!("Please send Retry-After."),
        )),
        row(c, "PATCH", edit(5), json!({"body": "hijack"}), 403).then(get(
            comments(4),
            "/0/body",
            json!("Token bucket per API token? 10 req/s burst 20."),
        )),
        row(b, "PATCH", edit(7), json!({"body": "moderated"}), 200).then(get(
            comments(4),
            "/2/body",
            json!("moderated"),
        )),
        row(a, "PATCH", edit(7), json!({"body": ""}), 422).msg("[Body]: Required"),
        row(a, "PATCH", edit(99999), json!({"body": "x"}), 404),
        row(
            a,
            "PATCH",
            "/api/v1/repos/bob/playground/issues/comments/7",
            json!({"body": "x"}),
            404,
        ),
        row(None, "PATCH", edit(7), json!({"body": "x"}), 401),
    ])
    .await;
}

#[tokio::test]
async fn issue_labels() {
    let labels = |n: i64| format!("{APP}/issues/{n}/labels");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(a, "POST", labels(5), json!({"labels": [1]}), 200)
            .then(resp("/0/name", json!("bug")))
            .then(resp("/2/name", json!("good first issue")))
            .then(get(
                format!("{APP}/issues/5"),
                "/labels/0/name",
                json!("bug"),
            )),
        row(
            b,
            "POST",
            labels(5),
            json!({"labels": ["wontfix", "nope"]}),
            200,
        )
        .then(resp("/2/name", json!("wontfix")))
        .then(resp("/3", Value::Null)),
        // a label of another repository (9, secrets-vault) is skipped
        row(a, "POST", labels(5), json!({"labels": [9]}), 200).then(resp("/2", Value::Null)),
        // exclusive scope: priority/low replaces priority/high on issue 4
        row(
            a,
            "POST",
            labels(4),
            json!({"labels": ["priority/low"]}),
            200,
        )
        .then(resp("/1/name", json!("priority/low")))
        .then(resp("/2", Value::Null)),
        row(a, "POST", labels(5), json!({"labels": [1, "bug"]}), 400)
            .msg("labels should be an array of strings or integers"),
        row(a, "POST", labels(5), json!({"labels": [true]}), 400)
            .msg("a label must be an integer or a string"),
        row(c, "POST", labels(5), json!({"labels": [1]}), 403).msg("write permission is required"),
        row(a, "POST", labels(99), json!({"labels": [1]}), 404),
        row(
            Some(ALICE_READ_ONLY),
            "POST",
            labels(5),
            json!({"labels": [1]}),
            403,
        ),
        row(a, "PUT", labels(4), json!({"labels": ["bug"]}), 200)
            .then(resp("/0/name", json!("bug")))
            .then(get(labels(4), "/1", Value::Null)),
        row(a, "PUT", labels(4), json!({"labels": []}), 200).then(get(labels(4), "", json!([]))),
        row(a, "DELETE", format!("{}/2", labels(4)), Value::Null, 204)
            .then(get(labels(4), "/0/name", json!("priority/high")))
            .then(get(labels(4), "/1", Value::Null)),
        row(a, "DELETE", format!("{}/1", labels(4)), Value::Null, 204).then(get(
            labels(4),
            "/1/name",
            json!("priority/high"),
        )),
        row(a, "DELETE", format!("{}/999", labels(4)), Value::Null, 422)
            .msg("label does not exist [label_id: 999]"),
        row(c, "DELETE", format!("{}/2", labels(4)), Value::Null, 403),
        row(a, "DELETE", labels(4), Value::Null, 204).then(get(labels(4), "", json!([]))),
        row(c, "DELETE", labels(4), Value::Null, 403).then(get(
            labels(4),
            "/0/name",
            json!("enhancement"),
        )),
        row(None, "DELETE", labels(4), Value::Null, 401),
    ])
    .await;
}

#[tokio::test]
async fn labels_and_milestones() {
    let labels = format!("{APP}/labels");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(a, "POST", &labels, json!({"name": "triage", "color": "#00AABB", "description": "Needs a look", "exclusive": false}), 201)
            .then(resp("/id", json!(10)))
            .then(resp("/color", json!("00aabb")))
            .then(get(format!("{APP}/labels/10"), "/name", json!("triage")))
            .then(get(format!("{APP}/labels?limit=50"), "/7/name", json!("triage"))),
        row(b, "POST", &labels, json!({"name": "kind/chore", "color": "abc", "exclusive": true}), 201)
            .then(resp("/color", json!("aabbcc")))
            .then(resp("/exclusive", json!(true))),
        // duplicate names are allowed, as in Gitea
        row(a, "POST", &labels, json!({"name": "bug", "color": "ee0701"}), 201),
        row(a, "POST", &labels, json!({"name": "x", "color": "red"}), 422).msg("bad color code: #red"),
        row(a, "POST", &labels, json!({"color": "ffffff"}), 422).msg("[Name]: Required").bad_body(),
        row(a, "POST", &labels, json!({"name": "x"}), 422).msg("[Color]: Required").bad_body(),
        row(c, "POST", &labels, json!({"name": "x", "color": "ffffff"}), 403).msg("user should have a permission to write to a repo"),
        row(None, "POST", &labels, json!({"name": "x", "color": "ffffff"}), 401),
        row(a, "PATCH", format!("{APP}/labels/1"), json!({"name": "defect", "color": "#123456"}), 200)
            .then(resp("/name", json!("defect")))
            .then(get(format!("{APP}/issues/1"), "/labels/0/name", json!("defect")))
            .then(get(format!("{APP}/labels/1"), "/color", json!("123456"))),
        row(a, "PATCH", format!("{APP}/labels/1"), json!({"is_archived": true}), 200).then(resp("/is_archived", json!(true))),
        row(a, "PATCH", format!("{APP}/labels/1"), json!({"color": "zz"}), 422).msg("bad color code"),
        row(a, "PATCH", format!("{APP}/labels/999"), json!({"name": "x"}), 404),
        row(a, "PATCH", format!("{APP}/labels/9"), json!({"name": "x"}), 404),
        row(c, "PATCH", format!("{APP}/labels/1"), json!({"name": "x"}), 403),
        row(a, "POST", format!("{APP}/milestones"), json!({"title": "v2.0", "description": "Next", "due_on": "2027-06-30T00:00:00Z"}), 201)
            .then(resp("/state", json!("open")))
            .then(resp("/due_on", json!("2027-06-30T00:00:00Z")))
            .then(get(format!("{APP}/milestones/v2.0"), "/description", json!("Next"))),
        row(b, "POST", format!("{APP}/milestones"), json!({"title": "old", "state": "closed"}), 201)
            .then(resp("/state", json!("closed")))
            .then(get(format!("{APP}/milestones?state=closed"), "/1/title", json!("old"))),
        row(c, "POST", format!("{APP}/milestones"), json!({"title": "x"}), 403),
        row(Some(ALICE_READ_ONLY), "POST", format!("{APP}/milestones"), json!({"title": "x"}), 403),
    ])
    .await;
}

#[tokio::test]
async fn create_pull_request() {
    let pulls = format!("{APP}/pulls");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        // feature/login -> main was merged (#3), so a new pull is allowed
        row(b, "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "Again", "body": "b", "labels": [1, 9], "milestone": 2, "assignees": ["alice"]}), 201)
            .then(resp("/number", json!(12)))
            .then(resp("/head/ref", json!("feature/login")))
            .then(resp("/base/ref", json!("main")))
            .then(resp("/labels/0/name", json!("bug")))
            .then(resp("/labels/1", Value::Null))
            .then(get(format!("{APP}/pulls/12"), "/milestone/id", json!(2)))
            .then(get(format!("{APP}/issues/12"), "/pull_request/merged", json!(false)))
            .then(get(format!("{APP}/pulls/12/commits"), "/0/sha", Value::Null)),
        row(a, "POST", &pulls, json!({"head": "acme:feature/login", "base": "fix/readme-typo", "title": "Owner form"}), 201)
            .then(resp("/head/label", json!("feature/login"))),
        row(a, "POST", &pulls, json!({"head": "feature/search", "base": "main", "title": "dup"}), 409)
            .msg("pull request already exists for these targets [id: 2, issue_id: 6"),
        row(a, "POST", &pulls, json!({"head": "main", "base": "main", "title": "same"}), 422)
            .msg("There are no changes between the head and the base"),
        row(a, "POST", &pulls, json!({"head": "nope", "base": "main", "title": "x"}), 404),
        row(a, "POST", &pulls, json!({"head": "feature/login", "base": "nope", "title": "x"}), 404),
        row(a, "POST", &pulls, json!({"head": "other:feature/login", "base": "main", "title": "x"}), 404),
        row(a, "POST", &pulls, json!({"head": "feature/login", "base": "main"}), 422).msg("[Title]: Required"),
        row(a, "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "x", "milestone": 999}), 404),
        row(a, "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "x", "assignees": ["carol"]}), 422),
        row(c, "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "x"}), 403).msg("user must be a collaborator"),
        row(Some(ALICE_READ_ONLY), "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "x"}), 403)
            .msg("required=[write:repository]"),
        row(None, "POST", &pulls, json!({"head": "feature/login", "base": "main", "title": "x"}), 401),
    ])
    .await;
}

#[tokio::test]
async fn releases() {
    let rels = format!("{APP}/releases");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    run(vec![
        row(a, "POST", &rels, json!({"tag_name": "v0.5.0", "name": "v0.5.0", "body": "Notes", "target_commitish": "main"}), 201)
            .then(resp("/id", json!(6)))
            .then(resp("/author/login", json!("alice")))
            .then(get(format!("{rels}/tags/v0.5.0"), "/body", json!("Notes")))
            .then(get(format!("{APP}/releases/latest"), "/tag_name", json!("v0.5.0")))
            .then(get_status(format!("{APP}/contents/README.md?ref=v0.5.0"), 200)),
        row(b, "POST", &rels, json!({"tag_name": "v0.6.0", "target_commitish": "feature/search", "prerelease": true}), 201)
            .then(get_status(format!("{APP}/git/commits/v0.6.0"), 200))
            .then(resp("/prerelease", json!(true))),
        // a draft creates no tag
        row(a, "POST", &rels, json!({"tag_name": "v0.7.0", "draft": true}), 201)
            .then(get_status(format!("{APP}/contents/README.md?ref=v0.7.0"), 404)),
        // a tag without a release gets one
        row(b, "POST", "/api/v1/repos/bob/playground/releases", json!({"tag_name": "v0.0.1", "name": "first"}), 201),
        row(a, "POST", &rels, json!({"tag_name": "v0.3.0"}), 409).msg("Release is has no Tag"),
        row(a, "POST", &rels, json!({"tag_name": "v0.9.0", "target_commitish": "nope"}), 404).msg("target \"nope\" not found"),
        row(a, "POST", &rels, json!({"name": "no tag"}), 422).msg("[TagName]: Required").bad_body(),
        row(a, "POST", "/api/v1/repos/acme/new-service/releases", json!({"tag_name": "v1"}), 422).msg("repo is empty"),
        row(c, "POST", &rels, json!({"tag_name": "v9"}), 403),
        row(Some(ALICE_READ_ONLY), "POST", &rels, json!({"tag_name": "v9"}), 403),
        // release 5 is the v0.4.0 draft (target feature/search): publishing creates the tag
        row(a, "PATCH", format!("{rels}/5"), json!({"draft": false}), 200)
            .then(resp("/draft", json!(false)))
            .then(get(format!("{APP}/releases/latest"), "/tag_name", json!("v0.4.0")))
            .then(get_status(format!("{APP}/contents/src/search.rs?ref=v0.4.0"), 200)),
        row(b, "PATCH", format!("{rels}/3"), json!({"name": "Renamed", "body": ""}), 200)
            .then(get(format!("{rels}/3"), "/name", json!("Renamed")))
            .then(get(format!("{rels}/3"), "/body", json!("Health handlers and hardening."))),
        row(a, "PATCH", format!("{rels}/999"), json!({"name": "x"}), 404),
        row(c, "PATCH", format!("{rels}/3"), json!({"name": "x"}), 403),
    ])
    .await;
}

#[tokio::test]
async fn create_branch() {
    let branches = format!("{APP}/branches");
    let (a, b, c) = (Some(ALICE), Some(BOB), Some(CAROL));
    let main_sha = {
        let sim = Sim::new();
        sim.get(&format!("{branches}/main"), Some(ALICE))
            .await
            .json()["commit"]["id"]
            .clone()
    };
    let search_sha = {
        let sim = Sim::new();
        sim.get(&format!("{branches}/feature/search"), Some(ALICE))
            .await
            .json()["commit"]["id"]
            .clone()
    };
    run(vec![
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "release/1.0"}),
            201,
        )
        .then(resp("/name", json!("release/1.0")))
        .then(resp("/commit/id", main_sha.clone()))
        .then(get(
            format!("{branches}/release/1.0"),
            "/commit/id",
            main_sha,
        )),
        row(
            b,
            "POST",
            &branches,
            json!({"new_branch_name": "hotfix", "old_branch_name": "feature/search"}),
            201,
        )
        .then(get(format!("{branches}/hotfix"), "/commit/id", search_sha)),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "from-tag", "old_ref_name": "v0.1.0"}),
            201,
        )
        .then(get(
            format!("{APP}/contents/src/main.rs?ref=from-tag"),
            "/name",
            json!("main.rs"),
        )),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "main"}),
            409,
        )
        .msg("The branch already exists."),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "v0.1.0"}),
            409,
        )
        .msg("The branch with the same tag already exists."),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "feature"}),
            409,
        )
        .msg("The branch with the same name already exists."),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "x", "old_branch_name": "nope"}),
            404,
        )
        .msg("The old branch does not exist"),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "x", "old_ref_name": "nope"}),
            500,
        ),
        row(
            a,
            "POST",
            &branches,
            json!({"new_branch_name": "bad..name"}),
            422,
        )
        .msg("[BranchName]: GitRefName"),
        row(a, "POST", &branches, json!({}), 422)
            .msg("[BranchName]: Required")
            .bad_body(),
        row(
            a,
            "POST",
            "/api/v1/repos/acme/new-service/branches",
            json!({"new_branch_name": "x"}),
            404,
        )
        .msg("Git Repository is empty."),
        row(c, "POST", &branches, json!({"new_branch_name": "x"}), 403),
        row(
            None,
            "POST",
            &branches,
            json!({"new_branch_name": "x"}),
            401,
        ),
        row(
            Some(ALICE_READ_ONLY),
            "POST",
            &branches,
            json!({"new_branch_name": "x"}),
            403,
        ),
    ])
    .await;
}

#[tokio::test]
async fn writes_are_visible_until_reset() {
    let sim = Sim::new();
    let resp = sim
        .send(
            "POST",
            &format!("{APP}/issues"),
            Some(BOB),
            &json!({"title": "Persisted"}),
        )
        .await;
    assert_eq!(resp.status, 201);
    let issue = sim.get(&format!("{APP}/issues/12"), Some(CAROL)).await;
    assert_eq!(issue.json()["title"], "Persisted");
    let list = sim.get(&format!("{APP}/issues?limit=1"), None).await;
    assert_eq!(list.json()[0]["number"], 12);
    // a second write gets the next number and global id
    let second = sim
        .send(
            "POST",
            &format!("{VAULT}/issues"),
            Some(ALICE),
            &json!({"title": "Vault"}),
        )
        .await
        .json();
    assert_eq!(
        (second["number"].clone(), second["id"].clone()),
        (json!(2), json!(issue.json()["id"].as_i64().unwrap() + 1))
    );
    let reset = sim.send("POST", "/_sim/reset", None, &Value::Null).await;
    assert_eq!(reset.status, 204);
    assert_eq!(
        sim.get(&format!("{APP}/issues/12"), Some(ALICE))
            .await
            .status,
        404
    );
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}
