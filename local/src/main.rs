//! The local shim: every function's router on one port, embedded storage, `axum::serve`.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = aegis_shared::Config::from_env().context("invalid configuration")?;
    aegis_shared::telemetry::init(config.log_level);
    let state = aegis_shared::AppState::from_config(config.clone()).await?;
    aegis_shared::runtime::check_gitea(&state)
        .await
        .context("refusing to start")?;
    // `AUTOMATION_SCHEDULER_ENABLED`: the jobs EventBridge runs on AWS, in process here.
    let _scheduler = aegis_shared::automation::scheduler::spawn(state.clone());
    let router = aegis_local::router(state);
    aegis_shared::runtime::serve_local(router, config.bind_addr(), |addr| {
        // The one line scripts and tests wait for.
        println!("aegis-local listening on http://{addr}");
        tracing::info!(%addr, mcp = %format!("http://{addr}/mcp"), "aegis-local listening");
    })
    .await?;
    Ok(())
}
