//! The OAuth2 provider: discovery, authorize (auto-login and login form), token exchange with PKCE,
//! refresh (with and without rotation), JWT shapes, API access with OAuth tokens, userinfo, introspection.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::Request;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{Resp, Sim, ALICE, BASE};

const CLIENT: &str = "aegis-demo-client";
const SECRET: &str = "aegis-demo-secret-5f0c1d7e9b2a4c68";
const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback";
const PUBLIC: &str = "aegis-public-client";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn authorize(sim: &Sim, pairs: &[(&str, &str)], cookie: Option<&str>) -> Resp {
    let mut req = Request::builder().uri(format!("/login/oauth/authorize?{}", query(pairs)));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    sim.call(req.body(Body::empty()).unwrap()).await
}

async fn post_form(
    sim: &Sim,
    path: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Resp {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((u, p)) = basic {
        req = req.header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{u}:{p}"))),
        );
    }
    sim.call(req.body(Body::from(query(pairs))).unwrap()).await
}

/// The query of a redirect's `Location`.
fn location(resp: &Resp) -> HashMap<String, String> {
    let loc = resp.header("location").unwrap_or_default();
    let url = url::Url::parse(&loc).unwrap_or_else(|e| panic!("location `{loc}`: {e}"));
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A code for alice (auto-login) from the demo app, with extra authorize parameters.
async fn code(sim: &Sim, extra: &[(&str, &str)]) -> String {
    sim.state.set_auto_login(Some("alice"));
    let mut pairs = vec![
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    let resp = authorize(sim, &pairs, None).await;
    assert_eq!(resp.status, 303, "{}", resp.text());
    location(&resp)["code"].clone()
}

async fn exchange(sim: &Sim, code: &str, extra: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("redirect_uri", REDIRECT),
    ];
    pairs.extend_from_slice(extra);
    post_form(sim, "/login/oauth/access_token", &pairs, None).await
}

async fn tokens(sim: &Sim, scope: &str) -> Value {
    let code = code(sim, &[("scope", scope)]).await;
    let resp = exchange(sim, &code, &[]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn jwt_part(token: &str, n: usize) -> Value {
    let part = token.split('.').nth(n).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn discovery_and_keys() {
    let sim = Sim::new();
    let wk = sim.get("/.well-known/openid-configuration", None).await;
    assert_eq!(wk.status, 200);
    let wk = wk.json();
    assert_eq!(wk["issuer"], BASE);
    assert_eq!(
        wk["token_endpoint"],
        format!("{BASE}/login/oauth/access_token")
    );
    assert_eq!(
        wk["authorization_endpoint"],
        format!("{BASE}/login/oauth/authorize")
    );
    assert_eq!(wk["jwks_uri"], format!("{BASE}/login/oauth/keys"));
    assert_eq!(
        wk["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );
    assert_eq!(
        wk["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        wk["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks = sim.get("/login/oauth/keys", None).await.json();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert_eq!(key["e"], "AQAB");
    let t = tokens(&sim, "").await;
    assert_eq!(
        jwt_part(t["access_token"].as_str().unwrap(), 0)["kid"],
        key["kid"]
    );
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}

enum Want {
    Code,
    /// A redirect back with `error` and this description.
    Error(&'static str, &'static str),
    /// A page with this status (no redirect).
    Page(u16),
}

#[tokio::test]
async fn authorize_rules() {
    let sim = Sim::new();
    sim.state.set_auto_login(Some("alice"));
    let s256 = challenge(VERIFIER);
    let base = |client: &'static str, redirect: &'static str| {
        vec![
            ("client_id", client),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("state", "st8"),
        ]
    };
    let with = |mut v: Vec<(&'static str, &'static str)>,
                extra: &[(&'static str, &'static str)]| {
        v.extend_from_slice(extra);
        v
    };
    let s: &'static str = Box::leak(s256.into_boxed_str());
    let rows: Vec<(Vec<(&str, &str)>, Want)> = vec![
        (base(CLIENT, REDIRECT), Want::Code),
        (
            base(CLIENT, "http://localhost:8080/oauth/callback/"),
            Want::Code,
        ),
        (
            with(
                base(CLIENT, REDIRECT),
                &[("code_challenge", s), ("code_challenge_method", "S256")],
            ),
            Want::Code,
        ),
        // simulator-only: the demo app takes any loopback port
        (
            base(CLIENT, "http://127.0.0.1:39999/oauth/callback"),
            Want::Code,
        ),
        (
            base(CLIENT, "http://localhost:41234/oauth/callback"),
            Want::Code,
        ),
        (
            base(CLIENT, "http://evil.example/oauth/callback"),
            Want::Page(400),
        ),
        (base("nope", REDIRECT), Want::Page(400)),
        (
            with(base(CLIENT, REDIRECT), &[])
                .into_iter()
                .filter(|(k, _)| *k != "client_id")
                .collect(),
            Want::Page(500),
        ),
        (
            base(CLIENT, REDIRECT)
                .into_iter()
                .map(|(k, v)| {
                    if k == "response_type" {
                        (k, "token")
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            Want::Error(
                "unsupported_response_type",
                "Only code response type is supported.",
            ),
        ),
        (
            with(
                base(CLIENT, REDIRECT),
                &[("code_challenge", "x"), ("code_challenge_method", "S512")],
            ),
            Want::Error("invalid_request", "unsupported code challenge method"),
        ),
        // public clients: PKCE is required; any port of a loopback IP is fine (RFC 8252)
        (
            base(PUBLIC, "http://127.0.0.1:5555/callback"),
            Want::Error("invalid_request", "PKCE is required for public clients"),
        ),
        (
            with(
                base(PUBLIC, "http://127.0.0.1:5555/callback"),
                &[("code_challenge", s), ("code_challenge_method", "S256")],
            ),
            Want::Code,
        ),
        (
            with(
                base(PUBLIC, "http://localhost:5555/callback"),
                &[("code_challenge", s), ("code_challenge_method", "S256")],
            ),
            Want::Page(400),
        ),
    ];
    let mut wrong = Vec::new();
    for (pairs, want) in rows {
        let resp = authorize(&sim, &pairs, None).await;
        let label = format!("{pairs:?}");
        match want {
            Want::Code => {
                if resp.status != 303 {
                    wrong.push(format!("{label}: status {}: {}", resp.status, resp.text()));
                    continue;
                }
                let q = location(&resp);
                if !q.contains_key("code") || q.get("state").map(String::as_str) != Some("st8") {
                    wrong.push(format!("{label}: redirect {q:?}"));
                }
            }
            Want::Error(code, description) => {
                let q = if resp.status == 303 {
                    location(&resp)
                } else {
                    HashMap::new()
                };
                if q.get("error").map(String::as_str) != Some(code)
                    || q.get("error_description").map(String::as_str) != Some(description)
                    || q.get("state").map(String::as_str) != Some("st8")
                {
                    wrong.push(format!("{label}: status {} redirect {q:?}", resp.status));
                }
            }
            Want::Page(status) => {
                if resp.status.as_u16() != status || resp.header("location").is_some() {
                    wrong.push(format!(
                        "{label}: status {} want page {status}",
                        resp.status
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn login_form_signs_in_and_keeps_a_session() {
    let sim = Sim::new();
    let pairs = [
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("state", "s"),
    ];
    let page = authorize(&sim, &pairs, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("name=\"user_name\"") && page.text().contains("AegisGitea MCP (demo)")
    );
    let mut bad = pairs.to_vec();
    bad.extend([("user_name", "bob"), ("password", "wrong")]);
    let denied = post_form(&sim, "/login/oauth/authorize", &bad, None).await;
    assert_eq!(denied.status, 200);
    assert!(denied.text().contains("Username or password is incorrect."));
    let mut good = pairs.to_vec();
    good.extend([("user_name", "bob"), ("password", "bob-password")]);
    let ok = post_form(&sim, "/login/oauth/authorize", &good, None).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    let cookie = ok.header("set-cookie").unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let code = location(&ok)["code"].clone();
    let t = exchange(&sim, &code, &[]).await.json();
    let me = sim.get("/api/v1/user", None).await;
    assert_eq!(me.status, 401);
    let me = sim
        .request(
            "GET",
            "/api/v1/user",
            Some(&format!("bearer {}", t["access_token"].as_str().unwrap())),
        )
        .await;
    assert_eq!(me.json()["login"], "bob");
    // the session signs bob in again without the form
    let again = authorize(&sim, &pairs, Some(&cookie)).await;
    assert_eq!(again.status, 303);
    let log: Vec<_> = sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.path == "/login/oauth/authorize")
        .collect();
    assert_eq!(log.len(), 4);
    assert_eq!(log[2].user.as_deref(), Some("bob"));
}

#[tokio::test]
async fn token_exchange_rules() {
    let sim = Sim::new();
    sim.state.add_oauth_app(
        "Other",
        "other-client",
        "other-secret",
        &["http://127.0.0.1:9/cb"],
        true,
    );
    let s256 = challenge(VERIFIER);
    // (description, authorize extras, token extras, basic credentials, status, error, description)
    type Row<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        Option<(&'a str, &'a str)>,
        u16,
        &'a str,
        &'a str,
    );
    let rows: Vec<Row> = vec![
        ("body credentials", vec![], vec![], None, 200, "", ""),
        (
            "S256 verifier",
            vec![("code_challenge", &s256), ("code_challenge_method", "S256")],
            vec![("code_verifier", VERIFIER)],
            None,
            200,
            "",
            "",
        ),
        (
            "plain verifier",
            vec![
                ("code_challenge", "plain-secret"),
                ("code_challenge_method", "plain"),
            ],
            vec![("code_verifier", "plain-secret")],
            None,
            200,
            "",
            "",
        ),
        (
            "wrong verifier",
            vec![("code_challenge", &s256), ("code_challenge_method", "S256")],
            vec![("code_verifier", "nope")],
            None,
            400,
            "unauthorized_client",
            "failed PKCE code challenge",
        ),
        (
            "missing verifier",
            vec![("code_challenge", &s256), ("code_challenge_method", "S256")],
            vec![],
            None,
            400,
            "unauthorized_client",
            "failed PKCE code challenge",
        ),
        (
            "wrong secret",
            vec![],
            vec![("client_secret", "nope")],
            None,
            400,
            "unauthorized_client",
            "invalid client secret",
        ),
        (
            "unregistered redirect",
            vec![],
            vec![("redirect_uri", "http://evil.example/cb")],
            None,
            400,
            "unauthorized_client",
            "unexpected redirect URI",
        ),
        (
            "unknown grant type",
            vec![],
            vec![("grant_type", "password")],
            None,
            400,
            "unsupported_grant_type",
            "Only refresh_token or authorization_code grant type is supported",
        ),
        (
            "unknown code",
            vec![],
            vec![("code", "forged")],
            None,
            400,
            "unauthorized_client",
            "client is not authorized",
        ),
        (
            "another client's code",
            vec![],
            vec![
                ("client_id", "other-client"),
                ("client_secret", "other-secret"),
                ("redirect_uri", ""),
            ],
            None,
            400,
            "invalid_grant",
            "invalid grant",
        ),
        (
            "unknown client",
            vec![],
            vec![("client_id", "nope")],
            None,
            400,
            "invalid_client",
            "cannot load client with client id: 'nope'",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, auth_extra, token_extra, basic, status, error, description) in rows {
        let c = code(&sim, &auth_extra).await;
        let mut pairs: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("redirect_uri", REDIRECT),
        ];
        for (k, v) in token_extra {
            pairs.retain(|(pk, _)| *pk != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        let resp = post_form(&sim, "/login/oauth/access_token", &pairs, basic).await;
        let body = resp.json();
        if resp.status.as_u16() != status
            || (status == 400
                && (body["error"] != error || body["error_description"] != description))
        {
            wrong.push(format!("{what}: {} {body}", resp.status));
        }
        if status == 200
            && (keys_of(&body) != ["access_token", "expires_in", "refresh_token", "token_type"]
                || body["token_type"] != "bearer"
                || body["expires_in"] != 3600)
        {
            wrong.push(format!("{what}: body {body}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // HTTP Basic credentials, and their agreement with the body
    let c = code(&sim, &[]).await;
    let basic = post_form(
        &sim,
        "/login/oauth/access_token",
        &[("grant_type", "authorization_code"), ("code", &c)],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(basic.status, 200, "{}", basic.text());
    let c = code(&sim, &[]).await;
    let clash = post_form(
        &sim,
        "/login/oauth/access_token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", "other-client"),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(
        clash.json()["error_description"],
        "client_id in request body inconsistent with Authorization header"
    );
    let empty = post_form(
        &sim,
        "/login/oauth/access_token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", CLIENT),
        ],
        None,
    )
    .await;
    assert_eq!(
        empty.json()["error_description"],
        "invalid empty client secret"
    );

    // codes are single-use and live ten minutes
    let c = code(&sim, &[]).await;
    assert_eq!(exchange(&sim, &c, &[]).await.status, 200);
    assert_eq!(
        exchange(&sim, &c, &[]).await.json()["error_description"],
        "client is not authorized"
    );
    let c = code(&sim, &[]).await;
    sim.state.advance_clock(Duration::from_secs(601));
    assert_eq!(
        exchange(&sim, &c, &[]).await.json()["error_description"],
        "client is not authorized"
    );

    // JSON bodies work too
    let c = code(&sim, &[]).await;
    let req = Request::builder()
        .method("POST")
        .uri("/login/oauth/access_token")
        .header("content-type", "application/json")
        .body(Body::from(json!({"grant_type": "authorization_code", "code": c, "client_id": CLIENT, "client_secret": SECRET}).to_string()))
        .unwrap();
    assert_eq!(sim.call(req).await.status, 200);

    // a public client exchanges with PKCE and without a secret
    sim.state.set_auto_login(Some("carol"));
    let resp = authorize(
        &sim,
        &[
            ("client_id", PUBLIC),
            ("redirect_uri", "http://127.0.0.1:7777/callback"),
            ("response_type", "code"),
            ("code_challenge", &s256),
            ("code_challenge_method", "S256"),
        ],
        None,
    )
    .await;
    let c = location(&resp)["code"].clone();
    let t = post_form(
        &sim,
        "/login/oauth/access_token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", PUBLIC),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:7777/callback"),
        ],
        None,
    )
    .await;
    assert_eq!(t.status, 200, "{}", t.text());
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}

#[tokio::test]
async fn jwt_shapes_and_id_token() {
    let sim = Sim::new();
    let code = code(
        &sim,
        &[
            ("scope", "openid profile email groups"),
            ("nonce", "n-0S6_WzA2Mj"),
        ],
    )
    .await;
    let t = exchange(&sim, &code, &[]).await.json();
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let header = jwt_part(access, 0);
    assert_eq!(
        (header["alg"].as_str(), header["typ"].as_str()),
        (Some("RS256"), Some("JWT"))
    );
    assert_eq!(keys_of(&jwt_part(access, 1)), ["exp", "gnt", "iat", "tt"]);
    assert_eq!(jwt_part(access, 1)["tt"], 0);
    let r = jwt_part(refresh, 1);
    assert_eq!(keys_of(&r), ["cnt", "exp", "gnt", "iat", "tt"]);
    assert_eq!((r["tt"].clone(), r["cnt"].clone()), (json!(1), json!(1)));
    let a = jwt_part(access, 1);
    assert_eq!(
        a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(),
        3600
    );
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["iss"], BASE);
    assert_eq!(id["aud"], json!([CLIENT]));
    assert_eq!(id["sub"], "1");
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["name"], "Alice Anders");
    assert_eq!(id["preferred_username"], "alice");
    assert_eq!(id["email"], "alice@acme.example");
    assert_eq!(id["groups"], json!(["acme"]));
    assert!(t.get("scope").is_none());
}

#[tokio::test]
async fn api_access_with_oauth_tokens_and_refresh() {
    let sim = Sim::new();
    let t = tokens(&sim, "openid").await;
    let bearer = |tok: &Value| format!("bearer {}", tok.as_str().unwrap());
    let me = sim
        .request("GET", "/api/v1/user", Some(&bearer(&t["access_token"])))
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["login"], "alice");
    assert_eq!(
        sim.state.requests().last().unwrap().user.as_deref(),
        Some("alice")
    );
    // `token` scheme and ?access_token= work too, like Gitea's API auth
    let q = format!(
        "/api/v1/user?access_token={}",
        t["access_token"].as_str().unwrap()
    );
    assert_eq!(sim.get(&q, None).await.status, 200);
    // a refresh token is no access token
    assert_eq!(
        sim.request("GET", "/api/v1/user", Some(&bearer(&t["refresh_token"])))
            .await
            .status,
        401
    );

    // expiry: after the lifetime the token is a 401; the refresh token gets a new pair
    sim.state.advance_clock(Duration::from_secs(3601));
    let expired = sim
        .request("GET", "/api/v1/user", Some(&bearer(&t["access_token"])))
        .await;
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.json()["message"],
        "invalid username, password or token"
    );
    let refresh = |rt: Value| {
        let sim = &sim;
        async move {
            post_form(
                sim,
                "/login/oauth/access_token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str().unwrap()),
                ],
                Some((CLIENT, SECRET)),
            )
            .await
        }
    };
    let r1 = refresh(t["refresh_token"].clone()).await;
    assert_eq!(r1.status, 200, "{}", r1.text());
    let r1 = r1.json();
    assert_ne!(
        r1["refresh_token"], t["refresh_token"],
        "a new refresh token every time"
    );
    assert!(r1.get("id_token").is_some(), "the grant has openid");
    assert_eq!(
        sim.request("GET", "/api/v1/user", Some(&bearer(&r1["access_token"])))
            .await
            .status,
        200
    );
    // without rotation enforcement, the old refresh token still works
    sim.state.advance_clock(Duration::from_secs(2));
    assert_eq!(refresh(t["refresh_token"].clone()).await.status, 200);
    // an access token is no refresh token
    let wrong = refresh(r1["access_token"].clone()).await.json();
    assert_eq!(wrong["error_description"], "unable to parse refresh token");

    // with INVALIDATE_REFRESH_TOKENS a refresh token works once
    sim.state.set_invalidate_refresh_tokens(true);
    let t2 = tokens(&sim, "").await;
    sim.state.advance_clock(Duration::from_secs(2));
    let next = refresh(t2["refresh_token"].clone()).await;
    assert_eq!(next.status, 200);
    let reused = refresh(t2["refresh_token"].clone()).await.json();
    assert_eq!(
        (
            reused["error"].as_str(),
            reused["error_description"].as_str()
        ),
        (Some("unauthorized_client"), Some("token was already used"))
    );
    assert_eq!(
        refresh(next.json()["refresh_token"].clone()).await.status,
        200
    );

    // a short access-token lifetime for the gateway's refresh path
    sim.state.set_access_token_ttl(Duration::from_secs(5));
    let short = tokens(&sim, "").await;
    assert_eq!(short["expires_in"], 5);
    sim.state.advance_clock(Duration::from_secs(6));
    assert_eq!(
        sim.request("GET", "/api/v1/user", Some(&bearer(&short["access_token"])))
            .await
            .status,
        401
    );

    // reset forgets grants: their tokens stop working
    let live = tokens(&sim, "").await;
    sim.state.reset();
    assert_eq!(
        sim.request("GET", "/api/v1/user", Some(&bearer(&live["access_token"])))
            .await
            .status,
        401
    );
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}

#[tokio::test]
async fn oauth_scopes_limit_the_api() {
    let sim = Sim::new();
    // (grant scope, method, path, status)
    let rows = [
        ("openid profile", "GET", "/api/v1/user", 200),
        ("read:repository", "GET", "/api/v1/repos/acme/app", 200),
        ("read:repository", "GET", "/api/v1/user", 403),
        (
            "read:repository",
            "POST",
            "/api/v1/repos/acme/app/issues",
            403,
        ),
        (
            "openid write:issue read:repository",
            "POST",
            "/api/v1/repos/acme/app/issues",
            201,
        ),
        (
            "read:everything",
            "POST",
            "/api/v1/repos/acme/app/issues",
            201,
        ),
    ];
    for (scope, method, path, status) in rows {
        sim.state.reset();
        let t = tokens(&sim, scope).await;
        let mut req = Request::builder().method(method).uri(path).header(
            "authorization",
            format!("Bearer {}", t["access_token"].as_str().unwrap()),
        );
        let body = if method == "POST" {
            req = req.header("content-type", "application/json");
            Body::from(r#"{"title":"via oauth"}"#)
        } else {
            Body::empty()
        };
        let resp = sim.call(req.body(body).unwrap()).await;
        assert_eq!(
            resp.status.as_u16(),
            status,
            "{scope} {method} {path}: {}",
            resp.text()
        );
    }
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}

#[tokio::test]
async fn userinfo_and_introspection() {
    let sim = Sim::new();
    sim.state.add_oauth_app(
        "Other",
        "other-client",
        "other-secret",
        &["http://127.0.0.1:9/cb"],
        true,
    );
    let t = tokens(&sim, "openid profile").await;
    let access = t["access_token"].as_str().unwrap().to_string();
    let info = sim
        .request(
            "GET",
            "/login/oauth/userinfo",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(
        keys_of(&info),
        [
            "email",
            "groups",
            "name",
            "picture",
            "preferred_username",
            "sub"
        ]
    );
    assert_eq!(
        (info["sub"].as_str(), info["preferred_username"].as_str()),
        (Some("1"), Some("alice"))
    );
    let post = sim
        .request(
            "POST",
            "/login/oauth/userinfo",
            Some(&format!("Bearer {access}")),
        )
        .await;
    assert_eq!(post.status, 200);
    let pat = sim
        .request(
            "GET",
            "/login/oauth/userinfo",
            Some(&format!("Bearer {ALICE}")),
        )
        .await;
    assert_eq!(pat.status, 401);
    let none = sim.request("GET", "/login/oauth/userinfo", None).await;
    assert_eq!(
        (
            none.status.as_u16(),
            none.header("www-authenticate").as_deref()
        ),
        (401, Some("Bearer realm=\"\""))
    );
    sim.state.reset();
    let limited = tokens(&sim, "read:repository").await;
    let denied = sim
        .request(
            "GET",
            "/login/oauth/userinfo",
            Some(&format!(
                "Bearer {}",
                limited["access_token"].as_str().unwrap()
            )),
        )
        .await;
    assert_eq!(denied.status, 403);

    // introspection: client Basic auth. A confidential client's existing grant keeps the scope it
    // was granted with (Gitea skips the consent page and ignores the new scope).
    let t = tokens(&sim, "openid write:issue").await;
    let token = t["access_token"].as_str().unwrap();
    let intro = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", token)],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(intro.status, 200);
    assert_eq!(
        intro.json(),
        json!({"active": true, "scope": "read:repository", "username": "alice", "iss": BASE, "sub": "1", "aud": [CLIENT]})
    );
    let refresh = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", t["refresh_token"].as_str().unwrap())],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(refresh.json()["active"], true);
    let bad_client = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", token)],
        Some((CLIENT, "nope")),
    )
    .await;
    assert_eq!(bad_client.status, 401);
    let no_client = post_form(&sim, "/login/oauth/introspect", &[("token", token)], None).await;
    assert_eq!(no_client.status, 401);
    let foreign = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", token)],
        Some(("other-client", "other-secret")),
    )
    .await;
    assert_eq!(foreign.json(), json!({"active": false}));
    let unknown = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", "a.b.c")],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(unknown.json(), json!({"active": false}));
    sim.state.advance_clock(Duration::from_secs(3601));
    let expired = post_form(
        &sim,
        "/login/oauth/introspect",
        &[("token", token)],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(expired.json(), json!({"active": false}));
    let logged: Vec<_> = sim
        .state
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/login/oauth/"))
        .collect();
    assert!(logged.len() >= 10, "{}", logged.len());
    assert!(
        sim.state.violations().is_empty(),
        "{:?}",
        sim.state.violations()
    );
}
