//! Structured JSON logs through `tracing`, at the level `LOG_LEVEL` names.

use crate::config::LogLevel;

/// Installs the global JSON subscriber once; later calls are no-ops (tests call it freely).
pub fn init(level: LogLevel) {
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{},hyper=warn,reqwest=warn,rmcp=warn,h2=warn",
        level.as_filter()
    ));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
