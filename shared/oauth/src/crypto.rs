//! The few cryptographic operations the authorization server needs, each with one key
//! derived from `OAUTH_STATE_SECRET` (HMAC-SHA256 over a purpose label), so one operator
//! secret never serves two purposes. During a rotation the keys of
//! `OAUTH_STATE_SECRET_PREVIOUS` are also accepted: values are checked or opened with the
//! current keys, then the previous ones; they are always signed and sealed with the current.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use aegis_core::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Why a sealed or signed value was refused. Deliberately vague toward clients.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("malformed value")]
    Malformed,
    #[error("signature mismatch")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("cannot decrypt")]
    Decrypt,
    #[error("randomness unavailable")]
    Random,
}

/// Keys for every purpose, derived once at start.
#[derive(Clone)]
pub struct Keys {
    state: [u8; 32],
    csrf: [u8; 32],
    pkce: [u8; 32],
    seal: [u8; 32],
    /// The HS256 key of our access tokens
    pub access_token: [u8; 32],
    /// The keys of the previous secret: accepted, never used to sign or seal
    previous: Option<Box<Keys>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(b"aegis-gitea-mcp/v1/");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn hmac(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        let s = secret.expose().as_bytes();
        Self {
            state: derive(s, "oauth-state"),
            csrf: derive(s, "consent-csrf"),
            pkce: derive(s, "upstream-pkce"),
            seal: derive(s, "gitea-token-seal"),
            access_token: derive(s, "access-token-hs256"),
            previous: None,
        }
    }

    /// The keys of `current`, also accepting what `previous` signed or sealed (a rotation).
    pub fn derive_with_previous(current: &Secret, previous: Option<&Secret>) -> Self {
        Self {
            previous: previous.map(|p| Box::new(Self::derive(p))),
            ..Self::derive(current)
        }
    }

    /// The key sets a presented value may have been made with: current first.
    pub fn accepted(&self) -> impl Iterator<Item = &Keys> {
        std::iter::once(self).chain(self.previous.as_deref())
    }

    /// `op` with the current keys, then with the previous ones while it fails with
    /// `wrong_key` (the error a value made under another key gives).
    fn first_accepted<T>(
        &self,
        wrong_key: CryptoError,
        op: impl Fn(&Keys) -> Result<T, CryptoError>,
    ) -> Result<T, CryptoError> {
        let mut outcome = op(self);
        for keys in self.accepted().skip(1) {
            if outcome.as_ref().err() != Some(&wrong_key) {
                break;
            }
            outcome = op(keys);
        }
        outcome
    }

    /// `base64url(json) . base64url(hmac)`: integrity, not secrecy (nothing secret inside).
    pub fn sign<T: Serialize>(&self, value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        let body = B64.encode(&json);
        let tag = B64.encode(hmac(&self.state, body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// Checks a value from `sign` (under the current or the previous secret); `expires_at`
    /// inside it is the caller's to check.
    pub fn verify<T: DeserializeOwned>(&self, signed: &str) -> Result<T, CryptoError> {
        self.first_accepted(CryptoError::BadSignature, |keys| keys.verify_one(signed))
    }

    fn verify_one<T: DeserializeOwned>(&self, signed: &str) -> Result<T, CryptoError> {
        if signed.len() > 8192 {
            return Err(CryptoError::Malformed);
        }
        let (body, tag) = signed.split_once('.').ok_or(CryptoError::Malformed)?;
        let tag = B64.decode(tag).map_err(|_| CryptoError::Malformed)?;
        let expected = hmac(&self.state, body.as_bytes());
        if !bool::from(expected.as_slice().ct_eq(tag.as_slice())) {
            return Err(CryptoError::BadSignature);
        }
        let json = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| CryptoError::Malformed)
    }

    /// The consent form's CSRF token for a browser cookie value and a signed request.
    pub fn csrf_token(&self, cookie: &str, request: &str) -> String {
        let mut data = Vec::with_capacity(cookie.len() + request.len() + 1);
        data.extend_from_slice(cookie.as_bytes());
        data.push(0);
        data.extend_from_slice(request.as_bytes());
        B64.encode(hmac(&self.csrf, &data))
    }

    pub fn csrf_ok(&self, cookie: &str, request: &str, token: &str) -> bool {
        self.accepted().any(|keys| {
            let expected = keys.csrf_token(cookie, request);
            bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
        })
    }

    /// The PKCE verifier of our own leg to Gitea, derived from the flow's nonce so it need
    /// not be stored (43 characters of base64url, within RFC 7636's 43..128).
    pub fn upstream_verifier(&self, nonce: &str) -> String {
        B64.encode(hmac(&self.pkce, nonce.as_bytes()))
    }

    /// Encrypts `plain` (Gitea tokens at rest) with ChaCha20-Poly1305 and a random nonce.
    pub fn seal(&self, plain: &[u8]) -> Result<String, CryptoError> {
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.seal).map_err(|_| CryptoError::Decrypt)?,
        );
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(B64.encode(out))
    }

