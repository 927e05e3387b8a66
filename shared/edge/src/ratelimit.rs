//! Rate limits, through the `RateLimiter` storage seam (docs/security.md, "Rate limits"):
//! - unauthenticated traffic per client IP (`RATE_LIMIT_PER_MINUTE`): public routes, and
//!   requests to authenticated routes without a valid credential;
//! - the OAuth endpoints, discovery documents and `/register` per client IP, on a budget
//!   of their own (`OAUTH_RATE_LIMIT_PER_MINUTE`), so logins never spend tool-call budget;
//! - authenticated requests per credential (`TOKEN_RATE_LIMIT_PER_MINUTE`), whatever the
//!   address: one agent behind a NAT does not share its budget with its neighbours;
//! - presented, invalid credentials per client IP (`MAX_AUTH_FAILURES` within
//!   `AUTH_FAILURE_WINDOW` seconds): further failing attempts from that address are
//!   refused until the window ends. A request without a credential is not a failure
//!   (it is how OAuth discovery starts), and a valid credential is never refused.
//!
//! The client IP is the connection's peer (`ConnectInfo`) or, on Lambda, the source IP of
//! the request context. `X-Forwarded-For` is read only when that peer is one of
//! `TRUSTED_PROXIES`, and then only up to the first hop that is not a trusted proxy, so a
//! client cannot pick its own counter by sending the header.
//!
//! Every route is limited except the health checks. A refused request gets 429 with
//! `Retry-After`, a JSON body (a JSON-RPC error on `/mcp`), one audit `security_event` per
//! key and window, and a `rate_limit_hit` metric; except an authenticated `tools/call`
//! over its credential's budget, which is a tool result with `isError` ("try again in N
//! s") so the client's session survives (`routes`). A request whose client IP is unknown
//! (in-process tests only: both servers always provide one) skips the IP-keyed limits.
//! When the limiter's storage fails the request is let through and the failure logged:
//! an outage of the counter store must not take the gateway down with it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use crate::http::{ApiError, JsonRpcRefusal, RequestId};
use crate::Edge;
use aegis_core::audit::AuditEvent;
pub use aegis_storage::{RateKey, RateScope};
use serde_json::Value;

/// JSON-RPC error code of a request refused by a rate limit (server-defined range).
pub const RATE_LIMITED: i64 = -32029;

/// The peer address of the connection: `ConnectInfo` locally, the request context's
/// source IP on Lambda.
pub fn peer_ip(req: &Request) -> Option<IpAddr> {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        return Some(addr.ip());
    }
    lambda_source_ip(req)
}

#[cfg(feature = "lambda")]
fn lambda_source_ip(req: &Request) -> Option<IpAddr> {
    use lambda_http::request::RequestContext;
    let source = match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }?;
    source.trim().parse().ok()
}

#[cfg(not(feature = "lambda"))]
fn lambda_source_ip(_req: &Request) -> Option<IpAddr> {
    None
}

/// The client IP: `peer` unless it is a trusted proxy, in which case the rightmost
/// `X-Forwarded-For` hop that is not itself a trusted proxy. A malformed hop stops the
/// walk at the last trusted address, so garbage cannot select a fresh counter.
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The key of a bearer credential's counter ([`RateKey::credential`]): the token after
/// the scheme (case-insensitive) and surrounding whitespace are stripped, so `Bearer x`,
/// `bearer  x ` share one counter.
pub fn credential_key(headers: &HeaderMap) -> Option<RateKey> {
    let token = crate::auth::bearer_token(headers).ok()?;
    Some(RateKey::credential(token))
}

/// How the edge limits a route before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteClass {
    /// Health checks: never limited
    Exempt,
    /// Authenticated routes (`POST` to `/mcp`, `/mcp/sse`, `/mcp/tool/call`,
    /// `/automation/jobs/run`): limited after authentication, by `require_auth` and the
    /// `/mcp` envelope (per credential when valid, per address when not)
    Authenticated,
    /// Discovery documents, `/register`, `/oauth/*`: their own per-address budget
    OAuth,
    /// Everything else: the per-address budget of unauthenticated traffic
    Public,
}

