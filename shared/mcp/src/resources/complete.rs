//! `completion/complete`: values for the arguments of the resource templates and prompts.
//!
//! Every lookup is a read tool through `dispatch::call` (audited, policy-filtered: a denied
//! directory is not listed, a denied path is dropped by the tool itself); owners and
//! repositories are offered only when the gate would let the caller read them with the
//! template's or prompt's tool. At most `CompletionInfo::MAX_VALUES` values.

use std::collections::BTreeMap;

use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, MetaObject, Reference};
use serde_json::{json, Value};

use super::{prompts, uri, Caller, ReadError};
use crate::dispatch::CallError;
use aegis_core::config::RepoName;

/// What kind of value an argument takes, which decides how it is completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Owner,
    Repo,
    /// A file or directory path (directory-aware prefix completion)
    Path,
    /// A branch, tag or commit
    Ref,
    /// A tag
    Tag,
    /// A commit sha
    Sha,
    IssueNumber,
    PullNumber,
    ReleaseId,
    /// An issue state filter
    State,
}

/// The `_meta` key of a completion result mapping numbers to titles (issues, pull
/// requests, releases): values are plain strings in MCP, the titles help a client show them.
pub const TITLES_META_KEY: &str = "aegis/titles";

/// A template's arguments and the read tool that reads what it names.
fn template_args(template: &str) -> Option<(&'static str, &'static [(&'static str, ArgKind)])> {
    use ArgKind::*;
    const REPO: [(&str, ArgKind); 2] = [("owner", Owner), ("repo", Repo)];
    Some(match template {
        uri::FILE_TEMPLATE => (
            "get_file_contents",
            &[REPO[0], REPO[1], ("path", Path), ("ref", Ref)],
        ),
        uri::ISSUE_TEMPLATE => ("get_issue", &[REPO[0], REPO[1], ("number", IssueNumber)]),
        uri::ISSUES_TEMPLATE => ("list_issues", &[REPO[0], REPO[1], ("state", State)]),
        uri::PULL_TEMPLATE => (
            "get_pull_request",
            &[REPO[0], REPO[1], ("number", PullNumber)],
        ),
        uri::PULL_FILES_TEMPLATE => (
            "list_pull_request_files",
            &[REPO[0], REPO[1], ("number", PullNumber)],
        ),
        uri::RELEASE_TEMPLATE => (
            "get_release",
            &[REPO[0], REPO[1], ("release_id", ReleaseId)],
        ),
        uri::COMMIT_TEMPLATE => ("get_commit_diff", &[REPO[0], REPO[1], ("sha", Sha)]),
        uri::COMPARE_TEMPLATE => (
            "compare_refs",
            &[REPO[0], REPO[1], ("base", Ref), ("head", Ref)],
        ),
        _ => return None,
    })
}

/// One candidate value, with a title when it has one.
struct Candidate {
    value: String,
    title: Option<String>,
}

impl Candidate {
    fn plain(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            title: None,
        }
    }
}

/// `completion/complete`.
pub async fn complete(
    caller: &Caller<'_>,
    params: CompleteRequestParams,
) -> Result<CompleteResult, ReadError> {
    let (tool, kind) = match &params.r#ref {
        Reference::Resource(r) => {
            let (tool, args) = template_args(&r.uri).ok_or_else(|| {
                ReadError::Invalid(format!(
                    "unknown resource template `{}`: see resources/templates/list",
                    r.uri.escape_default()
                ))
            })?;
            let kind = args
                .iter()
                .find(|(name, _)| *name == params.argument.name)
                .map(|(_, k)| *k);
            (tool, kind)
        }
        Reference::Prompt(p) => {
            let def = prompts::find(&p.name).ok_or_else(|| {
                ReadError::Invalid(format!(
                    "unknown prompt `{}`: see prompts/list",
                    p.name.escape_default()
                ))
            })?;
            let kind = def
                .args
                .iter()
                .find(|a| a.name == params.argument.name)
                .map(|a| a.kind);
            (def.tool, kind)
        }
        _ => {
            return Err(ReadError::Invalid(
                "unsupported completion reference".into(),
            ))
        }
    };
    let kind = kind.ok_or_else(|| {
        ReadError::Invalid(format!(
            "no argument `{}` to complete there",
            params.argument.name.escape_default()
        ))
    })?;
    let context: BTreeMap<String, String> = params
        .context
        .and_then(|c| c.arguments)
        .map(|a| a.into_iter().collect())
        .unwrap_or_default();
    let value = params.argument.value;
    let candidates = candidates(caller, tool, kind, &value, &context).await?;
    Ok(result(candidates, &value, kind))
}

