//! AegisGitea's pure core: everything that decides, names, checks or records without an async
//! runtime or HTTP. `config` (read once, from the environment: the only module that reads
//! it), `paths` (input validation of names, refs and paths), `principal` (who a call acts
//! for), `policy` (which tool may run on which repository and path), `secrets` (secret
//! detection), `hygiene` (untrusted repository text), `envelope` (the JSON-RPC envelope and
//! depth bound), `audit` (records, chains, signed digests and the verifier), `store` (the
//! audit storage ports the verifier reads through), `manifests` (dependency manifest
//! parsers for the hygiene job), `ct` (constant-time comparison).
//!
//! Start here: [`Config::from_env`], then [`policy::Policy`] and [`audit::verify`].

pub mod audit;
pub mod config;
pub mod ct;
pub mod envelope;
pub mod hygiene;
pub mod manifests;
pub mod paths;
pub mod policy;
pub mod principal;
pub mod secrets;
pub mod store;

mod errors;

pub use config::Config;
pub use errors::error_chain;
