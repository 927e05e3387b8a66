//! Serving a router: through `lambda_http` on AWS Lambda, through `axum::serve` elsewhere.
//!
//! Every function's `main` calls `run_function` (state builder, router), so the glue is written once.

use axum::Router;

use crate::FunctionState;
use aegis_core::config::Config;

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
    #[error("could not start the async runtime: {0}")]
    AsyncRuntime(std::io::Error),
}

/// Why a function could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(#[from] aegis_core::config::ConfigError),
    #[error(transparent)]
    State(#[from] crate::StateError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("start-up check failed: {0}")]
    Gitea(#[from] aegis_gitea::StartupCheckError),
    #[error(transparent)]
    Tls(#[from] aegis_http::TlsSetupError),
}

/// `STARTUP_VALIDATE_GITEA=true` (the default): before a process serves anything, Gitea
/// must answer `/version` and accept `GITEA_TOKEN` when one is set (in OAuth mode the OAuth
/// crate checks our OAuth2 client too). Runs once per process (on Lambda: once per
/// instance, in the INIT phase; see docs/troubleshooting.md). The error names the variable
/// to fix.
pub async fn check_gitea_with(
    config: &Config,
    gitea: &aegis_gitea::GiteaClient,
) -> Result<(), aegis_gitea::StartupCheckError> {
    if !config.startup_validate_gitea {
        tracing::info!("gitea not checked at start-up (STARTUP_VALIDATE_GITEA=false)");
        return Ok(());
    }
    let token = config
        .gitea_token
        .clone()
        .map(crate::auth::Credential::Token);
    let found = gitea.check_reachable(token.as_ref()).await?;
    tracing::info!(
        gitea_version = %found.version,
        service_user = found.login.as_deref().unwrap_or("-"),
        "gitea checked at start-up"
    );
    Ok(())
}

/// The whole life of a function binary: read the configuration once, set up logging,
/// build the function's state once with `state` (before the handler loop, so every request
/// on this instance reuses its clients; the builder also runs the start-up checks), then
/// serve `router(state)` with the common edge layers. Every function's `main` is a call to
/// this.
pub async fn run_function<S, B, Fut>(
    state: B,
    router: impl FnOnce(S) -> Router,
) -> Result<(), StartError>
where
    S: FunctionState,
    B: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = Result<S, StartError>>,
{
    let (state, router) = start(state, router).await?;
    serve(router, &state.edge().config).await?;
    Ok(())
}

/// What every function does once per instance before its handler loop: configuration,
/// logging, state, and the router with the common edge layers.
async fn start<S, B, Fut>(
    build: B,
    router: impl FnOnce(S) -> Router,
) -> Result<(S, Router), StartError>
where
    S: FunctionState,
    B: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = Result<S, StartError>>,
{
    let started = std::time::Instant::now();
    let config = configure()?;
    let configured = started.elapsed();
    let state = build(config).await?;
    let with_state = started.elapsed();
    let router = crate::layers::with_edge(router(state.clone()), state.edge());
    // The instance's own start-up cost (Lambda's INIT phase, less the process exec), by step.
    tracing::info!(
        config_us = configured.as_micros() as u64,
        state_us = (with_state - configured).as_micros() as u64,
        router_us = (started.elapsed() - with_state).as_micros() as u64,
        total_us = started.elapsed().as_micros() as u64,
        "instance initialised"
    );
    Ok((state, router))
}

/// Configuration and logging, once per process (every binary that serves calls this):
/// reads and validates the configuration, chooses the TLS roots (`SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, else the system's), sets up the JSON logs, and logs each
/// [`Config::warnings`] as a `WARN` line naming its variable.
pub fn configure() -> Result<Config, StartError> {
    let config = Config::from_env()?;
    // Before any client exists: every outbound connection trusts these roots.
    aegis_http::set_roots(aegis_http::Roots::from_paths(
        config.tls.cert_file.clone(),
        config.tls.cert_dirs.clone(),
    ))?;
    crate::telemetry::init(config.log_level);
    for warning in config.warnings() {
        tracing::warn!(variable = warning.var, "{}", warning.message);
    }
    Ok(config)
}

/// Every function binary's `main`: the tokio runtime for where it runs, `run` on it to the
/// end, and the exit status [`exit_code`] gives.
///
/// Inside AWS Lambda an instance handles one invocation at a time, so the runtime is one
/// thread: each I/O step of a request (the Gitea and AWS calls, the runtime API's
/// long poll) no longer hands off between worker threads (a third of the MCP function's CPU
/// samples were the scheduler's wake-ups; its CPU per request fell by about 17 %,
/// docs/PERFORMANCE.md). Tasks a request spawns (a write finishing on its own task, the
/// audit writer) run while the main task waits, as before. Elsewhere (a function binary
/// serving `MCP_HOST:MCP_PORT` itself) the multi-threaded runtime serves concurrent requests.
pub fn block_on(
    run: impl std::future::Future<Output = Result<(), StartError>>,
) -> std::process::ExitCode {
    exit_code(
        match runtime(aegis_core::config::lambda_runtime_present()) {
            Ok(runtime) => runtime.block_on(run),
            Err(e) => Err(RuntimeError::AsyncRuntime(e).into()),
        },
    )
}

/// The runtime [`block_on`] builds: one thread on Lambda, one worker per core elsewhere.
fn runtime(lambda: bool) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if lambda {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// How a binary ends after `run_function` (or its own start-up) returned: success, or the
/// error's chain printed on stderr as one line (`error: ...`) and exit status 1. Binaries
/// return this from `main` instead of an `Err`, so no `Debug` dump and no backtrace
/// (`RUST_BACKTRACE=1`) follows a configuration error.
pub fn exit_code(result: Result<(), StartError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

pub use aegis_core::error_chain;

/// `run_function` for a function that also receives non-HTTP Lambda events (the jobs
/// function's EventBridge schedule). On Lambda each raw event is looked at once: an HTTP
/// event (API Gateway, function URL, ALB) goes to the router exactly as `run_function`
/// would send it, anything else to `on_event`, whose JSON answer is the invocation result.
/// Locally only the router is served (the shim has its own scheduler loop).
pub async fn run_function_with_events<S, B, BFut, F, Fut>(
    state: B,
    router: impl FnOnce(S) -> Router,
    on_event: F,
) -> Result<(), StartError>
where
    S: FunctionState,
    B: FnOnce(Config) -> BFut,
    BFut: std::future::Future<Output = Result<S, StartError>>,
    F: Fn(S, serde_json::Value) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send + 'static,
{
    let (state, router) = start(state, router).await?;
    let config = std::sync::Arc::clone(&state.edge().config);
    if config.lambda_runtime {
        serve_lambda_with_events(router, state, on_event).await?;
    } else {
        serve(router, &config).await?;
    }
    Ok(())
}

/// Whether a raw Lambda event is an HTTP request (API Gateway v1/v2, function URL, ALB).
pub fn is_http_event(event: &serde_json::Value) -> bool {
    ["requestContext", "httpMethod", "rawPath"]
        .iter()
        .any(|k| event.get(k).is_some())
}

#[cfg(feature = "lambda")]
async fn serve_lambda_with_events<S, F, Fut>(
    router: Router,
    state: S,
    on_event: F,
) -> Result<(), RuntimeError>
where
    S: FunctionState,
    F: Fn(S, serde_json::Value) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send + 'static,
{
    use lambda_http::{lambda_runtime, service_fn, LambdaEvent};

    let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let router = router.clone();
        let state = state.clone();
        let on_event = on_event.clone();
        async move {
            let LambdaEvent { payload, context } = event;
            if is_http_event(&payload) {
                http_event(router, payload, context).await
            } else {
                let answer = on_event(state.clone(), payload).await;
                // An HTTP answer flushes its metrics in the edge layer; an event has none.
                state.edge().metrics.flush_emf();
                answer.map_err(lambda_http::Error::from)
            }
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| RuntimeError::Lambda(e.to_string()))
}

/// The Lambda invocation context (for callers of [`http_event`]).
#[cfg(feature = "lambda")]
pub use lambda_http::Context as LambdaContext;

/// One raw HTTP Lambda event through `router`, with the conversions `lambda_http::run`
/// applies (its own adapter), answered as the raw response event.
#[cfg(feature = "lambda")]
pub async fn http_event(
    router: Router,
    payload: serde_json::Value,
    context: LambdaContext,
) -> Result<serde_json::Value, lambda_http::Error> {
    use lambda_http::{Adapter, LambdaEvent, Service};
    let request: lambda_http::request::LambdaRequest = serde_json::from_value(payload)?;
    let mut adapter: Adapter<'_, _, Router> = Adapter::from(router);
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

#[cfg(not(feature = "lambda"))]
async fn serve_lambda_with_events<S, F>(
    _router: Router,
    _state: S,
    _on_event: F,
) -> Result<(), RuntimeError> {
    Err(RuntimeError::LambdaUnavailable)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One thread inside Lambda (one invocation at a time), worker threads elsewhere; a
    /// task spawned on the Lambda runtime still runs while the main task waits.
    #[test]
    fn lambda_gets_a_single_threaded_runtime() {
        use tokio::runtime::RuntimeFlavor;
        let lambda = runtime(true).unwrap();
        assert_eq!(
            lambda.handle().runtime_flavor(),
            RuntimeFlavor::CurrentThread
        );
        let spawned = lambda.block_on(async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move { tx.send(std::thread::current().id()) });
            rx.await.unwrap()
        });
        assert_eq!(spawned, std::thread::current().id());
        let local = runtime(false).unwrap();
        assert_eq!(local.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    }

    #[derive(Debug, thiserror::Error)]
    enum Inner {
        #[error("invalid policy `p.yaml` at line 4")]
        Policy,
    }

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("policy: {0}")]
        Repeats(#[from] Inner),
        #[error("could not start")]
        Adds(#[source] Inner),
    }

    #[test]
    fn the_chain_prints_each_text_once() {
        let start = StartError::State(crate::StateError::Storage(
            aegis_storage::StorageError::AwsUnavailable,
        ));
        let cases: [(&(dyn std::error::Error + 'static), &str); 3] = [
            (
                &Outer::Repeats(Inner::Policy),
                "policy: invalid policy `p.yaml` at line 4",
            ),
            (
                &Outer::Adds(Inner::Policy),
                "could not start: invalid policy `p.yaml` at line 4",
            ),
            (
                &start,
                "storage: `STORAGE_BACKEND=aws` needs a build with the `aws` feature",
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(error_chain(err), expected);
        }
        let io = std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory");
        let config = StartError::Config(aegis_core::config::ConfigError::DotEnv(io.to_string()));
        assert_eq!(
            error_chain(&config).matches("Is a directory").count(),
            1,
            "{}",
            error_chain(&config)
        );
    }
}
