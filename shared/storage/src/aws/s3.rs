//! S3 audit adapter: segments and digests as create-only objects.
//!
//! Keys: `<prefix>segments/<chain_id>/<sequence:020>.json` and
//! `<prefix>digests/<sequence:020>.json`. Zero-padded numbers make key order numeric order,
//! so `ListObjectsV2` with `start-after` is the whole index. Every put carries
//! `If-None-Match: *`: S3 answers 412 when the key exists, which is `AlreadyExists` here, so
//! two writers can never overwrite each other's segment.

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_s3::Client;

use crate::embedded::{object_name, sequence_of_name, valid_chain_id};
use crate::{AuditSink, AuditSource, StorageError};

/// How often a put is retried when S3 reports a concurrent conditional write on the same
/// key in flight (409 `ConditionalRequestConflict`, which S3 asks callers to retry)
const CONFLICT_RETRIES: usize = 3;

/// Audit objects in one bucket under one prefix.
pub struct S3AuditSink {
    client: Client,
    bucket: String,
    /// Empty or ending in `/`
    prefix: String,
}

fn unavailable<E, R>(op: &str, err: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    super::unavailable("s3", op, &err)
}

/// The sequence number of a key ending in `<20 digits>.json`, or `None` for anything else
/// (objects an operator left beside the trail are not part of it).
fn sequence_of(key: &str) -> Option<u64> {
    key.rsplit('/').next().and_then(sequence_of_name)
}

impl S3AuditSink {
    pub(super) fn new(
        sdk: &aws_config::SdkConfig,
        bucket: &str,
        prefix: &str,
        path_style: bool,
    ) -> Self {
        // Emulators on 127.0.0.1 cannot serve virtual-hosted bucket names.
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }
    }

    /// Creates the bucket unless it exists (emulators and tests only: on AWS the template
    /// creates it with versioning and Object Lock).
    pub async fn create_bucket(&self) -> Result<(), StorageError> {
        let mut req = self.client.create_bucket().bucket(&self.bucket);
        let region = self
            .client
            .config()
            .region()
            .map(|r| r.as_ref().to_string());
        if let Some(region) = region.filter(|r| r != "us-east-1") {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("CreateBucket", e)),
        }
    }

    fn segments_prefix(&self) -> String {
        format!("{}segments/", self.prefix)
    }

    fn chain_prefix(&self, chain_id: &str) -> String {
        format!("{}segments/{chain_id}/", self.prefix)
    }

    fn digests_prefix(&self) -> String {
        format!("{}digests/", self.prefix)
    }

    /// Every page of `ListObjectsV2` under `prefix` (delimiter `/`), from `start_after`:
    /// the object keys and the common prefixes ("subdirectories").
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
    ) -> Result<(Vec<String>, Vec<String>), StorageError> {
        let (mut keys, mut prefixes) = (Vec::new(), Vec::new());
        let mut token: Option<String> = None;
        loop {
            let req = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_start_after(start_after.clone())
                .set_continuation_token(token.take());
            let page = req
                .send()
                .await
                .map_err(|e| unavailable("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok((keys, prefixes)),
            }
        }
    }

    /// The sequence numbers of the objects directly under `prefix` above `after`, ascending.
    async fn numbers(&self, prefix: &str, after: Option<u64>) -> Result<Vec<u64>, StorageError> {
        let start_after = after.map(|a| format!("{prefix}{}", object_name(a)));
        let (keys, _) = self.list(prefix, start_after).await?;
        let mut out: Vec<u64> = keys
            .iter()
            .filter_map(|k| sequence_of(k))
            // `start-after` already excludes these; kept against an emulator that ignores it
            .filter(|n| after.is_none_or(|a| *n > a))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    async fn read(&self, key: String) -> Result<Vec<u8>, StorageError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(StorageError::NotFound(self.url_of(&key)))
            }
            Err(e) => return Err(unavailable("GetObject", e)),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Unavailable(format!("s3 GetObject {key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn put(&self, key: String, bytes: &[u8]) -> Result<(), StorageError> {
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .if_none_match("*")
                .content_type("application/json")
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let status = err.raw_response().map(|r| r.status().as_u16());
            let code = err.code().map(str::to_string);
            if status == Some(412) || code.as_deref() == Some("PreconditionFailed") {
                return Err(StorageError::AlreadyExists(self.url_of(&key)));
            }
            if (status == Some(409) || code.as_deref() == Some("ConditionalRequestConflict"))
                && attempt < CONFLICT_RETRIES
            {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt as u64)).await;
                continue;
            }
            return Err(unavailable("PutObject", err));
        }
    }

    fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

#[async_trait]
impl AuditSource for S3AuditSink {
    async fn chains(&self) -> Result<Vec<String>, StorageError> {
        let prefix = self.segments_prefix();
        let (_, prefixes) = self.list(&prefix, None).await?;
        let mut out: Vec<String> = prefixes
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix)?.strip_suffix('/'))
            .filter(|chain| valid_chain_id(chain).is_ok())
            .map(str::to_string)
            .collect();
        out.sort();
        Ok(out)
    }

    async fn segment_numbers(
        &self,
        chain_id: &str,
        after: Option<u64>,
    ) -> Result<Vec<u64>, StorageError> {
        valid_chain_id(chain_id)?;
        self.numbers(&self.chain_prefix(chain_id), after).await
    }

    async fn read_segment(&self, chain_id: &str, sequence: u64) -> Result<Vec<u8>, StorageError> {
        valid_chain_id(chain_id)?;
        self.read(format!(
            "{}{}",
            self.chain_prefix(chain_id),
            object_name(sequence)
        ))
        .await
    }

    async fn digest_numbers(&self, after: Option<u64>) -> Result<Vec<u64>, StorageError> {
        self.numbers(&self.digests_prefix(), after).await
    }

    async fn read_digest(&self, sequence: u64) -> Result<Vec<u8>, StorageError> {
        self.read(format!(
            "{}{}",
            self.digests_prefix(),
            object_name(sequence)
        ))
        .await
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

#[async_trait]
impl AuditSink for S3AuditSink {
    async fn put_segment(
        &self,
        chain_id: &str,
        sequence: u64,
        bytes: &[u8],
    ) -> Result<(), StorageError> {
        valid_chain_id(chain_id)?;
        self.put(
            format!("{}{}", self.chain_prefix(chain_id), object_name(sequence)),
            bytes,
        )
        .await
    }

    async fn put_digest(&self, sequence: u64, bytes: &[u8]) -> Result<(), StorageError> {
        self.put(
            format!("{}{}", self.digests_prefix(), object_name(sequence)),
            bytes,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::sequence_of;

    #[test]
    fn only_numbered_objects_count() {
        let cases = [
            ("p/segments/c/00000000000000000007.json", Some(7)),
            ("digests/00000000000000000000.json", Some(0)),
            ("digests/7.json", None),
            ("digests/0000000000000000000x.json", None),
            ("digests/00000000000000000001.json.bak", None),
            ("digests/README", None),
        ];
        for (key, expected) in cases {
            assert_eq!(sequence_of(key), expected, "{key}");
        }
    }
}
