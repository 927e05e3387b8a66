//! The policy engine: which tool may run on which repository and path, decided purely.
//!
//! [`Policy::authorize`] takes a [`PolicyRequest`] and returns a [`Decision`]: allowed or
//! not, with the rules that decided it. It does no I/O and keeps no state; [`Policy::load`]
//! is the only function that touches the filesystem. The policy is one gate of several:
//! write tools also need `WRITE_MODE`, the write whitelist and the `write:repository` scope,
//! which the caller checks; `docs/policy.md` is the operator's version of this page.
//!
//! # Format
//!
//! ```yaml
//! defaults: { read: allow, write: deny }   # both optional; these are the defaults
//! tools: { allow: [...], deny: [...] }     # global rules
//! repositories:
//!   acme/service-a:                        # `owner/repo`, or a glob such as `acme/*`
//!     tools: { allow: [...], deny: [...] }
//!     paths: { allow: ["src/*"], deny: ["src/secrets/*"] }
//! ```
//!
//! # Semantics
//!
//! 1. **Unknown tools are denied.** A request naming a tool the [`ToolCatalogue`] does not
//!    know is denied, and so is one whose class differs from the catalogue's (a caller that
//!    thinks `create_issue` is a read tool is wired wrongly). A policy file naming an unknown
//!    tool does not load: a typo must not silently allow or deny nothing.
//! 2. **Deny wins, at every level.** A tool in `tools.deny` or in a matching repository's
//!    `tools.deny` is denied whatever any allow list says; a repository cannot undo a global
//!    deny. A path matched by a `paths.deny` glob is denied the same way.
//! 3. **A repository's `tools.allow` is a whitelist.** When a matching repository entry has
//!    `tools.allow`, only the tools it names may run on that repository (`allow: []` allows
//!    none). Naming a tool there also grants it, overriding `defaults`, which is how writes
//!    are enabled for one repository.
//! 4. **The global `tools.allow` grants** the tools it names everywhere, overriding
//!    `defaults`; it restricts nothing, because `defaults` already sets the global baseline
//!    (`defaults.read: deny` plus a global allow list makes a global whitelist).
//! 5. **Otherwise `defaults` decides by class**: read tools follow `defaults.read` (allow
//!    unless set), write tools `defaults.write` (deny unless set). Automation pseudo-tools
//!    (`automation_*`) have no default: they are denied unless a global or repository
//!    `tools.allow` names them.
//! 6. **Repositories.** Keys match `owner/repo` whole and ignoring ASCII case, as Gitea's
//!    names do: a rule for `org/repo` matches `ORG/Repo` and never `org/repo-evil`. A key may
//!    hold `*` (within one part: `acme/*`, `*/*`); every entry that matches applies, so
//!    their denies add up and each whitelist must name the tool. Keys listed twice (in any
//!    case) are an error.
//! 7. **Paths.** They apply to requests that carry a path (a request for a tool the
//!    catalogue says takes one, [`ToolFacts::path_arguments`], that carries none is denied
//!    where path rules exist) and to [`Policy::path_allowed`], with which the results of
//!    tools that list paths ([`ToolFacts::lists_paths`]) drop denied entries instead of
//!    leaking their names. The path is
//!    first normalised by [`normalize_repo_path`] (percent-decoded until stable; `..`,
//!    backslashes and control characters refused; `.` and empty segments dropped); a path
//!    that cannot be normalised is denied. Globs are `globset` globs anchored at the
//!    repository root: `*` and `?` stay within one segment, `**` crosses segments, so
//!    `*.pem` means a root file and `**/*.pem` any. A pattern that matches a directory
//!    covers everything below it (`src/secrets/*` also denies `src/secrets/a/b.pem`).
//!    With a `paths.allow` list a path must be matched by it, or be a directory on the way
//!    to what it names (`src` for `src/lib/*`, so listings can be walked).
//! 8. **Case.** Deny globs ignore case, allow globs do not. Gitea paths are case-sensitive,
//!    so `SRC/x` is another file than `src/x` and an allow rule must not stretch to it; but
//!    a checkout on a case-insensitive filesystem (macOS, Windows) makes `Secrets/key.pem`
//!    and `secrets/key.pem` the same file, and a deny rule must not be bypassed by writing
//!    it differently. Both choices err towards denying.

