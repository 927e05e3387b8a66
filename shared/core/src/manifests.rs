//! Dependency manifests read offline: what each declares and what is wrong with it.
//!
//! Pure functions over a manifest's path and text (no Gitea, no registry): Cargo
//! (`Cargo.toml`), npm (`package.json`), Python (`requirements*.txt`, `pyproject.toml`) and
//! Go (`go.mod`). The lockfile rule needs the repository's file list, so it lives in
//! [`missing_lockfile`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// What a finding says is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Dependencies are declared but no lockfile pins them
    MissingLockfile,
    /// A version that accepts anything (`*`, `latest`, `1.x`, empty)
    WildcardVersion,
    /// No version, or a range with no upper bound where a pin is expected
    UnpinnedVersion,
    /// Fetched from a git repository instead of the registry
    GitDependency,
    /// Fetched from an arbitrary URL (a tarball) instead of the registry
    UrlDependency,
    /// Taken from the local file system (`path`, `file:`, `replace => ../x`)
    PathDependency,
    /// The same package declared more than once
    DuplicateDeclaration,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingLockfile => "missing_lockfile",
            Rule::WildcardVersion => "wildcard_version",
            Rule::UnpinnedVersion => "unpinned_version",
            Rule::GitDependency => "git_dependency",
            Rule::UrlDependency => "url_dependency",
            Rule::PathDependency => "path_dependency",
            Rule::DuplicateDeclaration => "duplicate_declaration",
        }
    }
}

/// The package ecosystem of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ecosystem {
    Cargo,
    Npm,
    Python,
    Go,
}

/// One problem in one manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// Repository path of the manifest
    pub manifest: String,
    pub ecosystem: Ecosystem,
    pub rule: Rule,
    /// The dependency concerned (`None` for a missing lockfile)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    /// What was found, for a human
    pub detail: String,
}

/// What reading one manifest found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestReport {
    /// How many dependency declarations it holds (a manifest without any needs no lockfile)
    pub dependencies: usize,
    pub findings: Vec<Finding>,
}

/// The kind of manifest a file name is, if any.
pub fn manifest_kind(path: &str) -> Option<Ecosystem> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name {
        "Cargo.toml" => Some(Ecosystem::Cargo),
        "package.json" => Some(Ecosystem::Npm),
        "pyproject.toml" => Some(Ecosystem::Python),
        "go.mod" => Some(Ecosystem::Go),
        n if is_requirements(n) => Some(Ecosystem::Python),
        _ => None,
    }
}

fn is_requirements(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

/// Whether `name` (a file name) is a lockfile of one of the manifests we read.
pub fn is_lockfile(name: &str) -> bool {
    ["Cargo.toml", "package.json", "pyproject.toml", "go.mod"]
        .iter()
        .any(|manifest| lockfiles_for(manifest).contains(&name))
}

/// Lockfiles that pin a manifest's dependencies, by manifest file name.
fn lockfiles_for(name: &str) -> &'static [&'static str] {
    match name {
        "Cargo.toml" => &["Cargo.lock"],
        "package.json" => &[
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lock",
            "bun.lockb",
        ],
        "pyproject.toml" => &[
            "poetry.lock",
            "uv.lock",
            "pdm.lock",
            "Pipfile.lock",
            "pylock.toml",
        ],
        "go.mod" => &["go.sum"],
        // requirements files are their own pin list (the `==` rule checks them)
        _ => &[],
    }
}

/// Whether a lockfile covers `manifest`: one in its directory or, for Cargo and npm
/// workspaces, in an ancestor directory (`go.sum` must sit next to `go.mod`).
pub fn missing_lockfile(manifest: &str, files: &[&str]) -> Option<Finding> {
    let (dir, name) = match manifest.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", manifest),
    };
    let locks = lockfiles_for(name);
    if locks.is_empty() {
        return None;
    }
    let walk_up = matches!(name, "Cargo.toml" | "package.json");
    let mut current = Some(dir);
    while let Some(d) = current {
        for lock in locks {
            let candidate = if d.is_empty() {
                (*lock).to_string()
            } else {
                format!("{d}/{lock}")
            };
            if files.contains(&candidate.as_str()) {
                return None;
            }
        }
        current = if !walk_up || d.is_empty() {
            None
        } else {
            Some(d.rsplit_once('/').map(|(p, _)| p).unwrap_or(""))
        };
    }
    Some(Finding {
        manifest: manifest.to_string(),
        ecosystem: manifest_kind(manifest)?,
        rule: Rule::MissingLockfile,
        dependency: None,
        detail: format!("no {} next to it", locks.join(" or ")),
    })
}

