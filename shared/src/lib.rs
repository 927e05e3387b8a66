//! AegisGitea MCP's shared library: everything the Lambda functions and the local shim share.
//!
//! Module map: `config` (read once), `auth` (who is calling), `gitea` (the REST client),
//! `storage` (capability traits and adapters), `tools` (the registry and tools), `paths`
//! (input validation), `policy` (which tool may run on which repository and path), `mcp`
//! (the MCP protocol handler), `http` (the edge: errors, request ids, Host/Origin),
//! `routes` (the MCP function's router), `state` (what handlers share), `telemetry`
//! (logging), `runtime` (Lambda or local serving), `secrets` (secret detection: mask or
//! block credentials in text, JSON, logs and audit records), `automation` (jobs, their
//! gate and signed webhook ingestion), `envelope` (the JSON-RPC envelope and JSON depth
//! bound), `hygiene` (untrusted repository text: invisible characters, bounds, delimiting,
//! lockdown), `ratelimit` (client IPs and the rate limits), `metrics` (Prometheus and EMF),
//! `reference` (the generated configuration and API reference pages), `resources` (MCP
//! resources, completion and prompts over the read tools).

pub mod auth;
pub mod automation;
pub mod dispatch;
pub mod edge;
pub mod http;
pub mod mcp;
pub mod mcp_state;
pub mod metrics;
pub mod oauth;
pub mod ratelimit;
pub mod reference;
pub mod resources;
pub mod routes;
pub mod runtime;
pub mod state;
pub mod telemetry;
pub mod tools;

pub use aegis_core::{
    config, ct, envelope, error_chain, hygiene, paths, policy, principal, secrets, store, Config,
};
pub use aegis_gate as gate;
pub use aegis_gitea as gitea;
pub use aegis_storage::{self as storage, audit_log};

/// The audit trail: records, chains, digests and the verifier from the core, and the writer.
pub mod audit {
    pub use crate::audit_log::{
        AuditLogger, AuditLoggerOptions, AuditObserver, AuditTarget, AuditTicket, RecordRef,
    };
    pub use aegis_core::audit::*;
}
pub use state::AppState;
