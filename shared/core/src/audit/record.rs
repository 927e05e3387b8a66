//! Audit records: what an event says, how secrets are masked, and how a record is hashed.
//!
//! A record is a flat JSON object. `entry_hash` is the SHA-256 of the canonical encoding of
//! the record without its `entry_hash` field; since that includes `prev_hash`, `chain_id`
//! and `seq`, every record commits to its place and to everything before it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::canonical;
use crate::secrets::is_sensitive_key;

/// The `prev_hash` of a chain's first record: it links to nothing.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The record format version (`v`).
pub const RECORD_VERSION: u64 = 1;

/// What kind of event a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// A tool call: `pending` before it runs, then `success` or `error`
    ToolInvocation,
    /// A refused authentication or authorization
    AccessDenied,
    /// Rate limits, blocked secrets, policy denies and other security-relevant events
    SecurityEvent,
    /// The first record of every chain, written when a writer starts (or rotates)
    ChainStart,
}

/// Where a tool invocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationStatus {
    Pending,
    Success,
    Error,
}

/// One event to record. Built with the constructors and `with_*` methods; the logger adds
/// the chain fields, the timestamp and the hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<InvocationStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Links the records of one logical operation (pending and its outcome, say)
    pub correlation_id: String,
    /// The caller's non-secret subject (`api-key:1a2b3c4d`, a Gitea login)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// `owner/repo`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The authorization decision (`allow`, `deny`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// What happened (`ok`, an error kind, the reason of a denial)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Anything else worth keeping, with secrets masked (see `mask_secrets`)
    #[serde(skip_serializing_if = "Map::is_empty", default)]
    pub context: Map<String, Value>,
}

impl AuditEvent {
    fn new(event_type: EventType) -> Self {
        Self {
            event_type,
            status: None,
            request_id: None,
            correlation_id: uuid::Uuid::new_v4().to_string(),
            principal: None,
            tool: None,
            repository: None,
            decision: None,
            outcome: None,
            context: Map::new(),
        }
    }

    /// A tool call at `status`.
    pub fn tool_invocation(tool: impl Into<String>, status: InvocationStatus) -> Self {
        let mut event = Self::new(EventType::ToolInvocation);
        event.tool = Some(tool.into());
        event.status = Some(status);
        event
    }

    /// A refused request; `reason` becomes the outcome.
    pub fn access_denied(reason: impl Into<String>) -> Self {
        let mut event = Self::new(EventType::AccessDenied);
        event.decision = Some("deny".into());
        event.outcome = Some(reason.into());
        event
    }

    /// A security event named `name` (`rate_limited`, `secret_blocked`, ...).
    pub fn security_event(name: impl Into<String>) -> Self {
        let mut event = Self::new(EventType::SecurityEvent);
        event.outcome = Some(name.into());
        event
    }

    /// The same operation at a later status (keeps request and correlation ids, principal,
    /// tool, repository and decision; clears the outcome and context).
    pub fn follow_up(&self, status: InvocationStatus) -> Self {
        let mut event = self.clone();
        event.status = Some(status);
        event.outcome = None;
        event.context = Map::new();
        event
    }

    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = id.into();
        self
    }
    pub fn with_principal(mut self, subject: impl Into<String>) -> Self {
        self.principal = Some(subject.into());
        self
    }
    pub fn with_repository(mut self, repository: impl Into<String>) -> Self {
        self.repository = Some(repository.into());
        self
    }
    pub fn with_decision(mut self, decision: impl Into<String>) -> Self {
        self.decision = Some(decision.into());
        self
    }
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }
    /// Adds one context entry; secrets are masked when the record is built.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }
}

/// The mask that replaces a secret value.
pub const MASK: &str = "***";

fn looks_like_credential(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    ["bearer ", "basic ", "token "]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
}

/// Replaces, at any depth, the value of every sensitive key (the one table of
/// [`is_sensitive_key`], the keys the JSON redaction masks) and every string that looks
/// like an `Authorization` value with `***`. Records never carry a credential.
pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_sensitive_key(key) && !v.is_null() {
                    *v = Value::String(MASK.into());
                } else {
                    mask_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        Value::String(s) if looks_like_credential(s) => *s = MASK.into(),
        _ => {}
    }
}

/// Builds the stored record for `event` at position `seq` of `chain_id`, linked to
/// `prev_hash`; returns it with its `entry_hash` set.
pub fn build_record(
    event: &AuditEvent,
    chain_id: &str,
    seq: u64,
    ts: &str,
    prev_hash: &str,
) -> Result<Map<String, Value>, serde_json::Error> {
    let mut value = serde_json::to_value(event)?;
    mask_secrets(&mut value);
    let Value::Object(mut record) = value else {
        return Err(serde::ser::Error::custom(
            "an audit event must encode as an object",
        ));
    };
    record.insert("v".into(), RECORD_VERSION.into());
    record.insert("chain_id".into(), chain_id.into());
    record.insert("seq".into(), seq.into());
    record.insert("ts".into(), ts.into());
    record.insert("prev_hash".into(), prev_hash.into());
    let hash = entry_hash(&record);
    record.insert("entry_hash".into(), hash.into());
    Ok(record)
}

/// The `entry_hash` a record should carry: SHA-256 over its canonical encoding without
/// `entry_hash`.
pub fn entry_hash(record: &Map<String, Value>) -> String {
    canonical::sha256_hex(&canonical::object_to_vec_without(record, "entry_hash"))
}

