//! gitea-sim: a Gitea 1.27 REST API v1 simulator served from a YAML seed, for tests and `make dev`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let seed = gitea_sim::Seed::load("local/gitea-sim/seed/demo.yaml")?;
//! let sim = gitea_sim::spawn(seed).await?;
//! println!("{}", sim.base_url); // http://127.0.0.1:<port>
//! # Ok(()) }
//! ```
//!
//! In-process use: `gitea_sim::app(SimState::new(seed, base_url))` is a plain `axum::Router`.
//! Besides the REST API (reads and writes) it serves Gitea's OAuth2/OIDC provider endpoints.

#![recursion_limit = "256"]

mod auth;
pub mod contract;
mod error;
mod model;
mod oauth;
mod pagination;
mod render;
mod routes;
mod seed;
mod state;

use std::path::Path;

pub use error::{ApiError, ContractError, SeedError};
pub use routes::app;
pub use seed::Seed;
pub use state::{LoggedRequest, SimState};

/// A simulator serving on a loopback port in a background tokio task.
pub struct RunningSim {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    pub state: SimState,
}

/// Binds `127.0.0.1:0` and serves the seed in a tokio task (which lives as long as the runtime).
pub async fn spawn(seed: Seed) -> anyhow::Result<RunningSim> {
    spawn_inner(seed, None).await
}

/// Like [`spawn`], with contract mode enabled from the given swagger file.
pub async fn spawn_with_contract(
    seed: Seed,
    swagger_path: impl AsRef<Path>,
) -> anyhow::Result<RunningSim> {
    spawn_inner(seed, Some(swagger_path.as_ref())).await
}

async fn spawn_inner(seed: Seed, contract: Option<&Path>) -> anyhow::Result<RunningSim> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let mut state = SimState::new(seed, base_url.clone());
    if let Some(path) = contract {
        state = state.with_contract(path)?;
    }
    let router = app(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "gitea-sim server stopped");
        }
    });
    Ok(RunningSim { base_url, state })
}
