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
/// `max_tokens` and `secret_scanning` do not. The one table of sensitive keys: the JSON
/// redaction, the audit record (`audit::mask_secrets`) and the log context
/// (`aegis_edge::telemetry::sanitize_context`) all ask [`is_sensitive_key`].
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
    "signingkey",
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
            let mut keys = KeyMemo::default();
            self.walk(value, mode, &mut pointer, &mut keys, &mut found);
        }
        found
    }

    fn walk(
        &self,
        value: &mut Value,
        mode: SecretDetectionMode,
        pointer: &mut String,
        keys: &mut KeyMemo,
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
                    push_index(pointer, i);
                    self.walk(item, mode, pointer, keys, found);
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                self.redact_keys(map, mode, pointer, keys, found);
                for (key, item) in map.iter_mut() {
                    let len = pointer.len();
                    push_key(pointer, key);
                    if keys.facts(self, key).sensitive {
                        mask_all_strings(item, mode, pointer, found);
                    } else {
                        self.walk(item, mode, pointer, keys, found);
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
        keys: &mut KeyMemo,
        found: &mut Vec<JsonFinding>,
    ) {
        let dirty: Vec<String> = map
            .keys()
            .filter(|k| !keys.facts(self, k).clean)
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

/// What one walk learnt about the object keys it met: the items of a listing repeat the
/// same few keys, so each distinct key is scanned and classified once per result, not once
/// per item. Keys holding a secret are not remembered (they are renamed, and rare).
#[derive(Default)]
struct KeyMemo {
    known: std::collections::HashMap<String, KeyFacts>,
}

#[derive(Clone, Copy)]
struct KeyFacts {
    /// The scanner finds nothing in the key itself
    clean: bool,
    /// Values under the key are masked whatever they hold ([`is_sensitive_key`])
    sensitive: bool,
}

impl KeyMemo {
    fn facts(&mut self, scanner: &SecretScanner, key: &str) -> KeyFacts {
        if let Some(facts) = self.known.get(key) {
            return *facts;
        }
        let facts = KeyFacts {
            clean: scanner.scan(key).is_empty(),
            sensitive: is_sensitive_key(key),
        };
        if facts.clean {
            self.known.insert(key.to_owned(), facts);
        }
        facts
    }
}

/// Appends `/key` to a JSON Pointer, escaped as RFC 6901 says (`~` as `~0`, `/` as `~1`).
fn push_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    if !key.contains(['~', '/']) {
        pointer.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Appends `/index` to a JSON Pointer.
fn push_index(pointer: &mut String, index: usize) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(pointer, "/{index}");
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
                push_index(pointer, i);
                mask_all_strings(item, mode, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = pointer.len();
                push_key(pointer, key);
                mask_all_strings(item, mode, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