/// The outcome record of the tool call whose `pending` record is `pending`: same request,
/// correlation id, principal, tool and repository, status `success` or `error`.
pub fn outcome_of(pending: &AuditEvent, ok: bool, outcome: impl Into<String>) -> AuditEvent {
    let status = if ok {
        InvocationStatus::Success
    } else {
        InvocationStatus::Error
    };
    pending.follow_up(status).with_outcome(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (context given, context stored): every secret-looking key or value is masked.
    #[test]
    fn secrets_are_masked_at_any_depth() {
        let cases = [
            (json!({"token": "abc"}), json!({"token": "***"})),
            (
                json!({"Authorization": "Bearer x"}),
                json!({"Authorization": "***"}),
            ),
            (json!({"X-Api-Key": "k"}), json!({"X-Api-Key": "***"})),
            (
                json!({"api_key": "k", "apikey": 3}),
                json!({"api_key": "***", "apikey": "***"}),
            ),
            (json!({"db_password": "p"}), json!({"db_password": "***"})),
            (
                json!({"client_secret": "s"}),
                json!({"client_secret": "***"}),
            ),
            (json!({"access_token": null}), json!({"access_token": null})),
            (
                json!({"headers": {"cookie": "c", "accept": "json"}}),
                json!({"headers": {"cookie": "***", "accept": "json"}}),
            ),
            (
                json!({"list": [{"refresh_token": "r"}, "bearer abc.def"]}),
                json!({"list": [{"refresh_token": "***"}, "***"]}),
            ),
            (json!({"note": "bearer"}), json!({"note": "bearer"})),
            (
                json!({"path": "src/main.rs", "n": 1}),
                json!({"path": "src/main.rs", "n": 1}),
            ),
        ];
        for (given, expected) in cases {
            let mut event = AuditEvent::security_event("test");
            if let Value::Object(map) = given.clone() {
                event.context = map;
            }
            let record = build_record(&event, "c", 1, "t", GENESIS_HASH).unwrap();
            assert_eq!(record["context"], expected, "{given}");
        }
    }

    /// One table: a key's value is masked in an audit record exactly when the JSON
    /// redaction of tool results and logs masks it as a sensitive key.
    #[test]
    fn the_record_masks_exactly_the_keys_the_json_walk_masks() {
        use crate::secrets::{SecretDetectionMode, SecretScanner, SENSITIVE_KEY_RULE};
        let scanner = SecretScanner::new().unwrap();
        let mut keys: Vec<String> = [
            // keys the audit trail used to match by fragment, in several spellings
            "token",
            "authorization",
            "password",
            "passwd",
            "secret",
            "api_key",
            "api-key",
            "apikey",
            "cookie",
            "private_key",
            "signing_key",
            "credential",
            "X-Api-Key",
            "Proxy-Authorization",
            "clientSecret",
            "refreshToken",
            "GITEA_OAUTH_CLIENT_SECRET",
            "passphrase",
            "session.id",
            "Set-Cookie",
            "credentials",
            "aws_secret_key",
            // keys that mention a secret but hold something else, and plain keys
            "token_type",
            "max_tokens",
            "tokens",
            "secret_scanning",
            "token_last_eight",
            "secret_detection_mode",
            "password_file",
            "path",
            "author",
            "sha",
            "key",
            "keys",
            "run_id",
            "result",
            "totals",
            "summary",
        ]
        .map(String::from)
        .to_vec();
        keys.extend(
            crate::secrets::SENSITIVE_KEY_SUFFIXES
                .iter()
                .map(|s| s.to_string()),
        );
        let (mut masked, mut kept) = (0, 0);
        for key in &keys {
            let value = json!("plain words");
            let event = AuditEvent::security_event("test").with_context(key.clone(), value.clone());
            let record = build_record(&event, "c", 1, "t", GENESIS_HASH).unwrap();
            let in_record = record["context"][key.as_str()] == json!(MASK);

            let mut walked = json!({ key.as_str(): value });
            let found = scanner.redact_json(&mut walked, SecretDetectionMode::Mask);
            let in_walk = found.iter().any(|f| f.rule == SENSITIVE_KEY_RULE);

            assert_eq!(
                in_record, in_walk,
                "`{key}`: record {in_record}, walk {in_walk}"
            );
            assert_eq!(in_record, is_sensitive_key(key), "`{key}`");
            if in_record {
                masked += 1;
            } else {
                kept += 1;
            }
        }
        assert!(masked >= 20 && kept >= 15, "masked {masked}, kept {kept}");
    }

    #[test]
    fn entry_hash_covers_every_field_but_itself() {
        let event = AuditEvent::tool_invocation("get_file_contents", InvocationStatus::Pending)
            .with_principal("alice")
            .with_repository("o/r")
            .with_request_id("req-1");
        let record =
            build_record(&event, "chain", 3, "2025-01-01T00:00:00Z", GENESIS_HASH).unwrap();
        assert_eq!(record["entry_hash"].as_str().unwrap(), entry_hash(&record));
        for field in [
            "tool",
            "principal",
            "repository",
            "seq",
            "prev_hash",
            "chain_id",
            "ts",
        ] {
            let mut changed = record.clone();
            changed.insert(field.into(), json!("other"));
            assert_ne!(entry_hash(&changed), entry_hash(&record), "{field}");
        }
        let stored = serde_json::to_value(&record).unwrap();
        assert_eq!(stored["type"], "tool_invocation");
        assert_eq!(stored["status"], "pending");
        assert_eq!(stored["v"], 1);
    }
}
