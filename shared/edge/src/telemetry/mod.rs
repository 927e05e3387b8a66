//! Structured JSON logs through `tracing`, at the level `LOG_LEVEL` names, and the spec's
//! structured event helpers (`log_event`, `log_nullable_field`, `sanitize_context`).
//!
//! Every line logged while a request is handled carries that request's span (`request_id`,
//! method, path; `tool` inside a tool call), so one `X-Request-ID` finds all of them.
//!
//! Two maskings apply to logged context and they are kept apart on purpose:
//! [`sanitize_context`] masks values by *key* (`token`, `password`, ...); the secret scanner
//! (`aegis_core::secrets`) masks secret-looking *values* wherever they sit.

mod masking;

use serde_json::{Map, Value};

use aegis_core::config::LogLevel;

/// Installs the global JSON subscriber once; later calls are no-ops (tests call it freely).
/// Every record passes the secret scanner on its way out (`masking`).
pub fn init(level: LogLevel) {
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{},hyper=warn,reqwest=warn,rmcp=warn,h2=warn",
        level.as_filter()
    ));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        // The innermost span's fields (`request_id` first of all) on every line, without
        // repeating the whole span list.
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(writer())
        .try_init();
}

/// stderr behind the secret mask; plain stderr only if the rule table failed to build
/// (a bug a unit test catches), so logging itself never stops a start.
fn writer() -> tracing_subscriber::fmt::writer::BoxMakeWriter {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    match aegis_core::secrets::SecretScanner::shared() {
        Ok(scanner) => {
            BoxMakeWriter::new(masking::MaskingMakeWriter::new(scanner, std::io::stderr))
        }
        Err(_) => BoxMakeWriter::new(std::io::stderr),
    }
}

/// What replaces the value of a sensitive key.
pub const MASK: &str = "***";

/// The masking primitive: a copy of `context` with the value of every sensitive key (at any
/// depth, inside arrays too) replaced by [`MASK`]. Other values are kept as they are.
pub fn sanitize_context(context: &Value) -> Value {
    match context {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if aegis_core::secrets::is_sensitive_key(k) {
                        Value::String(MASK.into())
                    } else {
                        sanitize_context(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(sanitize_context).collect()),
        other => other.clone(),
    }
}

/// Emits a named event with a sanitized `context` object (serialized under the `context`
/// key of the JSON line) at `level`.
pub fn log_event(level: tracing::Level, event: &str, context: &Value) {
    let context = sanitize_context(context);
    match level {
        tracing::Level::ERROR => tracing::error!(event, %context),
        tracing::Level::WARN => tracing::warn!(event, %context),
        tracing::Level::INFO => tracing::info!(event, %context),
        tracing::Level::DEBUG => tracing::debug!(event, %context),
        tracing::Level::TRACE => tracing::trace!(event, %context),
    }
}

/// Records at DEBUG whether a parsed response field is null and its JSON type, never its
/// contents.
pub fn log_nullable_field(event: &str, field: &str, value: &Value) {
    let kind = json_type(value);
    tracing::debug!(event, field, is_null = value.is_null(), kind);
}

/// The JSON type name of a value (`null`, `bool`, `number`, `string`, `array`, `object`).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (context, expected after sanitizing)
    #[test]
    fn sensitive_keys_are_masked_at_any_depth() {
        let cases = [
            (
                json!({"token": "abc", "owner": "acme"}),
                json!({"token": "***", "owner": "acme"}),
            ),
            (
                json!({"Authorization": "Bearer x", "nested": {"client_secret": "s", "n": 1}}),
                json!({"Authorization": "***", "nested": {"client_secret": "***", "n": 1}}),
            ),
            (
                json!({"items": [{"password": "p"}, {"name": "ok"}], "X-Api-Key": "k"}),
                json!({"items": [{"password": "***"}, {"name": "ok"}], "X-Api-Key": "***"}),
            ),
            (
                json!({"access_token": {"value": "deep"}, "cookie": null}),
                json!({"access_token": "***", "cookie": "***"}),
            ),
            (json!("plain string"), json!("plain string")),
            (
                json!({"issue_number": 4, "repo": "app"}),
                json!({"issue_number": 4, "repo": "app"}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize_context(&input), expected, "{input}");
        }
    }

    #[test]
    fn json_types() {
        let cases = [
            (json!(null), "null"),
            (json!(true), "bool"),
            (json!(1.5), "number"),
            (json!("s"), "string"),
            (json!([]), "array"),
            (json!({}), "object"),
        ];
        for (v, t) in cases {
            assert_eq!(json_type(&v), t);
        }
    }
}
