//! Behaviour of the simulated Gitea: auth, visibility, error bodies, paging headers, refs, content.

use base64::Engine;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::support::{Sim, ALICE, ALICE_READ_ONLY, BASE, BOB, CAROL};

#[tokio::test]
async fn authorization_header_forms() {
    let sim = Sim::new();
    let basic = |user: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
        )
    };
    let alice_query = format!("/api/v1/user?token={ALICE}");
    let bob_query = format!("/api/v1/user?access_token={BOB}");
    // (Authorization header, path, status, user in the request log)
    let cases: Vec<(Option<String>, &str, u16, Option<&str>)> = vec![
        (
            Some(format!("token {ALICE}")),
            "/api/v1/user",
            200,
            Some("alice"),
        ),
        (
            Some(format!("bearer {BOB}")),
            "/api/v1/user",
            200,
            Some("bob"),
        ),
        (
            Some(format!("Bearer {BOB}")),
            "/api/v1/user",
            200,
            Some("bob"),
        ),
        (
            Some(format!("TOKEN {CAROL}")),
            "/api/v1/user",
            200,
            Some("carol"),
        ),
        (
            Some(basic("bob", "bob-password")),
            "/api/v1/user",
            200,
            Some("bob"),
        ),
        (
            Some(basic("alice", ALICE)),
            "/api/v1/user",
            200,
            Some("alice"),
        ),
        (Some(basic("bob", ALICE)), "/api/v1/user", 401, None),
        (Some(basic("bob", "wrong")), "/api/v1/user", 401, None),
        (Some("token not-a-token".into()), "/api/v1/user", 401, None),
        (
            Some("token not-a-token".into()),
            "/api/v1/version",
            401,
            None,
        ),
        (Some("bearer ".into()), "/api/v1/version", 401, None),
        (None, "/api/v1/user", 401, None),
        (None, "/api/v1/version", 200, None),
        (None, &alice_query, 200, Some("alice")),
        (None, &bob_query, 200, Some("bob")),
        (
            Some(format!("token {ALICE_READ_ONLY}")),
            "/api/v1/repos/acme/app",
            200,
            Some("alice"),
        ),
        (
            Some(format!("token {ALICE_READ_ONLY}")),
            "/api/v1/repos/acme/app/issues",
            403,
            Some("alice"),
        ),
        (
            Some(format!("token {ALICE_READ_ONLY}")),
            "/api/v1/user",
            403,
            Some("alice"),
        ),
    ];
    for (auth, path, status, user) in cases {
        sim.state.clear_requests();
        let resp = sim.request("GET", path, auth.as_deref()).await;
        assert_eq!(
            resp.status.as_u16(),
            status,
            "{auth:?} {path}: {}",
            resp.text()
        );
        let log = sim.state.requests();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].user.as_deref(), user, "{auth:?} {path}");
    }
}

