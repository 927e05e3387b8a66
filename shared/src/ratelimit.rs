//! Rate limits at the edge, through the `RateLimiter` storage seam: per client IP
//! (`RATE_LIMIT_PER_MINUTE`), per credential (`TOKEN_RATE_LIMIT_PER_MINUTE`) and per IP
//! for authentication failures (`MAX_AUTH_FAILURES` within `AUTH_FAILURE_WINDOW` seconds
//! blocks the IP until the window ends).
//!
//! The client IP is the connection's peer (`ConnectInfo`) or, on Lambda, the source IP of
//! the request context. `X-Forwarded-For` is read only when that peer is one of
//! `TRUSTED_PROXIES`, and then only up to the first hop that is not a trusted proxy, so a
//! client cannot pick its own counter by sending the header.
//!
//! Every route is limited except the health checks. A refused request gets 429 with
//! `Retry-After`, a JSON body (a JSON-RPC error on `/mcp`), one audit `security_event` per
//! key and window, and a `rate_limit_hit` metric. A request whose client IP is unknown
//! (in-process tests only: both servers always provide one) skips the IP-keyed limits.
//! When the limiter's storage fails the request is let through and the failure logged:
//! an outage of the counter store must not take the gateway down with it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::audit::AuditEvent;
use crate::http::{ApiError, RequestId};
use crate::state::AppState;

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

/// The rate-limit key of a credential: a hash of the `Authorization` value, never the
/// value itself (the key may be stored in DynamoDB and logged).
pub fn credential_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?;
    let digest = Sha256::digest(value.as_bytes());
    Some(format!("token:{}", hex::encode(&digest[..16])))
}

/// Which limit refused a request (the metric label and audit outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Ip,
    Token,
    AuthFailures,
}

impl LimitScope {
    pub fn label(self) -> &'static str {
        match self {
            LimitScope::Ip => "ip",
            LimitScope::Token => "token",
            LimitScope::AuthFailures => "auth_failures",
        }
    }
}

fn exempt(path: &str) -> bool {
    path == "/health" || path.starts_with("/health/")
}

/// The edge layer: resolves the client IP, applies the limits, counts 401 answers as
/// authentication failures of the IP.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = client_ip(peer_ip(&req), req.headers(), &state.config.trusted_proxies);
    let path = req.uri().path().to_string();
    if exempt(&path) {
        return next.run(req).await;
    }
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let config = &state.config;
    let failure_window = Duration::from_secs(config.auth_failure_window);
    let minute = Duration::from_secs(60);
    if let Some(ip) = ip {
        let key = format!("authfail:{ip}");
        match state.storage.rate_limiter.peek(&key, failure_window).await {
            Ok(w) if w.count >= config.max_auth_failures => {
                // Blocked until the failures' window ends.
                return refuse(
                    &state,
                    LimitScope::AuthFailures,
                    &key,
                    &path,
                    &request_id,
                    w.resets_in,
                )
                .await;
            }
            Ok(_) => {}
            Err(e) => {
                state.metrics.rate_limiter_fail_open();
                tracing::warn!(error = %e, "rate limiter unavailable; not limiting")
            }
        }
        let key = format!("ip:{ip}");
        if let Some(wait) = check(&state, &key, config.rate_limit_per_minute, minute).await {
            return refuse(&state, LimitScope::Ip, &key, &path, &request_id, wait).await;
        }
    }
    if let Some(key) = credential_key(req.headers()) {
        if let Some(wait) = check(&state, &key, config.token_rate_limit_per_minute, minute).await {
            return refuse(&state, LimitScope::Token, &key, &path, &request_id, wait).await;
        }
    }
    let response = next.run(req).await;
    // The failure itself is counted where authentication fails (`routes::require_auth`);
    // here it only counts against the IP.
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(ip) = ip {
            let key = format!("authfail:{ip}");
            if let Err(e) = state
                .storage
                .rate_limiter
                .hit(&key, u32::MAX, failure_window)
                .await
            {
                tracing::warn!(error = %e, "could not count an authentication failure");
            }
        }
    }
    response
}

/// One hit on `key`; `Some(retry_after)` when over the limit.
async fn check(state: &AppState, key: &str, limit: u32, window: Duration) -> Option<Duration> {
    match state.storage.rate_limiter.hit(key, limit, window).await {
        Ok(d) if !d.allowed => Some(d.retry_after),
        Ok(_) => None,
        Err(e) => {
            state.metrics.rate_limiter_fail_open();
            tracing::warn!(error = %e, "rate limiter unavailable; not limiting");
            None
        }
    }
}

/// The 429 answer; the first refusal per key and window is also an audit security event.
async fn refuse(
    state: &AppState,
    scope: LimitScope,
    key: &str,
    path: &str,
    request_id: &str,
    retry_after: Duration,
) -> Response {
    state.metrics.rate_limit_hit(scope.label());
    // The limiter itself throttles the audit trail: one record per key and window, so a
    // flood of refused requests is not also a flood of audit writes.
    let first = state
        .storage
        .rate_limiter
        .hit(
            &format!("audited:{key}"),
            1,
            retry_after.max(Duration::from_secs(1)),
        )
        .await
        .map(|d| d.allowed)
        .unwrap_or(true);
    if first {
        let event = AuditEvent::security_event(format!("rate_limited:{}", scope.label()))
            .with_request_id(request_id)
            .with_correlation_id(request_id)
            .with_decision("deny")
            .with_context("key", key)
            .with_context("path", path);
        if let Err(e) = state.audit.record(event).await {
            tracing::error!(error = %e, "could not audit a rate-limit refusal");
        }
    }
    tracing::warn!(scope = scope.label(), key, "rate limited");
    // Rounded up: a client that waits this long finds the window over.
    let secs = (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
    let message = match scope {
        LimitScope::AuthFailures => format!(
            "too many failed authentication attempts from this address; try again in {secs} s"
        ),
        LimitScope::Ip => format!("too many requests from this address; try again in {secs} s"),
        LimitScope::Token => {
            format!("too many requests with this credential; try again in {secs} s")
        }
    };
    if crate::http::is_mcp_path(path) {
        let mut response =
            crate::http::jsonrpc_error(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED, message);
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
    fn credential_keys_are_hashes() {
        let mut h = HeaderMap::new();
        assert_eq!(credential_key(&h), None);
        h.insert(
            "authorization",
            "Bearer secret-token-value".parse().unwrap(),
        );
        let key = credential_key(&h).unwrap();
        assert!(key.starts_with("token:") && key.len() == 6 + 32, "{key}");
        assert!(!key.contains("secret"));
    }
}
