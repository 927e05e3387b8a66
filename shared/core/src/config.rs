//! Configuration: every variable of the spec's Configuration page, read once, validated, fail closed.
//!
//! `Config::from_env()` is the only place in the project that reads `std::env`; everything
//! else receives a `Config` (or the part of it it needs) explicitly.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use url::Url;

/// A configuration problem, always naming the variable so an operator can fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("`{var}` is required{why}")]
    Missing {
        var: &'static str,
        why: &'static str,
    },
    #[error("`{var}` has an invalid value `{value}`: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
    #[error("could not read `.env` file: {0}")]
    DotEnv(String),
}

/// A secret value: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `LOG_LEVEL` values of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// The `tracing` filter directive this level maps to.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error | LogLevel::Critical => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        })
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Self::Debug),
            "INFO" => Ok(Self::Info),
            "WARNING" | "WARN" => Ok(Self::Warning),
            "ERROR" => Ok(Self::Error),
            "CRITICAL" => Ok(Self::Critical),
            _ => Err("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL".into()),
        }
    }
}

/// `SECRET_DETECTION_MODE` values of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretDetectionMode {
    Off,
    Mask,
    Block,
}

impl fmt::Display for SecretDetectionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretDetectionMode::Off => "off",
            SecretDetectionMode::Mask => "mask",
            SecretDetectionMode::Block => "block",
        })
    }
}

impl FromStr for SecretDetectionMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "mask" => Ok(Self::Mask),
            "block" => Ok(Self::Block),
            _ => Err("expected one of off, mask, block".into()),
        }
    }
}

/// `ENVIRONMENT`: production hides internal error details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Development => "development",
            Environment::Production => "production",
        })
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" | "local" | "test" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            _ => Err("expected development or production".into()),
        }
    }
}

/// Where state lives: files under `DATA_DIR`, or DynamoDB/S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageBackend {
    Embedded,
    Aws,
}

impl fmt::Display for StorageBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageBackend::Embedded => "embedded",
            StorageBackend::Aws => "aws",
        })
    }
}

impl FromStr for StorageBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "embedded" | "file" | "local" => Ok(Self::Embedded),
            "aws" => Ok(Self::Aws),
            _ => Err("expected embedded or aws".into()),
        }
    }
}

/// Where the request path's audit batches become durable with `STORAGE_BACKEND=aws`
/// (`AUDIT_HOT_LOG`; docs/adr/0011-audit-hot-log.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditHotLog {
    /// One S3 segment per batch, written on the request path (the design before issue 16)
    Off,
    /// One create-only `PutItem` per batch in the state table; the sealer (the jobs
    /// function's `audit_seal`) writes the S3 segments a few minutes later
    Dynamodb,
}

impl fmt::Display for AuditHotLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditHotLog::Off => "off",
            AuditHotLog::Dynamodb => "dynamodb",
        })
    }
}

impl FromStr for AuditHotLog {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "dynamodb" => Ok(Self::Dynamodb),
            _ => Err("expected dynamodb or off".into()),
        }
    }
}

/// Which function this process serves (`AEGIS_FUNCTION`), and so which credentials it
/// must be given: on AWS each function receives only the secrets its code uses
/// (docs/adr/0006-function-secrets.md). `all` (the default: the local shim, `make dev`,
/// tests) requires every credential of the chosen authentication mode, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionRole {
    All,
    /// `/mcp`: authenticates clients (API keys, or the OAuth secrets) and calls Gitea
    Mcp,
    /// The authorization server: the OAuth secrets in OAuth mode, nothing in API-key mode
    OAuth,
    /// Signed deliveries: `WEBHOOK_SECRET`, and the service token its jobs act with
    Webhook,
    /// Scheduled jobs, no HTTP route: the service token and the digest signing key
    Jobs,
}

impl FunctionRole {
    /// Whether this function authenticates MCP clients, so needs the client credentials.
    pub fn authenticates_clients(self, oauth_mode: bool) -> bool {
        match self {
            FunctionRole::All | FunctionRole::Mcp => true,
            FunctionRole::OAuth => oauth_mode,
            FunctionRole::Webhook | FunctionRole::Jobs => false,
        }
    }
}

impl fmt::Display for FunctionRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FunctionRole::All => "all",
            FunctionRole::Mcp => "mcp",
            FunctionRole::OAuth => "oauth",
            FunctionRole::Webhook => "webhook",
            FunctionRole::Jobs => "jobs",
        })
    }
}

impl FromStr for FunctionRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "all" => Ok(Self::All),
            "mcp" => Ok(Self::Mcp),
            "oauth" => Ok(Self::OAuth),
            "webhook" => Ok(Self::Webhook),
            "jobs" => Ok(Self::Jobs),
            _ => Err("expected one of all, mcp, oauth, webhook, jobs".into()),
        }
    }
}

