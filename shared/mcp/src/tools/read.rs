//! Read tools: repository metadata, trees and file contents.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{invalid, Truncation};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_core::paths::{normalize_repo_path, validate_name};
use aegis_gitea::{ContentEntry, Contents, PageRequest, Repository, TreeEntry, TreeRequest};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "list_repositories",
            "List repositories",
            "List the repositories the caller can access (owned, collaborating, or through \
             organizations), newest activity first as Gitea orders them. Returns full names, \
             descriptions, visibility and default branches.",
        ),
        list_repositories,
    );
    r.add(
        read_meta(
            "get_repository_info",
            "Get repository information",
            "Get one repository's metadata: description, visibility, default branch, counts \
             of stars, forks, open issues and pull requests, topics and URLs.",
        ),
        get_repository_info,
    );
    r.add(
        read_meta(
            "get_file_tree",
            "Get file tree",
            "List the files and directories of a repository at a ref (branch, tag or commit \
             sha; default: the default branch). Set `recursive` to list every path below the \
             root instead of the top level only.",
        )
        .lists_paths(&["path"]),
        get_file_tree,
    );
    r.add(
        read_meta(
            "get_file_contents",
            "Get file contents",
            "Read one file of a repository at a ref (default: the default branch). Text is \
             returned as UTF-8, cut visibly when over the response limit; binary files are \
             reported with their size, not dumped. A directory path returns its listing.",
        )
        .path_arguments(&["filepath"])
        .lists_paths(&["path"]),
        get_file_contents,
    );
}

// ---- list_repositories ----------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRepositoriesArgs {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RepositoryList {
    pub repositories: Vec<Repository>,
    /// How many repositories Gitea reports in all
    pub total_count: Option<u64>,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for RepositoryList {}

async fn list_repositories(
    ctx: ToolContext,
    _args: ListRepositoriesArgs,
) -> Result<RepositoryList, ToolError> {
    let cred = &ctx.principal.credential;
    let max = ctx.limits.max_items;
    let mut repositories = Vec::new();
    let mut total = None;
    let mut page = 1;
    let mut more;
    // Walk Gitea's pages (50 at most each) until the response limit is reached.
    loop {
        let req = PageRequest::new(Some(page), Some(50));
        let result = ctx.gitea.list_my_repositories(cred, req).await?;
        total = result.info.total.or(total);
        let n = result.items.len();
        more = result.info.has_more(n);
        repositories.extend(result.items);
        if !more || n == 0 || repositories.len() >= max {
            break;
        }
        page += 1;
    }
    let cut = ctx.limits.cap_items(&mut repositories) || more;
    let truncation = if cut {
        Truncation::cut(format!(
            "showing the first {} of {} repositories (MAX_TOOL_RESPONSE_ITEMS); use \
             list_org_repositories or get_repository_info to look at a specific one",
            repositories.len(),
            total
                .map(|t| t.to_string())
                .unwrap_or_else(|| "more".into())
        ))
    } else {
        Truncation::none()
    };
    Ok(RepositoryList {
        repositories,
        total_count: total,
        truncation,
    })
}

// ---- get_repository_info --------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RepositoryInfo {
    pub repository: Repository,
}

impl ToolOutput for RepositoryInfo {}

async fn get_repository_info(
    ctx: ToolContext,
    args: RepoArgs,
) -> Result<RepositoryInfo, ToolError> {
    validate_name("owner", &args.owner).map_err(invalid)?;
    validate_name("repo", &args.repo).map_err(invalid)?;
    let repository = ctx
        .gitea
        .get_repository(&ctx.principal.credential, &args.owner, &args.repo)
        .await?;
    Ok(RepositoryInfo { repository })
}

