//! The generated reference pages: `docs/configuration.md` from the variables
//! `Config::from_vars` reads (each documented at its read site) and `docs/api-reference.md`
//! from the endpoint table below and the tool registry's schemas. `aegis docs generate`
//! writes them (`make docs`); a test fails when the committed pages differ.
//!
//! Architecture invariant: nothing in these pages is written by hand; edit the code, then
//! run `make docs`.

use std::fmt::Write as _;

use crate::tools::{ToolKind, ToolRegistry};
use aegis_core::config::Config;

/// One HTTP endpoint of the gateway, as the API reference lists it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    /// The function (Lambda) that serves it
    pub function: &'static str,
    /// Who may call it
    pub auth: &'static str,
    /// When it is mounted, if not always
    pub when: &'static str,
    pub summary: &'static str,
    /// Status codes beyond the common ones (403 foreign Host/Origin, 413, 429)
    pub errors: &'static str,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    function: &'static str,
    auth: &'static str,
    when: &'static str,
    summary: &'static str,
    errors: &'static str,
) -> Endpoint {
    Endpoint {
        method,
        path,
        function,
        auth,
        when,
        summary,
        errors,
    }
}

const BEARER: &str = "bearer (API key or OAuth access token)";

/// Every route the functions serve. A test asks the local shim for each of them, so an
/// entry whose route is gone fails; a new route must be added here by hand.
#[rustfmt::skip]
pub const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/", "mcp", "none", "", "Server metadata: name, version, endpoints, protocol versions, auth mode, write mode, tool count", ""),
    ep("GET", "/health", "mcp", "none", "", "Liveness: `{\"status\": \"healthy\", \"version\"}`", ""),
    ep("POST", "/mcp", "mcp", BEARER, "", "MCP Streamable HTTP (JSON responses, stateless): `initialize`, `tools/list`, `tools/call`, `resources/templates/list`, `resources/list`, `resources/read`, `completion/complete`, `prompts/list`, `prompts/get`, `ping`, `server/discover`", "A tool's refusals and failures are `tools/call` results with `isError: true` (HTTP 200): invalid arguments, policy/write-mode/whitelist/permission denials naming what refused and what would allow it, Gitea errors, the credential's rate limit (\"retry after N s\"). 400 malformed JSON-RPC with a JSON-RPC error body (-32700; -32600 for batches, `id: null`, bad shapes, an unsupported `MCP-Protocol-Version`); -32601 `method not found: <name>`; -32602 unknown tool or invalid cursor; 401 missing or bad token (`WWW-Authenticate` with `resource_metadata`); 403 `insufficient_scope` (-32003, step-up challenge) when the token lacks the tool's scope; other requests over the credential's limit -32029 in an HTTP 200 with `Retry-After`; 429 (-32029) unauthenticated requests over the address's limit or a blocked address; 503 audit trail unavailable (-32050, `Retry-After`). A refused `resources/read` or `prompts/get` is a JSON-RPC error in an HTTP 200: -32002 not found, -32003 denied by the gate (`data.reason`), -32602 invalid URI or arguments or a binary file, -32029 Gitea rate limit; a resource read, completion or prompt without `read:repository` is the 403 step-up challenge. See adr/0007-mcp-error-model.md and resources.md"),
    ep("GET", "/mcp", "mcp", "none", "", "No server-initiated stream: answered 405", "405"),
    ep("POST", "/mcp/sse", "mcp", BEARER, "", "Compatibility path: the same service as `/mcp`", "as `/mcp`"),
    ep("GET", "/mcp/tools", "mcp", "none", "", "The tools offered (write tools only with `WRITE_MODE=true`) with their input schemas", ""),
    ep("POST", "/mcp/tool/call", "mcp", BEARER, "", "Direct tool call: `{\"tool\", \"arguments\"}` -> `{\"success\", \"tool\", \"result\", \"text\", \"correlation_id\"}`", "400 bad JSON or arguments; 401; 403 denied; 404 unknown tool or Gitea object; 502 Gitea failed; 503 audit trail unavailable"),
    ep("GET", "/metrics", "mcp", "`METRICS_TOKEN` bearer, or loopback peers when unset", "`METRICS_ENABLED=true`, not on Lambda", "OpenMetrics text (see observability.md)", "401 wrong token; 403 non-loopback peer without a token"),
    ep("GET", "/.well-known/oauth-protected-resource", "oauth", "none", "", "Protected-resource metadata (RFC 9728)", ""),
    ep("GET", "/.well-known/oauth-protected-resource/mcp", "oauth", "none", "", "The same, at the path-suffixed location", ""),
    ep("GET", "/.well-known/oauth-authorization-server", "oauth", "none", "`OAUTH_MODE=true`", "Authorization-server metadata (RFC 8414)", ""),
    ep("POST", "/register", "oauth", "none", "`OAUTH_MODE=true`", "Dynamic Client Registration (RFC 7591)", "400 `invalid_client_metadata` / `invalid_redirect_uri`; 403 when `DCR_ENABLED=false`"),
    ep("GET", "/oauth/authorize", "oauth", "none (browser)", "`OAUTH_MODE=true`", "Authorization request (PKCE S256, exact redirect URI, `resource`): shows the consent page", "400 bad request (errors are shown, never redirected to an unverified URI)"),
    ep("POST", "/oauth/authorize", "oauth", "consent form (CSRF token and cookie)", "`OAUTH_MODE=true`", "The consent decision: approve continues to Gitea, deny returns `access_denied`", "400 bad or replayed form; 403 CSRF mismatch"),
    ep("GET", "/oauth/callback", "oauth", "signed `state`", "`OAUTH_MODE=true`", "Gitea's redirect back: exchanges its code, issues ours to the client", "400 bad or expired state; 502 Gitea failed"),
    ep("POST", "/oauth/token", "oauth", "client authentication per registration", "`OAUTH_MODE=true`", "Token endpoint: `authorization_code` (PKCE) and `refresh_token` grants", "400 `invalid_request` / `invalid_grant` / `unsupported_grant_type`; 401 `invalid_client`"),
    ep("POST", "/oauth/revoke", "oauth", "client authentication per registration", "`OAUTH_MODE=true`", "Token revocation (RFC 7009): always 200 for a well-formed request", "400; 401 `invalid_client`"),
    ep("POST", "/automation/webhook", "webhook", "`X-Gitea-Signature` (HMAC-SHA256 of the body with `WEBHOOK_SECRET`)", "`AUTOMATION_ENABLED=true`", "Gitea webhook deliveries: verified, de-duplicated by `X-Gitea-Delivery`, audited, routed to the jobs the policy allows (see automation.md)", "400 missing `X-Gitea-Delivery`/`X-Gitea-Event` or bad payload; 401 missing or bad signature; 403 automation disabled or policy refusal; 409 replayed delivery; 413 body over `WEBHOOK_MAX_BODY_BYTES`; 503 audit trail or replay store unavailable"),
    ep("GET", "/health/webhook", "webhook", "none", "", "Liveness of the webhook function", ""),
    ep("POST", "/automation/jobs/run", "jobs", BEARER, "`AUTOMATION_ENABLED=true`", "Runs one automation job on demand: `{\"job\", \"repositories\", \"dry_run\"}` -> the job's structured summary (see automation.md)", "400 unknown job or bad body; 401 missing or bad token; 403 automation disabled, scope or policy refusal; 502 Gitea failed; 503 audit trail unavailable"),
    ep("GET", "/health/jobs", "jobs", "none", "", "Liveness of the jobs function", ""),
];