/// The roots outbound TLS trusts in place of the system's (`SSL_CERT_FILE`, `SSL_CERT_DIR`,
/// named as OpenSSL names them): a PEM bundle, directories of PEM files, or both. Empty: the
/// system's trust store (`aegis-http`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// `SSL_CERT_FILE`
    pub cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR`, split on `:`
    pub cert_dirs: Vec<PathBuf>,
}

impl TlsTrust {
    /// Whether roots are named at all (otherwise the system's store is used).
    pub fn is_named(&self) -> bool {
        self.cert_file.is_some() || !self.cert_dirs.is_empty()
    }

    /// For a binary that has no [`Config`] (the `aegis` CLI): the same variables, read and
    /// checked the same way.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        Self::from_vars(&Vars::new(&vars))
    }

    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        let file = v.text(
            "SSL_CERT_FILE",
            "unset",
            "A PEM bundle of the roots outbound TLS trusts (Gitea, AWS, client metadata), in place of the system's; must exist (troubleshooting.md: a private CA)",
        );
        let dirs = v.text(
            "SSL_CERT_DIR",
            "unset",
            "Directories of PEM files (`:`-separated) trusted in place of the system's roots, with `SSL_CERT_FILE` if both are set; each must exist",
        );
        // Each name must exist: a typo must not fall back to the system's roots silently.
        let existing = |var: &'static str, path: &str, is: fn(&Path) -> bool, what: &str| {
            if is(Path::new(path)) {
                Ok(PathBuf::from(path))
            } else {
                Err(ConfigError::Invalid {
                    var,
                    value: path.to_string(),
                    reason: format!("no such {what}"),
                })
            }
        };
        let cert_file = file
            .map(|f| {
                existing(
                    "SSL_CERT_FILE",
                    f,
                    Path::is_file,
                    "file (it names the PEM bundle of trusted roots)",
                )
            })
            .transpose()?;
        let cert_dirs = dirs
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.trim().is_empty())
            .map(|d| {
                existing(
                    "SSL_CERT_DIR",
                    d,
                    Path::is_dir,
                    "directory (it names directories of trusted PEM roots)",
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            cert_file,
            cert_dirs,
        })
    }
}

/// Where the AWS adapters keep state (`STORAGE_BACKEND=aws`); see docs/ARCHITECTURE.md
/// ("AWS storage adapters") for the key design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// `AEGIS_TABLE_NAME`: the one DynamoDB table (partition key `pk`, sort key `sk`, TTL
    /// attribute `ttl`)
    pub table_name: String,
    /// `AUDIT_S3_BUCKET`: audit segments and digests
    pub audit_bucket: String,
    /// `AUDIT_S3_PREFIX`: key prefix inside the bucket, empty or ending in `/`
    pub audit_prefix: String,
    /// `AWS_REGION`
    pub region: String,
    /// `AWS_ENDPOINT_URL`: an AWS API emulator (moto) instead of AWS; unset on AWS
    pub endpoint_url: Option<Url>,
}

impl AwsSettings {
    /// Reads (and so documents) the AWS variables always; they are required and validated
    /// only when `STORAGE_BACKEND=aws` (`required`), and `None` otherwise.
    fn from_vars(v: &Vars<'_>, required: bool) -> Result<Option<Self>, ConfigError> {
        let table = v.text(
            "AEGIS_TABLE_NAME",
            "unset",
            "The DynamoDB table of the AWS adapters (required with `STORAGE_BACKEND=aws`)",
        );
        let bucket = v.text(
            "AUDIT_S3_BUCKET",
            "unset",
            "The S3 bucket of audit segments and digests (required with `STORAGE_BACKEND=aws`)",
        );
        let prefix = v.text(
            "AUDIT_S3_PREFIX",
            "empty",
            "Key prefix of the audit objects inside `AUDIT_S3_BUCKET`",
        );
        let region_raw = v.text(
            "AWS_REGION",
            "unset (Lambda sets it)",
            "AWS region of the table and bucket (required with `STORAGE_BACKEND=aws`)",
        );
        let endpoint_url = v.url(
            "AWS_ENDPOINT_URL",
            "An AWS API emulator (moto) instead of AWS; never set on AWS",
        )?;
        if !required {
            return Ok(None);
        }
        let required = |value: Option<&str>, var: &'static str, why: &'static str| {
            value
                .map(str::to_string)
                .ok_or(ConfigError::Missing { var, why })
        };
        let table_name = required(
            table,
            "AEGIS_TABLE_NAME",
            " when STORAGE_BACKEND=aws (the DynamoDB table)",
        )?;
        let valid_table = (3..=255).contains(&table_name.len())
            && table_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid_table {
            return Err(ConfigError::Invalid {
                var: "AEGIS_TABLE_NAME",
                value: table_name,
                reason: "a DynamoDB table name is 3-255 characters of a-z, A-Z, 0-9, _ - .".into(),
            });
        }
        let audit_bucket = required(
            bucket,
            "AUDIT_S3_BUCKET",
            " when STORAGE_BACKEND=aws (the audit bucket)",
        )?;
        let valid_bucket = (3..=63).contains(&audit_bucket.len())
            && audit_bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
            && audit_bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && audit_bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid_bucket {
            return Err(ConfigError::Invalid {
                var: "AUDIT_S3_BUCKET",
                value: audit_bucket,
                reason: "an S3 bucket name is 3-63 characters of a-z, 0-9, . and -".into(),
            });
        }
        let audit_prefix = match prefix {
            None => String::new(),
            Some(raw) => {
                let trimmed = raw.trim_matches('/');
                let valid = !trimmed.is_empty()
                    && trimmed.len() <= 512
                    && trimmed.split('/').all(|part| {
                        !part.is_empty()
                            && part != "."
                            && part != ".."
                            && part.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
                            })
                    });
                if !valid {
                    return Err(ConfigError::Invalid {
                        var: "AUDIT_S3_PREFIX",
                        value: raw.to_string(),
                        reason: "expected path segments of a-z, A-Z, 0-9, - _ . separated by /"
                            .into(),
                    });
                }
                format!("{trimmed}/")
            }
        };
        let region = required(
            region_raw,
            "AWS_REGION",
            " when STORAGE_BACKEND=aws (Lambda sets it; e.g. us-east-1 with moto)",
        )?;
        if !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError::Invalid {
                var: "AWS_REGION",
                value: region,
                reason: "expected a region name such as eu-west-1".into(),
            });
        }
        Ok(Some(Self {
            table_name,
            audit_bucket,
            audit_prefix,
            region,
            endpoint_url,
        }))
    }
}

/// How audit records are stored, from the shape of `AUDIT_LOG_PATH`: a path ending in
/// `.log` or `.jsonl` is one JSON-lines file (the spec's single-file mode), anything else a
/// directory of segments and digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditLogMode {
    Segments,
    SingleFile,
}

impl AuditLogMode {
    fn of(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("log" | "jsonl") => Self::SingleFile,
            _ => Self::Segments,
        }
    }
}

/// An `owner/repo` pair, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    pub owner: String,
    pub repo: String,
}

impl RepoName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (owner, repo) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not of the form owner/repo"))?;
        let valid = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !valid(owner) || !valid(repo) {
            return Err(format!("`{s}` is not of the form owner/repo"));
        }
        Ok(Self {
            owner: owner.to_string(),
            repo: repo.to_string(),
        })
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

/// The whole configuration. Field docs name the variable.
#[derive(Debug, Clone)]
pub struct Config {
    // OAuth/OIDC
    /// `GITEA_URL`
    pub gitea_url: Url,
    /// OAuth 2.1 in front of Gitea's OAuth2 provider (`OAUTH_*`, `GITEA_OAUTH_*`).
    pub oauth: OAuthSettings,
    // MCP server
    /// `MCP_HOST`
    pub mcp_host: IpAddr,
    /// `MCP_PORT`
    pub mcp_port: u16,
    /// `PUBLIC_BASE_URL`
    pub public_base_url: Option<Url>,
    /// `ALLOW_INSECURE_BIND`
    pub allow_insecure_bind: bool,
    /// `LOG_LEVEL`
    pub log_level: LogLevel,
    /// `STARTUP_VALIDATE_GITEA`
    pub startup_validate_gitea: bool,
    /// OAuth Dynamic Client Registration (`DCR_*`).
    pub dcr: DcrSettings,
    // Security and limits
    /// Rate limits, authentication-failure lockout and the size limits of tool results.
    pub limits: Limits,
    /// `SECRET_DETECTION_MODE`
    pub secret_detection_mode: SecretDetectionMode,
    /// `REPO_AUTHZ_CACHE_TTL_SECONDS`
    pub repo_authz_cache_ttl_seconds: u64,
    // Write mode
    /// Write mode (`WRITE_*`): off by default, limited to a whitelist.
    pub write: WriteSettings,
    // Automation
    /// Webhooks and scheduled jobs (`AUTOMATION_*`, `WEBHOOK_*`).
    pub automation: AutomationSettings,
    // Standard API-key mode (the spec's "legacy compatibility" variables)
    /// `GITEA_TOKEN`: the service token
    pub gitea_token: Option<Secret>,
    /// `MCP_API_KEYS`
    pub mcp_api_keys: Vec<Secret>,
    /// `AUTH_ENABLED`
    pub auth_enabled: bool,
    // Additions of this implementation (docs/configuration.md)
    /// `ENVIRONMENT`
    pub environment: Environment,
    /// `DATA_DIR`: root of the embedded storage adapters
    pub data_dir: PathBuf,
    /// `STORAGE_BACKEND`
    pub storage_backend: StorageBackend,
    /// The AWS adapters' table, bucket and endpoint: `Some` exactly when
    /// `STORAGE_BACKEND=aws`
    pub aws: Option<AwsSettings>,
    /// `POLICY_FILE_PATH`
    pub policy_file_path: Option<PathBuf>,
    /// The audit trail: where, in which mode, and the key digests are signed with.
    pub audit: AuditSettings,
    /// `METRICS_ENABLED`
    pub metrics_enabled: bool,
    /// `METRICS_TOKEN`: bearer token a scraper of `/metrics` must present; without it
    /// `/metrics` answers loopback peers only
    pub metrics_token: Option<Secret>,
    /// `MAX_REQUEST_BODY_BYTES`
    pub max_request_body_bytes: usize,
    /// `ALLOWED_ORIGINS`: browser origins allowed to call `/mcp` (none by default)
    pub allowed_origins: Vec<String>,
    /// `ALLOWED_HOSTS`: extra `Host` names accepted besides loopback and `PUBLIC_BASE_URL`'s
    pub allowed_hosts: Vec<String>,
    /// `TRUSTED_PROXIES`: peers (CIDRs or addresses) whose `X-Forwarded-For` names the
    /// client; empty (the default) means the header is never read
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LOCKDOWN_MODE`: hide issue, pull-request and comment bodies written by users
    /// without push access to the repository
    pub lockdown_mode: bool,
    /// Whether `AWS_LAMBDA_RUNTIME_API` is set: serve through the Lambda runtime
    pub lambda_runtime: bool,
    /// The roots outbound TLS trusts, when not the system's
    pub tls: TlsTrust,
    /// `AEGIS_FUNCTION`: which credentials this process must be given
    pub function: FunctionRole,
}