/// Reads one manifest. `Err` when it cannot be parsed (reported, not fatal).
pub fn scan_manifest(path: &str, text: &str) -> Result<ManifestReport, String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut out = Out::new(path);
    match name {
        "Cargo.toml" => cargo(text, &mut out)?,
        "package.json" => npm(text, &mut out)?,
        "pyproject.toml" => pyproject(text, &mut out)?,
        "go.mod" => go_mod(text, &mut out),
        n if is_requirements(n) => requirements(text, &mut out),
        _ => return Err(format!("`{path}` is not a known manifest")),
    }
    out.report.findings.sort();
    out.report.findings.dedup();
    Ok(out.report)
}

struct Out<'a> {
    path: &'a str,
    ecosystem: Ecosystem,
    report: ManifestReport,
}

impl<'a> Out<'a> {
    fn new(path: &'a str) -> Self {
        Self {
            path,
            ecosystem: manifest_kind(path).unwrap_or(Ecosystem::Cargo),
            report: ManifestReport::default(),
        }
    }

    fn find(&mut self, rule: Rule, dependency: &str, detail: impl Into<String>) {
        self.report.findings.push(Finding {
            manifest: self.path.to_string(),
            ecosystem: self.ecosystem,
            rule,
            dependency: Some(dependency.to_string()),
            detail: detail.into(),
        });
    }
}

/// A version requirement that accepts any version.
fn is_wildcard(req: &str) -> bool {
    let r = req.trim();
    r.is_empty()
        || r == "*"
        || r.eq_ignore_ascii_case("latest")
        || r.eq_ignore_ascii_case("x")
        || r.split(['.', ' ', ',']).any(|part| {
            let p = part.trim_start_matches(['=', '^', '~', '>', '<', 'v']);
            p == "*" || p.eq_ignore_ascii_case("x")
        })
}

/// A requirement with a lower bound only (`>=1.2`, `>1`): any future major version fits.
fn lacks_upper_bound(req: &str) -> bool {
    // `>= 1.2` is one comparator: drop the spaces after operators before splitting
    let mut compact = String::with_capacity(req.len());
    for c in req.trim().chars() {
        if c == ' ' && compact.ends_with(['>', '<', '=', '~', '^', '!']) {
            continue;
        }
        compact.push(c);
    }
    let parts: Vec<&str> = compact
        .split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    !parts.is_empty()
        && parts
            .iter()
            .all(|p| p.starts_with(">=") || (p.starts_with('>') && !p.starts_with(">=")))
}

// ---- Cargo ---------------------------------------------------------------------------

