//! Constant-time comparison of secrets (tokens, hashes): pure, for every layer that checks
//! a presented credential (the metrics token, OAuth client secrets and codes).

use subtle::ConstantTimeEq;

/// Constant-time equality of two strings (hashes, tokens): the time taken does not say
/// where they first differ.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn equal_strings_only() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(same("", ""));
    }
}