fn classify(method: &http::Method, path: &str) -> RouteClass {
    if path == "/health" || path.starts_with("/health/") {
        return RouteClass::Exempt;
    }
    if path.starts_with("/.well-known/") || path == "/register" || path.starts_with("/oauth/") {
        return RouteClass::OAuth;
    }
    let authenticated = matches!(
        path,
        "/mcp" | "/mcp/sse" | "/mcp/tool/call" | "/automation/jobs/run"
    );
    if authenticated && method == http::Method::POST {
        RouteClass::Authenticated
    } else {
        RouteClass::Public
    }
}

/// The client IP of a request (see [`client_ip`]).
pub fn request_ip(state: &Edge, req: &Request) -> Option<IpAddr> {
    client_ip(peer_ip(req), req.headers(), &state.config.trusted_proxies)
}

/// The edge layer. Unauthenticated traffic is limited per address here (the OAuth
/// endpoints with a budget of their own); authenticated routes are limited after
/// authentication (`routes::require_auth`). A 401 answered to a presented credential
/// counts as an authentication failure of the address, and once the address has
/// `MAX_AUTH_FAILURES` of them, further failing attempts are answered 429 instead: a
/// failure block refuses only what would fail anyway, never a valid credential and never
/// a discovery document (which never answers 401).
pub async fn rate_limit(State(state): State<Edge>, req: Request, next: Next) -> Response {
    let class = classify(req.method(), req.uri().path());
    if matches!(class, RouteClass::Exempt | RouteClass::Authenticated) {
        return next.run(req).await;
    }
    let ip = request_ip(&state, &req);
    let path = req.uri().path().to_string();
    let request_id = request_id_of(&req);
    let config = &state.config;
    if let Some(ip) = ip {
        let (key, limit) = match class {
            RouteClass::OAuth => (
                RateKey::oauth_ip(ip),
                config.limits.oauth_rate_limit_per_minute,
            ),
            _ => (RateKey::ip(ip), config.limits.rate_limit_per_minute),
        };
        if let Some(wait) = check(&state, &key, limit).await {
            return refuse(&state, &key, &path, &request_id, wait).await;
        }
    }
    // A 401 here answers a presented credential: a bearer token (`/metrics`) or an OAuth
    // client's own (the token and revocation endpoints, which take it in the body too).
    let presented = req.headers().contains_key(http::header::AUTHORIZATION)
        || matches!(path.as_str(), "/oauth/token" | "/oauth/revoke");
    let response = next.run(req).await;
    if response.status() == StatusCode::UNAUTHORIZED && presented {
        if let Some(ip) = ip {
            if let Some(refused) = auth_failed(&state, ip, &path, &request_id).await {
                return refused;
            }
        }
    }
    response
}

fn request_id_of(req: &Request) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// A presented credential failed from `ip`: `Some(429)` when the address is already
/// blocked (the attempt is refused, not counted again), otherwise the failure is counted
/// and `None` lets the 401 through.
pub async fn auth_failed(
    state: &Edge,
    ip: IpAddr,
    path: &str,
    request_id: &str,
) -> Option<Response> {
    let key = RateKey::auth_failures(ip);
    let window = Duration::from_secs(state.config.limits.auth_failure_window);
    match state.storage.rate_limiter.peek(&key, window).await {
        Ok(w) if w.count >= state.config.limits.max_auth_failures => {
            // Blocked until the failures' window ends.
            return Some(refuse(state, &key, path, request_id, w.resets_in).await);
        }
        Ok(_) => {}
        Err(e) => {
            state.metrics.rate_limiter_fail_open();
            tracing::warn!(error = %e, "rate limiter unavailable; not limiting")
        }
    }
    if let Err(e) = state.storage.rate_limiter.hit(&key, u32::MAX, window).await {
        tracing::warn!(error = %e, "could not count an authentication failure");
    }
    None
}

