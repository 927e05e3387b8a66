//! Real sockets: `gitea_sim::spawn` and the `gitea-sim` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use gitea_sim::Seed;

use crate::support::{seed_path, swagger_path, ALICE};

#[tokio::test]
async fn spawn_serves_on_loopback() {
    let sim = gitea_sim::spawn(Seed::load(seed_path()).unwrap())
        .await
        .unwrap();
    assert!(
        sim.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        sim.base_url
    );
    let client = reqwest::Client::new();
    let resp = client
        .get(format!("{}/api/v1/repos/acme/app", sim.base_url))
        .header("Authorization", format!("token {ALICE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["clone_url"], format!("{}/acme/app.git", sim.base_url));
    let log = sim.state.requests();
    assert_eq!((log.len(), log[0].user.as_deref()), (1, Some("alice")));
}

#[tokio::test]
async fn spawn_with_contract_records_violations() {
    let seed = Seed::load(seed_path()).unwrap();
    let sim = gitea_sim::spawn_with_contract(seed, swagger_path())
        .await
        .unwrap();
    let url = format!("{}/api/v1/version?verbose=1", sim.base_url);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 200);
    let violations: Vec<String> = reqwest::get(format!("{}/_sim/violations", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].contains("`verbose`"));
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_url_and_serves() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_gitea-sim"))
            .args([
                "--seed",
                &seed_path(),
                "--port",
                "0",
                "--contract",
                &swagger_path(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("gitea-sim listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.parse::<u16>().is_ok(), "{line:?}");
    let base = format!("http://127.0.0.1:{url}");
    let version: serde_json::Value = reqwest::get(format!("{base}/api/v1/version"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], "1.27.0");
}

#[test]
fn binary_refuses_non_loopback_hosts() {
    // (host, accepted)
    for host in ["0.0.0.0", "192.168.1.10", "example.com"] {
        let out = Command::new(env!("CARGO_BIN_EXE_gitea-sim"))
            .args(["--seed", &seed_path(), "--host", host])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{host} must be refused");
        assert!(out.stdout.is_empty(), "{host}: nothing is announced");
    }
}

#[test]
fn binary_rejects_a_broken_seed() {
    let dir = std::env::temp_dir().join(format!("gitea-sim-bad-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "users:\n  - login: x\n    created: 2024-01-01T00:00:00Z\nrepos:\n  - {owner: nobody, name: r, created: 2024-01-01T00:00:00Z}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gitea-sim"))
        .args(["--seed", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown owner `nobody`"));
}
