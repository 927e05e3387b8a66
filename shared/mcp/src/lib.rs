//! The MCP capability: the tool registry and its tools (`tools`), the tool-call pipeline
//! behind the gate (`dispatch`), the rmcp protocol handler (`protocol`), resources,
//! completion and prompts over the read tools (`resources`), the generated reference pages
//! (`reference`), and the MCP function's state ([`McpState`]).
//!
//! Start here: [`dispatch::call`], then [`protocol::streamable_service`].

pub mod dispatch;
pub mod protocol;
pub mod reference;
pub mod resources;
pub mod tools;

mod state;

pub use state::{McpInner, McpState, Tooling};
