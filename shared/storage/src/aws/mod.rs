//! AWS adapters (`STORAGE_BACKEND=aws`): DynamoDB for counters, clients, the authorization
//! cache and the OAuth grants; S3 for audit segments and digests.
//!
//! `aws_sdk_*` types never leave this module: callers get the storage traits, and every SDK
//! error becomes a `StorageError` here. The key design (one table, `pk`/`sk`, `ttl`) is in
//! docs/ARCHITECTURE.md, "AWS storage adapters".

mod dynamo;
mod hot_log;
mod http;
mod rate_lease;
mod s3;

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region};

pub use self::dynamo::DynamoStore;
pub use self::hot_log::{DynamoHotLog, HOT_LOG_TTL_SECS};
pub use self::s3::S3AuditSink;
use super::{Storage, StorageError};
use aegis_core::config::{AuditHotLog, AwsSettings};

/// An SDK error as `Unavailable`, in one line: the service's code and message, or the chain
/// of causes of a transport failure (never the raw response, which is long and carries ids).
fn unavailable<E, R>(
    service: &str,
    op: &str,
    err: &aws_sdk_s3::error::SdkError<E, R>,
) -> StorageError
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    if let SdkError::ServiceError(failed) = err {
        let e = failed.err();
        return StorageError::Unavailable(format!(
            "{service} {op}: {} ({})",
            e.code().unwrap_or("unknown error"),
            e.message().unwrap_or("no message")
        ));
    }
    let mut text = format!("{service} {op}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    StorageError::Unavailable(text)
}

/// How the SDK finds credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The SDK's default chain (Lambda's role through its environment, a profile, ...)
    DefaultChain,
    /// Fixed dummy keys, for an AWS API emulator (moto accepts any signature)
    Emulator,
}

/// The SDK configuration for `settings`: its region, and its endpoint when it names an
/// emulator. Loaded once per process (the clients built from it are reused by every request).
async fn sdk_config(
    region: &str,
    endpoint_url: Option<&url::Url>,
    credentials: Credentials,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(http::SdkHttpClient::default());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url.as_str().trim_end_matches('/'));
    }
    if credentials == Credentials::Emulator {
        loader = loader.test_credentials();
    }
    loader.load().await
}

/// The table and the bucket of one deployment, with their clients.
#[derive(Clone)]
pub struct AwsStorage {
    pub table: Arc<DynamoStore>,
    pub audit: Arc<S3AuditSink>,
    /// The audit hot log in `table` (used when `AUDIT_HOT_LOG=dynamodb`)
    pub hot_log: Arc<DynamoHotLog>,
}

impl AwsStorage {
    /// Builds the clients for `settings`. Makes no request: a missing table or bucket shows
    /// on first use (outside Lambda the audit logger's start record is a first use, so the
    /// process does not start; on Lambda the first call fails closed instead).
    pub async fn connect(settings: &AwsSettings, credentials: Credentials) -> Self {
        let sdk = sdk_config(
            &settings.region,
            settings.endpoint_url.as_ref(),
            credentials,
        )
        .await;
        let emulator = settings.endpoint_url.is_some();
        Self {
            table: Arc::new(DynamoStore::new(&sdk, &settings.table_name)),
            hot_log: Arc::new(DynamoHotLog::new(&sdk, &settings.table_name)),
            audit: Arc::new(S3AuditSink::new(
                &sdk,
                &settings.audit_bucket,
                &settings.audit_prefix,
                emulator,
            )),
        }
    }

    /// Creates the table (with its TTL attribute) and the bucket when they do not exist. For
    /// an emulator only: on AWS the SAM template owns both (versioning, Object Lock, IAM).
    pub async fn provision(&self) -> Result<(), StorageError> {
        tokio::try_join!(self.table.create_table(), self.audit.create_bucket())?;
        Ok(())
    }

