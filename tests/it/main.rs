//! The one integration-test binary (one link instead of one per file). Modules:
//!
//! - `support`: routers built from variables, in-process requests
//! - `aws` (feature `aws`): the DynamoDB and S3 adapters against moto, the shim on them
//! - `automation`: signed webhooks, the jobs on the simulator's `lab/*` repositories, refusals
//! - `audit_trail`: calls and denials recorded, the trail verifies, 503 when it cannot
//! - `decoding`: every field of every Gitea response and webhook payload null or absent
//!   (the swagger-driven mutation test), wrong shapes named by field path
//! - `invariants`: architecture rules checked on the source (who reads the environment,
//!   where AWS SDK types live, who calls a tool, what the pure modules may import)
//! - `hostile`: hostile input across rate limits, secrets, hygiene, lockdown, transport,
//!   forged credentials, path traversal, option-like refs, registration caps, the token
//!   endpoint and the consent cookie (60+ named cases)
//! - `mcp_protocol`: the transport: versions, discovery, headers, auth, bad input
//! - `oauth`: OAuth mode refusals: tokens, codes, PKCE, redirect URIs, consent, state, DCR
//! - `oauth_compat`: Gitea-issued tokens only in compatibility mode
//! - `observability`: `/metrics` parsed and moving, its guard, request ids end to end
//! - `policy_gate`: policy denials (403, nothing reaches Gitea) and path filtering
//! - `resources`: resources, completion and prompts through the tool pipeline: denied
//!   paths, audit records, masking, bounded completions, cursors
//! - `reference_docs`: the generated pages are current; every listed endpoint is served
//! - `sim`: a contract-mode simulator per test
//! - `write_tools`: write mode, whitelist and policy on writes; state changes
//! - `tools`: every read tool against the simulator's demo data
//! - `upstream`: the start-up check of Gitea and the diagnostics of failing Gitea calls

mod audit_trail;
mod automation;
#[cfg(feature = "aws")]
mod aws;
mod decoding;
mod hostile;
mod invariants;
mod mcp_protocol;
mod oauth;
mod oauth_compat;
mod observability;
mod policy_gate;
mod reference_docs;
mod resources;
mod sim;
mod support;
mod tools;
mod upstream;
mod write_tools;
