//! Integration tests of the Gitea simulator (one binary, modules below).
//!
//! - `support`: in-process harness (demo seed, contract mode, `oneshot` requests)
//! - `contract_walk`: every endpoint with the demo seed, zero contract violations
//! - `contract_checker`: the checker itself catches wrong bodies and unknown parameters
//! - `behaviour`: auth, visibility, errors, pagination headers, refs, contents, request log
//! - `oauth`: the OAuth2 provider (authorize, token, refresh, JWTs, userinfo, introspection, API access)
//! - `serve`: `spawn` and the `gitea-sim` binary over real sockets
//! - `writes`: the write endpoints, a table per endpoint, in contract mode

mod behaviour;
mod contract_checker;
mod contract_walk;
mod oauth;
mod serve;
mod support;
mod writes;