/// Case-insensitive prefix match; numbers also match by title.
fn matches(c: &Candidate, value: &str, kind: ArgKind) -> bool {
    let v = value.to_lowercase();
    if c.value.to_lowercase().starts_with(&v) {
        return true;
    }
    matches!(
        kind,
        ArgKind::IssueNumber | ArgKind::PullNumber | ArgKind::ReleaseId
    ) && c
        .title
        .as_deref()
        .is_some_and(|t| t.to_lowercase().contains(&v))
}

fn result(candidates: Vec<Candidate>, value: &str, kind: ArgKind) -> CompleteResult {
    let mut seen = std::collections::BTreeSet::new();
    let matching: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| matches(c, value, kind) && seen.insert(c.value.clone()))
        .collect();
    let total = matching.len();
    let kept: Vec<Candidate> = matching
        .into_iter()
        .take(CompletionInfo::MAX_VALUES)
        .collect();
    let mut titles = serde_json::Map::new();
    for c in &kept {
        if let Some(t) = &c.title {
            titles.insert(c.value.clone(), Value::String(t.clone()));
        }
    }
    let values = kept.into_iter().map(|c| c.value).collect();
    let info = CompletionInfo::with_pagination(
        values,
        Some(u32::try_from(total).unwrap_or(u32::MAX)),
        total > CompletionInfo::MAX_VALUES,
    )
    .unwrap_or_default();
    let mut out = CompleteResult::new(info);
    if !titles.is_empty() {
        let mut meta = MetaObject::default();
        meta.0.insert(TITLES_META_KEY.into(), Value::Object(titles));
        out.meta = Some(meta);
    }
    out
}

