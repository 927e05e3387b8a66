//! Gitea's OAuth2/OIDC provider endpoints (`routers/web/auth/oauth2_provider.go`): discovery,
//! authorize (auto-login or a minimal login form instead of Gitea's session and consent pages),
//! token (authorization code with PKCE, refresh), JWKS, userinfo and introspection.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use serde_json::{json, Value};
use time::Duration;

use super::{json_response, LoggedUser};
use crate::auth;
use crate::oauth::{self, AuthCode, OAuthApp, OAuthState, TokenClaims};
use crate::state::SimState;

/// Gitea's session cookie name; the simulator keeps its own sessions behind it.
const SESSION_COOKIE: &str = "i_like_gitea";

/// Query string and (form or JSON) body parameters, body winning.
fn params(uri: &Uri, headers: &HeaderMap, body: &Bytes) -> HashMap<String, String> {
    let mut out: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if json {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                out.insert(k, v);
            }
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(body) {
            out.insert(k.into_owned(), v.into_owned());
        }
    }
    out
}

fn get<'a>(p: &'a HashMap<String, String>, key: &str) -> &'a str {
    p.get(key).map_or("", String::as_str)
}

fn json_status(status: StatusCode, value: &Value) -> Response {
    json_response(status, value)
}

fn logged(mut response: Response, login: Option<String>) -> Response {
    if let Some(login) = login {
        response.extensions_mut().insert(LoggedUser(login));
    }
    response
}

/// `GET /.well-known/openid-configuration` (`templates/user/auth/oidc_wellknown.tmpl`).
pub async fn well_known(State(state): State<SimState>) -> Response {
    let base = state.base_url();
    json_status(
        StatusCode::OK,
        &json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/login/oauth/authorize"),
            "token_endpoint": format!("{base}/login/oauth/access_token"),
            "jwks_uri": format!("{base}/login/oauth/keys"),
            "userinfo_endpoint": format!("{base}/login/oauth/userinfo"),
            "introspection_endpoint": format!("{base}/login/oauth/introspect"),
            "response_types_supported": ["code", "id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "claims_supported": ["aud", "exp", "iat", "iss", "sub", "name", "preferred_username",
                "profile", "picture", "website", "locale", "updated_at", "nonce", "groups"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        }),
    )
}

/// `GET /login/oauth/keys`.
pub async fn keys() -> Response {
    match oauth::signing_key() {
        Ok(key) => json_status(StatusCode::OK, &json!({"keys": [key.jwk()]})),
        Err(e) => server_error(&e),
    }
}

fn server_error(detail: &str) -> Response {
    tracing::error!(%detail, "oauth provider error");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html("<h1>500 Internal Server Error</h1>"),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Gitea's `tplGrantError` page (400): an authorize error that cannot go back to the client.
fn error_page(code: &str, description: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><title>Authorization failed</title></head><body>\
         <h1>Authorization failed</h1><p>{}</p><p><code>{}</code></p></body></html>",
        html_escape(description),
        html_escape(code)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `handleAuthorizeError` with a redirect URI: `error`, `error_description` and `state` are set
/// on the client's URI (Go's `url.Values.Encode`, sorted).
fn error_redirect(redirect_uri: &str, code: &str, description: &str, state: &str) -> Response {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("error", code),
        ("error_description", description),
        ("state", state),
    ];
    with_query(redirect_uri, &mut pairs)
}

fn with_query(redirect_uri: &str, extra: &mut Vec<(&str, &str)>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page("invalid_request", "invalid redirect URI");
    };
    let mut all: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    all.extend(extra.drain(..).map(|(k, v)| (k.to_string(), v.to_string())));
    all.sort();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .finish();
    url.set_query(Some(&query));
    see_other(url.as_str())
}

