//! Contract mode: checks every request and JSON response against the vendored Gitea swagger.
//!
//! Requests: the method + path must match an operation, and every query parameter must be one the
//! operation declares. Responses: JSON bodies are validated against the operation's response schema
//! for the status, built from the swagger `definitions` made strict (`additionalProperties: false`
//! on every object that lists properties), so a field the simulator invents is caught.
//!
//! Where real Gitea 1.27 and its swagger disagree, the schema follows the server (each is listed in
//! `strictify`/`check`): Go pointer and slice fields may be `null`, `User` carries a duplicate
//! `username`, an empty `CombinedStatus` has `state: ""`, and `GET /contents/{dir}` returns an array.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::Validator;
use serde_json::{json, Map, Value};

use crate::error::ContractError;

/// Query parameters every operation accepts (swagger `securityDefinitions`).
const GLOBAL_QUERY: &[&str] = &["token", "access_token", "sudo"];

/// Scalar fields that are Go pointers without `omitempty`, so Gitea sends `null` when unset.
const NULLABLE_SCALARS: &[(&str, &str)] = &[
    ("ContentsResponse", "encoding"),
    ("ContentsResponse", "content"),
    ("ContentsResponse", "target"),
    ("ContentsResponse", "url"),
    ("ContentsResponse", "html_url"),
    ("ContentsResponse", "git_url"),
    ("ContentsResponse", "download_url"),
    ("ContentsResponse", "submodule_git_url"),
    ("FileLinksResponse", "self"),
    ("FileLinksResponse", "git"),
    ("FileLinksResponse", "html"),
    ("GitBlobResponse", "encoding"),
    ("GitBlobResponse", "content"),
    ("Issue", "closed_at"),
    ("Issue", "due_date"),
    ("Milestone", "closed_at"),
    ("Milestone", "due_on"),
    ("Milestone", "updated_at"),
    ("PullRequest", "closed_at"),
    ("PullRequest", "due_date"),
    ("PullRequest", "merged_at"),
    ("PullRequest", "merge_commit_sha"),
    ("PullRequestMeta", "merged_at"),
];

#[derive(Debug)]
enum Piece {
    Lit(String),
    Param(String),
}

/// Path parameters Gitea routes as `*` wildcards, so their values may contain `/`.
const WILDCARD_PARAMS: &[&str] = &["filepath", "basehead", "branch", "tag"];

#[derive(Debug)]
struct Operation {
    method: String,
    template: String,
    segments: Vec<Vec<Piece>>,
    literal_len: usize,
    /// Allowed values of enum-typed path parameters (e.g. `diffType`: diff, patch).
    path_enums: HashMap<String, Vec<String>>,
    id: String,
    query: HashSet<String>,
    /// The schema of the `in: body` parameter, if the operation takes one.
    body: Option<Value>,
    responses: Map<String, Value>,
    produces: Vec<String>,
}

/// The loaded swagger, ready to check traffic.
pub struct Contract {
    operations: Vec<Operation>,
    responses: Map<String, Value>,
    definitions: Value,
    validators: Mutex<HashMap<String, Arc<Result<Validator, String>>>>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("operations", &self.operations.len())
            .finish()
    }
}

fn parse_segment(seg: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = seg;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        match rest[open..].find('}') {
            Some(close) => {
                pieces.push(Piece::Param(rest[open + 1..open + close].to_string()));
                rest = &rest[open + close + 1..];
            }
            None => {
                pieces.push(Piece::Lit(rest[open..].to_string()));
                rest = "";
            }
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    pieces
}

/// Matches one path segment (or, for a greedy tail, the rest of the path) against pieces.
fn match_pieces(
    pieces: &[Piece],
    text: &str,
    allow_slash: bool,
    enums: &HashMap<String, Vec<String>>,
) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Lit(l), rest)) => text
            .strip_prefix(l.as_str())
            .is_some_and(|t| match_pieces(rest, t, allow_slash, enums)),
        Some((Piece::Param(name), rest)) => {
            // a parameter takes at least one character; try every split point
            (1..=text.len()).any(|end| {
                text.is_char_boundary(end)
                    && (allow_slash || !text[..end].contains('/'))
                    && enums
                        .get(name)
                        .is_none_or(|allowed| allowed.iter().any(|v| v == &text[..end]))
                    && match_pieces(rest, &text[end..], allow_slash, enums)
            })
        }
    }
}

impl Operation {
    fn matches(&self, segments: &[&str], greedy_tail: bool) -> bool {
        if greedy_tail {
            let n = self.segments.len();
            let wildcard = matches!(
                self.segments.last().map(Vec::as_slice),
                Some([Piece::Param(name)]) if WILDCARD_PARAMS.contains(&name.as_str())
            );
            if !wildcard || segments.len() < n {
                return false;
            }
            let tail = segments[n - 1..].join("/");
            return self.segments[..n - 1]
                .iter()
                .zip(segments)
                .all(|(p, s)| match_pieces(p, s, false, &self.path_enums))
                && match_pieces(&self.segments[n - 1], &tail, true, &self.path_enums);
        }
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(p, s)| match_pieces(p, s, false, &self.path_enums))
    }
}

