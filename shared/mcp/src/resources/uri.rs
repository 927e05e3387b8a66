//! The `gitea://` resource URIs: the templates offered, parsing a URI into what it names,
//! and building URIs for listings and prompts. Pure: no I/O, no policy.
//!
//! Shape: `gitea://{owner}/{repo}/<kind>/...`. Template variables follow RFC 6570: a
//! simple `{var}` is percent-encoded (so a ref such as `feature/login` arrives as
//! `feature%2Flogin`), `{+path}` keeps `/`, `{?ref}` is a query parameter. Parsing
//! percent-decodes every component once; the dispatch gate then validates names, refs and
//! paths exactly as it does for tool arguments.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// The URI scheme of every resource this server offers.
pub const SCHEME: &str = "gitea://";

/// A repository file at a ref.
pub const FILE_TEMPLATE: &str = "gitea://{owner}/{repo}/contents/{+path}{?ref}";
/// An issue with its comments.
pub const ISSUE_TEMPLATE: &str = "gitea://{owner}/{repo}/issues/{number}";
/// A repository's issues (open by default).
pub const ISSUES_TEMPLATE: &str = "gitea://{owner}/{repo}/issues{?state}";
/// A pull request with its comments.
pub const PULL_TEMPLATE: &str = "gitea://{owner}/{repo}/pulls/{number}";
/// The files a pull request changes.
pub const PULL_FILES_TEMPLATE: &str = "gitea://{owner}/{repo}/pulls/{number}/files";
/// A release by id, or the latest one (`latest`).
pub const RELEASE_TEMPLATE: &str = "gitea://{owner}/{repo}/releases/{release_id}";
/// A commit with its diff.
pub const COMMIT_TEMPLATE: &str = "gitea://{owner}/{repo}/commits/{sha}";
/// The commits between two refs.
pub const COMPARE_TEMPLATE: &str = "gitea://{owner}/{repo}/compare/{base}...{head}";

/// What a resource URI names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File {
        owner: String,
        repo: String,
        path: String,
        reference: Option<String>,
    },
    Issue {
        owner: String,
        repo: String,
        number: i64,
    },
    Issues {
        owner: String,
        repo: String,
        state: Option<String>,
    },
    Pull {
        owner: String,
        repo: String,
        number: i64,
    },
    PullFiles {
        owner: String,
        repo: String,
        number: i64,
    },
    Release {
        owner: String,
        repo: String,
        /// `None` for `latest`
        id: Option<i64>,
    },
    Commit {
        owner: String,
        repo: String,
        sha: String,
    },
    Compare {
        owner: String,
        repo: String,
        base: String,
        head: String,
    },
}

/// Why a URI names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not one of our templates at all: "resource not found" (-32002)
    #[error("`{0}` is not a resource of this server: its URIs follow the templates of `resources/templates/list`")]
    Unknown(String),
    /// One of ours, with a malformed component: invalid params (-32602)
    #[error("invalid resource URI `{uri}`: {reason}")]
    Malformed { uri: String, reason: String },
}

fn decode(component: &str) -> Result<String, String> {
    percent_decode_str(component)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            format!(
                "`{}` is not valid percent-encoded UTF-8",
                component.escape_default()
            )
        })
}

fn number(field: &str, raw: &str) -> Result<i64, String> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!(
            "`{field}` must be a positive number, not `{}`",
            raw.escape_default()
        )
    })
}

/// The one query parameter a template allows (`ref` or `state`), decoded.
fn query_param(query: Option<&str>, allowed: &str) -> Result<Option<String>, String> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != allowed {
            return Err(format!(
                "unknown query parameter `{}` (only `{allowed}`)",
                key.escape_default()
            ));
        }
        if found.is_some() {
            return Err(format!("`{allowed}` given twice"));
        }
        let value = decode(value)?;
        if !value.is_empty() {
            found = Some(value);
        }
    }
    Ok(found)
}

