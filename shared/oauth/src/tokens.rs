//! Our access tokens: HS256 JWTs, audience-bound to the MCP resource, short-lived.
//!
//! Validation pins the algorithm (so `alg: none` or an RS/HS confusion is refused), the
//! issuer, the audience and the expiry; the grant named inside is then checked against the
//! store (revoked grants stop working within the token's lifetime).

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::crypto::Keys;

/// The claims we put in an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The Gitea login
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    /// The grant the token belongs to
    pub gid: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

/// Why a token was refused (kept internal; clients just get `invalid_token`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is malformed or its signature does not verify")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token is for another audience or issuer")]
    WrongAudience,
    #[error("could not sign the token")]
    Sign,
}

pub fn issue(keys: &Keys, claims: &AccessClaims) -> Result<String, TokenError> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&keys.access_token),
    )
    .map_err(|_| TokenError::Sign)
}

/// Validates signature (HS256 only), issuer, audience (the resource, or the configured
/// extra audience) and expiry. A token signed under the previous secret (a rotation of
/// `OAUTH_STATE_SECRET`) is accepted too.
pub fn validate(
    keys: &Keys,
    token: &str,
    issuer: &str,
    audiences: &[&str],
) -> Result<AccessClaims, TokenError> {
    let mut outcome = Err(TokenError::Invalid);
    for keys in keys.accepted() {
        outcome = validate_one(keys, token, issuer, audiences);
        if !matches!(outcome, Err(TokenError::Invalid)) {
            break;
        }
    }
    outcome
}

fn validate_one(
    keys: &Keys,
    token: &str,
    issuer: &str,
    audiences: &[&str],
) -> Result<AccessClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 30;
    decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(&keys.access_token),
        &validation,
    )
    .map(|d| d.claims)
    .map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenError::WrongAudience,
            _ => TokenError::Invalid,
        }
    })
}

/// The grant id inside one of our access tokens, signature checked but not expiry or
/// audience (revocation accepts expired tokens).
pub fn grant_of(keys: &Keys, token: &str) -> Option<String> {
    keys.accepted().find_map(|keys| grant_of_one(keys, token))
}

fn grant_of_one(keys: &Keys, token: &str) -> Option<String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(&keys.access_token),
        &validation,
    )
    .ok()
    .map(|d| d.claims.gid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::config::Secret;
    use base64::Engine;

    fn keys() -> Keys {
        Keys::derive(&Secret::new("0123456789abcdef0123456789abcdef"))
    }

    fn claims(exp_offset: i64) -> AccessClaims {
        let now = aegis_storage::now_secs();
        AccessClaims {
            iss: "https://mcp.example.com".into(),
            aud: "https://mcp.example.com/mcp".into(),
            sub: "alice".into(),
            client_id: "c".into(),
            scope: "read:repository".into(),
            gid: "g".into(),
            iat: now,
            exp: (now as i64 + exp_offset) as u64,
            jti: "j".into(),
        }
    }

    const ISS: &str = "https://mcp.example.com";
    const AUD: &str = "https://mcp.example.com/mcp";

    #[test]
    fn tokens_are_checked() {
        let k = keys();
        let good = issue(&k, &claims(600)).unwrap();
        assert_eq!(validate(&k, &good, ISS, &[AUD]).unwrap().sub, "alice");
        // wrong audience, wrong issuer
        assert_eq!(
            validate(&k, &good, ISS, &["https://other/mcp"]),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            validate(&k, &good, "https://evil", &[AUD]),
            Err(TokenError::WrongAudience)
        );
        // expired
        let old = issue(&k, &claims(-3600)).unwrap();
        assert_eq!(validate(&k, &old, ISS, &[AUD]), Err(TokenError::Expired));
        // bad signature: another key
        let other = Keys::derive(&Secret::new("another-secret-another-secret-xx"));
        let forged = issue(&other, &claims(600)).unwrap();
        assert_eq!(validate(&k, &forged, ISS, &[AUD]), Err(TokenError::Invalid));
        // alg: none
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(serde_json::to_vec(&claims(600)).unwrap());
        let none = format!("{header}.{body}.");
        assert_eq!(validate(&k, &none, ISS, &[AUD]), Err(TokenError::Invalid));
        // tampered payload with the original signature
        let parts: Vec<&str> = good.split('.').collect();
        let mut c = claims(600);
        c.scope = "read:repository write:repository".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(serde_json::to_vec(&c).unwrap()),
            parts[2]
        );
        assert_eq!(
            validate(&k, &tampered, ISS, &[AUD]),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            validate(&k, "garbage", ISS, &[AUD]),
            Err(TokenError::Invalid)
        );
    }

    /// A rotation: tokens signed under the previous secret still validate; an unknown
    /// secret's do not; new tokens are signed with the current secret.
    #[test]
    fn tokens_of_the_previous_secret_validate_during_a_rotation() {
        let old = keys();
        let rotated = Keys::derive_with_previous(
            &Secret::new("the-new-secret-the-new-secret-xx"),
            Some(&Secret::new("0123456789abcdef0123456789abcdef")),
        );
        let before = issue(&old, &claims(600)).unwrap();
        assert_eq!(
            validate(&rotated, &before, ISS, &[AUD]).unwrap().sub,
            "alice"
        );
        assert_eq!(grant_of(&rotated, &before).as_deref(), Some("g"));
        let expired = issue(&old, &claims(-3600)).unwrap();
        assert_eq!(
            validate(&rotated, &expired, ISS, &[AUD]),
            Err(TokenError::Expired)
        );
        let unknown = Keys::derive(&Secret::new("an-unknown-secret-an-unknown-xxx"));
        let forged = issue(&unknown, &claims(600)).unwrap();
        assert_eq!(
            validate(&rotated, &forged, ISS, &[AUD]),
            Err(TokenError::Invalid)
        );
        assert_eq!(grant_of(&rotated, &forged), None);
        let after = issue(&rotated, &claims(600)).unwrap();
        assert_eq!(
            validate(&old, &after, ISS, &[AUD]),
            Err(TokenError::Invalid)
        );
    }
}