/// Makes a swagger schema strict; `owner` is the definition whose properties are being visited.
fn strictify(schema: &mut Value, owner: Option<&str>) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.contains_key("properties") && !obj.contains_key("additionalProperties") {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, prop) in props.iter_mut() {
            strictify(prop, None);
            let nullable_scalar =
                owner.is_some_and(|o| NULLABLE_SCALARS.contains(&(o, name.as_str())));
            make_nullable(prop, nullable_scalar);
        }
    }
    if let Some(items) = obj.get_mut("items") {
        strictify(items, None);
    }
    if let Some(extra) = obj
        .get_mut("additionalProperties")
        .filter(|v| v.is_object())
    {
        strictify(extra, None);
    }
}

/// Go serializes nil pointers and nil slices as `null`.
fn make_nullable(prop: &mut Value, scalar: bool) {
    if prop.get("$ref").is_some() {
        let original = prop.take();
        *prop = json!({"anyOf": [original, {"type": "null"}]});
        return;
    }
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    let ty = obj.get("type").and_then(Value::as_str).map(str::to_string);
    if let Some(ty) = ty {
        if ty == "array" || scalar {
            obj.insert("type".into(), json!([ty, "null"]));
            if let Some(values) = obj.get_mut("enum").and_then(Value::as_array_mut) {
                values.push(Value::Null);
            }
        }
    }
}

fn strict_definitions(raw: &Map<String, Value>) -> Value {
    let mut defs = raw.clone();
    for (name, def) in defs.iter_mut() {
        strictify(def, Some(name));
    }
    // modules/structs/user.go MarshalJSON adds `username`, which the swagger omits
    if let Some(props) = defs
        .get_mut("User")
        .and_then(|u| u.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        props.insert("username".into(), json!({"type": "string"}));
    }
    // GetCombinedCommitStatusByRef answers a ref without statuses with a zero CombinedStatus
    if let Some(values) = defs
        .get_mut("CombinedStatus")
        .and_then(|d| d.pointer_mut("/properties/state/enum"))
        .and_then(Value::as_array_mut)
    {
        values.push(json!(""));
    }
    Value::Object(defs)
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["message", "url"],
        "properties": {
            "message": {"type": "string"},
            "url": {"type": "string"},
            "errors": {"type": ["array", "null"], "items": {"type": "string"}}
        },
        "additionalProperties": false
    })
}

