//! `gitea-sim` binary: serves a seed file on a loopback port and prints the URL.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;

/// Serve a simulated Gitea 1.27 REST API from a YAML seed.
#[derive(Parser, Debug)]
#[command(name = "gitea-sim", version)]
struct Args {
    /// Seed file (YAML).
    #[arg(long)]
    seed: PathBuf,
    /// Loopback address to bind (other hosts are refused).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Vendored swagger file: enables contract checking (see GET /_sim/violations).
    #[arg(long)]
    contract: Option<PathBuf>,
    /// OAuth: sign this user in on /login/oauth/authorize without a login form (auto-approve).
    #[arg(long, value_name = "LOGIN")]
    oauth_auto_login: Option<String>,
    /// OAuth: access token lifetime in seconds (Gitea's default is 3600).
    #[arg(long, value_name = "SECONDS")]
    oauth_access_ttl: Option<u64>,
    /// OAuth (simulator-only): loopback redirect URIs of every app match on any port.
    #[arg(long)]
    oauth_redirect_any_loopback: bool,
    /// OAuth: Gitea's INVALIDATE_REFRESH_TOKENS (each refresh token works once).
    #[arg(long)]
    oauth_invalidate_refresh_tokens: bool,
}

fn loopback(host: &str) -> anyhow::Result<IpAddr> {
    let ip: IpAddr = match host {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => other
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .with_context(|| format!("invalid host `{other}`"))?,
    };
    if !ip.is_loopback() {
        bail!("refusing to bind `{host}`: gitea-sim only listens on loopback addresses");
    }
    Ok(ip)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let ip = loopback(&args.host)?;
    let seed = gitea_sim::Seed::load(&args.seed)?;
    let listener = tokio::net::TcpListener::bind((ip, args.port))
        .await
        .with_context(|| format!("cannot bind {ip}:{}", args.port))?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let mut state = gitea_sim::SimState::new(seed.clone(), base_url.clone());
    if let Some(path) = &args.contract {
        state = state.with_contract(path)?;
    }
    if let Some(login) = &args.oauth_auto_login {
        if !seed
            .user_logins()
            .iter()
            .any(|l| l.eq_ignore_ascii_case(login))
        {
            bail!("--oauth-auto-login: no user `{login}` in the seed");
        }
        state.set_auto_login(Some(login));
    }
    if let Some(seconds) = args.oauth_access_ttl {
        state.set_access_token_ttl(std::time::Duration::from_secs(seconds));
    }
    if args.oauth_redirect_any_loopback {
        state.allow_any_loopback_redirect();
    }
    if args.oauth_invalidate_refresh_tokens {
        state.set_invalidate_refresh_tokens(true);
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "gitea-sim listening on {base_url}")?;
    stdout.flush()?;
    axum::serve(listener, gitea_sim::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
