//! The OAuth function's routes: metadata, registration, consent, callback, token, revoke.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cimd::CimdFetcher;
use super::crypto::{pkce_challenge, pkce_s256_matches, random_token, sha256_hex};
use super::tokens::{self, AccessClaims};
use super::upstream::GiteaTokens;
use super::{
    gitea_scopes, normalise_scope, pages, OAuthServer, ACCESS_TOKEN_TTL, CODE_TTL, FLOW_TTL,
    REFRESH_TTL,
};
use aegis_core::config::Secret;
use aegis_core::ct::same;
use aegis_edge::auth::{Credential, SCOPE_READ, SCOPE_WRITE};
use aegis_edge::http::base_url;
use aegis_edge::{Edge, FunctionState};
use aegis_storage::{
    now_secs, AuthCode, Grant, RateKey, Redemption, RegisteredClient, StorageError,
};

/// The OAuth function's state: the edge and, in OAuth mode, the authorization server.
#[derive(Clone)]
pub struct OAuthState {
    pub edge: Edge,
    /// Who signed in: the callback asks Gitea for the user behind the upstream token
    pub gitea: aegis_gitea::GiteaClient,
    pub oauth: Option<Arc<OAuthServer>>,
}

impl FunctionState for OAuthState {
    fn edge(&self) -> &Edge {
        &self.edge
    }
}

/// The OAuth function's router. Protected-resource metadata is always served; the
/// authorization server only in OAuth mode.
pub fn router(state: OAuthState) -> Router {
    let mut router = Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(protected_resource),
        );
    if state.oauth.is_some() {
        router = router
            .route(
                "/.well-known/oauth-authorization-server",
                get(authorization_server),
            )
            .route("/register", post(register))
            .route("/oauth/authorize", get(authorize).post(consent_decision))
            .route("/oauth/callback", get(callback))
            .route("/oauth/token", post(token))
            .route("/oauth/revoke", post(revoke));
    }
    router.with_state(state)
}

/// The MCP resource this server protects: what access tokens are bound to.
pub fn resource_url(state: &OAuthState, headers: &HeaderMap) -> String {
    resource_url_for(&state.edge.config, headers).1
}

use aegis_edge::http::resource_url_for;

/// RFC 9728 protected-resource metadata for `/mcp`.
async fn protected_resource(State(state): State<OAuthState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state.edge.config, &headers);
    let mut doc = json!({
        "resource": format!("{base}/mcp"),
        "resource_name": "AegisGitea MCP",
        "scopes_supported": [SCOPE_READ, SCOPE_WRITE],
        "bearer_methods_supported": ["header"],
    });
    if state.oauth.is_some() {
        doc["authorization_servers"] = json!([base]);
    }
    Json(doc)
}

/// RFC 8414 authorization-server metadata.
async fn authorization_server(State(state): State<OAuthState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state.edge.config, &headers);
    let mut doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": [SCOPE_READ, SCOPE_WRITE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    });
    if state.edge.config.dcr_enabled {
        doc["registration_endpoint"] = json!(format!("{base}/register"));
    }
    Json(doc)
}

// ---- errors ---------------------------------------------------------------------------

/// An OAuth error response (RFC 6749 §5.2): JSON, no caching.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }
    fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "oauth storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the authorization server cannot reach its storage; try again",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        no_store(r.headers_mut());
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"aegis-gitea-mcp\""),
            );
        }
        r
    }
}

fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn server(state: &OAuthState) -> Result<&Arc<OAuthServer>, OAuthError> {
    state
        .oauth
        .as_ref()
        .ok_or_else(|| OAuthError::new(StatusCode::NOT_FOUND, "unsupported", "oauth mode is off"))
}

fn form_or_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, OAuthError> {
    let bytes = body.map_err(|e| OAuthError::bad("invalid_request", e.body_text()))?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        serde_json::from_slice(&bytes)
            .map_err(|e| OAuthError::bad("invalid_request", e.to_string()))
    } else {
        serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| OAuthError::bad("invalid_request", e.to_string()))
    }
}

// ---- registration (RFC 7591) ----------------------------------------------------------

/// Largest registration request read, in bytes: real metadata is a few hundred.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// Longest `client_name`, in characters (after invisible characters are removed).
pub const MAX_CLIENT_NAME_CHARS: usize = 100;
/// Most `redirect_uris` per client.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest redirect URI, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

