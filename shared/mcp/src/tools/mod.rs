//! The tool registry: every tool declared once, its schemas derived from its Rust types.
//!
//! A tool is an async function `fn(ToolContext, Args) -> Result<Output, ToolError>`. The
//! registry derives `inputSchema` from `Args` (which must `deny_unknown_fields`) and
//! `outputSchema` from `Output`, decodes arguments strictly, and renders results as both
//! `structuredContent` and text. The MCP endpoint and `/mcp/tool/call` both dispatch here.

mod args;
mod common;
mod history;
mod issues;
pub mod limits;
mod pulls;
mod read;
mod releases;
pub mod render;
pub mod schema;
mod search;
mod write;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use aegis_core::config::RepoName;
use aegis_core::policy::{Policy, PolicyError, ToolCatalogue};
use aegis_edge::auth::Principal;
use aegis_gitea::{GiteaClient, GiteaError};
pub use limits::Limits;

/// Everything a tool needs for one call.
#[derive(Clone)]
pub struct ToolContext {
    pub gitea: GiteaClient,
    pub principal: Principal,
    pub limits: Limits,
    pub request_id: String,
    /// The policy that authorized the call; tools use it to drop denied paths
    pub policy: Arc<Policy>,
    /// The repository the call targets, when it names one
    pub repo: Option<RepoName>,
}

impl ToolContext {
    /// Whether the policy lets this call see `path` of the target repository.
    pub fn path_allowed(&self, path: &str) -> bool {
        match &self.repo {
            Some(repo) => self.policy.path_allowed(repo, path).allowed,
            None => true,
        }
    }

    /// Drops the items whose path the policy denies (so their names do not leak);
    /// returns how many were dropped.
    pub fn retain_paths<T>(&self, items: &mut Vec<T>, path_of: impl Fn(&T) -> &str) -> usize {
        let before = items.len();
        if let Some(repo) = &self.repo {
            self.policy.retain_allowed(repo, items, path_of);
        }
        before - items.len()
    }
}

/// Why a tool call failed. `InvalidArguments` is a protocol error (-32602); the rest are
/// tool-level errors (`isError: true`) whose message the model sees.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    Upstream(String),
}

impl From<GiteaError> for ToolError {
    fn from(e: GiteaError) -> Self {
        match &e {
            GiteaError::NotFound(what) => ToolError::NotFound(format!(
                "not found: `{}` does not exist or the caller has no access to it",
                what.trim_start_matches('/')
            )),
            GiteaError::Unauthorized => ToolError::Forbidden(
                "gitea rejected the gateway's credentials (401); re-authorize the connection"
                    .into(),
            ),
            GiteaError::Forbidden(_) => ToolError::Forbidden(e.to_string()),
            GiteaError::Conflict(_) | GiteaError::Unprocessable(_) => {
                ToolError::Conflict(e.to_string())
            }
            GiteaError::RateLimited { .. } => {
                ToolError::RateLimited("gitea is rate limiting requests; try again shortly".into())
            }
            GiteaError::FileTooLarge { .. } => ToolError::Conflict(e.to_string()),
            GiteaError::InvalidInput(m) => ToolError::InvalidArguments(m.clone()),
            GiteaError::Upstream { .. }
            | GiteaError::Timeout(_)
            | GiteaError::Transport(_)
            | GiteaError::Decode(_) => ToolError::Upstream(e.to_string()),
        }
    }
}

pub use aegis_core::policy::ToolKind;

/// The policy catalogue of a registry: the spec's tool list ([`ToolCatalogue::spec`]) plus
/// every tool of `registry` under its declared kind (a contradiction is an error).
pub fn catalogue(registry: &ToolRegistry) -> Result<ToolCatalogue, PolicyError> {
    let mut catalogue = ToolCatalogue::spec();
    for spec in registry.iter() {
        catalogue.insert(spec.name(), spec.kind.into())?;
    }
    Ok(catalogue)
}

/// A tool's output: serialised as `structuredContent`, rendered as text for the model.
pub trait ToolOutput: Serialize + JsonSchema + Send + 'static {
    /// A text content block of its own (a file, a diff, search hits), when plain text
    /// reads better than the data. `None`, the default, renders the structured result
    /// (`render::model_text`) once it is masked and cleaned (`ToolText::Structured`).
    fn render_text(&self) -> Option<String> {
        None
    }
}

/// What the text content block of a result is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolText {
    /// The structured result (`render::model_text`), rendered by `dispatch` after the secret
    /// scanner and hygiene ran over the structured result: one scan, one serialisation
    Structured,
    /// A text of the tool's own, scanned and cleaned on its own
    Custom(String),
    /// The final text, ready to send
    Final(String),
}

