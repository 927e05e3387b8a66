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
use std::sync::{Arc, OnceLock};

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use aegis_core::config::RepoName;
use aegis_core::policy::{Policy, PolicyError, ToolCatalogue, ToolFacts};
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

/// The policy catalogue the gateway uses: every tool of `registry` with the facts it
/// declares (class, path arguments, whether it lists paths), plus the automation
/// pseudo-tools ([`ToolCatalogue::automation`]). A test keeps it equal to the spec's list
/// ([`ToolCatalogue::spec`], what `aegis policy` and the automation functions use).
pub fn catalogue(registry: &ToolRegistry) -> Result<ToolCatalogue, PolicyError> {
    let mut catalogue = ToolCatalogue::automation();
    for spec in registry.iter() {
        catalogue.insert_tool(spec.name(), spec.facts())?;
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
type Describer = Arc<dyn Fn() -> Tool + Send + Sync>;

/// A declared tool: its MCP description plus the handler.
#[derive(Clone)]
pub struct ToolSpec {
    pub kind: ToolKind,
    /// The arguments that name one repository path ([`ToolMeta::path_arguments`])
    pub path_arguments: &'static [&'static str],
    /// The fields of the result's items that hold listed paths ([`ToolMeta::lists_paths`])
    pub listed_paths: &'static [&'static str],
    name: &'static str,
    /// The MCP description, schemas included, built on first use ([`ToolSpec::tool`])
    tool: Arc<OnceLock<Tool>>,
    describe: Describer,
    handler: Handler,
    decoder: Decoder,
}

impl std::fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish()
    }
}

impl ToolSpec {
    pub fn name(&self) -> &str {
        self.name
    }

    /// The tool's MCP description with its input and output schemas. Deriving the 43
    /// tools' schemas takes about 1.7 ms, so it happens on the first `tools/list` of an
    /// instance (once, shared by every clone of the registry), not when the registry is
    /// built: an instance that only runs tool calls never pays it.
    pub fn tool(&self) -> &Tool {
        self.tool.get_or_init(|| (self.describe)())
    }

    /// What the policy catalogue knows about this tool, from its declaration.
    pub fn facts(&self) -> ToolFacts {
        ToolFacts {
            class: self.kind.into(),
            path_arguments: self.path_arguments,
            lists_paths: !self.listed_paths.is_empty(),
        }
    }

    /// The repository path a call names, from the declared path arguments.
    pub fn target_path<'a>(&self, arguments: Option<&'a JsonObject>) -> Option<&'a str> {
        let args = arguments?;
        self.path_arguments
            .iter()
            .find_map(|name| args.get(*name).and_then(serde_json::Value::as_str))
    }

    /// Decodes `args` strictly against the tool's argument type without running it (the
    /// same decoding the handler does first); the fuzz target `tool_arguments` drives it.
    pub fn decode_arguments(&self, args: JsonObject) -> Result<(), ToolError> {
        (self.decoder)(args)
    }
}

/// Static description of a tool; the schemas come from its types. Everything the policy
/// needs to know about a tool is declared here, once: its kind, its path arguments and
/// whether it lists paths ([`catalogue`] derives the policy catalogue from it).
pub struct ToolMeta {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub kind: ToolKind,
    pub idempotent: bool,
    pub destructive: bool,
    /// The arguments that name one repository path: checked against the path rules
    /// before the call, and required where path rules exist
    pub path_arguments: &'static [&'static str],
    /// The fields of the result's items that hold repository paths; when not empty the
    /// registry drops every item whose path the policy denies, at any depth of the result
    pub listed_paths: &'static [&'static str],
}