#[derive(Debug, Deserialize)]
struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// Redirect URIs must be absolute https, or http on a loopback host (native apps, RFC
/// 8252), or listed in `OAUTH_REDIRECT_ALLOWLIST`; never `javascript:`, `data:`, `file:`,
/// relative, or with a fragment.
pub fn redirect_uri_allowed(uri: &str, allowlist: &[String]) -> Result<(), String> {
    if allowlist.iter().any(|a| a == uri) {
        return Ok(());
    }
    let parsed = url::Url::parse(uri)
        .map_err(|_| format!("`{}` is not an absolute URI", uri.escape_default()))?;
    if parsed.fragment().is_some() {
        return Err("redirect URIs must not carry a fragment".into());
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err("http redirect URIs must point at a loopback host".into()),
        },
        other => Err(format!(
            "the `{}` scheme is not allowed (add the URI to OAUTH_REDIRECT_ALLOWLIST)",
            other.escape_default()
        )),
    }
}

async fn register(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let server = server(&state)?;
    if !server.dcr_enabled {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            "dynamic client registration is disabled (DCR_ENABLED=false)",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_big = declared.is_some_and(|n| n > MAX_REGISTRATION_BYTES)
        || body
            .as_ref()
            .is_ok_and(|b| b.len() > MAX_REGISTRATION_BYTES);
    if too_big {
        return Err(OAuthError::bad(
            "invalid_client_metadata",
            format!("the registration request is larger than {MAX_REGISTRATION_BYTES} bytes"),
        ));
    }
    let req: RegistrationRequest = form_or_json(&headers, body)?;
    if req.redirect_uris.is_empty() || req.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::bad(
            "invalid_redirect_uri",
            format!("give 1 to {MAX_REDIRECT_URIS} `redirect_uris`"),
        ));
    }
    if let Some(long) = req
        .redirect_uris
        .iter()
        .find(|u| u.len() > MAX_REDIRECT_URI_BYTES)
    {
        return Err(OAuthError::bad(
            "invalid_redirect_uri",
            format!(
                "a redirect URI is {} bytes, over the {MAX_REDIRECT_URI_BYTES}-byte limit",
                long.len()
            ),
        ));
    }
    for uri in &req.redirect_uris {
        redirect_uri_allowed(uri, &server.redirect_allowlist)
            .map_err(|e| OAuthError::bad("invalid_redirect_uri", e))?;
    }
    let method = req
        .token_endpoint_auth_method
        .unwrap_or_else(|| "none".into());
    if !matches!(
        method.as_str(),
        "none" | "client_secret_basic" | "client_secret_post"
    ) {
        return Err(OAuthError::bad(
            "invalid_client_metadata",
            "`token_endpoint_auth_method` must be none, client_secret_basic or client_secret_post",
        ));
    }
    let grant_types = req
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    if grant_types
        .iter()
        .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(OAuthError::bad(
            "invalid_client_metadata",
            "only authorization_code and refresh_token grants are supported",
        ));
    }
    if req
        .response_types
        .as_ref()
        .is_some_and(|r| r.iter().any(|t| t != "code"))
    {
        return Err(OAuthError::bad(
            "invalid_client_metadata",
            "only the `code` response type is supported",
        ));
    }
    let name = req.client_name.as_deref().map(pages::visible_text);
    if let Some(n) = &name {
        let chars = n.chars().count();
        if chars > MAX_CLIENT_NAME_CHARS {
            return Err(OAuthError::bad(
                "invalid_client_metadata",
                format!("`client_name` is {chars} characters, over the {MAX_CLIENT_NAME_CHARS}-character limit"),
            ));
        }
    }
    let scope = match req.scope.as_deref() {
        Some(s) => Some(
            normalise_scope(Some(s)).map_err(|e| OAuthError::bad("invalid_client_metadata", e))?,
        ),
        None => None,
    };
    // Counted once the request is valid: how many clients anyone may add per hour.
    let limit = state.edge.config.dcr_max_clients_per_hour;
    let window = state
        .edge
        .storage
        .rate_limiter
        .hit(
            &RateKey::client_registrations(),
            limit,
            std::time::Duration::from_secs(3600),
        )
        .await
        .map_err(OAuthError::server)?;
    if !window.allowed {
        tracing::warn!(
            limit,
            "oauth client registration refused: the hourly limit is reached"
        );
        return Err(OAuthError::bad(
            "invalid_client_metadata",
            format!(
                "this server registers at most {limit} clients per hour (DCR_MAX_CLIENTS_PER_HOUR); try again in {} seconds",
                window.retry_after.as_secs().max(1)
            ),
        ));
    }
    let client_id = random_token(18).map_err(OAuthError::server)?;
    let secret = if method == "none" {
        None
    } else {
        Some(random_token(32).map_err(OAuthError::server)?)
    };
    let now = now_secs();
    let client = RegisteredClient {
        client_id: client_id.clone(),
        secret_hash: secret.as_deref().map(sha256_hex),
        client_name: name.clone(),
        redirect_uris: req.redirect_uris.clone(),
        grant_types: grant_types.clone(),
        token_endpoint_auth_method: method.clone(),
        scope: scope.clone(),
        created_at: now,
    };
    state
        .edge
        .storage
        .clients
        .register(client)
        .await
        .map_err(OAuthError::server)?;
    tracing::info!(client_id = %client_id, "oauth client registered");
    let mut body = json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "redirect_uris": req.redirect_uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    });
    if let Some(n) = name {
        body["client_name"] = json!(n);
    }
    if let Some(s) = scope {
        body["scope"] = json!(s);
    }
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
        body["client_secret_expires_at"] = json!(0);
    }
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    no_store(r.headers_mut());
    Ok(r)
}