fn cargo(text: &str, out: &mut Out<'_>) -> Result<(), String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut sections: Vec<(String, &toml::Table)> = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(key).and_then(toml::Value::as_table) {
            sections.push((key.to_string(), t));
        }
    }
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        for (cfg, target) in targets {
            for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(t) = target.get(key).and_then(toml::Value::as_table) {
                    sections.push((format!("target.{cfg}.{key}"), t));
                }
            }
        }
    }
    if let Some(t) = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table)
    {
        sections.push(("workspace.dependencies".into(), t));
    }
    for (section, table) in sections {
        // package name -> the keys declaring it in this section
        let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in table {
            out.report.dependencies += 1;
            let package = value
                .get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(key)
                .to_string();
            declared.entry(package).or_default().push(key.clone());
            match value {
                toml::Value::String(req) => cargo_version(out, key, req, &section),
                toml::Value::Table(t) => {
                    if t.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                        continue;
                    }
                    if let Some(url) = t.get("git").and_then(toml::Value::as_str) {
                        let pinned = t.contains_key("rev") || t.contains_key("tag");
                        out.find(
                            Rule::GitDependency,
                            key,
                            format!(
                                "[{section}] `{key}` comes from git `{url}`{}",
                                if pinned {
                                    ""
                                } else {
                                    " and follows a branch head (no `rev` or `tag`)"
                                }
                            ),
                        );
                    } else if let Some(p) = t.get("path").and_then(toml::Value::as_str) {
                        out.find(
                            Rule::PathDependency,
                            key,
                            format!("[{section}] `{key}` comes from the local path `{p}`"),
                        );
                    } else if let Some(req) = t.get("version").and_then(toml::Value::as_str) {
                        cargo_version(out, key, req, &section);
                    } else {
                        out.find(
                            Rule::UnpinnedVersion,
                            key,
                            format!("[{section}] `{key}` has no version"),
                        );
                    }
                }
                _ => {}
            }
        }
        for (package, keys) in declared {
            if keys.len() > 1 {
                out.find(
                    Rule::DuplicateDeclaration,
                    &package,
                    format!(
                        "[{section}] declares `{package}` {} times (as {})",
                        keys.len(),
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    Ok(())
}

fn cargo_version(out: &mut Out<'_>, key: &str, req: &str, section: &str) {
    if is_wildcard(req) {
        out.find(
            Rule::WildcardVersion,
            key,
            format!("[{section}] `{key} = \"{req}\"` accepts any version"),
        );
    } else if lacks_upper_bound(req) {
        out.find(
            Rule::UnpinnedVersion,
            key,
            format!("[{section}] `{key} = \"{req}\"` has no upper bound"),
        );
    }
}

// ---- npm -----------------------------------------------------------------------------

fn npm(text: &str, out: &mut Out<'_>) -> Result<(), String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut seen: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for section in ["dependencies", "devDependencies", "optionalDependencies"] {
        let Some(deps) = doc.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, spec) in deps {
            out.report.dependencies += 1;
            seen.entry(name.clone()).or_default().push(section);
            let spec = spec.as_str().unwrap_or_default().trim();
            npm_spec(out, section, name, spec);
        }
    }
    for (name, sections) in seen {
        if sections.len() > 1 {
            out.find(
                Rule::DuplicateDeclaration,
                &name,
                format!("`{name}` is declared in {}", sections.join(" and ")),
            );
        }
    }
    Ok(())
}

fn npm_spec(out: &mut Out<'_>, section: &str, name: &str, spec: &str) {
    let lower = spec.to_ascii_lowercase();
    let at = format!("{section}: `\"{name}\": \"{spec}\"`");
    if lower.starts_with("workspace:") || lower.starts_with("npm:") {
        return;
    }
    if lower.starts_with("git+")
        || lower.starts_with("git://")
        || lower.starts_with("github:")
        || lower.starts_with("gitlab:")
        || lower.starts_with("bitbucket:")
        || (spec.contains('/')
            && !spec.contains(':')
            && !spec.starts_with('.')
            && !spec.starts_with('/')
            && !spec.starts_with('@'))
    {
        out.find(Rule::GitDependency, name, format!("{at} comes from git"));
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        out.find(Rule::UrlDependency, name, format!("{at} is a tarball URL"));
    } else if lower.starts_with("file:")
        || lower.starts_with("link:")
        || spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('/')
        || spec.starts_with("~/")
    {
        out.find(Rule::PathDependency, name, format!("{at} is a local path"));
    } else if is_wildcard(spec) {
        out.find(
            Rule::WildcardVersion,
            name,
            format!("{at} accepts any version"),
        );
    } else if lacks_upper_bound(spec) {
        out.find(
            Rule::UnpinnedVersion,
            name,
            format!("{at} has no upper bound"),
        );
    }
}

// ---- Python --------------------------------------------------------------------------

/// PEP 503 normalisation: case-insensitive, runs of `-`, `_`, `.` are one `-`.
fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// One PEP 508 requirement, split: name, version specifier, direct URL, marker present.
struct Requirement {
    name: String,
    specifier: String,
    url: Option<String>,
    has_marker: bool,
}

fn parse_requirement(line: &str) -> Option<Requirement> {
    let (body, marker) = match line.split_once(';') {
        Some((b, _)) => (b.trim(), true),
        None => (line.trim(), false),
    };
    if let Some((name, url)) = body.split_once(" @ ").or_else(|| body.split_once('@')) {
        let name = name.split('[').next().unwrap_or(name);
        return Some(Requirement {
            name: normalize_python_name(name),
            specifier: String::new(),
            url: Some(url.trim().to_string()),
            has_marker: marker,
        });
    }
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(body.len());
    let name = &body[..end];
    if name.is_empty() {
        return None;
    }
    let rest = body[end..].trim();
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']').map(|(_, s)| s.trim()).unwrap_or(""),
        None => rest,
    };
    Some(Requirement {
        name: normalize_python_name(name),
        specifier: rest.trim_matches(['(', ')']).replace(' ', ""),
        url: None,
        has_marker: marker,
    })
}

