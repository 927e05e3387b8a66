//! Resources (`resources/templates/list`, `resources/read`, `resources/list`), argument
//! completion (`completion/complete`) and workflow prompts (`prompts/list`, `prompts/get`)
//! over the read tools. See `docs/resources.md` and ADR 0008.
//!
//! Architecture invariant: every Gitea lookup here is a read tool run through
//! `dispatch::call` (`Caller::call`), so the gate, the policy, the audit trail, the secret
//! scanner and the hygiene apply exactly as to `tools/call`: a resource read IS the
//! corresponding tool call. Candidates of a completion are additionally passed through the
//! gate alone (`Caller::offerable`) so nothing the caller may not read is offered.

mod complete;
mod prompts;
pub mod uri;

use rmcp::model::{
    Annotations, ErrorCode, ListResourceTemplatesResult, ListResourcesResult, MetaObject,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use rmcp::ErrorData as McpError;
use serde_json::{json, Value};

use crate::dispatch::{self, CallError, Denial};
use crate::state::McpState;
use crate::tools::ToolError;
use aegis_edge::auth::Principal;
use uri::{Target, UriError};

pub use complete::complete;
pub use prompts::{get_prompt, list_prompts};

/// JSON-RPC error code of a read the gate refused (policy, write gates, permission, scope).
pub const ACCESS_DENIED: i32 = -32003;
/// JSON-RPC error code of Gitea (or our own limit) asking to slow down.
pub const RATE_LIMITED: i32 = -32029;

/// A resource's text is at most this many times `MAX_TOOL_RESPONSE_CHARS` (an issue with
/// its comments is legitimately longer than one field; every field is capped already).
pub const RESOURCE_TEXT_FACTOR: usize = 5;

/// `resources/list` offers at most this many READMEs, `LIST_PAGE` per page.
pub const LIST_MAX: usize = 20;
pub const LIST_PAGE: usize = 10;
const LIST_CURSOR_PREFIX: &str = "readmes:";

/// The `_meta` key marking content as untrusted third-party data.
pub const UNTRUSTED_META_KEY: &str = "aegis/untrusted";
/// The `_meta` key naming the read tools a resource was read with (what the policy and the
/// audit trail saw).
pub const TOOLS_META_KEY: &str = "aegis/tools";
/// The `_meta` key carrying a truncation notice.
pub const TRUNCATED_META_KEY: &str = "aegis/truncated";

/// The MCP methods that read repository data: they need `read:repository`, checked by the
/// `/mcp` envelope before the protocol layer (the step-up challenge) and by the gate of
/// every tool call they make.
pub const READING_METHODS: &[&str] = &[
    "resources/read",
    "resources/list",
    "completion/complete",
    "prompts/get",
];

/// Who is asking, for the read tools a resource, completion or prompt runs.
pub struct Caller<'a> {
    pub state: &'a McpState,
    pub principal: Principal,
    pub request_id: String,
}

impl Caller<'_> {
    /// One read tool through the whole pipeline (gate, policy, audit, secrets, hygiene);
    /// returns its structured result.
    pub async fn call(&self, tool: &str, args: Value) -> Result<Value, CallError> {
        let args = match args {
            Value::Object(map) => Some(map),
            _ => None,
        };
        dispatch::call(
            self.state,
            self.principal.clone(),
            self.request_id.clone(),
            tool,
            args,
        )
        .await
        .map(|r| r.structured)
    }

    /// Whether a call of `tool` with `args` would pass the gate (scope, policy, and in OAuth
    /// mode with a service token the user's own permission): nothing is recorded and no
    /// tool runs. Completion and listing use it so a value is offered only if reading it
    /// would be allowed.
    pub async fn offerable(&self, tool: &str, args: &Value) -> bool {
        let Ok(authorized) =
            dispatch::authorize(self.state, &self.principal, tool, args.as_object())
        else {
            return false;
        };
        self.state
            .permissions
            .check(
                &self.principal,
                authorized.spec.kind,
                authorized.repo.as_ref(),
            )
            .await
            .is_ok()
    }

    fn text_bound(&self) -> usize {
        self.state.edge.config.limits.max_tool_response_chars * RESOURCE_TEXT_FACTOR
    }
}