/// OAuth 2.1 in front of Gitea's OAuth2 provider (`OAUTH_*`, `GITEA_OAUTH_*`).
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// `OAUTH_MODE`
    pub mode: bool,
    /// `GITEA_OAUTH_CLIENT_ID`
    pub client_id: Option<String>,
    /// `GITEA_OAUTH_CLIENT_SECRET`
    pub client_secret: Option<Secret>,
    /// `OAUTH_EXPECTED_AUDIENCE`
    pub expected_audience: Option<String>,
    /// `OAUTH_CACHE_TTL_SECONDS`
    pub cache_ttl_seconds: u64,
    /// `OAUTH_STATE_SECRET`
    pub state_secret: Option<Secret>,
    /// `OAUTH_STATE_SECRET_PREVIOUS`: still accepted (never used to sign or seal) while a
    /// rotation of `OAUTH_STATE_SECRET` completes
    pub state_secret_previous: Option<Secret>,
    /// `OAUTH_REDIRECT_ALLOWLIST`
    pub redirect_allowlist: Vec<String>,
    /// `OAUTH_ACCEPT_GITEA_TOKENS`: compatibility mode, off by default: also accept
    /// Gitea-issued OAuth tokens presented directly (no audience binding; see docs)
    pub accept_gitea_tokens: bool,
}

impl OAuthSettings {
    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
        mode: v.bool(
            "OAUTH_MODE",
            false,
            "Authenticate MCP clients with OAuth 2.1 through Gitea instead of API keys",
        )?,
        client_id: v
            .text(
                "GITEA_OAUTH_CLIENT_ID",
                "unset",
                "Client id of the gateway's OAuth2 application in Gitea (required with `OAUTH_MODE=true`)",
            )
            .map(str::to_string),
        client_secret: v.secret(
            "GITEA_OAUTH_CLIENT_SECRET",
            "Client secret of that application (required with `OAUTH_MODE=true`)",
        ),
        expected_audience: v
            .text(
                "OAUTH_EXPECTED_AUDIENCE",
                "unset",
                "Audience a presented JWT must carry (default: this gateway's resource URL)",
            )
            .map(str::to_string),
        cache_ttl_seconds: v.positive(
            "OAUTH_CACHE_TTL_SECONDS",
            300,
            "Seconds OIDC discovery, JWKS and token validations are cached",
        )?,
        state_secret: v.secret(
            "OAUTH_STATE_SECRET",
            "Key (at least 32 characters) that signs OAuth state and the gateway's tokens (required with `OAUTH_MODE=true`)",
        ),
        state_secret_previous: v.secret(
            "OAUTH_STATE_SECRET_PREVIOUS",
            "The previous `OAUTH_STATE_SECRET` during a rotation: what it signed or sealed is still accepted; nothing new uses it",
        ),
        redirect_allowlist: v.list(
            "OAUTH_REDIRECT_ALLOWLIST",
            "Redirect URIs (or prefixes) clients may register besides loopback ones",
        ),
        accept_gitea_tokens: v.bool(
            "OAUTH_ACCEPT_GITEA_TOKENS",
            false,
            "Compatibility: also accept Gitea-issued OAuth tokens presented directly (no audience binding)",
        )?,
        })
    }
}

/// OAuth Dynamic Client Registration (`DCR_*`).
#[derive(Debug, Clone)]
pub struct DcrSettings {
    /// `DCR_ENABLED`
    pub enabled: bool,
    /// `DCR_STORAGE_PATH`
    pub storage_path: PathBuf,
    /// `DCR_MAX_CLIENTS_PER_HOUR`
    pub max_clients_per_hour: u32,
}

impl DcrSettings {
    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            enabled: v.bool(
                "DCR_ENABLED",
                true,
                "Allow OAuth Dynamic Client Registration (`POST /register`)",
            )?,
            storage_path: PathBuf::from(v.text_or(
                "DCR_STORAGE_PATH",
                "/var/lib/aegis-mcp/dcr_clients.json",
                "File the embedded adapter keeps registered OAuth clients in",
            )),
            max_clients_per_hour: v.positive(
                "DCR_MAX_CLIENTS_PER_HOUR",
                50,
                "Most OAuth clients `POST /register` accepts per hour, from everyone together",
            )?,
        })
    }
}

/// Rate limits, authentication-failure lockout and the size limits of tool results.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `MAX_AUTH_FAILURES`
    pub max_auth_failures: u32,
    /// `AUTH_FAILURE_WINDOW` (seconds)
    pub auth_failure_window: u64,
    /// `RATE_LIMIT_PER_MINUTE`
    pub rate_limit_per_minute: u32,
    /// `TOKEN_RATE_LIMIT_PER_MINUTE`
    pub token_rate_limit_per_minute: u32,
    /// `OAUTH_RATE_LIMIT_PER_MINUTE`
    pub oauth_rate_limit_per_minute: u32,
    /// `MAX_FILE_SIZE_BYTES`
    pub max_file_size_bytes: u64,
    /// `MAX_TOOL_RESPONSE_ITEMS`
    pub max_tool_response_items: usize,
    /// `MAX_TOOL_RESPONSE_CHARS`
    pub max_tool_response_chars: usize,
    /// `REQUEST_TIMEOUT_SECONDS`
    pub request_timeout_seconds: u64,
}

impl Limits {
    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
        max_auth_failures: v.positive(
            "MAX_AUTH_FAILURES",
            5,
            "Presented, invalid credentials per client IP within `AUTH_FAILURE_WINDOW` before further failing attempts from it are refused (a request without a credential does not count; a valid one is never refused)",
        )?,
        auth_failure_window: v.positive(
            "AUTH_FAILURE_WINDOW",
            300,
            "Window in seconds for `MAX_AUTH_FAILURES`",
        )?,
        rate_limit_per_minute: v.positive(
            "RATE_LIMIT_PER_MINUTE",
            60,
            "Unauthenticated requests per minute per client IP (public routes, and authenticated routes without a valid credential)",
        )?,
        token_rate_limit_per_minute: v.positive(
            "TOKEN_RATE_LIMIT_PER_MINUTE",
            120,
            "Authenticated requests per minute per credential, from any address; the budget may be spent in one burst",
        )?,
        oauth_rate_limit_per_minute: v.positive(
            "OAUTH_RATE_LIMIT_PER_MINUTE",
            300,
            "Requests per minute per client IP to the OAuth endpoints, discovery documents and `/register` (a budget of their own)",
        )?,
        max_file_size_bytes: v.positive(
            "MAX_FILE_SIZE_BYTES",
            1_048_576u64,
            "Largest file a read tool returns, in bytes",
        )?,
        max_tool_response_items: v.positive(
            "MAX_TOOL_RESPONSE_ITEMS",
            200usize,
            "Most items one listing returns",
        )?,
        max_tool_response_chars: v.positive(
            "MAX_TOOL_RESPONSE_CHARS",
            20_000usize,
            "Most characters of text one tool result carries (longer fields are cut and marked)",
        )?,
        request_timeout_seconds: v.positive(
            "REQUEST_TIMEOUT_SECONDS",
            30u64,
            "Timeout of each Gitea request, in seconds",
        )?,
        })
    }
}

/// Write mode (`WRITE_*`): off by default, limited to a whitelist.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    /// `WRITE_MODE`
    pub enabled: bool,
    /// `WRITE_REPOSITORY_WHITELIST`
    pub repository_whitelist: Vec<RepoName>,
    /// `WRITE_ALLOW_ALL_TOKEN_REPOS`
    pub allow_all_token_repos: bool,
}

