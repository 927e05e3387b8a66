//! `POST /register`: dynamic client registration (RFC 7591), bounded and rate limited.

use super::*;

/// Largest registration request read, in bytes: real metadata is a few hundred.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// Longest `client_name`, in characters (after invisible characters are removed).
pub const MAX_CLIENT_NAME_CHARS: usize = 100;
/// Most `redirect_uris` per client.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest redirect URI, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

#[derive(Debug, Deserialize)]
pub(super) struct RegistrationRequest {
    #[serde(default)]
    pub(super) redirect_uris: Vec<String>,
    #[serde(default)]
    pub(super) client_name: Option<String>,
    #[serde(default)]
    pub(super) grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub(super) response_types: Option<Vec<String>>,
    #[serde(default)]
    pub(super) token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub(super) scope: Option<String>,
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

pub(super) async fn register(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let server = server(&state)?;
    if !server.dcr_enabled {
        return Err(OAuthError::registration_disabled());
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
    let limit = state.edge.config.dcr.max_clients_per_hour;
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
    Ok(created(body))
}
