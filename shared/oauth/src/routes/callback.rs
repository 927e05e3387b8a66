//! `GET /oauth/callback`: Gitea's answer to our upstream authorization; the user behind it,
//! the sealed Gitea tokens, and our authorization code back to the client.

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
    #[serde(default)]
    pub(super) code: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) error: Option<String>,
}

pub(super) async fn callback(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    match callback_steps(&state, &headers, &q).await {
        Ok(r) | Err(r) => r,
    }
}

/// The callback as named steps; each refusal is the page or redirect to answer with.
async fn callback_steps(
    state: &OAuthState,
    headers: &HeaderMap,
    q: &CallbackQuery,
) -> Result<Response, Response> {
    let server = server(state).map_err(|_| oauth_off_page())?;
    let upstream = verified_upstream(state, server, q).await?;
    let issuer = base_url(&state.edge.config, headers);
    let p = &upstream.p;
    // From here on the client is known: refusals go back to its redirect URI.
    let back = |error: &str, description: &str| {
        client_error(
            &p.redirect_uri,
            p.state.as_deref(),
            &issuer,
            error,
            description,
        )
    };
    if let Some(err) = q.error.as_deref() {
        return Err(back(
            "access_denied",
            &format!("gitea: {}", err.escape_default()),
        ));
    }
    let code = q
        .code
        .as_deref()
        .ok_or_else(|| back("server_error", "gitea returned no code"))?;
    let tokens = gitea_tokens(server, &issuer, &upstream, code)
        .await
        .map_err(|(error, description)| back(error, description))?;
    let user = state
        .gitea
        .current_user(&Credential::Token(Secret::new(tokens.access_token.clone())))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "oauth_token_lacks_api_scope");
            back("server_error", "gitea's token could not read the user")
        })?;
    let code_ours = store_grant(state, server, p, &user, &tokens)
        .await
        .map_err(IntoResponse::into_response)?;
    tracing::info!(login = %user.login, client_id = %p.client_id, "oauth authorization granted");
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("code", &code_ours)
        .append_pair("iss", &issuer);
    if let Some(s) = &p.state {
        query.append_pair("state", s);
    }
    Ok(Redirect::to(&append_query(&p.redirect_uri, &query.finish())).into_response())
}

/// Our signed upstream state: authentic, not expired, and used once.
async fn verified_upstream(
    state: &OAuthState,
    server: &OAuthServer,
    q: &CallbackQuery,
) -> Result<Upstream, Response> {
    let upstream = q
        .state
        .as_deref()
        .and_then(|s| server.keys.verify::<Upstream>(s).ok())
        .ok_or_else(|| {
            Refused::tag(
                refusal_page(
                    "Invalid state",
                    "The sign-in response was altered or is not from this server.",
                ),
                "oauth_state_invalid",
                "callback state missing, altered or not ours",
            )
        })?;
    if upstream.exp < now_secs() {
        return Err(Refused::tag(
            refusal_page(
                "Expired",
                "The sign-in took too long. Start again from your application.",
            ),
            "oauth_state_expired",
            "callback state expired",
        ));
    }
    use_once(
        state,
        &format!("upstream:{}", upstream.n),
        upstream.exp,
        ("Already used", "This sign-in response was already used."),
    )
    .await?;
    Ok(upstream)
}

/// Gitea's code exchanged (with our PKCE verifier) for Gitea's tokens, which must allow
/// writes when the client asked for `write:repository`. A refusal is the OAuth error and
/// description to send the client.
async fn gitea_tokens(
    server: &OAuthServer,
    issuer: &str,
    upstream: &Upstream,
    code: &str,
) -> Result<GiteaTokens, (&'static str, &'static str)> {
    let p = &upstream.p;
    let verifier = server.keys.upstream_verifier(&upstream.n);
    let callback = format!("{issuer}/oauth/callback");
    let tokens = server
        .exchange_code(code, &callback, &verifier)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "gitea code exchange failed");
            ("server_error", "gitea refused the sign-in")
        })?;
    // Gitea reuses an existing grant of our client with the scope it was first given: a
    // user who once connected read-only gets read-only Gitea tokens when a client later asks
    // for writes. Say so, instead of issuing a `write:repository` token whose writes Gitea
    // would refuse. (Unknown scope: go on; Gitea still enforces its own.)
    if p.scope.split(' ').any(|s| s == SCOPE_WRITE) {
        if let Some(granted) = server.granted_scope(&tokens.access_token).await {
            if !crate::upstream::gitea_scope_allows_writes(&granted) {
                tracing::warn!(granted = %granted, client_id = %p.client_id, "gitea grant lacks write scopes");
                return Err((
                    "invalid_scope",
                    "gitea kept an earlier read-only authorization of this gateway; revoke it in gitea \
                     (settings, applications, authorized oauth2 applications) and connect again",
                ));
            }
        }
    }
    Ok(tokens)
}

/// The grant (with Gitea's tokens sealed) and our single-use authorization code for it,
/// stored; returns the code to hand the client.
async fn store_grant(
    state: &OAuthState,
    server: &OAuthServer,
    p: &Pending,
    user: &aegis_gitea::User,
    tokens: &GiteaTokens,
) -> Result<String, OAuthError> {
    let sealed = seal_tokens(server, tokens)?;
    let (Ok(grant_id), Ok(code_ours)) = (random_token(18), random_token(32)) else {
        return Err(OAuthError::server("randomness"));
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
    let grants = &state.edge.storage.grants;
    grants
        .create_grant(grant)
        .await
        .map_err(OAuthError::server)?;
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
    grants
        .put_code(&sha256_hex(&code_ours), auth_code)
        .await
        .map_err(OAuthError::server)?;
    Ok(code_ours)
}

pub(super) fn seal_tokens(
    server: &OAuthServer,
    tokens: &GiteaTokens,
) -> Result<String, OAuthError> {
    let json = serde_json::to_vec(tokens).map_err(OAuthError::server)?;
    server.keys.seal(&json).map_err(OAuthError::server)
}
