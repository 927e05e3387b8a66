//! The policy file format: serde types that mirror the YAML, and parse errors with lines.
//!
//! Every mapping refuses unknown keys, so a misspelt key (`alow:`) is an error rather than a
//! rule that silently does nothing. Tool names are checked against the catalogue after
//! parsing (a serde `Deserialize` cannot see it); their line is found in the source text.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::catalogue::{is_tool_name, ToolCatalogue};
use super::pattern::{PathPattern, RepoPattern};
use super::PolicyError;

/// `allow` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "`allow` or `deny`")]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a policy: a mapping with `defaults`, `tools` and/or `repositories`"
)]
pub(super) struct PolicyFile {
    #[serde(default)]
    pub defaults: DefaultsFile,
    #[serde(default)]
    pub tools: ToolListsFile,
    #[serde(default, deserialize_with = "repositories")]
    pub repositories: Vec<(String, RepoFile)>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`defaults`: a mapping with `read` and/or `write`"
)]
pub(super) struct DefaultsFile {
    #[serde(default = "allow")]
    pub read: Effect,
    #[serde(default = "deny")]
    pub write: Effect,
}

impl Default for DefaultsFile {
    fn default() -> Self {
        Self {
            read: Effect::Allow,
            write: Effect::Deny,
        }
    }
}

fn allow() -> Effect {
    Effect::Allow
}

fn deny() -> Effect {
    Effect::Deny
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`tools`: a mapping with `allow` and/or `deny` lists of tool names"
)]
pub(super) struct ToolListsFile {
    /// `None` (absent) and `Some([])` differ for a repository: the latter allows nothing.
    #[serde(default)]
    pub allow: Option<Vec<ToolName>>,
    #[serde(default)]
    pub deny: Vec<ToolName>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a repository's rules: a mapping with `tools` and/or `paths`"
)]
pub(super) struct RepoFile {
    #[serde(default)]
    pub tools: ToolListsFile,
    #[serde(default)]
    pub paths: PathListsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`paths`: a mapping with `allow` and/or `deny` lists of globs"
)]
pub(super) struct PathListsFile {
    #[serde(default)]
    pub allow: Option<Vec<PathPattern>>,
    #[serde(default)]
    pub deny: Vec<PathPattern>,
}

/// A tool name as written; its spelling is checked here, its existence after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ToolName(pub String);

impl<'de> Deserialize<'de> for ToolName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if is_tool_name(&name) {
            Ok(Self(name))
        } else {
            Err(serde::de::Error::custom(format!(
                "`{}` is not a tool name (tool lists hold exact snake_case names, no patterns)",
                name.escape_default()
            )))
        }
    }
}

/// `repositories` keeps its order and every key, so `parse` can refuse a key listed twice
/// (serde would otherwise keep the last entry of a duplicate and drop the first unseen).
fn repositories<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, RepoFile)>, D::Error> {
    struct Entries;

    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, RepoFile)>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("`repositories`: a mapping from `owner/repo` to rules")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                let rules = map.next_value::<Option<RepoFile>>()?.unwrap_or_default();
                entries.push((key, rules));
            }
            Ok(entries)
        }
    }

    d.deserialize_map(Entries)
}

/// A parsed policy whose names have all been checked.
pub(super) struct CheckedPolicy {
    pub defaults: DefaultsFile,
    pub tools: ToolListsFile,
    pub repositories: Vec<(RepoPattern, RepoFile)>,
}