/// A client as the flows need it: registered, or described by a metadata document.
struct Client {
    id: String,
    name: String,
    redirect_uris: Vec<String>,
    secret_hash: Option<String>,
}

async fn lookup_client(
    state: &OAuthState,
    server: &OAuthServer,
    client_id: &str,
) -> Result<Option<Client>, OAuthError> {
    if client_id.is_empty() || client_id.len() > 512 {
        return Ok(None);
    }
    if CimdFetcher::is_url(client_id) {
        return match server.cimd.fetch(client_id).await {
            Ok(meta) => Ok(Some(Client {
                id: meta.client_id.clone(),
                name: meta.client_name.unwrap_or_else(|| client_id.to_string()),
                redirect_uris: meta.redirect_uris,
                secret_hash: None,
            })),
            Err(e) => {
                tracing::warn!(client_id = %client_id, error = %e, "client metadata document refused");
                Ok(None)
            }
        };
    }
    let found = state
        .edge
        .storage
        .clients
        .get(client_id)
        .await
        .map_err(OAuthError::server)?;
    Ok(found.map(|c| Client {
        name: c.client_name.unwrap_or_else(|| c.client_id.clone()),
        id: c.client_id,
        redirect_uris: c.redirect_uris,
        secret_hash: c.secret_hash,
    }))
}

// ---- authorize: the consent page -------------------------------------------------------

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    resource: Option<String>,
}

/// Everything about an authorization request, signed into the consent form and then into
/// the upstream state, so no server-side session is needed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    client_id: String,
    client_name: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    resource: String,
    state: Option<String>,
    nonce: String,
    exp: u64,
}

/// What travels through Gitea and back in `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Upstream {
    p: Pending,
    n: String,
    exp: u64,
}

const CSRF_COOKIE: &str = "aegis_csrf";
/// The consent cookie's name over https: a `__Host-` cookie is `Secure`, host-only and
/// for `Path=/`, so a sibling subdomain or a plain-http response cannot plant one.
const CSRF_COOKIE_HOST: &str = "__Host-aegis_csrf";

/// The consent cookie's name for pages served from `issuer`.
fn csrf_cookie_name(issuer: &str) -> &'static str {
    if issuer.starts_with("https://") {
        CSRF_COOKIE_HOST
    } else {
        CSRF_COOKIE
    }
}

/// The `Set-Cookie` value of a new consent cookie.
fn csrf_set_cookie(issuer: &str, value: &str) -> String {
    if issuer.starts_with("https://") {
        format!("{CSRF_COOKIE_HOST}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={FLOW_TTL}")
    } else {
        format!("{CSRF_COOKIE}={value}; Path=/oauth; HttpOnly; SameSite=Strict; Max-Age={FLOW_TTL}")
    }
}

fn html_error(status: StatusCode, title: &str, detail: &str) -> Response {
    let mut r = (status, Html(pages::error(title, detail))).into_response();
    frame_guard(r.headers_mut());
    r
}

