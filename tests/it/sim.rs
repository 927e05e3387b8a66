//! A simulator in contract mode plus a router pointed at it, per test.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::Router;
use gitea_sim::{RunningSim, Seed};

use crate::support;

/// The repository root (tests run with the `tests/` crate as working directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn swagger_path() -> PathBuf {
    repo_root().join("tests/data/gitea/gitea-1.27.0-swagger.json")
}

pub fn demo_seed() -> Seed {
    Seed::load(repo_root().join("local/gitea-sim/seed/demo.yaml")).expect("demo seed")
}

/// The demo users' tokens.
pub const ALICE: &str = "alice-token-0001a4519d63df9568768119d218";
pub const CAROL: &str = "carol-token-0003e52e4e92ddf7ee62ba635287";

/// `GET /api/v1{path}` on the simulator as alice, bypassing the gateway.
pub async fn gitea_get(base_url: &str, path: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{base_url}/api/v1{path}"))
        .header("authorization", format!("token {ALICE}"))
        .send()
        .await
        .expect("simulator request")
        .json()
        .await
        .expect("simulator JSON")
}

pub struct Env {
    pub sim: RunningSim,
    pub router: Router,
}

impl Env {
    /// A contract-mode simulator and a router whose service token is `token`.
    pub async fn start(token: &str, extra: &[(&str, &str)]) -> Env {
        let sim = gitea_sim::spawn_with_contract(demo_seed(), swagger_path())
            .await
            .expect("simulator");
        let vars: HashMap<String, String> = support::vars(&sim.base_url, token, extra);
        let router = support::router(&vars).await;
        Env { sim, router }
    }

    /// Asserts the simulator saw no request or response outside Gitea's swagger.
    pub fn assert_contract_clean(&self) {
        let violations = self.sim.state.violations();
        assert!(
            violations.is_empty(),
            "contract violations: {violations:#?}"
        );
    }
}

/// `OAUTH_STATE_SECRET` of every `OAuthEnv`: tests derive the router's keys from it.
pub const OAUTH_STATE_SECRET: &str = "it-oauth-state-secret-0123456789abcdef0123";

/// OAuth mode: a contract-mode simulator that signs `login` in by itself, and a router in
/// OAuth mode on it (no API keys, no service token: Gitea calls use the user's own token).
pub struct OAuthEnv {
    pub sim: RunningSim,
    pub router: Router,
    /// The router's keys, to mint tokens it should refuse
    pub keys: aegis_oauth::Keys,
}

impl OAuthEnv {
    pub async fn start(login: &str, extra: &[(&str, &str)]) -> OAuthEnv {
        let sim = gitea_sim::spawn_with_contract(demo_seed(), swagger_path())
            .await
            .expect("simulator");
        sim.state.set_auto_login(Some(login));
        let mut vars = vec![
            ("OAUTH_MODE", "true"),
            ("GITEA_OAUTH_CLIENT_ID", "aegis-demo-client"),
            (
                "GITEA_OAUTH_CLIENT_SECRET",
                "aegis-demo-secret-5f0c1d7e9b2a4c68",
            ),
            ("OAUTH_STATE_SECRET", OAUTH_STATE_SECRET),
            ("MCP_API_KEYS", ""),
            ("GITEA_TOKEN", ""),
        ];
        vars.extend_from_slice(extra);
        let router = support::router(&support::vars(&sim.base_url, "", &vars)).await;
        let keys = aegis_oauth::Keys::derive(&aegis_core::config::Secret::new(OAUTH_STATE_SECRET));
        OAuthEnv { sim, router, keys }
    }
}

impl OAuthEnv {
    /// Asserts the simulator saw no request or response outside Gitea's swagger.
    pub fn assert_contract_clean(&self) {
        let violations = self.sim.state.violations();
        assert!(
            violations.is_empty(),
            "contract violations: {violations:#?}"
        );
    }
}
