//! Gitea's OAuth2 provider state and rules: applications, authorization codes, grants, the RS256
//! signing key and its JWTs (`services/oauth2_provider`, `models/auth/oauth2.go`).

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::error::SeedError;
use crate::model::{Scopes, UserId};
use crate::seed::{OAuthAppSpec, OAuthSettingsSpec};

/// A registered OAuth2 application.
#[derive(Clone, Debug)]
pub struct OAuthApp {
    pub id: i64,
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    /// Simulator-only: any port of a loopback redirect URI matches (tests run on random ports).
    pub allow_any_loopback_port: bool,
}

/// The `[oauth2]` settings that matter to a client.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    pub invalidate_refresh_tokens: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

/// What the seed says about OAuth: the applications and the settings.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    pub apps: Vec<OAuthApp>,
    pub settings: OAuthSettings,
}

impl OAuthConfig {
    pub(crate) fn from_specs(
        apps: Vec<OAuthAppSpec>,
        settings: OAuthSettingsSpec,
    ) -> Result<OAuthConfig, SeedError> {
        let mut out: Vec<OAuthApp> = Vec::new();
        for (i, a) in apps.into_iter().enumerate() {
            if out.iter().any(|o| o.client_id == a.client_id) {
                return Err(SeedError::Duplicate(format!(
                    "oauth client_id {}",
                    a.client_id
                )));
            }
            if a.confidential && a.client_secret.is_empty() {
                return Err(SeedError::Invalid(format!(
                    "oauth app `{}`: a confidential client needs a client_secret",
                    a.name
                )));
            }
            if a.redirect_uris.is_empty() {
                return Err(SeedError::Invalid(format!(
                    "oauth app `{}`: no redirect_uris",
                    a.name
                )));
            }
            out.push(OAuthApp {
                id: i as i64 + 1,
                name: a.name,
                client_id: a.client_id,
                client_secret: a.client_secret,
                redirect_uris: a.redirect_uris,
                confidential: a.confidential,
                allow_any_loopback_port: a.allow_any_loopback_port,
            });
        }
        Ok(OAuthConfig {
            apps: out,
            settings: OAuthSettings {
                invalidate_refresh_tokens: settings.invalidate_refresh_tokens,
                access_token_ttl: Duration::seconds(settings.access_token_expiration_time as i64),
                refresh_token_ttl: Duration::hours(settings.refresh_token_expiration_time as i64),
            },
        })
    }
}

/// `http(s)://host[:port]/path` split into a lowercase comparable form and its loopback-ness.
fn uri_key(uri: &str, strip_loopback_port: bool) -> String {
    let lower = uri.trim_end_matches('/').to_ascii_lowercase();
    if !strip_loopback_port {
        return lower;
    }
    match url::Url::parse(&lower) {
        Ok(mut u)
            if u.scheme() == "http"
                && u.host_str().is_some_and(|h| {
                    h == "localhost"
                        || h.trim_start_matches('[')
                            .trim_end_matches(']')
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }) =>
        {
            let _ = u.set_port(None);
            u.as_str().trim_end_matches('/').to_string()
        }
        _ => lower,
    }
}

impl OAuthApp {
    /// `OAuth2Application.ContainsRedirectURI`: exact match (case-insensitive, trailing `/` ignored);
    /// public clients may use any port of an `http` loopback IP (RFC 8252 7.3). With the
    /// simulator's `allow_any_loopback_port`, any client may, and `localhost` counts as loopback.
    pub fn contains_redirect_uri(&self, uri: &str) -> bool {
        let exact = uri_key(uri, false);
        if self
            .redirect_uris
            .iter()
            .any(|r| uri_key(r, false) == exact)
        {
            return true;
        }
        let gitea_loopback = !self.confidential
            && url::Url::parse(uri).is_ok_and(|u| {
                u.scheme() == "http"
                    && u.port().is_some()
                    && matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                        | matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            });
        if gitea_loopback {
            let stripped = uri_key(uri, true);
            if self
                .redirect_uris
                .iter()
                .any(|r| uri_key(r, false) == stripped)
            {
                return true;
            }
        }
        if self.allow_any_loopback_port {
            let stripped = uri_key(uri, true);
            return self
                .redirect_uris
                .iter()
                .any(|r| uri_key(r, true) == stripped);
        }
        false
    }