fn frame_guard(h: &mut HeaderMap) {
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
    // the consent form's POST (Fetch, "serialize a request origin"), which the Origin guard
    // refuses, so no real browser could approve. Cross-origin hops still get no referrer.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    no_store(h);
}

/// Redirects to the client with an error (only once its redirect URI is known good).
fn client_error(
    redirect_uri: &str,
    state: Option<&str>,
    issuer: &str,
    error: &str,
    detail: &str,
) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("error", error)
        .append_pair("error_description", detail)
        .append_pair("iss", issuer);
    if let Some(s) = state {
        q.append_pair("state", s);
    }
    Redirect::to(&append_query(redirect_uri, &q.finish())).into_response()
}

fn append_query(uri: &str, query: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn authorize(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let Ok(server) = server(&state) else {
        return html_error(StatusCode::NOT_FOUND, "Not available", "OAuth mode is off.");
    };
    let issuer = base_url(&state.edge.config, &headers);
    let client_id = q.client_id.clone().unwrap_or_default();
    let client = match lookup_client(&state, server, &client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return html_error(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The client_id is not registered with this server.",
            )
        }
        Err(e) => return e.into_response(),
    };
    // Exact string match against the registered URIs: no prefix, no normalisation.
    let redirect_uri = q.redirect_uri.clone().unwrap_or_default();
    if !client.redirect_uris.contains(&redirect_uri) {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect_uri does not exactly match one registered for this application.",
        );
    }
    let st = q.state.as_deref();
    if q.response_type.as_deref() != Some("code") {
        return client_error(
            &redirect_uri,
            st,
            &issuer,
            "unsupported_response_type",
            "only `code` is supported",
        );
    }
    let challenge = q.code_challenge.clone().unwrap_or_default();
    if q.code_challenge_method.as_deref() != Some("S256") {
        return client_error(
            &redirect_uri,
            st,
            &issuer,
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        );
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return client_error(
            &redirect_uri,
            st,
            &issuer,
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)",
        );
    }
    let resource = resource_url(&state, &headers);
    if let Some(r) = q.resource.as_deref() {
        if r.trim_end_matches('/') != resource {
            return client_error(
                &redirect_uri,
                st,
                &issuer,
                "invalid_target",
                "the resource is not this server's MCP endpoint",
            );
        }
    }
    let scope = match normalise_scope(q.scope.as_deref()) {
        Ok(s) => s,
        Err(e) => return client_error(&redirect_uri, st, &issuer, "invalid_scope", &e),
    };
    let Ok(nonce) = random_token(16) else {
        return OAuthError::server("randomness").into_response();
    };
    let pending = Pending {
        client_id: client.id,
        client_name: client.name,
        redirect_uri: redirect_uri.clone(),
        code_challenge: challenge,
        scope: scope.clone(),
        resource,
        state: q.state.clone(),
        nonce,
        exp: now_secs() + FLOW_TTL,
    };
    let signed = server.keys.sign(&pending);
    let (cookie, new_cookie) = match cookie_value(&headers, csrf_cookie_name(&issuer))
        .filter(|c| c.len() >= 22 && c.len() <= 64)
    {
        Some(c) => (c, false),
        None => match random_token(24) {
            Ok(c) => (c, true),
            Err(e) => return OAuthError::server(e).into_response(),
        },
    };
    let csrf = server.keys.csrf_token(&cookie, &signed);
    let host = url::Url::parse(&redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let scopes: Vec<&str> = scope.split(' ').collect();
    let page = pages::consent(&pages::Consent {
        client_name: &pending.client_name,
        client_id: &pending.client_id,
        redirect_host: &host,
        scopes: &scopes,
        request: &signed,
        csrf: &csrf,
        action: "/oauth/authorize",
    });
    let mut r = Html(page).into_response();
    frame_guard(r.headers_mut());
    if new_cookie {
        if let Ok(v) = HeaderValue::from_str(&csrf_set_cookie(&issuer, &cookie)) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Debug, Deserialize)]
struct ConsentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
}

