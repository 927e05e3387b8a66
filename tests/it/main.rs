//! The one integration-test binary (one link instead of one per file). Modules:
//!
//! - `support`: routers built from variables, in-process requests
//! - `mcp_protocol`: the transport: versions, discovery, headers, auth, bad input

mod mcp_protocol;
mod support;