/// `docs/configuration.md`.
pub fn configuration_markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated by `make docs` (`aegis docs generate`) from `Config::from_vars` in \
         shared/core/src/config.rs: edit the code, not this page. -->\n\n\
         Every variable the gateway reads, in the order it reads them. Variables come from the \
         environment (on Lambda: the function's environment, set by the SAM template) or from a \
         `.env` file in the working directory; real environment variables win. An empty value \
         counts as unset. Invalid values stop the process at startup with a message naming the \
         variable.\n\n\
         | Variable | Type | Default | Description |\n|---|---|---|---|\n",
    );
    for v in Config::variables() {
        let as_written = ["unset", "empty"].contains(&v.default.as_str())
            || v.default.starts_with('`')
            || v.default.contains(' ');
        let default = if as_written {
            v.default.clone()
        } else {
            format!("`{}`", v.default)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            v.name,
            v.kind,
            cell(&default),
            cell(v.description)
        );
    }
    out
}

/// `docs/api-reference.md`.
pub fn api_reference_markdown(tools: &ToolRegistry) -> String {
    let mut out = String::from(
        "# API reference\n\n\
         <!-- Generated by `make docs` (`aegis docs generate`) from the endpoint table in \
         shared/mcp/src/reference.rs and the tool registry: edit the code, not this page. -->\n\n\
         ## HTTP endpoints\n\n\
         The local shim serves every function on one port; on AWS each function is its own \
         Lambda behind the API (see deployment.md). Every response carries `X-Request-ID`. \
         Errors are JSON: `{\"error\": \"<code>\", \"message\": \"...\"}` (JSON-RPC error \
         objects on `/mcp`). Common to all endpoints: 403 for a `Host` or `Origin` that is not \
         allowed, 413 for a body over `MAX_REQUEST_BODY_BYTES`, 404 (JSON) for an unknown \
         route.\n\n\
         | Method | Path | Function | Auth | Mounted | Purpose | Errors |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for e in ENDPOINTS {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            e.method,
            e.path,
            e.function,
            cell(e.auth),
            cell(if e.when.is_empty() { "always" } else { e.when }),
            cell(e.summary),
            cell(if e.errors.is_empty() { "-" } else { e.errors })
        );
    }
    out.push_str(
        "\n## MCP tools\n\n\
         Called with `tools/call` on `/mcp` or with `POST /mcp/tool/call`. Read tools need \
         the `read:repository` scope; write tools need `write:repository`, `WRITE_MODE=true`, \
         a whitelisted repository and an allowing policy, and are not offered otherwise. \
         Every call passes the policy gate and is audited; results pass the secret scanner \
         and carry `_meta.correlation_id`. Unknown, missing or wrongly typed arguments are refused before Gitea as a result with `isError: true` naming the field (HTTP 400 on `/mcp/tool/call`). Schemas use JSON Schema 2020-12 with standard formats only; optional fields are not `required`, and absent values are left out of `structuredContent`. The text content is what the model reads: the structured result as compact JSON with lists of objects as `{\"columns\", \"rows\"}` tables and empty members left out (a file, a diff and search hits as plain text), delimited as untrusted data, at most `MAX_TOOL_RESPONSE_CHARS` characters with a notice after the block when cut (see tools.md).\n",
    );
    let mut specs: Vec<_> = tools.iter().collect();
    specs.sort_by(|a, b| a.name().cmp(b.name()));
    for kind in [ToolKind::Read, ToolKind::Write] {
        let title = match kind {
            ToolKind::Read => "Read tools",
            ToolKind::Write => "Write tools (write mode)",
        };
        let _ = write!(out, "\n### {title}\n");
        for spec in specs.iter().filter(|s| s.kind == kind) {
            let tool = spec.tool();
            let _ = write!(out, "\n#### `{}`\n\n", tool.name);
            if let Some(d) = &tool.description {
                let _ = writeln!(out, "{}\n", d.trim());
            }
            let schema = serde_json::to_string_pretty(&*tool.input_schema).unwrap_or_default();
            let _ = writeln!(out, "Input schema:\n\n```json\n{schema}\n```");
        }
    }
    resources_markdown(&mut out);
    out
}

