//! The secret scanner on arbitrary text: never panics, findings lie on char boundaries
//! inside the text, and masking is idempotent.
#![no_main]

use std::sync::OnceLock;

use aegis_core::config::SecretDetectionMode;
use aegis_core::secrets::SecretScanner;
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static SecretScanner {
    static SCANNER: OnceLock<SecretScanner> = OnceLock::new();
    SCANNER.get_or_init(|| SecretScanner::new().expect("the built-in rules compile"))
}

fuzz_target!(|text: &str| {
    for f in scanner().scan(text) {
        assert!(f.start < f.end && f.end <= text.len(), "{f:?}");
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
    }
    let once = scanner().redact(text, SecretDetectionMode::Mask).text.into_owned();
    let twice = scanner().redact(&once, SecretDetectionMode::Mask);
    assert!(!twice.changed(), "masking is not idempotent");
    let _ = scanner().redact(text, SecretDetectionMode::Block);
});