    /// Decrypts a value from `seal`, sealed under the current or the previous secret.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        self.first_accepted(CryptoError::Decrypt, |keys| keys.open_one(sealed))
    }

    fn open_one(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let raw = B64.decode(sealed).map_err(|_| CryptoError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.seal).map_err(|_| CryptoError::Decrypt)?,
        );
        let mut buf = body.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(plain.to_vec())
    }
}

/// `n` random bytes as base64url (tokens, codes, nonces, client ids).
pub fn random_token(n: usize) -> Result<String, CryptoError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(B64.encode(bytes))
}

/// SHA-256 hex: how codes, refresh tokens and client secrets are stored.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// RFC 7636 S256: `base64url(sha256(verifier)) == challenge`, constant time.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !valid {
        return false;
    }
    let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(&Secret::new("0123456789abcdef0123456789abcdef"))
    }

    #[test]
    fn signed_values_round_trip_and_tampering_is_caught() {
        let k = keys();
        let signed = k.sign(&serde_json::json!({"a": 1}));
        let v: serde_json::Value = k.verify(&signed).unwrap();
        assert_eq!(v["a"], 1);
        let (body, tag) = signed.split_once('.').unwrap();
        let forged = format!("{}.{tag}", B64.encode(br#"{"a":2}"#));
        assert_eq!(
            k.verify::<serde_json::Value>(&forged),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            k.verify::<serde_json::Value>(body),
            Err(CryptoError::Malformed)
        );
        let other = Keys::derive(&Secret::new("another-secret-another-secret-xx"));
        assert_eq!(
            other.verify::<serde_json::Value>(&signed),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering() {
        let k = keys();
        let sealed = k.seal(b"gitea-access-token").unwrap();
        assert_eq!(k.open(&sealed).unwrap(), b"gitea-access-token");
        assert_ne!(
            k.seal(b"gitea-access-token").unwrap(),
            sealed,
            "random nonce"
        );
        let mut raw = B64.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(k.open(&B64.encode(raw)), Err(CryptoError::Decrypt));
    }

    /// A rotation: what the previous secret signed or sealed is still accepted, new values
    /// are made with the current one only, and an unknown secret's values are refused.
    #[test]
    fn the_previous_secret_is_accepted_never_used() {
        let old = keys();
        let unknown = Keys::derive(&Secret::new("an-unknown-secret-an-unknown-xxx"));
        let rotated = Keys::derive_with_previous(
            &Secret::new("the-new-secret-the-new-secret-xx"),
            Some(&Secret::new("0123456789abcdef0123456789abcdef")),
        );
        let sealed = old.seal(b"gitea-access-token").unwrap();
        assert_eq!(rotated.open(&sealed).unwrap(), b"gitea-access-token");
        let from_unknown = unknown.seal(b"gitea-access-token").unwrap();
        assert_eq!(rotated.open(&from_unknown), Err(CryptoError::Decrypt));

        let signed = old.sign(&serde_json::json!({"a": 1}));
        let v: serde_json::Value = rotated.verify(&signed).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(
            rotated.verify::<serde_json::Value>(&unknown.sign(&serde_json::json!({"a": 1}))),
            Err(CryptoError::BadSignature)
        );
        assert!(rotated.csrf_ok("cookie", "req", &old.csrf_token("cookie", "req")));
        assert!(!rotated.csrf_ok("cookie", "req", &unknown.csrf_token("cookie", "req")));

        // New values use the current secret: the old keys alone cannot read them.
        let fresh = rotated.seal(b"x").unwrap();
        assert_eq!(old.open(&fresh), Err(CryptoError::Decrypt));
        let fresh = rotated.sign(&serde_json::json!({"a": 2}));
        assert_eq!(
            old.verify::<serde_json::Value>(&fresh),
            Err(CryptoError::BadSignature)
        );
        // Without a previous secret, nothing but the current is accepted.
        let current_only = Keys::derive(&Secret::new("the-new-secret-the-new-secret-xx"));
        assert_eq!(current_only.open(&sealed), Err(CryptoError::Decrypt));
    }

    #[test]
    fn pkce() {
        // RFC 7636 appendix B
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(pkce_challenge(verifier), challenge);
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches("short", challenge));
        assert!(!pkce_s256_matches(&format!("{verifier}x"), challenge));
    }

    #[test]
    fn csrf_is_bound_to_cookie_and_request() {
        let k = keys();
        let t = k.csrf_token("cookie", "req");
        assert!(k.csrf_ok("cookie", "req", &t));
        assert!(!k.csrf_ok("other", "req", &t));
        assert!(!k.csrf_ok("cookie", "req2", &t));
    }
}
