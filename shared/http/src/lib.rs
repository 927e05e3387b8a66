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
    let verifier = verifier(provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // reqwest uses a preconfigured TLS backend as given: it does not set ALPN itself
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// On Linux: the web PKI verifier over the system's roots ([`system_roots`]), which is what
/// the platform verifier builds there too, with the roots read from the bundle only.
#[cfg(target_os = "linux")]
fn verifier(
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TlsSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    let loaded = system_roots();
    roots.add_parsable_certificates(loaded.certs);
    if roots.is_empty() {
        let why = loaded
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(TlsSetupError(format!(
            "no root certificate could be read from the system (set SSL_CERT_FILE to a PEM bundle){why}"
        )));
    }
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
            .build()
            .map_err(|e| TlsSetupError(e.to_string()))?;
    Ok(verifier)
}

/// Elsewhere (a developer's macOS or Windows running the local shim): the OS verifier.
#[cfg(not(target_os = "linux"))]
fn verifier(
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, TlsSetupError> {
    let verifier = rustls_platform_verifier::Verifier::new(provider)
        .map_err(|e| TlsSetupError(e.to_string()))?;
    Ok(Arc::new(verifier))
}

/// The system's trusted roots on Linux: the distribution's bundle file alone
/// (`/etc/ssl/certs/ca-certificates.crt`, `/etc/pki/tls/certs/ca-bundle.crt`, ...), which
/// `update-ca-certificates` / `update-ca-trust` regenerate with every trusted root,
/// locally added ones included. `SSL_CERT_FILE` and `SSL_CERT_DIR`, when set, are read as
/// OpenSSL reads them; with no bundle, the certificate directories.
///
/// `rustls-native-certs` alone would also read every file of the certificate directory,
/// which on Debian holds each bundled root again as its own file: parsing every root twice
/// and opening some 150 files took 2.4 ms per start against 0.5 ms for the bundle alone
/// (example `tls_cost`).
#[cfg(target_os = "linux")]
fn system_roots() -> rustls_native_certs::CertificateResult {
    if openssl_probe::has_ssl_cert_env_vars() {
        return rustls_native_certs::load_native_certs();
    }
    match openssl_probe::probe().cert_file {
        Some(bundle) => rustls_native_certs::load_certs_from_paths(Some(&bundle), None),
        None => rustls_native_certs::load_native_certs(),
    }
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