// ---- get_file_tree --------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileTreeArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Branch, tag or commit sha (default: the repository's default branch)
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// List every path below the root, not only the top level (default false)
    #[serde(default)]
    pub recursive: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FileTree {
    /// The ref the tree was read at
    #[serde(rename = "ref")]
    pub reference: String,
    /// The tree's sha
    pub sha: String,
    pub recursive: bool,
    pub entries: Vec<TreeEntry>,
    /// How many entries the tree has in all
    pub total_count: u64,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for FileTree {}

/// Gitea's git-tree page size maximum.
const TREE_PAGE: u32 = 1000;

async fn get_file_tree(ctx: ToolContext, args: FileTreeArgs) -> Result<FileTree, ToolError> {
    validate_name("owner", &args.owner).map_err(invalid)?;
    validate_name("repo", &args.repo).map_err(invalid)?;
    let cred = &ctx.principal.credential;
    let recursive = args.recursive.unwrap_or(false);
    let reference = match args.reference {
        Some(r) => aegis_core::paths::validate_ref("ref", &r).map_err(invalid)?,
        None => {
            let repo = ctx
                .gitea
                .get_repository(cred, &args.owner, &args.repo)
                .await?;
            if repo.empty {
                return Ok(FileTree {
                    reference: repo.default_branch,
                    sha: String::new(),
                    recursive,
                    entries: Vec::new(),
                    total_count: 0,
                    truncation: Truncation::cut(
                        "the repository is empty: nothing has been pushed yet",
                    ),
                });
            }
            repo.default_branch
        }
    };
    let max = ctx.limits.max_items;
    let mut entries = Vec::new();
    let mut page = 1;
    let (sha, total, upstream_truncated) = loop {
        let req = TreeRequest {
            reference: reference.clone(),
            recursive,
            page,
            per_page: TREE_PAGE,
        };
        let tree = ctx
            .gitea
            .get_tree(cred, &args.owner, &args.repo, &req)
            .await?;
        let n = tree.entries.len() as u64;
        entries.extend(tree.entries);
        let seen = (page as u64 - 1) * TREE_PAGE as u64 + n;
        if n == 0 || seen >= tree.total_count || entries.len() >= max {
            break (
                tree.sha,
                tree.total_count,
                tree.truncated && seen < tree.total_count,
            );
        }
        page += 1;
    };
    let hidden = ctx.retain_paths(&mut entries, |e| &e.path);
    let cut = ctx.limits.cap_items(&mut entries) || upstream_truncated;
    let mut truncation = if cut {
        Truncation::cut(format!(
            "showing {} of {} entries (MAX_TOOL_RESPONSE_ITEMS); read a subdirectory with \
             get_file_contents, or list without `recursive`",
            entries.len(),
            total
        ))
    } else {
        Truncation::none()
    };
    if hidden > 0 {
        truncation.add("some entries are hidden by the gateway's path policy");
    }
    Ok(FileTree {
        reference,
        sha,
        recursive,
        entries,
        total_count: total,
        truncation,
    })
}

/// Gitea answers 400 `sha not found` for a ref that does not exist.
pub(super) fn unknown_ref(e: aegis_gitea::GiteaError, reference: &str) -> ToolError {
    match e {
        aegis_gitea::GiteaError::Upstream { status: 400, .. } => ToolError::NotFound(format!(
            "ref `{}` does not exist in this repository",
            reference.escape_default()
        )),
        other => other.into(),
    }
}

// ---- get_file_contents ----------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileContentsArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Path of the file inside the repository, e.g. `src/main.rs`
    pub filepath: String,
    /// Branch, tag or commit sha (default: the repository's default branch)
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// A text file; `content` holds it
    Text,
    /// A binary file; only its metadata is returned
    Binary,
    /// A directory; `entries` lists it
    Directory,
    /// A symlink or submodule
    Other,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FileContents {
    pub path: String,
    pub kind: ContentKind,
    /// Size in bytes (files only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The text (text files only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The listing (directories only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<ContentEntry>>,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for FileContents {
    fn render_text(&self) -> Option<String> {
        match (&self.kind, &self.content) {
            (ContentKind::Text, Some(content)) => {
                let mut out = format!(
                    "File: {} ({} bytes, sha {})\n",
                    self.path,
                    self.size.unwrap_or(0),
                    self.sha.as_deref().unwrap_or("?")
                );
                if let Some(notice) = &self.truncation.notice {
                    out.push_str(&format!("[truncated: {notice}]\n"));
                }
                out.push_str("----\n");
                out.push_str(content);
                Some(out)
            }
            // A directory listing or a binary file: the data itself
            _ => None,
        }
    }
}

/// Text is UTF-8 without NUL bytes in its first 8 KiB (git's own heuristic, plus UTF-8).
fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0) || std::str::from_utf8(bytes).is_err()
}

async fn get_file_contents(
    ctx: ToolContext,
    args: FileContentsArgs,
) -> Result<FileContents, ToolError> {
    validate_name("owner", &args.owner).map_err(invalid)?;
    validate_name("repo", &args.repo).map_err(invalid)?;
    let path = normalize_repo_path(&args.filepath).map_err(invalid)?;
    let reference = args
        .reference
        .as_deref()
        .map(|r| aegis_core::paths::validate_ref("ref", r))
        .transpose()
        .map_err(invalid)?;
    let contents = ctx
        .gitea
        .get_contents(
            &ctx.principal.credential,
            &args.owner,
            &args.repo,
            &path,
            reference.as_deref(),
        )
        .await?;
    Ok(match contents {
        Contents::File(file) => {
            if is_binary(&file.bytes) {
                FileContents {
                    path: file.path,
                    kind: ContentKind::Binary,
                    size: Some(file.size),
                    sha: Some(file.sha),
                    content: None,
                    entries: None,
                    truncation: Truncation::none(),
                }
            } else {
                let text = String::from_utf8_lossy(&file.bytes);
                let (content, cut) = ctx.limits.cap_text(&text);
                let truncation = if cut {
                    Truncation::cut(format!(
                        "showing the first {} of {} characters (MAX_TOOL_RESPONSE_CHARS), cut \
                         at a line boundary",
                        content.chars().count(),
                        text.chars().count()
                    ))
                } else {
                    Truncation::none()
                };
                FileContents {
                    path: file.path,
                    kind: ContentKind::Text,
                    size: Some(file.size),
                    sha: Some(file.sha),
                    content: Some(content),
                    entries: None,
                    truncation,
                }
            }
        }
        Contents::Directory(mut entries) => {
            ctx.retain_paths(&mut entries, |e| &e.path);
            let cut = ctx.limits.cap_items(&mut entries);
            FileContents {
                path,
                kind: ContentKind::Directory,
                size: None,
                sha: None,
                content: None,
                truncation: if cut {
                    Truncation::cut(format!(
                        "showing the first {} entries (MAX_TOOL_RESPONSE_ITEMS)",
                        entries.len()
                    ))
                } else {
                    Truncation::none()
                },
                entries: Some(entries),
            }
        }
        Contents::Other(entry) => FileContents {
            path: entry.path,
            kind: ContentKind::Other,
            size: Some(entry.size),
            sha: Some(entry.sha),
            content: None,
            entries: None,
            truncation: Truncation::none(),
        },
    })
}
