//! OAuth mode, the refusals: every way a token, a code, a consent or a registration can be
//! wrong, each with its exact answer. The router runs in process (`oneshot`), the simulator
//! on a socket (the gateway reaches Gitea over HTTP); the happy path between the refusals is
//! the real one (register, consent page, Gitea, callback, token).

use aegis_oauth::crypto::pkce_challenge;
use aegis_oauth::tokens::{self, AccessClaims};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::sim::OAuthEnv;
use crate::support::{send, Reply};

/// The `Host` every request carries, so the issuer is `http://localhost`.
pub(crate) const HOST: &str = "localhost";
pub(crate) const ISSUER: &str = "http://localhost";
pub(crate) const RESOURCE: &str = "http://localhost/mcp";
/// The client's loopback redirect URI (never contacted: the tests read `Location`).
pub(crate) const REDIRECT: &str = "http://127.0.0.1:53682/callback";
pub(crate) const VERIFIER: &str = "it-oauth-verifier-0123456789abcdefghijklmnopqrstuvwxyz";
const CHALLENGE_METADATA: &str =
    "Bearer resource_metadata=\"http://localhost/.well-known/oauth-protected-resource\", scope=\"read:repository\"";

pub(crate) fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("host", HOST)
        .body(Body::empty())
        .expect("request")
}

pub(crate) fn post_form(
    uri: &str,
    pairs: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut req = Request::post(uri)
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body)).expect("request")
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub(crate) fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// The value of `<input ... name="NAME" value="...">` in a page we generated.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..][..html[start..].find('"').expect("closing quote")].to_string()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("absolute location")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(location: &str, name: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Form fields or headers.
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// The consent page's form, as a browser holds it.
pub(crate) struct Consent {
    pub(crate) request: String,
    pub(crate) csrf: String,
    /// `aegis_csrf=<value>`
    pub(crate) cookie: String,
}

/// One client and one user going through the real flow, step by step.
pub(crate) struct Flow<'a> {
    pub(crate) env: &'a OAuthEnv,
    pub(crate) client_id: String,
}