impl WriteSettings {
    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        let enabled = v.bool(
            "WRITE_MODE",
            false,
            "Offer the write tools (still subject to the whitelist and the policy)",
        )?;
        let repository_whitelist = v
            .list(
                "WRITE_REPOSITORY_WHITELIST",
                "`owner/repo` entries write tools may change (required with `WRITE_MODE=true` unless `WRITE_ALLOW_ALL_TOKEN_REPOS=true`)",
            )
            .iter()
            .map(|s| {
                RepoName::parse(s).map_err(|reason| ConfigError::Invalid {
                    var: "WRITE_REPOSITORY_WHITELIST",
                    value: s.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allow_all_token_repos = v.bool(
            "WRITE_ALLOW_ALL_TOKEN_REPOS",
            false,
            "Let write tools change every repository the token can write, ignoring the whitelist",
        )?;
        Ok(Self {
            enabled,
            repository_whitelist,
            allow_all_token_repos,
        })
    }
}

/// Webhooks and scheduled jobs (`AUTOMATION_*`, `WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct AutomationSettings {
    /// `AUTOMATION_ENABLED`
    pub enabled: bool,
    /// `AUTOMATION_SCHEDULER_ENABLED`
    pub scheduler_enabled: bool,
    /// `AUTOMATION_STALE_DAYS`
    pub stale_days: u32,
    /// `AUTOMATION_SCHEDULER_INTERVAL_SECONDS`: how often the local shim's scheduler loop
    /// runs the jobs (`AUTOMATION_SCHEDULER_ENABLED`; EventBridge decides on AWS)
    pub scheduler_interval_seconds: u64,
    /// `AUTOMATION_JOB_TIMEOUT_SECONDS`: the time budget of one job run
    pub job_timeout_seconds: u64,
    /// `WEBHOOK_SECRET`: the secret Gitea signs webhook deliveries with (`X-Gitea-Signature`)
    pub webhook_secret: Option<Secret>,
    /// `WEBHOOK_MAX_BODY_BYTES`: larger deliveries are refused (413) before hashing
    pub webhook_max_body_bytes: usize,
}

impl AutomationSettings {
    fn from_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
        enabled: v.bool(
            "AUTOMATION_ENABLED",
            false,
            "Enable the webhook and job endpoints",
        )?,
        scheduler_enabled: v.bool(
            "AUTOMATION_SCHEDULER_ENABLED",
            false,
            "Run scheduled jobs",
        )?,
        stale_days: v.positive(
            "AUTOMATION_STALE_DAYS",
            30u32,
            "Days without activity after which the stale-issue job reports an issue",
        )?,
        scheduler_interval_seconds: v.positive(
            "AUTOMATION_SCHEDULER_INTERVAL_SECONDS",
            3600u64,
            "Seconds between runs of the local shim's scheduler loop (EventBridge schedules the jobs on AWS)",
        )?,
        job_timeout_seconds: v.positive(
            "AUTOMATION_JOB_TIMEOUT_SECONDS",
            25u64,
            "Time budget of one job run, in seconds",
        )?,
        webhook_secret: v.secret(
            "WEBHOOK_SECRET",
            "The secret Gitea signs webhook deliveries with (`X-Gitea-Signature`); at least 16 characters",
        ),
        webhook_max_body_bytes: v.positive(
            "WEBHOOK_MAX_BODY_BYTES",
            262_144usize,
            "Largest webhook delivery accepted, in bytes (413 above, before hashing)",
        )?,
        })
    }
}
/// The audit trail (`AUDIT_*`): where it is written, how, and the key digests are signed
/// with.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// `AUDIT_LOG_PATH`
    pub log_path: PathBuf,
    /// Derived from `AUDIT_LOG_PATH`; always `Segments` with `STORAGE_BACKEND=aws` (the
    /// segments and digests go to `AUDIT_S3_BUCKET`, `AUDIT_LOG_PATH` is not used)
    pub log_mode: AuditLogMode,
    /// `AUDIT_HOT_LOG`: `Dynamodb` by default with `STORAGE_BACKEND=aws`, always `Off`
    /// with the embedded backend (which keeps its file or segment modes)
    pub hot_log: AuditHotLog,
    /// `AUDIT_SIGNING_KEY`: the Ed25519 seed (64 hex digits or base64) digests are signed
    /// with; its public key (`public_key_hex()`) is what auditors pin. Never printed.
    pub signing_key: Option<crate::audit::AuditSigner>,
}

impl AuditSettings {
    fn from_vars(
        v: &Vars<'_>,
        data_dir: &std::path::Path,
        backend: StorageBackend,
    ) -> Result<Self, ConfigError> {
        // The spec's default is one JSON-lines file (one fdatasync per batch: the cheapest
        // durable write on a local disk); a directory selects segments and digests.
        let log_path = v
            .text(
                "AUDIT_LOG_PATH",
                "`$DATA_DIR/audit.log`",
                "Audit trail location: a `.log`/`.jsonl` path is one JSON-lines file, anything else a directory of segments and signed digests",
            )
            .map(PathBuf::from)
            .unwrap_or_else(|| default_audit_log_path(data_dir));
        let signing_key = v
            .secret(
                "AUDIT_SIGNING_KEY",
                "Ed25519 seed (64 hex digits or base64) audit digests are signed with",
            )
            .map(|raw| {
                crate::audit::AuditSigner::parse(raw.expose()).map_err(|e| ConfigError::Invalid {
                    var: "AUDIT_SIGNING_KEY",
                    value: "***".into(),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let hot_log = match v.text(
            "AUDIT_HOT_LOG",
            "`dynamodb` with `STORAGE_BACKEND=aws`, else `off`",
            "Where a call's audit records become durable on AWS: `dynamodb` (one conditional PutItem in the state table; the jobs function's `audit_seal` writes S3 segments within minutes) or `off` (one S3 segment per call, on the request path)",
        ) {
            None if backend == StorageBackend::Aws => AuditHotLog::Dynamodb,
            None => AuditHotLog::Off,
            Some(raw) => {
                let mode = raw.parse::<AuditHotLog>().map_err(|reason| ConfigError::Invalid {
                    var: "AUDIT_HOT_LOG",
                    value: raw.to_string(),
                    reason,
                })?;
                if mode == AuditHotLog::Dynamodb && backend != StorageBackend::Aws {
                    return Err(ConfigError::Invalid {
                        var: "AUDIT_HOT_LOG",
                        value: raw.to_string(),
                        reason: "the DynamoDB hot log needs `STORAGE_BACKEND=aws`".into(),
                    });
                }
                mode
            }
        };
        let log_mode = match backend {
            StorageBackend::Aws => AuditLogMode::Segments,
            StorageBackend::Embedded => AuditLogMode::of(&log_path),
        };
        Ok(Self {
            log_path,
            log_mode,
            hot_log,
            signing_key,
        })
    }
}

/// One `TRUSTED_PROXIES` entry: a CIDR (`10.0.0.0/8`) or a single address.
fn parse_cidr(s: &str) -> Result<ipnet::IpNet, ConfigError> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            var: "TRUSTED_PROXIES",
            value: s.to_string(),
            reason: "expected a CIDR such as `10.0.0.0/8` or an IP address".into(),
        })
}

/// The minimum length of an `MCP_API_KEYS` entry and of `OAUTH_STATE_SECRET`.
pub const MIN_SECRET_LEN: usize = 32;

/// The minimum length of `WEBHOOK_SECRET`.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 16;

/// One variable `Config::from_vars` reads, as it documents itself at the read site: the
/// configuration table of `docs/configuration.md` is generated from these records, so the
/// code that reads a variable is the only place its name, type, default and meaning are
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarDoc {
    pub name: &'static str,
    /// `boolean`, `integer > 0`, `URL`, `secret`, ... (the accessor's kind)
    pub kind: String,
    /// The default as an operator would write it, or `unset`
    pub default: String,
    pub description: &'static str,
}

/// A value type a variable may be parsed into, with the words the docs use for it.
pub trait VarKind {
    const KIND: &'static str;
}

macro_rules! var_kind {
    ($($t:ty => $kind:expr),* $(,)?) => {$(
        impl VarKind for $t {
            const KIND: &'static str = $kind;
        }
    )*};
}

var_kind!(
    u16 => "integer",
    u32 => "integer",
    u64 => "integer",
    usize => "integer",
    IpAddr => "IP address",
    LogLevel => "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`",
    SecretDetectionMode => "`off`, `mask` or `block`",
    Environment => "`development` or `production`",
    StorageBackend => "`embedded` or `aws`",
    FunctionRole => "`all`, `mcp`, `oauth`, `webhook` or `jobs`",
);

struct Vars<'a> {
    map: &'a HashMap<String, String>,
    /// Every variable read, in reading order (`Config::variables`)
    read: std::cell::RefCell<Vec<VarDoc>>,
}