#[tokio::test]
async fn error_bodies_are_gitea_shaped() {
    let sim = Sim::new();
    let url = format!("{BASE}/api/swagger");
    // (token, path, status, message)
    let cases: Vec<(Option<&str>, &str, u16, String)> = vec![
        (Some(ALICE), "/api/v1/repos/acme/nope", 404, "not found".into()),
        (Some(CAROL), "/api/v1/repos/acme/secrets-vault", 404, "not found".into()),
        (None, "/api/v1/user", 401, "token is required".into()),
        (Some("bad"), "/api/v1/version", 401, "invalid username, password or token".into()),
        (
            Some(ALICE_READ_ONLY),
            "/api/v1/repos/acme/app/labels",
            403,
            "token does not have at least one of required scope(s), required=[read:issue], token scope=read:repository".into(),
        ),
        (Some(ALICE), "/api/v1/repos/acme/app/git/trees/nope", 400, "sha not found [nope]".into()),
        (
            Some(ALICE),
            "/api/v1/repos/acme/app/collaborators/zed/permission",
            404,
            "user does not exist [uid: 0, name: zed]".into(),
        ),
        (
            Some(BOB),
            "/api/v1/repos/acme/app/collaborators/carol/permission",
            403,
            "Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own".into(),
        ),
        (Some(ALICE), "/api/v1/repos/acme/new-service/commits", 409, "Git Repository is empty.".into()),
    ];
    for (token, path, status, message) in cases {
        let resp = sim.get(path, token).await;
        assert_eq!(resp.status.as_u16(), status, "{path}");
        assert_eq!(
            resp.json(),
            json!({"message": message, "url": url}),
            "{path}"
        );
        assert!(resp
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
}

#[tokio::test]
async fn private_repositories_are_hidden_not_forbidden() {
    let sim = Sim::new();
    type Perms = Option<(bool, bool, bool)>;
    // (token, repo, status, (pull, push, admin))
    let cases: Vec<(Option<&str>, &str, u16, Perms)> = vec![
        (None, "acme/app", 200, Some((true, false, false))),
        (Some(CAROL), "acme/app", 200, Some((true, false, false))),
        (Some(BOB), "acme/app", 200, Some((true, true, false))),
        (Some(ALICE), "acme/app", 200, Some((true, true, true))),
        (None, "acme/secrets-vault", 404, None),
        (Some(CAROL), "acme/secrets-vault", 404, None),
        (
            Some(BOB),
            "acme/secrets-vault",
            200,
            Some((true, true, false)),
        ),
        (
            Some(ALICE),
            "acme/secrets-vault",
            200,
            Some((true, true, true)),
        ),
        (Some(BOB), "alice/notes", 404, None),
        (Some(ALICE), "alice/notes", 200, Some((true, true, true))),
        (Some(ALICE), "ACME/App", 200, Some((true, true, true))),
    ];
    for (token, repo, status, perms) in cases {
        let resp = sim.get(&format!("/api/v1/repos/{repo}"), token).await;
        assert_eq!(resp.status.as_u16(), status, "{repo} as {token:?}");
        if let Some((pull, push, admin)) = perms {
            let p = &resp.json()["permissions"];
            assert_eq!(
                (
                    p["pull"].as_bool(),
                    p["push"].as_bool(),
                    p["admin"].as_bool()
                ),
                (Some(pull), Some(push), Some(admin)),
                "{repo} as {token:?}"
            );
        }
        // the same rule holds below the repository
        let contents = sim
            .get(&format!("/api/v1/repos/{repo}/contents"), token)
            .await;
        assert_eq!(
            contents.status.as_u16(),
            status,
            "{repo}/contents as {token:?}"
        );
    }
    let carol_orgs = sim
        .get("/api/v1/orgs/acme/repos?limit=50", Some(CAROL))
        .await
        .json();
    assert!(carol_orgs
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["private"] == false));
    let bob_orgs = sim
        .get("/api/v1/orgs/acme/repos?limit=50", Some(BOB))
        .await
        .json();
    assert!(bob_orgs
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["full_name"] == "acme/secrets-vault"));
}

#[tokio::test]
async fn collaborator_permission_levels() {
    let sim = Sim::new();
    // (repo, collaborator, permission)
    let cases = [
        ("acme/app", "alice", "owner"),
        ("acme/app", "bob", "write"),
        ("acme/app", "carol", "read"),
        ("acme/secrets-vault", "bob", "write"),
        ("acme/secrets-vault", "carol", "none"),
        ("alice/notes", "alice", "owner"),
        ("bob/playground", "alice", "admin"),
    ];
    for (repo, who, want) in cases {
        let resp = sim
            .get(
                &format!("/api/v1/repos/{repo}/collaborators/{who}/permission"),
                Some(ALICE),
            )
            .await;
        let body = resp.json();
        assert_eq!(body["permission"], want, "{repo} {who}");
        assert_eq!(body["role_name"], want, "{repo} {who}");
        assert_eq!(body["user"]["login"], who);
    }
}

fn link_rels(link: &str) -> Vec<(String, String)> {
    link.split(',')
        .map(|part| {
            let (url, rel) = part.split_once("; rel=").unwrap();
            let page = url
                .split("page=")
                .nth(1)
                .unwrap()
                .trim_end_matches('>')
                .split('&')
                .next()
                .unwrap();
            (rel.trim_matches('"').to_string(), page.to_string())
        })
        .collect()
}

