//! Embedded adapters: in-process counters and files under `DATA_DIR` (the `make dev` default).
//!
//! Rate-limit counters and the authorization cache are per process, as in the original
//! system: a restart resets them, which only ever loosens a limit for one window. Client
//! registrations and audit objects are files: the registry is one JSON document written
//! atomically (temp file, fsync, rename) with mode 0600; each audit segment and digest is
//! its own file, hard-linked into place so it is created exactly once (the local
//! equivalent of a conditional write) and never seen half-written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

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
        key: &RateKey,
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
        let entry = map.entry(key.as_str().to_owned()).or_insert((now, 0));
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

    async fn peek(&self, key: &RateKey, window: Duration) -> Result<WindowCount, StorageError> {
        let map = self
            .windows
            .lock()
            .map_err(|_| StorageError::Unavailable("rate limiter lock poisoned".into()))?;
        Ok(match map.get(key.as_str()) {
            Some((start, count)) if start.elapsed() < window => WindowCount {
                count: *count,
                resets_in: window.saturating_sub(start.elapsed()),
            },
            _ => WindowCount {
                count: 0,
                resets_in: Duration::ZERO,
            },
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

/// Audit objects as files: `<dir>/segments/<chain_id>/<sequence:020>.json` and
/// `<dir>/digests/<sequence:020>.json`, each created exactly once.
///
/// A put writes a temp file beside the target, fsyncs it, hard-links it into place (the link
/// fails if the target exists, so this is create-only) and fsyncs the directory so the new
/// name survives a power cut. A reader never sees a half-written object; a writer killed
/// mid-put leaves at most a `*.tmp-*` file that readers ignore.
pub struct FileAuditSink {
    dir: PathBuf,
}

impl FileAuditSink {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn chain_dir(&self, chain_id: &str) -> PathBuf {
        self.dir.join("segments").join(chain_id)
    }

    fn digest_dir(&self) -> PathBuf {
        self.dir.join("digests")
    }
}

/// `<sequence:020>.json`: zero padding makes name order numeric order (S3 keys too).
pub(crate) fn object_name(sequence: u64) -> String {
    format!("{sequence:020}.json")
}

/// The sequence number an object name (`<20 digits>.json`) stands for; `None` for anything
/// else (temp files, notes an operator left beside the trail).
pub(crate) fn sequence_of_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// Chain ids are path (and S3 key) segments: a safe alphabet only.
pub(crate) fn valid_chain_id(chain_id: &str) -> Result<(), StorageError> {
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

/// Creates `dir/name` with `bytes` exactly once, durably (see `FileAuditSink`).
fn put_object_blocking(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let unavailable =
        |e: std::io::Error| StorageError::Unavailable(format!("{}: {e}", dir.display()));
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        // The new directory's own name must be durable too.
        if let Some(parent) = dir.parent() {
            sync_dir(parent).map_err(unavailable)?;
        }
    }
    let target = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, &target)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => sync_dir(dir).map_err(unavailable),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(StorageError::AlreadyExists(target.display().to_string()))
        }
        Err(e) => Err(unavailable(e)),
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The numbers of the `<n:020>.json` objects in `dir` above `after`, ascending.
fn object_numbers(dir: &Path, after: Option<u64>) -> Result<Vec<u64>, StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::Unavailable(format!("{}: {e}", dir.display()))),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let name = entry.file_name();
        if let Some(n) = name.to_str().and_then(sequence_of_name) {
            if after.is_none_or(|a| n > a) {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn read_object(path: &Path) -> Result<Vec<u8>, StorageError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StorageError::NotFound(path.display().to_string()),
        _ => StorageError::Unavailable(format!("{}: {e}", path.display())),
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Unavailable(e.to_string()))?
}

#[async_trait]
impl AuditSource for FileAuditSink {
    async fn chains(&self) -> Result<Vec<String>, StorageError> {
        let dir = self.dir.join("segments");
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(StorageError::Unavailable(e.to_string())),
            };
            let mut out = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| StorageError::Unavailable(e.to_string()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() && valid_chain_id(&name).is_ok() {
                    out.push(name);
                }
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    async fn segment_numbers(
        &self,
        chain_id: &str,
        after: Option<u64>,
    ) -> Result<Vec<u64>, StorageError> {
        valid_chain_id(chain_id)?;
        let dir = self.chain_dir(chain_id);
        blocking(move || object_numbers(&dir, after)).await
    }

    async fn read_segment(&self, chain_id: &str, sequence: u64) -> Result<Vec<u8>, StorageError> {
        valid_chain_id(chain_id)?;
        let path = self.chain_dir(chain_id).join(object_name(sequence));
        blocking(move || read_object(&path)).await
    }

    async fn digest_numbers(&self, after: Option<u64>) -> Result<Vec<u64>, StorageError> {
        let dir = self.digest_dir();
        blocking(move || object_numbers(&dir, after)).await
    }

    async fn read_digest(&self, sequence: u64) -> Result<Vec<u8>, StorageError> {
        let path = self.digest_dir().join(object_name(sequence));
        blocking(move || read_object(&path)).await
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn put_segment(
        &self,
        chain_id: &str,
        sequence: u64,
        bytes: &[u8],
    ) -> Result<(), StorageError> {
        valid_chain_id(chain_id)?;
        let dir = self.chain_dir(chain_id);
        let bytes = bytes.to_vec();
        blocking(move || put_object_blocking(&dir, &object_name(sequence), &bytes)).await
    }

    async fn put_digest(&self, sequence: u64, bytes: &[u8]) -> Result<(), StorageError> {
        let dir = self.digest_dir();
        let bytes = bytes.to_vec();
        blocking(move || put_object_blocking(&dir, &object_name(sequence), &bytes)).await
    }
}

/// Everything `GrantStore` keeps, in one file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct GrantFile {
    codes: HashMap<String, AuthCode>,
    grants: HashMap<String, Grant>,
    used: HashMap<String, u64>,
}

/// OAuth codes, grants and single-use markers in one JSON file (mode 0600), rewritten
/// atomically under a lock; expired entries are dropped on each write.
pub struct FileGrantStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileGrantStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    async fn load(&self) -> Result<GrantFile, StorageError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StorageError::Corrupt(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GrantFile::default()),
            Err(e) => Err(StorageError::Unavailable(format!(
                "{}: {e}",
                self.path.display()
            ))),
        }
    }

    async fn save(&self, mut file: GrantFile) -> Result<(), StorageError> {
        let now = now_secs();
        // Keep redeemed codes a while past expiry so a late replay is still recognised.
        file.codes.retain(|_, c| c.expires_at + 3600 > now);
        file.used.retain(|_, exp| *exp > now);
        file.grants.retain(|_, g| g.expires_at > now);
        let bytes = serde_json::to_vec(&file).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        write_private_atomic(&self.path, &bytes).await
    }

    /// Runs `f` on the file under the lock and saves the result.
    async fn update<T>(
        &self,
        f: impl FnOnce(&mut GrantFile) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let _guard = self.lock.lock().await;
        let mut file = self.load().await?;
        let out = f(&mut file)?;
        self.save(file).await?;
        Ok(out)
    }
}

