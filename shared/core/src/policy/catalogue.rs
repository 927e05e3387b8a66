//! The tool catalogue: every tool name a policy may mention, and its class.
//!
//! The catalogue is the spec's full tool list (28 read tools, 15 write tools, the automation
//! pseudo-tools) merged with whatever the running tool registry declares
//! (`crate::tools::catalogue`), so a policy can name a tool before it is implemented, and a
//! typo is an error instead of a rule that silently matches nothing. Pure: it knows tool
//! names and classes, not the tools.

use std::collections::BTreeMap;
use std::fmt;

use crate::principal::{SCOPE_READ, SCOPE_WRITE};

use super::PolicyError;

/// Whether a tool only reads or changes Gitea (what a tool declares; [`ToolClass`] adds the
/// automation pseudo-tools a policy can name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Read,
    Write,
}

impl ToolKind {
    /// The OAuth scope a call of such a tool needs.
    pub fn required_scope(self) -> &'static str {
        match self {
            ToolKind::Read => SCOPE_READ,
            ToolKind::Write => SCOPE_WRITE,
        }
    }
}

/// The read tools of the spec's API Reference, implemented or not.
pub const READ_TOOLS: [&str; 28] = [
    "list_repositories",
    "get_repository_info",
    "get_file_tree",
    "get_file_contents",
    "search_code",
    "list_commits",
    "get_commit_diff",
    "compare_refs",
    "list_issues",
    "get_issue",
    "list_pull_requests",
    "get_pull_request",
    "list_labels",
    "list_tags",
    "list_releases",
    "list_pull_request_files",
    "list_pull_request_commits",
    "list_issue_comments",
    "list_branches",
    "get_branch",
    "get_release",
    "get_latest_release",
    "list_milestones",
    "get_commit_status",
    "list_org_repositories",
    "list_organizations",
    "get_repo_languages",
    "list_repo_topics",
];

/// The write tools of the spec's Write Mode page.
pub const WRITE_TOOLS: [&str; 15] = [
    "create_issue",
    "update_issue",
    "create_issue_comment",
    "create_pr_comment",
    "edit_issue_comment",
    "add_labels",
    "remove_labels",
    "assign_issue",
    "create_label",
    "update_label",
    "create_pull_request",
    "create_release",
    "edit_release",
    "create_branch",
    "create_milestone",
];

/// Every automation pseudo-tool name starts with this prefix, and only those do.
pub const AUTOMATION_PREFIX: &str = "automation_";

/// The automation pseudo-tools: the spec's jobs and the webhook ingestion endpoint.
pub const AUTOMATION_TOOLS: [&str; 5] = [
    "automation_stale_issue_detection",
    "automation_dependency_hygiene_scan",
    "automation_auto_issue_creation",
    "automation_audit_digest",
    "automation_webhook",
];

/// Tools whose call names one repository path (the caller passes it as
/// [`PolicyRequest::path`](super::PolicyRequest::path)).
pub const PATH_ARGUMENT_TOOLS: [&str; 1] = ["get_file_contents"];

/// Tools whose results list repository paths; the caller filters each listed path with
/// [`Policy::path_allowed`](super::Policy::path_allowed) so denied names never leave.
pub const PATH_LISTING_TOOLS: [&str; 6] = [
    "get_file_tree",
    "get_file_contents",
    "search_code",
    "get_commit_diff",
    "compare_refs",
    "list_pull_request_files",
];

/// What a tool does, as far as policy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolClass {
    /// Reads Gitea; follows `defaults.read` unless a rule names it.
    Read,
    /// Changes Gitea; follows `defaults.write` (deny unless set) unless a rule names it.
    Write,
    /// An `automation_*` pseudo-tool; denied unless a rule allows it.
    Automation,
}

impl ToolClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolClass::Read => "read",
            ToolClass::Write => "write",
            ToolClass::Automation => "automation",
        }
    }

    /// "a read tool", "an automation tool": for messages.
    pub fn a_tool(self) -> &'static str {
        match self {
            ToolClass::Read => "a read tool",
            ToolClass::Write => "a write tool",
            ToolClass::Automation => "an automation tool",
        }
    }
}

impl fmt::Display for ToolClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ToolKind> for ToolClass {
    fn from(kind: ToolKind) -> Self {
        match kind {
            ToolKind::Read => ToolClass::Read,
            ToolKind::Write => ToolClass::Write,
        }
    }
}

/// Known tool names and their classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCatalogue {
    tools: BTreeMap<String, ToolClass>,
}

impl ToolCatalogue {
    /// A catalogue with no tools (every tool unknown, so every request denied).
    pub fn empty() -> Self {
        Self {
            tools: BTreeMap::new(),
        }
    }