fn is_vcs_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .any(|p| lower.starts_with(p))
}

fn is_local_path(url: &str) -> bool {
    url.starts_with("file:")
        || url.starts_with("./")
        || url.starts_with("../")
        || url.starts_with('/')
        || url == "."
}

fn requirements(text: &str, out: &mut Out<'_>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for raw in text.lines() {
        // comments start at `#` at the line start or after whitespace (`#egg=` is a URL part)
        let line = match raw.find(" #") {
            Some(i) => &raw[..i],
            None => raw,
        }
        .trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (editable, line) = match line
            .strip_prefix("-e ")
            .or_else(|| line.strip_prefix("--editable "))
        {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if !editable && line.starts_with('-') {
            continue; // options: -r, -c, --index-url, --hash, ...
        }
        out.report.dependencies += 1;
        if is_vcs_url(line) {
            let name = line
                .split("#egg=")
                .nth(1)
                .map(normalize_python_name)
                .unwrap_or_else(|| line.to_string());
            out.find(
                Rule::GitDependency,
                &name,
                format!("`{line}` comes from a VCS"),
            );
            continue;
        }
        if is_local_path(line) {
            out.find(
                Rule::PathDependency,
                line,
                format!("`{line}` is a local path"),
            );
            continue;
        }
        let Some(req) = parse_requirement(line) else {
            continue;
        };
        python_requirement(out, &req, line, true);
        if !req.has_marker {
            *seen.entry(req.name).or_default() += 1;
        }
    }
    for (name, count) in seen {
        if count > 1 {
            out.find(
                Rule::DuplicateDeclaration,
                &name,
                format!("`{name}` is listed {count} times"),
            );
        }
    }
}

/// `pinned_expected`: requirements files pin with `==`; pyproject ranges are fine as long
/// as they are bounded, but a bare name or `*` is not.
fn python_requirement(out: &mut Out<'_>, req: &Requirement, line: &str, pinned_expected: bool) {
    if let Some(url) = &req.url {
        if is_vcs_url(url) {
            out.find(
                Rule::GitDependency,
                &req.name,
                format!("`{line}` comes from a VCS"),
            );
        } else if is_local_path(url) {
            out.find(
                Rule::PathDependency,
                &req.name,
                format!("`{line}` is a local path"),
            );
        } else {
            out.find(Rule::UrlDependency, &req.name, format!("`{line}` is a URL"));
        }
        return;
    }
    let spec = req.specifier.as_str();
    if spec.contains('*') || spec == "==" {
        out.find(
            Rule::WildcardVersion,
            &req.name,
            format!("`{line}` accepts any version in a range"),
        );
    } else if spec.is_empty() {
        out.find(
            Rule::UnpinnedVersion,
            &req.name,
            format!("`{line}` has no version"),
        );
    } else if pinned_expected && !(spec.starts_with("==") || spec.starts_with("===")) {
        out.find(
            Rule::UnpinnedVersion,
            &req.name,
            format!("`{line}` is not pinned with `==`"),
        );
    } else if !pinned_expected && lacks_upper_bound(spec) {
        out.find(
            Rule::UnpinnedVersion,
            &req.name,
            format!("`{line}` has no upper bound"),
        );
    }
}