impl<'a> Vars<'a> {
    fn new(map: &'a HashMap<String, String>) -> Self {
        Self {
            map,
            read: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn record(&self, name: &'static str, kind: &str, default: String, description: &'static str) {
        self.read.borrow_mut().push(VarDoc {
            name,
            kind: kind.to_string(),
            default,
            description,
        });
    }

    /// The trimmed value, with an empty string meaning unset.
    fn raw(&self, var: &'static str) -> Option<&'a str> {
        self.map
            .get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// An optional string; `default` is how the docs describe its absence.
    /// A string with a default, recorded and returned from the same literal.
    fn text_or(
        &self,
        var: &'static str,
        default: &'static str,
        description: &'static str,
    ) -> &'a str {
        self.text(var, default, description).unwrap_or(default)
    }

    fn text(&self, var: &'static str, default: &str, description: &'static str) -> Option<&'a str> {
        self.record(var, "string", default.to_string(), description);
        self.raw(var)
    }

    /// An optional secret (never printed).
    fn secret(&self, var: &'static str, description: &'static str) -> Option<Secret> {
        self.record(var, "secret", "unset".into(), description);
        self.raw(var).map(Secret::new)
    }

    fn parse<T: FromStr + fmt::Display + VarKind>(
        &self,
        var: &'static str,
        default: T,
        description: &'static str,
    ) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        self.record(var, T::KIND, default.to_string(), description);
        self.parse_unrecorded(var, default)
    }

    fn parse_unrecorded<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.raw(var) {
            None => Ok(default),
            Some(raw) => raw.parse::<T>().map_err(|e| ConfigError::Invalid {
                var,
                value: raw.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn bool(
        &self,
        var: &'static str,
        default: bool,
        description: &'static str,
    ) -> Result<bool, ConfigError> {
        self.record(var, "boolean", default.to_string(), description);
        match self.raw(var) {
            None => Ok(default),
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    var,
                    value: raw.to_string(),
                    reason: "expected true or false".into(),
                }),
            },
        }
    }

    fn positive<T>(
        &self,
        var: &'static str,
        default: T,
        description: &'static str,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Default + Copy + fmt::Display + VarKind,
        T::Err: fmt::Display,
    {
        self.record(
            var,
            &format!("{} > 0", T::KIND),
            default.to_string(),
            description,
        );
        let value = self.parse_unrecorded(var, default)?;
        if value <= T::default() {
            return Err(ConfigError::Invalid {
                var,
                value: self.raw(var).unwrap_or_default().to_string(),
                reason: "must be greater than zero".into(),
            });
        }
        Ok(value)
    }

    fn list(&self, var: &'static str, description: &'static str) -> Vec<String> {
        self.record(var, "comma-separated list", "empty".into(), description);
        self.raw(var)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn url(
        &self,
        var: &'static str,
        description: &'static str,
    ) -> Result<Option<Url>, ConfigError> {
        self.record(var, "http(s) URL", "unset".into(), description);
        let Some(raw) = self.raw(var) else {
            return Ok(None);
        };
        let url = Url::parse(raw).map_err(|e| ConfigError::Invalid {
            var,
            value: raw.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid {
                var,
                value: raw.to_string(),
                reason: "must be an http or https URL with a host".into(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::Invalid {
                var,
                value: raw.to_string(),
                reason: "must not carry a query or fragment".into(),
            });
        }
        Ok(Some(url))
    }
}

/// `DATA_DIR` when unset.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/aegis-mcp";

/// `AUDIT_LOG_PATH` when unset: one JSON-lines file under `DATA_DIR` (`make dev` sets a
/// segment directory instead, `.data/audit`).
pub fn default_audit_log_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("audit.log")
}

/// Loads `.env` (the nearest one from the working directory up) into the process
/// environment, without overriding variables already set. `Config::from_env` does this;
/// the `aegis` command line does too, so `POLICY_FILE_PATH` and `AUDIT_LOG_PATH` in `.env`
/// mean the same to it as to the gateway.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(ConfigError::DotEnv(e.to_string())),
    }
}

/// Where the gateway's audit trail is, as the environment (after [`load_dotenv`]) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditLogLocation {
    /// `AUDIT_LOG_PATH` is set
    Configured(PathBuf),
    /// `AUDIT_LOG_PATH` is unset and `DATA_DIR` set: the default file under it
    UnderDataDir(PathBuf),
    /// Neither is set: the default file under [`DEFAULT_DATA_DIR`]
    Default(PathBuf),
}

impl AuditLogLocation {
    /// The location for this process's environment, as `Config::from_env` would resolve it.
    pub fn from_env() -> Self {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        match (set("AUDIT_LOG_PATH"), set("DATA_DIR")) {
            (Some(path), _) => Self::Configured(PathBuf::from(path)),
            (None, Some(dir)) => Self::UnderDataDir(default_audit_log_path(dir.as_ref())),
            (None, None) => Self::Default(default_audit_log_path(DEFAULT_DATA_DIR.as_ref())),
        }
    }
}

/// Whether this process runs inside the AWS Lambda runtime (`AWS_LAMBDA_RUNTIME_API` set,
/// as Lambda sets it): what a binary asks before it has read its configuration, to choose its
/// async runtime. [`Config::lambda_runtime`] is the same answer once the configuration is
/// read (a `.env` file does not set it: Lambda does).
pub fn lambda_runtime_present() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API")
        .is_some_and(|v| !v.to_string_lossy().trim().is_empty())
}

/// Something allowed but probably not meant, logged as a warning at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    pub var: &'static str,
    pub message: String,
}

impl Config {
    /// Reads `.env` (when present; real environment variables win) and the environment,
    /// then validates. The only function in the project that touches `std::env` (with
    /// [`load_dotenv`] and [`AuditLogLocation::from_env`], which the command line shares).
    pub fn from_env() -> Result<Self, ConfigError> {
        load_dotenv()?;
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    /// What a valid configuration still should not do unnoticed: logged at start.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let mut out = Vec::new();
        if self.gitea_url.scheme() == "http" && !url_is_loopback(&self.gitea_url) {
            out.push(ConfigWarning {
                var: "GITEA_URL",
                message: format!(
                    "`GITEA_URL` is plain http to a non-loopback host (`{}`): the Gitea token and repository data cross the network unencrypted; use https",
                    self.gitea_url.host_str().unwrap_or_default()
                ),
            });
        }
        out
    }