mod catalogue;
mod file;
mod pattern;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::config::RepoName;
use crate::paths::normalize_repo_path;

pub use catalogue::{
    ToolCatalogue, ToolClass, ToolFacts, ToolKind, AUTOMATION_PREFIX, AUTOMATION_TOOLS,
    PATH_ARGUMENT_TOOLS, PATH_LISTING_TOOLS, READ_TOOLS, WRITE_TOOLS,
};
pub use file::Effect;
use pattern::{PathMatch, PathRule, RepoPattern, Side};

/// Why a policy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The YAML, its schema, or a name in it is wrong; `line` points at it when known.
    #[error("{}", render_invalid(file.as_deref(), *line, *column, message))]
    Invalid {
        file: Option<PathBuf>,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// The tool catalogue contradicts itself (a wiring error, found at startup).
    #[error("tool catalogue: {message}")]
    Catalogue { message: String },
}

impl PolicyError {
    fn invalid(line: Option<usize>, message: impl Into<String>) -> Self {
        Self::Invalid {
            file: None,
            line,
            column: None,
            message: message.into(),
        }
    }

    /// The 1-based line of the policy file the error points at, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Invalid { line, .. } => *line,
            _ => None,
        }
    }
}

fn render_invalid(
    file: Option<&Path>,
    line: Option<usize>,
    column: Option<usize>,
    message: &str,
) -> String {
    let mut out = String::from("invalid policy");
    if let Some(file) = file {
        out.push_str(&format!(" `{}`", file.display()));
    }
    match (line, column) {
        (Some(l), Some(c)) => out.push_str(&format!(" at line {l} column {c}")),
        (Some(l), None) => out.push_str(&format!(" at line {l}")),
        _ => {}
    }
    out.push_str(": ");
    out.push_str(message);
    out
}

/// One question for the policy: may `tool` run on `repo` (and `path`)?
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    pub tool: &'a str,
    /// The class the caller believes the tool has; checked against the catalogue.
    pub kind: ToolClass,
    /// The target repository; `None` for tools that span repositories.
    pub repo: Option<&'a RepoName>,
    /// The repository path the call names, raw (the policy normalises it).
    pub path: Option<&'a str>,
}

impl<'a> PolicyRequest<'a> {
    pub fn new(tool: &'a str, kind: ToolClass) -> Self {
        Self {
            tool,
            kind,
            repo: None,
            path: None,
        }
    }

    pub fn repo(mut self, repo: &'a RepoName) -> Self {
        self.repo = Some(repo);
        self
    }

    pub fn path(mut self, path: &'a str) -> Self {
        self.path = Some(path);
        self
    }
}

/// The answer: allowed or not, and the rules that made it so (deny reasons when denied,
/// the granting rules when allowed), written for an operator and an audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reasons: Vec<String>,
}

impl Decision {
    fn allow(reasons: Vec<String>) -> Self {
        Self {
            allowed: true,
            reasons,
        }
    }

    fn deny(reasons: Vec<String>) -> Self {
        Self {
            allowed: false,
            reasons,
        }
    }

    /// The reasons on one line, for logs and error messages.
    pub fn summary(&self) -> String {
        self.reasons.join("; ")
    }
}

/// A tool allow or deny list, with the place it sits in the file for reasons.
#[derive(Debug, Clone)]
struct ToolList {
    place: String,
    names: Vec<String>,
}

impl ToolList {
    fn new(place: String, names: Vec<file::ToolName>) -> Self {
        Self {
            place,
            names: names.into_iter().map(|n| n.0).collect(),
        }
    }

    /// `place[i] names `tool``, when the list holds `tool`.
    fn names(&self, tool: &str) -> Option<String> {
        self.names
            .iter()
            .position(|n| n == tool)
            .map(|i| format!("{}[{i}] names `{tool}`", self.place))
    }
}

#[derive(Debug, Clone)]
struct PathList {
    place: String,
    rules: Vec<PathRule>,
}