impl ToolMeta {
    /// The call names one repository path in one of `arguments`.
    pub fn path_arguments(mut self, arguments: &'static [&'static str]) -> Self {
        self.path_arguments = arguments;
        self
    }

    /// The result lists repository paths in `fields` of its items (see
    /// [`ToolMeta::listed_paths`]).
    pub fn lists_paths(mut self, fields: &'static [&'static str]) -> Self {
        self.listed_paths = fields;
        self
    }
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
        path_arguments: &[],
        listed_paths: &[],
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
        let listed_paths = meta.listed_paths;
        let handler: Handler = Arc::new(move |ctx, mut args| {
            let f = f.clone();
            Box::pin(async move {
                let paths = PathFilter::of(&ctx);
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
                let mut text = output
                    .render_text()
                    .map_or(ToolText::Structured, ToolText::Custom);
                if paths.drop_denied(&mut structured, listed_paths) > 0 {
                    // The tool's own text may still name what was dropped.
                    text = ToolText::Structured;
                }
                Ok(ToolResult { text, structured })
            })
        });
        let decoder: Decoder = Arc::new(|args| {
            serde_json::from_value::<A>(serde_json::Value::Object(args))
                .map(|_| ())
                .map_err(|e| ToolError::InvalidArguments(e.to_string()))
        });
        let (name, kind, path_arguments) = (meta.name, meta.kind, meta.path_arguments);
        let describe: Describer = Arc::new(move || describe::<A, O>(&meta));
        let previous = self.tools.insert(
            name.to_string(),
            ToolSpec {
                kind,
                path_arguments,
                listed_paths,
                name,
                tool: Arc::default(),
                describe,
                handler,
                decoder,
            },
        );
        assert!(previous.is_none(), "tool `{name}` declared twice");
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

/// The path filter of listings, applied by the registry to the result of every tool that
/// declares [`ToolMeta::lists_paths`]: a tool gets it without code of its own. Tools may
/// still filter earlier (before capping, so counts and notices see only visible items, or
/// before fetching, so denied content is never read); what they already dropped is not
/// found again.
struct PathFilter {
    policy: Arc<Policy>,
    repo: Option<RepoName>,
}

impl PathFilter {
    fn of(ctx: &ToolContext) -> Self {
        Self {
            policy: Arc::clone(&ctx.policy),
            repo: ctx.repo.clone(),
        }
    }

    /// Drops, from every array of `value` at any depth, the objects whose `fields` hold a
    /// path the policy denies; returns how many were dropped.
    fn drop_denied(&self, value: &mut serde_json::Value, fields: &[&str]) -> usize {
        let Some(repo) = &self.repo else {
            return 0;
        };
        if fields.is_empty() {
            return 0;
        }
        let denied = |item: &serde_json::Value| {
            fields.iter().any(|field| {
                item.get(*field)
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|path| !self.policy.path_allowed(repo, path).allowed)
            })
        };
        let mut dropped = 0;
        match value {
            serde_json::Value::Array(items) => {
                let before = items.len();
                items.retain(|item| !denied(item));
                dropped += before - items.len();
                for item in items {
                    dropped += self.drop_denied(item, fields);
                }
            }
            serde_json::Value::Object(map) => {
                for item in map.values_mut() {
                    dropped += self.drop_denied(item, fields);
                }
            }
            _ => {}
        }
        dropped
    }
}