async fn consent_decision(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(server) = server(&state) else {
        return html_error(StatusCode::NOT_FOUND, "Not available", "OAuth mode is off.");
    };
    let Ok(bytes) = body else {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form could not be read.",
        );
    };
    let Ok(form) = serde_urlencoded::from_bytes::<ConsentForm>(&bytes) else {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form could not be read.",
        );
    };
    let issuer = base_url(&state.edge.config, &headers);
    let cookie = cookie_value(&headers, csrf_cookie_name(&issuer)).unwrap_or_default();
    if cookie.is_empty()
        || !server
            .keys
            .csrf_ok(&cookie, &form.request, &form.csrf_token)
    {
        return html_error(StatusCode::FORBIDDEN, "Request refused", "The consent form was not submitted from this server's page (CSRF check failed). Start again from your application.");
    }
    let pending: Pending = match server.keys.verify(&form.request) {
        Ok(p) => p,
        Err(_) => {
            return html_error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The authorization request was altered.",
            )
        }
    };
    if pending.exp < now_secs() {
        return client_error(
            &pending.redirect_uri,
            pending.state.as_deref(),
            &issuer,
            "access_denied",
            "the consent page expired",
        );
    }
    if let Err(r) = use_once(
        &state,
        &format!("consent:{}", pending.nonce),
        pending.exp,
        (
            "Already answered",
            "This consent form was already submitted.",
        ),
    )
    .await
    {
        return r;
    }
    if form.decision != "approve" {
        return client_error(
            &pending.redirect_uri,
            pending.state.as_deref(),
            &issuer,
            "access_denied",
            "the user denied the request",
        );
    }
    let Ok(n) = random_token(16) else {
        return OAuthError::server("randomness").into_response();
    };
    let upstream = Upstream {
        p: pending.clone(),
        n: n.clone(),
        exp: now_secs() + FLOW_TTL,
    };
    let state_param = server.keys.sign(&upstream);
    let challenge = pkce_challenge(&server.keys.upstream_verifier(&n));
    let callback = format!("{issuer}/oauth/callback");
    let url = server.gitea_authorize_url(
        &callback,
        &state_param,
        &gitea_scopes(&pending.scope),
        &challenge,
    );
    let mut r = Redirect::to(&url).into_response();
    frame_guard(r.headers_mut());
    r
}

/// Marks a flow step used; a second use gets the `(title, detail)` error page.
async fn use_once(
    state: &OAuthState,
    key: &str,
    expires_at: u64,
    (title, detail): (&str, &str),
) -> Result<(), Response> {
    match state.edge.storage.grants.use_once(key, expires_at).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(html_error(StatusCode::BAD_REQUEST, title, detail)),
        Err(e) => Err(OAuthError::server(e).into_response()),
    }
}

// ---- callback from Gitea --------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