impl PathList {
    fn new(
        place: String,
        patterns: Vec<pattern::PathPattern>,
        side: Side,
    ) -> Result<Self, PolicyError> {
        let rules = patterns
            .iter()
            .map(|p| PathRule::new(p, side))
            .collect::<Result<_, _>>()
            .map_err(|m| PolicyError::invalid(None, m))?;
        Ok(Self { place, rules })
    }

    /// The reason of the first rule that covers `path`, if any.
    fn matching(&self, path: &str) -> Option<String> {
        self.rules.iter().enumerate().find_map(|(i, rule)| {
            let head = format!("{}[{i}] `{}`", self.place, rule.pattern());
            rule.matches(path).map(|how| match how {
                PathMatch::Path => format!("{head} matched `{path}`"),
                PathMatch::Parent(parent) => {
                    format!("{head} matched `{parent}`, a parent of `{path}`")
                }
                PathMatch::OnTheWay => format!("{head} lies below `{path}`"),
            })
        })
    }
}

#[derive(Debug, Clone)]
struct RepoRules {
    key: RepoPattern,
    tools_allow: Option<ToolList>,
    tools_deny: ToolList,
    paths_allow: Option<PathList>,
    paths_deny: PathList,
}

impl RepoRules {
    fn has_path_rules(&self) -> bool {
        self.paths_allow.is_some() || !self.paths_deny.rules.is_empty()
    }
}

/// A loaded policy, ready to answer requests. Cheap to clone into request state.
#[derive(Debug, Clone)]
pub struct Policy {
    read: Effect,
    write: Effect,
    tools_allow: Option<ToolList>,
    tools_deny: ToolList,
    repositories: Vec<RepoRules>,
    catalogue: ToolCatalogue,
    warnings: Vec<String>,
}

impl Default for Policy {
    /// The spec's defaults: reads allowed, writes and automation denied, no other rule.
    fn default() -> Self {
        Self {
            read: Effect::Allow,
            write: Effect::Deny,
            tools_allow: None,
            tools_deny: ToolList::new("tools.deny".into(), Vec::new()),
            repositories: Vec::new(),
            catalogue: ToolCatalogue::spec(),
            warnings: Vec::new(),
        }
    }
}

impl Policy {
    /// Parses a policy against the spec's catalogue ([`ToolCatalogue::spec`]).
    pub fn from_yaml(src: &str) -> Result<Self, PolicyError> {
        Self::from_yaml_with(src, ToolCatalogue::spec())
    }

    /// Parses a policy whose tool names must all be in `catalogue`, which it then keeps to
    /// deny requests for any other tool.
    pub fn from_yaml_with(src: &str, catalogue: ToolCatalogue) -> Result<Self, PolicyError> {
        let parsed = file::parse(src, &catalogue)?;
        let tool_list = |place: String, names: Option<Vec<file::ToolName>>| {
            names.map(|n| ToolList::new(place, n))
        };
        let mut repositories = Vec::new();
        for (key, rules) in parsed.repositories {
            let place = format!("repositories.{key}");
            repositories.push(RepoRules {
                tools_allow: tool_list(format!("{place}.tools.allow"), rules.tools.allow),
                tools_deny: ToolList::new(format!("{place}.tools.deny"), rules.tools.deny),
                paths_allow: rules
                    .paths
                    .allow
                    .map(|p| PathList::new(format!("{place}.paths.allow"), p, Side::Allow))
                    .transpose()?,
                paths_deny: PathList::new(
                    format!("{place}.paths.deny"),
                    rules.paths.deny,
                    Side::Deny,
                )?,
                key,
            });
        }
        let mut policy = Self {
            read: parsed.defaults.read,
            write: parsed.defaults.write,
            tools_allow: tool_list("tools.allow".into(), parsed.tools.allow),
            tools_deny: ToolList::new("tools.deny".into(), parsed.tools.deny),
            repositories,
            catalogue,
            warnings: Vec::new(),
        };
        policy.warnings = policy.lint();
        Ok(policy)
    }

