//! The `/mcp` envelope check on arbitrary bytes: never panics, refuses what is too deep,
//! and accepts only single JSON-RPC 2.0 objects.
#![no_main]

use aegis_core::envelope::{exceeds_depth, parse_envelope, MAX_JSON_DEPTH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_envelope(data) {
        Ok(envelope) => {
            assert!(!exceeds_depth(data, MAX_JSON_DEPTH));
            assert_eq!(
                envelope.message.get("jsonrpc"),
                Some(&serde_json::Value::String("2.0".into()))
            );
            let _ = (envelope.id(), envelope.tool(), envelope.arguments());
        }
        Err(e) => assert!(e.code == -32700 || e.code == -32600),
    }
});