impl ToolText {
    /// The final text (empty before `dispatch` rendered it).
    pub fn as_str(&self) -> &str {
        match self {
            ToolText::Final(text) => text,
            _ => "",
        }
    }
}

/// The result of a successful call, ready for either endpoint.
#[derive(Debug, Clone)]
pub struct ToolResult {
    pub structured: serde_json::Value,
    pub text: ToolText,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler =
    Arc<dyn Fn(ToolContext, JsonObject) -> BoxFuture<Result<ToolResult, ToolError>> + Send + Sync>;
type Decoder = Arc<dyn Fn(JsonObject) -> Result<(), ToolError> + Send + Sync>;

/// A declared tool: its MCP description plus the handler.
#[derive(Clone)]
pub struct ToolSpec {
    pub kind: ToolKind,
    pub tool: Tool,
    handler: Handler,
    decoder: Decoder,
}

impl std::fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.tool.name)
            .field("kind", &self.kind)
            .finish()
    }
}

impl ToolSpec {
    pub fn name(&self) -> &str {
        &self.tool.name
    }

    /// Decodes `args` strictly against the tool's argument type without running it (the
    /// same decoding the handler does first); the fuzz target `tool_arguments` drives it.
    pub fn decode_arguments(&self, args: JsonObject) -> Result<(), ToolError> {
        (self.decoder)(args)
    }
}

/// Static description of a tool; the schemas come from its types.
pub struct ToolMeta {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub kind: ToolKind,
    pub idempotent: bool,
    pub destructive: bool,
}

/// The metadata of a read tool.
pub(crate) fn read_meta(
    name: &'static str,
    title: &'static str,
    description: &'static str,
) -> ToolMeta {
    ToolMeta {
        name,
        title,
        description,
        kind: ToolKind::Read,
        idempotent: true,
        destructive: false,
    }
}

/// All tools, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, ToolSpec>,
}

impl ToolRegistry {
    /// The registry with every tool this build offers.
    pub fn standard() -> Self {
        let mut registry = Self::default();
        read::register(&mut registry);
        search::register(&mut registry);
        history::register(&mut registry);
        issues::register(&mut registry);
        pulls::register(&mut registry);
        releases::register(&mut registry);
        write::register(&mut registry);
        registry
    }

    /// Declares a tool. Panics at startup (never per request) on a duplicate name.
    pub fn add<A, O, F, Fut>(&mut self, meta: ToolMeta, f: F)
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: ToolOutput,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let write = meta.kind == ToolKind::Write;
        let handler: Handler = Arc::new(move |ctx, mut args| {
            let f = f.clone();
            Box::pin(async move {
                if write {
                    // What a write stores is cleaned as what a read shows: invisible
                    // characters and fence-info prose never reach Gitea through us.
                    for value in args.values_mut() {
                        aegis_core::hygiene::strip_json(value);
                    }
                }
                let args: A = serde_json::from_value(serde_json::Value::Object(args))
                    .map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
                let output = f(ctx, args).await?;
                let mut structured = serde_json::to_value(&output)
                    .map_err(|e| ToolError::Upstream(format!("could not encode result: {e}")))?;
                schema::drop_nulls(&mut structured);
                Ok(ToolResult {
                    text: output
                        .render_text()
                        .map_or(ToolText::Structured, ToolText::Custom),
                    structured,
                })
            })
        });
        let decoder: Decoder = Arc::new(|args| {
            serde_json::from_value::<A>(serde_json::Value::Object(args))
                .map(|_| ())
                .map_err(|e| ToolError::InvalidArguments(e.to_string()))
        });
        let read_only = meta.kind == ToolKind::Read;
        let mut annotations = ToolAnnotations::new();
        annotations.title = Some(meta.title.to_string());
        annotations.read_only_hint = Some(read_only);
        annotations.destructive_hint = Some(!read_only && meta.destructive);
        annotations.idempotent_hint = Some(read_only || meta.idempotent);
        // Every tool talks to a Gitea instance whose content third parties write.
        annotations.open_world_hint = Some(true);
        let tool = Tool::new_with_raw(
            meta.name,
            Some(meta.description.into()),
            input_schema::<A>(),
        )
        .with_title(meta.title)
        .with_raw_output_schema(output_schema::<O>())
        .with_annotations(annotations);
        let previous = self.tools.insert(
            meta.name.to_string(),
            ToolSpec {
                kind: meta.kind,
                tool,
                handler,
                decoder,
            },
        );
        assert!(previous.is_none(), "tool `{}` declared twice", meta.name);
    }

    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ToolSpec> {
        self.tools.values()
    }

    /// Runs a tool with raw JSON arguments (decoded strictly against its schema type). The
    /// future owns everything it needs, so it can outlive the request (`dispatch::call`
    /// lets a write finish on its own task).
    pub fn call(
        &self,
        spec: &ToolSpec,
        ctx: ToolContext,
        args: Option<JsonObject>,
    ) -> impl Future<Output = Result<ToolResult, ToolError>> + Send + 'static {
        (spec.handler)(ctx, args.unwrap_or_default())
    }
}

