//! A named bundle that cannot be read is an error naming it, not a silent fall back to the
//! system's roots.

mod common;

#[tokio::test]
async fn an_unreadable_named_bundle_is_an_error() {
    aegis_http::set_roots(aegis_http::Roots::Named {
        file: Some("/nonexistent/aegis/bundle.pem".into()),
        dirs: vec![],
    })
    .unwrap();
    let Err(error) = aegis_http::client_builder() else {
        panic!("no roots, no client");
    };
    let error = error.to_string();
    assert!(error.contains("/nonexistent/aegis/bundle.pem"), "{error}");
    let again = common::get("https://localhost:9/").await.unwrap_err();
    assert!(again.contains("SSL_CERT_FILE"), "{again}");
}