    /// Builds and validates a configuration from a map of variables (tests use this).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::read(vars).0
    }

    /// Every variable `from_vars` reads, in reading order, with its type, default and
    /// description as written at the read site: the source of `docs/configuration.md`.
    pub fn variables() -> Vec<VarDoc> {
        // The smallest valid configuration, so that every read happens.
        let minimal: HashMap<String, String> = [
            ("GITEA_URL", "http://127.0.0.1:3000"),
            ("MCP_API_KEYS", "0123456789abcdef0123456789abcdef"),
            ("GITEA_TOKEN", "token"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self::read(&minimal).1
    }

    fn read(vars: &HashMap<String, String>) -> (Result<Self, ConfigError>, Vec<VarDoc>) {
        let v = Vars::new(vars);
        let config = Self::parse_vars(&v);
        (config, v.read.into_inner())
    }

    fn parse_vars(v: &Vars<'_>) -> Result<Self, ConfigError> {
        let gitea_url = v
            .url("GITEA_URL", "Base URL of the Gitea instance (required)")?
            .ok_or(ConfigError::Missing {
                var: "GITEA_URL",
                why: " (the base URL of your Gitea instance)",
            })?;
        let public_base_url = v.url(
            "PUBLIC_BASE_URL",
            "The public URL clients reach the gateway at; https unless loopback. Used in OAuth metadata and challenges (default: derived from `Host`)",
        )?;

        let data_dir = PathBuf::from(v.text_or(
            "DATA_DIR",
            DEFAULT_DATA_DIR,
            "Root directory of the embedded storage adapters (`STORAGE_BACKEND=embedded`)",
        ));
        let storage_backend = v.parse(
            "STORAGE_BACKEND",
            StorageBackend::Embedded,
            "Where state lives: files under `DATA_DIR`, or DynamoDB and S3",
        )?;
        let aws = AwsSettings::from_vars(v, storage_backend == StorageBackend::Aws)?;
        let audit = AuditSettings::from_vars(v, &data_dir, storage_backend)?;
        let config = Config {
            gitea_url,
            oauth: OAuthSettings::from_vars(v)?,
            mcp_host: v.parse(
                "MCP_HOST",
                IpAddr::from([127, 0, 0, 1]),
                "Interface the local server binds (non-loopback needs `ALLOW_INSECURE_BIND=true`)",
            )?,
            mcp_port: v.parse("MCP_PORT", 8080u16, "Port the local server binds")?,
            public_base_url,
            allow_insecure_bind: v.bool(
                "ALLOW_INSECURE_BIND",
                false,
                "Allow binding a non-loopback interface",
            )?,
            log_level: v.parse("LOG_LEVEL", LogLevel::Info, "Log level of the JSON logs")?,
            startup_validate_gitea: v.bool(
                "STARTUP_VALIDATE_GITEA",
                true,
                "Check at start-up that Gitea answers `/api/v1/version` and accepts `GITEA_TOKEN` (OAuth mode: knows `GITEA_OAUTH_CLIENT_ID`/`_SECRET`); refuse to start naming the variable to fix. On Lambda once per instance, in INIT (troubleshooting.md)",
            )?,
            dcr: DcrSettings::from_vars(v)?,
            limits: Limits::from_vars(v)?,
            secret_detection_mode: v.parse(
                "SECRET_DETECTION_MODE",
                SecretDetectionMode::Mask,
                "What the secret scanner does with secrets in tool output: nothing, mask them, or refuse the result",
            )?,
            repo_authz_cache_ttl_seconds: v.parse(
                "REPO_AUTHZ_CACHE_TTL_SECONDS",
                60u64,
                "Seconds a user's repository permission is cached in OAuth mode (0: no cache)",
            )?,
            write: WriteSettings::from_vars(v)?,
            automation: AutomationSettings::from_vars(v)?,
            gitea_token: v.secret(
                "GITEA_TOKEN",
                "Gitea service token used for Gitea calls in API-key mode",
            ),
            mcp_api_keys: v
                .list(
                    "MCP_API_KEYS",
                    "API keys (at least 32 characters each) MCP clients present as `Authorization: Bearer` in API-key mode; secret",
                )
                .into_iter()
                .map(Secret::new)
                .collect(),
            auth_enabled: v.bool(
                "AUTH_ENABLED",
                true,
                "Require an API key in API-key mode (false: no authentication, local use only)",
            )?,
            environment: v.parse(
                "ENVIRONMENT",
                Environment::Production,
                "Deployment environment",
            )?,
            storage_backend,
            aws,
            policy_file_path: v
                .text(
                    "POLICY_FILE_PATH",
                    "unset (built-in defaults)",
                    "YAML policy file (see policy.md)",
                )
                .map(PathBuf::from),
            audit,
            data_dir,
            metrics_enabled: v.bool(
                "METRICS_ENABLED",
                true,
                "Serve `GET /metrics` (outside Lambda; see observability.md)",
            )?,
            metrics_token: v.secret(
                "METRICS_TOKEN",
                "Bearer token a `/metrics` scraper must present; unset: loopback peers only",
            ),
            max_request_body_bytes: v.positive(
                "MAX_REQUEST_BODY_BYTES",
                1_048_576usize,
                "Largest request body accepted, in bytes (413 above)",
            )?,
            allowed_origins: v.list(
                "ALLOWED_ORIGINS",
                "Browser origins allowed to call the gateway (none by default)",
            ),
            allowed_hosts: v.list(
                "ALLOWED_HOSTS",
                "Extra `Host` names accepted besides loopback and `PUBLIC_BASE_URL`'s",
            ),
            trusted_proxies: v
                .list(
                    "TRUSTED_PROXIES",
                    "Peers (CIDRs or addresses) whose `X-Forwarded-For` names the client; empty: the header is never read",
                )
                .iter()
                .map(|s| parse_cidr(s))
                .collect::<Result<Vec<_>, _>>()?,
            lockdown_mode: v.bool(
                "LOCKDOWN_MODE",
                false,
                "Hide issue, pull-request and comment bodies written by users without push access to the repository",
            )?,
            tls: TlsTrust::from_vars(v)?,
            lambda_runtime: v
                .text(
                    "AWS_LAMBDA_RUNTIME_API",
                    "unset",
                    "Set by AWS Lambda itself: serve through the Lambda runtime and emit metrics as EMF",
                )
                .is_some(),
            function: v.parse(
                "AEGIS_FUNCTION",
                FunctionRole::All,
                "Which function this process is; decides which credentials must be set (each AWS function gets only its own; `all` locally)",
            )?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Cross-variable rules: everything that must hold before the server may start.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(secret) = &self.automation.webhook_secret {
            if secret.expose().chars().count() < MIN_WEBHOOK_SECRET_LEN {
                return Err(ConfigError::Invalid {
                    var: "WEBHOOK_SECRET",
                    value: "***".into(),
                    reason: format!("must be at least {MIN_WEBHOOK_SECRET_LEN} characters"),
                });
            }
        }
        if !self.mcp_host.is_loopback() && !self.allow_insecure_bind {
            return Err(ConfigError::Invalid {
                var: "MCP_HOST",
                value: self.mcp_host.to_string(),
                reason: "binding a non-loopback interface requires ALLOW_INSECURE_BIND=true".into(),
            });
        }
        if let Some(url) = &self.public_base_url {
            if url.scheme() != "https" && !url_is_loopback(url) {
                return Err(ConfigError::Invalid {
                    var: "PUBLIC_BASE_URL",
                    value: url.to_string(),
                    reason: "must be https unless it points at a loopback host".into(),
                });
            }
        }
        if let Some(previous) = &self.oauth.state_secret_previous {
            if previous.expose().chars().count() < MIN_SECRET_LEN {
                return Err(ConfigError::Invalid {
                    var: "OAUTH_STATE_SECRET_PREVIOUS",
                    value: "***".into(),
                    reason: format!("must be at least {MIN_SECRET_LEN} characters"),
                });
            }
        }
        // The webhook and jobs functions (and the OAuth function in API-key mode)
        // authenticate no client: they are given no client credential to check.
        let checks_clients = self.function.authenticates_clients(self.oauth.mode);
        if checks_clients && self.oauth.mode {
            if self.oauth.client_id.is_none() {
                return Err(ConfigError::Missing {
                    var: "GITEA_OAUTH_CLIENT_ID",
                    why: " when OAUTH_MODE=true",
                });
            }
            if self.oauth.client_secret.is_none() {
                return Err(ConfigError::Missing {
                    var: "GITEA_OAUTH_CLIENT_SECRET",
                    why: " when OAUTH_MODE=true",
                });
            }
            match &self.oauth.state_secret {
                None => {
                    return Err(ConfigError::Missing {
                        var: "OAUTH_STATE_SECRET",
                        why: " when OAUTH_MODE=true (e.g. `openssl rand -hex 32`)",
                    })
                }
                Some(secret) if secret.expose().chars().count() < MIN_SECRET_LEN => {
                    return Err(ConfigError::Invalid {
                        var: "OAUTH_STATE_SECRET",
                        value: "***".into(),
                        reason: format!("must be at least {MIN_SECRET_LEN} characters"),
                    })
                }
                Some(_) => {}
            }
        } else if checks_clients && !self.oauth.mode && self.auth_enabled {
            if self.mcp_api_keys.is_empty() {
                return Err(ConfigError::Missing {
                    var: "MCP_API_KEYS",
                    why: " when OAUTH_MODE=false and AUTH_ENABLED=true (generate one with `make generate-key`)",
                });
            }
            if let Some(short) = self
                .mcp_api_keys
                .iter()
                .position(|k| k.expose().chars().count() < MIN_SECRET_LEN)
            {
                return Err(ConfigError::Invalid {
                    var: "MCP_API_KEYS",
                    value: format!("entry #{}", short + 1),
                    reason: format!(
                        "each key must be at least {MIN_SECRET_LEN} characters (generate one with `make generate-key`)"
                    ),
                });
            }
            if self.gitea_token.is_none() {
                return Err(ConfigError::Missing {
                    var: "GITEA_TOKEN",
                    why: " in API-key mode (the service token used for Gitea calls)",
                });
            }
        }
        if self.write.enabled
            && !self.write.allow_all_token_repos
            && self.write.repository_whitelist.is_empty()
        {
            return Err(ConfigError::Missing {
                var: "WRITE_REPOSITORY_WHITELIST",
                why: " when WRITE_MODE=true and WRITE_ALLOW_ALL_TOKEN_REPOS=false",
            });
        }
        Ok(())
    }

    /// The Gitea REST API base, `<GITEA_URL>/api/v1/`.
    pub fn gitea_api_base(&self) -> Url {
        let mut base = self.gitea_url.clone();
        let path = format!("{}/api/v1/", base.path().trim_end_matches('/'));
        base.set_path(&path);
        base
    }

    /// The address the local server binds to.
    pub fn bind_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.mcp_host, self.mcp_port)
    }
}

