//! The store handle: opening the volume, start-up garbage collection, and bucket records.

use std::fs;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch, WriteOptions};

use crate::error::{DbContext, IoContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::layout::{FileId, Layout};
use crate::locks::StripedLocks;
use crate::meta::{BucketMeta, Versioning, now_nanos};
use crate::pins::FilePins;
use crate::sealing::Keyring;
use crate::space::{FreeSpaceReserve, Space};
use crate::writer::{BodyHasher, BodyWriter};

/// Tunables of one store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Bodies up to this size are stored inline in RocksDB instead of as a file of their own:
    /// one synced WAL write instead of file + fsync + rename + directory fsync.
    pub inline_max_bytes: usize,
    /// Smallest allowed size of a non-last multipart part (S3: 5 MiB).
    pub min_part_size: u64,
    /// Write data files with direct I/O (`O_DIRECT`) where the filesystem allows it: no copy
    /// into the page cache and no eviction of hot data by large uploads, at the price of a first
    /// read from the disk. Off: data just written stays cached.
    pub direct_io: bool,
    /// Free space kept on the volume: writes that add data are refused below it (see `space`).
    pub min_free: FreeSpaceReserve,
    /// Master keys for SSE-S3 and SSE-KMS (empty: those requests are refused).
    pub keyring: Keyring,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            inline_max_bytes: 128 * 1024,
            min_part_size: 5 * 1024 * 1024,
            direct_io: true,
            min_free: FreeSpaceReserve::default(),
            keyring: Keyring::default(),
        }
    }
}

/// A handle to an open data volume; cheap to clone, safe to share across tasks.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: DB,
    pub(crate) layout: Layout,
    pub(crate) config: StoreConfig,
    /// Serialises read-check-commit per object key.
    pub(crate) key_locks: StripedLocks,
    /// Serialises operations on one multipart upload.
    pub(crate) upload_locks: StripedLocks,
    /// Object commits take it shared, bucket creation/deletion exclusively: a bucket cannot be
    /// deleted between a writer's existence check and its commit.
    pub(crate) bucket_lock: RwLock<()>,
    /// Data files that started reads still need (see `pins`).
    pub(crate) pins: Arc<FilePins>,
    /// The free-space reserve.
    pub(crate) space: Space,
    /// Orders versions.
    pub(crate) seq_clock: crate::versions::SeqClock,
}

impl Store {
    /// Opens (or creates) the store in `root` for reading and writing. Only one process may
    /// hold a volume open this way (RocksDB's lock); others read through
    /// [`StoreReader::open_secondary`](crate::StoreReader::open_secondary). Call
    /// [`Store::collect_garbage`] once before serving to remove what crashed writes left.
    pub fn open(root: &Path, config: StoreConfig) -> StoreResult<Self> {
        let layout = Layout::create(root)?;
        let opts = db_options();
        let cfs = cf::ALL.iter().map(|name| ColumnFamilyDescriptor::new(*name, opts.clone()));
        let db = DB::open_cf_descriptors(&opts, layout.meta_dir(), cfs).db_ctx("opening the metadata database")?;
        let store = Self::from_db(db, layout, root, config);
        let moved = store.inner.move_legacy_upload_index()?;
        if moved > 0 {
            tracing::info!(
                moved,
                "moved multipart uploads to the upload index that sorts keys with a NUL in S3 order"
            );
        }
        Ok(store)
    }

    /// Opens the metadata of a volume another process (`lagoa serve`) has open, as a RocksDB
    /// secondary instance: it never writes the volume's data or metadata and never removes a
    /// file. `scratch` is a directory of its own for RocksDB's info log. Catch up with
    /// `try_catch_up_with_primary` before each read that must see recent writes.
    pub(crate) fn open_secondary(root: &Path, scratch: &Path) -> StoreResult<Self> {
        let layout = Layout::existing(root)?;
        let mut opts = db_options();
        opts.create_if_missing(false);
        // A secondary keeps every file of the primary open; let RocksDB manage the limit.
        opts.set_max_open_files(-1);
        std::fs::create_dir_all(scratch).ctx(|| format!("creating {}", scratch.display()))?;
        let db = DB::open_cf_as_secondary(&opts, layout.meta_dir(), scratch.to_path_buf(), cf::ALL)
            .db_ctx("opening the metadata database read-only (is `lagoa serve` using this data directory?)")?;
        Ok(Self::from_db(db, layout, root, StoreConfig::default()))
    }

