//! Lambda entry of the oauth function.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = aegis_shared::Config::from_env().context("invalid configuration")?;
    aegis_shared::telemetry::init(config.log_level);
    let state = aegis_shared::AppState::from_config(config.clone())?;
    let router = aegis_shared::routes::with_edge(aegis_fn_oauth::router(state.clone()), &state);
    aegis_shared::runtime::serve(router, &config).await?;
    Ok(())
}
