//! `dependency_hygiene_scan` and `auto_issue_creation`: manifests read through the Gitea
//! API (the default branch's tree, then each manifest's blob), checked offline by
//! [`super::manifests`], and, for issue creation, one issue per finding.
//!
//! Issues carry a fingerprint of their finding (repository, manifest, rule, dependency) in
//! an HTML comment; before creating, the job reads every issue of the repository (open and
//! closed) and skips the fingerprints it finds, so a rerun never opens an issue twice and a
//! closed one stays closed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::manifests::{manifest_kind, missing_lockfile, scan_manifest, Finding, Rule};
use super::{JobContext, StepError, MAX_PAGES};
use aegis_core::config::RepoName;
use aegis_gitea::{GiteaError, NewIssue, TreeRequest};

/// Manifests read per repository.
pub const MAX_MANIFESTS: usize = 50;
/// Directories that hold other projects' manifests, not this one's.
const IGNORED_DIRS: [&str; 5] = ["node_modules", "vendor", "target", ".git", "third_party"];
/// The marker issue bodies carry.
pub const FINGERPRINT_MARKER: &str = "aegis-automation-fingerprint:";

/// A finding with its stable id.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fingerprinted {
    pub fingerprint: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// What a scan of one repository found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ScanReport {
    /// The branch that was read
    pub reference: String,
    pub manifests: Vec<String>,
    pub findings: Vec<Fingerprinted>,
    /// Manifests that could not be read or parsed, with why
    pub unreadable: Vec<Value>,
    /// The tree or the manifest list was cut at its bound
    pub truncated: bool,
    /// Files of the tree left out because the policy denies their path
    pub denied_paths: u64,
}

/// The fingerprint of a finding in a repository: 16 hex digits of a SHA-256.
pub fn fingerprint(repo: &RepoName, finding: &Finding) -> String {
    let key = format!(
        "{}\n{}\n{}\n{}",
        repo.to_string().to_ascii_lowercase(),
        finding.manifest,
        finding.rule.as_str(),
        finding.dependency.as_deref().unwrap_or_default()
    );
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_string()
}

/// Reads and checks every manifest of the default branch, once per delivery or tick
/// ([`super::RunCache`]).
pub async fn scan_repository(
    ctx: &JobContext<'_>,
    repo: &RepoName,
) -> Result<ScanReport, StepError> {
    if let Some(report) = ctx.cache.scan(repo) {
        return Ok(report);
    }
    let report = read_and_check(ctx, repo).await?;
    ctx.cache.keep_scan(repo, &report);
    Ok(report)
}

