//! Serving a router: through `lambda_http` on AWS Lambda, through `axum::serve` elsewhere.
//!
//! Every function's `main` calls `serve`, so the glue is written once.

use axum::Router;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("could not bind `{addr}`: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("lambda runtime failed: {0}")]
    Lambda(String),
    #[error("running inside AWS Lambda needs a build with the `lambda` feature")]
    LambdaUnavailable,
}

/// Why a function could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The whole life of a function binary: read the configuration once, set up logging,
/// build the shared state once (before the handler loop, so every request on this
/// instance reuses its clients), then serve `build(state)` with the common edge layers.
/// Every function's `main` is a call to this.
pub async fn run_function(build: impl FnOnce(crate::AppState) -> Router) -> Result<(), StartError> {
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_level);
    let state = crate::AppState::from_config(config.clone()).await?;
    let router = crate::routes::with_edge(build(state.clone()), &state);
    serve(router, &config).await?;
    Ok(())
}

/// Serves `router` on Lambda when `AWS_LAMBDA_RUNTIME_API` is set, else on `MCP_HOST:MCP_PORT`.
pub async fn serve(router: Router, config: &Config) -> Result<(), RuntimeError> {
    if config.lambda_runtime {
        return serve_lambda(router).await;
    }
    serve_local(router, config.bind_addr(), |addr| {
        tracing::info!(%addr, "listening");
    })
    .await
}

/// Binds `addr` (port 0 picks one), reports the bound address, serves until ctrl-c.
pub async fn serve_local(
    router: Router,
    addr: std::net::SocketAddr,
    on_bound: impl FnOnce(std::net::SocketAddr),
) -> Result<(), RuntimeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(RuntimeError::Serve)?;
    on_bound(bound);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(RuntimeError::Serve)
}

#[cfg(feature = "lambda")]
async fn serve_lambda(router: Router) -> Result<(), RuntimeError> {
    lambda_http::run(router)
        .await
        .map_err(|e| RuntimeError::Lambda(e.to_string()))
}

#[cfg(not(feature = "lambda"))]
async fn serve_lambda(_router: Router) -> Result<(), RuntimeError> {
    Err(RuntimeError::LambdaUnavailable)
}
