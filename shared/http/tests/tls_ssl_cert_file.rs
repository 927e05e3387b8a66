//! `SSL_CERT_FILE` names the bundle to trust instead of the distribution's: a self-hosted
//! Gitea behind a private CA (docs/troubleshooting.md).

mod common;

#[tokio::test]
async fn ssl_cert_file_names_the_roots() {
    let ca = common::PrivateCa::new();
    let dir = std::env::temp_dir().join(format!("aegis-http-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("bundle.pem");
    std::fs::write(&bundle, &ca.ca_pem).unwrap();
    // SAFETY: set before any thread of this test process reads the environment.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &bundle);
        std::env::remove_var("SSL_CERT_DIR");
    }
    let url = ca.serve().await;
    let body = common::get(&url).await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(body.as_deref(), Ok("ok"));
}