    fn from_db(db: DB, layout: Layout, root: &Path, config: StoreConfig) -> Self {
        let space = Space::new(root, config.min_free);
        let inner = Inner {
            db,
            layout,
            config,
            key_locks: StripedLocks::new(),
            upload_locks: StripedLocks::new(),
            bucket_lock: RwLock::new(()),
            pins: Arc::default(),
            space,
            seq_clock: Default::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The master keys sealed objects are opened with.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.config.keyring
    }

    /// Removes staging leftovers and data files that no record references: the remains of
    /// writes interrupted by a crash. Only the process that writes the volume may call it, and
    /// only before it takes writes (a file being staged would look like debris).
    pub fn collect_garbage(&self) -> StoreResult<()> {
        self.inner.collect_garbage()
    }

    /// Removes data files that no record references and that are older than `min_age`, while
    /// the server runs: what a crash left and start-up has not seen yet, or an unlink that
    /// failed. The age keeps it off files being committed (a file is renamed into `objects/`
    /// just before its record commits); pinned files are left to their readers. Returns how
    /// many were removed.
    pub async fn collect_orphans(&self, min_age: std::time::Duration) -> StoreResult<usize> {
        self.blocking(move |s| {
            let mut orphans = Vec::new();
            s.for_each_unreferenced_file(|id, entry| {
                let old_enough = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= min_age);
                if old_enough {
                    orphans.push(id);
                }
                Ok(())
            })?;
            let count = orphans.len();
            s.remove_files(orphans);
            if count > 0 {
                tracing::info!(count, "removed data files no record references");
            }
            Ok(count)
        })
        .await
    }
}

/// RocksDB options shared by the read-write and the read-only open.
fn db_options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_max_background_jobs(2);
    opts.set_keep_log_file_num(4);
    // Bound memory: all memtables together stay under 64 MiB (RocksDB's default is 64 MiB
    // per column family), the block cache at 32 MiB.
    opts.set_db_write_buffer_size(64 << 20);
    opts.set_write_buffer_size(16 << 20);
    let mut block = rocksdb::BlockBasedOptions::default();
    block.set_bloom_filter(10.0, false);
    block.set_block_cache(&rocksdb::Cache::new_lru_cache(32 << 20));
    opts.set_block_based_table_factory(&block);
    opts
}