impl Contract {
    pub fn load(path: &Path) -> Result<Contract, ContractError> {
        let text = std::fs::read_to_string(path).map_err(|source| ContractError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json_str(&text)
    }

    pub fn from_json_str(text: &str) -> Result<Contract, ContractError> {
        let doc: Value = serde_json::from_str(text)?;
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or(ContractError::Missing("paths"))?;
        let definitions = doc
            .get("definitions")
            .and_then(Value::as_object)
            .ok_or(ContractError::Missing("definitions"))?;
        let responses = doc
            .get("responses")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let global_produces: Vec<String> = doc
            .get("produces")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                let segments: Vec<Vec<Piece>> = template
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(parse_segment)
                    .collect();
                let literal_len = segments
                    .iter()
                    .flatten()
                    .map(|p| match p {
                        Piece::Lit(l) => l.len(),
                        Piece::Param(_) => 0,
                    })
                    .sum();
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let located = |place: &'static str| {
                    params
                        .iter()
                        .filter(move |p| p.get("in").and_then(Value::as_str) == Some(place))
                };
                let query = located("query")
                    .filter_map(|p| p.get("name").and_then(Value::as_str).map(String::from))
                    .collect();
                let path_enums = located("path")
                    .filter_map(|p| {
                        let name = p.get("name").and_then(Value::as_str)?;
                        let values = p.get("enum").and_then(Value::as_array)?;
                        Some((
                            name.to_string(),
                            values
                                .iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect(),
                        ))
                    })
                    .collect();
                let body = located("body")
                    .next()
                    .and_then(|p| p.get("schema"))
                    .cloned();
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    template: template.clone(),
                    segments,
                    literal_len,
                    path_enums,
                    id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    query,
                    body,
                    responses: op
                        .get("responses")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    produces: op
                        .get("produces")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_else(|| global_produces.clone()),
                });
            }
        }
        Ok(Contract {
            operations,
            responses,
            definitions: strict_definitions(definitions),
            validators: Mutex::new(HashMap::new()),
        })
    }

    fn find(&self, method: &str, api_path: &str) -> Option<&Operation> {
        let segments: Vec<&str> = api_path.split('/').filter(|s| !s.is_empty()).collect();
        let best = |greedy: bool| {
            self.operations
                .iter()
                .filter(|op| op.method == method && op.matches(&segments, greedy))
                .max_by_key(|op| op.literal_len)
        };
        best(false).or_else(|| best(true))
    }

    /// The number of operations loaded.
    pub fn operation_count(&self) -> usize {
        self.operations.len()
    }

    /// The operation id a request maps to, if any.
    pub fn operation_id(&self, method: &str, path: &str) -> Option<String> {
        let api_path = path.strip_prefix("/api/v1")?;
        self.find(method, api_path).map(|op| op.id.clone())
    }

    fn validator(&self, key: &str, schema: Value) -> Arc<Result<Validator, String>> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .entry(key.to_string())
            .or_insert_with(|| {
                let mut root = schema;
                strictify(&mut root, None);
                let mut root = if root.get("$ref").is_some() {
                    json!({ "allOf": [root] })
                } else {
                    root
                };
                if let Some(obj) = root.as_object_mut() {
                    obj.insert("definitions".into(), self.definitions.clone());
                }
                Arc::new(
                    jsonschema::draft4::options()
                        .should_validate_formats(true)
                        .build(&root)
                        .map_err(|e| e.to_string()),
                )
            })
            .clone()
    }

    /// The response object (with `$ref`s to `#/responses/...` followed).
    fn response_spec<'a>(&'a self, op: &'a Operation, status: u16) -> Option<&'a Value> {
        let spec = op.responses.get(&status.to_string())?;
        match spec.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/responses/")
                .and_then(|name| self.responses.get(name)),
            None => Some(spec),
        }
    }

    /// Checks a request body against the operation's `in: body` schema (strict: a field the swagger
    /// does not list is a violation, as Gitea would silently ignore it). Only JSON bodies are
    /// checked; a body sent to an operation that takes none is reported.
    pub fn check_request_body(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Vec<String> {
        let Some(api_path) = path.strip_prefix("/api/v1") else {
            return Vec::new();
        };
        let Some(op) = self.find(method, api_path) else {
            return Vec::new(); // reported by `check`
        };
        let here = format!("{method} {path} ({} {}) request body", op.id, op.template);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Vec::new();
        }
        let Some(schema) = &op.body else {
            return vec![format!("{here}: the operation takes no body")];
        };
        if !content_type.is_empty() && !content_type.starts_with("application/json") {
            return vec![format!(
                "{here}: content type `{content_type}`, the operation consumes application/json"
            )];
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return vec![format!("{here}: not JSON: {e}")],
        };
        let validator = self.validator(&format!("{}:request", op.id), schema.clone());
        match validator.as_ref() {
            Ok(v) => v
                .iter_errors(&instance)
                .take(5)
                .map(|e| format!("{here}: at `{}`: {e}", e.instance_path()))
                .collect(),
            Err(e) => vec![format!("{here}: cannot compile the body schema: {e}")],
        }
    }

    /// Checks one exchange; returns the violations found (empty when it conforms).
    pub fn check(
        &self,
        method: &str,
        path: &str,
        query: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Vec<String> {
        let Some(api_path) = path.strip_prefix("/api/v1") else {
            return Vec::new();
        };
        let label = if query.is_empty() {
            format!("{method} {path}")
        } else {
            format!("{method} {path}?{query}")
        };
        let Some(op) = self.find(method, api_path) else {
            return vec![format!(
                "{label}: no swagger operation for this method and path"
            )];
        };
        let mut out = Vec::new();
        let here = format!("{label} ({} {}) -> {status}", op.id, op.template);
        for (key, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !op.query.contains(key.as_ref()) && !GLOBAL_QUERY.contains(&key.as_ref()) {
                out.push(format!("{here}: unknown query parameter `{key}`"));
            }
        }
        let is_json = content_type.starts_with("application/json");
        let spec = self.response_spec(op, status);
        if spec.is_none() && (200..300).contains(&status) {
            out.push(format!("{here}: status {status} is not documented"));
            return out;
        }
        let schema = spec.and_then(|s| s.get("schema")).cloned();
        let (key, schema) = match schema {
            Some(s) if s.get("type").and_then(Value::as_str) == Some("file") => return out,
            Some(s) => {
                if !is_json {
                    let text_ok = s.get("type").and_then(Value::as_str) == Some("string")
                        || op.produces.iter().any(|p| p == "text/plain");
                    if !(text_ok && content_type.starts_with("text/plain")) {
                        out.push(format!(
                            "{here}: expected a JSON body, got content type `{content_type}`"
                        ));
                    }
                    return out;
                }
                (format!("{}:{status}", op.id), s)
            }
            None if status >= 400 && is_json => ("error".to_string(), error_schema()),
            None => return out,
        };
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                out.push(format!("{here}: body is not JSON: {e}"));
                return out;
            }
        };
        // repoGetContents documents one ContentsResponse, but a directory yields a list of them
        let (key, schema) = if op.id == "repoGetContents" && instance.is_array() {
            (
                "repoGetContents:dir".to_string(),
                json!({"type": "array", "items": {"$ref": "#/definitions/ContentsResponse"}}),
            )
        } else {
            (key, schema)
        };
        let validator = self.validator(&key, schema);
        match validator.as_ref() {
            Ok(v) => {
                for e in v.iter_errors(&instance).take(5) {
                    out.push(format!("{here}: at `{}`: {e}", e.instance_path()));
                }
            }
            Err(e) => out.push(format!("{here}: cannot compile the response schema: {e}")),
        }
        out
    }
}
