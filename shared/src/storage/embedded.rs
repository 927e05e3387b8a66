//! Embedded adapters: in-process counters and files under `DATA_DIR` (the `make dev` default).
//!
//! Rate-limit counters and the authorization cache are per process, as in the original
//! system: a restart resets them, which only ever loosens a limit for one window. Client
//! registrations and audit segments are files: the registry is one JSON document written
//! atomically (temp file, fsync, rename) with mode 0600; each audit segment is its own file
//! created with `create_new`, the local equivalent of a conditional write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::*;

/// Fixed-window counters in memory.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, StorageError> {
        let now = Instant::now();
        let mut map = self
            .windows
            .lock()
            .map_err(|_| StorageError::Unavailable("rate limiter lock poisoned".into()))?;
        // Keep the map bounded: drop windows that have ended.
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        let retry_after = window.saturating_sub(now.duration_since(entry.0));
        if entry.1 >= limit {
            return Ok(RateDecision {
                allowed: false,
                remaining: 0,
                retry_after,
            });
        }
        entry.1 += 1;
        Ok(RateDecision {
            allowed: true,
            remaining: limit - entry.1,
            retry_after,
        })
    }

    async fn peek(&self, key: &str, window: Duration) -> Result<u32, StorageError> {
        let map = self
            .windows
            .lock()
            .map_err(|_| StorageError::Unavailable("rate limiter lock poisoned".into()))?;
        Ok(match map.get(key) {
            Some((start, count)) if start.elapsed() < window => *count,
            _ => 0,
        })
    }
}

/// The authorization cache in memory, expiry checked on read.
#[derive(Default)]
pub struct MemoryAuthzCache {
    entries: Mutex<HashMap<String, CachedPermission>>,
}

impl MemoryAuthzCache {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AuthzCache for MemoryAuthzCache {
    async fn get(&self, key: &str) -> Result<Option<CachedPermission>, StorageError> {
        let map = self
            .entries
            .lock()
            .map_err(|_| StorageError::Unavailable("authz cache lock poisoned".into()))?;
        Ok(map.get(key).filter(|e| e.expires_at > now_secs()).cloned())
    }

    async fn put(&self, key: &str, value: CachedPermission) -> Result<(), StorageError> {
        let mut map = self
            .entries
            .lock()
            .map_err(|_| StorageError::Unavailable("authz cache lock poisoned".into()))?;
        let now = now_secs();
        if map.len() > 10_000 {
            map.retain(|_, e| e.expires_at > now);
        }
        map.insert(key.to_string(), value);
        Ok(())
    }
}

/// Registered clients in one JSON file (mode 0600), rewritten atomically.
pub struct FileClientRegistry {
    path: PathBuf,
    // Serialises read-modify-write within this process.
    lock: tokio::sync::Mutex<()>,
}

impl FileClientRegistry {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    async fn load(&self) -> Result<HashMap<String, RegisteredClient>, StorageError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StorageError::Corrupt(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
            Err(e) => Err(StorageError::Unavailable(format!(
                "{}: {e}",
                self.path.display()
            ))),
        }
    }
}

#[async_trait]
impl ClientRegistry for FileClientRegistry {
    async fn register(&self, client: RegisteredClient) -> Result<(), StorageError> {
        let _guard = self.lock.lock().await;
        let mut all = self.load().await?;
        if all.contains_key(&client.client_id) {
            return Err(StorageError::AlreadyExists(client.client_id));
        }
        all.insert(client.client_id.clone(), client);
        let bytes =
            serde_json::to_vec_pretty(&all).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        write_private_atomic(&self.path, &bytes).await
    }

    async fn get(&self, client_id: &str) -> Result<Option<RegisteredClient>, StorageError> {
        Ok(self.load().await?.remove(client_id))
    }
}

/// Audit segments as files: `<dir>/<chain_id>/<sequence:020>.json`, created exclusively.
pub struct FileAuditSink {
    dir: PathBuf,
}

impl FileAuditSink {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn segment_path(&self, chain_id: &str, sequence: u64) -> PathBuf {
        self.dir.join(chain_id).join(format!("{sequence:020}.json"))
    }
}