impl Store {
    /// Runs `f` on a blocking thread: every RocksDB call and file operation goes through here.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Internal(format!("store task panicked or was cancelled: {e}")))?
    }

    /// Runs a point read (a few RocksDB gets, maybe a file open) right here on the async worker.
    /// Handing a microsecond lookup to the blocking pool costs more than the lookup (a thread
    /// wake-up and two context switches per request: measured with `lagoa-bench get-4k-c16`), so
    /// point reads skip it; scans, writes and syncs still go through [`Store::blocking`].
    pub(crate) fn point_read<T>(&self, f: impl FnOnce(&Inner) -> StoreResult<T>) -> StoreResult<T> {
        f(&self.inner)
    }

    /// The data volume's size and free space (one `statvfs`).
    pub fn volume_usage(&self) -> Option<crate::VolumeUsage> {
        self.inner.space.usage()
    }

    /// Whether `incoming` more bytes fit above the free-space reserve (one `statvfs`): lets a
    /// PUT with a known length be refused before its body is read.
    pub fn ensure_space(&self, incoming: u64) -> StoreResult<()> {
        self.inner.space.ensure(incoming)
    }

    /// Whether the store takes writes now: the volume has room for a unit (1 MiB) above the
    /// reserve, and the metadata database accepts a write — probed with a tiny unsynced one,
    /// since RocksDB stops all writes after a background failure (a flush that ran out of
    /// space) that no foreground write has seen yet. Readiness reports it.
    pub async fn writable(&self) -> StoreResult<()> {
        self.blocking(|s| {
            s.space.ensure(crate::unit::UNIT as u64)?;
            let mut opts = WriteOptions::default();
            opts.set_sync(false);
            let mut batch = WriteBatch::default();
            batch.put(b"lagoa-write-probe", now_nanos().to_be_bytes());
            s.db.write_opt(batch, &opts)
                .db_ctx("probing the metadata database with a write")
        })
        .await
    }

    /// Starts receiving a body; `hasher` sees every byte (for `x-amz-checksum-*`).
    pub fn body_writer<H: BodyHasher>(&self, hasher: H) -> BodyWriter<H> {
        BodyWriter::new(
            self.inner.layout.clone(),
            &self.inner.config,
            self.inner.space.clone(),
            hasher,
            true,
        )
    }

    /// A writer for a body sealed before it arrives (see `sealing`): its MD5 is not computed
    /// (the staged body's is all zeros), because a sealed object's ETag comes from its
    /// plaintext. Commit it with an explicit ETag.
    pub fn sealed_body_writer<H: BodyHasher>(&self, hasher: H) -> BodyWriter<H> {
        BodyWriter::new(
            self.inner.layout.clone(),
            &self.inner.config,
            self.inner.space.clone(),
            hasher,
            false,
        )
    }

    /// Creates a bucket owned by `owner`.
    pub async fn create_bucket(&self, name: &str, owner: &str, region: &str) -> StoreResult<()> {
        self.create_bucket_with(name, owner, region, false).await
    }

    /// Creates a bucket, with object lock (and so versioning) when `object_lock`.
    pub(crate) async fn create_bucket_with(&self, name: &str, owner: &str, region: &str, object_lock: bool) -> StoreResult<()> {
        let (name, owner, region) = (name.to_owned(), owner.to_owned(), region.to_owned());
        self.blocking(move |s| {
            let _guard = s.bucket_lock.write().unwrap_or_else(|p| p.into_inner());
            if let Some(existing) = s.bucket(&name)? {
                return Err(if existing.owner == owner {
                    StoreError::BucketAlreadyOwnedByYou(name)
                } else {
                    StoreError::BucketAlreadyExists(name)
                });
            }
            let meta = BucketMeta {
                owner,
                created_nanos: now_nanos(),
                region,
                versioning: object_lock.then_some(Versioning::Enabled),
                object_lock: object_lock.then(crate::meta::ObjectLockConfig::default),
                lifecycle: false,
            };
            let mut batch = WriteBatch::default();
            batch.put_cf(s.cf(cf::BUCKETS), name.as_bytes(), encode(&meta)?);
            s.write(batch)
        })
        .await
    }

    /// The bucket's record, if it exists.
    pub async fn bucket(&self, name: &str) -> StoreResult<Option<BucketMeta>> {
        self.point_read(|s| s.bucket(name))
    }

    /// Sets a bucket's versioning (PutBucketVersioning). Taken under the exclusive bucket
    /// lock, so every write commits entirely under the old state or entirely under the new.
    pub async fn set_versioning(&self, name: &str, versioning: Versioning) -> StoreResult<()> {
        let name = name.to_owned();
        self.blocking(move |s| {
            let _guard = s.bucket_lock.write().unwrap_or_else(|p| p.into_inner());
            let mut meta = s.require_bucket(&name)?;
            s.check_versioning_change(&meta, versioning)?;
            meta.versioning = Some(versioning);
            let mut batch = WriteBatch::default();
            batch.put_cf(s.cf(cf::BUCKETS), name.as_bytes(), encode(&meta)?);
            s.write(batch)
        })
        .await
    }

    /// Sets (or with `None` removes) a bucket's tags (PutBucketTagging).
    pub async fn set_bucket_tags(&self, name: &str, tags: Option<Vec<(String, String)>>) -> StoreResult<()> {
        let encoded = tags.as_ref().map(encode).transpose()?;
        self.set_bucket_config(name, "tagging", encoded).await
    }

    /// A bucket's tags, `None` when it has none.
    pub async fn bucket_tags(&self, name: &str) -> StoreResult<Option<Vec<(String, String)>>> {
        self.bucket_config(name, "tagging").await?.map(|raw| decode(&raw)).transpose()
    }

    /// Sets (or with `None` removes) a bucket configuration document the store keeps without
    /// reading it (`policy`, `public-access-block`, …); removed with the bucket.
    pub async fn set_bucket_config(&self, bucket: &str, name: &str, value: Option<Vec<u8>>) -> StoreResult<()> {
        let (bucket, name) = (bucket.to_owned(), name.to_owned());
        self.blocking(move |s| {
            let _guard = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            s.require_bucket(&bucket)?;
            s.write_config(keys::config_key(&bucket, &name), value)
        })
        .await
    }

    /// A bucket configuration document set by [`Store::set_bucket_config`]; `NoSuchBucket` when
    /// the bucket does not exist.
    pub async fn bucket_config(&self, bucket: &str, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.point_read(|s| {
            s.require_bucket(bucket)?;
            s.config_document(bucket, name)
        })
    }

    /// Sets (or with `None` removes) a document of the whole site rather than of one bucket
    /// (the users and policies the admin API manages). Kept in the configs family under the
    /// empty bucket name, which no bucket can have, so no bucket's removal touches it; sealed
    /// under the keyring's default key when there is one (it holds secret keys).
    pub async fn set_site_config(&self, name: &str, value: Option<Vec<u8>>) -> StoreResult<()> {
        let key = keys::site_config_key(name);
        let value = value
            .map(|plain| crate::sealing::document::seal_document(&self.inner.config.keyring, name, plain))
            .transpose()?;
        self.blocking(move |s| s.write_config(key, value)).await
    }

    /// A site document set by [`Store::set_site_config`], opened with this store's keyring.
    pub async fn site_config(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.site_config_opened_with(&self.inner.config.keyring, name)
    }

    /// A site document opened with `keyring` (a secondary's store has none of its own).
    pub(crate) fn site_config_opened_with(&self, keyring: &Keyring, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.point_read(|s| s.config_document("", name))?
            .map(|stored| crate::sealing::document::open_document(keyring, name, stored))
            .transpose()
    }

    /// A bucket's record with the named configuration documents, read together (one snapshot
    /// of what decides access to the bucket); `None` when the bucket does not exist.
    pub async fn bucket_with_configs(
        &self,
        bucket: &str,
        names: &[&str],
    ) -> StoreResult<Option<(BucketMeta, Vec<Option<Vec<u8>>>)>> {
        self.point_read(|s| {
            let _guard = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            let Some(meta) = s.bucket(bucket)? else {
                return Ok(None);
            };
            let docs = names
                .iter()
                .map(|name| s.config_document(bucket, name))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Some((meta, docs)))
        })
    }

    /// All buckets in name order.
    pub async fn list_buckets(&self) -> StoreResult<Vec<(String, BucketMeta)>> {
        self.blocking(|s| {
            let mut out = Vec::new();
            for item in s.db.iterator_cf(s.cf(cf::BUCKETS), IteratorMode::Start) {
                let (k, v) = item.db_ctx("listing buckets")?;
                let name = String::from_utf8(k.to_vec()).map_err(|_| StoreError::Corrupt("bucket name is not UTF-8".into()))?;
                out.push((name, decode(&v)?));
            }
            Ok(out)
        })
        .await
    }

    /// Deletes an empty bucket; its unfinished multipart uploads are aborted with it.
    pub async fn delete_bucket(&self, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.blocking(move |s| {
            // The bucket's uploads stay locked until the batch is committed, so a part upload or a
            // completion racing with the delete waits, then finds its upload gone. Completions
            // take an upload lock before the bucket lock, so the upload locks come first here too:
            // lock the uploads seen, then retry in the rare case one was created meanwhile.
            let (_uploads, _guard, upload_ids) = loop {
                let seen = s.upload_ids_in_bucket(&name)?;
                let uploads = s.upload_locks.lock_many(seen.iter());
                let guard = s.bucket_lock.write().unwrap_or_else(|p| p.into_inner());
                let now = s.upload_ids_in_bucket(&name)?;
                let locked: std::collections::HashSet<&String> = seen.iter().collect();
                if now.iter().all(|id| locked.contains(id)) {
                    break (uploads, guard, now);
                }
            };
            s.require_bucket(&name)?;
            let prefix = keys::bucket_prefix(&name);
            // Noncurrent versions and delete markers count: S3 deletes only a bucket with no version.
            if s.first_key_with_prefix(cf::OBJECTS, &prefix)?.is_some()
                || s.first_key_with_prefix(cf::VERSIONS, &prefix)?.is_some()
            {
                return Err(StoreError::BucketNotEmpty(name));
            }
            let mut batch = WriteBatch::default();
            let mut garbage = Vec::new();
            for upload_id in &upload_ids {
                garbage.extend(s.remove_upload_records(&mut batch, upload_id)?);
            }
            batch.delete_cf(s.cf(cf::BUCKETS), name.as_bytes());
            let after = keys::after_all_with_prefix(&prefix);
            batch.delete_range_cf(s.cf(cf::CONFIGS), &prefix, &after);
            // Pointers to `null` versions outlive nothing they point at here, but a dangling one
            // must not greet a new bucket of the same name.
            batch.delete_range_cf(s.cf(cf::NULL_VERSIONS), &prefix, &after);
            s.write_freeing(batch)?;
            s.remove_files(garbage);
            Ok(())
        })
        .await
    }
}

