//! Walks every simulated endpoint with the demo seed in contract mode: expected status, zero violations.

use crate::support::{Sim, ALICE, BOB, CAROL};

const APP: &str = "/api/v1/repos/acme/app";

/// (token, path, expected status)
fn table(
    readme_sha: &str,
    main_sha: &str,
    typo_sha: &str,
    draft_id: i64,
    rc_id: i64,
) -> Vec<(Option<&'static str>, String, u16)> {
    let a = Some(ALICE);
    let fixed: Vec<(Option<&'static str>, &str, u16)> = vec![
        (None, "/api/v1/version", 200),
        (a, "/api/v1/user", 200),
        (None, "/api/v1/user", 401),
        (a, "/api/v1/user/repos", 200),
        (a, "/api/v1/user/repos?page=2", 200),
        (a, "/api/v1/user/repos?limit=50", 200),
        (Some(CAROL), "/api/v1/user/repos", 200),
        (a, "/api/v1/user/orgs", 200),
        (Some(CAROL), "/api/v1/user/orgs", 200),
        (None, "/api/v1/orgs/acme/repos", 200),
        (a, "/api/v1/orgs/acme/repos?page=2&limit=10", 200),
        (a, "/api/v1/orgs/nope/repos", 404),
        (a, APP, 200),
        (None, APP, 200),
        (Some(BOB), "/api/v1/repos/acme/secrets-vault", 200),
        (Some(CAROL), "/api/v1/repos/acme/secrets-vault", 404),
        (None, "/api/v1/repos/alice/notes", 404),
        (None, "/api/v1/repos/bob/playground", 200),
        (a, "/api/v1/repos/acme/new-service", 200),
        (a, "/api/v1/repos/acme/app/languages", 200),
        (a, "/api/v1/repos/acme/app/topics", 200),
        (a, "/api/v1/repos/acme/app/topics?limit=2&page=2", 200),
        (a, "/api/v1/repos/acme/app/collaborators/bob/permission", 200),
        (Some(BOB), "/api/v1/repos/acme/app/collaborators/bob/permission", 200),
        (Some(BOB), "/api/v1/repos/acme/app/collaborators/alice/permission", 403),
        (a, "/api/v1/repos/acme/app/collaborators/nobody/permission", 404),
        (None, "/api/v1/repos/acme/app/collaborators/bob/permission", 401),
        (a, "/api/v1/repos/acme/app/contents", 200),
        (a, "/api/v1/repos/acme/app/contents?ref=v0.1.0", 200),
        (a, "/api/v1/repos/acme/app/contents/src", 200),
        (a, "/api/v1/repos/acme/app/contents/src/handlers", 200),
        (a, "/api/v1/repos/acme/app/contents/README.md", 200),
        (a, "/api/v1/repos/acme/app/contents/README.md?ref=feature/search", 200),
        (a, "/api/v1/repos/acme/app/contents/assets/logo.png", 200),
        (a, "/api/v1/repos/acme/app/contents/docs/index.md", 200),
        (a, "/api/v1/repos/acme/app/contents/scripts/dev.sh", 200),
        (a, "/api/v1/repos/acme/app/contents/tests/data/large-fixture.txt", 200),
        (a, "/api/v1/repos/acme/app/contents/nope.txt", 404),
        (a, "/api/v1/repos/acme/app/contents?ref=nope", 404),
        (a, "/api/v1/repos/acme/new-service/contents", 200),
        (a, "/api/v1/repos/acme/app/raw/README.md", 200),
        (a, "/api/v1/repos/acme/app/raw/README.md?ref=v0.1.0", 200),
        (a, "/api/v1/repos/acme/app/raw/feature/search/src/search.rs", 200),
        (a, "/api/v1/repos/acme/app/raw/assets/logo.png", 200),
        (a, "/api/v1/repos/acme/app/raw/src", 404),
        (a, "/api/v1/repos/acme/app/git/trees/main", 200),
        (a, "/api/v1/repos/acme/app/git/trees/main?recursive=true&per_page=5&page=2", 200),
        (a, "/api/v1/repos/acme/app/git/trees/main?recursive=1&page=99", 200),
        (a, "/api/v1/repos/acme/app/git/trees/v0.1.0", 200),
        (a, "/api/v1/repos/acme/app/git/trees/nope", 400),
        (a, "/api/v1/repos/acme/app/git/blobs/0000000000000000000000000000000000000000", 400),
        (a, "/api/v1/repos/acme/app/git/commits/main", 200),
        (a, "/api/v1/repos/acme/app/git/commits/v0.2.0?stat=false&verification=false&files=false", 200),
        (a, "/api/v1/repos/acme/app/git/commits/ffffffffffffffffffffffffffffffffffffffff", 404),
        (a, "/api/v1/repos/acme/app/commits", 200),
        (a, "/api/v1/repos/acme/app/commits?sha=feature/search&path=src/search.rs&limit=1&page=2", 200),
        (a, "/api/v1/repos/acme/app/commits?since=2025-06-01T00:00:00Z&until=2025-12-31T00:00:00Z", 200),
        (a, "/api/v1/repos/acme/app/commits?sha=feature/search&not=main&stat=false&files=false", 200),
        (a, "/api/v1/repos/acme/app/commits?since=yesterday", 422),
        (a, "/api/v1/repos/acme/new-service/commits", 409),
        (a, "/api/v1/repos/acme/app/compare/main...feature/search", 200),
        (a, "/api/v1/repos/acme/app/compare/v0.1.0..v0.2.0", 200),
        (a, "/api/v1/repos/acme/app/compare/main...feature/search?output=diff", 200),
        (a, "/api/v1/repos/acme/app/compare/main...feature/search?output=patch", 200),
        (a, "/api/v1/repos/acme/app/compare/main...nope", 404),
        (a, "/api/v1/repos/acme/app/issues", 200),
        (a, "/api/v1/repos/acme/app/issues?state=all&type=issues&labels=bug", 200),
        (a, "/api/v1/repos/acme/app/issues?type=pulls&state=closed", 200),
        (a, "/api/v1/repos/acme/app/issues?milestones=v0.4.0,3", 200),
        (a, "/api/v1/repos/acme/app/issues?q=rate&created_by=alice&assigned_by=bob", 200),
        (a, "/api/v1/repos/acme/app/issues?mentioned_by=alice&since=2026-01-01T00:00:00Z&before=2026-12-31T00:00:00Z", 200),
        (a, "/api/v1/repos/acme/app/issues?limit=2&page=2", 200),
        (a, "/api/v1/repos/acme/app/issues/4", 200),
        (a, "/api/v1/repos/acme/app/issues/6", 200),
        (a, "/api/v1/repos/acme/app/issues/1", 200),
        (a, "/api/v1/repos/acme/app/issues/99", 404),
        (a, "/api/v1/repos/acme/app/issues/abc", 404),
        (a, "/api/v1/repos/acme/app/issues/4/comments", 200),
        (a, "/api/v1/repos/acme/app/issues/6/comments?since=2026-11-20T00:00:00Z", 200),
        (a, "/api/v1/repos/acme/app/issues/5/comments", 200),
        (a, "/api/v1/repos/acme/app/pulls", 200),
        (a, "/api/v1/repos/acme/app/pulls?state=all&sort=oldest", 200),
        (a, "/api/v1/repos/acme/app/pulls?state=closed&labels=2&labels=3", 200),
        (a, "/api/v1/repos/acme/app/pulls?poster=bob&base_branch=main&milestone=2", 200),
        (a, "/api/v1/repos/acme/app/pulls/6", 200),
        (a, "/api/v1/repos/acme/app/pulls/3", 200),
        (a, "/api/v1/repos/acme/app/pulls/11", 200),
        (a, "/api/v1/repos/acme/app/pulls/4", 404),
        (a, "/api/v1/repos/acme/app/pulls/6.diff", 200),
        (a, "/api/v1/repos/acme/app/pulls/3.patch", 200),
        (a, "/api/v1/repos/acme/app/pulls/6/files", 200),
        (a, "/api/v1/repos/acme/app/pulls/3/files?limit=1&page=2", 200),
        (a, "/api/v1/repos/acme/app/pulls/6/commits", 200),
        (a, "/api/v1/repos/acme/app/pulls/6/commits?verification=false&files=false", 200),
        (a, "/api/v1/repos/acme/app/labels", 200),
        (a, "/api/v1/repos/acme/app/labels?limit=3&page=2", 200),
        (a, "/api/v1/repos/acme/app/milestones", 200),
        (a, "/api/v1/repos/acme/app/milestones?state=closed&name=v0", 200),
        (a, "/api/v1/repos/acme/app/tags", 200),
        (a, "/api/v1/repos/acme/app/tags?limit=1&page=3", 200),
        (a, "/api/v1/repos/acme/app/releases", 200),
        (a, "/api/v1/repos/acme/app/releases?draft=true", 200),
        (a, "/api/v1/repos/acme/app/releases?pre-release=true", 200),
        (Some(CAROL), "/api/v1/repos/acme/app/releases", 200),
        (a, "/api/v1/repos/acme/app/releases/latest", 200),
        (a, "/api/v1/repos/acme/app/releases/999", 404),
        (a, "/api/v1/repos/bob/playground/releases/latest", 404),
        (a, "/api/v1/repos/acme/app/branches", 200),
        (a, "/api/v1/repos/acme/app/branches?q=feature&limit=1", 200),
        (a, "/api/v1/repos/acme/app/branches/feature/search", 200),
        (a, "/api/v1/repos/acme/app/branches/nope", 404),
        (a, "/api/v1/repos/acme/app/commits/main/status", 200),
        (a, "/api/v1/repos/acme/app/commits/feature%2Fsearch/status", 200),
        (a, "/api/v1/repos/acme/app/commits/v0.1.0/status", 200),
        (a, "/api/v1/repos/acme/app/commits/main/status?limit=1&page=2", 200),
        (Some(BOB), "/api/v1/repos/acme/secrets-vault/issues", 200),
        (Some(BOB), "/api/v1/repos/acme/secrets-vault/contents/secrets", 200),
        (a, "/api/v1/repos/alice/notes/contents/journal/2026-11.md", 200),
        (None, "/api/v1/repos/bob/playground/commits?sha=experiment", 200),
        (None, "/api/v1/repos/bob/playground/tags", 200),
        (None, "/api/v1/repos/carol/dotfiles/contents/install.sh", 200),
        (None, "/api/v1/repos/acme/svc-07", 200),
        (a, "/api/v1/users/alice/orgs", 200),
        (None, "/api/v1/users/bob/orgs?limit=1", 200),
        (a, "/api/v1/users/nobody/orgs", 404),
        (None, "/api/v1/repos/search?q=svc&limit=5&page=2", 200),
        (a, "/api/v1/repos/search?q=web&topic=true", 200),
        (a, "/api/v1/repos/search?q=platform&includeDesc=true&sort=created&order=desc", 200),
        (a, "/api/v1/repos/search?is_private=true&uid=5&private=true", 200),
        (a, "/api/v1/repos/search?sort=stars", 422),
        (a, "/api/v1/repos/acme/app/assignees", 200),
        (a, "/api/v1/repos/acme/app/commits/main/statuses", 200),
        (a, "/api/v1/repos/acme/app/commits/main/statuses?state=success&sort=oldest&limit=1", 200),
        (a, "/api/v1/repos/acme/app/commits/nope/statuses", 200),
        (a, "/api/v1/repos/acme/app/releases/tags/v0.3.0", 200),
        (a, "/api/v1/repos/acme/app/releases/tags/nope", 404),
        (a, "/api/v1/repos/acme/app/labels/1", 200),
        (a, "/api/v1/repos/acme/app/labels/999", 404),
        (a, "/api/v1/repos/acme/app/milestones/2", 200),
        (a, "/api/v1/repos/acme/app/milestones/v1.0", 200),
        (a, "/api/v1/repos/acme/app/milestones/nope", 404),
        (a, "/api/v1/repos/acme/app/issues/4/labels", 200),
        (a, "/api/v1/repos/acme/app/issues/99/labels", 404),
    ];
    let mut rows: Vec<(Option<&'static str>, String, u16)> = fixed
        .into_iter()
        .map(|(t, p, s)| (t, p.to_string(), s))
        .collect();
    rows.extend([
        (a, format!("{APP}/git/blobs/{readme_sha}"), 200),
        (a, format!("{APP}/git/trees/{main_sha}"), 200),
        (a, format!("{APP}/git/commits/{main_sha}"), 200),
        (a, format!("{APP}/git/commits/{}", &main_sha[..10]), 200),
        (a, format!("{APP}/git/commits/{main_sha}.diff"), 200),
        (a, format!("{APP}/git/commits/{main_sha}.patch"), 200),
        (
            a,
            format!("{APP}/contents/README.md?ref={}", &main_sha[..7]),
            200,
        ),
        (a, format!("{APP}/raw/{main_sha}/README.md"), 200),
        (a, format!("{APP}/commits/{typo_sha}/status"), 200),
        (a, format!("{APP}/commits/{readme_sha}/status"), 200),
        (a, format!("{APP}/releases/{draft_id}"), 200),
        (Some(CAROL), format!("{APP}/releases/{draft_id}"), 404),
        (Some(CAROL), format!("{APP}/releases/{rc_id}"), 200),
    ]);
    rows
}

#[tokio::test]
async fn every_endpoint_conforms_to_the_swagger() {
    let sim = Sim::new();
    let readme = sim
        .get(&format!("{APP}/contents/README.md"), Some(ALICE))
        .await
        .json();
    let readme_sha = readme["sha"].as_str().unwrap().to_string();
    let main_sha = readme["last_commit_sha"].as_str().unwrap().to_string();
    let typo = sim
        .get(&format!("{APP}/branches/fix/readme-typo"), Some(ALICE))
        .await
        .json();
    let typo_sha = typo["commit"]["id"].as_str().unwrap().to_string();
    let releases = sim
        .get(&format!("{APP}/releases"), Some(ALICE))
        .await
        .json();
    let id_of = |tag: &str| {
        releases
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["tag_name"] == tag)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (draft_id, rc_id) = (id_of("v0.4.0"), id_of("v0.3.1-rc.1"));
    let rows = table(&readme_sha, &main_sha, &typo_sha, draft_id, rc_id);
    let mut wrong = Vec::new();
    for (token, path, want) in &rows {
        let resp = sim.get(path, *token).await;
        if resp.status.as_u16() != *want {
            wrong.push(format!(
                "{path} as {token:?}: got {} want {want}: {}",
                resp.status,
                resp.text()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected statuses:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        sim.state.requests().len(),
        rows.len() + 3,
        "every request is logged"
    );
    let violations = sim.state.violations();
    assert!(
        violations.is_empty(),
        "contract violations:\n{}",
        violations.join("\n")
    );
}
