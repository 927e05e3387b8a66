//! `aegis audit ...` (the audit issue fills this in).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify audit segments and digests
    Verify,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        AuditCommand::Verify => anyhow::bail!("audit verify is not implemented yet"),
    }
}
