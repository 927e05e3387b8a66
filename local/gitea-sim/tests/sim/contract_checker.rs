//! The contract checker is not a rubber stamp: wrong bodies, invented fields, unknown parameters
//! and undocumented routes are all reported.

use gitea_sim::contract::Contract;
use serde_json::json;

use crate::support::{swagger_path, Sim, ALICE};

fn contract() -> Contract {
    Contract::load(std::path::Path::new(&swagger_path())).expect("swagger loads")
}

#[test]
fn swagger_has_every_operation() {
    assert_eq!(contract().operation_count(), 482);
}

#[test]
fn paths_map_to_the_right_operations() {
    let c = contract();
    let cases = [
        ("GET", "/api/v1/version", Some("getVersion")),
        ("GET", "/api/v1/repos/a/b", Some("repoGet")),
        (
            "GET",
            "/api/v1/repos/a/b/contents",
            Some("repoGetContentsList"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/contents/src/deep/file.rs",
            Some("repoGetContents"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/raw/main/src/lib.rs",
            Some("repoGetRawFile"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/releases/latest",
            Some("repoGetLatestRelease"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/releases/7",
            Some("repoGetRelease"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/git/commits/abc123",
            Some("repoGetSingleCommit"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/git/commits/abc123.diff",
            Some("repoDownloadCommitDiffOrPatch"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/git/commits/v0.2.0",
            Some("repoGetSingleCommit"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/pulls/3.patch",
            Some("repoDownloadPullDiffOrPatch"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/branches/feature/x",
            Some("repoGetBranch"),
        ),
        (
            "GET",
            "/api/v1/repos/a/b/compare/main...feature/x",
            Some("repoCompareDiff"),
        ),
        ("POST", "/api/v1/repos/a/b/issues", Some("issueCreateIssue")),
        ("GET", "/api/v1/repos/a/b/not-a-route", None),
        ("PUT", "/api/v1/version", None),
    ];
    for (method, path, want) in cases {
        assert_eq!(
            c.operation_id(method, path).as_deref(),
            want,
            "{method} {path}"
        );
    }
}

/// (path, query, status, body, what the violation must mention)
#[test]
fn wrong_responses_are_caught() {
    let c = contract();
    let invented = json!({"id": 1, "name": "app", "full_name": "acme/app", "stars": 3});
    let wrong_type = json!({"id": "one", "name": "app"});
    let wrong_enum = json!({"permission": "superuser", "role_name": "x", "user": null});
    let bad_user = json!({"id": 1, "login": "alice", "nickname": "al"});
    let cases: Vec<(&str, &str, u16, serde_json::Value, &str)> = vec![
        ("/api/v1/repos/acme/app", "", 200, invented, "stars"),
        ("/api/v1/repos/acme/app", "", 200, wrong_type, "one"),
        (
            "/api/v1/repos/acme/app/collaborators/bob/permission",
            "",
            200,
            wrong_enum,
            "superuser",
        ),
        ("/api/v1/user", "", 200, bad_user, "nickname"),
        (
            "/api/v1/repos/acme/app/tags",
            "",
            200,
            json!({"not": "a list"}),
            "array",
        ),
        (
            "/api/v1/repos/acme/app/releases/latest",
            "",
            200,
            json!({"created_at": "yesterday"}),
            "date-time",
        ),
        (
            "/api/v1/repos/acme/app/issues/1",
            "",
            200,
            json!({"state": "merged"}),
            "merged",
        ),
        (
            "/api/v1/repos/acme/app",
            "",
            404,
            json!({"message": "not found"}),
            "url",
        ),
        (
            "/api/v1/repos/acme/app",
            "",
            201,
            json!({}),
            "not documented",
        ),
        (
            "/api/v1/repos/acme/app/issues",
            "labels=bug&color=red",
            200,
            json!([]),
            "color",
        ),
        (
            "/api/v1/repos/acme/app/git/trees/main",
            "limit=5",
            200,
            json!({}),
            "limit",
        ),
    ];
    for (path, query, status, body, needle) in cases {
        let found = c.check(
            "GET",
            path,
            query,
            status,
            "application/json;charset=utf-8",
            body.to_string().as_bytes(),
        );
        assert!(
            found.iter().any(|v| v.contains(needle)),
            "{path}?{query} {status}: expected a violation mentioning `{needle}`, got {found:?}"
        );
    }
}

#[test]
fn conforming_responses_pass() {
    let c = contract();
    let ok = c.check(
        "GET",
        "/api/v1/version",
        "",
        200,
        "application/json",
        br#"{"version":"1.27.0"}"#,
    );
    assert!(ok.is_empty(), "{ok:?}");
    let error = c.check(
        "GET",
        "/api/v1/repos/x/y",
        "",
        404,
        "application/json",
        br#"{"message":"not found","url":"http://h/api/swagger"}"#,
    );
    assert!(error.is_empty(), "{error:?}");
}

#[tokio::test]
async fn unknown_query_parameters_and_routes_are_recorded() {
    let sim = Sim::new();
    sim.get("/api/v1/repos/acme/app?include=everything", Some(ALICE))
        .await;
    sim.get("/api/v1/repos/acme/app/wiki/pages", Some(ALICE))
        .await;
    sim.get("/api/v1/no/such/endpoint", None).await;
    let violations = sim.state.violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(violations[0].contains("unknown query parameter `include`"));
    assert!(violations[1].contains("/api/v1/no/such/endpoint: no swagger operation"));
    sim.state.clear_violations();
    assert!(sim.state.violations().is_empty());
}