    /// Reads and parses the policy file at `path` (spec catalogue).
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        Self::load_with(path, ToolCatalogue::spec())
    }

    /// The policy the configuration names (`POLICY_FILE_PATH`), or the spec's defaults when
    /// none is set, over `catalogue`.
    pub fn configured(path: Option<&Path>, catalogue: ToolCatalogue) -> Result<Self, PolicyError> {
        match path {
            Some(path) => Self::load_with(path, catalogue),
            None => Self::from_yaml_with("{}", catalogue),
        }
    }

    /// Reads and parses the policy file at `path`; errors name the file.
    pub fn load_with(path: &Path, catalogue: ToolCatalogue) -> Result<Self, PolicyError> {
        let src = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_with(&src, catalogue).map_err(|e| match e {
            PolicyError::Invalid {
                line,
                column,
                message,
                ..
            } => PolicyError::Invalid {
                file: Some(path.to_path_buf()),
                line,
                column,
                message,
            },
            other => other,
        })
    }

    /// The tools this policy knows; requests for any other tool are denied.
    pub fn catalogue(&self) -> &ToolCatalogue {
        &self.catalogue
    }

    /// `defaults.read` and `defaults.write`.
    pub fn defaults(&self) -> (Effect, Effect) {
        (self.read, self.write)
    }

    /// Legal but suspicious rules (dead allows, `defaults.write: allow`), for `validate`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Decides one request. Pure: the same policy and request always give the same answer.
    pub fn authorize(&self, request: &PolicyRequest<'_>) -> Decision {
        let tool = request.tool;
        let Some(class) = self.catalogue.class_of(tool) else {
            return Decision::deny(vec![format!(
                "tool `{}` is not in the tool catalogue (unknown tools are denied)",
                tool.escape_default()
            )]);
        };
        if class != request.kind {
            return Decision::deny(vec![format!(
                "tool `{tool}` is {} but was asked about as {}",
                class.a_tool(),
                request.kind.a_tool()
            )]);
        }
        let path = match request.path.map(normalize_repo_path).transpose() {
            Ok(path) => path,
            Err(why) => {
                return Decision::deny(vec![format!(
                    "path `{}` cannot be normalised: {why}",
                    request.path.unwrap_or_default().escape_default()
                )])
            }
        };
        let matching: Vec<&RepoRules> = match request.repo {
            Some(repo) => self
                .repositories
                .iter()
                .filter(|r| r.key.matches(repo))
                .collect(),
            None => Vec::new(),
        };

        let mut denials: Vec<String> = self.tools_deny.names(tool).into_iter().collect();
        for rules in &matching {
            denials.extend(rules.tools_deny.names(tool));
            if let Some(allow) = &rules.tools_allow {
                if allow.names(tool).is_none() {
                    denials.push(format!(
                        "{} does not name `{tool}` (only the tools it names may run on `{}`)",
                        allow.place, rules.key
                    ));
                }
            }
        }
        let path_grants = match &path {
            Some(path) => match Self::check_path(&matching, path) {
                Ok(grants) => grants,
                Err(path_denials) => {
                    denials.extend(path_denials);
                    Vec::new()
                }
            },
            None => {
                // A caller that forgets the path of a path tool must not skip path rules.
                let takes_path = self
                    .catalogue
                    .facts(tool)
                    .is_some_and(ToolFacts::takes_path);
                if takes_path {
                    denials.extend(matching.iter().filter(|r| r.has_path_rules()).map(|r| {
                        format!(
                            "`{tool}` reads a path but the request names none, so the path \
                             rules of repositories.{} cannot be checked",
                            r.key
                        )
                    }));
                }
                Vec::new()
            }
        };
        if !denials.is_empty() {
            return Decision::deny(denials);
        }

        let mut grants: Vec<String> = self
            .tools_allow
            .iter()
            .filter_map(|l| l.names(tool))
            .collect();
        grants.extend(
            matching
                .iter()
                .filter_map(|r| r.tools_allow.as_ref().and_then(|l| l.names(tool))),
        );
        if grants.is_empty() {
            let default = match class {
                ToolClass::Read => Some(("defaults.read", self.read)),
                ToolClass::Write => Some(("defaults.write", self.write)),
                ToolClass::Automation => None,
            };
            match default {
                Some((place, Effect::Allow)) => {
                    grants.push(format!("{place} is allow for {class} tool `{tool}`"));
                }
                Some((place, Effect::Deny)) => {
                    return Decision::deny(vec![format!(
                        "{place} is deny and no rule allows {class} tool `{tool}`"
                    )])
                }
                None => {
                    return Decision::deny(vec![format!(
                        "automation pseudo-tool `{tool}` is denied unless `tools.allow` or the \
                         repository's `tools.allow` names it"
                    )])
                }
            }
        }
        grants.extend(path_grants);
        Decision::allow(grants)
    }

    /// Whether `path` of `repo` may be shown or read, whatever the tool: what listings use
    /// to filter their results.
    pub fn path_allowed(&self, repo: &RepoName, path: &str) -> Decision {
        let path = match normalize_repo_path(path) {
            Ok(path) => path,
            Err(why) => {
                return Decision::deny(vec![format!(
                    "path `{}` cannot be normalised: {why}",
                    path.escape_default()
                )])
            }
        };
        let matching: Vec<&RepoRules> = self
            .repositories
            .iter()
            .filter(|r| r.key.matches(repo))
            .collect();
        match Self::check_path(&matching, &path) {
            Ok(grants) if grants.is_empty() => {
                Decision::allow(vec![format!("no path rule of `{repo}` covers `{path}`")])
            }
            Ok(grants) => Decision::allow(grants),
            Err(denials) => Decision::deny(denials),
        }
    }

    /// Keeps the items whose path [`Policy::path_allowed`] allows: how a listing drops
    /// denied entries rather than leaking their names.
    pub fn retain_allowed<T>(
        &self,
        repo: &RepoName,
        items: &mut Vec<T>,
        path_of: impl Fn(&T) -> &str,
    ) {
        items.retain(|item| self.path_allowed(repo, path_of(item)).allowed);
    }

    /// Path rules of the matching repositories against a normalised path: the granting
    /// allow rules, or every reason to deny.
    fn check_path(matching: &[&RepoRules], path: &str) -> Result<Vec<String>, Vec<String>> {
        let mut denials = Vec::new();
        let mut grants = Vec::new();
        for rules in matching {
            denials.extend(rules.paths_deny.matching(path));
            if let Some(allow) = &rules.paths_allow {
                match allow.matching(path) {
                    Some(grant) => grants.push(grant),
                    None => {
                        denials.push(format!("{} has no pattern covering `{path}`", allow.place))
                    }
                }
            }
        }
        if denials.is_empty() {
            Ok(grants)
        } else {
            Err(denials)
        }
    }

    /// Rules that load but cannot mean what their author wanted.
    fn lint(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.write == Effect::Allow {
            warnings.push(
                "defaults.write is allow: every write tool is allowed on every repository the \
                 write whitelist admits"
                    .to_string(),
            );
        }
        let mut allow_lists: Vec<&ToolList> = self.tools_allow.iter().collect();
        allow_lists.extend(
            self.repositories
                .iter()
                .filter_map(|r| r.tools_allow.as_ref()),
        );
        for list in allow_lists {
            for name in &list.names {
                if let Some(denied) = self.tools_deny.names(name) {
                    warnings.push(format!(
                        "{} names `{name}`, but {denied} and deny wins",
                        list.place
                    ));
                }
            }
        }
        for rules in &self.repositories {
            let Some(allow) = &rules.tools_allow else {
                continue;
            };
            for name in &allow.names {
                if let Some(denied) = rules.tools_deny.names(name) {
                    warnings.push(format!(
                        "{} names `{name}`, but {denied} and deny wins",
                        allow.place
                    ));
                }
            }
            // Whitelists of every matching entry must all name a tool; an exact key cannot
            // widen what a glob key covering it allows.
            let Ok(exact) = RepoName::parse(rules.key.key()) else {
                continue;
            };
            for other in &self.repositories {
                let Some(other_allow) = &other.tools_allow else {
                    continue;
                };
                if std::ptr::eq(other, rules) || !other.key.matches(&exact) {
                    continue;
                }
                for name in allow
                    .names
                    .iter()
                    .filter(|n| other_allow.names(n).is_none())
                {
                    warnings.push(format!(
                        "{} names `{name}`, but {} also applies to `{exact}` and does not",
                        allow.place, other_allow.place
                    ));
                }
            }
        }
        warnings
    }
}