    /// The spec's catalogue: [`READ_TOOLS`], [`WRITE_TOOLS`] and [`AUTOMATION_TOOLS`].
    pub fn spec() -> Self {
        let classes = READ_TOOLS
            .iter()
            .map(|n| (n, ToolClass::Read))
            .chain(WRITE_TOOLS.iter().map(|n| (n, ToolClass::Write)))
            .chain(AUTOMATION_TOOLS.iter().map(|n| (n, ToolClass::Automation)));
        Self {
            tools: classes.map(|(n, c)| (n.to_string(), c)).collect(),
        }
    }

    /// Adds one tool. Refuses a name that is not `snake_case`, a class that contradicts the
    /// `automation_` naming rule, and a name already known under another class, because any
    /// of those would let a policy rule mean something else than it says.
    pub fn insert(&mut self, name: &str, class: ToolClass) -> Result<(), PolicyError> {
        let catalogue_error = |message: String| PolicyError::Catalogue { message };
        if !is_tool_name(name) {
            return Err(catalogue_error(format!(
                "tool name `{}` is not snake_case",
                name.escape_default()
            )));
        }
        if name.starts_with(AUTOMATION_PREFIX) != (class == ToolClass::Automation) {
            return Err(catalogue_error(format!(
                "tool `{name}` cannot be {}: automation pseudo-tools, and only they, are named \
                 `{AUTOMATION_PREFIX}*`",
                class.a_tool()
            )));
        }
        match self.tools.get(name) {
            Some(known) if *known != class => Err(catalogue_error(format!(
                "tool `{name}` is already known as {}, not {}",
                known.a_tool(),
                class.a_tool()
            ))),
            _ => {
                self.tools.insert(name.to_string(), class);
                Ok(())
            }
        }
    }

    /// The class of `name`, or `None` when the catalogue does not know it.
    pub fn class_of(&self, name: &str) -> Option<ToolClass> {
        self.tools.get(name).copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Every tool, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ToolClass)> {
        self.tools.iter().map(|(n, c)| (n.as_str(), *c))
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The known name closest to `name`, for "did you mean" hints on typos.
    pub(super) fn suggest(&self, name: &str) -> Option<&str> {
        self.tools
            .keys()
            .map(|known| (edit_distance(name, known), known))
            .filter(|(d, known)| *d <= 2.max(known.len() / 5))
            .min()
            .map(|(_, known)| known.as_str())
    }
}

impl Default for ToolCatalogue {
    fn default() -> Self {
        Self::spec()
    }
}

/// `snake_case` as tool names are written: a lowercase letter, then lowercase letters,
/// digits and underscores.
pub(super) fn is_tool_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 100
}

/// Levenshtein distance; tool names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_catalogue_has_every_tool_once() {
        let catalogue = ToolCatalogue::spec();
        assert_eq!(catalogue.len(), 28 + 15 + 5);
        for name in READ_TOOLS {
            assert_eq!(catalogue.class_of(name), Some(ToolClass::Read), "{name}");
        }
        for name in WRITE_TOOLS {
            assert_eq!(catalogue.class_of(name), Some(ToolClass::Write), "{name}");
        }
        for name in AUTOMATION_TOOLS {
            assert_eq!(
                catalogue.class_of(name),
                Some(ToolClass::Automation),
                "{name}"
            );
        }
        for name in PATH_ARGUMENT_TOOLS.iter().chain(&PATH_LISTING_TOOLS) {
            assert_eq!(catalogue.class_of(name), Some(ToolClass::Read), "{name}");
        }
    }

    #[test]
    fn insert_refuses_contradictions() {
        let mut catalogue = ToolCatalogue::spec();
        assert!(catalogue.insert("create_issue", ToolClass::Read).is_err());
        assert!(catalogue.insert("automation_x", ToolClass::Write).is_err());
        assert!(catalogue.insert("run_job", ToolClass::Automation).is_err());
        assert!(catalogue.insert("Bad-Name", ToolClass::Read).is_err());
        assert!(catalogue.insert("", ToolClass::Read).is_err());
        assert!(catalogue.insert("create_issue", ToolClass::Write).is_ok());
        assert!(catalogue
            .insert("automation_nightly", ToolClass::Automation)
            .is_ok());
        assert!(catalogue.insert("get_wiki_page", ToolClass::Read).is_ok());
        assert_eq!(catalogue.len(), 48 + 2);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let catalogue = ToolCatalogue::spec();
        assert_eq!(catalogue.suggest("creat_issue"), Some("create_issue"));
        assert_eq!(
            catalogue.suggest("get_file_content"),
            Some("get_file_contents")
        );
        assert_eq!(catalogue.suggest("delete_repository"), None);
    }
}
