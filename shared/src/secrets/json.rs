//! Redaction of JSON values: every string and object key goes through the scanner, and
//! whatever sits under a sensitive key (`token`, `password`, ...) is masked outright.
//!
//! Types are kept: a string stays a string (masked or blocked), numbers, booleans and
//! nulls are left alone (none can hold a credential worth the name, and changing a type
//! would break a tool's output schema).

use serde_json::{Map, Value};

use super::{
    checks::normalize_key, mask_for, SecretDetectionMode, SecretScanner, BLOCK_NOTICE,
    SENSITIVE_KEY_RULE,
};

/// Key endings (compared without case, `_`, `-` and `.`) whose values are masked whatever
/// they hold: the spec's `SENSITIVE_CONTEXT_KEYS`. `access_token`, `clientSecret`,
/// `X-Api-Key`, `db_password` and `Proxy-Authorization` all qualify; `token_type`,
/// `max_tokens` and `secret_scanning` do not.
pub const SENSITIVE_KEY_SUFFIXES: &[&str] = &[
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "authorization",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "credential",
    "credentials",
    "cookie",
    "sessionid",
];

/// Whether values under `key` are masked whatever they contain.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = normalize_key(key);
    SENSITIVE_KEY_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// A secret found in a JSON value: the JSON Pointer (RFC 6901) of the string, or of the
/// object holding the key, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JsonFinding {
    pub pointer: String,
    pub rule: &'static str,
}

impl SecretScanner {
    /// Redacts every string and key of `value` in place (see the module docs of
    /// [`crate::secrets`]); returns what was found. `off` leaves the value untouched.
    pub fn redact_json(&self, value: &mut Value, mode: SecretDetectionMode) -> Vec<JsonFinding> {
        let mut found = Vec::new();
        if mode != SecretDetectionMode::Off {
            let mut pointer = String::new();
            self.walk(value, mode, &mut pointer, &mut found);
        }
        found
    }

    fn walk(
        &self,
        value: &mut Value,
        mode: SecretDetectionMode,
        pointer: &mut String,
        found: &mut Vec<JsonFinding>,
    ) {
        match value {
            Value::String(s) => {
                let redacted = self.redact(s, mode);
                if redacted.changed() {
                    found.extend(redacted.rules().into_iter().map(|rule| JsonFinding {
                        pointer: pointer.clone(),
                        rule,
                    }));
                    *s = redacted.text.into_owned();
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    self.walk(item, mode, pointer, found);
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                self.redact_keys(map, mode, pointer, found);
                for (key, item) in map.iter_mut() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    if is_sensitive_key(key) {
                        mask_all_strings(item, mode, pointer, found);
                    } else {
                        self.walk(item, mode, pointer, found);
                    }
                    pointer.truncate(len);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Object keys are text too (a map keyed by token is rare, but must not leak).
    fn redact_keys(
        &self,
        map: &mut Map<String, Value>,
        mode: SecretDetectionMode,
        pointer: &str,
        found: &mut Vec<JsonFinding>,
    ) {
        let dirty: Vec<String> = map
            .keys()
            .filter(|k| !self.scan(k).is_empty())
            .cloned()
            .collect();
        for key in dirty {
            let redacted = self.redact(&key, mode);
            found.extend(redacted.rules().into_iter().map(|rule| JsonFinding {
                pointer: pointer.to_owned(),
                rule,
            }));
            let new_key = redacted.text.into_owned();
            if let Some(item) = map.remove(&key) {
                map.insert(new_key, item);
            }
        }
    }
}

/// Masks every non-empty string in `value` (recursively), whatever it says. Strings that
/// already are the mask or the block notice are left as they are, so a second pass finds
/// nothing.
fn mask_all_strings(
    value: &mut Value,
    mode: SecretDetectionMode,
    pointer: &mut String,
    found: &mut Vec<JsonFinding>,
) {
    let replacement = match mode {
        SecretDetectionMode::Block => BLOCK_NOTICE.to_owned(),
        _ => mask_for(SENSITIVE_KEY_RULE),
    };
    match value {
        Value::String(s) => {
            if !s.is_empty() && *s != replacement {
                *s = replacement;
                found.push(JsonFinding {
                    pointer: pointer.clone(),
                    rule: SENSITIVE_KEY_RULE,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                mask_all_strings(item, mode, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                mask_all_strings(item, mode, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
