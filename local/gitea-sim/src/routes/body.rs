//! Request bodies of write endpoints: JSON decoding with Gitea's `bind` semantics and errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::SimState;

/// The raw request body; handlers decode it once their permission checks have passed, in the order
/// Gitea's middleware chain runs them.
pub struct Body(Bytes);

impl FromRequest<SimState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &SimState) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|_| ApiError::bad_request("cannot read the request body"))
    }
}

impl Body {
    /// Decodes JSON like Go's `encoding/json` into an option struct: unknown fields are ignored and
    /// an empty body is an empty object; a malformed body is a 422 binding error.
    pub fn json<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.0).map_err(|e| ApiError::unprocessable(format!("[]: {e}")))
    }
}

/// `binding:"Required"`: a missing or empty string field.
pub fn required(field: &str, value: Option<&str>) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v.to_string()),
        _ => Err(ApiError::binding(field, "Required")),
    }
}

/// `binding:"GitRefName"`: the rules of `git check-ref-format` Gitea applies to branch names.
pub fn valid_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name != "@"
        && !name.starts_with('/')
        && !name.starts_with('-')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .split('/')
            .any(|c| c.starts_with('.') || c.ends_with(".lock"))
        && !name
            .chars()
            .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names() {
        for ok in ["main", "feature/x", "v1.0", "fix-1_2"] {
            assert!(valid_ref_name(ok), "{ok}");
        }
        for bad in [
            "", "@", "/a", "a/", "a..b", "a//b", "a.lock", "a b", "a~1", "a^", "a:b", "a?", "a*",
            "a[", "a\\b", ".a", "a/.b", "-a", "a.", "a@{b",
        ] {
            assert!(!valid_ref_name(bad), "{bad}");
        }
    }
}
