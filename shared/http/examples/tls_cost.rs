//! How long building the process's TLS configuration takes (reading and parsing the system
//! roots): `cargo run --release -p aegis-http --example tls_cost`.
fn main() {
    let t = std::time::Instant::now();
    aegis_http::tls_config().expect("roots");
    let first = t.elapsed();
    let t = std::time::Instant::now();
    aegis_http::client_builder().unwrap().build().unwrap();
    println!(
        "tls_config: {first:?}; a client over it afterwards: {:?}",
        t.elapsed()
    );
}
