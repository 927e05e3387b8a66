//! By default the system's roots are the trust store: a server whose certificate a private
//! CA signed is refused (unknown issuer), and the roots cannot be changed once a client is
//! built.

mod common;

#[tokio::test]
async fn a_private_ca_is_not_trusted_by_default() {
    aegis_http::tls_config().expect("this machine's trust store holds roots");
    let ca = common::PrivateCa::new();
    let url = ca.serve().await;
    let error = common::get(&url)
        .await
        .expect_err("a private CA must not be trusted");
    assert!(error.contains("UnknownIssuer"), "{error}");

    let late = aegis_http::set_roots(aegis_http::Roots::Named {
        file: Some("/etc/hosts".into()),
        dirs: vec![],
    });
    assert!(late.is_err(), "roots chosen after the first client");
    assert!(aegis_http::set_roots(aegis_http::Roots::System).is_ok());
}