/// Parses a resource URI.
pub fn parse(uri: &str) -> Result<Target, UriError> {
    let unknown = || UriError::Unknown(uri.escape_default().to_string());
    let malformed = |reason: String| UriError::Malformed {
        uri: uri.escape_default().to_string(),
        reason,
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(unknown)?;
    if rest.contains('#') {
        return Err(malformed("fragments are not supported".into()));
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut parts = path.splitn(4, '/');
    let (Some(owner), Some(repo), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(unknown());
    };
    let tail = parts.next();
    let owner = decode(owner).map_err(malformed)?;
    let repo = decode(repo).map_err(malformed)?;
    let no_query = |what: &str| -> Result<(), UriError> {
        match query {
            Some(q) if !q.is_empty() => Err(malformed(format!("{what} takes no query parameters"))),
            _ => Ok(()),
        }
    };
    match (kind, tail) {
        ("contents", Some(p)) if !p.is_empty() => {
            let path = p
                .split('/')
                .map(decode)
                .collect::<Result<Vec<_>, _>>()
                .map_err(malformed)?
                .join("/");
            let reference = query_param(query, "ref").map_err(malformed)?;
            Ok(Target::File {
                owner,
                repo,
                path,
                reference,
            })
        }
        ("contents", _) => Err(malformed("a file path is needed after `contents/`".into())),
        ("issues", None) => {
            let state = query_param(query, "state").map_err(malformed)?;
            Ok(Target::Issues { owner, repo, state })
        }
        ("issues", Some(n)) => {
            no_query("an issue")?;
            let number = number("number", n).map_err(malformed)?;
            Ok(Target::Issue {
                owner,
                repo,
                number,
            })
        }
        ("pulls", Some(rest)) => {
            no_query("a pull request")?;
            let (n, files) = match rest.split_once('/') {
                Some((n, "files")) => (n, true),
                Some(_) => return Err(unknown()),
                None => (rest, false),
            };
            let number = number("number", n).map_err(malformed)?;
            Ok(if files {
                Target::PullFiles {
                    owner,
                    repo,
                    number,
                }
            } else {
                Target::Pull {
                    owner,
                    repo,
                    number,
                }
            })
        }
        ("releases", Some(id)) => {
            no_query("a release")?;
            let id = match id {
                "latest" => None,
                other => Some(number("release_id", other).map_err(malformed)?),
            };
            Ok(Target::Release { owner, repo, id })
        }
        ("commits", Some(sha)) if !sha.contains('/') => {
            no_query("a commit")?;
            let sha = decode(sha).map_err(malformed)?;
            Ok(Target::Commit { owner, repo, sha })
        }
        ("compare", Some(range)) => {
            no_query("a comparison")?;
            let (base, head) = range
                .split_once("...")
                .ok_or_else(|| malformed("a comparison is `compare/{base}...{head}`".into()))?;
            let base = decode(base).map_err(malformed)?;
            let head = decode(head).map_err(malformed)?;
            if base.is_empty() || head.is_empty() {
                return Err(malformed("both `base` and `head` are needed".into()));
            }
            Ok(Target::Compare {
                owner,
                repo,
                base,
                head,
            })
        }
        _ => Err(unknown()),
    }
}

/// What a simple `{var}` expansion leaves unencoded: RFC 3986 unreserved characters only.
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn repo_base(owner: &str, repo: &str) -> String {
    format!("{SCHEME}{}/{}", enc(owner), enc(repo))
}

/// `gitea://owner/repo/contents/path[?ref=...]`
pub fn file(owner: &str, repo: &str, path: &str, reference: Option<&str>) -> String {
    let path: Vec<String> = path.split('/').map(enc).collect();
    let mut uri = format!("{}/contents/{}", repo_base(owner, repo), path.join("/"));
    if let Some(r) = reference {
        uri.push_str(&format!("?ref={}", enc(r)));
    }
    uri
}

pub fn issue(owner: &str, repo: &str, number: i64) -> String {
    format!("{}/issues/{number}", repo_base(owner, repo))
}

pub fn issues(owner: &str, repo: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => format!("{}/issues?state={}", repo_base(owner, repo), enc(s)),
        None => format!("{}/issues", repo_base(owner, repo)),
    }
}

pub fn pull(owner: &str, repo: &str, number: i64) -> String {
    format!("{}/pulls/{number}", repo_base(owner, repo))
}

pub fn pull_files(owner: &str, repo: &str, number: i64) -> String {
    format!("{}/pulls/{number}/files", repo_base(owner, repo))
}

pub fn release(owner: &str, repo: &str, id: Option<i64>) -> String {
    match id {
        Some(id) => format!("{}/releases/{id}", repo_base(owner, repo)),
        None => format!("{}/releases/latest", repo_base(owner, repo)),
    }
}

pub fn commit(owner: &str, repo: &str, sha: &str) -> String {
    format!("{}/commits/{}", repo_base(owner, repo), enc(sha))
}

pub fn compare(owner: &str, repo: &str, base: &str, head: &str) -> String {
    format!(
        "{}/compare/{}...{}",
        repo_base(owner, repo),
        enc(base),
        enc(head)
    )
}

/// The URI of a target (the inverse of `parse`).
pub fn of(target: &Target) -> String {
    match target {
        Target::File {
            owner,
            repo,
            path,
            reference,
        } => file(owner, repo, path, reference.as_deref()),
        Target::Issue {
            owner,
            repo,
            number,
        } => issue(owner, repo, *number),
        Target::Issues { owner, repo, state } => issues(owner, repo, state.as_deref()),
        Target::Pull {
            owner,
            repo,
            number,
        } => pull(owner, repo, *number),
        Target::PullFiles {
            owner,
            repo,
            number,
        } => pull_files(owner, repo, *number),
        Target::Release { owner, repo, id } => release(owner, repo, *id),
        Target::Commit { owner, repo, sha } => commit(owner, repo, sha),
        Target::Compare {
            owner,
            repo,
            base,
            head,
        } => compare(owner, repo, base, head),
    }
}

/// The MIME type of a repository file, by its name. Unknown text is `text/plain`.
pub fn mime_for_path(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "text/plain",
    };
    match ext.as_str() {
        "md" | "markdown" => "text/markdown",
        "rs" => "text/x-rust",
        "py" => "text/x-python",
        "go" => "text/x-go",
        "js" | "mjs" | "cjs" => "text/javascript",
        "ts" | "tsx" => "text/x-typescript",
        "java" => "text/x-java",
        "c" | "h" => "text/x-c",
        "cc" | "cpp" | "hpp" => "text/x-c++",
        "sh" | "bash" => "text/x-shellscript",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "toml" => "application/toml",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "diff" | "patch" => "text/x-diff",
        _ => "text/plain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_target(owner: &str, repo: &str, path: &str, reference: Option<&str>) -> Target {
        Target::File {
            owner: owner.into(),
            repo: repo.into(),
            path: path.into(),
            reference: reference.map(Into::into),
        }
    }

    /// URI -> what it names, or which error kind.
    #[test]
    fn uris_parse_to_their_targets() {
        let ok = [
            (
                "gitea://acme/app/contents/src/main.rs",
                file_target("acme", "app", "src/main.rs", None),
            ),
            (
                "gitea://acme/app/contents/src/main.rs?ref=feature%2Flogin",
                file_target("acme", "app", "src/main.rs", Some("feature/login")),
            ),
            (
                "gitea://acme/app/contents/docs/my%20file.md?ref=",
                file_target("acme", "app", "docs/my file.md", None),
            ),
            (
                "gitea://acme/app/issues/4",
                Target::Issue {
                    owner: "acme".into(),
                    repo: "app".into(),
                    number: 4,
                },
            ),
            (
                "gitea://acme/app/issues?state=closed",
                Target::Issues {
                    owner: "acme".into(),
                    repo: "app".into(),
                    state: Some("closed".into()),
                },
            ),
            (
                "gitea://acme/app/pulls/6/files",
                Target::PullFiles {
                    owner: "acme".into(),
                    repo: "app".into(),
                    number: 6,
                },
            ),
            (
                "gitea://acme/app/releases/latest",
                Target::Release {
                    owner: "acme".into(),
                    repo: "app".into(),
                    id: None,
                },
            ),
            (
                "gitea://acme/app/compare/v0.3.0...feature%2Fsearch",
                Target::Compare {
                    owner: "acme".into(),
                    repo: "app".into(),
                    base: "v0.3.0".into(),
                    head: "feature/search".into(),
                },
            ),
            (
                "gitea://acme/app/compare/main...feature/search",
                Target::Compare {
                    owner: "acme".into(),
                    repo: "app".into(),
                    base: "main".into(),
                    head: "feature/search".into(),
                },
            ),
        ];
        for (uri, want) in ok {
            assert_eq!(parse(uri).as_ref(), Ok(&want), "{uri}");
            assert_eq!(parse(&of(&want)), Ok(want), "{uri}");
        }
        let unknown = [
            "https://acme/app/contents/x",
            "gitea://acme",
            "gitea://acme/app",
            "gitea://acme/app/wiki/Home",
            "gitea://acme/app/pulls/6/commits",
        ];
        for uri in unknown {
            assert!(matches!(parse(uri), Err(UriError::Unknown(_))), "{uri}");
        }
        let malformed = [
            "gitea://acme/app/contents/",
            "gitea://acme/app/issues/0",
            "gitea://acme/app/issues/abc",
            "gitea://acme/app/issues/4?x=1",
            "gitea://acme/app/contents/a?branch=main",
            "gitea://acme/app/contents/a?ref=x&ref=y",
            "gitea://acme/app/compare/main",
            "gitea://acme/app/contents/%ff",
            "gitea://acme/app/contents/a#frag",
        ];
        for uri in malformed {
            assert!(
                matches!(parse(uri), Err(UriError::Malformed { .. })),
                "{uri}: {:?}",
                parse(uri)
            );
        }
    }

    #[test]
    fn built_uris_parse_back() {
        let uri = file("acme", "app", "docs/a b#c.md", Some("feature/x"));
        assert_eq!(
            uri,
            "gitea://acme/app/contents/docs/a%20b%23c.md?ref=feature%2Fx"
        );
        assert_eq!(
            parse(&uri),
            Ok(file_target(
                "acme",
                "app",
                "docs/a b#c.md",
                Some("feature/x")
            ))
        );
        let uri = compare("acme", "app", "v0.3.0", "fix/readme-typo");
        assert_eq!(uri, "gitea://acme/app/compare/v0.3.0...fix%2Freadme-typo");
        assert!(
            matches!(parse(&uri), Ok(Target::Compare { base, head, .. }) if base == "v0.3.0" && head == "fix/readme-typo")
        );
    }

    #[test]
    fn mime_types_follow_the_extension() {
        for (path, mime) in [
            ("README.md", "text/markdown"),
            ("src/main.rs", "text/x-rust"),
            ("Cargo.toml", "application/toml"),
            (".gitea/workflows/ci.yml", "application/yaml"),
            ("LICENSE", "text/plain"),
            (".gitignore", "text/plain"),
            ("scripts/dev.sh", "text/x-shellscript"),
        ] {
            assert_eq!(mime_for_path(path), mime, "{path}");
        }
    }
}
