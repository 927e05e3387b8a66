//! In-process harness: the demo seed served by `gitea_sim::app` in contract mode.

use axum::body::Body;
use axum::Router;
use gitea_sim::{Seed, SimState};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const BASE: &str = "http://gitea.test";
pub const ALICE: &str = "alice-token-0001a4519d63df9568768119d218";
pub const ALICE_READ_ONLY: &str = "alice-readonly-000403eb38553e04268fd19b3";
pub const BOB: &str = "bob-token-0002709b0c4032fd07f6902b43f8b9";
pub const CAROL: &str = "carol-token-0003e52e4e92ddf7ee62ba635287";

pub fn swagger_path() -> String {
    format!(
        "{}/../../tests/data/gitea/gitea-1.27.0-swagger.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

pub fn seed_path() -> String {
    format!("{}/seed/demo.yaml", env!("CARGO_MANIFEST_DIR"))
}

pub struct Sim {
    pub app: Router,
    pub state: SimState,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

impl Sim {
    pub fn new() -> Sim {
        let seed = Seed::load(seed_path()).expect("demo seed loads");
        let state = SimState::new(seed, BASE.to_string())
            .with_contract(swagger_path())
            .expect("swagger loads");
        Sim {
            app: gitea_sim::app(state.clone()),
            state,
        }
    }

    pub async fn request(&self, method: &str, uri: &str, auth: Option<&str>) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(value) = auth {
            req = req.header("authorization", value);
        }
        let response = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A request with a JSON body (`Value::Null`: no body) and a personal access token.
    pub async fn send(&self, method: &str, uri: &str, token: Option<&str>, body: &Value) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("token {t}"));
        }
        let body = if body.is_null() {
            Body::empty()
        } else {
            req = req.header("content-type", "application/json");
            Body::from(body.to_string())
        };
        self.call(req.body(body).unwrap()).await
    }

    /// Sends a prepared request.
    pub async fn call(&self, req: Request<Body>) -> Resp {
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET with a personal access token (`token <T>`), or anonymously.
    pub async fn get(&self, uri: &str, token: Option<&str>) -> Resp {
        let auth = token.map(|t| format!("token {t}"));
        self.request("GET", uri, auth.as_deref()).await
    }
}
