//! Path globs and repository keys: how a rule's pattern is checked, compiled and matched.
//!
//! Path globs use `globset` with `*` and `?` held within one path segment and `**` crossing
//! segments. A pattern that matches a directory covers everything below it, so each
//! candidate path is tried together with its parent directories. Deny globs ignore case,
//! allow globs do not (see the module doc of `policy` for why).

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Deserializer};

use crate::config::RepoName;

/// A path glob as written in the policy file (checked, not yet compiled for a side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathPattern(String);

impl PathPattern {
    /// Checks `raw` and returns its canonical form: no leading or trailing `/`.
    pub(super) fn parse(raw: &str) -> Result<Self, String> {
        let shown = raw.escape_default();
        if raw.chars().any(char::is_control) {
            return Err(format!(
                "path pattern `{shown}` contains a control character"
            ));
        }
        if raw.contains('\\') {
            return Err(format!(
                "path pattern `{shown}` contains a backslash; paths use `/`, and `[*]` matches \
                 a literal `*`"
            ));
        }
        // A leading `/` only says "from the root", which every pattern already is; a
        // trailing `/` says "this directory", which a pattern already covers.
        let trimmed = raw.strip_prefix('/').unwrap_or(raw);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(format!(
                "path pattern `{shown}` is empty; use `**` to mean every path"
            ));
        }
        for segment in trimmed.split('/') {
            match segment {
                "" => {
                    return Err(format!(
                        "path pattern `{shown}` has an empty segment (`//`)"
                    ))
                }
                "." | ".." => {
                    return Err(format!(
                        "path pattern `{shown}` has a `{segment}` segment; patterns are \
                         relative to the repository root"
                    ))
                }
                _ => {}
            }
        }
        compile(trimmed, false)
            .map_err(|e| format!("path pattern `{shown}` is not a glob: {e}"))?;
        Ok(Self(trimmed.to_string()))
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PathPattern::parse(&raw).map_err(serde::de::Error::custom)
    }
}

fn compile(pattern: &str, case_insensitive: bool) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .case_insensitive(case_insensitive)
        // Paths never hold a backslash, so it is not an escape either (same on every OS).
        .backslash_escape(false)
        .build()?
        .compile_matcher())
}

/// Which list a compiled path rule sits in; decides case handling and traversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Allow,
    Deny,
}

/// A path glob compiled for one side.
#[derive(Debug, Clone)]
pub(super) struct PathRule {
    pattern: String,
    matcher: GlobMatcher,
    /// The pattern's leading segments free of glob syntax (allow side only): the
    /// directories on the way to what the rule allows, which listings must be able to show.
    literal_prefix: Vec<String>,
}

/// How a path rule matched a normalised path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PathMatch {
    /// The pattern matched the path itself.
    Path,
    /// The pattern matched this parent directory of the path.
    Parent(String),
    /// The path is a directory on the way to what an allow pattern names.
    OnTheWay,
}

impl PathRule {
    pub(super) fn new(pattern: &PathPattern, side: Side) -> Result<Self, String> {
        let matcher = compile(pattern.as_str(), side == Side::Deny)
            .map_err(|e| format!("path pattern `{}` is not a glob: {e}", pattern.as_str()))?;
        let literal_prefix = match side {
            Side::Deny => Vec::new(),
            Side::Allow => pattern
                .as_str()
                .split('/')
                .take_while(|s| !s.contains(['*', '?', '[', ']', '{', '}']))
                .map(str::to_string)
                .collect(),
        };
        Ok(Self {
            pattern: pattern.as_str().to_string(),
            matcher,
            literal_prefix,
        })
    }

    pub(super) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the rule covers `path` (already normalised), and how.
    pub(super) fn matches(&self, path: &str) -> Option<PathMatch> {
        // Shortest parent first, so a reason names the directory the rule was written for.
        for (end, _) in path.match_indices('/') {
            let parent = &path[..end];
            if self.matcher.is_match(parent) {
                return Some(PathMatch::Parent(parent.to_string()));
            }
        }
        if self.matcher.is_match(path) {
            return Some(PathMatch::Path);
        }
        let depth = path.split('/').count();
        let on_the_way = depth < self.literal_prefix.len()
            || (depth == self.literal_prefix.len()
                && self.literal_prefix.len() < self.pattern.split('/').count());
        if on_the_way
            && path
                .split('/')
                .zip(&self.literal_prefix)
                .all(|(a, b)| a == b)
        {
            return Some(PathMatch::OnTheWay);
        }
        None
    }
}

/// A `repositories` key: `owner/repo`, or a glob over them such as `acme/*`.
#[derive(Debug, Clone)]
pub(super) struct RepoPattern {
    key: String,
    kind: RepoKeyKind,
}

#[derive(Debug, Clone)]
enum RepoKeyKind {
    /// Compared with the lowercased `owner/repo`.
    Exact(String),
    Glob(GlobMatcher),
}