/// A lookup's structured result; a refusal or Gitea error offers nothing (it is on the
/// audit trail), only an unavailable audit trail fails the request.
async fn lookup(caller: &Caller<'_>, tool: &str, args: Value) -> Result<Option<Value>, ReadError> {
    match caller.call(tool, args).await {
        Ok(v) => Ok(Some(v)),
        Err(e @ CallError::AuditUnavailable(_)) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

fn items(v: &Option<Value>, key: &str) -> Vec<Value> {
    v.as_ref()
        .and_then(|v| v[key].as_array().cloned())
        .unwrap_or_default()
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

async fn candidates(
    caller: &Caller<'_>,
    tool: &str,
    kind: ArgKind,
    value: &str,
    context: &BTreeMap<String, String>,
) -> Result<Vec<Candidate>, ReadError> {
    let owner = context
        .get("owner")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let repo = context
        .get("repo")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let reference = context
        .get("ref")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    match kind {
        ArgKind::State => Ok(["open", "closed", "all"]
            .into_iter()
            .map(Candidate::plain)
            .collect()),
        ArgKind::Owner | ArgKind::Repo => {
            let repos = items(
                &lookup(caller, "list_repositories", json!({})).await?,
                "repositories",
            );
            let mut out = Vec::new();
            for r in repos {
                let (o, n) = (str_of(&r, "owner"), str_of(&r, "name"));
                if kind == ArgKind::Repo && owner.is_some_and(|want| !want.eq_ignore_ascii_case(o))
                {
                    continue;
                }
                let candidate = if kind == ArgKind::Owner { o } else { n };
                if !candidate.to_lowercase().starts_with(&value.to_lowercase()) {
                    continue;
                }
                if out.iter().any(|c: &Candidate| c.value == candidate) {
                    continue;
                }
                if caller
                    .offerable(tool, &json!({"owner": o, "repo": n}))
                    .await
                {
                    out.push(Candidate::plain(candidate));
                }
            }
            Ok(out)
        }
        _ => {
            let (Some(owner), Some(repo)) = (owner, repo) else {
                // Everything else lives in a repository the client has not chosen yet.
                return Ok(Vec::new());
            };
            repo_candidates(caller, kind, owner, repo, reference, value).await
        }
    }
}

async fn repo_candidates(
    caller: &Caller<'_>,
    kind: ArgKind,
    owner: &str,
    repo: &str,
    reference: Option<&str>,
    value: &str,
) -> Result<Vec<Candidate>, ReadError> {
    let base = json!({"owner": owner, "repo": repo, "limit": 50});
    let names = |v: &Option<Value>| -> Vec<Candidate> {
        items(v, "items")
            .iter()
            .map(|i| Candidate::plain(str_of(i, "name")))
            .collect()
    };
    let numbered = |v: &Option<Value>, key: &str| -> Vec<Candidate> {
        items(v, "items")
            .iter()
            .map(|i| Candidate {
                value: i[key].to_string(),
                title: Some(
                    i.get("title")
                        .or_else(|| i.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                ),
            })
            .collect()
    };
    Ok(match kind {
        ArgKind::Ref => {
            let mut out = names(&lookup(caller, "list_branches", base.clone()).await?);
            out.extend(names(&lookup(caller, "list_tags", base).await?));
            out
        }
        ArgKind::Tag => names(&lookup(caller, "list_tags", base).await?),
        ArgKind::Sha => {
            let mut args = base;
            if let Some(r) = reference {
                args["ref"] = Value::from(r);
            }
            items(&lookup(caller, "list_commits", args).await?, "items")
                .iter()
                .map(|c| Candidate {
                    value: str_of(c, "sha").to_string(),
                    title: str_of(c, "message").lines().next().map(str::to_string),
                })
                .collect()
        }
        ArgKind::IssueNumber => {
            let mut args = base;
            args["state"] = Value::from("all");
            numbered(&lookup(caller, "list_issues", args).await?, "number")
        }
        ArgKind::PullNumber => {
            let mut args = base;
            args["state"] = Value::from("all");
            numbered(&lookup(caller, "list_pull_requests", args).await?, "number")
        }
        ArgKind::ReleaseId => {
            let mut out = vec![Candidate {
                value: "latest".into(),
                title: Some("the latest published release".into()),
            }];
            out.extend(numbered(
                &lookup(caller, "list_releases", base).await?,
                "id",
            ));
            out
        }
        ArgKind::Path => path_candidates(caller, owner, repo, reference, value).await?,
        ArgKind::Owner | ArgKind::Repo | ArgKind::State => Vec::new(),
    })
}

/// A file name no policy rule names, to ask whether anything inside a directory is readable.
const DIRECTORY_PROBE: &str = "aegis-directory-probe";

/// The entries of the directory `value` is in whose names start with what follows its
/// last `/`; directories end with `/` so the next completion goes one level down.
async fn path_candidates(
    caller: &Caller<'_>,
    owner: &str,
    repo: &str,
    reference: Option<&str>,
    value: &str,
) -> Result<Vec<Candidate>, ReadError> {
    let dir = value.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut args = json!({"owner": owner, "repo": repo});
    if let Some(r) = reference {
        args["ref"] = Value::from(r);
    }
    // (path, is a directory)
    let entries: Vec<(String, bool)> = if dir.is_empty() {
        items(&lookup(caller, "get_file_tree", args).await?, "entries")
            .iter()
            .map(|e| (str_of(e, "path").to_string(), str_of(e, "type") == "tree"))
            .collect()
    } else {
        args["filepath"] = Value::from(dir);
        items(&lookup(caller, "get_file_contents", args).await?, "entries")
            .iter()
            .map(|e| (str_of(e, "path").to_string(), str_of(e, "type") == "dir"))
            .collect()
    };
    // The tools already drop what the policy denies; asking again costs nothing and keeps
    // this true whatever a tool does.
    let repo_name = RepoName::parse(&format!("{owner}/{repo}")).ok();
    let mut out: Vec<Candidate> = entries
        .into_iter()
        .filter(|(p, is_dir)| {
            repo_name.as_ref().is_some_and(|r| {
                let policy = &caller.state.policy;
                // A directory whose whole content is denied (`assets/**`) leads nowhere:
                // it is offered only if a name inside it could be read.
                policy.path_allowed(r, p).allowed
                    && (!is_dir
                        || policy
                            .path_allowed(r, &format!("{p}/{DIRECTORY_PROBE}"))
                            .allowed)
            })
        })
        .filter(|(p, _)| p.starts_with(value))
        .map(|(p, is_dir)| Candidate::plain(if is_dir { format!("{p}/") } else { p }))
        .collect();
    out.sort_by(|a, b| a.value.cmp(&b.value));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded_and_counted() {
        let many: Vec<Candidate> = (1..=150).map(|n| Candidate::plain(n.to_string())).collect();
        let r = result(many, "", ArgKind::IssueNumber);
        assert_eq!(r.completion.values.len(), 100);
        assert_eq!(r.completion.total, Some(150));
        assert_eq!(r.completion.has_more, Some(true));
        let few = vec![
            Candidate {
                value: "4".into(),
                title: Some("Add rate limiting".into()),
            },
            Candidate::plain("40"),
            Candidate::plain("5"),
        ];
        let r = result(few, "4", ArgKind::IssueNumber);
        assert_eq!(r.completion.values, ["4", "40"]);
        assert_eq!(r.completion.has_more, Some(false));
        let titles = &r.meta.unwrap().0[TITLES_META_KEY];
        assert_eq!(titles["4"], "Add rate limiting");
    }

    #[test]
    fn every_template_names_its_arguments() {
        for t in super::super::templates().resource_templates {
            let (_, args) = template_args(&t.uri_template).expect("completable");
            for (name, _) in args {
                assert!(t.uri_template.contains(name), "{}: {name}", t.uri_template);
            }
        }
    }
}
