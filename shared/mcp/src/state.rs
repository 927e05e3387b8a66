//! The MCP function's state: the edge, and the tool registry with what a tool call needs
//! (the Gitea client, the policy, the secret scanner, the limits, the permission check).

use std::sync::Arc;

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

impl McpState {
    /// The registry of every tool, the policy over its catalogue, and the scanner.
    pub fn new(edge: Edge, gitea: GiteaClient) -> Result<Self, StateError> {
        let config = Arc::clone(&edge.config);
        let tools = ToolRegistry::standard();
        let catalogue = crate::tools::catalogue(&tools)?;
        let policy = Policy::configured(config.policy_file_path.as_deref(), catalogue)?;
        let permissions = RepoPermissions::new(gitea.clone(), &edge.storage, &config);
        Ok(Self(Arc::new(McpInner {
            permissions,
            secrets: SecretScanner::shared()?,
            policy: Arc::new(policy),
            limits: Limits::from(config.as_ref()),
            gitea,
            tools: Arc::new(tools),
            edge,
        })))
    }
}

impl FunctionState for McpState {
    fn edge(&self) -> &Edge {
        &self.edge
    }
}