/// Why a resource could not be read (before it becomes a JSON-RPC error).
#[derive(Debug)]
pub enum ReadError {
    Uri(UriError),
    Call(CallError),
    /// A binary file: not served (see ADR 0008)
    Binary {
        path: String,
        size: u64,
    },
    /// A symlink or submodule
    NotAFile {
        path: String,
    },
    /// A prompt or completion request that names no prompt, template or argument of ours,
    /// or lacks a required argument
    Invalid(String),
}

impl From<CallError> for ReadError {
    fn from(e: CallError) -> Self {
        ReadError::Call(e)
    }
}

impl From<UriError> for ReadError {
    fn from(e: UriError) -> Self {
        ReadError::Uri(e)
    }
}

impl ReadError {
    /// Whether the audit trail failed (the `/mcp` edge then answers 503).
    pub fn audit_failed(&self) -> bool {
        matches!(self, ReadError::Call(CallError::AuditUnavailable(_)))
    }

    /// The JSON-RPC error a client shows (docs/resources.md, "Errors").
    pub fn into_mcp(self, uri: &str) -> McpError {
        let data = (!uri.is_empty()).then(|| json!({ "uri": uri }));
        match self {
            ReadError::Uri(e @ UriError::Unknown(_)) => {
                McpError::resource_not_found(e.to_string(), data)
            }
            ReadError::Uri(e @ UriError::Malformed { .. }) => {
                McpError::invalid_params(e.to_string(), data)
            }
            ReadError::Binary { path, size } => McpError::invalid_params(
                format!(
                    "`{}` is a binary file ({size} bytes): only text files are served as resources",
                    path.escape_default()
                ),
                data,
            ),
            ReadError::NotAFile { path } => McpError::invalid_params(
                format!(
                    "`{}` is a symlink or submodule, not a file",
                    path.escape_default()
                ),
                data,
            ),
            ReadError::Invalid(m) => McpError::invalid_params(m, None),
            ReadError::Call(e) => call_error(e, data),
        }
    }
}

/// A failed read tool as a JSON-RPC error: not found -32002, invalid -32602, refused by
/// the gate or Gitea -32003, rate limited -32029, the rest -32603.
fn call_error(e: CallError, data: Option<Value>) -> McpError {
    match e {
        CallError::Denied(Denial::BadArguments(m))
        | CallError::Tool(ToolError::InvalidArguments(m)) => {
            McpError::invalid_params(format!("invalid arguments: {m}"), data)
        }
        CallError::Denied(d @ Denial::UnknownTool(_)) => {
            McpError::internal_error(d.to_string(), data)
        }
        CallError::Denied(d) => {
            let mut data = data.unwrap_or_else(|| json!({}));
            data["reason"] = Value::from(d.reason());
            McpError::new(
                ErrorCode(ACCESS_DENIED),
                format!("access denied: {d}. {}", d.remedy()),
                Some(data),
            )
        }
        CallError::Tool(ToolError::NotFound(m)) => McpError::resource_not_found(m, data),
        CallError::Tool(ToolError::Forbidden(m)) => McpError::new(
            ErrorCode(ACCESS_DENIED),
            format!("access denied: {m}"),
            data,
        ),
        CallError::Tool(ToolError::Conflict(m)) => McpError::invalid_params(m, data),
        CallError::Tool(ToolError::RateLimited(m)) => {
            McpError::new(ErrorCode(RATE_LIMITED), m, data)
        }
        CallError::Tool(ToolError::Upstream(m)) => McpError::internal_error(m, data),
        e @ CallError::Aborted => McpError::internal_error(e.to_string(), data),
        e @ CallError::AuditUnavailable(_) => McpError::new(
            ErrorCode(crate::protocol::AUDIT_UNAVAILABLE),
            e.to_string(),
            data,
        ),
    }
}

// ---- templates ------------------------------------------------------------------------