fn url_is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn base() -> HashMap<String, String> {
        [
            ("GITEA_URL", "http://127.0.0.1:3000"),
            ("MCP_API_KEYS", KEY),
            ("GITEA_TOKEN", "service-token"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars = base();
        for (k, v) in pairs {
            vars.insert(k.to_string(), v.to_string());
        }
        Config::from_vars(&vars)
    }

    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` name the trusted roots; a name that does not exist
    /// refuses to start, naming the variable (a typo must not fall back to the system's
    /// roots silently); `SSL_CERT_DIR` is a `:`-separated list.
    #[test]
    fn tls_roots_are_named_by_existing_paths() {
        assert!(!with(&[]).unwrap().tls.is_named());
        let dir = std::env::temp_dir().join(format!("aegis-config-tls-{}", std::process::id()));
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let bundle = dir.join("bundle.pem");
        std::fs::write(&bundle, "").unwrap();
        let listed = format!("{}:{}", a.display(), b.display());
        let c = with(&[
            ("SSL_CERT_FILE", bundle.to_str().unwrap()),
            ("SSL_CERT_DIR", &listed),
        ])
        .unwrap();
        assert_eq!(c.tls.cert_file.as_deref(), Some(bundle.as_path()));
        assert_eq!(c.tls.cert_dirs, vec![a.clone(), b.clone()]);
        let missing = dir.join("nope.pem");
        match with(&[("SSL_CERT_FILE", missing.to_str().unwrap())]) {
            Err(ConfigError::Invalid { var, value, .. }) => {
                assert_eq!(
                    (var, value.as_str()),
                    ("SSL_CERT_FILE", missing.to_str().unwrap())
                )
            }
            other => panic!("{other:?}"),
        }
        let half = format!("{}:{}", a.display(), dir.join("gone").display());
        match with(&[("SSL_CERT_DIR", &half)]) {
            Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, "SSL_CERT_DIR"),
            other => panic!("{other:?}"),
        }
        // a file is not a directory, nor a directory a bundle
        assert!(with(&[("SSL_CERT_DIR", bundle.to_str().unwrap())]).is_err());
        assert!(with(&[("SSL_CERT_FILE", a.to_str().unwrap())]).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Each AWS function is given only the secrets it uses: the ones that authenticate no
    /// client start without client credentials; `all` (the default) and `mcp` still
    /// refuse to start without them.
    #[test]
    fn credentials_are_required_only_where_the_function_uses_them() {
        let bare = |pairs: &[(&str, &str)]| {
            let vars: HashMap<String, String> =
                std::iter::once(("GITEA_URL", "http://127.0.0.1:3000"))
                    .chain(pairs.iter().copied())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            Config::from_vars(&vars)
        };
        let oauth = [("OAUTH_MODE", "true"), ("GITEA_OAUTH_CLIENT_ID", "client")];
        for function in ["webhook", "jobs"] {
            let c = bare(&[("AEGIS_FUNCTION", function)]).unwrap();
            assert!(c.mcp_api_keys.is_empty() && c.gitea_token.is_none());
            bare(&[oauth[0], ("AEGIS_FUNCTION", function)]).unwrap();
        }
        bare(&[("AEGIS_FUNCTION", "oauth")]).unwrap();
        for function in ["all", "mcp"] {
            assert!(matches!(
                bare(&[("AEGIS_FUNCTION", function)]),
                Err(ConfigError::Missing {
                    var: "MCP_API_KEYS",
                    ..
                })
            ));
        }
        for function in ["all", "mcp", "oauth"] {
            assert!(matches!(
                bare(&[oauth[0], oauth[1], ("AEGIS_FUNCTION", function)]),
                Err(ConfigError::Missing {
                    var: "GITEA_OAUTH_CLIENT_SECRET",
                    ..
                })
            ));
        }
        assert_eq!(with(&[]).unwrap().function, FunctionRole::All);
        assert!(matches!(
            with(&[("AEGIS_FUNCTION", "signer")]),
            Err(ConfigError::Invalid {
                var: "AEGIS_FUNCTION",
                ..
            })
        ));
        assert!(matches!(
            with(&[("OAUTH_STATE_SECRET_PREVIOUS", "short")]),
            Err(ConfigError::Invalid {
                var: "OAUTH_STATE_SECRET_PREVIOUS",
                ..
            })
        ));
    }

    #[test]
    fn plain_http_gitea_off_loopback_is_a_warning() {
        let cases = [
            ("http://127.0.0.1:3000", false),
            ("http://localhost:3000", false),
            ("http://[::1]:3000", false),
            ("https://gitea.example.com", false),
            ("http://gitea.example.com", true),
            ("http://10.0.0.7:3000", true),
        ];
        for (url, warned) in cases {
            let warnings = with(&[("GITEA_URL", url)]).unwrap().warnings();
            assert_eq!(!warnings.is_empty(), warned, "{url}: {warnings:?}");
            if warned {
                assert_eq!(warnings[0].var, "GITEA_URL");
                assert!(warnings[0].message.contains("plain http"), "{warnings:?}");
            }
        }
    }

    #[test]
    fn a_short_api_key_says_how_to_make_one() {
        let err = with(&[("MCP_API_KEYS", "short")]).unwrap_err().to_string();
        assert!(err.contains("make generate-key"), "{err}");
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = with(&[]).unwrap();
        assert_eq!(c.mcp_host.to_string(), "127.0.0.1");
        assert_eq!(c.mcp_port, 8080);
        assert_eq!(c.limits.max_auth_failures, 5);
        assert_eq!(c.limits.auth_failure_window, 300);
        assert_eq!(c.limits.rate_limit_per_minute, 60);
        assert_eq!(c.limits.token_rate_limit_per_minute, 120);
        assert_eq!(c.limits.max_file_size_bytes, 1_048_576);
        assert_eq!(c.limits.max_tool_response_items, 200);
        assert_eq!(c.limits.max_tool_response_chars, 20_000);
        assert_eq!(c.limits.request_timeout_seconds, 30);
        assert_eq!(c.secret_detection_mode, SecretDetectionMode::Mask);
        assert_eq!(c.repo_authz_cache_ttl_seconds, 60);
        assert_eq!(c.oauth.cache_ttl_seconds, 300);
        assert_eq!(c.automation.stale_days, 30);
        assert!(!c.write.enabled && !c.oauth.mode && !c.automation.enabled);
        assert!(c.dcr.enabled && c.startup_validate_gitea && c.auth_enabled);
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(
            c.dcr.storage_path,
            PathBuf::from("/var/lib/aegis-mcp/dcr_clients.json")
        );
        assert_eq!(c.gitea_api_base().as_str(), "http://127.0.0.1:3000/api/v1/");
    }

    /// (variables, expected error fragment): every refusal names its variable.
    #[test]
    fn refusals_name_the_variable() {
        let long = "x".repeat(32);
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("MCP_HOST", "0.0.0.0")], "`MCP_HOST`"),
            (vec![("MCP_HOST", "not-an-ip")], "`MCP_HOST`"),
            (vec![("MCP_PORT", "99999")], "`MCP_PORT`"),
            (vec![("LOG_LEVEL", "LOUD")], "`LOG_LEVEL`"),
            (
                vec![("SECRET_DETECTION_MODE", "maybe")],
                "`SECRET_DETECTION_MODE`",
            ),
            (vec![("WRITE_MODE", "perhaps")], "`WRITE_MODE`"),
            (vec![("WRITE_MODE", "true")], "`WRITE_REPOSITORY_WHITELIST`"),
            (
                vec![
                    ("WRITE_MODE", "true"),
                    ("WRITE_REPOSITORY_WHITELIST", "nope"),
                ],
                "`WRITE_REPOSITORY_WHITELIST`",
            ),
            (vec![("MAX_FILE_SIZE_BYTES", "0")], "`MAX_FILE_SIZE_BYTES`"),
            (vec![("MCP_API_KEYS", "short")], "`MCP_API_KEYS`"),
            (vec![("MCP_API_KEYS", "")], "`MCP_API_KEYS`"),
            (vec![("GITEA_URL", "")], "`GITEA_URL`"),
            (
                vec![("AUDIT_SIGNING_KEY", "not-a-key")],
                "`AUDIT_SIGNING_KEY`",
            ),
            (vec![("GITEA_URL", "ftp://x")], "`GITEA_URL`"),
            (vec![("WEBHOOK_SECRET", "short")], "`WEBHOOK_SECRET`"),
            (
                vec![("WEBHOOK_MAX_BODY_BYTES", "0")],
                "`WEBHOOK_MAX_BODY_BYTES`",
            ),
            (
                vec![("PUBLIC_BASE_URL", "http://mcp.example.com")],
                "`PUBLIC_BASE_URL`",
            ),
            (vec![("OAUTH_MODE", "true")], "`GITEA_OAUTH_CLIENT_ID`"),
            (
                vec![
                    ("OAUTH_MODE", "true"),
                    ("GITEA_OAUTH_CLIENT_ID", "id"),
                    ("GITEA_OAUTH_CLIENT_SECRET", "s"),
                    ("OAUTH_STATE_SECRET", "too-short"),
                ],
                "`OAUTH_STATE_SECRET`",
            ),
        ];
        for (pairs, expected) in cases {
            let err = with(&pairs).expect_err(&format!("{pairs:?} should be refused"));
            assert!(
                err.to_string().contains(expected),
                "{pairs:?}: `{err}` does not name {expected}"
            );
        }
        // and the accepted counterparts
        assert!(with(&[("MCP_HOST", "0.0.0.0"), ("ALLOW_INSECURE_BIND", "true")]).is_ok());
        assert!(with(&[
            ("OAUTH_MODE", "true"),
            ("GITEA_OAUTH_CLIENT_ID", "id"),
            ("GITEA_OAUTH_CLIENT_SECRET", "s"),
            ("OAUTH_STATE_SECRET", &long),
        ])
        .is_ok());
        assert!(with(&[("PUBLIC_BASE_URL", "http://localhost:8080")]).is_ok());
    }

    /// Every variable documents itself once, with a description; the enum defaults are
    /// written the way an operator would set them (they parse back to themselves).
    #[test]
    fn variables_document_themselves() {
        let vars = Config::variables();
        assert!(vars.len() >= 45, "{}", vars.len());
        let mut names: Vec<_> = vars.iter().map(|v| v.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a variable is read twice");
        for v in &vars {
            assert!(!v.description.is_empty() && !v.default.is_empty(), "{v:?}");
            assert!(v
                .name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        }
        let find = |n: &str| vars.iter().find(|v| v.name == n).unwrap();
        assert_eq!(find("LOG_LEVEL").default, "INFO");
        assert_eq!(find("MAX_FILE_SIZE_BYTES").kind, "integer > 0");
        assert_eq!(find("GITEA_TOKEN").kind, "secret");
        for (name, value) in [
            ("LOG_LEVEL", "INFO"),
            ("SECRET_DETECTION_MODE", "mask"),
            ("ENVIRONMENT", "production"),
            ("STORAGE_BACKEND", "embedded"),
        ] {
            assert_eq!(find(name).default, value);
            assert!(with(&[(name, value)]).is_ok(), "{name}={value}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let seed = "11".repeat(32);
        let c = with(&[("AUDIT_SIGNING_KEY", &seed)]).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(KEY) && !dbg.contains("service-token") && !dbg.contains(&seed));
        let err = with(&[("AUDIT_SIGNING_KEY", "zz")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("zz"), "{err}");
    }

    /// (`AUDIT_LOG_PATH`, mode): a `.log`/`.jsonl` file is the spec's single-file mode.
    #[test]
    fn audit_log_mode_follows_the_path() {
        let cases = [
            (None, AuditLogMode::SingleFile),
            (
                Some("/var/log/aegis-mcp/audit.log"),
                AuditLogMode::SingleFile,
            ),
            (Some("/data/audit.jsonl"), AuditLogMode::SingleFile),
            (Some("/data/audit"), AuditLogMode::Segments),
        ];
        for (path, mode) in cases {
            let c = match path {
                Some(p) => with(&[("AUDIT_LOG_PATH", p)]).unwrap(),
                None => with(&[]).unwrap(),
            };
            assert_eq!(c.audit.log_mode, mode, "{path:?}");
        }
        let seed = "22".repeat(32);
        let c = with(&[("AUDIT_SIGNING_KEY", &seed)]).unwrap();
        let signer = c.audit.signing_key.unwrap();
        assert_eq!(signer.seed_hex(), seed);
    }

    /// `STORAGE_BACKEND=aws`: the table, bucket and region are required and validated; the
    /// prefix is normalised; the audit trail is S3 segments whatever `AUDIT_LOG_PATH` says.
    #[test]
    fn aws_backend_settings() {
        let aws = [
            ("STORAGE_BACKEND", "aws"),
            ("AEGIS_TABLE_NAME", "aegis-state"),
            ("AUDIT_S3_BUCKET", "aegis-audit-1"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let ok = |extra: &[(&str, &str)]| {
            let mut all = aws.to_vec();
            all.extend_from_slice(extra);
            with(&all)
        };
        let c = ok(&[("AUDIT_S3_PREFIX", "/prod/audit/")]).unwrap();
        let s = c.aws.as_ref().unwrap();
        assert_eq!(s.audit_prefix, "prod/audit/");
        assert_eq!(s.endpoint_url, None);
        assert_eq!(c.audit.log_mode, AuditLogMode::Segments);
        assert!(with(&[]).unwrap().aws.is_none());
        let c = ok(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]).unwrap();
        assert_eq!(
            c.aws.unwrap().endpoint_url.unwrap().as_str(),
            "http://127.0.0.1:5000/"
        );
        // (variable to drop or override, value, the variable the error must name)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("AEGIS_TABLE_NAME", None, "AEGIS_TABLE_NAME"),
            ("AEGIS_TABLE_NAME", Some("a"), "AEGIS_TABLE_NAME"),
            ("AEGIS_TABLE_NAME", Some("bad name"), "AEGIS_TABLE_NAME"),
            ("AUDIT_S3_BUCKET", None, "AUDIT_S3_BUCKET"),
            ("AUDIT_S3_BUCKET", Some("Upper_Case"), "AUDIT_S3_BUCKET"),
            ("AUDIT_S3_BUCKET", Some("-dash"), "AUDIT_S3_BUCKET"),
            ("AWS_REGION", None, "AWS_REGION"),
            ("AWS_REGION", Some("eu west"), "AWS_REGION"),
            ("AUDIT_S3_PREFIX", Some("a/../b"), "AUDIT_S3_PREFIX"),
            ("AUDIT_S3_PREFIX", Some("a//b"), "AUDIT_S3_PREFIX"),
            ("AWS_ENDPOINT_URL", Some("ftp://x"), "AWS_ENDPOINT_URL"),
        ];
        for (var, value, named) in cases {
            let mut vars = base();
            for (k, v) in aws {
                vars.insert(k.to_string(), v.to_string());
            }
            match value {
                Some(v) => vars.insert(var.to_string(), v.to_string()),
                None => vars.remove(*var),
            };
            let err = Config::from_vars(&vars).unwrap_err().to_string();
            assert!(err.contains(named), "{var}={value:?}: {err}");
        }
    }
}