    /// Constant-time enough for a simulator; Gitea compares a bcrypt hash.
    pub fn validate_secret(&self, secret: &str) -> bool {
        !self.client_secret.is_empty() && self.client_secret == secret
    }
}

/// One user's authorization of one application (`OAuth2Grant`).
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: i64,
    pub app_id: i64,
    pub user: UserId,
    /// Space-separated, as requested at authorization.
    pub scope: String,
    pub nonce: String,
    /// Refresh-token generation, checked when `invalidate_refresh_tokens` is on.
    pub counter: i64,
}

impl Grant {
    pub fn scope_contains(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// `GrantAdditionalScopes`: OIDC scopes are ignored; the rest, if valid, limit the token;
    /// nothing else (or anything invalid) means `all`.
    pub fn api_scopes(&self) -> Scopes {
        let extra: Vec<String> = self
            .scope
            .split(' ')
            .filter(|s| !s.is_empty() && !["openid", "profile", "email", "groups"].contains(s))
            .map(String::from)
            .collect();
        if !extra.is_empty() {
            if let Some(scopes) = Scopes::parse(&extra) {
                return scopes;
            }
        }
        Scopes::parse(&[]).unwrap_or_default()
    }
}

/// A one-time authorization code (`OAuth2AuthorizationCode`).
#[derive(Clone, Debug)]
pub struct AuthCode {
    pub grant_id: i64,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub valid_until: OffsetDateTime,
}

impl AuthCode {
    /// `ValidateCodeChallenge`.
    pub fn validate_verifier(&self, verifier: &str) -> bool {
        match self.code_challenge_method.as_str() {
            "S256" => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.code_challenge
            }
            "plain" => verifier == self.code_challenge,
            "" => true,
            _ => false,
        }
    }
}

/// The provider's changing state: codes, grants, signed-in browser sessions and knobs for tests.
#[derive(Clone, Debug)]
pub struct OAuthState {
    pub apps: Vec<OAuthApp>,
    pub settings: OAuthSettings,
    pub codes: HashMap<String, AuthCode>,
    pub grants: Vec<Grant>,
    /// Session cookie value -> user.
    pub sessions: HashMap<String, UserId>,
    /// Signs this login in without a form (`--oauth-auto-login`).
    pub auto_login: Option<String>,
    /// Added to the wall clock for everything OAuth (codes and token expiry).
    pub clock_offset: Duration,
}

impl OAuthState {
    pub fn new(config: &OAuthConfig) -> OAuthState {
        OAuthState {
            apps: config.apps.clone(),
            settings: config.settings.clone(),
            codes: HashMap::new(),
            grants: Vec::new(),
            sessions: HashMap::new(),
            auto_login: None,
            clock_offset: Duration::ZERO,
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    pub fn app_by_client_id(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn grant(&self, id: i64) -> Option<&Grant> {
        self.grants.iter().find(|g| g.id == id)
    }

    /// The user's grant for the app, created (or its scope updated) as the consent page would.
    pub fn grant_for(&mut self, app_id: i64, user: UserId, scope: &str, nonce: &str) -> i64 {
        if let Some(g) = self
            .grants
            .iter_mut()
            .find(|g| g.app_id == app_id && g.user == user)
        {
            g.scope = scope.to_string();
            if !nonce.is_empty() {
                g.nonce = nonce.to_string();
            }
            return g.id;
        }
        let id = self.grants.iter().map(|g| g.id).max().unwrap_or(0) + 1;
        self.grants.push(Grant {
            id,
            app_id,
            user,
            scope: scope.to_string(),
            nonce: nonce.to_string(),
            counter: 1,
        });
        id
    }

    /// Forgets codes, grants and sessions (the seed has none).
    pub fn reset(&mut self) {
        self.codes.clear();
        self.grants.clear();
        self.sessions.clear();
    }
}

/// A random URL-safe string of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        // the system RNG failing is not something a simulator recovers from meaningfully
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        buf = Sha256::digest(nanos.to_le_bytes()).to_vec();
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// Gitea's `Token` claims: access tokens have `tt: 0`, refresh tokens `tt: 1` and `cnt`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    pub gnt: i64,
    pub tt: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnt: Option<i64>,
    pub exp: i64,
    pub iat: i64,
}

pub const ACCESS_TOKEN: i64 = 0;
pub const REFRESH_TOKEN: i64 = 1;

/// The server's RS256 key: generated once per process (2048 bits; Gitea generates 4096).
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub kid: String,
    n: String,
    e: String,
}

static KEY: OnceLock<Result<SigningKey, String>> = OnceLock::new();

/// The process-wide signing key (generated on first use).
pub fn signing_key() -> Result<&'static SigningKey, String> {
    KEY.get_or_init(SigningKey::generate)
        .as_ref()
        .map_err(Clone::clone)
}

