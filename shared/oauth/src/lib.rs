//! The OAuth 2.1 authorization server in front of Gitea (`OAUTH_MODE=true`).
//!
//! MCP clients talk to us: discovery metadata, registration (RFC 7591 and Client ID
//! Metadata Documents), our own consent page, PKCE S256, our own audience-bound access
//! tokens and rotating refresh tokens. Gitea is the identity provider behind us: after
//! consent we send the user to Gitea's `/login/oauth/authorize` with our one confidential
//! client, exchange its code on our callback, and keep the Gitea tokens server-side,
//! sealed. A client never sees a Gitea token and Gitea never sees a client's token.
//!
//! Everything a flow needs between requests is either signed into the request itself
//! (consent request, upstream state) or stored through `GrantStore` (codes, grants,
//! single-use markers), so any Lambda instance can serve any step.

pub mod authn;
pub mod cimd;
pub mod compat;
pub mod crypto;
mod pages;
pub mod routes;
pub mod tokens;
pub mod upstream;

use std::sync::Arc;

use aegis_core::config::Config;
pub use crypto::Keys;

/// Access tokens live this long (seconds): short, since they are bearer tokens.
pub const ACCESS_TOKEN_TTL: u64 = 900;
/// Refresh token families live this long (seconds), like Gitea's own 730 h default.
pub const REFRESH_TTL: u64 = 730 * 3600;
/// Our authorization codes live this long (seconds).
pub const CODE_TTL: u64 = 120;
/// A consent page or an upstream round trip must complete within this (seconds).
pub const FLOW_TTL: u64 = 600;

/// The authorization server's settings and keys, built once.
#[derive(Debug, Clone)]
pub struct OAuthServer {
    pub keys: Keys,
    pub client_id: String,
    pub client_secret: aegis_core::config::Secret,
    /// `<GITEA_URL>` without a trailing slash: Gitea's web routes live under it
    pub gitea_web: String,
    pub redirect_allowlist: Vec<String>,
    pub dcr_enabled: bool,
    pub extra_audience: Option<String>,
    pub http: reqwest::Client,
    pub cimd: Arc<cimd::CimdFetcher>,
    /// Compatibility mode: Gitea tokens presented directly (off unless configured)
    pub compat: Option<Arc<compat::GiteaTokenCheck>>,
    /// Decrypted Gitea tokens of recently used grants (see `authn`)
    pub grant_cache: Arc<authn::GrantCache>,
}

/// Why the OAuth server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OAuthSetupError {
    #[error("`{0}` is required when OAUTH_MODE=true")]
    Missing(&'static str),
    #[error("http client: {0}")]
    Http(String),
}

impl From<OAuthSetupError> for aegis_edge::StateError {
    fn from(e: OAuthSetupError) -> Self {
        aegis_edge::StateError::OAuth(Box::new(e))
    }
}

/// How a function authenticates its clients: the OAuth server when it runs one, and the
/// authenticator.
pub type ClientAuth = (
    Option<Arc<OAuthServer>>,
    Arc<dyn aegis_edge::auth::Authenticator>,
);

/// The OAuth server of a function that authenticates clients in OAuth mode (`None`
/// otherwise: the webhook and jobs functions are given no OAuth secrets, `FunctionRole`),
/// and the authenticator that goes with it: OAuth tokens, else the API keys or the service
/// token (`edge::key_authenticator`).
pub fn authenticator(
    config: &Arc<Config>,
    storage: &aegis_storage::Storage,
) -> Result<ClientAuth, OAuthSetupError> {
    if !(config.oauth.mode && config.function.authenticates_clients(true)) {
        return Ok((None, aegis_edge::key_authenticator(config)));
    }
    let server = Arc::new(OAuthServer::from_config(config)?);
    let authn = authn::OAuthAuthenticator::new(
        Arc::clone(&server),
        Arc::clone(&storage.grants),
        Arc::clone(config),
    );
    Ok((Some(server), Arc::new(authn)))
}

/// [`aegis_edge::open`] for a function that authenticates its clients with
/// [`authenticator`] (the MCP, OAuth and jobs functions), then the start-up check of our
/// OAuth2 client when the OAuth server runs here. `extra` is the OAuth server.
pub async fn open(
    config: Config,
) -> Result<aegis_edge::Opened<Option<Arc<OAuthServer>>>, aegis_edge::runtime::StartError> {
    let opened = aegis_edge::open(config, |config, storage| {
        authenticator(config, storage).map_err(aegis_edge::StateError::from)
    })
    .await?;
    check_at_startup(&opened.edge.config, opened.extra.as_deref()).await?;
    Ok(opened)
}