/// An unauthenticated request to an authenticated route (no credential, or one that
/// failed) spends the address's budget: `Some(429)` when it is over.
pub async fn unauthenticated(
    state: &Edge,
    ip: Option<IpAddr>,
    path: &str,
    request_id: &str,
) -> Option<Response> {
    let key = RateKey::ip(ip?);
    let wait = check(state, &key, state.config.limits.rate_limit_per_minute).await?;
    Some(refuse(state, &key, path, request_id, wait).await)
}

/// One authenticated request on the credential's budget: `Some(retry_after)` when the
/// credential has spent `TOKEN_RATE_LIMIT_PER_MINUTE` in the current minute. The budget
/// may be spent in one burst; the window is 60 s.
pub async fn credential_over_limit(
    state: &Edge,
    headers: &HeaderMap,
) -> Option<(RateKey, Duration)> {
    let key = credential_key(headers)?;
    let wait = check(state, &key, state.config.limits.token_rate_limit_per_minute).await?;
    state.metrics.rate_limit_hit(key.scope().label());
    tracing::warn!(scope = key.scope().label(), key = %key, "rate limited");
    Some((key, wait))
}

/// One hit on `key` within a minute; `Some(retry_after)` when over the limit.
async fn check(state: &Edge, key: &RateKey, limit: u32) -> Option<Duration> {
    let minute = Duration::from_secs(60);
    match state.storage.rate_limiter.hit(key, limit, minute).await {
        Ok(d) if !d.allowed => Some(d.retry_after),
        Ok(_) => None,
        Err(e) => {
            state.metrics.rate_limiter_fail_open();
            tracing::warn!(error = %e, "rate limiter unavailable; not limiting");
            None
        }
    }
}

/// Whole seconds to wait, rounded up (a client that waits this long finds the window
/// over), at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The first refusal per key and window is an audit security event: the limiter itself
/// throttles the audit trail, so a flood of refused requests is not also a flood of
/// audit writes.
pub async fn audit_refusal(
    state: &Edge,
    key: &RateKey,
    path: &str,
    request_id: &str,
    retry_after: Duration,
) {
    let first = state
        .storage
        .rate_limiter
        .hit(
            &key.refusal_audited(),
            1,
            retry_after.max(Duration::from_secs(1)),
        )
        .await
        .map(|d| d.allowed)
        .unwrap_or(true);
    if first {
        let event = AuditEvent::security_event(format!("rate_limited:{}", key.scope().label()))
            .with_request_id(request_id)
            .with_correlation_id(request_id)
            .with_decision("deny")
            .with_context("key", key.to_string())
            .with_context("path", path);
        if let Err(e) = state.audit.record(event).await {
            tracing::error!(error = %e, "could not audit a rate-limit refusal");
        }
    }
}