impl RepoPattern {
    pub(super) fn parse(key: &str) -> Result<Self, String> {
        let shown = key.escape_default();
        let parts: Vec<&str> = key.split('/').collect();
        let well_formed = parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && *p != "."
                    && *p != ".."
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*'))
            })
            && !key.contains("**");
        if !well_formed {
            return Err(format!(
                "repository key `{shown}` is not `owner/repo` (letters, digits, `-`, `_`, `.`, \
                 and `*` for any run of those)"
            ));
        }
        let kind = if key.contains('*') {
            // Gitea treats owner and repository names case-insensitively, so do keys.
            RepoKeyKind::Glob(
                compile(key, true)
                    .map_err(|e| format!("repository key `{shown}` is not a glob: {e}"))?,
            )
        } else {
            RepoKeyKind::Exact(key.to_ascii_lowercase())
        };
        Ok(Self {
            key: key.to_string(),
            kind,
        })
    }

    /// The key as written in the policy file.
    pub(super) fn key(&self) -> &str {
        &self.key
    }

    /// Case-insensitive identity, used to refuse keys listed twice.
    pub(super) fn folded(&self) -> String {
        self.key.to_ascii_lowercase()
    }

    pub(super) fn matches(&self, repo: &RepoName) -> bool {
        let full = format!("{}/{}", repo.owner, repo.repo);
        match &self.kind {
            RepoKeyKind::Exact(key) => full.eq_ignore_ascii_case(key),
            RepoKeyKind::Glob(matcher) => matcher.is_match(&full),
        }
    }
}

impl fmt::Display for RepoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, side: Side) -> PathRule {
        PathRule::new(&PathPattern::parse(pattern).unwrap(), side).unwrap()
    }

    #[test]
    fn patterns_are_checked() {
        for (raw, canonical) in [
            ("src/*", "src/*"),
            ("/src/*", "src/*"),
            ("docs/", "docs"),
            ("**/*.pem", "**/*.pem"),
            ("src/{a,b}/*.rs", "src/{a,b}/*.rs"),
        ] {
            assert_eq!(
                PathPattern::parse(raw).unwrap().as_str(),
                canonical,
                "{raw}"
            );
        }
        for bad in [
            "", "/", "src//x", "../x", "src/./x", "a\\b", "a\0b", "src/[", "src/{a",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn star_stays_in_one_segment_and_parents_cover_children() {
        let deny = rule("src/secrets/*", Side::Deny);
        assert_eq!(deny.matches("src/secrets/key.pem"), Some(PathMatch::Path));
        assert_eq!(
            deny.matches("src/secrets/deep/key.pem"),
            Some(PathMatch::Parent("src/secrets/deep".into()))
        );
        assert_eq!(deny.matches("src/secrets"), None);
        assert_eq!(deny.matches("SRC/Secrets/key.pem"), Some(PathMatch::Path));
        let pem = rule("*.pem", Side::Deny);
        assert_eq!(pem.matches("key.pem"), Some(PathMatch::Path));
        assert_eq!(pem.matches("certs/key.pem"), None);
        let any_pem = rule("**/*.pem", Side::Deny);
        assert_eq!(any_pem.matches("certs/key.pem"), Some(PathMatch::Path));
        assert_eq!(any_pem.matches("key.pem"), Some(PathMatch::Path));
        assert_eq!(any_pem.matches("key.pem.bak"), None);
        let any_secrets = rule("**/secrets", Side::Deny);
        assert_eq!(any_secrets.matches("secrets"), Some(PathMatch::Path));
        assert_eq!(
            any_secrets.matches("config/secrets/a"),
            Some(PathMatch::Parent("config/secrets".into()))
        );
        let alternates = rule("docs/{public,api}/*", Side::Allow);
        assert_eq!(alternates.matches("docs/api/y.md"), Some(PathMatch::Path));
        assert_eq!(alternates.matches("docs/private/z.md"), None);
        assert_eq!(rule("src/*", Side::Allow).matches("lib/src/x"), None);
    }

    #[test]
    fn allow_rules_are_case_sensitive_and_show_the_way() {
        let allow = rule("src/lib/*", Side::Allow);
        assert_eq!(allow.matches("src/lib/a.rs"), Some(PathMatch::Path));
        assert_eq!(allow.matches("SRC/lib/a.rs"), None);
        assert_eq!(allow.matches("src"), Some(PathMatch::OnTheWay));
        assert_eq!(allow.matches("src/lib"), Some(PathMatch::OnTheWay));
        assert_eq!(allow.matches("src/other"), None);
        assert_eq!(allow.matches("docs"), None);
        let exact = rule("docs/README.md", Side::Allow);
        assert_eq!(exact.matches("docs"), Some(PathMatch::OnTheWay));
        assert_eq!(exact.matches("docs/README.md"), Some(PathMatch::Path));
        assert_eq!(
            exact.matches("docs/README.md/x"),
            Some(PathMatch::Parent("docs/README.md".into()))
        );
        assert_eq!(exact.matches("docs/other.md"), None);
    }

    #[test]
    fn repository_keys_match_whole_names_ignoring_case() {
        let repo = |s: &str| RepoName::parse(s).unwrap();
        let exact = RepoPattern::parse("org/repo").unwrap();
        assert!(exact.matches(&repo("org/repo")));
        assert!(exact.matches(&repo("ORG/Repo")));
        assert!(!exact.matches(&repo("org/repo-evil")));
        assert!(!exact.matches(&repo("org-evil/repo")));
        let glob = RepoPattern::parse("acme/*").unwrap();
        assert!(glob.matches(&repo("Acme/app")));
        assert!(!glob.matches(&repo("acme-evil/app")));
        for bad in [
            "acme",
            "acme/app/x",
            "/app",
            "acme/",
            "a b/c",
            "acme/**",
            "../x",
        ] {
            assert!(RepoPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
