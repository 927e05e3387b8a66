//! Authentication of MCP requests: who is calling, with which scopes and Gitea credential.
//!
//! `Authenticator` is the seam: API-key mode lives here; OAuth mode plugs in as another
//! implementation. Credentials come from the `Authorization` header only, never the query.

use async_trait::async_trait;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use aegis_core::config::{Config, Secret};

pub use aegis_core::principal::{Credential, Principal, SCOPE_READ, SCOPE_WRITE};

/// Why a request was not authenticated. Messages are safe to return to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing bearer token: send `Authorization: Bearer <key>`")]
    Missing,
    #[error("invalid or expired token")]
    Invalid,
    #[error("malformed authorization header")]
    Malformed,
}

/// Turns request headers into a principal.
#[async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError>;
    /// `api_key`, `oauth` or `none`, for `GET /`
    fn mode(&self) -> &'static str;
}

/// Extracts the bearer token from `Authorization`, scheme case-insensitive.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::Missing)?;
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed);
    }
    let token = token.trim();
    if token.is_empty() || token.len() > 4096 {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

/// The spec's standard API-key mode: `MCP_API_KEYS` authenticate, `GITEA_TOKEN` acts.
pub struct ApiKeyAuthenticator {
    /// SHA-256 of each key: comparing fixed-size digests in constant time hides both the
    /// key bytes and the key lengths.
    key_digests: Vec<[u8; 32]>,
    service: Credential,
}

impl ApiKeyAuthenticator {
    pub fn new(keys: &[Secret], service_token: Option<&Secret>) -> Self {
        Self {
            key_digests: keys.iter().map(|k| digest(k.expose())).collect(),
            service: service_token
                .map(|t| Credential::Token(t.clone()))
                .unwrap_or(Credential::Anonymous),
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self::new(&config.mcp_api_keys, config.gitea_token.as_ref())
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

#[async_trait]
impl Authenticator for ApiKeyAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let token = bearer_token(headers)?;
        let presented = digest(token);
        // Compare against every key without early exit.
        let mut matched: Option<usize> = None;
        for (i, key) in self.key_digests.iter().enumerate() {
            if bool::from(key.ct_eq(&presented)) {
                matched = Some(i);
            }
        }
        match matched {
            Some(_) => Ok(Principal {
                subject: format!("api-key:{}", &hex::encode(presented)[..12]),
                scopes: [SCOPE_READ, SCOPE_WRITE].map(String::from).into(),
                credential: self.service.clone(),
                gitea_login: None,
                check_repo_permission: false,
            }),
            None => Err(AuthError::Invalid),
        }
    }

    fn mode(&self) -> &'static str {
        "api_key"
    }
}

/// `AUTH_ENABLED=false`: every request is the service principal. For trusted local use only.
pub struct NoAuthenticator {
    service: Credential,
}

impl NoAuthenticator {
    pub fn new(service_token: Option<&Secret>) -> Self {
        Self {
            service: service_token
                .map(|t| Credential::Token(t.clone()))
                .unwrap_or(Credential::Anonymous),
        }
    }
}

#[async_trait]
impl Authenticator for NoAuthenticator {
    async fn authenticate(&self, _headers: &HeaderMap) -> Result<Principal, AuthError> {
        Ok(Principal {
            subject: "anonymous".into(),
            scopes: [SCOPE_READ, SCOPE_WRITE].map(String::from).into(),
            credential: self.service.clone(),
            gitea_login: None,
            check_repo_permission: false,
        })
    }

    fn mode(&self) -> &'static str {
        "none"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn api_keys_are_checked() {
        let key = "k".repeat(40);
        let auth = ApiKeyAuthenticator::new(&[Secret::new(&key)], Some(&Secret::new("svc")));
        let cases: Vec<(Vec<String>, Result<(), AuthError>)> = vec![
            (vec![format!("Bearer {key}")], Ok(())),
            (vec![format!("bearer {key}")], Ok(())),
            (vec![format!("BEARER  {key} ")], Ok(())),
            (vec![], Err(AuthError::Missing)),
            (vec![format!("Bearer {key}x")], Err(AuthError::Invalid)),
            (vec![format!("Basic {key}")], Err(AuthError::Malformed)),
            (vec!["Bearer".into()], Err(AuthError::Malformed)),
            (vec!["Bearer ".into()], Err(AuthError::Malformed)),
            (
                vec![format!("Bearer {key}"), format!("Bearer {key}")],
                Err(AuthError::Malformed),
            ),
        ];
        for (hs, expected) in cases {
            let refs: Vec<&str> = hs.iter().map(String::as_str).collect();
            let got = auth.authenticate(&headers(&refs)).await.map(|p| {
                assert_eq!(p.credential, Credential::Token(Secret::new("svc")));
                assert!(!p.subject.contains(&key));
            });
            assert_eq!(got, expected, "{hs:?}");
        }
    }
}