async fn callback(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Ok(server) = server(&state) else {
        return html_error(StatusCode::NOT_FOUND, "Not available", "OAuth mode is off.");
    };
    let Some(upstream) = q
        .state
        .as_deref()
        .and_then(|s| server.keys.verify::<Upstream>(s).ok())
    else {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Invalid state",
            "The sign-in response was altered or is not from this server.",
        );
    };
    let issuer = base_url(&state.edge.config, &headers);
    let p = &upstream.p;
    if upstream.exp < now_secs() {
        return html_error(
            StatusCode::BAD_REQUEST,
            "Expired",
            "The sign-in took too long. Start again from your application.",
        );
    }
    if let Err(r) = use_once(
        &state,
        &format!("upstream:{}", upstream.n),
        upstream.exp,
        ("Already used", "This sign-in response was already used."),
    )
    .await
    {
        return r;
    }
    if let Some(err) = q.error.as_deref() {
        return client_error(
            &p.redirect_uri,
            p.state.as_deref(),
            &issuer,
            "access_denied",
            &format!("gitea: {}", err.escape_default()),
        );
    }
    let Some(code) = q.code.as_deref() else {
        return client_error(
            &p.redirect_uri,
            p.state.as_deref(),
            &issuer,
            "server_error",
            "gitea returned no code",
        );
    };
    let verifier = server.keys.upstream_verifier(&upstream.n);
    let callback = format!("{issuer}/oauth/callback");
    let tokens = match server.exchange_code(code, &callback, &verifier).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "gitea code exchange failed");
            return client_error(
                &p.redirect_uri,
                p.state.as_deref(),
                &issuer,
                "server_error",
                "gitea refused the sign-in",
            );
        }
    };
    // Gitea reuses an existing grant of our client with the scope it was first given: a
    // user who once connected read-only gets read-only Gitea tokens when a client later asks
    // for writes. Say so, instead of issuing a `write:repository` token whose writes Gitea
    // would refuse. (Unknown scope: go on; Gitea still enforces its own.)
    if p.scope.split(' ').any(|s| s == SCOPE_WRITE) {
        if let Some(granted) = server.granted_scope(&tokens.access_token).await {
            if !super::upstream::gitea_scope_allows_writes(&granted) {
                tracing::warn!(granted = %granted, client_id = %p.client_id, "gitea grant lacks write scopes");
                return client_error(
                    &p.redirect_uri,
                    p.state.as_deref(),
                    &issuer,
                    "invalid_scope",
                    "gitea kept an earlier read-only authorization of this gateway; revoke it in gitea \
                     (settings, applications, authorized oauth2 applications) and connect again",
                );
            }
        }
    }
    let user = match state
        .gitea
        .current_user(&Credential::Token(Secret::new(tokens.access_token.clone())))
        .await
    {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "oauth_token_lacks_api_scope");
            return client_error(
                &p.redirect_uri,
                p.state.as_deref(),
                &issuer,
                "server_error",
                "gitea's token could not read the user",
            );
        }
    };
    let sealed = match seal_tokens(server, &tokens) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let (Ok(grant_id), Ok(code_ours)) = (random_token(18), random_token(32)) else {
        return OAuthError::server("randomness").into_response();
    };
    let now = now_secs();
    let grant = Grant {
        id: grant_id.clone(),
        client_id: p.client_id.clone(),
        login: user.login.clone(),
        user_id: user.id,
        scope: p.scope.clone(),
        resource: p.resource.clone(),
        refresh_hash: String::new(),
        gitea_tokens: sealed,
        revoked: false,
        created_at: now,
        expires_at: now + REFRESH_TTL,
    };
    if let Err(e) = state.edge.storage.grants.create_grant(grant).await {
        return OAuthError::server(e).into_response();
    }
    let auth_code = AuthCode {
        grant_id,
        client_id: p.client_id.clone(),
        redirect_uri: p.redirect_uri.clone(),
        code_challenge: p.code_challenge.clone(),
        scope: p.scope.clone(),
        resource: p.resource.clone(),
        expires_at: now + CODE_TTL,
        redeemed: false,
    };
    if let Err(e) = state
        .edge
        .storage
        .grants
        .put_code(&sha256_hex(&code_ours), auth_code)
        .await
    {
        return OAuthError::server(e).into_response();
    }
    tracing::info!(login = %user.login, client_id = %p.client_id, "oauth authorization granted");
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("code", &code_ours)
        .append_pair("iss", &issuer);
    if let Some(s) = &p.state {
        query.append_pair("state", s);
    }
    Redirect::to(&append_query(&p.redirect_uri, &query.finish())).into_response()
}

fn seal_tokens(server: &OAuthServer, tokens: &GiteaTokens) -> Result<String, OAuthError> {
    let json = serde_json::to_vec(tokens).map_err(OAuthError::server)?;
    server.keys.seal(&json).map_err(OAuthError::server)
}

// ---- token endpoint -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    // revocation
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// Client authentication: HTTP Basic or body credentials (they must agree), or a public
/// client's bare `client_id`.
async fn authenticate_client(
    state: &OAuthState,
    server: &OAuthServer,
    headers: &HeaderMap,
    req: &TokenRequest,
) -> Result<Client, OAuthError> {
    let mut id = req.client_id.clone();
    let mut secret = req.client_secret.clone();
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "malformed basic credentials",
                )
            })?;
        let (u, p) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        let u = percent_encoding::percent_decode_str(u)
            .decode_utf8_lossy()
            .into_owned();
        let p = percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned();
        if id.as_deref().is_some_and(|i| i != u) {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client ids in the header and body differ",
            ));
        }
        id = Some(u);
        secret = Some(p);
    }
    let id = id.ok_or_else(|| {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        )
    })?;
    let client = lookup_client(state, server, &id).await?.ok_or_else(|| {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client")
    })?;
    if let Some(hash) = &client.secret_hash {
        let ok = secret
            .as_deref()
            .is_some_and(|s| same(&sha256_hex(s), hash));
        if !ok {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            ));
        }
    }
    Ok(client)
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    scope: String,
}