impl SigningKey {
    fn generate() -> Result<SigningKey, String> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| e.to_string())?;
        let pkcs8 = pair.as_der().map_err(|e| e.to_string())?;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let public = pair.public_key();
        let spki = public.as_der().map_err(|e| e.to_string())?;
        // jwtsigningkey.go: kid = base64url(sha256(PKIX public key))
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(spki.as_ref()));
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| e.to_string())?;
        Ok(SigningKey {
            encoding,
            decoding,
            kid,
            n,
            e,
        })
    }

    /// The JWK of `/login/oauth/keys`.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "kid": self.kid,
            "use": "sig",
            "n": self.n,
            "e": self.e,
        })
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Verifies the signature (RS256 only) and decodes; expiry is checked by the caller against the
    /// simulator's clock.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(confidential: bool, any_port: bool) -> OAuthApp {
        OAuthApp {
            id: 1,
            name: "a".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            redirect_uris: vec![
                "http://127.0.0.1/cb".into(),
                "http://localhost:8080/oauth/callback".into(),
                "https://app.example/cb/".into(),
            ],
            confidential,
            allow_any_loopback_port: any_port,
        }
    }

    #[test]
    fn redirect_uri_matching() {
        // (confidential, any port, uri, matches)
        let cases = [
            (true, false, "http://127.0.0.1/cb", true),
            (true, false, "HTTPS://APP.EXAMPLE/cb", true),
            (true, false, "https://app.example/cb/x", false),
            (true, false, "http://127.0.0.1:9999/cb", false),
            (false, false, "http://127.0.0.1:9999/cb", true),
            (false, false, "http://localhost:9999/oauth/callback", false),
            (true, true, "http://localhost:9999/oauth/callback", true),
            (true, true, "http://127.0.0.1:4242/cb", true),
            (true, true, "http://10.0.0.1:8080/oauth/callback", false),
            (true, true, "https://app.example:8443/cb", false),
        ];
        for (confidential, any, uri, want) in cases {
            assert_eq!(
                app(confidential, any).contains_redirect_uri(uri),
                want,
                "{confidential} {any} {uri}"
            );
        }
    }

    #[test]
    fn pkce_verifiers() {
        let code = |method: &str, challenge: &str| AuthCode {
            grant_id: 1,
            redirect_uri: String::new(),
            code_challenge: challenge.into(),
            code_challenge_method: method.into(),
            valid_until: OffsetDateTime::now_utc(),
        };
        // RFC 7636 appendix B
        let s256 = code("S256", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(s256.validate_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!s256.validate_verifier("wrong"));
        assert!(code("plain", "abc").validate_verifier("abc"));
        assert!(!code("plain", "abc").validate_verifier("abd"));
        assert!(code("", "").validate_verifier("anything"));
        assert!(!code("S512", "x").validate_verifier("x"));
    }

    #[test]
    fn grant_scopes() {
        let grant = |scope: &str| Grant {
            id: 1,
            app_id: 1,
            user: 1,
            scope: scope.into(),
            nonce: String::new(),
            counter: 1,
        };
        assert!(grant("openid profile").api_scopes().all);
        assert!(grant("").api_scopes().all);
        assert!(grant("openid read:everything").api_scopes().all);
        let limited = grant("openid read:repository write:issue").api_scopes();
        assert!(!limited.all);
        assert!(limited.allows(crate::model::ScopeCategory::Repository, false));
        assert!(!limited.allows(crate::model::ScopeCategory::Repository, true));
        assert!(limited.allows(crate::model::ScopeCategory::Issue, true));
    }
}