#[async_trait]
impl GrantStore for FileGrantStore {
    async fn put_code(&self, code_hash: &str, code: AuthCode) -> Result<(), StorageError> {
        self.update(|f| {
            if f.codes.contains_key(code_hash) {
                return Err(StorageError::AlreadyExists("code".into()));
            }
            f.codes.insert(code_hash.to_string(), code);
            Ok(())
        })
        .await
    }

    async fn peek_code(&self, code_hash: &str) -> Result<Option<AuthCode>, StorageError> {
        let _guard = self.lock.lock().await;
        Ok(self.load().await?.codes.remove(code_hash))
    }

    async fn redeem_code(&self, code_hash: &str) -> Result<Redemption, StorageError> {
        self.update(|f| {
            Ok(match f.codes.get_mut(code_hash) {
                None => Redemption::Missing,
                Some(c) if c.redeemed => Redemption::Reused(c.clone()),
                Some(c) => {
                    c.redeemed = true;
                    Redemption::Fresh(c.clone())
                }
            })
        })
        .await
    }

    async fn create_grant(&self, grant: Grant) -> Result<(), StorageError> {
        self.update(|f| {
            if f.grants.contains_key(&grant.id) {
                return Err(StorageError::AlreadyExists("grant".into()));
            }
            f.grants.insert(grant.id.clone(), grant);
            Ok(())
        })
        .await
    }

