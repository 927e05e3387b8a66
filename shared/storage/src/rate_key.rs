//! The key of a rate-limit counter: one type, one constructor per scope, and the only thing
//! [`crate::RateLimiter`] accepts, so every key is spelled in this file.
//!
//! The strings are stored (the DynamoDB item `rate#<key>`) and audited, so they must not
//! change between releases: a changed spelling would start every counter afresh. A test
//! pins each one.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// Which limit a key counts: the metric label and the audit outcome of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateScope {
    /// Unauthenticated requests from one address (`RATE_LIMIT_PER_MINUTE`)
    Ip,
    /// The OAuth endpoints, discovery documents and `/register` from one address
    /// (`OAUTH_RATE_LIMIT_PER_MINUTE`): logins never spend the tool-call budget
    OAuth,
    /// One credential, whatever address it comes from (`TOKEN_RATE_LIMIT_PER_MINUTE`)
    Token,
    /// Presented, invalid credentials from one address (`MAX_AUTH_FAILURES`)
    AuthFailures,
    /// Dynamic client registrations, server-wide (`DCR_MAX_CLIENTS_PER_HOUR`)
    ClientRegistrations,
    /// Whether a refusal on another key was already audited in its window
    RefusalAudited,
}

impl RateScope {
    /// Whether a hit may be served from a lease of several tokens taken at once (the
    /// DynamoDB limiter, ADR 0012): the budgets of requests, whose cost is that tokens an
    /// instance leased and did not use are lost to the window. Not the counts that are read
    /// back (`peek` on authentication failures), the once-per-window refusal marker, or
    /// the server-wide registration count (one key shared by every instance).
    pub fn leasable(self) -> bool {
        match self {
            RateScope::Ip | RateScope::OAuth | RateScope::Token => true,
            RateScope::AuthFailures
            | RateScope::ClientRegistrations
            | RateScope::RefusalAudited => false,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RateScope::Ip => "ip",
            RateScope::OAuth => "oauth",
            RateScope::Token => "token",
            RateScope::AuthFailures => "auth_failures",
            RateScope::ClientRegistrations => "client_registrations",
            RateScope::RefusalAudited => "refusal_audited",
        }
    }
}

/// A rate-limit counter's key. Never holds a raw credential (it is stored and logged).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    scope: RateScope,
    key: String,
}

impl RateKey {
    /// Unauthenticated requests from `ip`: `ip:<ip>`.
    pub fn ip(ip: IpAddr) -> Self {
        Self::new(RateScope::Ip, format!("ip:{ip}"))
    }

    /// The OAuth endpoints and discovery documents from `ip`: `oauth:<ip>`.
    pub fn oauth_ip(ip: IpAddr) -> Self {
        Self::new(RateScope::OAuth, format!("oauth:{ip}"))
    }

    /// Failed authentications from `ip`: `authfail:<ip>`.
    pub fn auth_failures(ip: IpAddr) -> Self {
        Self::new(RateScope::AuthFailures, format!("authfail:{ip}"))
    }

    /// One bearer credential, given already normalised (scheme and surrounding whitespace
    /// stripped): `token:` and the first 128 bits of its SHA-256, hex.
    pub fn credential(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        Self::new(
            RateScope::Token,
            format!("token:{}", hex::encode(&digest[..16])),
        )
    }

    /// Dynamic client registrations, one counter for the whole server: `dcr:registrations`.
    pub fn client_registrations() -> Self {
        Self::new(RateScope::ClientRegistrations, "dcr:registrations".into())
    }

    /// Whether a refusal on `self` was audited in the current window: `audited:<key>`.
    pub fn refusal_audited(&self) -> Self {
        Self::new(RateScope::RefusalAudited, format!("audited:{}", self.key))
    }

    fn new(scope: RateScope, key: String) -> Self {
        Self { scope, key }
    }

    /// Which limit this key counts.
    pub fn scope(&self) -> RateScope {
        self.scope
    }

    /// The stored spelling.
    pub fn as_str(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored spellings, one per constructor: these are DynamoDB keys (`rate#<key>`)
    /// and must not change.
    #[test]
    fn key_strings_are_stable() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let cases = [
            (RateKey::ip(v4), RateScope::Ip, "ip:203.0.113.7"),
            (RateKey::ip(v6), RateScope::Ip, "ip:2001:db8::1"),
            (RateKey::oauth_ip(v4), RateScope::OAuth, "oauth:203.0.113.7"),
            (
                RateKey::auth_failures(v6),
                RateScope::AuthFailures,
                "authfail:2001:db8::1",
            ),
            (
                // SHA-256("secret-token-value"), first 16 bytes
                RateKey::credential("secret-token-value"),
                RateScope::Token,
                "token:e578add6b8420b292631d534db97f1b6",
            ),
            (
                RateKey::client_registrations(),
                RateScope::ClientRegistrations,
                "dcr:registrations",
            ),
            (
                RateKey::ip(v4).refusal_audited(),
                RateScope::RefusalAudited,
                "audited:ip:203.0.113.7",
            ),
            (
                RateKey::credential("secret-token-value").refusal_audited(),
                RateScope::RefusalAudited,
                "audited:token:e578add6b8420b292631d534db97f1b6",
            ),
        ];
        for (key, scope, expected) in cases {
            assert_eq!(key.as_str(), expected);
            assert_eq!(key.to_string(), expected);
            assert_eq!(key.scope(), scope, "{expected}");
        }
    }

    #[test]
    fn scope_labels_are_stable_and_only_request_budgets_lease() {
        let cases = [
            (RateScope::Ip, "ip", true),
            (RateScope::OAuth, "oauth", true),
            (RateScope::Token, "token", true),
            (RateScope::AuthFailures, "auth_failures", false),
            (
                RateScope::ClientRegistrations,
                "client_registrations",
                false,
            ),
            (RateScope::RefusalAudited, "refusal_audited", false),
        ];
        for (scope, label, leasable) in cases {
            assert_eq!(scope.label(), label);
            assert_eq!(scope.leasable(), leasable, "{label}");
        }
    }
}
