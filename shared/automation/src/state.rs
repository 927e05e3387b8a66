//! The automation functions' state (webhook and jobs): the edge, the Gitea client, the
//! policy over the spec's tool catalogue and the permission check of the gate.

use std::sync::Arc;

use aegis_core::Config;

use aegis_core::policy::{Policy, ToolCatalogue};
use aegis_edge::{Edge, FunctionState, StateError};
use aegis_gate::RepoPermissions;
use aegis_gitea::GiteaClient;

/// Shared, read-only after start.
#[derive(Clone)]
pub struct AutomationState(Arc<AutomationInner>);

impl std::ops::Deref for AutomationState {
    type Target = AutomationInner;

    fn deref(&self) -> &AutomationInner {
        &self.0
    }
}

/// What [`AutomationState`] holds.
pub struct AutomationInner {
    pub edge: Edge,
    pub gitea: GiteaClient,
    /// The policy of `POLICY_FILE_PATH` over the spec's catalogue (ADR 0009, D10)
    pub policy: Arc<Policy>,
    pub permissions: RepoPermissions,
}

impl AutomationState {
    /// The policy of `POLICY_FILE_PATH` over the spec's catalogue, read before the edge opens
    /// the audit trail (a bad policy file refuses to start before any record is written).
    pub fn policy(config: &Config) -> Result<Policy, StateError> {
        Ok(Policy::configured(
            config.policy_file_path.as_deref(),
            ToolCatalogue::spec(),
        )?)
    }

    pub fn new(edge: Edge, gitea: GiteaClient, policy: Policy) -> Self {
        let permissions = RepoPermissions::new(gitea.clone(), &edge.storage, &edge.config);
        Self(Arc::new(AutomationInner {
            permissions,
            policy: Arc::new(policy),
            gitea,
            edge,
        }))
    }
}

impl FunctionState for AutomationState {
    fn edge(&self) -> &Edge {
        &self.edge
    }
}