#[tokio::test]
async fn repository_listing_pages() {
    let sim = Sim::new();
    let first = sim.get("/api/v1/user/repos", Some(ALICE)).await;
    assert_eq!(first.header("x-total-count").as_deref(), Some("39"));
    assert_eq!(first.json().as_array().unwrap().len(), 30);
    assert_eq!(
        first.header("link").unwrap(),
        format!("<{BASE}/api/v1/user/repos?page=2>; rel=\"next\",<{BASE}/api/v1/user/repos?page=2>; rel=\"last\"")
    );
    assert_eq!(
        first.header("access-control-expose-headers").as_deref(),
        Some("Link, X-Total-Count")
    );
    let second = sim
        .get("/api/v1/user/repos?page=2&limit=30", Some(ALICE))
        .await;
    assert_eq!(second.json().as_array().unwrap().len(), 9);
    assert_eq!(
        link_rels(&second.header("link").unwrap()),
        [("first".into(), "1".into()), ("prev".into(), "1".into())]
    );
    let big = sim
        .get("/api/v1/repos/acme/app/commits?limit=500", Some(ALICE))
        .await;
    assert_eq!(
        big.header("x-perpage").as_deref(),
        Some("50"),
        "limit is capped at 50"
    );
    let names: Vec<String> = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "alphabetical, like Gitea's default search order"
    );
}

#[tokio::test]
async fn paging_headers_per_endpoint() {
    let sim = Sim::new();
    // (path, has Link, has X-Page.., has X-Total)
    let cases = [
        ("/api/v1/repos/acme/app/commits?limit=2", true, true, true),
        (
            "/api/v1/repos/acme/app/pulls/6/files?limit=1",
            true,
            true,
            false,
        ),
        (
            "/api/v1/repos/acme/app/pulls/6/commits?limit=1",
            true,
            true,
            false,
        ),
        (
            "/api/v1/repos/acme/app/issues?state=all&limit=2",
            true,
            false,
            false,
        ),
        (
            "/api/v1/repos/acme/app/pulls?state=all&limit=2",
            true,
            false,
            false,
        ),
        (
            "/api/v1/repos/acme/app/releases?limit=2",
            true,
            false,
            false,
        ),
        (
            "/api/v1/repos/acme/app/branches?limit=2",
            true,
            false,
            false,
        ),
        ("/api/v1/orgs/acme/repos?limit=2", true, false, false),
        ("/api/v1/repos/acme/app/labels?limit=2", false, false, false),
        ("/api/v1/repos/acme/app/tags?limit=2", false, false, false),
        (
            "/api/v1/repos/acme/app/milestones?limit=1",
            false,
            false,
            false,
        ),
        ("/api/v1/repos/acme/app/topics?limit=1", false, false, false),
        (
            "/api/v1/repos/acme/app/issues/4/comments",
            false,
            false,
            false,
        ),
        (
            "/api/v1/repos/acme/app/git/trees/main?recursive=true&per_page=2",
            false,
            false,
            false,
        ),
    ];
    for (path, link, page_headers, x_total) in cases {
        let resp = sim.get(path, Some(ALICE)).await;
        assert_eq!(resp.status.as_u16(), 200, "{path}");
        assert!(
            resp.header("x-total-count").is_some(),
            "{path}: X-Total-Count"
        );
        assert_eq!(resp.header("link").is_some(), link, "{path}: Link");
        assert_eq!(
            resp.header("x-page").is_some(),
            page_headers,
            "{path}: X-Page"
        );
        assert_eq!(
            resp.header("x-hasmore").is_some(),
            page_headers,
            "{path}: X-HasMore"
        );
        assert_eq!(resp.header("x-total").is_some(), x_total, "{path}: X-Total");
    }
    let commits = sim
        .get(
            "/api/v1/repos/acme/app/commits?limit=4&page=2&stat=false",
            Some(ALICE),
        )
        .await;
    let total: usize = commits.header("x-total-count").unwrap().parse().unwrap();
    assert_eq!(commits.header("x-page").as_deref(), Some("2"));
    assert_eq!(commits.header("x-perpage").as_deref(), Some("4"));
    assert_eq!(
        commits.header("x-pagecount").unwrap(),
        total.div_ceil(4).to_string()
    );
    assert_eq!(
        commits.header("link").unwrap(),
        format!(
            "<{BASE}/api/v1/repos/acme/app/commits?limit=4&page=3&stat=false>; rel=\"next\",<{BASE}/api/v1/repos/acme/app/commits?limit=4&page={}&stat=false>; rel=\"last\",<{BASE}/api/v1/repos/acme/app/commits?limit=4&page=1&stat=false>; rel=\"first\",<{BASE}/api/v1/repos/acme/app/commits?limit=4&page=1&stat=false>; rel=\"prev\"",
            total.div_ceil(4)
        )
    );
}

