//! `GET /oauth/authorize` (the consent page) and `POST /oauth/authorize` (the decision):
//! the client's request is checked, the user consents, and we send them on to Gitea.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct AuthorizeQuery {
    #[serde(default)]
    pub(super) response_type: Option<String>,
    #[serde(default)]
    pub(super) client_id: Option<String>,
    #[serde(default)]
    pub(super) redirect_uri: Option<String>,
    #[serde(default)]
    pub(super) code_challenge: Option<String>,
    #[serde(default)]
    pub(super) code_challenge_method: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) resource: Option<String>,
}

/// Everything about an authorization request, signed into the consent form and then into
/// the upstream state, so no server-side session is needed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Pending {
    pub(super) client_id: String,
    pub(super) client_name: String,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: String,
    pub(super) scope: String,
    pub(super) resource: String,
    pub(super) state: Option<String>,
    pub(super) nonce: String,
    pub(super) exp: u64,
}

/// What travels through Gitea and back in `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Upstream {
    pub(super) p: Pending,
    pub(super) n: String,
    pub(super) exp: u64,
}

pub(super) const CSRF_COOKIE: &str = "aegis_csrf";
/// The consent cookie's name over https: a `__Host-` cookie is `Secure`, host-only and
/// for `Path=/`, so a sibling subdomain or a plain-http response cannot plant one.
pub(super) const CSRF_COOKIE_HOST: &str = "__Host-aegis_csrf";

/// The consent cookie's name for pages served from `issuer`.
pub(super) fn csrf_cookie_name(issuer: &str) -> &'static str {
    if issuer.starts_with("https://") {
        CSRF_COOKIE_HOST
    } else {
        CSRF_COOKIE
    }
}

/// The `Set-Cookie` value of a new consent cookie.
pub(super) fn csrf_set_cookie(issuer: &str, value: &str) -> String {
    if issuer.starts_with("https://") {
        format!("{CSRF_COOKIE_HOST}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={FLOW_TTL}")
    } else {
        format!("{CSRF_COOKIE}={value}; Path=/oauth; HttpOnly; SameSite=Strict; Max-Age={FLOW_TTL}")
    }
}

pub(super) async fn authorize(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    match authorize_steps(&state, &headers, &q).await {
        Ok(r) | Err(r) => r,
    }
}

/// The authorization request as named steps: the client and its exact redirect URI, then
/// the request checked (`check_request`), then the consent page for it.
async fn authorize_steps(
    state: &OAuthState,
    headers: &HeaderMap,
    q: &AuthorizeQuery,
) -> Result<Response, Response> {
    let server = server(state).map_err(|_| oauth_off_page())?;
    let issuer = base_url(&state.edge.config, headers);
    let client_id = q.client_id.clone().unwrap_or_default();
    let client = lookup_client(state, server, &client_id)
        .await
        .map_err(IntoResponse::into_response)?
        .ok_or_else(|| {
            refusal_page(
                "Unknown application",
                "The client_id is not registered with this server.",
            )
        })?;
    // Exact string match against the registered URIs: no prefix, no normalisation.
    let redirect_uri = q.redirect_uri.clone().unwrap_or_default();
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(refusal_page(
            "Invalid redirect",
            "The redirect_uri does not exactly match one registered for this application.",
        ));
    }
    // From here on refusals go back to the client's redirect URI.
    let resource = resource_url(state, headers);
    let (challenge, scope) = check_request(q, &resource).map_err(|(error, description)| {
        client_error(
            &redirect_uri,
            q.state.as_deref(),
            &issuer,
            error,
            &description,
        )
    })?;
    let nonce = random_token(16).map_err(|_| OAuthError::server("randomness").into_response())?;
    let pending = Pending {
        client_id: client.id,
        client_name: client.name,
        redirect_uri: redirect_uri.clone(),
        code_challenge: challenge,
        scope,
        resource,
        state: q.state.clone(),
        nonce,
        exp: now_secs() + FLOW_TTL,
    };
    consent_page(server, headers, &issuer, &pending).map_err(IntoResponse::into_response)
}

/// The OAuth parameters of an authorization request: `response_type=code`, a PKCE S256
/// challenge, this server's MCP endpoint as the resource (when named), a known scope.
/// Returns the challenge and the normalised scope, or the OAuth error and description.
fn check_request(
    q: &AuthorizeQuery,
    resource: &str,
) -> Result<(String, String), (&'static str, String)> {
    if q.response_type.as_deref() != Some("code") {
        return Err((
            "unsupported_response_type",
            "only `code` is supported".into(),
        ));
    }
    let challenge = q.code_challenge.clone().unwrap_or_default();
    if q.code_challenge_method.as_deref() != Some("S256") {
        return Err((
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required".into(),
        ));
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err((
            "invalid_request",
            "code_challenge must be a base64url SHA-256 (43 characters)".into(),
        ));
    }
    if let Some(r) = q.resource.as_deref() {
        if r.trim_end_matches('/') != resource {
            return Err((
                "invalid_target",
                "the resource is not this server's MCP endpoint".into(),
            ));
        }
    }
    let scope = normalise_scope(q.scope.as_deref()).map_err(|e| ("invalid_scope", e))?;
    Ok((challenge, scope))
}

/// The consent page for a checked request: the request signed into the form, with a CSRF
/// token bound to this browser's cookie (set when it has none), never framed.
fn consent_page(
    server: &OAuthServer,
    headers: &HeaderMap,
    issuer: &str,
    pending: &Pending,
) -> Result<Response, OAuthError> {
    let signed = server.keys.sign(pending);
    let (cookie, new_cookie) = match cookie_value(headers, csrf_cookie_name(issuer))
        .filter(|c| c.len() >= 22 && c.len() <= 64)
    {
        Some(c) => (c, false),
        None => (random_token(24).map_err(OAuthError::server)?, true),
    };
    let csrf = server.keys.csrf_token(&cookie, &signed);
    let host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let scopes: Vec<&str> = pending.scope.split(' ').collect();
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
        if let Ok(v) = HeaderValue::from_str(&csrf_set_cookie(issuer, &cookie)) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub(super) struct ConsentForm {
    #[serde(default)]
    pub(super) request: String,
    #[serde(default)]
    pub(super) csrf_token: String,
    #[serde(default)]
    pub(super) decision: String,
}

pub(super) async fn consent_decision(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(server) = server(&state) else {
        return oauth_off_page();
    };
    let Ok(bytes) = body else {
        return refusal_page("Invalid request", "The form could not be read.");
    };
    let Ok(form) = serde_urlencoded::from_bytes::<ConsentForm>(&bytes) else {
        return refusal_page("Invalid request", "The form could not be read.");
    };
    let issuer = base_url(&state.edge.config, &headers);
    let cookie = cookie_value(&headers, csrf_cookie_name(&issuer)).unwrap_or_default();
    if cookie.is_empty()
        || !server
            .keys
            .csrf_ok(&cookie, &form.request, &form.csrf_token)
    {
        return Refused::tag(
            forbidden_page( "Request refused", "The consent form was not submitted from this server's page (CSRF check failed). Start again from your application."),
            "oauth_csrf_failed",
            "consent form without a valid CSRF token",
        );
    }
    let pending: Pending = match server.keys.verify(&form.request) {
        Ok(p) => p,
        Err(_) => return refusal_page("Invalid request", "The authorization request was altered."),
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
