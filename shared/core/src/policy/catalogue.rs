//! The tool catalogue: every tool name a policy may mention, and its facts (class, path
//! arguments, whether its result lists paths).
//!
//! The gateway's catalogue is derived from the tool registry, where each tool declares its
//! facts (`aegis_mcp::tools::catalogue`), plus the automation pseudo-tools declared here.
//! [`ToolCatalogue::spec`] is the same catalogue written out from the spec's lists, for the
//! code that cannot link the tools (the automation functions, `aegis policy`); a test in
//! `aegis-mcp` keeps the two equal, so a typo in a policy is an error instead of a rule that
//! silently matches nothing. Pure: it knows tool names and facts, not the tools.

use std::collections::BTreeMap;
use std::fmt;

use crate::principal::{SCOPE_READ, SCOPE_WRITE};

use super::PolicyError;

/// Whether a tool only reads or changes Gitea: what a registered tool declares. Kept apart
/// from [`ToolClass`], which adds the automation pseudo-tools a policy can name, so that a
/// tool of the registry cannot be declared an automation job (the type has no such value)
/// and the code that acts on a tool (scopes, the write gate, annotations) needs no arm for
/// one; `ToolClass::from(kind)` is the one mapping (ADR 0010).
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

/// Tools whose call names one repository path, and the arguments that carry it (the caller
/// passes the path as [`PolicyRequest::path`](super::PolicyRequest::path)). The spec's
/// fixture: the gateway reads each tool's own declaration.
pub const PATH_ARGUMENT_TOOLS: [(&str, &[&str]); 1] = [("get_file_contents", &["filepath"])];

/// Tools whose results list repository paths; each listed path is filtered with
/// [`Policy::path_allowed`](super::Policy::path_allowed) so denied names never leave. The
/// spec's fixture: the gateway reads each tool's own declaration.
pub const PATH_LISTING_TOOLS: [&str; 6] = [
    "get_file_tree",
    "get_file_contents",
    "search_code",
    "get_commit_diff",
    "compare_refs",
    "list_pull_request_files",
];

/// What a tool name is, as far as policy is concerned: a [`ToolKind`] or an automation
/// pseudo-tool (ADR 0010).
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

/// What the policy engine and the CLI know about one tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolFacts {
    pub class: ToolClass,
    /// The arguments that name one repository path; a call without one is denied where
    /// path rules exist
    pub path_arguments: &'static [&'static str],
    /// Whether the result lists repository paths (filtered with `Policy::path_allowed`)
    pub lists_paths: bool,
}

impl ToolFacts {
    /// A tool of `class` with no path argument that lists no paths.
    pub const fn of(class: ToolClass) -> Self {
        Self {
            class,
            path_arguments: &[],
            lists_paths: false,
        }
    }

    /// Whether a call names a repository path.
    pub fn takes_path(&self) -> bool {
        !self.path_arguments.is_empty()
    }
}

/// Known tool names and their facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCatalogue {
    tools: BTreeMap<String, ToolFacts>,
}

impl ToolCatalogue {
    /// A catalogue with no tools (every tool unknown, so every request denied).
    pub fn empty() -> Self {
        Self {
            tools: BTreeMap::new(),
        }
    }

    /// The spec's catalogue: [`READ_TOOLS`], [`WRITE_TOOLS`] and [`AUTOMATION_TOOLS`], with
    /// the path facts of [`PATH_ARGUMENT_TOOLS`] and [`PATH_LISTING_TOOLS`]. Equal to the
    /// catalogue the gateway derives from its registry (tested in `aegis-mcp`).
    pub fn spec() -> Self {
        let mut catalogue = Self::automation();
        let classes = READ_TOOLS
            .iter()
            .map(|n| (*n, ToolClass::Read))
            .chain(WRITE_TOOLS.iter().map(|n| (*n, ToolClass::Write)));
        for (name, class) in classes {
            let path_arguments = PATH_ARGUMENT_TOOLS
                .iter()
                .find(|(tool, _)| *tool == name)
                .map_or(&[][..], |(_, args)| *args);
            let facts = ToolFacts {
                class,
                path_arguments,
                lists_paths: PATH_LISTING_TOOLS.contains(&name),
            };
            catalogue.tools.insert(name.to_string(), facts);
        }
        catalogue
    }

    /// The automation pseudo-tools ([`AUTOMATION_TOOLS`]) alone: what the gateway's
    /// catalogue holds besides its registry's tools.
    pub fn automation() -> Self {
        Self {
            tools: AUTOMATION_TOOLS
                .iter()
                .map(|n| (n.to_string(), ToolFacts::of(ToolClass::Automation)))
                .collect(),
        }
    }

    /// Adds one tool of `class` with no path facts (see [`Self::insert_tool`]).
    pub fn insert(&mut self, name: &str, class: ToolClass) -> Result<(), PolicyError> {
        self.insert_facts(name, ToolFacts::of(class), false)
    }

    /// Adds one tool as it declares itself. Refuses a name that is not `snake_case`, a class
    /// that contradicts the `automation_` naming rule, and a name already known with other
    /// facts, because any of those would let a policy rule mean something else than it says.
    pub fn insert_tool(&mut self, name: &str, facts: ToolFacts) -> Result<(), PolicyError> {
        self.insert_facts(name, facts, true)
    }

    fn insert_facts(
        &mut self,
        name: &str,
        facts: ToolFacts,
        compare_paths: bool,
    ) -> Result<(), PolicyError> {
        let class = facts.class;
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
            Some(known) if known.class != class => Err(catalogue_error(format!(
                "tool `{name}` is already known as {}, not {}",
                known.class.a_tool(),
                class.a_tool()
            ))),
            Some(known) if compare_paths && *known != facts => Err(catalogue_error(format!(
                "tool `{name}` is already known with other path facts ({known:?}, not {facts:?})"
            ))),
            Some(_) if !compare_paths => Ok(()),
            _ => {
                self.tools.insert(name.to_string(), facts);
                Ok(())
            }
        }
    }

    /// The class of `name`, or `None` when the catalogue does not know it.
    pub fn class_of(&self, name: &str) -> Option<ToolClass> {
        self.tools.get(name).map(|f| f.class)
    }

    /// Everything known about `name`, or `None` when the catalogue does not know it.
    pub fn facts(&self, name: &str) -> Option<&ToolFacts> {
        self.tools.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// Every tool, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ToolClass)> {
        self.tools.iter().map(|(n, f)| (n.as_str(), f.class))
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
        for (name, args) in PATH_ARGUMENT_TOOLS {
            assert_eq!(catalogue.class_of(name), Some(ToolClass::Read), "{name}");
            assert_eq!(catalogue.facts(name).unwrap().path_arguments, args);
        }
        for name in PATH_LISTING_TOOLS {
            assert_eq!(catalogue.class_of(name), Some(ToolClass::Read), "{name}");
            assert!(catalogue.facts(name).unwrap().lists_paths, "{name}");
        }
        let with_paths = catalogue.iter().filter(|(n, _)| {
            let f = catalogue.facts(n).unwrap();
            f.takes_path() || f.lists_paths
        });
        assert_eq!(with_paths.count(), 6);
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