fn pyproject(text: &str, out: &mut Out<'_>) -> Result<(), String> {
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let project = doc.get("project");
    let mut lists: Vec<&toml::value::Array> = Vec::new();
    if let Some(deps) = project
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
    {
        lists.push(deps);
    }
    for list in lists {
        for item in list.iter().filter_map(toml::Value::as_str) {
            out.report.dependencies += 1;
            if let Some(req) = parse_requirement(item) {
                python_requirement(out, &req, item, false);
                if !req.has_marker {
                    *seen.entry(req.name).or_default() += 1;
                }
            }
        }
    }
    if let Some(optional) = project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(toml::Value::as_table)
    {
        for list in optional.values().filter_map(toml::Value::as_array) {
            for item in list.iter().filter_map(toml::Value::as_str) {
                out.report.dependencies += 1;
                if let Some(req) = parse_requirement(item) {
                    python_requirement(out, &req, item, false);
                }
            }
        }
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    let mut poetry_tables: Vec<&toml::Table> = Vec::new();
    if let Some(t) = poetry
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_table)
    {
        poetry_tables.push(t);
    }
    if let Some(groups) = poetry
        .and_then(|p| p.get("group"))
        .and_then(toml::Value::as_table)
    {
        poetry_tables.extend(
            groups
                .values()
                .filter_map(|g| g.get("dependencies").and_then(toml::Value::as_table)),
        );
    }
    for table in poetry_tables {
        for (name, value) in table {
            if name == "python" {
                continue;
            }
            out.report.dependencies += 1;
            let at = format!("[tool.poetry] `{name}`");
            match value {
                toml::Value::String(req) if is_wildcard(req) => {
                    out.find(
                        Rule::WildcardVersion,
                        name,
                        format!("{at} = \"{req}\" accepts any version"),
                    );
                }
                toml::Value::Table(t) if t.contains_key("git") => {
                    out.find(Rule::GitDependency, name, format!("{at} comes from git"));
                }
                toml::Value::Table(t) if t.contains_key("path") => {
                    out.find(Rule::PathDependency, name, format!("{at} is a local path"));
                }
                toml::Value::Table(t) if t.contains_key("url") => {
                    out.find(Rule::UrlDependency, name, format!("{at} is a URL"));
                }
                _ => {}
            }
        }
    }
    for (name, count) in seen {
        if count > 1 {
            out.find(
                Rule::DuplicateDeclaration,
                &name,
                format!("`{name}` is listed {count} times in [project] dependencies"),
            );
        }
    }
    Ok(())
}

// ---- Go ------------------------------------------------------------------------------

