//! `aegis policy ...`: dry-run a policy decision, validate a policy file, list the tools.
//!
//! Exit codes (for scripts and CI): `check` exits 0 when the call would be allowed, 1 when
//! denied, 2 when the policy file (or an argument) is bad; `validate` exits 0 or 2.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aegis_core::config::RepoName;
use aegis_core::policy::{Policy, PolicyRequest, ToolCatalogue, ToolClass, ToolFacts};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the decision for one tool call under a policy file
    Check(CheckArgs),
    /// Load a policy file and report errors (with their line) and warnings
    Validate(PolicyFileArg),
    /// List the tools a policy may name, with their class
    Tools,
}

#[derive(Args)]
pub struct PolicyFileArg {
    /// The policy file (YAML)
    #[arg(long, env = "POLICY_FILE_PATH", value_name = "FILE")]
    policy: PathBuf,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    file: PolicyFileArg,
    /// The tool to ask about, e.g. `create_issue`
    #[arg(long)]
    tool: String,
    /// The target repository, `owner/repo`
    #[arg(long)]
    repo: Option<String>,
    /// A repository path, as a client would send it (normalised like a real call)
    #[arg(long)]
    path: Option<String>,
    /// Print the decision as JSON
    #[arg(long)]
    json: bool,
}

/// What a subcommand prints and how it exits; kept apart from printing for the tests.
#[derive(Debug, Default)]
struct Report {
    code: u8,
    stdout: String,
    stderr: String,
}

const ALLOWED: u8 = 0;
const DENIED: u8 = 1;
const BAD_INPUT: u8 = 2;

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    // The spec's tool list, which is the gateway's catalogue: its registry declares exactly
    // these tools (`aegis_mcp::tools` tests keep the two equal), and the CLI need not
    // link the tools to know their names.
    let catalogue = ToolCatalogue::spec();
    let report = match cmd {
        PolicyCommand::Check(args) => check(&args, catalogue),
        PolicyCommand::Validate(args) => validate(&args.policy, catalogue),
        PolicyCommand::Tools => tools(&catalogue),
    };
    print!("{}", report.stdout);
    eprint!("{}", report.stderr);
    Ok(ExitCode::from(report.code))
}

fn load(path: &Path, catalogue: ToolCatalogue) -> Result<Policy, Report> {
    Policy::load_with(path, catalogue).map_err(|e| Report {
        code: BAD_INPUT,
        stderr: format!("aegis: {e}\n"),
        ..Report::default()
    })
}