impl<'a> Flow<'a> {
    pub(crate) async fn register(env: &'a OAuthEnv) -> Flow<'a> {
        let reply = register(
            env,
            json!({"redirect_uris": [REDIRECT], "client_name": "it"}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", text(&reply));
        let client_id = reply.json()["client_id"]
            .as_str()
            .expect("client_id")
            .to_string();
        Flow { env, client_id }
    }

    pub(crate) fn authorize_query(&self, overrides: &[(&str, &str)]) -> String {
        let challenge = pkce_challenge(VERIFIER);
        let mut pairs: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "client-state"),
            ("scope", "read:repository"),
            ("resource", RESOURCE),
        ];
        for (k, v) in overrides {
            pairs.retain(|(key, _)| key != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        format!("/oauth/authorize?{}", query(&pairs))
    }

    pub(crate) async fn consent(&self, scope: &str) -> Consent {
        let reply = send(
            &self.env.router,
            get(&self.authorize_query(&[("scope", scope)])),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
        let html = text(&reply);
        let cookie = reply
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("aegis_csrf cookie")
            .to_string();
        assert!(cookie.starts_with("aegis_csrf="), "{cookie}");
        Consent {
            request: hidden(&html, "request"),
            csrf: hidden(&html, "csrf_token"),
            cookie,
        }
    }

    pub(crate) async fn decide(&self, consent: &Consent, decision: &str) -> Reply {
        let pairs = [
            ("request", consent.request.as_str()),
            ("csrf_token", consent.csrf.as_str()),
            ("decision", decision),
        ];
        let headers = [("cookie", consent.cookie.as_str()), ("origin", ISSUER)];
        send(
            &self.env.router,
            post_form("/oauth/authorize", &pairs, &headers),
        )
        .await
    }

    /// Approve, then follow Gitea's redirect: our callback's path and query.
    pub(crate) async fn through_gitea(&self, scope: &str) -> String {
        let consent = self.consent(scope).await;
        let approved = self.decide(&consent, "approve").await;
        assert_eq!(
            approved.status,
            StatusCode::SEE_OTHER,
            "{}",
            text(&approved)
        );
        let to_gitea = approved.header("location").expect("location").to_string();
        assert!(to_gitea.starts_with(&format!("{}/login/oauth/authorize?", self.env.sim.base_url)));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let back = http.get(&to_gitea).send().await.expect("gitea");
        assert_eq!(back.status().as_u16(), 303);
        let location = back.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_string();
        let rest = location
            .strip_prefix(ISSUER)
            .unwrap_or_else(|| panic!("gitea sent the browser to {location}"));
        assert!(rest.starts_with("/oauth/callback?"), "{rest}");
        rest.to_string()
    }

    /// The whole front channel: our code, as delivered to the client's redirect URI.
    pub(crate) async fn code(&self, scope: &str) -> String {
        let callback = self.through_gitea(scope).await;
        let reply = send(&self.env.router, get(&callback)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", text(&reply));
        let location = reply.header("location").expect("location");
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
        assert_eq!(param(location, "state").as_deref(), Some("client-state"));
        assert_eq!(param(location, "iss").as_deref(), Some(ISSUER));
        param(location, "code").expect("code")
    }

    pub(crate) async fn redeem(&self, code: &str, verifier: &str) -> Reply {
        token(
            self.env,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
                ("client_id", &self.client_id),
                ("resource", RESOURCE),
            ],
        )
        .await
    }

    pub(crate) async fn refresh(&self, refresh_token: &str) -> Reply {
        token(
            self.env,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", &self.client_id),
            ],
        )
        .await
    }

    /// (access token, refresh token) for `scope`.
    pub(crate) async fn tokens(&self, scope: &str) -> (String, String) {
        let code = self.code(scope).await;
        let reply = self.redeem(&code, VERIFIER).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
        let v = reply.json();
        (
            v["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            v["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
        )
    }
}

pub(crate) async fn register(env: &OAuthEnv, body: Value) -> Reply {
    let req = Request::post("/register")
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(&env.router, req).await
}

pub(crate) async fn token(env: &OAuthEnv, pairs: &[(&str, &str)]) -> Reply {
    send(&env.router, post_form("/oauth/token", pairs, &[])).await
}

/// A `tools/call` on `/mcp` with `Authorization: Bearer <token>` (none when `None`) and
/// extra query parameters on the URL.
fn mcp_call(token: Option<&str>, uri_query: &str, tool: &str, arguments: Value) -> Request<Body> {
    let uri = if uri_query.is_empty() {
        "/mcp".to_string()
    } else {
        format!("/mcp?{uri_query}")
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}});
    let mut req = Request::post(uri)
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(Body::from(body.to_string())).expect("request")
}

fn notes() -> Value {
    json!({"owner": "alice", "repo": "notes"})
}

/// The call works: HTTP 200 and a successful tool result.
async fn assert_works(env: &OAuthEnv, token: &str) {
    let reply = send(
        &env.router,
        mcp_call(Some(token), "", "get_repository_info", notes()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
    let v = reply.json();
    assert_eq!(
        v["result"]["structuredContent"]["repository"]["full_name"], "alice/notes",
        "{v}"
    );
}

/// The call is refused as RFC 6750 wants it: 401, `error="invalid_token"`.
async fn assert_invalid_token(env: &OAuthEnv, token: &str) {
    let reply = send(
        &env.router,
        mcp_call(Some(token), "", "get_repository_info", notes()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", text(&reply));
    assert_eq!(
        reply.header("www-authenticate"),
        Some(format!("{CHALLENGE_METADATA}, error=\"invalid_token\"").as_str())
    );
}

pub(crate) fn assert_oauth_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", text(reply));
    assert_eq!(reply.json()["error"], error, "{}", text(reply));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// An HTML error page that sends the browser nowhere.
fn assert_html_refusal(reply: &Reply, status: StatusCode, title: &str) {
    assert_eq!(reply.status, status, "{}", text(reply));
    assert_eq!(reply.header("location"), None);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        reply.headers
    );
    assert!(
        text(reply).contains(&format!("<h1>{title}</h1>")),
        "{}",
        text(reply)
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
}

// ---- tokens at /mcp -----------------------------------------------------------------------

#[tokio::test]
async fn the_401_challenge_names_the_metadata_and_the_scope() {
    let env = OAuthEnv::start("alice", &[]).await;
    let reply = send(
        &env.router,
        mcp_call(None, "", "get_repository_info", notes()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("www-authenticate"), Some(CHALLENGE_METADATA));
    assert_eq!(reply.json()["error"], "unauthorized");
    assert_invalid_token(&env, "not-a-token").await;

    // The metadata the challenge points at names this server as the authorization server.
    let prm = send(&env.router, get("/.well-known/oauth-protected-resource"))
        .await
        .json();
    assert_eq!(prm["resource"], RESOURCE);
    assert_eq!(prm["authorization_servers"], json!([ISSUER]));
    assert_eq!(prm["bearer_methods_supported"], json!(["header"]));
    let asm = send(&env.router, get("/.well-known/oauth-authorization-server"))
        .await
        .json();
    assert_eq!(asm["issuer"], ISSUER);
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["registration_endpoint"], "http://localhost/register");
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let (access, _) = flow.tokens("read:repository").await;
    assert_works(&env, &access).await;

    // The genuine token's claims, changed one way at a time and signed again: only the
    // change can explain a refusal.
    let good: AccessClaims = {
        use base64::Engine;
        let payload = access.split('.').nth(1).expect("jwt");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("claims")
    };
    assert_eq!(good.aud, RESOURCE);
    assert_eq!(good.iss, ISSUER);
    assert_eq!(good.sub, "alice");
    let now = aegis_storage::now_secs();
    let other_keys = aegis_oauth::Keys::derive(&aegis_core::config::Secret::new(
        "another-state-secret-another-state-secret",
    ));
    let resigned = tokens::issue(&env.keys, &good).expect("sign");
    assert_works(&env, &resigned).await; // the minting itself is sound

    let cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            tokens::issue(
                &env.keys,
                &AccessClaims {
                    aud: "http://localhost/other".into(),
                    ..good.clone()
                },
            )
            .expect("sign"),
        ),
        (
            "another server's issuer",
            tokens::issue(
                &env.keys,
                &AccessClaims {
                    iss: "http://evil.example".into(),
                    ..good.clone()
                },
            )
            .expect("sign"),
        ),
        (
            "expired",
            tokens::issue(
                &env.keys,
                &AccessClaims {
                    iat: now - 3600,
                    exp: now - 120,
                    ..good.clone()
                },
            )
            .expect("sign"),
        ),
        (
            "bad signature",
            tokens::issue(&other_keys, &good).expect("sign"),
        ),
        ("alg none", {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = b64.encode(serde_json::to_vec(&good).expect("json"));
            format!("{header}.{body}.")
        }),
        ("unknown grant", {
            tokens::issue(
                &env.keys,
                &AccessClaims {
                    gid: "no-such-grant".into(),
                    ..good.clone()
                },
            )
            .expect("sign")
        }),
    ];
    for (why, token) in cases {
        let reply = send(
            &env.router,
            mcp_call(Some(&token), "", "get_repository_info", notes()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{why}: {}",
            text(&reply)
        );
        assert_eq!(
            reply.header("www-authenticate"),
            Some(format!("{CHALLENGE_METADATA}, error=\"invalid_token\"").as_str()),
            "{why}"
        );
    }
    assert_works(&env, &access).await;
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let (access, _) = flow.tokens("read:repository").await;
    for name in ["access_token", "token"] {
        let q = query(&[(name, access.as_str())]);
        let reply = send(
            &env.router,
            mcp_call(None, &q, "get_repository_info", notes()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            text(&reply)
        );
        // As if no token had been sent at all: no `error=` in the challenge.
        assert_eq!(
            reply.header("www-authenticate"),
            Some(CHALLENGE_METADATA),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_write_tool_with_a_read_only_token_is_insufficient_scope() {
    let env = OAuthEnv::start(
        "alice",
        &[
            ("WRITE_MODE", "true"),
            ("WRITE_REPOSITORY_WHITELIST", "alice/notes"),
        ],
    )
    .await;
    let flow = Flow::register(&env).await;
    let (access, _) = flow.tokens("read:repository").await;
    let before = env.sim.state.requests().len();
    let reply = send(
        &env.router,
        mcp_call(
            Some(&access),
            "",
            "create_issue",
            json!({"owner": "alice", "repo": "notes", "title": "from a read-only token"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", text(&reply));
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            "Bearer error=\"insufficient_scope\", scope=\"read:repository write:repository\", \
             resource_metadata=\"http://localhost/.well-known/oauth-protected-resource\""
        )
    );
    assert_eq!(reply.json()["error"]["code"], -32003);
    assert_eq!(
        env.sim.state.requests().len(),
        before,
        "nothing reached Gitea"
    );
    // The same token still reads.
    assert_works(&env, &access).await;
    env.assert_contract_clean();
}

// ---- the token endpoint -------------------------------------------------------------------

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_what_it_issued() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let code = flow.code("read:repository").await;
    let first = flow.redeem(&code, VERIFIER).await;
    assert_eq!(first.status, StatusCode::OK, "{}", text(&first));
    let access = first.json()["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let refresh = first.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_works(&env, &access).await; // used once, so any per-instance cache holds it

    let replay = flow.redeem(&code, VERIFIER).await;
    assert_oauth_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        replay.json()["error_description"],
        "the authorization code was already used"
    );
    assert_invalid_token(&env, &access).await;
    let refreshed = flow.refresh(&refresh).await;
    assert_oauth_error(&refreshed, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        refreshed.json()["error_description"],
        "the grant was revoked"
    );
}

#[tokio::test]
async fn a_reused_refresh_token_is_invalid_grant_and_revokes_the_grant() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let (_, old_refresh) = flow.tokens("read:repository").await;
    let rotated = flow.refresh(&old_refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", text(&rotated));
    let access = rotated.json()["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let new_refresh = rotated.json()["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_ne!(new_refresh, old_refresh);
    assert_works(&env, &access).await;

    let replay = flow.refresh(&old_refresh).await;
    assert_oauth_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        replay.json()["error_description"],
        "the refresh token was already used; the grant is revoked"
    );
    assert_invalid_token(&env, &access).await;
    let current = flow.refresh(&new_refresh).await;
    assert_oauth_error(&current, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn token_requests_that_do_not_match_the_authorization_are_refused() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;

    // A wrong PKCE verifier (well-formed, another one).
    let code = flow.code("read:repository").await;
    let reply = flow
        .redeem(
            &code,
            "another-verifier-0123456789abcdefghijklmnopqrstuvwxyz",
        )
        .await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        reply.json()["error_description"],
        "PKCE verification failed"
    );

    // No verifier at all.
    let code = flow.code("read:repository").await;
    let reply = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &flow.client_id),
        ],
    )
    .await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

    // Another redirect URI than the authorization request's.
    let code = flow.code("read:repository").await;
    let reply = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/callback/"),
            ("code_verifier", VERIFIER),
            ("client_id", &flow.client_id),
        ],
    )
    .await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

    // Another client's code.
    let code = flow.code("read:repository").await;
    let other = Flow::register(&env).await;
    let reply = other.redeem(&code, VERIFIER).await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        reply.json()["error_description"],
        "the code was issued to another client"
    );

    // An unknown client.
    let reply = token(
        &env,
        &[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "no-such-client"),
        ],
    )
    .await;
    assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"aegis-gitea-mcp\"")
    );
}

// ---- the authorization endpoint -----------------------------------------------------------

#[tokio::test]
async fn plain_pkce_is_refused_at_authorize() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    for overrides in [
        vec![
            ("code_challenge_method", "plain"),
            ("code_challenge", VERIFIER),
        ],
        vec![("code_challenge_method", "")], // none: PKCE is mandatory
        vec![("code_challenge", "")],
    ] {
        let reply = send(&env.router, get(&flow.authorize_query(&overrides))).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "{overrides:?}: {}",
            text(&reply)
        );
        let location = reply.header("location").expect("location");
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
        assert_eq!(
            param(location, "error").as_deref(),
            Some("invalid_request"),
            "{overrides:?}"
        );
        assert_eq!(param(location, "state").as_deref(), Some("client-state"));
        assert_eq!(param(location, "iss").as_deref(), Some(ISSUER));
        assert_eq!(param(location, "code"), None);
        assert_eq!(reply.header("set-cookie"), None, "no consent was offered");
    }
}

