//! The MCP function's state: the edge, and the tool registry with what a tool call needs
//! (the Gitea client, the policy, the secret scanner, the limits, the permission check).

use std::sync::Arc;

use aegis_core::Config;

use crate::tools::{Limits, ToolRegistry};
use aegis_core::policy::Policy;
use aegis_core::secrets::SecretScanner;
use aegis_edge::{Edge, FunctionState, StateError};
use aegis_gate::RepoPermissions;
use aegis_gitea::GiteaClient;

/// Shared, read-only after start: one reference count to clone into handlers (the
/// protocol layer and the middleware clone it several times per request).
#[derive(Clone)]
pub struct McpState(Arc<McpInner>);

impl std::ops::Deref for McpState {
    type Target = McpInner;

    fn deref(&self) -> &McpInner {
        &self.0
    }
}

/// What [`McpState`] holds.
pub struct McpInner {
    pub edge: Edge,
    pub gitea: GiteaClient,
    pub tools: Arc<ToolRegistry>,
    pub limits: Limits,
    /// The policy of `POLICY_FILE_PATH`, or the spec's defaults
    pub policy: Arc<Policy>,
    /// Applied to every tool result (`SECRET_DETECTION_MODE`)
    pub secrets: Arc<SecretScanner>,
    /// The signed-in user's own permission on a repository (OAuth mode, lockdown)
    pub permissions: RepoPermissions,
}

/// What the MCP function builds from the configuration alone, before its edge opens the
/// audit trail: the registry of every tool, the policy over its catalogue and the secret
/// scanner. A bad policy file refuses to start here, before any audit record is written.
pub struct Tooling {
    tools: ToolRegistry,
    policy: Policy,
    secrets: Arc<SecretScanner>,
}

impl Tooling {
    pub fn from_config(config: &Config) -> Result<Self, StateError> {
        let tools = ToolRegistry::standard();
        let catalogue = crate::tools::catalogue(&tools)?;
        let policy = Policy::configured(config.policy_file_path.as_deref(), catalogue)?;
        Ok(Self {
            tools,
            policy,
            secrets: SecretScanner::shared()?,
        })
    }
}

impl McpState {
    pub fn new(edge: Edge, gitea: GiteaClient, tooling: Tooling) -> Self {
        let config = Arc::clone(&edge.config);
        let permissions = RepoPermissions::new(gitea.clone(), &edge.storage, &config);
        Self(Arc::new(McpInner {
            permissions,
            secrets: tooling.secrets,
            policy: Arc::new(tooling.policy),
            limits: Limits::from(config.as_ref()),
            gitea,
            tools: Arc::new(tooling.tools),
            edge,
        }))
    }
}

impl FunctionState for McpState {
    fn edge(&self) -> &Edge {
        &self.edge
    }
}
