//! The JSON-RPC envelope check `/mcp` runs before the protocol layer, and the JSON nesting
//! bound every JSON body passes before `serde_json` builds a value from it.
//!
//! Pure functions over bytes: the fuzz target `jsonrpc_envelope` drives them directly.

use serde_json::Value;

/// Deepest array/object nesting accepted in a request body. Real MCP messages nest a
/// handful of levels; `serde_json` itself stops at 128, so this bound keeps every later
/// recursive walk (policy, secret scanner, rmcp's own re-parse) far from the stack limit.
pub const MAX_JSON_DEPTH: usize = 64;

/// JSON-RPC 2.0 error codes used by the envelope check.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

/// Why a body is not one acceptable JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EnvelopeError {
    /// The JSON-RPC error code (`-32700` or `-32600`)
    pub code: i64,
    pub message: String,
}

impl EnvelopeError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_REQUEST,
            message: message.into(),
        }
    }
}

/// One JSON-RPC message that passed the envelope check.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The whole message (a JSON object with `"jsonrpc": "2.0"`)
    pub message: serde_json::Map<String, Value>,
}

impl Envelope {
    pub fn id(&self) -> Value {
        self.message.get("id").cloned().unwrap_or(Value::Null)
    }
    pub fn method(&self) -> Option<&str> {
        self.message.get("method").and_then(Value::as_str)
    }
    /// The tool a `tools/call` names.
    pub fn tool(&self) -> Option<&str> {
        if self.method() != Some("tools/call") {
            return None;
        }
        self.message.get("params")?.get("name")?.as_str()
    }
    /// The `arguments` object of a `tools/call`.
    pub fn arguments(&self) -> Option<&serde_json::Map<String, Value>> {
        self.message
            .get("params")?
            .get("arguments")
            .and_then(Value::as_object)
    }
}

/// The deepest array/object nesting in `bytes` exceeds `max`: counted on the raw bytes
/// (strings skipped), so a hostile body is refused before anything recursive runs.
pub fn exceeds_depth(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a JSON body after the depth check; the error says which bound or syntax failed.
pub fn parse_bounded(bytes: &[u8]) -> Result<Value, EnvelopeError> {
    if exceeds_depth(bytes, MAX_JSON_DEPTH) {
        return Err(EnvelopeError::invalid(format!(
            "invalid request: JSON nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| EnvelopeError {
        code: PARSE_ERROR,
        message: format!("parse error: {e}"),
    })
}

/// What a JSON-RPC message is, by its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `method` and `id`: answered with a result or an error
    Request,
    /// `method` without `id`: answered `202 Accepted`, no body
    Notification,
    /// `result` or `error` with `id`: a client's answer to a server request
    Response,
}

/// The message's shape as JSON-RPC 2.0 and MCP define it: a request's `id` is a string
/// or an integer (MCP forbids `null`), `method` is a string, `params` an object.
pub fn message_kind(envelope: &Envelope) -> Result<MessageKind, EnvelopeError> {
    let message = &envelope.message;
    let id = message.get("id");
    if let Some(id) = id {
        let valid = id.is_string() || id.as_i64().is_some() || id.as_u64().is_some();
        if !valid {
            return Err(EnvelopeError::invalid(format!(
                "invalid request: `id` must be a string or an integer, not {}",
                json_kind(id)
            )));
        }
    }
    match message.get("method") {
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(EnvelopeError::invalid(format!(
                "invalid request: `method` must be a string, not {}",
                json_kind(other)
            )))
        }
        None => {
            let answer = message.contains_key("result") || message.contains_key("error");
            return if answer && id.is_some() {
                Ok(MessageKind::Response)
            } else {
                Err(EnvelopeError::invalid(
                    "invalid request: a JSON-RPC message needs a `method` (a request or notification), or an `id` with `result` or `error` (a response)",
                ))
            };
        }
    }
    if let Some(params) = message.get("params") {
        if !params.is_object() {
            return Err(EnvelopeError::invalid(format!(
                "invalid request: `params` must be an object, not {}",
                json_kind(params)
            )));
        }
    }
    Ok(if id.is_some() {
        MessageKind::Request
    } else {
        MessageKind::Notification
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks that `bytes` is exactly one JSON-RPC 2.0 message: bounded nesting (-32600),
/// well-formed JSON (-32700), an object rather than a batch or scalar (-32600), with
/// `"jsonrpc": "2.0"` (-32600).
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    let value = parse_bounded(bytes)?;
    let Value::Object(message) = value else {
        return Err(EnvelopeError::invalid(if value.is_array() {
            "batch requests are not supported: send one JSON-RPC message per request"
        } else {
            "a JSON-RPC message must be a JSON object"
        }));
    };
    if message.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(EnvelopeError::invalid(
            "invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    Ok(Envelope { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let cases: &[(&str, Result<(), i64>)] = &[
            (r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Ok(())),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":{"a":"[[[["}}"#,
                Ok(()),
            ),
            (r#"{"jsonrpc":"1.0","id":1}"#, Err(INVALID_REQUEST)),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                Err(INVALID_REQUEST),
            ),
            ("42", Err(INVALID_REQUEST)),
            ("{", Err(PARSE_ERROR)),
            ("", Err(PARSE_ERROR)),
        ];
        for (body, expected) in cases {
            let got = parse_envelope(body.as_bytes())
                .map(|_| ())
                .map_err(|e| e.code);
            assert_eq!(&got, expected, "{body}");
        }
    }

    #[test]
    fn message_kinds() {
        use MessageKind::*;
        let cases: &[(&str, Result<MessageKind, &str>)] = &[
            (r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Ok(Request)),
            (r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#, Ok(Request)),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                Ok(Notification),
            ),
            (r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, Ok(Response)),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}"#,
                Ok(Response),
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                Err("`id`"),
            ),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Err("`id`")),
            (r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, Err("`id`")),
            (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, Err("`method`")),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#,
                Err("`params`"),
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, Err("needs a `method`")),
            (r#"{"jsonrpc":"2.0","result":{}}"#, Err("needs a `method`")),
        ];
        for (body, expected) in cases {
            let got = message_kind(&parse_envelope(body.as_bytes()).unwrap());
            match (got, expected) {
                (Ok(k), Ok(e)) => assert_eq!(k, *e, "{body}"),
                (Err(err), Err(needle)) => {
                    assert_eq!(err.code, INVALID_REQUEST, "{body}");
                    assert!(err.message.contains(needle), "{body}: {}", err.message);
                }
                (got, _) => panic!("{body}: {got:?}"),
            }
        }
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(exceeds_depth(deep.as_bytes(), 64));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(!exceeds_depth(ok.as_bytes(), 64));
        let in_string = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(200), "{".repeat(200));
        assert!(!exceeds_depth(in_string.as_bytes(), 64));
        let err = parse_envelope(deep.as_bytes()).unwrap_err();
        assert_eq!(err.code, INVALID_REQUEST);
        assert!(err.message.contains("nested deeper"));
    }
}
