//! Structured JSON logs through `tracing`, at the level `LOG_LEVEL` names.

use crate::config::LogLevel;

/// Installs the global JSON subscriber once; later calls are no-ops (tests call it freely).
/// Every record passes the secret scanner on its way out (`secrets::logs`).
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
        .with_writer(writer())
        .try_init();
}

/// stderr behind the secret mask; plain stderr only if the rule table failed to build
/// (a bug a unit test catches), so logging itself never stops a start.
fn writer() -> tracing_subscriber::fmt::writer::BoxMakeWriter {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    match crate::secrets::SecretScanner::new() {
        Ok(scanner) => BoxMakeWriter::new(crate::secrets::logs::MaskingMakeWriter::new(
            std::sync::Arc::new(scanner),
            std::io::stderr,
        )),
        Err(_) => BoxMakeWriter::new(std::io::stderr),
    }
}
