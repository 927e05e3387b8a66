//! Rendering errors for people: pure, shared by the functions' start-up and the CLI.

/// An error and its causes on one line, `outer: cause: root`, each text once. An error whose
/// message already includes its source's (thiserror's `#[error("policy: {0}")]` over a
/// `#[from]` field) would otherwise print that text twice, once as the message and once as
/// the cause: a cause whose text the line already holds is left out.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}
