//! JSON rendering of the world in Gitea's API shapes (`services/convert` in Gitea).

pub mod git;
pub mod issue;
pub mod repo;
pub mod user;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::model::{User, World};

/// Go's zero `time.Time` as JSON.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// What rendering needs: the world, the base URL and who is looking.
pub struct View<'a> {
    pub world: &'a World,
    pub base: &'a str,
    pub doer: Option<&'a User>,
}

impl View<'_> {
    /// `<base>/api/v1<rest>`.
    pub fn api(&self, rest: &str) -> String {
        format!("{}/api/v1{rest}", self.base)
    }
    /// `<base><rest>`.
    pub fn html(&self, rest: &str) -> String {
        format!("{}{rest}", self.base)
    }
    /// `<base>/api/v1/repos/<owner>/<name>`.
    pub fn repo_api(&self, full_name: &str) -> String {
        self.api(&format!("/repos/{full_name}"))
    }
}

/// RFC 3339 in UTC, as Go marshals a `time.Time` of a UTC server.
pub fn ts(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| GO_ZERO_TIME.to_string())
}

pub fn ts_opt(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Go's `url.PathEscape` for one path segment.
pub fn path_escape(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'&'
            | b'+'
            | b':'
            | b'='
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Gitea's `util.PathEscapeSegments`: escapes each `/`-separated segment.
pub fn escape_segments(path: &str) -> String {
    path.split('/')
        .map(path_escape)
        .collect::<Vec<_>>()
        .join("/")
}