/// The minimal sign-in page that stands in for Gitea's `/user/login` + consent.
fn login_page(state: &SimState, p: &HashMap<String, String>, error: Option<&str>) -> Response {
    let app_name = state
        .oauth()
        .app_by_client_id(get(p, "client_id"))
        .map_or_else(|| get(p, "client_id").to_string(), |a| a.name.clone());
    let mut hidden = String::new();
    let mut keys: Vec<&String> = p
        .keys()
        .filter(|k| *k != "user_name" && *k != "password")
        .collect();
    keys.sort();
    for k in keys {
        hidden.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            html_escape(k),
            html_escape(get(p, k))
        ));
    }
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\">{}</p>", html_escape(e))
    });
    let body = format!(
        "<!DOCTYPE html><html><head><title>Sign In - gitea-sim</title></head><body>\
         <h1>Sign in to authorize {}</h1>{error}\
         <form method=\"post\" action=\"/login/oauth/authorize\">{hidden}\
         <label>Username <input name=\"user_name\" autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\"></label>\
         <button type=\"submit\">Sign in and authorize</button></form></body></html>",
        html_escape(&app_name)
    );
    (StatusCode::OK, Html(body)).into_response()
}

fn session_user(state: &SimState, headers: &HeaderMap) -> Option<i64> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == SESSION_COOKIE).then(|| v.to_string())
    })?;
    state.oauth().sessions.get(&value).copied()
}

/// `GET|POST /login/oauth/authorize`.
pub async fn authorize(
    State(state): State<SimState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(&uri, &headers, &body);
    // who is signed in: a session, a login form submission, or the auto-login user
    let mut new_session = None;
    let user = {
        let world = state.world();
        let from_session = session_user(&state, &headers).and_then(|id| world.user(id));
        let submitted = p.contains_key("user_name");
        if let Some(u) = from_session.filter(|_| !submitted) {
            Some(u.clone())
        } else if submitted {
            match world.user_by_login(get(&p, "user_name")) {
                Some(u) if u.password.as_deref() == Some(get(&p, "password")) => {
                    let sid = oauth::random_token(24);
                    state.oauth().sessions.insert(sid.clone(), u.id);
                    new_session = Some(sid);
                    Some(u.clone())
                }
                _ => return login_page(&state, &p, Some("Username or password is incorrect.")),
            }
        } else {
            let auto = state.oauth().auto_login.clone();
            match auto.and_then(|login| world.user_by_login(&login).cloned()) {
                Some(u) => Some(u),
                None => return login_page(&state, &p, None),
            }
        }
    };
    let Some(user) = user else {
        return login_page(&state, &p, None);
    };
    let mut response = authorize_as(&state, &p, user.id);
    if let Some(sid) = new_session {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"
        )) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    logged(response, Some(user.login))
}

/// `AuthorizeOAuth` for a signed-in user; consent is implied (the simulator has no consent page).
fn authorize_as(state: &SimState, p: &HashMap<String, String>, user: i64) -> Response {
    let (client_id, redirect_uri, response_type) = (
        get(p, "client_id"),
        get(p, "redirect_uri"),
        get(p, "response_type"),
    );
    let st = get(p, "state");
    if client_id.is_empty() || redirect_uri.is_empty() || response_type.is_empty() {
        return server_error("AuthorizeOAuth: Validate: errors occurred during validation");
    }
    let mut oauth = state.oauth();
    let Some(app) = oauth.app_by_client_id(client_id).cloned() else {
        return error_page("unauthorized_client", "Client ID not registered");
    };
    if !app.contains_redirect_uri(redirect_uri) {
        return error_page("invalid_request", "Unregistered Redirect URI");
    }
    if response_type != "code" {
        return error_redirect(
            redirect_uri,
            "unsupported_response_type",
            "Only code response type is supported.",
            st,
        );
    }
    let method = get(p, "code_challenge_method");
    match method {
        "S256" | "plain" => {}
        "" if !app.confidential => {
            return error_redirect(
                redirect_uri,
                "invalid_request",
                "PKCE is required for public clients",
                st,
            )
        }
        "" => {}
        _ => {
            return error_redirect(
                redirect_uri,
                "invalid_request",
                "unsupported code challenge method",
                st,
            )
        }
    }
    let scope = get(p, "scope");
    let nonce = get(p, "nonce");
    let existing = oauth
        .grants
        .iter()
        .find(|g| g.app_id == app.id && g.user == user)
        .cloned();
    let grant_id = match existing {
        // confidential clients skip the consent page and keep the granted scope
        Some(g) if app.confidential => {
            if !nonce.is_empty() {
                if let Some(g) = oauth.grants.iter_mut().find(|x| x.id == g.id) {
                    g.nonce = nonce.to_string();
                }
            }
            g.id
        }
        Some(g) if g.scope != scope => {
            return error_redirect(
                redirect_uri,
                "server_error",
                "a grant exists with different scope",
                st,
            )
        }
        _ => oauth.grant_for(app.id, user, scope, nonce),
    };
    let code = oauth::random_token(32);
    let valid_until = oauth.now() + Duration::minutes(10);
    oauth.codes.insert(
        code.clone(),
        AuthCode {
            grant_id,
            redirect_uri: redirect_uri.to_string(),
            code_challenge: get(p, "code_challenge").to_string(),
            code_challenge_method: method.to_string(),
            valid_until,
        },
    );
    let mut pairs: Vec<(&str, &str)> = vec![("code", &code)];
    if !st.is_empty() {
        pairs.push(("state", st));
    }
    with_query(redirect_uri, &mut pairs)
}

