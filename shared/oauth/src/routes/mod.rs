//! The OAuth function's routes, one file per endpoint: `metadata` (RFC 9728 and RFC 8414),
//! `register` (RFC 7591), `authorize` (the consent page and decision), `callback` (from Gitea),
//! `token` (both grants), `revoke` (RFC 7009). This module holds the router, the state and
//! what the endpoints share (the error type, client lookup, single-use markers, pages).

mod authorize;
mod callback;
mod metadata;
mod register;
mod revoke;
mod token;

use authorize::*;
use callback::*;
use metadata::*;
use register::*;
use revoke::*;
use token::*;

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
use aegis_edge::refusals::Refused;
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

/// An OAuth error response (RFC 6749 §5.2): JSON, no caching.
/// `invalid_grant` and `invalid_client` answers are security events of the audit trail
/// (`aegis_edge::refusals`), named after the error unless a more specific event is set.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    event: Option<&'static str>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            event: None,
        }
    }
    /// Names the security event this refusal records (a replay, a failed PKCE check).
    fn event(mut self, kind: &'static str) -> Self {
        self.event = Some(kind);
        self
    }
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }
    /// Client authentication failed (RFC 6749 section 5.2: 401 with a `Basic` challenge).
    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    fn registration_disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            "dynamic client registration is disabled (DCR_ENABLED=false)",
        )
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
        let event = self.event.or(match self.error {
            "invalid_grant" => Some("oauth_invalid_grant"),
            "invalid_client" => Some("oauth_invalid_client"),
            _ => None,
        });
        let detail = event.map(|_| self.description.clone());
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
        match (event, detail) {
            (Some(kind), Some(detail)) => Refused::tag(r, kind, detail),
            _ => r,
        }
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

// The OAuth function's statuses are chosen here and in `OAuthError`'s constructors (and,
// for everything else, in `aegis_edge::http`): the endpoints name what happened.

fn html_error(status: StatusCode, title: &str, detail: &str) -> Response {
    let mut r = (status, Html(pages::error(title, detail))).into_response();
    frame_guard(r.headers_mut());
    r
}

/// A browser request refused (400): the page says why and what to do.
fn refusal_page(title: &str, detail: &str) -> Response {
    html_error(StatusCode::BAD_REQUEST, title, detail)
}

/// A browser request that did not come from our own page (403).
fn forbidden_page(title: &str, detail: &str) -> Response {
    html_error(StatusCode::FORBIDDEN, title, detail)
}

/// An OAuth page while OAuth mode is off (404).
fn oauth_off_page() -> Response {
    html_error(StatusCode::NOT_FOUND, "Not available", "OAuth mode is off.")
}

/// `201 Created` with a registered client's JSON, not cached.
fn created(body: Value) -> Response {
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    no_store(r.headers_mut());
    r
}

/// The answer to every revocation request, known token or not (RFC 7009 section 2.2).
fn revoked() -> Response {
    let mut r = StatusCode::OK.into_response();
    no_store(r.headers_mut());
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

/// Marks a flow step used; a second use gets the `(title, detail)` error page.
async fn use_once(
    state: &OAuthState,
    key: &str,
    expires_at: u64,
    (title, detail): (&str, &str),
) -> Result<(), Response> {
    match state.edge.storage.grants.use_once(key, expires_at).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refused::tag(
            refusal_page(title, detail),
            "oauth_replayed",
            key.split(':').next().unwrap_or_default().to_string(),
        )),
        Err(e) => Err(OAuthError::server(e).into_response()),
    }
}