/// The 429 answer (a JSON-RPC error on `/mcp`), counted and audited.
async fn refuse(
    state: &Edge,
    key: &RateKey,
    path: &str,
    request_id: &str,
    retry_after: Duration,
) -> Response {
    let scope = key.scope();
    state.metrics.rate_limit_hit(scope.label());
    audit_refusal(state, key, path, request_id, retry_after).await;
    tracing::warn!(scope = scope.label(), key = %key, "rate limited");
    let secs = retry_after_secs(retry_after);
    let message = match scope {
        RateScope::AuthFailures => format!(
            "too many failed authentication attempts from this address; try again in {secs} s"
        ),
        RateScope::Ip => {
            format!("too many unauthenticated requests from this address; try again in {secs} s")
        }
        RateScope::OAuth => format!(
            "too many OAuth and discovery requests from this address; try again in {secs} s"
        ),
        RateScope::Token => {
            format!("too many requests with this credential; try again in {secs} s")
        }
        // Not keys the edge refuses on (the OAuth server answers registrations itself).
        RateScope::ClientRegistrations | RateScope::RefusalAudited => {
            format!("too many requests; try again in {secs} s")
        }
    };
    if crate::http::is_mcp_path(path) {
        let mut response = crate::http::jsonrpc_refusal(
            JsonRpcRefusal::RateLimited,
            Value::Null,
            RATE_LIMITED,
            message,
        );
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        return response;
    }
    ApiError::TooManyRequests {
        message,
        retry_after_secs: secs,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn client_ips() {
        let trusted: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: &[(&str, &[&str], &[ipnet::IpNet], &str)] = &[
            // untrusted peer: the header is ignored whatever it says
            ("203.0.113.7", &["198.51.100.1"], &trusted, "203.0.113.7"),
            ("203.0.113.7", &["198.51.100.1"], &[], "203.0.113.7"),
            // trusted peer: the rightmost untrusted hop
            ("10.0.0.2", &["198.51.100.1"], &trusted, "198.51.100.1"),
            (
                "10.0.0.2",
                &["6.6.6.6, 198.51.100.1, 10.0.0.9"],
                &trusted,
                "198.51.100.1",
            ),
            (
                "10.0.0.2",
                &["6.6.6.6", "198.51.100.1"],
                &trusted,
                "198.51.100.1",
            ),
            ("10.0.0.2", &["[2001:db8::1]:443"], &trusted, "2001:db8::1"),
            ("10.0.0.2", &["198.51.100.1:5000"], &trusted, "198.51.100.1"),
            // garbage stops the walk at the last trusted hop
            ("10.0.0.2", &["6.6.6.6, garbage"], &trusted, "10.0.0.2"),
            (
                "10.0.0.2",
                &["6.6.6.6, garbage, 10.0.0.3"],
                &trusted,
                "10.0.0.3",
            ),
            ("10.0.0.2", &[], &trusted, "10.0.0.2"),
        ];
        for (peer, xff, trusted, expected) in cases {
            assert_eq!(
                client_ip(Some(ip(peer)), &headers(xff), trusted),
                Some(ip(expected)),
                "{peer} {xff:?}"
            );
        }
        assert_eq!(client_ip(None, &headers(&["1.2.3.4"]), &trusted), None);
    }

    #[test]
    fn credential_keys_are_hashes_of_the_normalised_token() {
        let key_of = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert("authorization", value.parse().unwrap());
            credential_key(&h).map(|k| k.to_string())
        };
        assert_eq!(credential_key(&HeaderMap::new()), None);
        let key = key_of("Bearer secret-token-value").unwrap();
        assert!(key.starts_with("token:") && key.len() == 6 + 32, "{key}");
        assert!(!key.contains("secret"));
        // Scheme case and whitespace do not make new buckets.
        for same in [
            "bearer secret-token-value",
            "BEARER  secret-token-value ",
            " Bearer secret-token-value",
        ] {
            assert_eq!(key_of(same).as_deref(), Some(key.as_str()), "{same:?}");
        }
        assert_ne!(key_of("Bearer other-token").unwrap(), key);
        // Not a bearer credential: no credential bucket (it fails authentication).
        assert_eq!(key_of("Basic abc"), None);
    }

    #[test]
    fn routes_are_classified() {
        use http::Method;
        let cases = [
            (Method::GET, "/health", RouteClass::Exempt),
            (Method::GET, "/health/jobs", RouteClass::Exempt),
            (Method::POST, "/mcp", RouteClass::Authenticated),
            (Method::POST, "/mcp/sse", RouteClass::Authenticated),
            (Method::POST, "/mcp/tool/call", RouteClass::Authenticated),
            (
                Method::POST,
                "/automation/jobs/run",
                RouteClass::Authenticated,
            ),
            (Method::GET, "/mcp", RouteClass::Public),
            (Method::GET, "/mcp/tools", RouteClass::Public),
            (Method::GET, "/", RouteClass::Public),
            (Method::POST, "/automation/webhook", RouteClass::Public),
            (
                Method::GET,
                "/.well-known/oauth-protected-resource",
                RouteClass::OAuth,
            ),
            (Method::POST, "/register", RouteClass::OAuth),
            (Method::POST, "/oauth/token", RouteClass::OAuth),
            (Method::GET, "/oauth/authorize", RouteClass::OAuth),
        ];
        for (method, path, class) in cases {
            assert_eq!(classify(&method, path), class, "{method} {path}");
        }
    }
}
