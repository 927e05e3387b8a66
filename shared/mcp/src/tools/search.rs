//! `search_code`: literal search over a repository's files, since Gitea's REST API has no
//! code search (its code search exists only in the web UI).
//!
//! It walks the git tree at the ref, fetches text blobs (several at a time) and matches
//! lines case-insensitively. Every bound is explicit and reported when hit: tree entries
//! walked, files fetched, bytes read, file size, matches kept. Binary files are skipped.

use futures_util::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{invalid, opt_ref, page_request, repo_names, Truncation};
use super::{read_meta, ToolContext, ToolError, ToolOutput, ToolRegistry};
use aegis_gitea::{GiteaError, TreeRequest};

/// Tree entries walked at most (10 pages of Gitea's maximum 1000).
pub const MAX_TREE_ENTRIES: usize = 10_000;
/// Files fetched at most per search.
pub const MAX_FILES: usize = 500;
/// Bytes read at most per search.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Files larger than this are not searched.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
/// Matches kept at most (then paged).
pub const MAX_MATCHES: usize = 1_000;
/// Blob fetches in flight.
const CONCURRENCY: usize = 8;
/// Longest line returned, in characters.
const MAX_LINE_CHARS: usize = 300;

/// Extensions never worth fetching as text.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "svgz", "pdf", "zip", "gz", "tgz", "bz2",
    "xz", "7z", "rar", "jar", "war", "class", "so", "dll", "dylib", "exe", "bin", "o", "a", "woff",
    "woff2", "ttf", "otf", "eot", "mp3", "mp4", "mov", "avi", "wasm", "pyc", "sqlite",
];

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(
        read_meta(
            "search_code",
            "Search code",
            "Search a repository's text files at a ref (default: the default branch) for a \
             literal string, case-insensitively. Returns matching lines with path, line number \
             and one line of context, paginated with `page`/`limit`. Bounded: at most 500 \
             files and 16 MiB are read, files over 512 KiB and binary files are skipped; the \
             result says when a bound was hit.",
        )
        .lists_paths(&["path"]),
        search_code,
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchCodeArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// The text to find (literal, case-insensitive, 2 to 200 characters)
    pub query: String,
    /// Branch, tag or commit sha (default: the repository's default branch)
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// Page of matches, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Matches per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CodeMatch {
    pub path: String,
    /// 1-based line number
    pub line_number: usize,
    pub line: String,
    /// The line before, when there is one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The line after, when there is one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct ScanStats {
    pub files_scanned: usize,
    pub bytes_scanned: u64,
    pub files_skipped_binary: usize,
    pub files_skipped_large: usize,
    /// Files not read because a bound was reached
    pub files_not_reached: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CodeSearch {
    pub query: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub matches: Vec<CodeMatch>,
    pub page: u32,
    pub limit: u32,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u32>,
    /// Matches found in all (up to the match bound)
    pub total_matches: usize,
    pub stats: ScanStats,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl ToolOutput for CodeSearch {
    fn render_text(&self) -> Option<String> {
        let mut out = format!(
            "{} match(es) for `{}` at {} (page {}, {} files scanned)\n",
            self.total_matches, self.query, self.reference, self.page, self.stats.files_scanned
        );
        if let Some(notice) = &self.truncation.notice {
            out.push_str(&format!("[{notice}]\n"));
        }
        for m in &self.matches {
            out.push_str(&format!("{}:{}: {}\n", m.path, m.line_number, m.line));
        }
        if let Some(next) = self.next_page {
            out.push_str(&format!("(more: page {next})\n"));
        }
        Some(out)
    }
}

fn cut_line(s: &str) -> String {
    let trimmed = s.trim_end_matches('\r');
    if trimmed.chars().count() > MAX_LINE_CHARS {
        let mut out: String = trimmed.chars().take(MAX_LINE_CHARS).collect();
        out.push('…');
        out
    } else {
        trimmed.to_string()
    }
}

fn looks_binary_by_name(path: &str) -> bool {
    path.rsplit_once('.')
        .map(|(_, ext)| BINARY_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Lines of `text` containing `needle` (already lowercase).
fn find_matches(path: &str, text: &str, needle: &str, out: &mut Vec<CodeMatch>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if out.len() >= MAX_MATCHES {
            return;
        }
        if line.to_lowercase().contains(needle) {
            out.push(CodeMatch {
                path: path.to_string(),
                line_number: i + 1,
                line: cut_line(line),
                before: i.checked_sub(1).map(|j| cut_line(lines[j])),
                after: lines.get(i + 1).map(|l| cut_line(l)),
            });
        }
    }
}

async fn search_code(ctx: ToolContext, a: SearchCodeArgs) -> Result<CodeSearch, ToolError> {
    repo_names(&a.owner, &a.repo)?;
    let query = a.query.trim().to_string();
    let n = query.chars().count();
    if !(2..=200).contains(&n) || query.chars().any(char::is_control) {
        return Err(invalid(
            "`query` must be 2 to 200 characters without control characters".into(),
        ));
    }
    let (req, note) = page_request(a.page, a.limit, &ctx.limits)?;
    let cred = &ctx.principal.credential;
    let mut truncation = Truncation::none();
    if let Some(note) = note {
        truncation.add(note);
    }
    let reference = match opt_ref(a.reference.as_deref())? {
        Some(r) => r,
        None => {
            let repo = ctx.gitea.get_repository(cred, &a.owner, &a.repo).await?;
            if repo.empty {
                truncation.add("the repository is empty: nothing has been pushed yet");
                return Ok(CodeSearch {
                    query,
                    reference: repo.default_branch,
                    matches: Vec::new(),
                    page: req.page,
                    limit: req.limit,
                    has_more: false,
                    next_page: None,
                    total_matches: 0,
                    stats: ScanStats::default(),
                    truncation,
                });
            }
            repo.default_branch
        }
    };

    // 1. Walk the tree.
    let mut blobs = Vec::new();
    let mut page = 1;
    loop {
        let tree = ctx
            .gitea
            .get_tree(
                cred,
                &a.owner,
                &a.repo,
                &TreeRequest {
                    reference: reference.clone(),
                    recursive: true,
                    page,
                    per_page: 1000,
                },
            )
            .await
            .map_err(|e| super::read::unknown_ref(e, &reference))?;
        let got = tree.entries.len();
        blobs.extend(tree.entries.into_iter().filter(|e| e.kind == "blob"));
        let seen = (page as usize - 1) * 1000 + got;
        if got == 0 || seen as u64 >= tree.total_count {
            break;
        }
        if seen >= MAX_TREE_ENTRIES {
            truncation.add(format!(
                "only the first {MAX_TREE_ENTRIES} of {} tree entries were walked",
                tree.total_count
            ));
            break;
        }
        page += 1;
    }
    // Denied paths are never fetched, so their content cannot surface in a match.
    ctx.retain_paths(&mut blobs, |e| &e.path);
    blobs.sort_by(|x, y| x.path.cmp(&y.path));

    // 2. Choose what to read, within the bounds.
    let mut stats = ScanStats::default();
    let mut planned = Vec::new();
    let mut planned_bytes = 0u64;
    for entry in blobs {
        let size = entry.size.unwrap_or(0);
        if looks_binary_by_name(&entry.path) {
            stats.files_skipped_binary += 1;
        } else if size > MAX_FILE_BYTES {
            stats.files_skipped_large += 1;
        } else if planned.len() >= MAX_FILES || planned_bytes + size > MAX_BYTES {
            stats.files_not_reached += 1;
        } else {
            planned_bytes += size;
            planned.push(entry);
        }
    }
    if stats.files_not_reached > 0 {
        truncation.add(format!(
            "{} file(s) not searched: the search reads at most {MAX_FILES} files and {} MiB",
            stats.files_not_reached,
            MAX_BYTES / (1024 * 1024)
        ));
    }

    // 3. Fetch and match, several blobs at a time, results in path order.
    let needle = query.to_lowercase();
    let gitea = &ctx.gitea;
    let (owner, repo) = (a.owner.as_str(), a.repo.as_str());
    let fetched: Vec<(String, Result<Vec<u8>, GiteaError>)> = stream::iter(planned)
        .map(|entry| async move {
            let bytes = gitea.get_blob(cred, owner, repo, &entry.sha).await;
            (entry.path, bytes)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut matches = Vec::new();
    for (path, bytes) in fetched {
        let bytes = match bytes {
            Ok(b) => b,
            Err(GiteaError::FileTooLarge { .. }) => {
                stats.files_skipped_large += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stats.bytes_scanned += bytes.len() as u64;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            stats.files_skipped_binary += 1;
            continue;
        };
        if text.as_bytes()[..text.len().min(8192)].contains(&0) {
            stats.files_skipped_binary += 1;
            continue;
        }
        stats.files_scanned += 1;
        find_matches(&path, text, &needle, &mut matches);
    }
    if matches.len() >= MAX_MATCHES {
        truncation.add(format!(
            "stopped at {MAX_MATCHES} matches; narrow the query"
        ));
    }

    // 4. Page the matches.
    let total_matches = matches.len();
    let limit = req.limit as usize;
    let start = (req.page as usize - 1).saturating_mul(limit);
    let page_matches: Vec<CodeMatch> = matches.into_iter().skip(start).take(limit).collect();
    let has_more = start + page_matches.len() < total_matches;
    Ok(CodeSearch {
        query,
        reference,
        matches: page_matches,
        page: req.page,
        limit: req.limit,
        has_more,
        next_page: has_more.then_some(req.page + 1),
        total_matches,
        stats,
        truncation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_carry_context_and_are_case_insensitive() {
        let mut out = Vec::new();
        find_matches(
            "a.rs",
            "fn main() {\n    println!(\"Hello\");\n}\n",
            "hello",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line_number, 2);
        assert_eq!(out[0].before.as_deref(), Some("fn main() {"));
        assert_eq!(out[0].after.as_deref(), Some("}"));
        assert!(looks_binary_by_name("logo.PNG"));
        assert!(!looks_binary_by_name("src/lib.rs"));
        assert_eq!(
            cut_line(&"x".repeat(400)).chars().count(),
            MAX_LINE_CHARS + 1
        );
    }
}