/// The resource templates and prompts, from their declarations (`crate::resources`).
fn resources_markdown(out: &mut String) {
    out.push_str(
        "\n## MCP resources and prompts\n\n\
         Read with `resources/read`, completed with `completion/complete`, listed with \
         `resources/templates/list` and `prompts/list` (see resources.md). Every read is the \
         read tool named below, through the same gate, policy, audit, secret scanner and \
         hygiene as `tools/call`; every prompt argument completes.\n\n\
         | URI template | MIME type | What it is |\n|---|---|---|\n",
    );
    for t in crate::resources::templates().resource_templates {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            t.uri_template,
            t.mime_type.as_deref().unwrap_or("-"),
            cell(t.description.as_deref().unwrap_or_default())
        );
    }
    out.push_str("\n| Prompt | Arguments | What it does |\n|---|---|---|\n");
    for p in crate::resources::list_prompts().prompts {
        let args: Vec<String> = p
            .arguments
            .unwrap_or_default()
            .iter()
            .map(|a| {
                let optional = if a.required == Some(true) {
                    ""
                } else {
                    " (optional)"
                };
                format!("`{}`{optional}", a.name)
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            p.name,
            args.join(", "),
            cell(p.description.as_deref().unwrap_or_default())
        );
    }
}

/// A table cell: no line breaks, `|` escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// The generated pages: (path under the repository root, contents).
pub fn generated_pages() -> Vec<(&'static str, String)> {
    vec![
        ("docs/configuration.md", configuration_markdown()),
        (
            "docs/api-reference.md",
            api_reference_markdown(&ToolRegistry::standard()),
        ),
    ]
}