fn issue_pair(
    server: &OAuthServer,
    issuer: &str,
    grant: &Grant,
    scope: &str,
) -> Result<(String, String), OAuthError> {
    let now = now_secs();
    let claims = AccessClaims {
        iss: issuer.to_string(),
        aud: grant.resource.clone(),
        sub: grant.login.clone(),
        client_id: grant.client_id.clone(),
        scope: scope.to_string(),
        gid: grant.id.clone(),
        iat: now,
        exp: now + ACCESS_TOKEN_TTL,
        jti: random_token(12).map_err(OAuthError::server)?,
    };
    let access = tokens::issue(&server.keys, &claims).map_err(OAuthError::server)?;
    let refresh = format!(
        "{}.{}",
        grant.id,
        random_token(32).map_err(OAuthError::server)?
    );
    Ok((access, refresh))
}

fn token_response(access: String, refresh: String, scope: String) -> Response {
    let mut r = Json(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL,
        refresh_token: refresh,
        scope,
    })
    .into_response();
    no_store(r.headers_mut());
    r
}

async fn token(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let server = server(&state)?.clone();
    let req: TokenRequest = form_or_json(&headers, body)?;
    let client = authenticate_client(&state, &server, &headers, &req).await?;
    let issuer = base_url(&state.edge.config, &headers);
    let grants = &state.edge.storage.grants;
    match req.grant_type.as_str() {
        "authorization_code" => {
            let presented = req
                .code
                .as_deref()
                .ok_or_else(|| OAuthError::bad("invalid_request", "`code` is required"))?;
            let code_hash = sha256_hex(presented);
            // Everything is checked against the stored code before the code is used up: a
            // request that fails here (a typo in `redirect_uri`, another `resource`) leaves
            // the code to the legitimate retry instead of turning it into a "replay".
            let stored = grants
                .peek_code(&code_hash)
                .await
                .map_err(OAuthError::server)?
                .ok_or_else(|| OAuthError::bad("invalid_grant", "unknown authorization code"))?;
            let scope = check_code_request(&req, &client, &stored)?;
            let found = grants
                .redeem_code(&code_hash)
                .await
                .map_err(OAuthError::server)?;
            let code = match found {
                Redemption::Fresh(c) => c,
                Redemption::Reused(c) => {
                    // A replayed code: revoke everything issued from it.
                    grants
                        .revoke_grant(&c.grant_id)
                        .await
                        .map_err(OAuthError::server)?;
                    server.grant_cache.forget(&c.grant_id);
                    tracing::warn!(client_id = %c.client_id, "authorization code reused; grant revoked");
                    return Err(OAuthError::bad(
                        "invalid_grant",
                        "the authorization code was already used",
                    ));
                }
                Redemption::Missing => {
                    return Err(OAuthError::bad(
                        "invalid_grant",
                        "unknown authorization code",
                    ))
                }
            };
            // The same code as peeked at, now used up: checked again, in case it changed.
            check_code_request(&req, &client, &code)?;
            let grant = grants
                .get_grant(&code.grant_id)
                .await
                .map_err(OAuthError::server)?
                .filter(|g| !g.revoked)
                .ok_or_else(|| OAuthError::bad("invalid_grant", "the grant was revoked"))?;
            let (access, refresh) = issue_pair(&server, &issuer, &grant, &scope)?;
            if !grants
                .rotate_refresh(&grant.id, "", &sha256_hex(&refresh))
                .await
                .map_err(OAuthError::server)?
            {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "the grant was already redeemed",
                ));
            }
            Ok(token_response(access, refresh, scope))
        }
        "refresh_token" => {
            let presented = req
                .refresh_token
                .as_deref()
                .ok_or_else(|| OAuthError::bad("invalid_request", "`refresh_token` is required"))?;
            let (gid, _) = presented
                .split_once('.')
                .ok_or_else(|| OAuthError::bad("invalid_grant", "unknown refresh token"))?;
            let grant = grants
                .get_grant(gid)
                .await
                .map_err(OAuthError::server)?
                .ok_or_else(|| OAuthError::bad("invalid_grant", "unknown refresh token"))?;
            if grant.client_id != client.id {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "the refresh token belongs to another client",
                ));
            }
            if grant.revoked {
                return Err(OAuthError::bad("invalid_grant", "the grant was revoked"));
            }
            let scope = match req.scope.as_deref() {
                None => grant.scope.clone(),
                Some(s) => {
                    let asked = normalise_scope(Some(s))
                        .map_err(|e| OAuthError::bad("invalid_scope", e))?;
                    if asked
                        .split(' ')
                        .any(|x| !grant.scope.split(' ').any(|g| g == x))
                    {
                        return Err(OAuthError::bad(
                            "invalid_scope",
                            "a refresh cannot widen the granted scope",
                        ));
                    }
                    asked
                }
            };
            let (access, refresh) = issue_pair(&server, &issuer, &grant, &scope)?;
            let rotated = grants
                .rotate_refresh(&grant.id, &sha256_hex(presented), &sha256_hex(&refresh))
                .await
                .map_err(OAuthError::server)?;
            if !rotated {
                // Not the current token of this family: a replay of a rotated token (or a
                // forgery). Revoke the family (OAuth 2.1 §4.3.1).
                grants
                    .revoke_grant(&grant.id)
                    .await
                    .map_err(OAuthError::server)?;
                server.grant_cache.forget(&grant.id);
                tracing::warn!(client_id = %grant.client_id, login = %grant.login, "refresh token reused; grant revoked");
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "the refresh token was already used; the grant is revoked",
                ));
            }
            Ok(token_response(access, refresh, scope))
        }
        "" => Err(OAuthError::bad(
            "invalid_request",
            "`grant_type` is required",
        )),
        _ => Err(OAuthError::bad(
            "unsupported_grant_type",
            "use authorization_code or refresh_token",
        )),
    }
}