/// The MCP description of a tool taking `A` and returning `O`.
fn describe<A: JsonSchema + 'static, O: JsonSchema + 'static>(meta: &ToolMeta) -> Tool {
    let read_only = meta.kind == ToolKind::Read;
    let mut annotations = ToolAnnotations::new();
    annotations.title = Some(meta.title.to_string());
    annotations.read_only_hint = Some(read_only);
    annotations.destructive_hint = Some(!read_only && meta.destructive);
    annotations.idempotent_hint = Some(read_only || meta.idempotent);
    // Every tool talks to a Gitea instance whose content third parties write.
    annotations.open_world_hint = Some(true);
    Tool::new_with_raw(
        meta.name,
        Some(meta.description.into()),
        input_schema::<A>(),
    )
    .with_title(meta.title)
    .with_raw_output_schema(output_schema::<O>())
    .with_annotations(annotations)
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

    /// A listing tool declared with `lists_paths` has its result filtered by the registry,
    /// at any depth, with no filtering code of its own; the same tool declared without it
    /// is not filtered. Its facts reach the policy catalogue from the declaration.
    #[tokio::test]
    async fn a_new_listing_tool_gets_path_filtering_without_code_of_its_own() {
        #[derive(serde::Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        struct NoArgs {}

        #[derive(Serialize, JsonSchema)]
        struct Entry {
            path: String,
            children: Vec<Entry>,
        }

        #[derive(Serialize, JsonSchema)]
        struct Entries {
            entries: Vec<Entry>,
        }

        impl ToolOutput for Entries {
            // A text of its own that names every path: it must not survive a drop.
            fn render_text(&self) -> Option<String> {
                Some(self.entries.iter().map(|e| e.path.as_str()).collect())
            }
        }

        fn entry(path: &str, children: Vec<Entry>) -> Entry {
            Entry {
                path: path.into(),
                children,
            }
        }

        async fn list_everything(_: ToolContext, _: NoArgs) -> Result<Entries, ToolError> {
            Ok(Entries {
                entries: vec![
                    entry(
                        "src",
                        vec![
                            entry("src/main.rs", vec![]),
                            entry("src/secrets/key.pem", vec![]),
                        ],
                    ),
                    entry("src/secrets", vec![]),
                    entry("README.md", vec![]),
                ],
            })
        }

        let meta = |name| read_meta(name, "List everything", "A test tool.");
        let mut registry = ToolRegistry::default();
        registry.add(
            meta("list_everything").lists_paths(&["path"]),
            list_everything,
        );
        registry.add(meta("list_everything_raw"), list_everything);

        let catalogue = catalogue(&registry).unwrap();
        assert!(catalogue.facts("list_everything").unwrap().lists_paths);
        assert!(!catalogue.facts("list_everything_raw").unwrap().lists_paths);

        let policy = Policy::from_yaml_with(
            "repositories:\n  acme/app:\n    paths:\n      deny: [src/secrets/*]\n",
            catalogue,
        )
        .unwrap();
        let gitea = GiteaClient::new(aegis_gitea::GiteaClientConfig {
            api_base: url::Url::parse("http://127.0.0.1:9/api/v1/").unwrap(),
            timeout: std::time::Duration::from_secs(1),
            max_file_size_bytes: 1024,
        })
        .unwrap();
        let ctx = ToolContext {
            gitea,
            principal: Principal {
                subject: "test".into(),
                scopes: Default::default(),
                credential: aegis_edge::auth::Credential::Anonymous,
                gitea_login: None,
                check_repo_permission: false,
            },
            limits: Limits {
                max_items: 100,
                max_chars: 10_000,
                max_file_size_bytes: 1024,
            },
            request_id: "r".into(),
            policy: Arc::new(policy),
            repo: Some(RepoName::parse("acme/app").unwrap()),
        };
        let paths_of = |v: &serde_json::Value| -> Vec<String> {
            let mut out = Vec::new();
            fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
                for e in v.as_array().into_iter().flatten() {
                    out.push(e["path"].as_str().unwrap().to_string());
                    walk(&e["children"], out);
                }
            }
            walk(&v["entries"], &mut out);
            out
        };

        let spec = registry.get("list_everything").unwrap();
        let filtered = registry.call(spec, ctx.clone(), None).await.unwrap();
        assert_eq!(
            paths_of(&filtered.structured),
            ["src", "src/main.rs", "src/secrets", "README.md"]
        );
        assert_eq!(filtered.text, ToolText::Structured);

        let spec = registry.get("list_everything_raw").unwrap();
        let raw = registry.call(spec, ctx, None).await.unwrap();
        assert_eq!(
            paths_of(&raw.structured),
            [
                "src",
                "src/main.rs",
                "src/secrets/key.pem",
                "src/secrets",
                "README.md"
            ]
        );
        assert_eq!(raw.text, ToolText::Custom("srcsrc/secretsREADME.md".into()));
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
            let input = serde_json::Value::Object(spec.tool().input_schema.as_ref().clone());
            check(spec.name(), "#input", &input);
            let output = spec.tool().output_schema.as_ref().expect("output schema");
            check(
                spec.name(),
                "#output",
                &serde_json::Value::Object(output.as_ref().clone()),
            );
        }
    }

    /// Building the registry (every instance's start) derives no schema; the first
    /// description is derived once and shared by the registry's clones.
    #[test]
    fn schemas_are_derived_on_first_use_and_shared_by_clones() {
        let registry = ToolRegistry::standard();
        assert!(registry.iter().all(|spec| spec.tool.get().is_none()));
        let copy = registry.clone();
        let spec = registry.get("get_file_contents").unwrap();
        let first = Arc::clone(&spec.tool().input_schema);
        let again = copy.get("get_file_contents").unwrap();
        assert!(Arc::ptr_eq(&first, &again.tool().input_schema));
        assert_eq!(
            registry.iter().filter(|s| s.tool.get().is_some()).count(),
            1
        );
    }

    #[test]
    fn every_tool_has_schemas_that_reject_unknown_fields() {
        let registry = ToolRegistry::standard();
        assert!(registry.iter().count() >= 4);
        for spec in registry.iter() {
            let input = &spec.tool().input_schema;
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
            assert!(spec.tool().output_schema.is_some(), "{}", spec.name());
            let ann = spec.tool().annotations.as_ref().unwrap();
            assert_eq!(ann.read_only_hint, Some(spec.kind == ToolKind::Read));
        }
    }
}