/// The input schema of `A`, portable (`schema`), with `additionalProperties: false`
/// guaranteed at the top.
fn input_schema<A: JsonSchema + 'static>() -> Arc<JsonObject> {
    let schema = rmcp::handler::server::common::schema_for_type::<A>();
    let mut object = portable(schema.as_ref().clone());
    object.insert(
        "additionalProperties".into(),
        serde_json::Value::Bool(false),
    );
    object.remove("title");
    Arc::new(object)
}

/// The output schema of `O`, portable (`schema`).
fn output_schema<O: JsonSchema + 'static>() -> Arc<JsonObject> {
    let schema = rmcp::handler::server::common::schema_for_output::<O>();
    Arc::new(portable(schema.as_ref().clone()))
}

fn portable(object: JsonObject) -> JsonObject {
    let mut value = serde_json::Value::Object(object);
    schema::make_portable(&mut value);
    match value {
        serde_json::Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry declares exactly the spec's tools, each under the spec's class, so the
    /// spec's catalogue (what `aegis policy` uses) is the gateway's.
    #[test]
    fn the_registry_is_the_spec_catalogue() {
        let registry = ToolRegistry::standard();
        let catalogue = catalogue(&registry).expect("the registry merges cleanly");
        assert_eq!(catalogue, ToolCatalogue::spec());
        for spec in registry.iter() {
            assert_eq!(
                catalogue.class_of(spec.name()),
                Some(spec.kind.into()),
                "{}",
                spec.name()
            );
        }
    }

    /// The 28 read tools of the API Reference, exactly (the policy catalogue's list).
    use aegis_core::policy::READ_TOOLS;

    #[test]
    fn the_read_toolset_is_the_api_reference() {
        let registry = ToolRegistry::standard();
        let mut names: Vec<&str> = registry
            .iter()
            .filter(|s| s.kind == ToolKind::Read)
            .map(|s| s.name())
            .collect();
        names.sort();
        let mut expected = READ_TOOLS.to_vec();
        expected.sort();
        assert_eq!(names, expected);
    }

    /// Every schema is in the portable subset (`schema`): standard formats only, one type
    /// per node, no `null` alternatives, no `default: null`.
    #[test]
    fn every_tool_schema_is_portable() {
        fn check(tool: &str, path: &str, v: &serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(format) = map.get("format").and_then(|f| f.as_str()) {
                        assert!(
                            ["date-time", "date", "uri", "email"].contains(&format),
                            "{tool}{path}: format `{format}`"
                        );
                    }
                    if let Some(t) = map.get("type") {
                        assert!(t.is_string(), "{tool}{path}: type {t}");
                        assert_ne!(t, "null", "{tool}{path}");
                    }
                    assert_ne!(
                        map.get("default"),
                        Some(&serde_json::Value::Null),
                        "{tool}{path}"
                    );
                    for (k, child) in map {
                        match (k.as_str(), child) {
                            ("enum" | "const" | "default", _) => {}
                            // maps of name -> schema
                            ("properties" | "$defs", serde_json::Value::Object(named)) => {
                                for (name, schema) in named {
                                    check(tool, &format!("{path}/{k}/{name}"), schema);
                                }
                            }
                            _ => check(tool, &format!("{path}/{k}"), child),
                        }
                    }
                }
                serde_json::Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        check(tool, &format!("{path}/{i}"), child);
                    }
                }
                _ => {}
            }
        }
        let registry = ToolRegistry::standard();
        for spec in registry.iter() {
            let input = serde_json::Value::Object(spec.tool.input_schema.as_ref().clone());
            check(spec.name(), "#input", &input);
            let output = spec.tool.output_schema.as_ref().expect("output schema");
            check(
                spec.name(),
                "#output",
                &serde_json::Value::Object(output.as_ref().clone()),
            );
        }
    }

    #[test]
    fn every_tool_has_schemas_that_reject_unknown_fields() {
        let registry = ToolRegistry::standard();
        assert!(registry.iter().count() >= 4);
        for spec in registry.iter() {
            let input = &spec.tool.input_schema;
            assert_eq!(
                input.get("type"),
                Some(&serde_json::json!("object")),
                "{}",
                spec.name()
            );
            assert_eq!(
                input.get("additionalProperties"),
                Some(&serde_json::json!(false)),
                "{}",
                spec.name()
            );
            assert!(spec.tool.output_schema.is_some(), "{}", spec.name());
            let ann = spec.tool.annotations.as_ref().unwrap();
            assert_eq!(ann.read_only_hint, Some(spec.kind == ToolKind::Read));
        }
    }
}