/// Checks an authorization-code request against its stored code: the client it was
/// issued to, its expiry, the exact `redirect_uri`, PKCE, the `resource` and the scope.
/// Returns the scope to issue: the granted one, or a narrower one the client asked for;
/// a wider one is `invalid_scope`.
fn check_code_request(
    req: &TokenRequest,
    client: &Client,
    code: &AuthCode,
) -> Result<String, OAuthError> {
    if code.client_id != client.id {
        return Err(OAuthError::bad(
            "invalid_grant",
            "the code was issued to another client",
        ));
    }
    if code.expires_at < now_secs() {
        return Err(OAuthError::bad(
            "invalid_grant",
            "the authorization code expired",
        ));
    }
    if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::bad(
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ));
    }
    if !req
        .code_verifier
        .as_deref()
        .is_some_and(|v| pkce_s256_matches(v, &code.code_challenge))
    {
        return Err(OAuthError::bad("invalid_grant", "PKCE verification failed"));
    }
    if req
        .resource
        .as_deref()
        .is_some_and(|r| r.trim_end_matches('/') != code.resource)
    {
        return Err(OAuthError::bad(
            "invalid_target",
            "the resource differs from the authorization request",
        ));
    }
    match req.scope.as_deref() {
        None => Ok(code.scope.clone()),
        Some(s) => {
            let asked =
                normalise_scope(Some(s)).map_err(|e| OAuthError::bad("invalid_scope", e))?;
            if asked
                .split(' ')
                .any(|x| !code.scope.split(' ').any(|g| g == x))
            {
                return Err(OAuthError::bad(
                    "invalid_scope",
                    format!(
                        "the requested scope is wider than the `{}` granted",
                        code.scope
                    ),
                ));
            }
            Ok(asked)
        }
    }
}

/// RFC 7009: revokes the grant behind a refresh or access token of this client. Always
/// 200 for an authenticated client, whether or not the token was known.
async fn revoke(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let server = server(&state)?.clone();
    let req: TokenRequest = form_or_json(&headers, body)?;
    let client = authenticate_client(&state, &server, &headers, &req).await?;
    let token = req
        .token
        .as_deref()
        .ok_or_else(|| OAuthError::bad("invalid_request", "`token` is required"))?;
    let gid = if token.matches('.').count() == 2 {
        // An access token: its grant, signature checked, expiry not.
        tokens::grant_of(&server.keys, token)
    } else {
        token.split_once('.').map(|(g, _)| g.to_string())
    };
    if let Some(gid) = gid {
        if let Some(grant) = state
            .edge
            .storage
            .grants
            .get_grant(&gid)
            .await
            .map_err(OAuthError::server)?
        {
            if grant.client_id == client.id {
                state
                    .edge
                    .storage
                    .grants
                    .revoke_grant(&gid)
                    .await
                    .map_err(OAuthError::server)?;
                server.grant_cache.forget(&gid);
            }
        }
    }
    let mut r = StatusCode::OK.into_response();
    no_store(r.headers_mut());
    Ok(r)
}

impl From<StorageError> for OAuthError {
    fn from(e: StorageError) -> Self {
        OAuthError::server(e)
    }
}
