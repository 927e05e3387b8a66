//! Compatibility mode (`OAUTH_ACCEPT_GITEA_TOKENS=true`, off by default): accept a token
//! Gitea issued, presented directly, as the original system did.
//!
//! Risks, and why it is off: Gitea's access tokens carry no audience (`gnt`, `tt`, `exp`,
//! `iat` only), so a token any other Gitea client obtained works here too (no audience
//! binding), and the token is forwarded to Gitea (passthrough, which the MCP rules forbid).
//! JWTs are checked against Gitea's JWKS (from its OIDC discovery, cached for
//! `OAUTH_CACHE_TTL_SECONDS`); the user comes from Gitea's userinfo endpoint, which also
//! accepts only OAuth tokens (opaque or JWT). Results are cached per token hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::crypto::sha256_hex;

#[derive(Debug)]
pub struct GiteaTokenCheck {
    gitea_web: String,
    ttl: Duration,
    http: reqwest::Client,
    jwks: Mutex<Option<(Instant, JwkSet)>>,
    users: Mutex<HashMap<String, (Instant, String)>>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
}

#[derive(Deserialize)]
struct UserInfo {
    #[serde(default)]
    preferred_username: Option<String>,
}

impl GiteaTokenCheck {
    pub fn new(gitea_web: &str, ttl_seconds: u64, http: reqwest::Client) -> Self {
        Self {
            gitea_web: gitea_web.to_string(),
            ttl: Duration::from_secs(ttl_seconds),
            http,
            jwks: Mutex::new(None),
            users: Mutex::new(HashMap::new()),
        }
    }

    async fn discovery(&self) -> Option<Discovery> {
        let url = format!("{}/.well-known/openid-configuration", self.gitea_web);
        self.http.get(url).send().await.ok()?.json().await.ok()
    }

    async fn jwks(&self) -> Option<JwkSet> {
        if let Ok(cache) = self.jwks.lock() {
            if let Some((at, set)) = cache.as_ref() {
                if at.elapsed() < self.ttl {
                    return Some(set.clone());
                }
            }
        }
        let d = self.discovery().await?;
        let set: JwkSet = self
            .http
            .get(d.jwks_uri)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        if let Ok(mut cache) = self.jwks.lock() {
            *cache = Some((Instant::now(), set.clone()));
        }
        Some(set)
    }

    /// The Gitea login behind a Gitea-issued token, or `None` when it is not one.
    pub async fn login(&self, token: &str) -> Option<String> {
        let key = sha256_hex(token);
        if let Ok(cache) = self.users.lock() {
            if let Some((at, login)) = cache.get(&key) {
                if at.elapsed() < self.ttl {
                    return Some(login.clone());
                }
            }
        }
        if token.matches('.').count() == 2 {
            // A JWT: its signature and expiry first, against Gitea's published keys.
            let header = decode_header(token).ok()?;
            let set = self.jwks().await?;
            let jwk = match &header.kid {
                Some(kid) => set.find(kid)?,
                None => set.keys.first()?,
            };
            let alg = header.alg;
            if !matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::ES256
                    | Algorithm::ES384
                    | Algorithm::EdDSA
            ) {
                return None;
            }
            let mut validation = Validation::new(alg);
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp"]);
            decode::<serde_json::Value>(token, &DecodingKey::from_jwk(jwk).ok()?, &validation)
                .ok()?;
        }
        let userinfo = self
            .discovery()
            .await
            .and_then(|d| d.userinfo_endpoint)
            .unwrap_or_else(|| format!("{}/login/oauth/userinfo", self.gitea_web));
        let resp = self
            .http
            .get(userinfo)
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let info: UserInfo = resp.json().await.ok()?;
        let login = info.preferred_username.filter(|l| !l.is_empty())?;
        if let Ok(mut cache) = self.users.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), login.clone()));
        }
        Some(login)
    }
}
