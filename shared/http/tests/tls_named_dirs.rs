//! `SSL_CERT_DIR` with two directories (`a:b`): the PEM files of each are trusted.

mod common;

#[tokio::test]
async fn every_named_directory_is_read() {
    let ca = common::PrivateCa::new();
    let dir = common::scratch_dir("dirs");
    let (empty, holding) = (dir.join("empty"), dir.join("holding"));
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&holding).unwrap();
    std::fs::write(holding.join("private-ca.pem"), &ca.ca_pem).unwrap();
    aegis_http::set_roots(aegis_http::Roots::Named {
        file: None,
        dirs: vec![empty, holding],
    })
    .unwrap();
    let url = ca.serve().await;
    let body = common::get(&url).await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(body.as_deref(), Ok("ok"));
}