    /// The storage handles over this table and bucket; the audit writer commits to the
    /// hot log in the table (`AuditHotLog::Dynamodb`) or straight to S3 segments (`Off`).
    pub fn storage(&self, hot_log: AuditHotLog) -> Storage {
        let (audit_log, hot): (
            Arc<dyn super::AuditSink>,
            Option<Arc<dyn super::HotAuditLog>>,
        ) = match hot_log {
            AuditHotLog::Dynamodb => (self.hot_log.clone(), Some(self.hot_log.clone())),
            AuditHotLog::Off => (self.audit.clone(), None),
        };
        Storage {
            rate_limiter: self.table.clone(),
            clients: self.table.clone(),
            authz_cache: self.table.clone(),
            grants: self.table.clone(),
            audit: self.audit.clone(),
            audit_log,
            hot_log: hot,
        }
    }
}

/// Whether [`storage`] may create a missing table and bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioning {
    /// Against an emulator (`AWS_ENDPOINT_URL`) create them when missing, so a `make dev`
    /// style run needs no setup step (the local shim)
    OnEmulator,
    /// Never: they belong to the SAM template (or, on an emulator, to
    /// `local/scripts/provision_emulator.py`). What every Lambda function does.
    Never,
}

/// The storage of `STORAGE_BACKEND=aws`; on AWS itself nothing is ever created.
pub async fn storage(
    settings: &AwsSettings,
    provisioning: Provisioning,
    hot_log: AuditHotLog,
) -> Result<Storage, StorageError> {
    let aws = AwsStorage::connect(settings, Credentials::DefaultChain).await;
    if settings.endpoint_url.is_some() && provisioning == Provisioning::OnEmulator {
        aws.provision().await?;
    }
    Ok(aws.storage(hot_log))
}

/// An audit source at `s3://bucket/prefix`, for the verifier (`aegis audit verify --s3`).
pub async fn audit_source(
    location: &str,
    region: &str,
    endpoint_url: Option<&url::Url>,
    credentials: Credentials,
) -> Result<S3AuditSink, StorageError> {
    let (bucket, prefix) = parse_s3_location(location)?;
    let sdk = sdk_config(region, endpoint_url, credentials).await;
    Ok(S3AuditSink::new(
        &sdk,
        &bucket,
        &prefix,
        endpoint_url.is_some(),
    ))
}

/// The hot log in `table` and the sealed trail at `s3://bucket/prefix`: what the sealer
/// works on (`aegis audit seal`; the jobs function builds them from its configuration),
/// and what `aegis audit verify --s3 ... --table ...` reads.
pub async fn sealer_stores(
    table: &str,
    location: &str,
    region: &str,
    endpoint_url: Option<&url::Url>,
    credentials: Credentials,
) -> Result<(DynamoHotLog, S3AuditSink), StorageError> {
    let (bucket, prefix) = parse_s3_location(location)?;
    let sdk = sdk_config(region, endpoint_url, credentials).await;
    Ok((
        DynamoHotLog::new(&sdk, table),
        S3AuditSink::new(&sdk, &bucket, &prefix, endpoint_url.is_some()),
    ))
}

/// Splits `s3://bucket/some/prefix` into the bucket and a prefix that is empty or ends in `/`.
pub fn parse_s3_location(location: &str) -> Result<(String, String), StorageError> {
    let rest = location.strip_prefix("s3://").ok_or_else(|| {
        StorageError::NotFound(format!("{location}: expected s3://bucket[/prefix]"))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(StorageError::NotFound(format!(
            "{location}: expected s3://bucket[/prefix]"
        )));
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

#[cfg(test)]
mod tests {
    use super::parse_s3_location;

    #[test]
    fn s3_locations() {
        let cases = [
            ("s3://b", Some(("b", ""))),
            ("s3://b/", Some(("b", ""))),
            ("s3://b/p", Some(("b", "p/"))),
            ("s3://b/p/q/", Some(("b", "p/q/"))),
            ("s3:///p", None),
            ("b/p", None),
        ];
        for (input, expected) in cases {
            let got = parse_s3_location(input).ok();
            let expected = expected.map(|(b, p)| (b.to_string(), p.to_string()));
            assert_eq!(got, expected, "{input}");
        }
    }
}
