//! `SSL_CERT_DIR` names a directory of PEM files to trust instead of the distribution's
//! bundle.

mod common;

#[tokio::test]
async fn ssl_cert_dir_names_the_roots() {
    let ca = common::PrivateCa::new();
    let dir = std::env::temp_dir().join(format!("aegis-http-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("private-ca.pem"), &ca.ca_pem).unwrap();
    // SAFETY: set before any thread of this test process reads the environment.
    unsafe {
        std::env::remove_var("SSL_CERT_FILE");
        std::env::set_var("SSL_CERT_DIR", &dir);
    }
    let url = ca.serve().await;
    let body = common::get(&url).await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(body.as_deref(), Ok("ok"));
}