/// The start-up check of our OAuth2 client at Gitea (`STARTUP_VALIDATE_GITEA`), when this
/// function runs the OAuth server.
pub async fn check_at_startup(
    config: &Config,
    server: Option<&OAuthServer>,
) -> Result<(), aegis_gitea::StartupCheckError> {
    match server {
        Some(server) if config.startup_validate_gitea => server.check_client().await,
        _ => Ok(()),
    }
}

impl OAuthServer {
    pub fn from_config(config: &Config) -> Result<Self, OAuthSetupError> {
        let secret = config
            .oauth
            .state_secret
            .as_ref()
            .ok_or(OAuthSetupError::Missing("OAUTH_STATE_SECRET"))?;
        let client_id = config
            .oauth
            .client_id
            .clone()
            .ok_or(OAuthSetupError::Missing("GITEA_OAUTH_CLIENT_ID"))?;
        let client_secret = config
            .oauth
            .client_secret
            .clone()
            .ok_or(OAuthSetupError::Missing("GITEA_OAUTH_CLIENT_SECRET"))?;
        let http = aegis_http::client_builder()
            .map_err(|e| OAuthSetupError::Http(e.to_string()))?
            .timeout(std::time::Duration::from_secs(
                config.limits.request_timeout_seconds,
            ))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OAuthSetupError::Http(e.to_string()))?;
        Ok(Self {
            keys: Keys::derive_with_previous(secret, config.oauth.state_secret_previous.as_ref()),
            client_id,
            client_secret,
            gitea_web: config.gitea_url.as_str().trim_end_matches('/').to_string(),
            redirect_allowlist: config.oauth.redirect_allowlist.clone(),
            dcr_enabled: config.dcr.enabled,
            extra_audience: config.oauth.expected_audience.clone(),
            compat: config.oauth.accept_gitea_tokens.then(|| {
                Arc::new(compat::GiteaTokenCheck::new(
                    config.gitea_url.as_str().trim_end_matches('/'),
                    config.oauth.cache_ttl_seconds,
                    http.clone(),
                ))
            }),
            http,
            cimd: Arc::new(cimd::CimdFetcher::new(config.oauth.cache_ttl_seconds)),
            grant_cache: Arc::default(),
        })
    }
}

/// Our scopes, as the Gitea scopes the upstream token needs for the tools they unlock.
pub fn gitea_scopes(scope: &str) -> String {
    let mut out = vec![
        "read:repository",
        "read:issue",
        "read:organization",
        "read:user",
    ];
    if scope.split(' ').any(|s| s == aegis_edge::auth::SCOPE_WRITE) {
        out.extend(["write:repository", "write:issue"]);
    }
    out.join(" ")
}

/// The scopes we grant: the requested ones we know, `read:repository` when none.
pub fn normalise_scope(requested: Option<&str>) -> Result<String, String> {
    let mut scopes: Vec<&str> = Vec::new();
    for s in requested.unwrap_or("").split_whitespace() {
        match s {
            aegis_edge::auth::SCOPE_READ | aegis_edge::auth::SCOPE_WRITE => {
                if !scopes.contains(&s) {
                    scopes.push(s)
                }
            }
            // OIDC scopes some clients add by habit: identity is ours to establish.
            "openid" | "profile" | "email" | "offline_access" => {}
            other => return Err(format!("unsupported scope `{}`", other.escape_default())),
        }
    }
    if scopes.is_empty() {
        scopes.push(aegis_edge::auth::SCOPE_READ);
    }
    if scopes.contains(&aegis_edge::auth::SCOPE_WRITE)
        && !scopes.contains(&aegis_edge::auth::SCOPE_READ)
    {
        scopes.insert(0, aegis_edge::auth::SCOPE_READ);
    }
    Ok(scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(normalise_scope(None).unwrap(), "read:repository");
        assert_eq!(
            normalise_scope(Some("write:repository openid")).unwrap(),
            "read:repository write:repository"
        );
        assert!(normalise_scope(Some("admin")).is_err());
        assert!(gitea_scopes("read:repository write:repository").contains("write:issue"));
        assert!(!gitea_scopes("read:repository").contains("write:"));
    }
}
