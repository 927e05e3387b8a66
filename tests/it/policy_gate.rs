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
async fn denied_calls_are_tool_errors_and_never_reach_gitea() {
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
        // A denial is the tool's result with `isError` (HTTP 200), naming the rule and
        // what would allow the call, so the model can adapt and the session survives.
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{tool} {args}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let v = reply.json();
        assert_eq!(v["result"]["isError"], true, "{v}");
        assert_eq!(v["id"], 9);
        let message = v["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            message.contains("denied by policy")
                && message.contains("POLICY_FILE_PATH")
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
    let config = aegis_core::Config::from_vars(&vars).unwrap();
    let trail = config.audit.log_path.clone();
    let err = aegis_local::AppState::from_config(config)
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(msg.contains("line 3"), "{msg}");
    // Refused before the edge opened the audit trail: not even a start record was written.
    let written = match std::fs::read_dir(&trail) {
        Ok(entries) => entries.count(),
        Err(_) => usize::from(trail.exists()),
    };
    assert_eq!(written, 0, "{} holds records", trail.display());
}

/// OAuth mode with a service token: the signed-in user's own repository permission
/// decides (checked through `collaborators/{user}/permission`), before the service token
/// is used; denials are recorded; results are cached.
#[tokio::test]
async fn service_token_calls_check_the_users_own_permission() {
    use aegis_core::config::Secret;
    use aegis_edge::auth::{Credential, Principal};
    let sim = gitea_sim::spawn_with_contract(crate::sim::demo_seed(), crate::sim::swagger_path())
        .await
        .unwrap();
    let vars = crate::support::vars(&sim.base_url, ALICE, &[]);
    let config = aegis_core::Config::from_vars(&vars).unwrap();
    let state = aegis_local::AppState::from_config(config).await.unwrap();
    let as_user = |login: &str| Principal {
        subject: login.to_string(),
        scopes: ["read:repository".to_string()].into(),
        credential: Credential::Token(Secret::new(ALICE)),
        gitea_login: Some(login.to_string()),
        check_repo_permission: true,
    };
    let args = json!({"owner": "acme", "repo": "secrets-vault"});
    let args = args.as_object().cloned();
    // carol has no access: denied before any repository request with the service token.
    sim.state.clear_requests();
    let denied = aegis_mcp::dispatch::call(
        &state.mcp,
        as_user("carol"),
        "r1".into(),
        "get_repository_info",
        args.clone(),
    )
    .await;
    let msg = format!("{}", denied.expect_err("denied"));
    assert!(
        msg.contains("repository_permission_denied") && msg.contains("carol"),
        "{msg}"
    );
    let paths: Vec<String> = sim.state.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/api/v1/repos/acme/secrets-vault/collaborators/carol/permission"],
        "{paths:?}"
    );
    // bob is a collaborator: allowed, and the second call uses the cached permission.
    let ok = aegis_mcp::dispatch::call(
        &state.mcp,
        as_user("bob"),
        "r2".into(),
        "get_repository_info",
        args.clone(),
    )
    .await;
    assert!(ok.is_ok(), "{:?}", ok.err());
    sim.state.clear_requests();
    let again = aegis_mcp::dispatch::call(
        &state.mcp,
        as_user("bob"),
        "r3".into(),
        "get_repository_info",
        args,
    )
    .await;
    assert!(again.is_ok());
    let paths: Vec<String> = sim.state.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/api/v1/repos/acme/secrets-vault"],
        "cached: {paths:?}"
    );
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}
