//! The HTTP edge every function shares: errors and request ids (`http`), the Host/Origin
//! guard, body limit, timeout and panic guard, rate limits (`ratelimit`), metrics
//! (`metrics`), authentication (`auth`: API keys, the service token, and the seam the OAuth
//! crate's authenticator fits), the layers around every router (`layers`), JSON logs with
//! secret masking (`telemetry`), and serving on Lambda or locally (`runtime`). [`Edge`] is
//! the state every function holds.
//!
//! Start here: [`runtime::run_function`], then [`layers::with_edge`].

pub mod auth;
pub mod http;
pub mod layers;
pub mod metrics;
pub mod ratelimit;
pub mod refusals;
pub mod runtime;
pub mod telemetry;

mod state;

pub use state::{key_authenticator, open, Edge, EdgeInner, FunctionState, Opened, StateError};