async fn read_and_check(ctx: &JobContext<'_>, repo: &RepoName) -> Result<ScanReport, StepError> {
    let info = ctx
        .gitea
        .get_repository(ctx.credential, &repo.owner, &repo.repo)
        .await?;
    let mut report = ScanReport {
        reference: info.default_branch.clone(),
        ..ScanReport::default()
    };
    if info.empty {
        return Ok(report);
    }
    // path -> blob sha, for every file of the tree the policy lets the job read
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    // Every file's path, denied ones included: only asked whether a lockfile exists (a
    // denied lockfile is never read or named, but it is not missing either).
    let mut every_path: Vec<String> = Vec::new();
    for page in 1..=MAX_PAGES {
        if ctx.out_of_time() {
            return Err(StepError::OutOfTime);
        }
        let tree = ctx
            .gitea
            .get_tree(
                ctx.credential,
                &repo.owner,
                &repo.repo,
                &TreeRequest {
                    reference: info.default_branch.clone(),
                    recursive: true,
                    page,
                    per_page: 1000,
                },
            )
            .await?;
        let n = tree.entries.len() as u64;
        for entry in tree.entries {
            if entry.kind != "blob" {
                continue;
            }
            every_path.push(entry.path.clone());
            // A path the policy denies is neither read nor named, as in the read tools'
            // listings; only the count shows in the report.
            if ctx.policy.path_allowed(repo, &entry.path).allowed {
                files.insert(entry.path, entry.sha);
            } else {
                report.denied_paths += 1;
            }
        }
        if tree.truncated || u64::from(page) * 1000 >= tree.total_count || n == 0 {
            report.truncated |= tree.truncated;
            break;
        }
        if page == MAX_PAGES {
            report.truncated = true;
        }
    }
    let paths: Vec<&str> = every_path.iter().map(String::as_str).collect();
    let manifests: Vec<(&String, &String)> = files
        .iter()
        .filter(|(p, _)| manifest_kind(p).is_some())
        .filter(|(p, _)| !p.split('/').any(|seg| IGNORED_DIRS.contains(&seg)))
        .collect();
    if manifests.len() > MAX_MANIFESTS {
        report.truncated = true;
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (path, sha) in manifests.into_iter().take(MAX_MANIFESTS) {
        if ctx.out_of_time() {
            return Err(StepError::OutOfTime);
        }
        report.manifests.push(path.clone());
        let bytes = match ctx
            .gitea
            .get_blob(ctx.credential, &repo.owner, &repo.repo, sha)
            .await
        {
            Ok(b) => b,
            Err(e @ GiteaError::FileTooLarge { .. }) => {
                report
                    .unreadable
                    .push(json!({ "manifest": path, "reason": e.to_string() }));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&bytes);
        match scan_manifest(path, &text) {
            Ok(m) => {
                if m.dependencies > 0 {
                    findings.extend(missing_lockfile(path, &paths));
                }
                findings.extend(m.findings);
            }
            Err(reason) => report
                .unreadable
                .push(json!({ "manifest": path, "reason": reason })),
        }
    }
    findings.sort();
    report.findings = findings
        .into_iter()
        .map(|finding| Fingerprinted {
            fingerprint: fingerprint(repo, &finding),
            finding,
        })
        .collect();
    tracing::info!(repository = %repo, manifests = report.manifests.len(), findings = report.findings.len(), "dependency hygiene scanned");
    Ok(report)
}

/// The job's per-repository result: the scan report plus counters.
pub async fn scan(ctx: &JobContext<'_>, repo: &RepoName) -> Result<Value, StepError> {
    let report = scan_repository(ctx, repo).await?;
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &report.findings {
        *by_rule.entry(f.finding.rule.as_str()).or_default() += 1;
    }
    Ok(json!({
        "counts": { "manifests": report.manifests.len(), "findings": report.findings.len() },
        "by_rule": by_rule,
        "reference": report.reference,
        "manifests": report.manifests,
        "findings": report.findings,
        "unreadable": report.unreadable,
        "truncated": report.truncated,
        "denied_paths": report.denied_paths,
    }))
}

fn rule_title(rule: Rule) -> &'static str {
    match rule {
        Rule::MissingLockfile => "no lockfile",
        Rule::WildcardVersion => "wildcard version",
        Rule::UnpinnedVersion => "unpinned version",
        Rule::GitDependency => "git dependency",
        Rule::UrlDependency => "URL dependency",
        Rule::PathDependency => "path dependency",
        Rule::DuplicateDeclaration => "duplicate declaration",
    }
}

/// The issue a finding becomes.
pub fn issue_for(f: &Fingerprinted) -> NewIssue {
    let finding = &f.finding;
    let title = match &finding.dependency {
        Some(dep) => format!(
            "Dependency hygiene: {} `{dep}` in `{}`",
            rule_title(finding.rule),
            finding.manifest
        ),
        None => format!(
            "Dependency hygiene: {} for `{}`",
            rule_title(finding.rule),
            finding.manifest
        ),
    };
    let body = format!(
        "The dependency hygiene scan found a problem in `{manifest}`:\n\n> {detail}\n\n\
         Rule: `{rule}`. What each rule means and how to fix it: the gateway's \
         `docs/automation.md`. This issue was opened by AegisGitea automation \
         (`auto_issue_creation`); it is not opened again while it exists, open or closed.\n\n\
         <!-- {FINGERPRINT_MARKER} {fp} -->\n",
        manifest = finding.manifest,
        detail = finding.detail,
        rule = finding.rule.as_str(),
        fp = f.fingerprint,
    );
    NewIssue {
        title,
        body: Some(body),
        ..NewIssue::default()
    }
}

/// The fingerprints in an issue body.
fn fingerprints_in(body: &str) -> impl Iterator<Item = &str> {
    body.match_indices(FINGERPRINT_MARKER).filter_map(|(i, m)| {
        let rest = body[i + m.len()..].trim_start();
        let fp = rest.get(..16)?;
        fp.chars().all(|c| c.is_ascii_hexdigit()).then_some(fp)
    })
}

/// `auto_issue_creation` on one repository: scan, then one issue per new finding.
pub async fn create_issues(
    ctx: &JobContext<'_>,
    repo: &RepoName,
    write: bool,
) -> Result<Value, StepError> {
    let report = scan_repository(ctx, repo).await?;
    // fingerprint -> issue number, over every issue (open and closed)
    let (all, complete) = ctx.issues(repo, "all").await?;
    let mut existing: BTreeMap<String, i64> = BTreeMap::new();
    for issue in &all {
        for fp in fingerprints_in(&issue.body) {
            existing.entry(fp.to_string()).or_insert(issue.number);
        }
    }
    let mut issues = Vec::new();
    let (mut created, mut found, mut would) = (0u64, 0u64, 0u64);
    for f in &report.findings {
        let new = issue_for(f);
        if let Some(number) = existing.get(&f.fingerprint) {
            found += 1;
            issues.push(json!({ "fingerprint": f.fingerprint, "title": new.title, "action": "exists", "number": number }));
            continue;
        }
        // Without the whole issue list a duplicate cannot be ruled out: do not write.
        if write && complete {
            if ctx.out_of_time() {
                return Err(StepError::OutOfTime);
            }
            let issue = ctx
                .gitea
                .create_issue(ctx.credential, &repo.owner, &repo.repo, &new)
                .await?;
            tracing::info!(repository = %repo, number = issue.number, fingerprint = %f.fingerprint, "issue created");
            existing.insert(f.fingerprint.clone(), issue.number);
            created += 1;
            issues.push(json!({ "fingerprint": f.fingerprint, "title": new.title, "action": "created", "number": issue.number }));
        } else {
            would += 1;
            issues.push(json!({ "fingerprint": f.fingerprint, "title": new.title, "action": "would_create" }));
        }
    }
    Ok(json!({
        "counts": {
            "findings": report.findings.len(),
            "created": created,
            "existing": found,
            "would_create": would,
        },
        "issue_list_complete": complete,
        "issues": issues,
        "unreadable": report.unreadable,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::Ecosystem;

    #[test]
    fn fingerprints_are_stable_and_found_again_in_the_body() {
        let repo = RepoName::parse("lab/deps").unwrap();
        let finding = Finding {
            manifest: "Cargo.toml".into(),
            ecosystem: Ecosystem::Cargo,
            rule: Rule::WildcardVersion,
            dependency: Some("anyhow".into()),
            detail: "x".into(),
        };
        let fp = fingerprint(&repo, &finding);
        assert_eq!(fp.len(), 16);
        assert_eq!(
            fp,
            fingerprint(&RepoName::parse("Lab/Deps").unwrap(), &finding)
        );
        let issue = issue_for(&Fingerprinted {
            fingerprint: fp.clone(),
            finding,
        });
        let body = issue.body.unwrap();
        assert_eq!(fingerprints_in(&body).collect::<Vec<_>>(), [fp.as_str()]);
        assert_eq!(
            fingerprints_in("aegis-automation-fingerprint: xyz").count(),
            0
        );
    }
}
