//! Architecture invariants: the layers as facts of the crate graph (`cargo tree`), and
//! what the graph cannot express, checked on the source (docs/ARCHITECTURE.md, ADR 0009). Each rule is a table row: which files may contain a
//! pattern, and why. Test code (files named `tests.rs`, and everything from a file's
//! `#[cfg(test)]` on) and comments are not checked.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every Rust source of the product: the library, the functions, the shim, the CLI.
fn product_sources() -> Vec<(String, String)> {
    let root = root();
    let mut files = Vec::new();
    for dir in ["shared", "functions", "local/src", "local/cli/src"] {
        collect(&root.join(dir), &mut files);
    }
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a readable source");
            let rel = p
                .strip_prefix(&root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, product_code(&text))
        })
        .collect();
    out.sort();
    assert!(out.len() > 80, "only {} sources found", out.len());
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                collect(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

/// The code of a file without its tests and without comment lines.
fn product_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One invariant: `patterns` appear only in files whose path starts with one of `allowed`.
struct Rule {
    name: &'static str,
    patterns: &'static [&'static str],
    allowed: &'static [&'static str],
    /// Where the rule applies (path prefixes); empty: every product source
    scope: &'static [&'static str],
}

fn check(rule: &Rule) {
    let mut offenders = Vec::new();
    for (path, code) in product_sources() {
        let in_scope = rule.scope.is_empty() || rule.scope.iter().any(|s| path.starts_with(s));
        if !in_scope || rule.allowed.iter().any(|a| path.starts_with(a)) {
            continue;
        }
        for pattern in rule.patterns {
            for (n, line) in code.lines().enumerate() {
                if line.contains(pattern) {
                    offenders.push(format!(
                        "{path}: `{pattern}` in `{}` (code line {})",
                        line.trim(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "{}:\n{}",
        rule.name,
        offenders.join("\n")
    );
}

const ENVIRONMENT: Rule = Rule {
    name: "the environment is read once, by `Config` (config.rs); everything else is passed the configuration",
    patterns: &["env::var(", "env::var_os(", "env::vars(", "env::vars_os("],
    allowed: &["shared/core/src/config.rs"],
    scope: &[],
};

const AWS_TYPES: Rule = Rule {
    name: "AWS SDK types appear only inside the AWS storage adapters",
    patterns: &["aws_sdk_", "aws_config", "aws_smithy", "aws_types"],
    allowed: &["shared/storage/src/aws/"],
    scope: &[],
};

const TOOL_CALLS: Rule = Rule {
    name: "a tool runs only through `dispatch::call`, after the gate (`ToolRegistry::call`)",
    patterns: &[".tools.call(", "ToolRegistry::call", "registry.call("],
    allowed: &["shared/mcp/src/dispatch.rs"],
    scope: &[],
};

#[test]
fn only_configuration_reads_the_environment() {
    check(&ENVIRONMENT);
}

#[test]
fn aws_sdk_types_stay_in_the_aws_adapters() {
    check(&AWS_TYPES);
}

#[test]
fn only_the_dispatcher_calls_a_tool() {
    check(&TOOL_CALLS);
}

/// A rule that finds nothing because its files moved would pass forever: each scope and
/// allowance must name existing files.
#[test]
fn the_rules_name_existing_files() {
    let sources: Vec<String> = product_sources().into_iter().map(|(p, _)| p).collect();
    for rule in [&ENVIRONMENT, &AWS_TYPES, &TOOL_CALLS] {
        for prefix in rule.scope.iter().chain(rule.allowed) {
            assert!(
                sources.iter().any(|s| s.starts_with(prefix)),
                "{}: no source under `{prefix}`",
                rule.name
            );
        }
    }
}

/// The packages a workspace crate links (normal dependencies, default features, this
/// platform), from `cargo tree`.
fn linked_packages(krate: &str) -> std::collections::BTreeSet<String> {
    linked_packages_with(krate, &[])
}

/// The same, with `features` of the crate turned on.
fn linked_packages_with(krate: &str, features: &[&str]) -> std::collections::BTreeSet<String> {
    let mut args = vec![
        "tree",
        "--offline",
        "-e",
        "normal",
        "--prefix",
        "none",
        "-p",
        krate,
    ];
    let features = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &features]);
    }
    let out = std::process::Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Which packages a workspace crate must not link, and why (ADR 0009, section 6).
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "aegis-core",
        &[
            "tokio",
            "axum",
            "hyper",
            "reqwest",
            "rmcp",
            "lambda_http",
            "aegis-gitea",
            "aegis-storage",
        ],
        "the core decides and records without an async runtime, HTTP, Gitea, storage or tools",
    ),
    (
        "aegis-http",
        &[
            "axum",
            "rmcp",
            "lambda_http",
            "aegis-core",
            "aegis-storage",
            "aws-config",
            "h2",
        ],
        "outbound TLS and reqwest only: it serves nothing and knows no domain",
    ),
    (
        "aegis-gitea",
        &["axum", "rmcp", "lambda_http", "aegis-storage", "aws-config"],
        "the Gitea client knows HTTP to Gitea and the core, nothing of serving or storage",
    ),
    (
        "aegis-storage",
        &[
            "axum",
            "reqwest",
            "rmcp",
            "lambda_http",
            "aegis-gitea",
            "aws-config",
            "aws-sdk-s3",
        ],
        "storage adapters know the core's ports; the AWS SDK only with the `aws` feature",
    ),
    (
        "aegis-gate",
        &["axum", "rmcp", "lambda_http", "aws-config"],
        "the gate decides on Gitea permissions and the configuration, not on HTTP or MCP",
    ),
    (
        "aegis-edge",
        &[
            "rmcp",
            "aegis-oauth",
            "aegis-mcp",
            "aegis-automation",
            "aegis-gate",
            "aws-config",
        ],
        "the edge serves every function: it knows no capability",
    ),
    (
        "aegis-oauth",
        &["rmcp", "aegis-mcp", "aegis-automation", "aegis-gate"],
        "the OAuth server knows nothing of tools or automation",
    ),
    (
        "aegis-automation",
        &["rmcp", "aegis-mcp", "aegis-oauth", "jsonwebtoken"],
        "automation goes through the gate, not through the MCP dispatcher or the OAuth server",
    ),
    (
        "aegis-mcp",
        &["aegis-oauth", "aegis-automation", "jsonwebtoken"],
        "the MCP capability authenticates through the edge's seam, not the OAuth server",
    ),
    (
        "aegis-fn-oauth",
        &["aegis-mcp", "aegis-automation", "aegis-gate", "rmcp"],
        "the OAuth function builds and links no tool registry and no automation",
    ),
    (
        "aegis-fn-webhook",
        &["aegis-oauth", "aegis-mcp", "rmcp", "jsonwebtoken"],
        "the webhook function is authenticated by signatures: no OAuth server, no MCP",
    ),
    (
        "aegis-fn-jobs",
        &["aegis-mcp", "rmcp"],
        "the jobs function runs automation, not tools",
    ),
    (
        "aegis-fn-mcp",
        &["aegis-automation"],
        "the MCP function runs tools, not automation",
    ),
    (
        "aegis-cli",
        &["lambda_http", "aegis-oauth", "aegis-automation", "jsonwebtoken"],
        "`aegis` links the core, storage and (for `aegis docs generate`) the tool registry: no server",
    ),
];

#[test]
fn the_crate_graph_keeps_the_layers() {
    let mut broken = Vec::new();
    for (krate, forbidden, why) in LAYERS {
        let deps = linked_packages(krate);
        assert!(deps.contains(*krate), "{krate}: not in its own tree");
        for f in *forbidden {
            if deps.contains(*f) {
                broken.push(format!("{krate} depends on {f}: {why}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// One outbound HTTP stack per deployed function: the AWS SDK goes through reqwest
/// (`aegis-storage`'s `aws/http.rs` over `aegis-http`'s shared TLS configuration), so a
/// bootstrap links neither the SDK's own hyper client nor HTTP/2, and reads the system's
/// root certificates once.
#[test]
fn each_function_links_one_http_stack() {
    let mut broken = Vec::new();
    for krate in [
        "aegis-fn-mcp",
        "aegis-fn-oauth",
        "aegis-fn-webhook",
        "aegis-fn-jobs",
    ] {
        let deps = linked_packages_with(krate, &["aws"]);
        for required in ["aws-sdk-dynamodb", "reqwest", "aegis-http"] {
            assert!(
                deps.contains(required),
                "{krate} --features aws: no {required}"
            );
        }
        for second in ["aws-smithy-http-client", "h2", "hyper-tls", "native-tls"] {
            if deps.contains(second) {
                broken.push(format!("{krate} --features aws links {second}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// HTTP statuses are chosen in one place per error model: `aegis_edge::http` (`ApiError`,
/// `JsonRpcRefusal`) and the OAuth routes' `OAuthError` and pages. Elsewhere code names what
/// happened; reading a status (`== StatusCode::…`) is allowed.
#[test]
fn status_codes_are_chosen_in_one_place() {
    const ALLOWED: &[&str] = &["shared/edge/src/http.rs", "shared/oauth/src/routes/mod.rs"];
    let mut offenders = Vec::new();
    for (path, code) in product_sources() {
        if ALLOWED.iter().any(|a| path == *a) {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            let chosen = line.match_indices("StatusCode::").any(|(at, _)| {
                let before = line[..at].trim_end();
                !(before.ends_with("==") || before.ends_with("!="))
            });
            if chosen {
                offenders.push(format!("{path}: `{}` (code line {})", line.trim(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a status chosen outside the error models:\n{}",
        offenders.join("\n")
    );
    for allowed in ALLOWED {
        assert!(
            root().join(allowed).exists(),
            "{allowed} moved: update the rule"
        );
    }
}
