//! Lambda entry of the MCP function (serves locally too when not on Lambda).

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = aegis_shared::Config::from_env().context("invalid configuration")?;
    aegis_shared::telemetry::init(config.log_level);
    let state = aegis_shared::AppState::from_config(config.clone())?;
    aegis_shared::runtime::serve(aegis_fn_mcp::router(state), &config).await?;
    Ok(())
}