#[tokio::test]
async fn redirect_uris_must_match_exactly_and_unknown_clients_get_no_redirect() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let cases: Vec<(String, &str)> = vec![
        (format!("{REDIRECT}?extra=1"), "Invalid redirect"),
        (format!("{REDIRECT}/"), "Invalid redirect"),
        (
            "http://127.0.0.1:53682/Callback".to_string(),
            "Invalid redirect",
        ),
        (
            "http://localhost:53682/callback".to_string(),
            "Invalid redirect",
        ),
        (
            "https://evil.example/callback".to_string(),
            "Invalid redirect",
        ),
        (String::new(), "Invalid redirect"),
    ];
    for (redirect, title) in &cases {
        let reply = send(
            &env.router,
            get(&flow.authorize_query(&[("redirect_uri", redirect)])),
        )
        .await;
        assert_html_refusal(&reply, StatusCode::BAD_REQUEST, title);
    }
    for client_id in ["no-such-client", ""] {
        let uri = flow.authorize_query(&[("client_id", client_id)]);
        let reply = send(&env.router, get(&uri)).await;
        assert_html_refusal(&reply, StatusCode::BAD_REQUEST, "Unknown application");
    }
}

#[tokio::test]
async fn a_metadata_document_client_id_on_a_private_address_is_refused() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    for client_id in [
        "https://127.0.0.1/client.json",
        "https://127.0.0.1:8443/oauth/client-metadata.json",
        "https://localhost/client.json",
        "https://[::1]/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/client.json",
        "http://example.com/client.json", // not https
    ] {
        let reply = send(
            &env.router,
            get(&flow.authorize_query(&[("client_id", client_id)])),
        )
        .await;
        assert_html_refusal(&reply, StatusCode::BAD_REQUEST, "Unknown application");
        let reply = token(
            &env,
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ],
        )
        .await;
        assert_oauth_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    }
}