impl Inner {
    /// Puts (or with `None` deletes) one document of the configs family.
    fn write_config(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> StoreResult<()> {
        let mut batch = WriteBatch::default();
        match value {
            Some(value) => batch.put_cf(self.cf(cf::CONFIGS), key, value),
            None => batch.delete_cf(self.cf(cf::CONFIGS), key),
        }
        self.write(batch)
    }

    /// One configuration document of a bucket, as stored.
    fn config_document(&self, bucket: &str, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let raw = self
            .db
            .get_pinned_cf(self.cf(cf::CONFIGS), keys::config_key(bucket, name))
            .db_ctx("reading a bucket configuration")?;
        Ok(raw.map(|r| r.to_vec()))
    }

    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        // All families are created at open; a missing one is a programming error caught by tests.
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} was not opened"))
    }

    /// Commits a batch that adds data durably (WAL fsync), if the volume has room for it.
    /// RocksDB groups concurrent synced writers into one fsync, which is what makes many small
    /// concurrent PUTs cheap.
    pub(crate) fn write(&self, batch: WriteBatch) -> StoreResult<()> {
        self.space.ensure(batch.size_in_bytes() as u64)?;
        self.write_freeing(batch)
    }

    /// Commits a batch that frees space (deletes, aborts): never refused for a full volume.
    pub(crate) fn write_freeing(&self, batch: WriteBatch) -> StoreResult<()> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).db_ctx("committing metadata")
    }

    pub(crate) fn bucket(&self, name: &str) -> StoreResult<Option<BucketMeta>> {
        match self
            .db
            .get_pinned_cf(self.cf(cf::BUCKETS), name.as_bytes())
            .db_ctx("reading a bucket record")?
        {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn require_bucket(&self, name: &str) -> StoreResult<BucketMeta> {
        self.bucket(name)?.ok_or_else(|| StoreError::NoSuchBucket(name.to_owned()))
    }

    pub(crate) fn first_key_with_prefix(&self, family: &str, prefix: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let mut it = self.db.raw_iterator_cf(self.cf(family));
        it.seek(prefix);
        let found = it.key().filter(|k| k.starts_with(prefix)).map(<[u8]>::to_vec);
        it.status().db_ctx("scanning metadata")?;
        Ok(found)
    }

    /// Unlinks data files whose records were removed by a committed batch.
    pub(crate) fn remove_files(&self, ids: Vec<FileId>) {
        for id in self.pins.removable(ids) {
            let path = self.layout.data_path(id);
            if let Err(err) = fs::remove_file(&path)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), %err, "could not remove a dereferenced data file; start-up GC will retry");
            }
        }
    }

    /// Calls `f` with every data file under `objects/` that no record references.
    fn for_each_unreferenced_file(&self, mut f: impl FnMut(FileId, &fs::DirEntry) -> StoreResult<()>) -> StoreResult<()> {
        let objects = self.layout.objects_dir();
        for shard in fs::read_dir(&objects).ctx(|| format!("reading {}", objects.display()))? {
            let shard = shard.ctx(|| format!("reading {}", objects.display()))?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&shard).ctx(|| format!("reading {}", shard.display()))? {
                let entry = entry.ctx(|| format!("reading {}", shard.display()))?;
                let Some(id) = entry.file_name().to_str().and_then(FileId::parse) else {
                    continue;
                };
                let referenced = self
                    .db
                    .get_pinned_cf(self.cf(cf::FILES), keys::file_key(id))
                    .db_ctx("checking a data file reference")?
                    .is_some();
                if !referenced {
                    f(id, &entry)?;
                }
            }
        }
        Ok(())
    }

    /// Removes everything in `tmp/` and every file in `objects/` that no record references.
    fn collect_garbage(&self) -> StoreResult<()> {
        let tmp = self.layout.tmp_dir();
        let mut staged = 0usize;
        for entry in fs::read_dir(&tmp).ctx(|| format!("reading {}", tmp.display()))? {
            let entry = entry.ctx(|| format!("reading {}", tmp.display()))?;
            let path = entry.path();
            // Lagoa only ever stages files here; anything else (a directory an operator or a
            // tool left) is staging debris too, and must not stop the server from starting.
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.ctx(|| format!("removing {}", path.display()))?;
            staged += 1;
        }
        let mut orphans = 0usize;
        self.for_each_unreferenced_file(|_, entry| {
            fs::remove_file(entry.path()).ctx(|| format!("removing {}", entry.path().display()))?;
            orphans += 1;
            Ok(())
        })?;
        if staged + orphans > 0 {
            tracing::info!(staged, orphans, "start-up cleanup removed interrupted writes");
        }
        Ok(())
    }
}

