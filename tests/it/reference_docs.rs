//! The generated reference pages: the committed `docs/configuration.md` and
//! `docs/api-reference.md` equal what the code generates, and every endpoint the API
//! reference lists is really served.

use axum::body::Body;
use http::Request;

use crate::sim::{repo_root, OAuthEnv, ALICE};
use crate::support::send;

#[test]
fn committed_reference_pages_match_the_code() {
    for (path, generated) in aegis_mcp::reference::generated_pages() {
        let committed = std::fs::read_to_string(repo_root().join(path)).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is out of date: run `make docs` and commit the result"
        );
    }
}

/// Each listed (method, path) reaches a route of the shim in OAuth mode with metrics on:
/// no answer is the JSON fallback's `no route for ...` or a 405 for the method.
#[tokio::test]
async fn every_listed_endpoint_is_served() {
    let env = OAuthEnv::start(ALICE, &[("METRICS_ENABLED", "true")]).await;
    for e in aegis_mcp::reference::ENDPOINTS {
        let req = Request::builder()
            .method(e.method)
            .uri(e.path)
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap();
        let reply = send(&env.router, req).await;
        let body = String::from_utf8_lossy(&reply.body);
        assert!(
            !body.contains("no route for"),
            "{} {} is listed but not served: {} {body}",
            e.method,
            e.path,
            reply.status
        );
        // A listed method the route does not take would be axum's bare 405.
        if !e.errors.contains("405") {
            assert_ne!(reply.status, 405, "{} {} is not served", e.method, e.path);
        }
    }
}
