//! `aegis docs generate`: writes (or, with `--check`, compares) the generated reference
//! pages of `aegis_mcp::reference`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum DocsCommand {
    /// Regenerate docs/configuration.md and docs/api-reference.md from the code
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The repository root the pages are written under
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Write nothing; exit 1 when a committed page differs from the generated one
    #[arg(long)]
    check: bool,
}

pub fn run(cmd: DocsCommand) -> anyhow::Result<ExitCode> {
    let DocsCommand::Generate(args) = cmd;
    let mut stale = Vec::new();
    for (path, contents) in aegis_mcp::reference::generated_pages() {
        let file = args.root.join(path);
        let current = std::fs::read_to_string(&file).unwrap_or_default();
        if current == contents {
            continue;
        }
        if args.check {
            stale.push(path);
        } else {
            std::fs::write(&file, contents)
                .with_context(|| format!("writing `{}`", file.display()))?;
            println!("wrote {path}");
        }
    }
    if stale.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for path in stale {
        eprintln!("{path} is out of date: run `make docs`");
    }
    Ok(ExitCode::from(1))
}
