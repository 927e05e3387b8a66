//! The gate: policy denials are HTTP 403 before any Gitea request; listings drop denied
//! paths; diffs and search never show them.

use http::StatusCode;
use serde_json::json;

use crate::sim::{Env, ALICE};
use crate::support::{call_tool, rpc, send};

const POLICY: &str = r#"
defaults: { read: allow, write: deny }
tools:
  deny: [list_organizations]
repositories:
  acme/app:
    paths:
      deny: ["src/auth.rs", "assets/**"]
  acme/secrets-vault:
    tools:
      allow: [get_repository_info]
"#;

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, POLICY).unwrap();
    Env::start(ALICE, &[("POLICY_FILE_PATH", path.to_str().unwrap())]).await
}

fn call(name: &str, args: serde_json::Value) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

#[tokio::test]
async fn denied_calls_are_403_and_never_reach_gitea() {
    let env = env().await;
    let cases = [
        ("list_organizations", json!({}), "tools.deny"),
        (
            "get_file_contents",
            json!({"owner": "acme", "repo": "app", "filepath": "src/auth.rs"}),
            "src/auth.rs",
        ),
        (
            "get_file_contents",
            json!({"owner": "acme", "repo": "app", "filepath": "./src//auth.rs"}),
            "src/auth.rs",
        ),
        (
            "get_file_contents",
            json!({"owner": "acme", "repo": "app", "filepath": "assets/logo.png"}),
            "assets",
        ),
        (
            "get_file_contents",
            json!({"owner": "ACME", "repo": "App", "filepath": "SRC/Auth.rs"}),
            "src/auth.rs",
        ),
        (
            "list_commits",
            json!({"owner": "acme", "repo": "secrets-vault"}),
            "secrets-vault",
        ),
    ];
    for (tool, args, fragment) in cases {
        env.sim.state.clear_requests();
        let reply = rpc(&env.router, call(tool, args.clone())).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{tool} {args}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let v = reply.json();
        assert_eq!(v["error"]["code"], -32003, "{v}");
        assert_eq!(v["id"], 9);
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("denied by policy")
                && message.to_lowercase().contains(&fragment.to_lowercase()),
            "{tool}: {message}"
        );
        assert!(
            env.sim.state.requests().is_empty(),
            "{tool}: reached Gitea: {:?}",
            env.sim.state.requests()
        );
    }
    // The direct endpoint refuses the same way.
    let req = http::Request::post("/mcp/tool/call")
        .header("host", "localhost")
        .header(
            "authorization",
            format!("Bearer {}", crate::support::API_KEY),
        )
        .body(axum::body::Body::from(
            json!({"tool": "list_organizations"}).to_string(),
        ))
        .unwrap();
    let reply = send(&env.router, req).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // And an allowed call still works.
    let res = call_tool(
        &env.router,
        "get_repository_info",
        json!({"owner": "acme", "repo": "secrets-vault"}),
    )
    .await;
    assert_ne!(res["isError"], true, "{res}");
    env.assert_contract_clean();
}

#[tokio::test]
async fn listings_diffs_and_search_drop_denied_paths() {
    let env = env().await;
    let r = &env.router;
    let tree = call_tool(
        r,
        "get_file_tree",
        json!({"owner": "acme", "repo": "app", "recursive": true, "ref": "main"}),
    )
    .await;
    let paths = tree["structuredContent"]["entries"].to_string();
    assert!(paths.contains("src/main.rs"), "{paths}");
    assert!(
        !paths.contains("src/auth.rs") && !paths.contains("logo.png"),
        "{paths}"
    );

    let dir = call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "src"}),
    )
    .await;
    let listing = dir["structuredContent"]["entries"].to_string();
    assert!(
        listing.contains("main.rs") && !listing.contains("auth.rs"),
        "{listing}"
    );

    env.sim.state.clear_requests();
    let found = call_tool(
        r,
        "search_code",
        json!({"owner": "acme", "repo": "app", "query": "check_password"}),
    )
    .await;
    assert_eq!(found["structuredContent"]["total_matches"], 0, "{found}");
    // The denied file's blob id, asked of the simulator directly: it was never fetched.
    let meta: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/repos/acme/app/contents/src/auth.rs",
            env.sim.base_url
        ))
        .header("authorization", format!("token {ALICE}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let blob = meta["sha"].as_str().unwrap().to_string();
    let fetched: Vec<String> = env
        .sim
        .state
        .requests()
        .into_iter()
        .filter(|q| q.path.contains("/git/blobs/"))
        .map(|q| q.path)
        .collect();
    assert!(!fetched.is_empty(), "the search did read blobs");
    assert!(
        !fetched.iter().any(|p| p.ends_with(&blob)),
        "denied blob {blob} fetched"
    );

    // The merge commit that brought src/auth.rs in: its diff omits that file.
    let commits = call_tool(
        r,
        "list_commits",
        json!({"owner": "acme", "repo": "app", "ref": "feature/login", "limit": 1}),
    )
    .await;
    let sha = commits["structuredContent"]["items"][0]["sha"]
        .as_str()
        .unwrap()
        .to_string();
    let diff = call_tool(
        r,
        "get_commit_diff",
        json!({"owner": "acme", "repo": "app", "sha": sha}),
    )
    .await;
    let d = &diff["structuredContent"];
    assert!(!d["diff"].as_str().unwrap().contains("src/auth.rs"), "{d}");
    assert!(d["diff"].as_str().unwrap().contains("src/main.rs"), "{d}");
    assert!(!d["commit"]["files"].to_string().contains("src/auth.rs"));
    assert!(d["notice"].as_str().unwrap().contains("path policy"));
    env.assert_contract_clean();
}

#[tokio::test]
async fn a_bad_policy_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "defaults:\n  read: allow\n  writ: deny\n").unwrap();
    let vars = crate::support::vars(
        "http://127.0.0.1:9",
        "t",
        &[("POLICY_FILE_PATH", path.to_str().unwrap())],
    );
    let config = aegis_shared::Config::from_vars(&vars).unwrap();
    let err = aegis_shared::AppState::from_config(config)
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(msg.contains("line 3"), "{msg}");
}
