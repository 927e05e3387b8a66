//! Outbound HTTP: every client this process builds (the Gitea client, the OAuth server's
//! client and its client-metadata fetches, the AWS SDK's client) shares one TLS
//! configuration, built once per process.
//!
//! Building it reads and parses the system's root certificates (a few milliseconds); reqwest
//! would do that again for every `Client` it builds, and the AWS SDK's own client once more.
//! There is one HTTP stack too: reqwest (hyper 1, rustls 0.23 with aws-lc-rs), HTTP/1.1 only;
//! the AWS adapters hand the SDK a reqwest client instead of its default hyper client.
//!
//! Start here: [`client_builder`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The shared TLS configuration could not be built (no usable root certificate on this
/// machine, or no crypto provider).
#[derive(Debug, Clone, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct TlsSetupError(String);

/// The process's TLS client configuration: aws-lc-rs, TLS 1.2 and 1.3, the platform's root
/// certificates (read once, on first use), ALPN `http/1.1`.
pub fn tls_config() -> Result<rustls::ClientConfig, TlsSetupError> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, TlsSetupError>> = OnceLock::new();
    CONFIG.get_or_init(build_tls_config).clone()
}

static ROOT_LOADS: AtomicUsize = AtomicUsize::new(0);

/// How many times this process has read its root certificates: 1 once any client exists,
/// however many clients were built.
pub fn root_loads() -> usize {
    ROOT_LOADS.load(Ordering::Relaxed)
}

fn build_tls_config() -> Result<rustls::ClientConfig, TlsSetupError> {
    ROOT_LOADS.fetch_add(1, Ordering::Relaxed);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| TlsSetupError(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // reqwest uses a preconfigured TLS backend as given: it does not set ALPN itself
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest builder over the shared TLS configuration; callers add their own timeouts,
/// headers and redirect policy.
pub fn client_builder() -> Result<reqwest::ClientBuilder, TlsSetupError> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls_config()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_built_once_and_shared() {
        let a = tls_config().expect("this machine has root certificates");
        for _ in 0..3 {
            client_builder().unwrap().build().unwrap();
        }
        assert_eq!(root_loads(), 1);
        assert_eq!(a.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[tokio::test]
    async fn reqwest_accepts_the_preconfigured_backend() {
        // reqwest refuses (at build time) a TLS config of another rustls version than its own
        let client = client_builder()
            .unwrap()
            .build()
            .expect("same rustls as reqwest");
        drop(client);
    }
}