/// An RFC 6749 token endpoint error (`AccessTokenError`).
struct TokenError {
    code: &'static str,
    description: &'static str,
}

fn err(code: &'static str, description: &'static str) -> TokenError {
    TokenError { code, description }
}

fn token_error(code: &str, description: &str) -> Response {
    json_status(
        StatusCode::BAD_REQUEST,
        &json!({"error": code, "error_description": description}),
    )
}

fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, data) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok());
    Some(match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((id, secret)) => Ok((id.to_string(), secret.to_string())),
        None => Err(()),
    })
}

/// `POST /login/oauth/access_token` (form or JSON; client credentials in the body or HTTP Basic).
pub async fn access_token(
    State(state): State<SimState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(&uri, &headers, &body);
    let mut client_id = get(&p, "client_id").to_string();
    let mut client_secret = get(&p, "client_secret").to_string();
    if client_id.is_empty() || client_secret.is_empty() {
        match basic_credentials(&headers) {
            Some(Err(())) => {
                return token_error("invalid_request", "cannot parse basic auth header")
            }
            Some(Ok((id, secret))) => {
                if !client_id.is_empty() && client_id != id {
                    return token_error(
                        "invalid_request",
                        "client_id in request body inconsistent with Authorization header",
                    );
                }
                if !client_secret.is_empty() && client_secret != secret {
                    return token_error(
                        "invalid_request",
                        "client_secret in request body inconsistent with Authorization header",
                    );
                }
                client_id = id;
                client_secret = secret;
            }
            None => {}
        }
    }
    let world = state.world();
    let mut oauth = state.oauth();
    let grant_type = get(&p, "grant_type");
    let (app, grant_id) = match grant_type {
        "authorization_code" | "refresh_token" => {
            let Some(app) = oauth.app_by_client_id(&client_id).cloned() else {
                let quoted = if grant_type == "refresh_token" {
                    format!("\"{client_id}\"")
                } else {
                    format!("'{client_id}'")
                };
                return token_error(
                    "invalid_client",
                    &format!("cannot load client with client id: {quoted}"),
                );
            };
            if app.confidential && !app.validate_secret(&client_secret) {
                let description = if client_secret.is_empty() {
                    "invalid empty client secret"
                } else {
                    "invalid client secret"
                };
                let code = if grant_type == "refresh_token" {
                    "invalid_client"
                } else {
                    "unauthorized_client"
                };
                return token_error(code, description);
            }
            let grant = if grant_type == "authorization_code" {
                redeem_code(&mut oauth, &app, &p)
            } else {
                check_refresh(&oauth, &p)
            };
            match grant {
                Ok(id) => (app, id),
                Err(e) => return token_error(e.code, e.description),
            }
        }
        _ => {
            return token_error(
                "unsupported_grant_type",
                "Only refresh_token or authorization_code grant type is supported",
            )
        }
    };
    let login = oauth
        .grant(grant_id)
        .and_then(|g| world.user(g.user))
        .map(|u| u.login.clone());
    let response = match token_response(&state, &world, &mut oauth, &app, grant_id) {
        Ok(v) => json_status(StatusCode::OK, &v),
        Err(e) => token_error("server_error", &e),
    };
    logged(response, login)
}