/// Serialises a record.
pub(crate) fn encode<T: serde::Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt(format!("cannot encode record: {e}")))
}

/// Deserialises a record.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(v).map_err(|e| StoreError::Corrupt(format!("cannot decode record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_clears_directories_left_in_staging() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), StoreConfig::default()).unwrap());
        std::fs::create_dir_all(dir.path().join("tmp/leftover/deeper")).unwrap();
        std::fs::write(dir.path().join("tmp/leftover/deeper/file"), b"x").unwrap();
        std::fs::write(dir.path().join("tmp/staged"), b"x").unwrap();
        Store::open(dir.path(), StoreConfig::default())
            .unwrap()
            .collect_garbage()
            .unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    /// The upload keys of a listing page, in its order.
    async fn listed_upload_keys(store: &Store, prefix: &str, marker: Option<&str>, max: usize) -> Vec<String> {
        let page = store.list_uploads("bkt", prefix, None, marker, None, max).await.unwrap();
        page.entries
            .into_iter()
            .map(|e| match e {
                crate::UploadListEntry::Upload { meta, .. } => meta.key,
                crate::UploadListEntry::CommonPrefix(p) => p,
            })
            .collect()
    }

    #[tokio::test]
    async fn uploads_indexed_the_old_way_are_moved_at_open_and_list_in_s3_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        store.create_bucket("bkt", "owner", "us-east-1").await.unwrap();
        let keys = ["a\0", "ab", "a", "a\0b"];
        for key in keys {
            let id = store
                .create_upload("bkt", key, Default::default(), "owner", Default::default())
                .await
                .unwrap();
            // Re-index the upload as stores before `uploads_by_key` did.
            let s = &store.inner;
            s.db.delete_cf(s.cf(cf::UPLOADS_BY_KEY), keys::upload_by_key("bkt", key, &id))
                .unwrap();
            let mut legacy = keys::object_key("bkt", key);
            legacy.push(0);
            legacy.extend_from_slice(id.as_bytes());
            s.db.put_cf(s.cf(cf::UPLOAD_INDEX), legacy, []).unwrap();
        }
        drop(store);
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let s = &store.inner;
        assert!(s.db.iterator_cf(s.cf(cf::UPLOAD_INDEX), IteratorMode::Start).next().is_none());
        assert_eq!(listed_upload_keys(&store, "", None, 10).await, ["a", "a\0", "a\0b", "ab"]);
        // Paging one at a time by key marker loses nothing (the old order put `a\0` before `a`).
        let mut walked = Vec::new();
        let mut marker: Option<String> = None;
        while let Some(key) = listed_upload_keys(&store, "", marker.as_deref(), 1).await.pop() {
            walked.push(key.clone());
            marker = Some(key);
        }
        assert_eq!(walked, ["a", "a\0", "a\0b", "ab"]);
        assert_eq!(listed_upload_keys(&store, "a\0", None, 10).await, ["a\0", "a\0b"]);
        assert_eq!(store.inner.upload_ids_in_bucket("bkt").unwrap().len(), 4);
    }

    #[tokio::test]
    async fn a_panicking_storage_task_is_an_internal_failure() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let err = store
            .blocking(|_| -> StoreResult<()> { panic!("simulated fault in a storage task") })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    }
}
