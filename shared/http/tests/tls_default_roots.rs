//! With no `SSL_CERT_*` variable, the system's bundle is the trust store: a server whose
//! certificate a private CA signed is refused (unknown issuer), not trusted.

mod common;

#[tokio::test]
async fn a_private_ca_is_not_trusted_by_default() {
    // SAFETY: set before any thread of this test process reads the environment (the TLS
    // configuration is built below, once).
    unsafe {
        std::env::remove_var("SSL_CERT_FILE");
        std::env::remove_var("SSL_CERT_DIR");
    }
    aegis_http::tls_config().expect("this machine's distribution bundle holds roots");
    let ca = common::PrivateCa::new();
    let url = ca.serve().await;
    let error = common::get(&url)
        .await
        .expect_err("a private CA must not be trusted");
    assert!(error.contains("UnknownIssuer"), "{error}");
}
