//! Authentication of MCP requests in OAuth mode: our access token, then its grant, then the
//! user's Gitea token (refreshed against Gitea when it is about to expire).
//!
//! Emits the `oauth_auth_summary` log line of the Troubleshooting page for every request.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::HeaderMap;

use super::tokens::{self, TokenError};
use super::upstream::GiteaTokens;
use super::OAuthServer;
use aegis_core::config::{Config, Secret};
use aegis_edge::auth::{bearer_token, AuthError, Authenticator, Credential, Principal};
use aegis_edge::http::resource_url_for;
use aegis_storage::{now_secs, GrantStore};

/// How long a grant's decrypted Gitea token is reused without reading the store again;
/// also how long a grant revoked by another instance may keep working on this one (a
/// revocation on this instance clears its entry at once: `GrantCache::forget`).
const GRANT_CACHE: Duration = Duration::from_secs(30);
/// Refresh Gitea's token when it expires within this.
const REFRESH_MARGIN: u64 = 120;

/// Decrypted Gitea tokens by grant id, shared by the authenticator and the OAuth routes
/// (through `OAuthServer`) so that revoking a grant here takes effect on the next request.
#[derive(Default)]
pub struct GrantCache {
    entries: Mutex<HashMap<String, CachedGrant>>,
}

struct CachedGrant {
    at: Instant,
    token: Secret,
    /// When Gitea's token expires (seconds since the epoch)
    expires_at: u64,
}

impl std::fmt::Debug for GrantCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantCache(***)")
    }
}

impl GrantCache {
    /// The cached token, unless the entry is old or Gitea's token is due for a refresh
    /// (an entry must never outlive the token it holds).
    fn get(&self, gid: &str) -> Option<Secret> {
        let cache = self.entries.lock().ok()?;
        let entry = cache.get(gid)?;
        (entry.at.elapsed() < GRANT_CACHE && entry.expires_at > now_secs() + REFRESH_MARGIN)
            .then(|| entry.token.clone())
    }

    fn put(&self, gid: &str, token: Secret, expires_at: u64) {
        if let Ok(mut cache) = self.entries.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(
                gid.to_string(),
                CachedGrant {
                    at: Instant::now(),
                    token,
                    expires_at,
                },
            );
        }
    }

    /// Drops a grant's entry: called whenever the grant is revoked.
    pub fn forget(&self, gid: &str) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.remove(gid);
        }
    }
}

pub struct OAuthAuthenticator {
    server: Arc<OAuthServer>,
    grants: Arc<dyn GrantStore>,
    config: Arc<Config>,
}

impl OAuthAuthenticator {
    pub fn new(server: Arc<OAuthServer>, grants: Arc<dyn GrantStore>, config: Arc<Config>) -> Self {
        Self {
            server,
            grants,
            config,
        }
    }

    /// The user's current Gitea token for a grant, refreshing it when needed.
    async fn gitea_token(&self, gid: &str) -> Result<(Secret, &'static str), AuthError> {
        if let Some(token) = self.server.grant_cache.get(gid) {
            return Ok((token, "skip:cached"));
        }
        let grant = self
            .grants
            .get_grant(gid)
            .await
            .map_err(|_| AuthError::Invalid)?
            .filter(|g| !g.revoked)
            .ok_or(AuthError::Invalid)?;
        let plain = self
            .server
            .keys
            .open(&grant.gitea_tokens)
            .map_err(|_| AuthError::Invalid)?;
        let mut tokens: GiteaTokens =
            serde_json::from_slice(&plain).map_err(|_| AuthError::Invalid)?;
        let mut probe = "pass";
        if tokens.expires_at <= now_secs() + REFRESH_MARGIN {
            let refresh = tokens.refresh_token.clone().ok_or(AuthError::Invalid)?;
            match self.server.refresh(&refresh).await {
                Ok(fresh) => {
                    tokens = fresh;
                    if let Ok(json) = serde_json::to_vec(&tokens) {
                        if let Ok(sealed) = self.server.keys.seal(&json) {
                            let _ = self.grants.set_gitea_tokens(gid, &sealed).await;
                        }
                    }
                    probe = "pass:refreshed";
                }
                Err(e) => {
                    tracing::warn!(error = %e, "gitea token refresh failed");
                    return Err(AuthError::Invalid);
                }
            }
        }
        let token = Secret::new(tokens.access_token);
        self.server
            .grant_cache
            .put(gid, token.clone(), tokens.expires_at);
        Ok((token, probe))
    }
}

impl OAuthAuthenticator {
    /// A principal for a Gitea-issued token (compatibility mode): Gitea enforces the
    /// token's own scopes on every call, so both of ours are granted here.
    fn compat_principal(&self, token: &str, login: String) -> Principal {
        let token_type = if token.matches('.').count() == 2 {
            "jwt"
        } else {
            "opaque"
        };
        tracing::info!(
            event = "oauth_auth_summary",
            token_type,
            scopes_observed = "",
            scopes_effective = "read:repository write:repository",
            api_probe = "skip:cached",
            login = %login,
            "oauth_auth_summary: api_probe=skip:cached login={login} (gitea token, compatibility mode)"
        );
        let (credential, check) = match &self.config.gitea_token {
            Some(service) => (Credential::Token(service.clone()), true),
            None => (Credential::Token(Secret::new(token)), false),
        };
        Principal {
            subject: login.clone(),
            scopes: [aegis_edge::auth::SCOPE_READ, aegis_edge::auth::SCOPE_WRITE]
                .map(String::from)
                .into(),
            credential,
            gitea_login: Some(login),
            check_repo_permission: check,
        }
    }
}

#[async_trait]
impl Authenticator for OAuthAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let token = bearer_token(headers)?;
        let (issuer, resource) = resource_url_for(&self.config, headers);
        let mut audiences = vec![resource.as_str()];
        if let Some(extra) = &self.server.extra_audience {
            audiences.push(extra.as_str());
        }
        let claims = match tokens::validate(&self.server.keys, token, &issuer, &audiences) {
            Ok(c) => c,
            Err(e) => {
                if let Some(compat) = &self.server.compat {
                    if let Some(login) = compat.login(token).await {
                        return Ok(self.compat_principal(token, login));
                    }
                }
                tracing::info!(event = "oauth_auth_summary", token_type = "jwt", api_probe = "fail:401", reason = %e);
                return Err(match e {
                    TokenError::Expired
                    | TokenError::WrongAudience
                    | TokenError::Invalid
                    | TokenError::Sign => AuthError::Invalid,
                });
            }
        };
        let (gitea, probe) = self.gitea_token(&claims.gid).await?;
        let scopes: BTreeSet<String> = claims.scope.split(' ').map(str::to_string).collect();
        tracing::info!(
            event = "oauth_auth_summary",
            token_type = "jwt",
            scopes_observed = %claims.scope,
            scopes_effective = %claims.scope,
            api_probe = probe,
            login = %claims.sub,
            "oauth_auth_summary: api_probe={probe} login={}",
            claims.sub
        );
        // With a service token configured, Gitea calls use it after a per-repository
        // permission check of this user (see dispatch); otherwise the user's own token.
        let (credential, check) = match &self.config.gitea_token {
            Some(service) => (Credential::Token(service.clone()), true),
            None => (Credential::Token(gitea), false),
        };
        Ok(Principal {
            subject: claims.sub.clone(),
            scopes,
            credential,
            gitea_login: Some(claims.sub),
            check_repo_permission: check,
        })
    }

    fn mode(&self) -> &'static str {
        "oauth"
    }
}