#[tokio::test]
async fn git_tree_pages_use_per_page() {
    let sim = Sim::new();
    let all = sim
        .get(
            "/api/v1/repos/acme/app/git/trees/main?recursive=true",
            Some(ALICE),
        )
        .await
        .json();
    let total = all["total_count"].as_u64().unwrap() as usize;
    assert_eq!(all["tree"].as_array().unwrap().len(), total);
    assert_eq!(all["truncated"], false);
    // (query, entries, truncated, page)
    let cases = [
        (
            "recursive=true&per_page=10&page=1",
            10.min(total),
            total > 10,
            1,
        ),
        (
            "recursive=true&per_page=10&page=3",
            total.saturating_sub(20).min(10),
            total > 30,
            3,
        ),
        ("recursive=true&per_page=5000", total, false, 1),
        ("recursive=true&per_page=0&page=0", total, false, 1),
    ];
    for (query, entries, truncated, page) in cases {
        let body = sim
            .get(
                &format!("/api/v1/repos/acme/app/git/trees/main?{query}"),
                Some(ALICE),
            )
            .await
            .json();
        assert_eq!(
            body["tree"].as_array().map_or(0, Vec::len),
            entries,
            "{query}"
        );
        assert_eq!(body["truncated"], truncated, "{query}");
        assert_eq!(body["page"], page, "{query}");
        assert_eq!(body["total_count"], total, "{query}");
    }
    let beyond = sim
        .get("/api/v1/repos/acme/app/git/trees/main?page=50", Some(ALICE))
        .await
        .json();
    assert_eq!(beyond["tree"], Value::Null);
    let top = sim
        .get("/api/v1/repos/acme/app/git/trees/main", Some(ALICE))
        .await
        .json();
    assert!(top["tree"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| !e["path"].as_str().unwrap().contains('/')));
    let dir = top["tree"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "src")
        .unwrap()
        .clone();
    assert_eq!(
        (
            dir["type"].as_str(),
            dir["mode"].as_str(),
            dir["size"].as_u64()
        ),
        (Some("tree"), Some("040000"), Some(0))
    );
    let sub = sim
        .get(
            &format!(
                "/api/v1/repos/acme/app/git/trees/{}",
                dir["sha"].as_str().unwrap()
            ),
            Some(ALICE),
        )
        .await
        .json();
    assert!(sub["tree"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"] == "main.rs"));
}

fn git_blob_id(data: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

#[tokio::test]
async fn file_contents_raw_and_blobs_agree() {
    let sim = Sim::new();
    let app = "/api/v1/repos/acme/app";
    // (path, expected raw content type, minimum size)
    let cases = [
        ("README.md", "text/plain; charset=utf-8", 100),
        ("assets/logo.png", "image/png", 60),
        (
            "tests/data/large-fixture.txt",
            "text/plain; charset=utf-8",
            64 * 1024 + 1,
        ),
        ("src/handlers/health.rs", "text/plain; charset=utf-8", 10),
    ];
    for (path, mime, min_size) in cases {
        let meta = sim
            .get(&format!("{app}/contents/{path}"), Some(ALICE))
            .await
            .json();
        assert_eq!(meta["type"], "file");
        assert_eq!(meta["encoding"], "base64");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(meta["content"].as_str().unwrap())
            .unwrap();
        assert!(decoded.len() >= min_size, "{path}: {} bytes", decoded.len());
        assert_eq!(meta["size"], decoded.len());
        assert_eq!(
            meta["sha"].as_str().unwrap(),
            git_blob_id(&decoded),
            "{path}: sha is the git blob id"
        );
        assert_eq!(
            meta["download_url"],
            format!("{BASE}/acme/app/raw/branch/main/{path}")
        );
        assert_eq!(meta["url"], format!("{BASE}{app}/contents/{path}?ref=main"));
        let raw = sim.get(&format!("{app}/raw/{path}"), Some(ALICE)).await;
        assert_eq!(raw.body, decoded, "{path}");
        assert_eq!(raw.header("content-type").as_deref(), Some(mime), "{path}");
        let blob = sim
            .get(
                &format!("{app}/git/blobs/{}", meta["sha"].as_str().unwrap()),
                Some(ALICE),
            )
            .await
            .json();
        assert_eq!(blob["content"], meta["content"]);
        assert_eq!(blob["size"], meta["size"]);
    }
    let png = sim.get(&format!("{app}/raw/assets/logo.png"), None).await;
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let link = sim
        .get(&format!("{app}/contents/docs/index.md"), None)
        .await
        .json();
    assert_eq!(
        (
            link["type"].as_str(),
            link["target"].as_str(),
            &link["content"]
        ),
        (Some("symlink"), Some("architecture.md"), &Value::Null)
    );
    let script = sim
        .get(&format!("{app}/git/trees/main?recursive=true"), None)
        .await
        .json();
    let dev = script["tree"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "scripts/dev.sh")
        .unwrap()
        .clone();
    assert_eq!(dev["mode"], "100755");
}

#[tokio::test]
async fn directory_listings() {
    let sim = Sim::new();
    let root = sim
        .get("/api/v1/repos/acme/app/contents", None)
        .await
        .json();
    let names: Vec<&str> = root
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            ".gitea",
            ".gitignore",
            "Cargo.toml",
            "LICENSE",
            "README.md",
            "assets",
            "docs",
            "scripts",
            "src",
            "tests"
        ]
    );
    for entry in root.as_array().unwrap() {
        assert_eq!(entry["content"], Value::Null, "listings carry no content");
        assert!(entry["last_commit_sha"].is_string());
    }
    let src = sim
        .get("/api/v1/repos/acme/app/contents/src", None)
        .await
        .json();
    let handlers = src
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "handlers")
        .unwrap()
        .clone();
    assert_eq!(
        (handlers["type"].as_str(), handlers["path"].as_str()),
        (Some("dir"), Some("src/handlers"))
    );
    assert_eq!(handlers["download_url"], Value::Null);
    let dot = sim
        .get("/api/v1/repos/acme/app/contents/.", None)
        .await
        .json();
    assert_eq!(dot, root, "`.` is the root");
    let empty = sim
        .get("/api/v1/repos/acme/new-service/contents", Some(ALICE))
        .await
        .json();
    assert_eq!(empty, json!([]));
}

