//! `SSL_CERT_FILE` (`Roots::Named` with a file): that bundle is trusted in place of the
//! system's, e.g. a self-hosted Gitea behind a private CA (docs/troubleshooting.md).

mod common;

#[tokio::test]
async fn a_named_bundle_is_trusted() {
    let ca = common::PrivateCa::new();
    let dir = common::scratch_dir("file");
    let bundle = dir.join("bundle.pem");
    std::fs::write(&bundle, &ca.ca_pem).unwrap();
    aegis_http::set_roots(aegis_http::Roots::Named {
        file: Some(bundle),
        dirs: vec![],
    })
    .unwrap();
    let url = ca.serve().await;
    let body = common::get(&url).await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(body.as_deref(), Ok("ok"));
}
