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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The shared TLS configuration could not be built (no usable root certificate on this
/// machine, or no crypto provider).
#[derive(Debug, Clone, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct TlsSetupError(String);

/// Where the process's trusted roots come from: the system's store, or the PEM files the
/// configuration names (`SSL_CERT_FILE`, `SSL_CERT_DIR`: `aegis_core::config::TlsTrust`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Roots {
    /// On Linux the distribution's bundle file; elsewhere the platform's verifier
    #[default]
    System,
    /// These files and directories only, in place of the system's roots, on every platform
    Named {
        file: Option<PathBuf>,
        dirs: Vec<PathBuf>,
    },
}

impl Roots {
    /// The roots a configuration names (`SSL_CERT_FILE`, `SSL_CERT_DIR`): the system's when
    /// it names none.
    pub fn from_paths(file: Option<PathBuf>, dirs: Vec<PathBuf>) -> Self {
        if file.is_none() && dirs.is_empty() {
            Self::System
        } else {
            Self::Named { file, dirs }
        }
    }
}

static ROOTS: OnceLock<Roots> = OnceLock::new();
static CONFIG: OnceLock<Result<rustls::ClientConfig, TlsSetupError>> = OnceLock::new();

/// Chooses the process's roots, once, before its first client (binaries call it right after
/// reading their configuration). Refused when another choice was made, or when a client was
/// already built over the default: a process trusts one set of roots.
pub fn set_roots(roots: Roots) -> Result<(), TlsSetupError> {
    // The first client fixes the default if nothing was chosen before it.
    let chosen = ROOTS.get_or_init(|| roots.clone());
    if *chosen != roots {
        return Err(TlsSetupError(format!(
            "the TLS roots were already chosen, or a client was built, over {chosen:?}; not {roots:?}"
        )));
    }
    Ok(())
}

/// The process's TLS client configuration: aws-lc-rs, TLS 1.2 and 1.3, the roots
/// [`set_roots`] chose (the system's by default), read once on first use; ALPN `http/1.1`.
pub fn tls_config() -> Result<rustls::ClientConfig, TlsSetupError> {
    CONFIG
        .get_or_init(|| build_tls_config(ROOTS.get_or_init(Roots::default)))
        .clone()
}

static ROOT_LOADS: AtomicUsize = AtomicUsize::new(0);

/// How many times this process has read its root certificates: 1 once any client exists,
/// however many clients were built.
pub fn root_loads() -> usize {
    ROOT_LOADS.load(Ordering::Relaxed)
}

fn build_tls_config(roots: &Roots) -> Result<rustls::ClientConfig, TlsSetupError> {
    ROOT_LOADS.fetch_add(1, Ordering::Relaxed);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = match roots {
        Roots::System => system_verifier(provider.clone())?,
        Roots::Named { file, dirs } => {
            webpki_verifier(named_roots(file.as_deref(), dirs)?, provider.clone())?
        }
    };
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

type Verifier = Arc<dyn rustls::client::danger::ServerCertVerifier>;

fn webpki_verifier(
    roots: rustls::RootCertStore,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Verifier, TlsSetupError> {
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
            .build()
            .map_err(|e| TlsSetupError(e.to_string()))?;
    Ok(verifier)
}

/// The roots the configuration names: every file must read, and at least one root parse.
fn named_roots(
    file: Option<&Path>,
    dirs: &[PathBuf],
) -> Result<rustls::RootCertStore, TlsSetupError> {
    let mut loaded = rustls_native_certs::load_certs_from_paths(file, None);
    for dir in dirs {
        let more = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        loaded.certs.extend(more.certs);
        loaded.errors.extend(more.errors);
    }
    if let Some(error) = loaded.errors.first() {
        return Err(TlsSetupError(format!(
            "could not read the roots SSL_CERT_FILE / SSL_CERT_DIR name: {error}"
        )));
    }
    root_store(
        loaded,
        "SSL_CERT_FILE / SSL_CERT_DIR hold no PEM root certificate",
    )
}

/// The loaded certificates that parse as roots; `none` (and the first load error) when
/// not one does.
fn root_store(
    loaded: rustls_native_certs::CertificateResult,
    none: &str,
) -> Result<rustls::RootCertStore, TlsSetupError> {
    let why = loaded
        .errors
        .first()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(loaded.certs);
    if roots.is_empty() {
        return Err(TlsSetupError(format!("{none}{why}")));
    }
    Ok(roots)
}

/// On Linux: the web PKI verifier over the distribution's bundle ([`system_roots`]), which
/// is what the platform verifier builds there too, with the roots read from the bundle only.
#[cfg(target_os = "linux")]
fn system_verifier(
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Verifier, TlsSetupError> {
    let roots = root_store(
        system_roots(),
        "no root certificate could be read from the system (set SSL_CERT_FILE to a PEM bundle)",
    )?;
    webpki_verifier(roots, provider)
}

/// Elsewhere (a developer's macOS or Windows running the local shim): the OS verifier.
#[cfg(not(target_os = "linux"))]
fn system_verifier(
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Verifier, TlsSetupError> {
    let verifier = rustls_platform_verifier::Verifier::new(provider)
        .map_err(|e| TlsSetupError(e.to_string()))?;
    Ok(Arc::new(verifier))
}

/// The system's trusted roots on Linux: the distribution's bundle file alone
/// (`/etc/ssl/certs/ca-certificates.crt`, `/etc/pki/tls/certs/ca-bundle.crt`, ...), which
/// `update-ca-certificates` / `update-ca-trust` regenerate with every trusted root,
/// locally added ones included; with no bundle, the certificate directories.
///
/// `rustls-native-certs` alone would also read every file of the certificate directory,
/// which on Debian holds each bundled root again as its own file: parsing every root twice
/// and opening some 150 files took 2.2-2.7 ms per start against 0.5 ms for the bundle alone
/// (example `tls_cost`). A root copied into `/etc/ssl/certs` without rebuilding the bundle
/// is therefore not trusted (troubleshooting.md).
#[cfg(target_os = "linux")]
fn system_roots() -> rustls_native_certs::CertificateResult {
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