fn redeem_code(
    oauth: &mut OAuthState,
    app: &OAuthApp,
    p: &HashMap<String, String>,
) -> Result<i64, TokenError> {
    let redirect_uri = get(p, "redirect_uri");
    if !redirect_uri.is_empty() && !app.contains_redirect_uri(redirect_uri) {
        return Err(err("unauthorized_client", "unexpected redirect URI"));
    }
    let now = oauth.now();
    let code = oauth
        .codes
        .get(get(p, "code"))
        .filter(|c| c.valid_until > now)
        .cloned()
        .ok_or_else(|| err("unauthorized_client", "client is not authorized"))?;
    if !code.validate_verifier(get(p, "code_verifier")) {
        return Err(err("unauthorized_client", "failed PKCE code challenge"));
    }
    if oauth
        .grant(code.grant_id)
        .is_none_or(|g| g.app_id != app.id)
    {
        return Err(err("invalid_grant", "invalid grant"));
    }
    // single use
    oauth.codes.remove(get(p, "code"));
    let _ = code.redirect_uri;
    Ok(code.grant_id)
}

fn check_refresh(oauth: &OAuthState, p: &HashMap<String, String>) -> Result<i64, TokenError> {
    let unparsable = || err("unauthorized_client", "unable to parse refresh token");
    let key = oauth::signing_key().map_err(|_| unparsable())?;
    let claims = key.verify(get(p, "refresh_token")).ok_or_else(unparsable)?;
    if claims.tt != oauth::REFRESH_TOKEN || claims.exp <= oauth.now().unix_timestamp() {
        return Err(unparsable());
    }
    let grant = oauth
        .grant(claims.gnt)
        .ok_or_else(|| err("invalid_grant", "grant does not exist"))?;
    let cnt = claims.cnt.unwrap_or(0);
    if oauth.settings.invalidate_refresh_tokens && (grant.counter != cnt || cnt == 0) {
        return Err(err("unauthorized_client", "token was already used"));
    }
    Ok(grant.id)
}

/// `NewAccessTokenResponse`: a fresh access token, a fresh refresh token and, with `openid`, an
/// id_token; no `scope` field.
fn token_response(
    state: &SimState,
    world: &crate::model::World,
    oauth: &mut OAuthState,
    app: &OAuthApp,
    grant_id: i64,
) -> Result<Value, String> {
    let key = oauth::signing_key()?;
    let invalidate = oauth.settings.invalidate_refresh_tokens;
    let grant = oauth
        .grants
        .iter_mut()
        .find(|g| g.id == grant_id)
        .ok_or("grant vanished")?;
    if invalidate {
        grant.counter += 1;
    }
    let grant = grant.clone();
    let now = oauth.now();
    let ttl = oauth.settings.access_token_ttl;
    let exp = (now + ttl).unix_timestamp();
    let access = key.sign(&TokenClaims {
        gnt: grant.id,
        tt: oauth::ACCESS_TOKEN,
        cnt: None,
        exp,
        iat: now.unix_timestamp(),
    })?;
    let refresh = key.sign(&TokenClaims {
        gnt: grant.id,
        tt: oauth::REFRESH_TOKEN,
        cnt: Some(grant.counter),
        exp: (now + oauth.settings.refresh_token_ttl).unix_timestamp(),
        iat: now.unix_timestamp(),
    })?;
    let mut out = json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ttl.whole_seconds(),
        "refresh_token": refresh,
    });
    if grant.scope_contains("openid") {
        let user = world.user(grant.user).ok_or("grant user vanished")?;
        let base = state.base_url();
        let mut id = json!({
            "iss": base,
            "sub": user.id.to_string(),
            "aud": [app.client_id],
            "exp": exp,
            "iat": now.unix_timestamp(),
        });
        if !grant.nonce.is_empty() {
            id["nonce"] = json!(grant.nonce);
        }
        if grant.scope_contains("profile") {
            id["name"] = json!(display_name(user));
            id["preferred_username"] = json!(user.login);
            id["profile"] = json!(format!("{base}/{}", user.login));
            id["picture"] = json!(avatar(world, base, user));
            if !user.website.is_empty() {
                id["website"] = json!(user.website);
            }
            id["locale"] = json!("en-US");
            id["updated_at"] = json!(user.created.unix_timestamp());
        }
        if grant.scope_contains("email") {
            id["email"] = json!(user.email);
            id["email_verified"] = json!(true);
        }
        if grant.scope_contains("groups") {
            id["groups"] = json!(groups(world, user.id));
        }
        out["id_token"] = json!(key.sign(&id)?);
    }
    Ok(out)
}

