//! Client ID Metadata Documents: a `client_id` that is an https URL names a JSON document
//! describing the client. Fetching it is an SSRF risk, so: https only, the host must
//! resolve to public addresses only (no loopback, private, link-local, CGNAT, multicast,
//! documentation or unspecified ranges), the connection is pinned to the addresses we
//! checked (no DNS rebinding between check and connect), no redirects, 5 s, 64 KiB.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Largest document accepted.
const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// A fetched, validated client description.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ClientMetadata {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CimdError {
    #[error("client id url must be https with a host and a path")]
    NotHttps,
    #[error("client id url resolves to a non-public address")]
    NonPublic,
    #[error("client id url could not be resolved")]
    Unresolvable,
    #[error("client metadata document could not be fetched: {0}")]
    Fetch(String),
    #[error("client metadata document is invalid: {0}")]
    Invalid(String),
}

/// Whether an address may be fetched from the public internet side.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

/// Fetches and caches client metadata documents.
#[derive(Debug)]
pub struct CimdFetcher {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, ClientMetadata)>>,
}

impl CimdFetcher {
    pub fn new(ttl_seconds: u64) -> Self {
        Self {
            ttl: Duration::from_secs(ttl_seconds),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a client id is a metadata-document URL rather than a registered id.
    pub fn is_url(client_id: &str) -> bool {
        client_id.starts_with("https://") || client_id.starts_with("http://")
    }

    pub async fn fetch(&self, client_id: &str) -> Result<ClientMetadata, CimdError> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, meta)) = cache.get(client_id) {
                if at.elapsed() < self.ttl {
                    return Ok(meta.clone());
                }
            }
        }
        let url = url::Url::parse(client_id).map_err(|_| CimdError::NotHttps)?;
        if url.scheme() != "https" || url.path() == "/" || url.fragment().is_some() {
            return Err(CimdError::NotHttps);
        }
        let host = url.host_str().ok_or(CimdError::NotHttps)?.to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            _ => tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| CimdError::Unresolvable)?
                .map_err(|_| CimdError::Unresolvable)?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(CimdError::Unresolvable);
        }
        if addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(CimdError::NonPublic);
        }
        let client = aegis_http::client_builder()
            .map_err(|e| CimdError::Fetch(e.to_string()))?
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| CimdError::Fetch(e.to_string()))?;
        let mut resp = client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| CimdError::Fetch(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(CimdError::Fetch(format!(
                "status {}",
                resp.status().as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| CimdError::Fetch(e.without_url().to_string()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err(CimdError::Invalid("larger than 64 KiB".into()));
            }
        }
        let meta: ClientMetadata =
            serde_json::from_slice(&body).map_err(|e| CimdError::Invalid(e.to_string()))?;
        if meta.client_id != client_id {
            return Err(CimdError::Invalid(
                "`client_id` differs from its url".into(),
            ));
        }
        if meta.redirect_uris.is_empty() {
            return Err(CimdError::Invalid("no `redirect_uris`".into()));
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(client_id.to_string(), (Instant::now(), meta.clone()));
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "192.0.2.1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad}");
        }
        for good in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(is_public(good.parse().unwrap()), "{good}");
        }
    }

    #[tokio::test]
    async fn refuses_loopback_and_plain_http() {
        let f = CimdFetcher::new(60);
        assert_eq!(
            f.fetch("https://127.0.0.1/client.json").await,
            Err(CimdError::NonPublic)
        );
        assert_eq!(
            f.fetch("https://[::1]/client.json").await,
            Err(CimdError::NonPublic)
        );
        assert_eq!(
            f.fetch("https://localhost/client.json").await,
            Err(CimdError::NonPublic)
        );
        assert_eq!(
            f.fetch("http://example.com/client.json").await,
            Err(CimdError::NotHttps)
        );
        assert_eq!(
            f.fetch("https://example.com/").await,
            Err(CimdError::NotHttps)
        );
    }
}