/// `resources/templates/list`: every template, with the read tool(s) behind it.
pub fn templates() -> ListResourceTemplatesResult {
    let t = |uri: &str, name: &str, title: &str, description: &str, mime: &str| {
        ResourceTemplate::new(uri, name)
            .with_title(title)
            .with_description(description)
            .with_mime_type(mime)
    };
    ListResourceTemplatesResult::with_all_items(vec![
        t(
            uri::FILE_TEMPLATE,
            "repository_file",
            "Repository file",
            "A text file of a repository at a ref (branch, tag or commit; default: the default \
             branch), exactly as stored, cut only past MAX_TOOL_RESPONSE_CHARS. Read with \
             get_file_contents. The MIME type follows the file's extension; binary files are \
             refused.",
            "text/plain",
        ),
        t(
            uri::ISSUE_TEMPLATE,
            "issue",
            "Issue with comments",
            "An issue and its comments as Markdown. Read with get_issue and list_issue_comments.",
            "text/markdown",
        ),
        t(
            uri::ISSUES_TEMPLATE,
            "issues",
            "Issues of a repository",
            "A repository's issues (state open, closed or all; default open) as JSON. Read with \
             list_issues.",
            "application/json",
        ),
        t(
            uri::PULL_TEMPLATE,
            "pull_request",
            "Pull request with comments",
            "A pull request and its comments as Markdown. Read with get_pull_request and \
             list_issue_comments.",
            "text/markdown",
        ),
        t(
            uri::PULL_FILES_TEMPLATE,
            "pull_request_files",
            "Files a pull request changes",
            "The files a pull request changes, with additions and deletions, as JSON. Read \
             with list_pull_request_files.",
            "application/json",
        ),
        t(
            uri::RELEASE_TEMPLATE,
            "release",
            "Release",
            "A release by id, or `latest`, as Markdown. Read with get_release or \
             get_latest_release.",
            "text/markdown",
        ),
        t(
            uri::COMMIT_TEMPLATE,
            "commit",
            "Commit with diff",
            "A commit's message and unified diff. Read with get_commit_diff.",
            "text/x-diff",
        ),
        t(
            uri::COMPARE_TEMPLATE,
            "comparison",
            "Commits between two refs",
            "The commits on `head` that are not on `base`, as Markdown. Read with compare_refs.",
            "text/markdown",
        ),
    ])
}

// ---- read -----------------------------------------------------------------------------

/// One read resource: its text, MIME type, the tools it was read with, and a truncation
/// notice when something was cut.
pub struct Read {
    pub uri: String,
    pub mime: &'static str,
    pub text: String,
    pub tools: &'static [&'static str],
    pub truncated: Option<String>,
}

impl Read {
    /// As MCP resource contents, marked untrusted in `_meta`.
    pub fn into_contents(self) -> ResourceContents {
        let mut meta = MetaObject::default();
        meta.0.insert(UNTRUSTED_META_KEY.into(), Value::Bool(true));
        meta.0.insert(TOOLS_META_KEY.into(), json!(self.tools));
        if let Some(notice) = self.truncated {
            meta.0
                .insert(TRUNCATED_META_KEY.into(), Value::String(notice));
        }
        ResourceContents::TextResourceContents {
            uri: self.uri,
            mime_type: Some(self.mime.to_string()),
            text: self.text,
            meta: Some(meta),
        }
    }
}

/// `resources/read`: parse, run the read tool(s), render.
pub async fn read(caller: &Caller<'_>, uri: &str) -> Result<ReadResourceResult, ReadError> {
    let target = uri::parse(uri)?;
    let read = read_target(caller, &target, uri.to_string()).await?;
    let mut result = ReadResourceResult::new(vec![read.into_contents()]);
    let mut meta = MetaObject::default();
    meta.0.insert(
        crate::protocol::CORRELATION_META_KEY.into(),
        Value::String(caller.request_id.clone()),
    );
    result.meta = Some(meta);
    Ok(result)
}

fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn notice(v: &Value) -> Option<String> {
    (v.get("truncated") == Some(&Value::Bool(true))).then(|| {
        v.get("notice")
            .and_then(Value::as_str)
            .unwrap_or("the result was cut to the gateway's response limits")
            .to_string()
    })
}