#[tokio::test]
async fn refs_resolve_to_branches_tags_and_commits() {
    let sim = Sim::new();
    let app = "/api/v1/repos/acme/app";
    let main = sim.get(&format!("{app}/branches/main"), None).await.json();
    let main_sha = main["commit"]["id"].as_str().unwrap().to_string();
    let config = |r: &str| format!("{app}/raw/src/config.rs?ref={r}");
    let at_main = sim.get(&config("main"), None).await.text();
    let at_tag = sim.get(&config("v0.1.0"), None).await.text();
    assert_ne!(at_main, at_tag, "v0.1.0 predates the config hardening");
    assert_eq!(sim.get(&config(&main_sha), None).await.text(), at_main);
    assert_eq!(sim.get(&config(&main_sha[..8]), None).await.text(), at_main);
    assert_eq!(
        sim.get(&format!("{app}/raw/v0.1.0/src/config.rs"), None)
            .await
            .text(),
        at_tag
    );
    // (ref, status)
    let cases = [
        ("main", 200),
        ("feature/search", 200),
        ("v0.3.0", 200),
        ("nope", 404),
        ("0000000", 404),
    ];
    for (r, status) in cases {
        let resp = sim
            .get(&format!("{app}/contents/README.md?ref={r}"), None)
            .await;
        assert_eq!(resp.status.as_u16(), status, "{r}");
    }
    let search = sim
        .get(
            &format!("{app}/contents/src/search.rs?ref=feature/search"),
            None,
        )
        .await
        .json();
    assert_eq!(
        search["html_url"],
        format!("{BASE}/acme/app/src/branch/feature/search/src/search.rs")
    );
    let tree_by_branch = sim.get(&format!("{app}/git/trees/main"), None).await.json();
    let tree_by_commit = sim
        .get(&format!("{app}/git/trees/{main_sha}"), None)
        .await
        .json();
    assert_eq!(tree_by_branch["sha"], tree_by_commit["sha"]);
    let commit = sim
        .get(&format!("{app}/git/commits/{main_sha}"), None)
        .await
        .json();
    assert_eq!(commit["sha"], main_sha);
    assert_eq!(commit["commit"]["message"], "Harden config parsing\n");
    assert_eq!(
        commit["files"],
        json!([{"filename": "src/config.rs", "status": "modified"}])
    );
    assert_eq!(
        commit["stats"],
        json!({"total": 8, "additions": 7, "deletions": 1})
    );
}

