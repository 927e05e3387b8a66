//! `POST /oauth/token`: the authorization-code and refresh-token grants.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct TokenRequest {
    #[serde(default)]
    pub(super) grant_type: String,
    #[serde(default)]
    pub(super) code: Option<String>,
    #[serde(default)]
    pub(super) redirect_uri: Option<String>,
    #[serde(default)]
    pub(super) code_verifier: Option<String>,
    #[serde(default)]
    pub(super) refresh_token: Option<String>,
    #[serde(default)]
    pub(super) client_id: Option<String>,
    #[serde(default)]
    pub(super) client_secret: Option<String>,
    #[serde(default)]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) resource: Option<String>,
    // revocation
    #[serde(default)]
    pub(super) token: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) token_type_hint: Option<String>,
}

/// Client authentication: HTTP Basic or body credentials (they must agree), or a public
/// client's bare `client_id`.
pub(super) async fn authenticate_client(
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
            .ok_or_else(|| OAuthError::invalid_client("malformed basic credentials"))?;
        let (u, p) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        let u = percent_encoding::percent_decode_str(u)
            .decode_utf8_lossy()
            .into_owned();
        let p = percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned();
        if id.as_deref().is_some_and(|i| i != u) {
            return Err(OAuthError::invalid_client(
                "client ids in the header and body differ",
            ));
        }
        id = Some(u);
        secret = Some(p);
    }
    let id = id.ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
    let client = lookup_client(state, server, &id)
        .await?
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    if let Some(hash) = &client.secret_hash {
        let ok = secret
            .as_deref()
            .is_some_and(|s| same(&sha256_hex(s), hash));
        if !ok {
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
    }
    Ok(client)
}

#[derive(Serialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    pub(super) token_type: &'static str,
    pub(super) expires_in: u64,
    pub(super) refresh_token: String,
    pub(super) scope: String,
}

pub(super) fn issue_pair(
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

pub(super) fn token_response(access: String, refresh: String, scope: String) -> Response {
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

pub(super) async fn token(
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
            authorization_code_grant(&server, &client, &issuer, grants, &req).await
        }
        "refresh_token" => refresh_token_grant(&server, &client, &issuer, grants, &req).await,
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

/// `grant_type=authorization_code`: the code is checked against its stored request before it
/// is used up, used up once (a replay revokes the grant it issued), and exchanged for the
/// grant's first token pair.
async fn authorization_code_grant(
    server: &OAuthServer,
    client: &Client,
    issuer: &str,
    grants: &Arc<dyn aegis_storage::GrantStore>,
    req: &TokenRequest,
) -> Result<Response, OAuthError> {
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
    let scope = check_code_request(req, client, &stored)?;
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
            )
            .event("oauth_code_replayed"));
        }
        Redemption::Missing => {
            return Err(OAuthError::bad(
                "invalid_grant",
                "unknown authorization code",
            ))
        }
    };
    // The same code as peeked at, now used up: checked again, in case it changed.
    check_code_request(req, client, &code)?;
    let grant = grants
        .get_grant(&code.grant_id)
        .await
        .map_err(OAuthError::server)?
        .filter(|g| !g.revoked)
        .ok_or_else(|| OAuthError::bad("invalid_grant", "the grant was revoked"))?;
    let (access, refresh) = issue_pair(server, issuer, &grant, &scope)?;
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

/// `grant_type=refresh_token`: the presented token must be its family's current one
/// (rotation; a replay revokes the family, OAuth 2.1 section 4.3.1), of this client, and
/// the scope may only narrow.
async fn refresh_token_grant(
    server: &OAuthServer,
    client: &Client,
    issuer: &str,
    grants: &Arc<dyn aegis_storage::GrantStore>,
    req: &TokenRequest,
) -> Result<Response, OAuthError> {
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
            let asked =
                normalise_scope(Some(s)).map_err(|e| OAuthError::bad("invalid_scope", e))?;
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
    let (access, refresh) = issue_pair(server, issuer, &grant, &scope)?;
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
        )
        .event("oauth_refresh_token_reused"));
    }
    Ok(token_response(access, refresh, scope))
}

/// Checks an authorization-code request against its stored code: the client it was
/// issued to, its expiry, the exact `redirect_uri`, PKCE, the `resource` and the scope.
/// Returns the scope to issue: the granted one, or a narrower one the client asked for;
/// a wider one is `invalid_scope`.
pub(super) fn check_code_request(
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
        return Err(
            OAuthError::bad("invalid_grant", "PKCE verification failed").event("oauth_pkce_failed")
        );
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