fn go_mod(text: &str, out: &mut Out<'_>) {
    let mut block: Option<&str> = None;
    let mut required: BTreeMap<String, usize> = BTreeMap::new();
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if block.is_some() && line == ")" {
            block = None;
            continue;
        }
        let (directive, rest) = match block {
            Some(d) => (d, line),
            None => {
                let (d, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(match d {
                        "require" => "require",
                        "replace" => "replace",
                        _ => "other",
                    });
                    continue;
                }
                (d, rest)
            }
        };
        match directive {
            "require" => {
                if let Some(module) = rest.split_whitespace().next() {
                    out.report.dependencies += 1;
                    *required.entry(module.to_string()).or_default() += 1;
                }
            }
            "replace" => {
                if let Some((from, to)) = rest.split_once("=>") {
                    let module = from.split_whitespace().next().unwrap_or_default();
                    let target = to.split_whitespace().next().unwrap_or_default();
                    if is_local_path(target) || target.starts_with(".\\") {
                        out.find(
                            Rule::PathDependency,
                            module,
                            format!("`replace {module} => {target}` points at a local path"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for (module, count) in required {
        if count > 1 {
            out.find(
                Rule::DuplicateDeclaration,
                &module,
                format!("`{module}` is required {count} times"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (manifest path, text, expected (rule, dependency) pairs)
    fn check(path: &str, text: &str, expected: &[(Rule, &str)]) {
        let report = scan_manifest(path, text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut got: Vec<(Rule, String)> = report
            .findings
            .iter()
            .map(|f| (f.rule, f.dependency.clone().unwrap_or_default()))
            .collect();
        got.sort();
        let mut want: Vec<(Rule, String)> =
            expected.iter().map(|(r, d)| (*r, d.to_string())).collect();
        want.sort();
        assert_eq!(got, want, "{path}: {:#?}", report.findings);
    }

    #[test]
    fn cargo_findings() {
        check(
            "Cargo.toml",
            r#"
[package]
name = "x"
[dependencies]
serde = "1"
anyhow = "*"
rand = ">= 0.8"
tokio = { version = "1.*", features = ["full"] }
local = { path = "../local" }
forked = { git = "https://example.com/forked.git" }
pinned-git = { git = "https://example.com/p.git", rev = "abc123" }
serde_old = { package = "serde", version = "0.9" }
shared = { workspace = true }
[dev-dependencies]
serde = "1"
"#,
            &[
                (Rule::WildcardVersion, "anyhow"),
                (Rule::UnpinnedVersion, "rand"),
                (Rule::WildcardVersion, "tokio"),
                (Rule::PathDependency, "local"),
                (Rule::GitDependency, "forked"),
                (Rule::GitDependency, "pinned-git"),
                (Rule::DuplicateDeclaration, "serde"),
            ],
        );
        check(
            "Cargo.toml",
            "[package]\nname = \"x\"\n[dependencies]\n",
            &[],
        );
        assert!(scan_manifest("Cargo.toml", "[dependencies\n").is_err());
    }

    #[test]
    fn npm_findings() {
        check(
            "web/package.json",
            r#"{
  "dependencies": {"a": "^1.2.3", "b": "*", "c": "latest", "d": "1.x", "e": ">=2.0.0",
                   "f": "git+https://example.com/f.git", "g": "github:o/g", "h": "o/h#main",
                   "i": "file:../i", "j": "https://example.com/j.tgz", "k": "workspace:*",
                   "@scope/l": "~1.0.0"},
  "devDependencies": {"a": "^1.2.3", "m": "1.0.0"},
  "peerDependencies": {"react": "*"}
}"#,
            &[
                (Rule::WildcardVersion, "b"),
                (Rule::WildcardVersion, "c"),
                (Rule::WildcardVersion, "d"),
                (Rule::UnpinnedVersion, "e"),
                (Rule::GitDependency, "f"),
                (Rule::GitDependency, "g"),
                (Rule::GitDependency, "h"),
                (Rule::PathDependency, "i"),
                (Rule::UrlDependency, "j"),
                (Rule::DuplicateDeclaration, "a"),
            ],
        );
    }

    #[test]
    fn python_findings() {
        check(
            "requirements-dev.txt",
            "# tools\nrequests==2.31.0\nflask>=2.0\nclick\nDjango==4.*\n-r base.txt\n--index-url https://pypi.org/simple\n\
             git+https://example.com/lib.git#egg=lib\n-e ./local-pkg\nRequests == 2.31.0  # again\n\
             pytest==8.0.0 ; python_version >= \"3.8\"\nnumpy[extra]==1.26.0\n",
            &[
                (Rule::UnpinnedVersion, "flask"),
                (Rule::UnpinnedVersion, "click"),
                (Rule::WildcardVersion, "django"),
                (Rule::GitDependency, "lib"),
                (Rule::PathDependency, "./local-pkg"),
                (Rule::DuplicateDeclaration, "requests"),
            ],
        );
        check(
            "pyproject.toml",
            r#"
[project]
name = "x"
dependencies = ["httpx>=0.27,<1", "pydantic>=2", "rich", "mylib @ git+https://example.com/mylib.git", "httpx<1"]
[project.optional-dependencies]
dev = ["pytest==8.*"]
[tool.poetry.dependencies]
python = "^3.11"
anything = "*"
local = { path = "../local" }
"#,
            &[
                (Rule::UnpinnedVersion, "pydantic"),
                (Rule::UnpinnedVersion, "rich"),
                (Rule::GitDependency, "mylib"),
                (Rule::DuplicateDeclaration, "httpx"),
                (Rule::WildcardVersion, "pytest"),
                (Rule::WildcardVersion, "anything"),
                (Rule::PathDependency, "local"),
            ],
        );
    }

    #[test]
    fn go_findings() {
        check(
            "go.mod",
            "module example.com/m\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/text v0.14.0\n\tgithub.com/pkg/errors v0.9.1 // indirect\n)\n\
             require golang.org/x/text v0.15.0\nreplace example.com/lib => ../lib\nreplace example.com/other => example.com/fork v1.0.0\n",
            &[
                (Rule::DuplicateDeclaration, "golang.org/x/text"),
                (Rule::PathDependency, "example.com/lib"),
            ],
        );
    }

    #[test]
    fn lockfiles_are_looked_up_where_the_tools_look() {
        let files = [
            "Cargo.toml",
            "Cargo.lock",
            "crates/a/Cargo.toml",
            "go/go.mod",
            "go.sum",
            "web/package.json",
            "pyproject.toml",
            "uv.lock",
            "requirements.txt",
        ];
        let missing = |m: &str| missing_lockfile(m, &files).map(|f| f.rule);
        assert_eq!(missing("Cargo.toml"), None);
        assert_eq!(missing("crates/a/Cargo.toml"), None, "workspace lockfile");
        assert_eq!(
            missing("go/go.mod"),
            Some(Rule::MissingLockfile),
            "go.sum sits next to go.mod"
        );
        assert_eq!(missing("web/package.json"), Some(Rule::MissingLockfile));
        assert_eq!(missing("pyproject.toml"), None);
        assert_eq!(missing("requirements.txt"), None);
    }
}
