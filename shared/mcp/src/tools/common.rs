//! Shapes and helpers every read tool shares: pagination arguments, listings, truncation.

use schemars::JsonSchema;
use serde::Serialize;

use super::{Limits, ToolError, ToolOutput};
use aegis_core::paths::{validate_name, validate_ref};
use aegis_gitea::{Page, PageRequest, GITEA_MAX_LIMIT};

/// How much of a result was kept.
#[derive(Debug, Serialize, JsonSchema, Default)]
pub struct Truncation {
    /// Whether the result was cut to the gateway's response limits
    pub truncated: bool,
    /// What was cut and how to see the rest, when `truncated`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

impl Truncation {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn cut(notice: impl Into<String>) -> Self {
        Self {
            truncated: true,
            notice: Some(notice.into()),
        }
    }
    /// Adds a reason, keeping earlier ones.
    pub fn add(&mut self, notice: impl Into<String>) {
        let notice = notice.into();
        self.truncated = true;
        self.notice = Some(match self.notice.take() {
            Some(prev) => format!("{prev}; {notice}"),
            None => notice,
        });
    }
}

/// One page of a listing, with what is needed to ask for the next.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// The page returned (1-based)
    pub page: u32,
    /// The page size used (Gitea allows at most 50)
    pub limit: u32,
    /// Whether more items exist after this page
    pub has_more: bool,
    /// The `page` argument that returns the next items, when `has_more`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u32>,
    /// How many items exist in all, when Gitea says
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    #[serde(flatten)]
    pub truncation: Truncation,
}

impl<T: Serialize + JsonSchema + Send + 'static> ToolOutput for Listing<T> {}

/// Validated `page`/`limit` arguments, clamped to what Gitea accepts.
/// The page size never exceeds `MAX_TOOL_RESPONSE_ITEMS` either, so following
/// `next_page` reaches every item (a page is never cut after Gitea counted it).
pub fn page_request(
    page: Option<u32>,
    limit: Option<u32>,
    limits: &Limits,
) -> Result<(PageRequest, Option<String>), ToolError> {
    if page == Some(0) {
        return Err(ToolError::InvalidArguments("`page` starts at 1".into()));
    }
    if limit == Some(0) {
        return Err(ToolError::InvalidArguments(
            "`limit` must be at least 1".into(),
        ));
    }
    let cap = GITEA_MAX_LIMIT
        .min(u32::try_from(limits.max_items).unwrap_or(u32::MAX))
        .max(1);
    let note = limit.filter(|l| *l > cap).map(|l| {
        format!("`limit` {l} was lowered to {cap} (Gitea's maximum, or MAX_TOOL_RESPONSE_ITEMS)")
    });
    let mut req = PageRequest::new(page, limit);
    req.limit = req.limit.min(cap);
    Ok((req, note))
}

/// A Gitea page as a listing: items capped to `MAX_TOOL_RESPONSE_ITEMS`, each item's long
/// text fields capped by `cap`, and the next page named.
pub fn listing<T>(
    page: Page<T>,
    limits: &Limits,
    note: Option<String>,
    mut cap: impl FnMut(&mut T, &Limits) -> bool,
) -> Listing<T> {
    let mut items = page.items;
    let mut truncation = Truncation::none();
    if let Some(note) = note {
        truncation.add(note);
    }
    if limits.cap_items(&mut items) {
        truncation.add(format!(
            "showing the first {} items (MAX_TOOL_RESPONSE_ITEMS)",
            items.len()
        ));
    }
    let mut cut_text = 0;
    for item in items.iter_mut() {
        if cap(item, limits) {
            cut_text += 1;
        }
    }
    if cut_text > 0 {
        truncation.add(format!(
            "{cut_text} text field(s) cut at {} characters (MAX_TOOL_RESPONSE_CHARS)",
            limits.max_chars
        ));
    }
    let req_page = page.info.page.unwrap_or(1);
    let has_more = page.info.has_more(items.len());
    Listing {
        page: req_page,
        limit: page.info.limit.unwrap_or(0),
        has_more,
        next_page: has_more.then(|| page.info.next_page.unwrap_or(req_page + 1)),
        total_count: page.info.total,
        items,
        truncation,
    }
}

/// No text field to cap.
pub fn no_text<T>(_: &mut T, _: &Limits) -> bool {
    false
}

/// Caps one text field in place, marking the cut; returns whether it cut.
pub fn cap_field(text: &mut String, limits: &Limits) -> bool {
    let (kept, cut) = limits.cap_text(text);
    if cut {
        let dropped = text.chars().count() - kept.chars().count();
        *text = format!("{kept}\n[… {dropped} more characters cut: MAX_TOOL_RESPONSE_CHARS]");
    }
    cut
}

pub fn invalid(e: String) -> ToolError {
    ToolError::InvalidArguments(e)
}

/// Validates `owner` and `repo`.
pub fn repo_names(owner: &str, repo: &str) -> Result<(), ToolError> {
    validate_name("owner", owner).map_err(invalid)?;
    validate_name("repo", repo).map_err(invalid)
}

/// Validates an optional ref.
pub fn opt_ref(reference: Option<&str>) -> Result<Option<String>, ToolError> {
    reference
        .map(|r| validate_ref("ref", r))
        .transpose()
        .map_err(invalid)
}

/// A positive number (issue, PR, release id).
pub fn positive(field: &str, n: i64) -> Result<u64, ToolError> {
    if n >= 1 {
        Ok(n as u64)
    } else {
        Err(invalid(format!(
            "`{field}` must be a positive number, got {n}"
        )))
    }
}

/// Drops the file sections of a unified git diff whose old or new path `allowed` refuses;
/// returns the kept diff and how many sections were dropped.
pub fn filter_diff(diff: &str, allowed: impl Fn(&str) -> bool) -> (String, usize) {
    let mut out = String::with_capacity(diff.len());
    let mut dropped = 0;
    let mut keep = true;
    for line in diff.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            keep = diff_paths(rest).iter().all(|p| allowed(p));
            if !keep {
                dropped += 1;
            }
        }
        if keep {
            out.push_str(line);
        }
    }
    (out, dropped)
}

/// The `a/` and `b/` paths of a `diff --git a/X b/Y` header (paths without spaces, or
/// quoted as git writes them; an unparseable header yields the whole text, which a path
/// rule then judges as one path).
fn diff_paths(header: &str) -> Vec<String> {
    let header = header.trim_end();
    if let Some((a, b)) = header.split_once(" b/") {
        let a = a.trim_start_matches("a/").trim_matches('"');
        return vec![a.to_string(), b.trim_matches('"').to_string()];
    }
    vec![header.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_sections_of_denied_paths_are_dropped() {
        let diff = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-x\n+y\ndiff --git a/secrets/k.pem b/secrets/k.pem\n+++ b/secrets/k.pem\n+KEY\ndiff --git a/README.md b/README.md\n+z\n";
        let (kept, dropped) = filter_diff(diff, |p| !p.starts_with("secrets/"));
        assert_eq!(dropped, 1);
        assert!(!kept.contains("KEY") && !kept.contains("secrets/"));
        assert!(kept.contains("src/a.rs") && kept.contains("README.md"));
        let (all, none) = filter_diff(diff, |_| true);
        assert_eq!((all.as_str(), none), (diff, 0));
    }
}