#[tokio::test]
async fn issues_and_pulls() {
    let sim = Sim::new();
    let app = "/api/v1/repos/acme/app";
    let numbers = |v: Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_i64().unwrap())
            .collect()
    };
    // (query, numbers newest first)
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("", vec![7, 5, 8, 6, 4, 11, 10, 2]),
        ("state=closed", vec![9, 3, 1]),
        ("state=all&type=issues&labels=bug", vec![8, 10, 1]),
        ("state=all&labels=bug,priority/high", vec![8]),
        ("type=pulls", vec![7, 6, 11]),
        ("milestones=v0.4.0", vec![8, 6, 4]),
        ("q=RATE", vec![6, 4]),
        ("created_by=carol&state=all", vec![5, 8, 9, 2]),
        ("assigned_by=bob", vec![6, 4]),
        ("mentioned_by=alice", vec![8]),
        ("since=2026-11-20T00:00:00Z", vec![7, 5, 8, 6]),
        ("created_by=nobody", vec![]),
    ];
    for (query, want) in cases {
        let body = sim.get(&format!("{app}/issues?{query}"), None).await.json();
        assert_eq!(numbers(body), want, "{query}");
    }
    let issue = sim.get(&format!("{app}/issues/4"), None).await.json();
    assert_eq!(issue["labels"].as_array().unwrap().len(), 2);
    assert_eq!(issue["milestone"]["title"], "v0.4.0");
    assert_eq!(issue["assignee"]["login"], "alice");
    assert_eq!(issue["comments"], 3);
    assert_eq!(issue["pull_request"], Value::Null);
    let as_issue = sim.get(&format!("{app}/issues/6"), None).await.json();
    assert_eq!(as_issue["pull_request"]["merged"], false);
    assert_eq!(as_issue["html_url"], format!("{BASE}/acme/app/pulls/6"));
    let comments = sim.get(&format!("{app}/issues/4/comments"), None).await;
    assert_eq!(comments.header("x-total-count").as_deref(), Some("3"));
    let authors: Vec<String> = comments
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"]["login"].as_str().unwrap().into())
        .collect();
    assert_eq!(authors, ["bob", "alice", "carol"]);

    let merged = sim.get(&format!("{app}/pulls/3"), None).await.json();
    assert_eq!(
        (
            merged["merged"].as_bool(),
            merged["state"].as_str(),
            merged["merged_by"]["login"].as_str()
        ),
        (Some(true), Some("closed"), Some("alice"))
    );
    assert!(merged["merge_commit_sha"].is_string());
    let files = sim.get(&format!("{app}/pulls/3/files"), None).await.json();
    let file_rows: Vec<(String, String)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["filename"].as_str().unwrap().into(),
                f["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        file_rows,
        [
            ("src/auth.rs".to_string(), "added".to_string()),
            ("src/main.rs".to_string(), "changed".to_string())
        ]
    );
    let open = sim.get(&format!("{app}/pulls/6"), None).await.json();
    assert_eq!(
        (open["head"]["ref"].as_str(), open["base"]["ref"].as_str()),
        (Some("feature/search"), Some("main"))
    );
    assert_eq!(open["changed_files"], 5);
    let commits = sim
        .get(&format!("{app}/pulls/6/commits"), None)
        .await
        .json();
    let messages: Vec<&str> = commits
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["commit"]["message"]
                .as_str()
                .unwrap()
                .lines()
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        messages,
        [
            "Search: rank results and add tests",
            "Add search endpoint skeleton"
        ]
    );
    let diff = sim.get(&format!("{app}/pulls/6.diff"), None).await;
    assert!(diff
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(diff
        .text()
        .starts_with("diff --git a/README.md b/README.md\n"));
    let drafts = sim
        .get(&format!("{app}/pulls?state=all"), None)
        .await
        .json();
    assert!(drafts
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["number"] == 11 && p["draft"] == true));
}

