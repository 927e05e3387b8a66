//! Resources, completion and prompts go through the tool pipeline: a denied path is a
//! JSON-RPC error that never reaches Gitea and is an audit record, and is not completed;
//! secrets are masked and invisible characters stripped in resource text; completions are
//! bounded; cursors are checked.

use http::StatusCode;
use serde_json::{json, Value};

use crate::audit_trail::records;
use crate::sim::{Env, ALICE, CAROL};
use crate::support::rpc;

const POLICY: &str = r#"
defaults: { read: allow, write: deny }
repositories:
  acme/app:
    paths:
      deny: ["src/auth.rs", "assets/**"]
"#;

async fn denying_env() -> (Env, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("policy.yaml");
    std::fs::write(&path, POLICY).unwrap();
    let audit = dir.join("audit");
    let env = Env::start(
        ALICE,
        &[
            ("POLICY_FILE_PATH", path.to_str().unwrap()),
            ("AUDIT_LOG_PATH", audit.to_str().unwrap()),
        ],
    )
    .await;
    (env, audit)
}

/// One JSON-RPC request; the whole answer (HTTP 200 expected).
async fn request(env: &Env, method: &str, params: Value) -> Value {
    let reply = rpc(
        &env.router,
        json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params}),
    )
    .await;
    reply.assert_status(StatusCode::OK);
    reply.json()
}

async fn read(env: &Env, uri: &str) -> Value {
    request(env, "resources/read", json!({ "uri": uri })).await
}

async fn complete_path(env: &Env, value: &str) -> Vec<String> {
    let v = request(
        env,
        "completion/complete",
        json!({
            "ref": {"type": "ref/resource", "uri": "gitea://{owner}/{repo}/contents/{+path}{?ref}"},
            "argument": {"name": "path", "value": value},
            "context": {"arguments": {"owner": "acme", "repo": "app"}},
        }),
    )
    .await;
    serde_json::from_value(v["result"]["completion"]["values"].clone()).expect("values")
}

