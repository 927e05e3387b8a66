//! `SimState`: the shared, cheaply cloned simulator state (world, request log, contract checker).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use serde::{Deserialize, Serialize};

use crate::contract::Contract;
use crate::error::ContractError;
use crate::model::World;
use crate::oauth::OAuthState;
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
    oauth: Mutex<OAuthState>,
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
                oauth: Mutex::new(OAuthState::new(&seed.oauth)),
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
        drop(world);
        self.oauth().reset();
    }

    /// Signs `login` in for every `/login/oauth/authorize` request without a session, so the
    /// authorization code flow needs no browser (`--oauth-auto-login`).
    pub fn with_auto_login(self, login: &str) -> SimState {
        self.set_auto_login(Some(login));
        self
    }

    /// Changes (or, with `None`, ends) the auto-login of [`SimState::with_auto_login`].
    pub fn set_auto_login(&self, login: Option<&str>) {
        self.oauth().auto_login = login.map(str::to_string);
    }

    /// Lifetime of OAuth access tokens issued from now on (Gitea: 3600 s); `expires_in` follows.
    pub fn set_access_token_ttl(&self, ttl: std::time::Duration) {
        self.oauth().settings.access_token_ttl =
            time::Duration::try_from(ttl).unwrap_or(time::Duration::HOUR);
    }

    /// `INVALIDATE_REFRESH_TOKENS`: each refresh token works once (rotation enforced).
    pub fn set_invalidate_refresh_tokens(&self, on: bool) {
        self.oauth().settings.invalidate_refresh_tokens = on;
    }

    /// Moves the OAuth clock forward: codes and tokens expire as if this much time had passed.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let mut oauth = self.oauth();
        oauth.clock_offset += time::Duration::try_from(by).unwrap_or(time::Duration::ZERO);
    }

    /// Simulator-only: every OAuth app accepts its loopback redirect URIs on any port.
    pub fn allow_any_loopback_redirect(&self) {
        for app in &mut self.oauth().apps {
            app.allow_any_loopback_port = true;
        }
    }

    /// Registers one more redirect URI for an OAuth app; false when the client id is unknown.
    pub fn add_oauth_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        let mut oauth = self.oauth();
        match oauth.apps.iter_mut().find(|a| a.client_id == client_id) {
            Some(app) => {
                app.redirect_uris.push(uri.to_string());
                true
            }
            None => false,
        }
    }

    /// Registers an OAuth app at run time (tests); its id follows the seeded ones.
    pub fn add_oauth_app(
        &self,
        name: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[&str],
        confidential: bool,
    ) {
        let mut oauth = self.oauth();
        let id = oauth.apps.iter().map(|a| a.id).max().unwrap_or(0) + 1;
        oauth.apps.push(crate::oauth::OAuthApp {
            id,
            name: name.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
            confidential,
            allow_any_loopback_port: false,
        });
    }

    /// The OAuth provider state. Lock order: the world first, then this.
    pub(crate) fn oauth(&self) -> std::sync::MutexGuard<'_, OAuthState> {
        lock(&self.inner.oauth)
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