#[tokio::test]
async fn releases_tags_statuses() {
    let sim = Sim::new();
    let app = "/api/v1/repos/acme/app";
    let tags = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag_name"].as_str().unwrap().to_string())
            .collect()
    };
    // (token, query, tags)
    let cases: Vec<(Option<&str>, &str, Vec<&str>)> = vec![
        (
            Some(ALICE),
            "",
            vec!["v0.4.0", "v0.3.1-rc.1", "v0.3.0", "v0.2.0", "v0.1.0"],
        ),
        (
            Some(CAROL),
            "",
            vec!["v0.3.1-rc.1", "v0.3.0", "v0.2.0", "v0.1.0"],
        ),
        (Some(ALICE), "draft=true", vec!["v0.4.0"]),
        (Some(ALICE), "pre-release=true", vec!["v0.3.1-rc.1"]),
    ];
    for (token, query, want) in cases {
        let body = sim
            .get(&format!("{app}/releases?{query}"), token)
            .await
            .json();
        assert_eq!(tags(body), want, "{token:?} {query}");
    }
    let latest = sim
        .get(&format!("{app}/releases/latest"), None)
        .await
        .json();
    assert_eq!(latest["tag_name"], "v0.3.0");
    let tag_list = sim.get(&format!("{app}/tags"), None).await.json();
    let first = &tag_list[0];
    assert_eq!(
        (first["name"].as_str(), first["message"].as_str()),
        (Some("v0.3.1-rc.1"), Some("Release candidate for 0.3.1"))
    );
    assert_ne!(
        first["id"], first["commit"]["sha"],
        "annotated tags have their own object id"
    );
    let light = tag_list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "v0.3.0")
        .unwrap();
    assert_eq!(
        light["id"], light["commit"]["sha"],
        "lightweight tags point at the commit"
    );
    // (ref, combined state, statuses)
    let cases = [
        ("main", "success", 2),
        ("feature%2Fsearch", "failure", 2),
        ("fix%2Freadme-typo", "pending", 1),
        ("v0.1.0", "", 0),
    ];
    for (r, state, count) in cases {
        let body = sim
            .get(&format!("{app}/commits/{r}/status"), None)
            .await
            .json();
        assert_eq!(body["state"], state, "{r}");
        assert_eq!(
            body["statuses"].as_array().map_or(0, Vec::len),
            count,
            "{r}"
        );
    }
    let langs = sim.get(&format!("{app}/languages"), None).await.json();
    assert!(langs["Rust"].as_i64().unwrap() > 0);
    let topics = sim.get(&format!("{app}/topics"), None).await.json();
    assert_eq!(topics, json!({"topics": ["rust", "web", "api", "gitea"]}));
}