    async fn get_grant(&self, id: &str) -> Result<Option<Grant>, StorageError> {
        let _guard = self.lock.lock().await;
        Ok(self
            .load()
            .await?
            .grants
            .remove(id)
            .filter(|g| g.expires_at > now_secs()))
    }

    async fn rotate_refresh(
        &self,
        id: &str,
        expected: &str,
        new: &str,
    ) -> Result<bool, StorageError> {
        self.update(|f| {
            Ok(match f.grants.get_mut(id) {
                Some(g) if !g.revoked && g.refresh_hash == expected => {
                    g.refresh_hash = new.to_string();
                    true
                }
                _ => false,
            })
        })
        .await
    }

    async fn set_gitea_tokens(&self, id: &str, sealed: &str) -> Result<(), StorageError> {
        self.update(|f| {
            if let Some(g) = f.grants.get_mut(id) {
                g.gitea_tokens = sealed.to_string();
            }
            Ok(())
        })
        .await
    }

    async fn revoke_grant(&self, id: &str) -> Result<(), StorageError> {
        self.update(|f| {
            if let Some(g) = f.grants.get_mut(id) {
                g.revoked = true;
            }
            Ok(())
        })
        .await
    }

    async fn use_once(&self, key: &str, expires_at: u64) -> Result<bool, StorageError> {
        self.update(|f| {
            let now = now_secs();
            match f.used.get(key) {
                Some(exp) if *exp > now => Ok(false),
                _ => {
                    f.used.insert(key.to_string(), expires_at);
                    Ok(true)
                }
            }
        })
        .await
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
pub fn storage(dcr_path: &Path, audit_dir: &Path, grants_path: &Path) -> Storage {
    let audit: Arc<dyn AuditSink> = Arc::new(FileAuditSink::new(audit_dir));
    Storage {
        grants: Arc::new(FileGrantStore::new(grants_path)),
        rate_limiter: Arc::new(MemoryRateLimiter::new()),
        clients: Arc::new(FileClientRegistry::new(dcr_path)),
        authz_cache: Arc::new(MemoryAuthzCache::new()),
        audit: Arc::clone(&audit),
        audit_log: audit,
        hot_log: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_allows_exactly_the_limit() {
        let rl = MemoryRateLimiter::new();
        let w = Duration::from_secs(60);
        let one = RateKey::ip([10, 0, 0, 1].into());
        let mut allowed = 0;
        for _ in 0..15 {
            if rl.hit(&one, 10, w).await.unwrap().allowed {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 10);
        let two = RateKey::ip([10, 0, 0, 2].into());
        assert!(rl.hit(&two, 10, w).await.unwrap().allowed);
        let open = rl.peek(&one, w).await.unwrap();
        assert_eq!(open.count, 10);
        assert!(open.resets_in > Duration::ZERO && open.resets_in <= w);
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
    async fn audit_objects_are_create_only_and_listed_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileAuditSink::new(dir.path());
        sink.put_segment("chain-a", 1, b"one").await.unwrap();
        sink.put_segment("chain-a", 0, b"zero").await.unwrap();
        assert!(matches!(
            sink.put_segment("chain-a", 0, b"again").await,
            Err(StorageError::AlreadyExists(_))
        ));
        assert_eq!(sink.read_segment("chain-a", 0).await.unwrap(), b"zero");
        assert_eq!(
            sink.segment_numbers("chain-a", None).await.unwrap(),
            vec![0, 1]
        );
        assert_eq!(
            sink.segment_numbers("chain-a", Some(0)).await.unwrap(),
            vec![1]
        );
        assert_eq!(sink.chains().await.unwrap(), vec!["chain-a".to_string()]);
        assert!(sink.segment_numbers("../etc", None).await.is_err());
        assert!(matches!(
            sink.read_segment("chain-a", 7).await,
            Err(StorageError::NotFound(_))
        ));
        sink.put_digest(0, b"d0").await.unwrap();
        assert!(matches!(
            sink.put_digest(0, b"d0").await,
            Err(StorageError::AlreadyExists(_))
        ));
        assert_eq!(sink.digest_numbers(None).await.unwrap(), vec![0]);
        // no temp file is left behind
        let names: Vec<_> = std::fs::read_dir(dir.path().join("segments/chain-a"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
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