#[tokio::test]
async fn a_denied_path_is_refused_before_gitea_audited_and_never_completed() {
    let (env, audit) = denying_env().await;
    for uri in [
        "gitea://acme/app/contents/src/auth.rs",
        "gitea://acme/app/contents/.%2Fsrc%2F%2Fauth.rs",
        "gitea://ACME/App/contents/SRC/Auth.rs",
        "gitea://acme/app/contents/assets/logo.png",
    ] {
        env.sim.state.clear_requests();
        let v = read(&env, uri).await;
        assert_eq!(v["error"]["code"], -32003, "{uri}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("denied by policy") && message.contains("POLICY_FILE_PATH"),
            "{message}"
        );
        assert_eq!(v["error"]["data"]["reason"], "policy");
        assert!(v["error"]["data"]["request_id"].is_string(), "{v}");
        assert!(
            env.sim.state.requests().is_empty(),
            "{uri} reached Gitea: {:?}",
            env.sim.state.requests()
        );
    }
    let recs = records(&audit).await;
    let denials: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "access_denied" && r["context"]["tool"] == "get_file_contents")
        .collect();
    assert_eq!(denials.len(), 4, "{recs:#?}");
    assert!(denials.iter().all(|r| r["repository"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case("acme/app")));

    // An allowed file of the same repository reads, and its read is on the trail too.
    let ok = read(&env, "gitea://acme/app/contents/src/main.rs").await;
    assert!(ok["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("fn main"));
    let recs = records(&audit).await;
    assert!(recs
        .iter()
        .any(|r| r["tool"] == "get_file_contents" && r["status"] == "success"));

    let src = complete_path(&env, "src/").await;
    assert!(src.contains(&"src/main.rs".to_string()), "{src:?}");
    assert!(!src.contains(&"src/auth.rs".to_string()), "{src:?}");
    assert!(!complete_path(&env, "")
        .await
        .contains(&"assets/".to_string()));
    // Completing inside the denied directory asks the tool, which the gate refuses: no
    // values, and the refusal is recorded like any other.
    let before = records(&audit).await.len();
    assert!(complete_path(&env, "assets/").await.is_empty());
    assert!(records(&audit).await.len() > before);
    env.assert_contract_clean();
}

#[tokio::test]
async fn resource_text_is_masked_and_stripped_like_tool_results() {
    let env = Env::start(ALICE, &[]).await;
    let leaked = "ghp_Zq8Rt5Lm2Nx7Vb4Kc1Hd9Fg3Js6Pw0Ya2Ue5T";
    let created: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/repos/acme/app/issues", env.sim.base_url))
        .header("authorization", format!("token {CAROL}"))
        .json(&json!({"title": "leak", "body": format!("token={leaked} run\u{200B} this\u{202E}")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = created["number"].as_i64().unwrap();
    let v = read(&env, &format!("gitea://acme/app/issues/{n}")).await;
    let text = v["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(!text.contains(leaked), "{text}");
    assert!(text.contains("REDACTED"), "{text}");
    assert!(text.contains("run this"), "{text}");
    assert!(!text.contains('\u{200B}') && !text.contains('\u{202E}'));
    assert_eq!(v["result"]["contents"][0]["_meta"]["aegis/untrusted"], true);
}

#[tokio::test]
async fn completions_are_bounded_and_filtered_by_owner() {
    let env = Env::start(ALICE, &[]).await;
    let v = request(
        &env,
        "completion/complete",
        json!({
            "ref": {"type": "ref/prompt", "name": "summarize_changes"},
            "argument": {"name": "repo", "value": ""},
            "context": {"arguments": {"owner": "acme"}},
        }),
    )
    .await;
    let completion = &v["result"]["completion"];
    let values = completion["values"].as_array().unwrap();
    assert!(!values.is_empty() && values.len() <= 100, "{completion}");
    assert!(values.iter().any(|r| r == "app"));
    assert!(
        !values.iter().any(|r| r == "notes"),
        "alice/notes is not acme's"
    );
    assert_eq!(completion["total"], values.len());
    // The owner list is alice's: her org, her own repositories, the lab.
    let owners = request(
        &env,
        "completion/complete",
        json!({
            "ref": {"type": "ref/prompt", "name": "summarize_changes"},
            "argument": {"name": "owner", "value": ""},
        }),
    )
    .await;
    let owners = owners["result"]["completion"]["values"]
        .as_array()
        .unwrap()
        .clone();
    assert!(owners.iter().any(|o| o == "acme") && owners.iter().any(|o| o == "alice"));
}

#[tokio::test]
async fn cursors_are_checked_and_lists_are_stateless() {
    let env = Env::start(ALICE, &[]).await;
    for (method, cursor) in [
        ("resources/list", "readmes:5"),
        ("resources/list", "nonsense"),
        ("resources/templates/list", "x"),
        ("prompts/list", "x"),
    ] {
        let v = request(&env, method, json!({ "cursor": cursor })).await;
        assert_eq!(v["error"]["code"], -32602, "{method}: {v}");
    }
    // Following nextCursor visits every README once, at most 20 in all.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let v = request(&env, "resources/list", params).await;
        let page = v["result"]["resources"].as_array().unwrap().clone();
        assert!(page.len() <= 10);
        seen.extend(
            page.into_iter()
                .map(|r| r["uri"].as_str().unwrap().to_string()),
        );
        match v["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(!seen.is_empty() && seen.len() <= 20, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
}

#[tokio::test]
async fn resource_text_is_bounded_with_a_visible_notice() {
    let env = Env::start(ALICE, &[("MAX_TOOL_RESPONSE_CHARS", "100")]).await;
    // A file longer than the limit: cut by the tool, the cut said in the text and `_meta`.
    let v = read(&env, "gitea://acme/app/contents/src/config.rs").await;
    let contents = &v["result"]["contents"][0];
    let text = contents["text"].as_str().unwrap();
    assert!(text.contains("\n[truncated: "), "{text}");
    assert!(contents["_meta"]["aegis/truncated"].is_string(), "{v}");
    // An issue with its comments: each field capped by the tools, the whole at 5 x 100.
    let v = read(&env, "gitea://acme/app/issues/4").await;
    let contents = &v["result"]["contents"][0];
    let text = contents["text"].as_str().unwrap();
    let body = text.split("\n[truncated: ").next().unwrap();
    assert!(body.chars().count() <= 500, "{text}");
    assert!(text.contains("[truncated: "), "{text}");
    assert!(contents["_meta"]["aegis/truncated"].is_string(), "{v}");
}