#[tokio::test]
async fn request_log_over_http() {
    let sim = Sim::new();
    sim.get(
        "/api/v1/repos/acme/app/issues?state=all&labels=bug",
        Some(BOB),
    )
    .await;
    sim.get("/api/v1/repos/acme/secrets-vault", None).await;
    let log = sim.get("/_sim/requests", None).await.json();
    assert_eq!(
        log,
        json!([
            {"method": "GET", "path": "/api/v1/repos/acme/app/issues", "query": "state=all&labels=bug", "user": "bob", "status": 200},
            {"method": "GET", "path": "/api/v1/repos/acme/secrets-vault", "query": "", "user": null, "status": 404},
        ])
    );
    let cleared = sim.request("DELETE", "/_sim/requests", None).await;
    assert_eq!(cleared.status.as_u16(), 204);
    assert_eq!(sim.get("/_sim/requests", None).await.json(), json!([]));
    assert_eq!(sim.get("/_sim/violations", None).await.json(), json!([]));
}

#[tokio::test]
async fn user_views_hide_private_details() {
    let sim = Sim::new();
    let me = sim.get("/api/v1/user", Some(BOB)).await.json();
    assert_eq!(
        (
            me["login"].as_str(),
            me["username"].as_str(),
            me["email"].as_str()
        ),
        (Some("bob"), Some("bob"), Some("bob@acme.example"))
    );
    assert_eq!(me["last_login"], "2026-11-25T16:20:00Z");
    let repo = sim.get("/api/v1/repos/bob/playground", None).await.json();
    assert_eq!(
        repo["owner"]["email"], "bob@noreply.localhost",
        "anonymous callers see the placeholder"
    );
    assert_eq!(repo["owner"]["last_login"], "0001-01-01T00:00:00Z");
    let orgs = sim.get("/api/v1/user/orgs", Some(BOB)).await.json();
    assert_eq!(orgs[0]["name"], "acme");
    assert_eq!(
        sim.get("/api/v1/user/orgs", Some(CAROL)).await.json(),
        json!([])
    );
}

#[tokio::test]
async fn search_assignees_and_status_lists() {
    let sim = Sim::new();
    let full_names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["full_name"].as_str().unwrap().to_string())
            .collect()
    };
    // (token, query, total, first result)
    let cases: Vec<(Option<&str>, &str, &str, Option<&str>)> = vec![
        (None, "q=svc-0", "9", Some("acme/svc-01")),
        (None, "q=vault", "0", None),
        (Some(BOB), "q=vault", "1", Some("acme/secrets-vault")),
        (Some(BOB), "q=vault&private=false", "0", None),
        (None, "q=rust&topic=true", "1", Some("acme/app")),
        (
            None,
            "q=customer-facing&includeDesc=true",
            "1",
            Some("acme/app"),
        ),
        (None, "q=svc&sort=id&order=desc", "35", Some("acme/svc-35")),
    ];
    for (token, query, total, first) in cases {
        let resp = sim
            .get(&format!("/api/v1/repos/search?{query}"), token)
            .await;
        assert_eq!(
            resp.header("x-total-count").as_deref(),
            Some(total),
            "{query}"
        );
        let body = resp.json();
        assert_eq!(body["ok"], true);
        assert_eq!(
            full_names(&body).first().map(String::as_str),
            first,
            "{query}"
        );
    }
    let assignees = sim
        .get("/api/v1/repos/acme/app/assignees", None)
        .await
        .json();
    let logins: Vec<&str> = assignees
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["alice", "bob"]);
    let all = sim
        .get("/api/v1/repos/acme/app/commits/main/statuses", None)
        .await;
    assert_eq!(all.header("x-total-count").as_deref(), Some("3"));
    let listed = all.json();
    let states: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["success", "pending", "success"], "newest first");
    let by_tag = sim
        .get("/api/v1/repos/acme/app/releases/tags/v0.2.0", None)
        .await
        .json();
    assert_eq!(by_tag["name"], "v0.2.0: login");
    let orgs = sim.get("/api/v1/users/alice/orgs", None).await.json();
    assert_eq!(orgs[0]["name"], "acme");
}
