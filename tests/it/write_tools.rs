//! Write mode: off by default (tools absent), then whitelist + policy + scope; writes change
//! the simulator's state, refusals never reach it.

use http::StatusCode;
use serde_json::{json, Value};

use crate::sim::{Env, ALICE};
use crate::support::{call_tool, rpc};

const POLICY: &str = r#"
defaults: { read: allow, write: deny }
repositories:
  acme/app:
    tools:
      allow: [get_issue, list_issues, create_issue, update_issue, create_label, add_labels, remove_labels, create_release]
"#;

async fn write_env() -> Env {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, POLICY).unwrap();
    Env::start(
        ALICE,
        &[
            ("WRITE_MODE", "true"),
            ("WRITE_REPOSITORY_WHITELIST", "acme/app"),
            ("POLICY_FILE_PATH", path.to_str().unwrap()),
        ],
    )
    .await
}

async fn sim_get(env: &Env, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/v1{path}", env.sim.base_url))
        .header("authorization", format!("token {ALICE}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn write_tools_are_absent_when_write_mode_is_off() {
    let env = Env::start(ALICE, &[]).await;
    let list = rpc(
        &env.router,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json();
    let names = list["result"]["tools"].to_string();
    assert!(!names.contains("create_issue") && names.contains("get_issue"));
    env.sim.state.clear_requests();
    let res = call_tool(
        &env.router,
        "create_issue",
        json!({"owner": "acme", "repo": "app", "title": "x"}),
    )
    .await;
    assert_eq!(res["code"], -32602, "{res}");
    assert!(env.sim.state.requests().is_empty());
}

#[tokio::test]
async fn writes_change_state_on_the_whitelisted_repository_only() {
    let env = write_env().await;
    let r = &env.router;
    let res = call_tool(r, "create_issue", json!({
        "owner": "acme", "repo": "app", "title": "From the gateway",
        "body": "made by a test", "labels": ["bug", "Security"], "milestone": "V0.4.0", "assignees": ["bob"]
    })).await;
    assert_ne!(res["isError"], true, "{res}");
    let n = res["structuredContent"]["issue"]["number"]
        .as_i64()
        .unwrap();
    let issue = sim_get(&env, &format!("/repos/acme/app/issues/{n}")).await;
    assert_eq!(issue["title"], "From the gateway");
    assert_eq!(issue["milestone"]["title"], "v0.4.0");
    let labels: Vec<&str> = issue["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["bug", "security"]);

    // milestone 0 clears; state closes
    let res = call_tool(r, "update_issue", json!({"owner": "acme", "repo": "app", "issue_number": n, "milestone": 0, "state": "closed"})).await;
    assert_ne!(res["isError"], true, "{res}");
    let issue = sim_get(&env, &format!("/repos/acme/app/issues/{n}")).await;
    assert!(issue["milestone"].is_null(), "{issue}");
    assert_eq!(issue["state"], "closed");

    // unknown label: a clear error listing the known ones, nothing created
    let before = sim_get(&env, "/repos/acme/app/issues?state=all&limit=50")
        .await
        .as_array()
        .unwrap()
        .len();
    let res = call_tool(
        r,
        "create_issue",
        json!({"owner": "acme", "repo": "app", "title": "t", "labels": ["nope"]}),
    )
    .await;
    assert_eq!(res["isError"], true);
    let text = res["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("unknown label `nope`") && text.contains("good first issue"),
        "{text}"
    );
    let after = sim_get(&env, "/repos/acme/app/issues?state=all&limit=50")
        .await
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // invalid colour is a bad argument
    let res = call_tool(
        r,
        "create_label",
        json!({"owner": "acme", "repo": "app", "name": "x", "color": "red"}),
    )
    .await;
    assert_eq!(res["isError"], true, "{res}");
    assert!(res["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("hex colour"));

    // another repository: refused before Gitea (an isError result), nothing changes, an access_denied record exists
    for (tool, args) in [
        (
            "create_issue",
            json!({"owner": "bob", "repo": "playground", "title": "nope"}),
        ),
        (
            "create_issue",
            json!({"owner": "ACME", "repo": "app-evil", "title": "nope"}),
        ),
    ] {
        env.sim.state.clear_requests();
        let reply = rpc(r, json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": tool, "arguments": args}})).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["result"]["isError"], true);
        let text = reply.json()["result"]["content"][0]["text"].to_string();
        assert!(
            text.contains("write whitelist") && text.contains("WRITE_REPOSITORY_WHITELIST"),
            "{text}"
        );
        assert!(
            env.sim.state.requests().is_empty(),
            "{tool}: {:?}",
            env.sim.state.requests()
        );
    }
    // a write tool the policy does not allow on the whitelisted repository
    env.sim.state.clear_requests();
    let reply = rpc(r, json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "create_branch", "arguments": {"owner": "acme", "repo": "app", "new_branch_name": "x"}}})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["result"]["isError"], true);
    assert!(reply.json()["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("denied by policy"));
    assert!(env.sim.state.requests().is_empty());
    env.assert_contract_clean();
}

/// Tool output passes the secret scanner: a credential written into an issue comes back
/// masked (`SECRET_DETECTION_MODE=mask`, the default), in text and structured content.
#[tokio::test]
async fn secrets_in_tool_output_are_masked() {
    let env = write_env().await;
    // Built at run time so the repository holds no credential-shaped literal.
    let aws = format!("AKIA{}", "Q7ZT3XKJ5LMN2PRW");
    let ghp = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
    let body = format!("deploy with AWS_ACCESS_KEY_ID={aws} and GITHUB_TOKEN={ghp}");
    let res = call_tool(
        &env.router,
        "create_issue",
        json!({"owner": "acme", "repo": "app", "title": "leak", "body": body}),
    )
    .await;
    let n = res["structuredContent"]["issue"]["number"]
        .as_i64()
        .expect("created");
    let got = call_tool(
        &env.router,
        "get_issue",
        json!({"owner": "acme", "repo": "app", "issue_number": n}),
    )
    .await;
    let all = got.to_string();
    assert!(!all.contains(&aws) && !all.contains(&ghp), "{all}");
    assert!(all.contains("[REDACTED:"), "{all}");
    // The simulator still holds the original: masking is on the way out, not a write.
    let stored = sim_get(&env, &format!("/repos/acme/app/issues/{n}")).await;
    assert!(stored["body"].as_str().unwrap().contains(&aws));
}
