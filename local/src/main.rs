//! The local shim: every function's router on one port, embedded storage, `axum::serve`.

use aegis_edge::runtime::{self, StartError};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The functions' start-up path: the same configuration errors, printed the same way.
    runtime::exit_code(run().await)
}

async fn run() -> Result<(), StartError> {
    let config = runtime::configure()?;
    let state = aegis_local::AppState::from_config(config.clone()).await?;
    aegis_local::check_gitea(&state).await?;
    // `AUTOMATION_SCHEDULER_ENABLED`: the jobs EventBridge runs on AWS, in process here.
    let _scheduler = aegis_automation::scheduler::spawn(state.automation.clone());
    let router = aegis_local::router(state);
    runtime::serve_local(router, config.bind_addr(), |addr| {
        // The one line scripts and tests wait for.
        println!("aegis-local listening on http://{addr}");
        tracing::info!(%addr, mcp = %format!("http://{addr}/mcp"), "aegis-local listening");
    })
    .await?;
    Ok(())
}
