//! Path normalisation: never panics; an accepted path has no `..`, backslash, control
//! character or empty segment, and normalising it again changes nothing.
#![no_main]

use aegis_core::paths::normalize_repo_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    if let Ok(path) = normalize_repo_path(raw) {
        assert!(!path.is_empty());
        assert!(!path.contains('\\'));
        assert!(!path.chars().any(char::is_control));
        assert!(path.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
        assert_eq!(normalize_repo_path(&path).as_deref(), Ok(path.as_str()));
    }
});