fn valid_chain_id(chain_id: &str) -> Result<(), StorageError> {
    let ok = !chain_id.is_empty()
        && chain_id.len() <= 128
        && chain_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StorageError::Corrupt(format!(
            "invalid chain id `{chain_id}`"
        )))
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn append(&self, segment: &AuditSegment) -> Result<(), StorageError> {
        valid_chain_id(&segment.chain_id)?;
        let path = self.segment_path(&segment.chain_id, segment.sequence);
        let bytes =
            serde_json::to_vec(segment).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let unavailable = |e: std::io::Error| StorageError::Unavailable(e.to_string());
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(unavailable)?;
        }
        // Written to a temp file first, then hard-linked into place: the link fails if the
        // segment exists, and a reader never sees a half-written segment.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        write_private(&tmp, &bytes).await?;
        let linked = tokio::fs::hard_link(&tmp, &path).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(
                StorageError::AlreadyExists(format!("{}/{}", segment.chain_id, segment.sequence)),
            ),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn chains(&self) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        let mut dir = match tokio::fs::read_dir(&self.dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(StorageError::Unavailable(e.to_string())),
        };
        while let Some(entry) = dir
            .next_entry()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?
        {
            if entry.path().is_dir() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    async fn segments(&self, chain_id: &str) -> Result<Vec<AuditSegment>, StorageError> {
        valid_chain_id(chain_id)?;
        let mut names = Vec::new();
        let mut dir = match tokio::fs::read_dir(self.dir.join(chain_id)).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StorageError::Unavailable(e.to_string())),
        };
        while let Some(entry) = dir
            .next_entry()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                names.push(entry.path());
            }
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for path in names {
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
            out.push(
                serde_json::from_slice(&bytes)
                    .map_err(|e| StorageError::Corrupt(format!("{}: {e}", path.display())))?,
            );
        }
        Ok(out)
    }
}

/// Writes a new file readable by the owner only, fsynced.
async fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let path = path.to_path_buf();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        file.write_all(&bytes)?;
        file.sync_all()
    })
    .await
    .map_err(|e| StorageError::Unavailable(e.to_string()))?
    .map_err(|e| StorageError::Unavailable(e.to_string()))
}

/// Replaces `path` atomically with `bytes` (mode 0600).
async fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| StorageError::Unavailable(format!("{}: {e}", parent.display())))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    write_private(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| StorageError::Unavailable(format!("{}: {e}", path.display())))
}

/// The embedded storage set: the client registry at `dcr_path`, segments under `audit_dir`.
pub fn storage(dcr_path: &Path, audit_dir: &Path) -> Storage {
    Storage {
        rate_limiter: Arc::new(MemoryRateLimiter::new()),
        clients: Arc::new(FileClientRegistry::new(dcr_path)),
        authz_cache: Arc::new(MemoryAuthzCache::new()),
        audit: Arc::new(FileAuditSink::new(audit_dir)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_allows_exactly_the_limit() {
        let rl = MemoryRateLimiter::new();
        let w = Duration::from_secs(60);
        let mut allowed = 0;
        for _ in 0..15 {
            if rl.hit("ip:1", 10, w).await.unwrap().allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 10);
        assert!(rl.hit("ip:2", 10, w).await.unwrap().allowed);
        assert_eq!(rl.peek("ip:1", w).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn client_registry_never_overwrites_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clients.json");
        let reg = FileClientRegistry::new(&path);
        let client = RegisteredClient {
            client_id: "c1".into(),
            secret_hash: None,
            client_name: Some("x".into()),
            redirect_uris: vec!["http://127.0.0.1:1/cb".into()],
            grant_types: vec!["authorization_code".into()],
            token_endpoint_auth_method: "none".into(),
            scope: None,
            created_at: 1,
        };
        reg.register(client.clone()).await.unwrap();
        let mut other = client.clone();
        other.client_name = Some("evil".into());
        assert!(matches!(
            reg.register(other).await,
            Err(StorageError::AlreadyExists(_))
        ));
        assert_eq!(reg.get("c1").await.unwrap(), Some(client));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[tokio::test]
    async fn audit_segments_are_immutable() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileAuditSink::new(dir.path());
        let seg = AuditSegment {
            chain_id: "chain-a".into(),
            sequence: 0,
            records: vec![serde_json::json!({"n": 1})],
        };
        sink.append(&seg).await.unwrap();
        assert!(matches!(
            sink.append(&seg).await,
            Err(StorageError::AlreadyExists(_))
        ));
        assert_eq!(sink.segments("chain-a").await.unwrap(), vec![seg]);
        assert_eq!(sink.chains().await.unwrap(), vec!["chain-a".to_string()]);
        assert!(sink.segments("../etc").await.is_err());
    }

    #[tokio::test]
    async fn authz_cache_expires_on_read() {
        let cache = MemoryAuthzCache::new();
        cache
            .put(
                "k",
                CachedPermission {
                    permission: "read".into(),
                    expires_at: 1,
                },
            )
            .await
            .unwrap();
        assert_eq!(cache.get("k").await.unwrap(), None);
    }
}