fn check(args: &CheckArgs, catalogue: ToolCatalogue) -> Report {
    let policy = match load(&args.file.policy, catalogue) {
        Ok(policy) => policy,
        Err(report) => return report,
    };
    let repo = match args.repo.as_deref().map(RepoName::parse).transpose() {
        Ok(repo) => repo,
        Err(e) => {
            return Report {
                code: BAD_INPUT,
                stderr: format!("aegis: --repo: {e}\n"),
                ..Report::default()
            }
        }
    };
    // The CLI asks as the gateway would: with the class the catalogue gives the tool.
    let facts = policy.catalogue().facts(&args.tool).copied();
    let class = facts.map(|f| f.class);
    let request = PolicyRequest {
        tool: &args.tool,
        kind: class.unwrap_or(ToolClass::Read),
        repo: repo.as_ref(),
        path: args.path.as_deref(),
    };
    let decision = policy.authorize(&request);

    let mut notes = Vec::new();
    if decision.allowed && class == Some(ToolClass::Write) {
        notes.push(
            "write tools also need WRITE_MODE=true and the repository in \
             WRITE_REPOSITORY_WHITELIST (or WRITE_ALLOW_ALL_TOKEN_REPOS=true)"
                .to_string(),
        );
    }
    if args.path.is_none() && facts.as_ref().is_some_and(ToolFacts::takes_path) {
        notes.push(format!(
            "`{}` takes a path; pass --path to check the path rules too",
            args.tool
        ));
    }
    if args.repo.is_none() && class.is_some() {
        notes.push("no --repo given: repository rules were not consulted".to_string());
    }
    if facts.is_some_and(|f| f.lists_paths) {
        notes.push(format!(
            "`{}` returns paths; each one it lists is checked against the path rules too",
            args.tool
        ));
    }

    let code = if decision.allowed { ALLOWED } else { DENIED };
    let stdout = if args.json {
        let value = serde_json::json!({
            "allowed": decision.allowed,
            "tool": args.tool,
            "class": class.map(ToolClass::as_str),
            "repo": args.repo,
            "path": args.path,
            "reasons": decision.reasons,
            "notes": notes,
        });
        format!("{value:#}\n")
    } else {
        let mut out = String::new();
        let verdict = if decision.allowed { "allow" } else { "deny" };
        let _ = write!(out, "{verdict}: `{}`", args.tool);
        if let Some(repo) = &args.repo {
            let _ = write!(out, " on `{repo}`");
        }
        if let Some(path) = &args.path {
            let _ = write!(out, " at `{}`", path.escape_default());
        }
        out.push('\n');
        for reason in &decision.reasons {
            let _ = writeln!(out, "  because {reason}");
        }
        for note in &notes {
            let _ = writeln!(out, "  note: {note}");
        }
        out
    };
    Report {
        code,
        stdout,
        stderr: String::new(),
    }
}

fn validate(path: &Path, catalogue: ToolCatalogue) -> Report {
    let policy = match load(path, catalogue) {
        Ok(policy) => policy,
        Err(report) => return report,
    };
    let (read, write) = policy.defaults();
    let mut stdout = format!(
        "ok: `{}` is a valid policy (defaults: read {read}, write {write})\n",
        path.display()
    );
    for warning in policy.warnings() {
        let _ = writeln!(stdout, "  warning: {warning}");
    }
    Report {
        code: ALLOWED,
        stdout,
        stderr: String::new(),
    }
}