fn display_name(user: &crate::model::User) -> String {
    if user.full_name.trim().is_empty() {
        user.login.clone()
    } else {
        user.full_name.clone()
    }
}

fn avatar(world: &crate::model::World, base: &str, user: &crate::model::User) -> String {
    let view = crate::render::View {
        world,
        base,
        doer: None,
    };
    crate::render::user::user(&view, user)["avatar_url"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// `GetOAuthGroupsForUser`: the organizations the user belongs to (the simulator has no teams).
fn groups(world: &crate::model::World, user: i64) -> Vec<String> {
    world.orgs_of(user).iter().map(|o| o.name.clone()).collect()
}

fn unauthorized(realm_scheme: &str) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "no valid authorization").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{realm_scheme} realm=\"\"")) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET|POST /login/oauth/userinfo`: only an OAuth access token (Bearer) authenticates.
pub async fn userinfo(State(state): State<SimState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")
        })
        .map(|(_, t)| t.trim().to_string());
    let found = token.and_then(|t| {
        let world = state.world();
        let oauth = state.oauth();
        let doer = auth::by_oauth_token(&world, &oauth, &t)?;
        let user = world.user(doer.user?)?.clone();
        let picture = avatar(&world, state.base_url(), &user);
        let groups = groups(&world, doer_user_id(&doer));
        Some((doer, user, groups, picture))
    });
    let Some((doer, user, groups, picture)) = found else {
        return unauthorized("Bearer");
    };
    if !doer
        .scopes
        .as_ref()
        .is_some_and(|s| s.allows(crate::model::ScopeCategory::User, false))
    {
        return logged(
            (
                StatusCode::FORBIDDEN,
                "token does not have the required scope read:user",
            )
                .into_response(),
            Some(user.login),
        );
    }
    let body = json!({
        "sub": user.id.to_string(),
        "name": display_name(&user),
        "preferred_username": user.login,
        "email": user.email,
        "picture": picture,
        "groups": groups,
    });
    logged(json_status(StatusCode::OK, &body), Some(user.login))
}

fn doer_user_id(doer: &auth::Doer) -> i64 {
    doer.user.unwrap_or(0)
}

/// `POST /login/oauth/introspect`: client Basic auth; `{"active": false}` for an unknown, expired
/// or foreign token.
pub async fn introspect(
    State(state): State<SimState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(&uri, &headers, &body);
    let world = state.world();
    let oauth = state.oauth();
    let app = match basic_credentials(&headers) {
        Some(Ok((id, secret))) => oauth
            .app_by_client_id(&id)
            .filter(|a| a.validate_secret(&secret))
            .cloned(),
        _ => None,
    };
    let Some(app) = app else {
        return unauthorized("Basic");
    };
    let now = oauth.now().unix_timestamp();
    let active = oauth::signing_key()
        .ok()
        .and_then(|k| k.verify(get(&p, "token")))
        .filter(|c| c.exp > now)
        .and_then(|c| oauth.grant(c.gnt).cloned())
        .filter(|g| g.app_id == app.id);
    let body = match active {
        Some(g) => json!({
            "active": true,
            "scope": g.scope,
            "username": world.user(g.user).map(|u| u.login.clone()),
            "iss": state.base_url(),
            "sub": g.user.to_string(),
            "aud": [app.client_id],
        }),
        None => json!({"active": false}),
    };
    json_status(StatusCode::OK, &body)
}