/// Reads what `target` names through its read tool(s).
pub async fn read_target(
    caller: &Caller<'_>,
    target: &Target,
    uri: String,
) -> Result<Read, ReadError> {
    let bound = caller.text_bound();
    let finish = |mut read: Read| {
        let (kept, cut) = crate::tools::limits::cap_chars(&read.text, bound);
        if cut {
            let notice = format!(
                "the text is limited to {bound} characters ({RESOURCE_TEXT_FACTOR} x \
                 MAX_TOOL_RESPONSE_CHARS); read the rest with the tools in `aegis/tools`"
            );
            read.text = format!("{kept}\n[truncated: {notice}]\n");
            read.truncated.get_or_insert(notice);
        }
        read
    };
    match target {
        Target::File {
            owner,
            repo,
            path,
            reference,
        } => {
            let mut args = json!({"owner": owner, "repo": repo, "filepath": path});
            if let Some(r) = reference {
                args["ref"] = Value::from(r.as_str());
            }
            let v = caller.call("get_file_contents", args).await?;
            match s(&v, "kind") {
                "text" => {
                    let mut text = s(&v, "content").to_string();
                    let truncated = notice(&v);
                    if let Some(n) = &truncated {
                        // The cut is visible in the text too: a model must not take a
                        // partial file for the whole.
                        text.push_str(&format!("\n[truncated: {n}]\n"));
                    }
                    Ok(finish(Read {
                        uri,
                        mime: uri::mime_for_path(path),
                        text,
                        tools: &["get_file_contents"],
                        truncated,
                    }))
                }
                "directory" => Ok(finish(Read {
                    uri,
                    mime: "application/json",
                    text: serde_json::to_string_pretty(&v).unwrap_or_default(),
                    tools: &["get_file_contents"],
                    truncated: notice(&v),
                })),
                "binary" => Err(ReadError::Binary {
                    path: path.clone(),
                    size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
                }),
                _ => Err(ReadError::NotAFile { path: path.clone() }),
            }
        }
        Target::Issue {
            owner,
            repo,
            number,
        } => Ok(finish(
            discussion(caller, uri, Discussion::Issue, owner, repo, *number).await?,
        )),
        Target::Pull {
            owner,
            repo,
            number,
        } => Ok(finish(
            discussion(caller, uri, Discussion::Pull, owner, repo, *number).await?,
        )),
        Target::PullFiles {
            owner,
            repo,
            number,
        } => {
            let v = caller
                .call(
                    "list_pull_request_files",
                    json!({"owner": owner, "repo": repo, "pull_number": number, "limit": 50}),
                )
                .await?;
            Ok(finish(json_read(uri, v, &["list_pull_request_files"])))
        }
        Target::Issues { owner, repo, state } => {
            let mut args = json!({"owner": owner, "repo": repo, "limit": 50});
            if let Some(state) = state {
                args["state"] = Value::from(state.as_str());
            }
            let v = caller.call("list_issues", args).await?;
            Ok(finish(json_read(uri, v, &["list_issues"])))
        }
        Target::Release { owner, repo, id } => {
            let (v, tools): (Value, &'static [&'static str]) = match id {
                Some(id) => (
                    caller
                        .call(
                            "get_release",
                            json!({"owner": owner, "repo": repo, "release_id": id}),
                        )
                        .await?,
                    &["get_release"],
                ),
                None => (
                    caller
                        .call("get_latest_release", json!({"owner": owner, "repo": repo}))
                        .await?,
                    &["get_latest_release"],
                ),
            };
            Ok(finish(Read {
                uri,
                mime: "text/markdown",
                text: release_markdown(&v["release"]),
                tools,
                truncated: None,
            }))
        }
        Target::Commit { owner, repo, sha } => {
            let v = caller
                .call(
                    "get_commit_diff",
                    json!({"owner": owner, "repo": repo, "sha": sha}),
                )
                .await?;
            let commit = &v["commit"];
            let text = format!(
                "commit {}\nAuthor: {} <{}>\nDate:   {}\n\n{}\n\n{}",
                s(commit, "sha"),
                s(commit, "author_name"),
                s(commit, "author_email"),
                s(commit, "date"),
                s(commit, "message")
                    .lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                s(&v, "diff")
            );
            Ok(finish(Read {
                uri,
                mime: "text/x-diff",
                text,
                tools: &["get_commit_diff"],
                truncated: notice(&v),
            }))
        }
        Target::Compare {
            owner,
            repo,
            base,
            head,
        } => {
            let v = caller
                .call(
                    "compare_refs",
                    json!({"owner": owner, "repo": repo, "base": base, "head": head}),
                )
                .await?;
            Ok(finish(Read {
                uri,
                mime: "text/markdown",
                text: compare_markdown(&v),
                tools: &["compare_refs"],
                truncated: notice(&v),
            }))
        }
    }
}

/// An issue or a pull request: the item (its own read tool) and its comments.
#[derive(Clone, Copy)]
enum Discussion {
    Issue,
    Pull,
}

