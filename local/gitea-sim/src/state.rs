//! `SimState`: the shared, cheaply cloned simulator state (world, request log, contract checker).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use serde::{Deserialize, Serialize};

use crate::contract::Contract;
use crate::error::ContractError;
use crate::model::World;
use crate::seed::Seed;

/// One request the simulator served (API and OAuth paths only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, empty when there was none.
    pub query: String,
    /// Login of the authenticated user, `None` for anonymous or rejected requests.
    pub user: Option<String>,
    pub status: u16,
}

struct Inner {
    base_url: String,
    /// The world as seeded, for `reset`.
    seed: World,
    world: RwLock<World>,
    requests: Mutex<Vec<LoggedRequest>>,
    violations: Mutex<Vec<String>>,
}

/// The simulator's state; clones share everything.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
    contract: Option<Arc<Contract>>,
}

impl SimState {
    /// `base_url` is what links point at, e.g. `http://127.0.0.1:3000` (a trailing `/` is dropped).
    pub fn new(seed: Seed, base_url: String) -> SimState {
        SimState {
            inner: Arc::new(Inner {
                base_url: base_url.trim_end_matches('/').to_string(),
                world: RwLock::new(seed.world.clone()),
                seed: seed.world,
                requests: Mutex::new(Vec::new()),
                violations: Mutex::new(Vec::new()),
            }),
            contract: None,
        }
    }

    /// Enables contract mode: every request and JSON response is checked against the swagger file.
    pub fn with_contract(
        mut self,
        swagger_path: impl AsRef<Path>,
    ) -> Result<SimState, ContractError> {
        self.contract = Some(Arc::new(Contract::load(swagger_path.as_ref())?));
        Ok(self)
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Every logged request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.inner.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// Contract violations found so far (always empty without contract mode).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.inner.violations).clone()
    }

    pub fn clear_violations(&self) {
        lock(&self.inner.violations).clear();
    }

    pub(crate) fn world(&self) -> RwLockReadGuard<'_, World> {
        self.inner
            .world
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Restores the seeded world: every write since the start (or the last reset) is undone.
    /// The request log and the violations are kept (they have their own `clear_*`).
    pub fn reset(&self) {
        let mut world = self
            .inner
            .world
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *world = self.inner.seed.clone();
    }

    /// Runs a change against the world (for write endpoints).
    pub(crate) fn update_world<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self
            .inner
            .world
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut world)
    }

    pub(crate) fn contract(&self) -> Option<&Contract> {
        self.contract.as_deref()
    }

    pub(crate) fn log_request(&self, entry: LoggedRequest) {
        lock(&self.inner.requests).push(entry);
    }

    pub(crate) fn add_violations(&self, found: Vec<String>) {
        if !found.is_empty() {
            lock(&self.inner.violations).extend(found);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
