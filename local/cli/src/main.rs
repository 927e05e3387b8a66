//! `aegis`: the operator's command line (policy dry runs, audit verification, the
//! generated reference pages).

use clap::{Parser, Subcommand};

mod audit_cmd;
mod docs_cmd;
mod policy_cmd;

#[derive(Parser)]
#[command(name = "aegis", version, about = "AegisGitea MCP operator tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Policy files: check a decision before rollout
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Audit chains: verify segments and digests
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Generated reference pages (docs/configuration.md, docs/api-reference.md)
    #[command(subcommand)]
    Docs(docs_cmd::DocsCommand),
}

fn main() -> std::process::ExitCode {
    // `.env` as the gateway reads it (real environment variables win), so `--policy` defaults
    // to its `POLICY_FILE_PATH` and `audit verify` to its `AUDIT_LOG_PATH`.
    if let Err(e) = aegis_core::config::load_dotenv() {
        eprintln!("aegis: {e}");
        return std::process::ExitCode::from(2);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(cmd) => policy_cmd::run(cmd),
        Command::Audit(cmd) => audit_cmd::run(cmd),
        Command::Docs(cmd) => docs_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Each text once: `{e:#}` would repeat a source its error already displays.
            eprintln!("aegis: {}", aegis_core::error_chain(e.as_ref()));
            std::process::ExitCode::from(2)
        }
    }
}