async fn discussion(
    caller: &Caller<'_>,
    uri: String,
    kind: Discussion,
    owner: &str,
    repo: &str,
    number: i64,
) -> Result<Read, ReadError> {
    let (tool, number_arg, key, heading, tools): (_, _, _, _, &'static [&'static str]) = match kind
    {
        Discussion::Issue => (
            "get_issue",
            "issue_number",
            "issue",
            "Issue",
            &["get_issue", "list_issue_comments"],
        ),
        Discussion::Pull => (
            "get_pull_request",
            "pull_number",
            "pull_request",
            "Pull request",
            &["get_pull_request", "list_issue_comments"],
        ),
    };
    let mut args = json!({"owner": owner, "repo": repo});
    args[number_arg] = Value::from(number);
    let v = caller.call(tool, args).await?;
    // Pull-request comments are issue comments in Gitea.
    let (comments, comments_note) = comments(
        caller,
        json!({"owner": owner, "repo": repo, "issue_number": number}),
    )
    .await?;
    let mut text = issue_markdown(&v[key], heading);
    text.push_str(&comments);
    Ok(Read {
        uri,
        mime: "text/markdown",
        text,
        tools,
        truncated: comments_note.or_else(|| {
            (v["truncated"] == true).then(|| "the body was cut (MAX_TOOL_RESPONSE_CHARS)".into())
        }),
    })
}

fn json_read(uri: String, v: Value, tools: &'static [&'static str]) -> Read {
    Read {
        uri,
        mime: "application/json",
        truncated: notice(&v),
        text: serde_json::to_string_pretty(&v).unwrap_or_default(),
        tools,
    }
}

/// The first page of comments (50) as Markdown; a denied comment listing leaves the issue
/// readable and says why the comments are missing.
async fn comments(caller: &Caller<'_>, args: Value) -> Result<(String, Option<String>), ReadError> {
    let mut args = args;
    args["limit"] = Value::from(50);
    match caller.call("list_issue_comments", args).await {
        Ok(v) => {
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let total = v["total_count"].as_u64().unwrap_or(items.len() as u64);
            let mut out = format!("\n\n## Comments ({total})\n");
            for c in &items {
                out.push_str(&format!(
                    "\n### @{} on {}\n\n{}\n",
                    s(c, "author"),
                    s(c, "created_at"),
                    s(c, "body")
                ));
            }
            let note = (v["has_more"] == true || v["truncated"] == true).then(|| {
                format!(
                    "showing {} of {total} comments; read the rest with list_issue_comments",
                    items.len()
                )
            });
            if let Some(n) = &note {
                out.push_str(&format!("\n[truncated: {n}]\n"));
            }
            Ok((out, note))
        }
        Err(CallError::Denied(d @ Denial::Forbidden { .. })) => Ok((
            format!("\n\n## Comments\n\n[not shown: {d}]\n"),
            Some(format!("comments not shown: {d}")),
        )),
        Err(e) => Err(e.into()),
    }
}

fn list_line(label: &str, v: &Value) -> Option<String> {
    let items: Vec<&str> = v.as_array()?.iter().filter_map(Value::as_str).collect();
    (!items.is_empty()).then(|| format!("- {label}: {}\n", items.join(", ")))
}

/// An issue or pull request (the same fields where they overlap) as Markdown.
fn issue_markdown(v: &Value, kind: &str) -> String {
    let mut out = format!("# {} #{}: {}\n\n", kind, v["number"], s(v, "title"));
    out.push_str(&format!("- State: {}\n", s(v, "state")));
    out.push_str(&format!("- Author: @{}\n", s(v, "author")));
    if let (Some(head), Some(base)) = (v.get("head"), v.get("base")) {
        out.push_str(&format!(
            "- Branches: {} into {}\n",
            s(head, "ref"),
            s(base, "ref")
        ));
        out.push_str(&format!(
            "- Changes: {} files, +{} -{}{}{}\n",
            v["changed_files"],
            v["additions"],
            v["deletions"],
            if v["draft"] == true { ", draft" } else { "" },
            if v["merged"] == true { ", merged" } else { "" },
        ));
    }
    out.extend(list_line("Labels", &v["labels"]));
    out.extend(list_line("Assignees", &v["assignees"]));
    if let Some(m) = v.get("milestone") {
        out.push_str(&format!("- Milestone: {}\n", s(m, "title")));
    }
    out.push_str(&format!("- Created: {}\n", s(v, "created_at")));
    out.push_str(&format!("- URL: {}\n\n", s(v, "html_url")));
    out.push_str(s(v, "body"));
    out
}

