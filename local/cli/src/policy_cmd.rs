//! `aegis policy ...` (the policy issue fills this in).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the decision for one tool call under a policy file
    Check,
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        PolicyCommand::Check => anyhow::bail!("policy check is not implemented yet"),
    }
}