fn tools(catalogue: &ToolCatalogue) -> Report {
    let mut stdout = String::new();
    for class in [ToolClass::Read, ToolClass::Write, ToolClass::Automation] {
        let _ = writeln!(stdout, "{class}:");
        for (name, _) in catalogue.iter().filter(|(_, c)| *c == class) {
            let _ = writeln!(stdout, "  {name}");
        }
    }
    Report {
        code: ALLOWED,
        stdout,
        stderr: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../policies")
            .join(name)
    }

    fn check_args(
        policy: PathBuf,
        tool: &str,
        repo: Option<&str>,
        path: Option<&str>,
    ) -> CheckArgs {
        CheckArgs {
            file: PolicyFileArg { policy },
            tool: tool.into(),
            repo: repo.map(str::to_string),
            path: path.map(str::to_string),
            json: false,
        }
    }

    fn catalogue() -> ToolCatalogue {
        ToolCatalogue::spec()
    }

    /// (policy file, tool, repo, path) -> (exit code, fragment of stdout or stderr)
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        u8,
        &'static str,
    );

    const CASES: &[Row] = &[
        (
            "default.yaml",
            "get_issue",
            Some("acme/app"),
            None,
            0,
            "allow: `get_issue` on `acme/app`",
        ),
        (
            "default.yaml",
            "create_issue",
            Some("acme/app"),
            None,
            1,
            "because defaults.write is deny",
        ),
        (
            "default.yaml",
            "frobnicate",
            Some("acme/app"),
            None,
            1,
            "not in the tool catalogue",
        ),
        (
            "default.yaml",
            "get_file_contents",
            Some("acme/app"),
            None,
            0,
            "pass --path",
        ),
        (
            "default.yaml",
            "get_file_contents",
            Some("acme/app"),
            Some("%2e%2e/x"),
            1,
            "cannot be normalised",
        ),
        (
            "default.yaml",
            "get_issue",
            Some("not-a-repo"),
            None,
            2,
            "--repo",
        ),
        (
            "write-one-repo.yaml",
            "create_issue",
            Some("ACME/app"),
            None,
            0,
            "WRITE_MODE=true",
        ),
        (
            "write-one-repo.yaml",
            "create_issue",
            Some("acme/app-evil"),
            None,
            1,
            "defaults.write is deny",
        ),
        (
            "write-one-repo.yaml",
            "get_file_contents",
            Some("acme/app"),
            Some("deploy/Secrets/db"),
            1,
            "`deploy/secrets` matched `deploy/Secrets`",
        ),
        (
            "automation.yaml",
            "automation_webhook",
            Some("acme/app"),
            None,
            0,
            "names `automation_webhook`",
        ),
        (
            "automation.yaml",
            "automation_webhook",
            Some("acme/handbook"),
            None,
            1,
            "does not name `automation_webhook`",
        ),
        (
            "read-only-strict.yaml",
            "list_releases",
            Some("acme/app"),
            None,
            1,
            "defaults.read is deny",
        ),
        (
            "read-only-strict.yaml",
            "get_file_contents",
            Some("acme/app"),
            Some("src/.env"),
            1,
            "`**/.env` matched `src/.env`",
        ),
        (
            "absent.yaml",
            "get_issue",
            None,
            None,
            2,
            "cannot read policy file",
        ),
    ];

    #[test]
    fn check_prints_the_decision_and_exits_by_it() {
        for (file, tool, repo, path, code, fragment) in CASES {
            let report = check(&check_args(example(file), tool, *repo, *path), catalogue());
            let text = format!("{}{}", report.stdout, report.stderr);
            assert_eq!(
                report.code, *code,
                "{file} {tool} {repo:?} {path:?}: {text}"
            );
            assert!(text.contains(fragment), "{file} {tool}: {text}");
        }
    }

    #[test]
    fn a_bad_policy_file_exits_2_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "defaults:\n  read: allow\ntools:\n  deny: [creat_issue]\n",
        )
        .unwrap();
        let report = check(
            &check_args(bad.clone(), "get_issue", None, None),
            catalogue(),
        );
        assert_eq!(report.code, 2);
        assert!(report.stderr.contains("line 4"), "{}", report.stderr);
        assert!(
            report.stderr.contains("did you mean `create_issue`"),
            "{}",
            report.stderr
        );
        let report = validate(&bad, catalogue());
        assert_eq!(report.code, 2);
        assert!(report.stderr.contains("bad.yaml"), "{}", report.stderr);
    }

    #[test]
    fn validate_reports_warnings_but_passes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, "tools:\n  allow: [get_issue]\n  deny: [get_issue]\n").unwrap();
        let report = validate(&file, catalogue());
        assert_eq!(report.code, 0);
        assert!(
            report
                .stdout
                .contains("warning: tools.allow names `get_issue`"),
            "{}",
            report.stdout
        );
        let report = validate(&example("default.yaml"), catalogue());
        assert_eq!(report.code, 0);
        assert!(!report.stdout.contains("warning"), "{}", report.stdout);
    }

    #[test]
    fn json_output_is_machine_readable() {
        let mut args = check_args(
            example("default.yaml"),
            "create_issue",
            Some("acme/app"),
            None,
        );
        args.json = true;
        let report = check(&args, catalogue());
        let value: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
        assert_eq!(value["allowed"], false);
        assert_eq!(value["class"], "write");
        assert!(value["reasons"][0]
            .as_str()
            .unwrap()
            .contains("defaults.write"));
    }

    #[test]
    fn tools_lists_the_whole_catalogue() {
        let report = tools(&catalogue());
        for name in [
            "get_file_contents",
            "create_milestone",
            "automation_webhook",
        ] {
            assert!(report.stdout.contains(&format!("  {name}\n")), "{name}");
        }
    }
}