fn release_markdown(v: &Value) -> String {
    let mut out = format!("# {} ({})\n\n", s(v, "name"), s(v, "tag_name"));
    if v["draft"] == true {
        out.push_str("- Draft\n");
    }
    if v["prerelease"] == true {
        out.push_str("- Pre-release\n");
    }
    out.push_str(&format!("- Author: @{}\n", s(v, "author")));
    out.push_str(&format!("- Target: {}\n", s(v, "target_commitish")));
    out.push_str(&format!("- Created: {}\n", s(v, "created_at")));
    out.push_str(&format!("- URL: {}\n\n", s(v, "html_url")));
    out.push_str(s(v, "body"));
    if let Some(assets) = v["assets"].as_array().filter(|a| !a.is_empty()) {
        out.push_str("\n\n## Assets\n\n");
        for a in assets {
            out.push_str(&format!("- {} ({} bytes)\n", s(a, "name"), a["size"]));
        }
    }
    out
}

fn compare_markdown(v: &Value) -> String {
    let mut out = format!(
        "# Changes from {} to {}\n\n{} commit(s) on `{}` that are not on `{}`:\n\n",
        s(v, "base"),
        s(v, "head"),
        v["total_commits"],
        s(v, "head"),
        s(v, "base")
    );
    for c in v["commits"].as_array().into_iter().flatten() {
        let sha = s(c, "sha");
        out.push_str(&format!(
            "- {} {} ({}, {})\n",
            &sha[..sha.len().min(10)],
            s(c, "message").lines().next().unwrap_or_default(),
            s(c, "author_name"),
            s(c, "date")
        ));
    }
    if let Some(n) = notice(v) {
        out.push_str(&format!("\n[truncated: {n}]\n"));
    }
    out
}

// ---- list -----------------------------------------------------------------------------

/// `resources/list`: the READMEs of the caller's most recently updated repositories (at
/// most `LIST_MAX`, `LIST_PAGE` per page), those the gate would let the caller read.
pub async fn list(
    caller: &Caller<'_>,
    cursor: Option<&str>,
) -> Result<ListResourcesResult, ReadError> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix(LIST_CURSOR_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0 && *n < LIST_MAX && n % LIST_PAGE == 0)
            .ok_or_else(|| {
                ReadError::Invalid(format!(
                    "invalid cursor `{}`: pass the `nextCursor` of the previous page, or none",
                    c.escape_default()
                ))
            })?,
    };
    let v = caller.call("list_repositories", json!({})).await?;
    let mut repos: Vec<Value> = v["repositories"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["empty"] != true)
        .collect();
    // RFC 3339 times in one zone sort as strings.
    repos.sort_by(|a, b| s(b, "updated_at").cmp(s(a, "updated_at")));
    let mut readmes = Vec::new();
    for r in repos {
        if readmes.len() >= LIST_MAX {
            break;
        }
        let (owner, name) = (s(&r, "owner"), s(&r, "name"));
        let args = json!({"owner": owner, "repo": name, "filepath": "README.md"});
        if !caller.offerable("get_file_contents", &args).await {
            continue;
        }
        let mut annotations = Annotations::default();
        annotations.last_modified = Some(s(&r, "updated_at").to_string());
        let mut resource = Resource::new(
            uri::file(owner, name, "README.md", None),
            format!("{owner}/{name}/README.md"),
        )
        .with_title(format!("README of {owner}/{name}"))
        .with_mime_type("text/markdown")
        .with_annotations(annotations);
        let description = s(&r, "description");
        if !description.is_empty() {
            resource = resource.with_description(description);
        }
        readmes.push(resource);
    }
    let page: Vec<Resource> = readmes
        .iter()
        .skip(start)
        .take(LIST_PAGE)
        .cloned()
        .collect();
    let next = start + LIST_PAGE;
    let mut result = ListResourcesResult::with_all_items(page);
    if next < readmes.len() {
        result.next_cursor = Some(format!("{LIST_CURSOR_PREFIX}{next}"));
    }
    Ok(result)
}
