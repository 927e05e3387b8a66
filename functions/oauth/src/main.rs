//! Lambda entry of the oauth function (serves on `MCP_HOST:MCP_PORT` when not on Lambda).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    aegis_shared::runtime::run_function(aegis_fn_oauth::router).await?;
    Ok(())
}