// ---- consent ------------------------------------------------------------------------------

#[tokio::test]
async fn the_consent_page_cannot_be_framed_and_its_form_keeps_an_origin() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let reply = send(&env.router, get(&flow.authorize_query(&[]))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    let csp = reply.header("content-security-policy").expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    // Not `no-referrer`: under it browsers send `Origin: null` with the form's POST, and the
    // Origin guard refuses that (found with chromium: no real browser could approve).
    assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
    let cookie = reply.header("set-cookie").expect("cookie");
    for attribute in ["Path=/oauth", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let consent = flow.consent("read:repository").await;
    let form = [
        ("request", consent.request.as_str()),
        ("csrf_token", consent.csrf.as_str()),
        ("decision", "approve"),
    ];
    let null_origin = send(
        &env.router,
        post_form(
            "/oauth/authorize",
            &form,
            &[("cookie", &consent.cookie), ("origin", "null")],
        ),
    )
    .await;
    assert_eq!(
        null_origin.status,
        StatusCode::FORBIDDEN,
        "{}",
        text(&null_origin)
    );
}

#[tokio::test]
async fn a_consent_without_its_csrf_proof_is_forbidden() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let consent = flow.consent("read:repository").await;
    let other = flow.consent("read:repository").await; // another page, another cookie
    let cases: Vec<(&str, Pairs, Pairs)> = vec![
        (
            "no csrf_token",
            vec![("request", &consent.request), ("decision", "approve")],
            vec![("cookie", &consent.cookie), ("origin", ISSUER)],
        ),
        (
            "no cookie",
            vec![
                ("request", &consent.request),
                ("csrf_token", &consent.csrf),
                ("decision", "approve"),
            ],
            vec![("origin", ISSUER)],
        ),
        (
            "another browser's cookie",
            vec![
                ("request", &consent.request),
                ("csrf_token", &consent.csrf),
                ("decision", "approve"),
            ],
            vec![("cookie", &other.cookie), ("origin", ISSUER)],
        ),
        (
            "another request under this token",
            vec![
                ("request", &other.request),
                ("csrf_token", &consent.csrf),
                ("decision", "approve"),
            ],
            vec![("cookie", &consent.cookie), ("origin", ISSUER)],
        ),
    ];
    for (why, form, headers) in cases {
        let reply = send(&env.router, post_form("/oauth/authorize", &form, &headers)).await;
        assert_html_refusal(&reply, StatusCode::FORBIDDEN, "Request refused");
        assert!(text(&reply).contains("CSRF"), "{why}");
    }
    // A cross-site submission is refused before the form is read.
    let form = [
        ("request", consent.request.as_str()),
        ("csrf_token", consent.csrf.as_str()),
        ("decision", "approve"),
    ];
    let reply = send(
        &env.router,
        post_form(
            "/oauth/authorize",
            &form,
            &[
                ("cookie", &consent.cookie),
                ("origin", "https://evil.example"),
            ],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", text(&reply));
    assert_eq!(reply.header("location"), None);
    // The genuine submission still goes through, once.
    let approved = flow.decide(&consent, "approve").await;
    assert_eq!(
        approved.status,
        StatusCode::SEE_OTHER,
        "{}",
        text(&approved)
    );
    let again = flow.decide(&consent, "approve").await;
    assert_html_refusal(&again, StatusCode::BAD_REQUEST, "Already answered");
}

#[tokio::test]
async fn a_tampered_or_expired_state_on_the_callback_is_refused() {
    let env = OAuthEnv::start("alice", &[]).await;
    let flow = Flow::register(&env).await;
    let callback = flow.through_gitea("read:repository").await;
    let pairs = query_of(&format!("{ISSUER}{callback}"));
    let code = pairs
        .iter()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .clone();
    let state = pairs
        .iter()
        .find(|(k, _)| k == "state")
        .expect("state")
        .1
        .clone();
    let callback_with = |state: &str| {
        format!(
            "/oauth/callback?{}",
            query(&[("code", &code), ("state", state)])
        )
    };

    // The state's content, changed (a redirect URI of the attacker's) under the old tag.
    let (body, tag) = state.split_once('.').expect("signed state");
    let mut upstream: Value = env.keys.verify(&state).expect("our own state");
    upstream["p"]["redirect_uri"] = json!("https://evil.example/steal");
    let resigned = env.keys.sign(&upstream);
    let forged_body = resigned.split_once('.').expect("signed").0;
    let other_keys = aegis_oauth::Keys::derive(&aegis_core::config::Secret::new(
        "another-state-secret-another-state-secret",
    ));
    for (why, bad) in [
        ("content changed", format!("{forged_body}.{tag}")),
        ("tag changed", format!("{body}.{}", &tag[1..])),
        ("signed with another key", other_keys.sign(&upstream)),
        ("no tag", body.to_string()),
        ("empty", String::new()),
    ] {
        let reply = send(&env.router, get(&callback_with(&bad))).await;
        assert_html_refusal(&reply, StatusCode::BAD_REQUEST, "Invalid state");
        assert!(!text(&reply).contains("evil"), "{why}");
    }

    // A genuine signature over an expired flow.
    let mut expired: Value = env.keys.verify(&state).expect("our own state");
    expired["exp"] = json!(aegis_storage::now_secs() - 1);
    let reply = send(&env.router, get(&callback_with(&env.keys.sign(&expired)))).await;
    assert_html_refusal(&reply, StatusCode::BAD_REQUEST, "Expired");

    // The untouched state still completes, once.
    let ok = send(&env.router, get(&callback)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", text(&ok));
    let replay = send(&env.router, get(&callback)).await;
    assert_html_refusal(&replay, StatusCode::BAD_REQUEST, "Already used");
}

// ---- registration -------------------------------------------------------------------------

#[tokio::test]
async fn registration_refuses_dangerous_redirect_uris() {
    let env = OAuthEnv::start("alice", &[]).await;
    for uri in [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "/callback",
        "callback",
        "//evil.example/callback",
        "http://evil.example/callback",
        "http://192.168.1.10/callback",
        "http://127.0.0.1.evil.example/callback",
        "https://client.example/callback#fragment",
        "",
    ] {
        let reply = register(&env, json!({"redirect_uris": [uri]})).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
        // One bad URI spoils a list of good ones.
        let reply = register(&env, json!({"redirect_uris": [REDIRECT, uri]})).await;
        assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    }
    let reply = register(&env, json!({"redirect_uris": []})).await;
    assert_oauth_error(&reply, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    for ok in [
        REDIRECT,
        "http://localhost:3000/cb",
        "http://[::1]:3000/cb",
        "https://client.example/cb",
    ] {
        let reply = register(&env, json!({"redirect_uris": [ok]})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{ok}: {}", text(&reply));
    }
}

// ---- scopes Gitea actually granted ----------------------------------------------------------

#[tokio::test]
async fn a_write_authorization_gitea_keeps_read_only_is_invalid_scope() {
    let policy = crate::sim::repo_root().join("policies/write-one-repo.yaml");
    let policy = policy.display().to_string();
    let env = OAuthEnv::start(
        "alice",
        &[
            ("WRITE_MODE", "true"),
            ("WRITE_REPOSITORY_WHITELIST", "acme/app"),
            ("POLICY_FILE_PATH", &policy),
        ],
    )
    .await;
    let flow = Flow::register(&env).await;
    // alice first connects read-only: Gitea records a read-only grant of the gateway.
    let _ = flow.tokens("read:repository").await;
    // Asking for writes later: Gitea reuses that grant (as 1.27 does for a confidential
    // client), so its tokens cannot write. The client is told, no code is issued.
    let callback = flow.through_gitea("read:repository write:repository").await;
    let reply = send(&env.router, get(&callback)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", text(&reply));
    let location = reply.header("location").expect("location");
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(param(location, "error").as_deref(), Some("invalid_scope"));
    assert!(
        param(location, "error_description").is_some_and(|d| d.contains("read-only authorization"))
    );
    assert_eq!(param(location, "code"), None);

    // Once Gitea has no grant (the user revoked it), writes are granted for real.
    env.sim.state.reset();
    let (access, _) = flow.tokens("read:repository write:repository").await;
    let reply = send(
        &env.router,
        mcp_call(
            Some(&access),
            "",
            "create_issue",
            json!({"owner": "acme", "repo": "app", "title": "after a fresh authorization"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
    let v = reply.json();
    assert_eq!(v["result"]["isError"], false, "{v}");
    assert_eq!(
        v["result"]["structuredContent"]["issue"]["title"], "after a fresh authorization",
        "{v}"
    );
    env.assert_contract_clean();
}

/// OAuth security failures are `security_event` records of the trail, not only log lines: a
/// replayed authorization code, a reused refresh token, a failed PKCE check.
#[tokio::test]
async fn oauth_replays_and_pkce_failures_are_security_events() {
    let trail = tempfile::tempdir().unwrap();
    let dir = trail.path().join("audit");
    let env = OAuthEnv::start("alice", &[("AUDIT_LOG_PATH", dir.to_str().unwrap())]).await;
    let flow = Flow::register(&env).await;
    let code = flow.code("read:repository").await;
    let wrong = flow
        .redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier-00")
        .await;
    assert_oauth_error(&wrong, StatusCode::BAD_REQUEST, "invalid_grant");
    let first = flow.redeem(&code, VERIFIER).await;
    assert_eq!(first.status, StatusCode::OK, "{}", text(&first));
    let refresh = first.json()["refresh_token"].as_str().unwrap().to_string();
    let replay = flow.redeem(&code, VERIFIER).await;
    assert_oauth_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    let (_, old) = flow.tokens("read:repository").await;
    assert_eq!(flow.refresh(&old).await.status, StatusCode::OK);
    let reused = flow.refresh(&old).await;
    assert_oauth_error(&reused, StatusCode::BAD_REQUEST, "invalid_grant");
    drop(refresh);

    let mut kinds = Vec::new();
    for _ in 0..100 {
        kinds = crate::audit_trail::records(&dir)
            .await
            .into_iter()
            .filter(|r| r["type"] == "security_event")
            .filter_map(|r| r["outcome"].as_str().map(str::to_string))
            .collect();
        if kinds.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for kind in [
        "oauth_pkce_failed",
        "oauth_code_replayed",
        "oauth_refresh_token_reused",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not in {kinds:?}");
    }
}
