//! Compatibility mode: a Gitea-issued token presented directly is accepted only when
//! `OAUTH_ACCEPT_GITEA_TOKENS=true`, and then acts as its user.

use serde_json::json;

use crate::sim::demo_seed;
use crate::support::{self, send};

/// A Gitea OAuth access token for alice, from the simulator's provider.
async fn gitea_token(base: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "compat-test-verifier-0123456789abcdefghijklmnop";
    let challenge = aegis_oauth::crypto::pkce_challenge(verifier);
    let resp = http
        .get(format!("{base}/login/oauth/authorize"))
        .query(&[
            ("client_id", "aegis-demo-client"),
            ("redirect_uri", "http://127.0.0.1:1/oauth/callback"),
            ("response_type", "code"),
            ("state", "s"),
            ("scope", "read:repository read:user"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("code");
    let token: serde_json::Value = http
        .post(format!("{base}/login/oauth/access_token"))
        .basic_auth(
            "aegis-demo-client",
            Some("aegis-demo-secret-5f0c1d7e9b2a4c68"),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:1/oauth/callback"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

#[tokio::test]
async fn gitea_tokens_work_only_in_compatibility_mode() {
    let sim = gitea_sim::spawn(demo_seed()).await.unwrap();
    sim.state.set_auto_login(Some("alice"));
    let token = gitea_token(&sim.base_url).await;
    let oauth = [
        ("OAUTH_MODE", "true"),
        ("GITEA_OAUTH_CLIENT_ID", "aegis-demo-client"),
        (
            "GITEA_OAUTH_CLIENT_SECRET",
            "aegis-demo-secret-5f0c1d7e9b2a4c68",
        ),
        (
            "OAUTH_STATE_SECRET",
            "compat-test-state-secret-0123456789abcdef",
        ),
        ("MCP_API_KEYS", ""),
        ("GITEA_TOKEN", ""),
    ];
    let call = |token: &str| {
        let mut req = support::mcp_request(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "get_repository_info", "arguments": {"owner": "alice", "repo": "notes"}}})
            .to_string(),
            &[("mcp-protocol-version", "2025-11-25")],
        );
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        req
    };
    let strict = support::router(&support::vars(&sim.base_url, "", &oauth)).await;
    assert_eq!(
        send(&strict, call(&token)).await.status,
        http::StatusCode::UNAUTHORIZED
    );

    let mut compat_vars = oauth.to_vec();
    compat_vars.push(("OAUTH_ACCEPT_GITEA_TOKENS", "true"));
    let compat = support::router(&support::vars(&sim.base_url, "", &compat_vars)).await;
    let reply = send(&compat, call(&token)).await;
    assert_eq!(
        reply.status,
        http::StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let v = reply.json();
    assert_eq!(
        v["result"]["structuredContent"]["repository"]["full_name"], "alice/notes",
        "{v}"
    );
    // A forged token is still refused.
    let forged = format!("{token}x");
    assert_eq!(
        send(&compat, call(&forged)).await.status,
        http::StatusCode::UNAUTHORIZED
    );
}