/// Parses `src` and checks every tool name against `catalogue`.
pub(super) fn parse(src: &str, catalogue: &ToolCatalogue) -> Result<CheckedPolicy, PolicyError> {
    if src
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---")
    {
        // An empty file is more likely a botched deploy than a wish for the defaults.
        return Err(PolicyError::invalid(
            None,
            "the policy is empty; write `{}` to ask for the defaults (read allow, write deny)",
        ));
    }
    let file: PolicyFile = serde_yaml::from_str(src).map_err(|e| {
        let location = e.location().map(|l| (l.line(), l.column()));
        let mut message = e.to_string();
        if let Some((line, column)) = location {
            // serde_yaml appends the location; we show it first, in one place.
            let suffix = format!(" at line {line} column {column}");
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
        }
        // serde_yaml has no location for a second document; point at its `---`.
        let line = location
            .map(|(l, _)| l)
            .or_else(|| second_document_line(src));
        PolicyError::Invalid {
            file: None,
            line,
            column: location.map(|(_, c)| c),
            message,
        }
    })?;

    // Repository keys are checked here rather than while deserialising, where serde_yaml
    // could only point at the start of the mapping, not at the key.
    let mut seen = BTreeSet::new();
    let mut repositories = Vec::new();
    for (key, rules) in file.repositories {
        let pattern = RepoPattern::parse(&key).map_err(|m| {
            PolicyError::invalid(
                line_of_key(src, &key, 0).or_else(|| line_of_word(src, &key)),
                format!("repositories: {m}"),
            )
        })?;
        if !seen.insert(pattern.folded()) {
            return Err(PolicyError::invalid(
                line_of_key(src, &key, 1).or_else(|| line_of_word(src, &key)),
                format!(
                    "repositories: `{key}` is listed twice (keys ignore case, as Gitea's names do)"
                ),
            ));
        }
        repositories.push((pattern, rules));
    }

    let mut lists: Vec<(String, &[ToolName])> = Vec::new();
    if let Some(allow) = &file.tools.allow {
        lists.push(("tools.allow".into(), allow));
    }
    lists.push(("tools.deny".into(), &file.tools.deny));
    for (key, rules) in &repositories {
        if let Some(allow) = &rules.tools.allow {
            lists.push((format!("repositories.{key}.tools.allow"), allow));
        }
        lists.push((format!("repositories.{key}.tools.deny"), &rules.tools.deny));
    }
    for (place, names) in lists {
        for (i, ToolName(name)) in names.iter().enumerate() {
            if catalogue.contains(name) {
                continue;
            }
            let hint = match catalogue.suggest(name) {
                Some(known) => format!("; did you mean `{known}`?"),
                None => "; `aegis policy tools` lists the known tools".into(),
            };
            return Err(PolicyError::Invalid {
                file: None,
                line: line_of_word(src, name),
                column: None,
                message: format!("{place}[{i}]: unknown tool `{name}`{hint}"),
            });
        }
    }
    Ok(CheckedPolicy {
        defaults: file.defaults,
        tools: file.tools,
        repositories,
    })
}

/// The 1-based line of the `nth` (from 0) mapping key equal to `key` ignoring ASCII case,
/// in block style (`  acme/app:`, optionally quoted).
fn line_of_key(src: &str, key: &str, nth: usize) -> Option<usize> {
    src.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            let code = code.strip_prefix(['"', '\'']).unwrap_or(code);
            code.get(..key.len())
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
                && code[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
        })
        .nth(nth)
        .map(|(n, _)| n + 1)
}

/// The line of the `---` that starts a second YAML document, if there is one.
fn second_document_line(src: &str) -> Option<usize> {
    let mut content_seen = false;
    for (n, line) in src.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("").trim();
        if code == "---" || code.starts_with("--- ") {
            if content_seen {
                return Some(n + 1);
            }
        } else if !code.is_empty() {
            content_seen = true;
        }
    }
    None
}

/// The 1-based line where `word` first appears as a whole word outside a comment.
fn line_of_word(src: &str, word: &str) -> Option<usize> {
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    src.lines().enumerate().find_map(|(n, line)| {
        let code = line.split('#').next().unwrap_or("");
        code.match_indices(word)
            .any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + word.len()..].chars().next();
                !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
            })
            .then_some(n + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_located_outside_comments() {
        let src =
            "# creat_issue here is a comment\ntools:\n  allow: [creat_issue_x, creat_issue]\n";
        assert_eq!(line_of_word(src, "creat_issue"), Some(3));
        assert_eq!(line_of_word(src, "absent"), None);
    }

    #[test]
    fn keys_are_located_ignoring_case() {
        let src = "repositories:\n  acme/app: {}\n  \"ACME/App\":\n    tools: {}\n";
        assert_eq!(line_of_key(src, "acme/app", 0), Some(2));
        assert_eq!(line_of_key(src, "ACME/App", 1), Some(3));
        assert_eq!(line_of_key(src, "acme/ap", 0), None);
    }
}
