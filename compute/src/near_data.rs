//! An `object_store::ObjectStore` over Lagoa's store: `s3://bucket/key` resolves through the
//! metadata and reads the data files on the volume directly — ranges, multipart pieces, no HTTP.
//!
//! One [`QueryFiles`] lives for one query. The first touch of an object opens a snapshot of its
//! current version ([`lagoa_store::ObjectSnapshot`]) and every later read of that object in the
//! query comes from it, so a query never mixes bytes of two versions, whatever S3 writes do
//! meanwhile. Listings are never cached: each listing reads the index as it is.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::object_store::path::Path;
use datafusion::object_store::{
    self, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use lagoa_store::{ListEntry, SharedSnapshot, StoreError, StoreReader};

use crate::pending::{DeferredUpload, PendingWrites};
use crate::writer::{ObjectWriter, Writer};

/// The store name object_store errors report.
const STORE: &str = "lagoa";

/// Bytes read from the volume per blocking read when a whole object is streamed.
const STREAM_CHUNK: u64 = 1 << 20;

/// Listing page size while listing a prefix.
const LIST_PAGE: usize = 1000;

/// The objects one query has opened, shared by the per-bucket stores of that query.
pub struct QueryFiles {
    reader: StoreReader,
    writer: Writer,
    /// Access key that writes in this query are owned by.
    owner: String,
    /// The caller's secret, to sign writes through the S3 server (sidecar).
    secret: String,
    /// S3 clients per bucket for those writes, made on first use.
    remotes: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    snapshots: Mutex<HashMap<(String, String), SharedSnapshot>>,
    /// ETags of objects as this query listed them: DataFusion plans byte ranges (CSV splits,
    /// Parquet footers) from a listing, so the bytes read later must be that version's.
    listed: Mutex<HashMap<(String, String), String>>,
    /// Objects this query sees as a byte window of themselves (S3 Select's ScanRange): reads
    /// and sizes are relative to the window.
    windows: Mutex<HashMap<(String, String), Range<u64>>>,
    /// Bytes read from the volume so far (S3 Select's BytesScanned).
    bytes_read: AtomicU64,
    /// Writes staged by this query, committed when it succeeds.
    pending: PendingWrites,
    /// What the caller may do, and what it was already answered in this query.
    access: Arc<dyn crate::access::ObjectAccess>,
    decisions: Mutex<HashMap<Decision, bool>>,
    /// The first refusal, which DataFusion may report as an internal error of its own (a
    /// write refused while files are finalized): the query's error is then this refusal.
    denied: Mutex<Option<String>>,
    /// The SSE-C key of the one object a Select may open with it.
    customer_key: Option<crate::access::CustomerKey>,
}

/// One access question: action, bucket, key, listing prefix.
type Decision = (&'static str, String, Option<String>, Option<String>);

impl QueryFiles {
    /// A fresh set for one query.
    pub fn new(reader: StoreReader, writer: Writer, caller: &crate::access::Caller) -> Arc<Self> {
        Arc::new(Self {
            reader,
            writer,
            owner: caller.access_key.clone(),
            secret: caller.secret_key.clone(),
            remotes: Mutex::default(),
            snapshots: Mutex::default(),
            listed: Mutex::default(),
            windows: Mutex::default(),
            bytes_read: AtomicU64::new(0),
            pending: PendingWrites::default(),
            access: caller.access.clone(),
            decisions: Mutex::default(),
            denied: Mutex::default(),
            customer_key: caller.customer_key.clone(),
        })
    }

    /// `err`, or the access refusal behind it (see `denied`).
    pub(crate) fn denial_or(&self, err: datafusion::error::DataFusionError) -> datafusion::error::DataFusionError {
        match self.denied.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(message) if !crate::access::is_access_denied(&err) => {
                datafusion::error::DataFusionError::External(Box::new(crate::access::AccessDenied(message)))
            }
            _ => err,
        }
    }

    /// Refuses (`AccessDenied`, a 403) what the caller's S3 requests could not do: list
    /// `bucket` over `prefix`, or read, write or delete `bucket/key`.
    pub(crate) async fn require(
        &self,
        action: &'static str,
        bucket: &str,
        key: Option<&str>,
        prefix: Option<&str>,
    ) -> object_store::Result<()> {
        let question: Decision = (action, bucket.to_owned(), key.map(str::to_owned), prefix.map(str::to_owned));
        let known = self
            .decisions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&question)
            .copied();
        let allowed = match known {
            Some(allowed) => allowed,
            None => {
                let allowed = self.access.allows(action, bucket, key, prefix).await;
                self.decisions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(question, allowed);
                allowed
            }
        };
        if allowed {
            return Ok(());
        }
        let what = match (key, prefix) {
            (Some(key), _) => format!("s3://{bucket}/{key}"),
            (None, Some(prefix)) => format!("s3://{bucket}/{prefix}"),
            (None, None) => format!("s3://{bucket}"),
        };
        let message = format!("{what}: Access Denied ({action} is not allowed to {})", self.owner);
        self.denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| message.clone());
        Err(object_store::Error::Generic {
            store: STORE,
            source: Box::new(crate::access::AccessDenied(message)),
        })
    }

    /// From now on this query sees only `window` of `bucket/key`, as if it were the object.
    pub(crate) fn set_window(&self, bucket: &str, key: &str, window: Range<u64>) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.insert((bucket.to_owned(), key.to_owned()), window);
    }

    fn window(&self, bucket: &str, key: &str) -> Option<Range<u64>> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    /// Bytes this query has read from the volume.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    fn cached(&self, bucket: &str, key: &str) -> Option<SharedSnapshot> {
        let snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        snapshots.get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    /// The query's snapshot of `bucket/key`, opened on first use.
    async fn snapshot(&self, bucket: &str, key: &str) -> object_store::Result<SharedSnapshot> {
        if let Some(snap) = self.cached(bucket, key) {
            return Ok(snap);
        }
        let customer = self
            .customer_key
            .as_ref()
            .filter(|c| c.object.as_ref().is_none_or(|(b, k)| b == bucket && k == key))
            .map(|c| c.secret.clone());
        let keyed = customer.is_some();
        let snap = Arc::new(
            self.reader
                .snapshot_with_key(bucket, key, customer)
                .await
                .map_err(|e| match e {
                    // S3's answers: another key is a refusal, no key the request's fault.
                    StoreError::CustomerKey if keyed => object_store::Error::Generic {
                        store: STORE,
                        source: Box::new(crate::access::AccessDenied(format!(
                            "s3://{bucket}/{key}: Access Denied (the object is encrypted with another customer-provided key)"
                        ))),
                    },
                    StoreError::CustomerKey => generic(format!(
                        "s3://{bucket}/{key} is encrypted with a customer-provided key: send it with the request (x-amz-server-side-encryption-customer-algorithm, -key, -key-MD5)"
                    )),
                    other => store_error(other, bucket, key),
                })?,
        );
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        // Two tasks may race to open it: the first one's snapshot wins, so all reads agree.
        Ok(snapshots.entry((bucket.to_owned(), key.to_owned())).or_insert(snap).clone())
    }

    /// The writes this query has staged.
    pub(crate) fn pending(&self) -> &PendingWrites {
        &self.pending
    }

    /// Commits the writes this query staged (see `pending`): call once its last statement
    /// has succeeded.
    pub async fn commit(&self) -> object_store::Result<()> {
        for (bucket, key) in self.pending.commit().await? {
            self.forget(&bucket, &key);
        }
        Ok(())
    }

    /// Forgets a snapshot after this query wrote or deleted the key, so that it reads what it
    /// wrote.
    fn forget(&self, bucket: &str, key: &str) {
        let id = (bucket.to_owned(), key.to_owned());
        self.snapshots.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.listed.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// The S3 server's client for `bucket` when writes go through it (sidecar), else `None`.
    fn remote(&self, bucket: &str) -> object_store::Result<Option<Arc<dyn ObjectStore>>> {
        let mut remotes = self.remotes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(remote) = remotes.get(bucket) {
            return Ok(Some(remote.clone()));
        }
        let made = self.writer.remote(bucket, &self.owner, &self.secret)?;
        if let Some(remote) = &made {
            remotes.insert(bucket.to_owned(), remote.clone());
        }
        Ok(made)
    }

    /// Remembers the version a listing showed (see `listed`).
    fn record_listed(&self, bucket: &str, key: &str, etag: &str) {
        let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        listed
            .entry((bucket.to_owned(), key.to_owned()))
            .or_insert_with(|| etag.to_owned());
    }
}

/// One bucket of the store as an `ObjectStore`, for one query (registered for `s3://bucket`).
pub struct BucketStore {
    bucket: String,
    files: Arc<QueryFiles>,
}

impl BucketStore {
    /// `bucket`, read (and written) within the query that owns `files`.
    pub fn new(bucket: String, files: Arc<QueryFiles>) -> Self {
        Self { bucket, files }
    }
}

impl fmt::Debug for BucketStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BucketStore(s3://{})", self.bucket)
    }
}

impl fmt::Display for BucketStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lagoa s3://{}", self.bucket)
    }
}

/// A store failure as object_store reports it (NotFound for a missing key or bucket, so that
/// DataFusion says "not found").
fn store_error(err: StoreError, bucket: &str, key: &str) -> object_store::Error {
    match err {
        StoreError::NoSuchKey { .. } | StoreError::NoSuchBucket(_) => object_store::Error::NotFound {
            path: format!("s3://{bucket}/{key}"),
            source: Box::new(err),
        },
        other => {
            // Details (file paths) are for the operator, not the client.
            tracing::warn!(err = %other, %bucket, %key, "a query could not read an object");
            object_store::Error::Generic {
                store: STORE,
                source: Box::new(StorageFault(format!(
                    "s3://{bucket}/{key}: the server could not read it (see its log)"
                ))),
            }
        }
    }
}

/// A failure of the server's storage under a query (a 500, not the query's fault).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageFault(pub String);

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: message.into(),
    }
}

fn last_modified(nanos: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_nanos(nanos)
}

fn object_meta(location: Path, size: u64, etag: &str, modified_nanos: i64) -> ObjectMeta {
    ObjectMeta {
        location,
        last_modified: last_modified(modified_nanos),
        size,
        e_tag: Some(format!("\"{etag}\"")),
        version: None,
    }
}

/// The byte range a `GetRange` asks of an object of `size` bytes, by object_store's rules.
fn resolve_range(range: Option<&GetRange>, size: u64, path: &Path) -> object_store::Result<Range<u64>> {
    match range {
        None => Ok(0..size),
        Some(r) => r
            .as_range(size)
            .map_err(|e| generic(format!("invalid range for {path}: {e}"))),
    }
}

/// Reads `range` of a snapshot on a blocking thread.
async fn read_range(snap: SharedSnapshot, range: Range<u64>) -> object_store::Result<Bytes> {
    tokio::task::spawn_blocking(move || snap.read_at(range.start, range.end - range.start))
        .await
        .map_err(|e| generic(format!("a read task failed: {e}")))?
        .map_err(|e| generic(e.to_string()))
}

#[async_trait]
impl ObjectStore for BucketStore {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> object_store::Result<PutResult> {
        refuse_put_options(location, &opts.mode, &opts.tags, &opts.attributes)?;
        self.files
            .require("s3:PutObject", &self.bucket, Some(location.as_ref()), None)
            .await?;
        if let Some(remote) = self.files.remote(&self.bucket)? {
            // One part, completed with the request (a single PUT could not be held back).
            let mut upload = remote.put_multipart_opts(location, PutMultipartOptions::default()).await?;
            upload.put_part(payload).await?;
            self.files.pending().stage_upload(&self.bucket, location.as_ref(), upload);
            return Ok(PutResult {
                e_tag: None,
                version: None,
            });
        }
        let mut writer = self.begin_write(location).await?;
        for chunk in payload {
            writer.write(chunk).await?;
        }
        self.finish_write(location, writer).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        refuse_put_options(location, &object_store::PutMode::Overwrite, &opts.tags, &opts.attributes)?;
        self.files
            .require("s3:PutObject", &self.bucket, Some(location.as_ref()), None)
            .await?;
        if let Some(remote) = self.files.remote(&self.bucket)? {
            let upload = remote.put_multipart_opts(location, opts).await?;
            return Ok(Box::new(DeferredUpload::new(
                upload,
                self.bucket.clone(),
                location.to_string(),
                self.files.clone(),
            )));
        }
        let writer = self.begin_write(location).await?;
        Ok(Box::new(crate::writer::SequentialUpload::start(
            writer,
            self.bucket.clone(),
            location.to_string(),
            self.files.clone(),
        )))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        if options.version.is_some() {
            return Err(object_store::Error::NotImplemented {
                operation: "reading an object version".into(),
                implementer: STORE.into(),
            });
        }
        let key = location.as_ref();
        self.files.require("s3:GetObject", &self.bucket, Some(key), None).await?;
        let snap = self.files.snapshot(&self.bucket, key).await?;
        let window = self.files.window(&self.bucket, key).unwrap_or(0..snap.size());
        let size = window.end - window.start;
        let meta = object_meta(location.clone(), size, &snap.meta.etag, snap.meta.last_modified_nanos);
        check_preconditions(&options, &meta)?;
        let returned = resolve_range(options.range.as_ref(), size, location)?;
        let range = (returned.start + window.start)..(returned.end + window.start);
        let files = self.files.clone();
        let count = move |bytes: object_store::Result<Bytes>| {
            if let Ok(b) = &bytes {
                files.bytes_read.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
            bytes
        };
        let payload = if options.head || range.is_empty() {
            futures::stream::empty().boxed()
        } else if range.end - range.start <= STREAM_CHUNK * 8 {
            // Parquet's column chunks and footers: one read.
            futures::stream::once(read_range(snap.clone(), range.clone()))
                .map(count)
                .boxed()
        } else {
            let chunks = (range.start..range.end)
                .step_by(STREAM_CHUNK as usize)
                .map(move |start| start..(start + STREAM_CHUNK).min(range.end));
            let snap = snap.clone();
            futures::stream::iter(chunks)
                .then(move |r| read_range(snap.clone(), r))
                .map(count)
                .boxed()
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(payload),
            meta,
            range: returned,
            attributes: Default::default(),
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        match self.files.remote(&self.bucket) {
            Ok(Some(remote)) => return remote.delete_stream(locations),
            Ok(None) => {}
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        }
        let files = self.files.clone();
        let bucket = self.bucket.clone();
        locations
            .then(move |path| {
                let (files, bucket) = (files.clone(), bucket.clone());
                async move {
                    let path = path?;
                    files.require("s3:DeleteObject", &bucket, Some(path.as_ref()), None).await?;
                    files.writer.delete(&bucket, path.as_ref(), &files.owner).await?;
                    files.forget(&bucket, path.as_ref());
                    Ok(path)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let files = self.files.clone();
        let bucket = self.bucket.clone();
        let prefix = list_prefix(prefix);
        futures::stream::try_unfold(Some(None::<String>), move |after| {
            let (files, bucket, prefix) = (files.clone(), bucket.clone(), prefix.clone());
            async move {
                let Some(after) = after else {
                    return Ok::<_, object_store::Error>(None);
                };
                files.require("s3:ListBucket", &bucket, None, Some(&prefix)).await?;
                let page = files
                    .reader
                    .list_objects(&bucket, &prefix, None, after.as_deref(), LIST_PAGE)
                    .await
                    .map_err(|e| store_error(e, &bucket, &prefix))?;
                let next = page.truncated.then(|| page.entries.last().map(|e| e.name().to_owned()));
                let metas: Vec<_> = page
                    .entries
                    .into_iter()
                    .filter_map(|entry| match entry {
                        ListEntry::Object { key, meta } => listed_path(&bucket, &key).transpose().map(|path| {
                            files.record_listed(&bucket, &key, &meta.etag);
                            Ok(object_meta(path?, meta.size, &meta.etag, meta.last_modified_nanos))
                        }),
                        ListEntry::CommonPrefix(_) => None,
                    })
                    .collect();
                Ok(Some((futures::stream::iter(metas), next.flatten().map(Some))))
            }
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = list_prefix(prefix);
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        self.files.require("s3:ListBucket", &self.bucket, None, Some(&prefix)).await?;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .files
                .reader
                .list_objects(&self.bucket, &prefix, Some("/"), after.as_deref(), LIST_PAGE)
                .await
                .map_err(|e| store_error(e, &self.bucket, &prefix))?;
            after = page.entries.last().map(|e| e.name().to_owned());
            for entry in page.entries {
                match entry {
                    ListEntry::Object { key, meta } => {
                        if let Some(path) = listed_path(&self.bucket, &key)? {
                            self.files.record_listed(&self.bucket, &key, &meta.etag);
                            result
                                .objects
                                .push(object_meta(path, meta.size, &meta.etag, meta.last_modified_nanos));
                        }
                    }
                    ListEntry::CommonPrefix(p) => {
                        let dir = p.strip_suffix('/').unwrap_or(&p);
                        if let Some(path) = listed_path(&self.bucket, dir)? {
                            result.common_prefixes.push(path);
                        }
                    }
                }
            }
            if !page.truncated {
                return Ok(result);
            }
        }
    }

    async fn copy_opts(&self, _from: &Path, _to: &Path, _options: object_store::CopyOptions) -> object_store::Result<()> {
        Err(object_store::Error::NotImplemented {
            operation: "copy".into(),
            implementer: STORE.into(),
        })
    }
}

impl BucketStore {
    async fn begin_write(&self, location: &Path) -> object_store::Result<ObjectWriter> {
        self.files.writer.begin(&self.bucket, location.as_ref()).await
    }

    async fn finish_write(&self, location: &Path, writer: ObjectWriter) -> object_store::Result<PutResult> {
        let etag = writer
            .stage(&self.files.pending, &self.bucket, location.as_ref(), &self.files.owner)
            .await?;
        Ok(PutResult {
            e_tag: Some(format!("\"{etag}\"")),
            version: None,
        })
    }
}

impl QueryFiles {
    /// Stages a multipart write started by [`BucketStore::put_multipart_opts`].
    pub(crate) async fn finish_upload(&self, bucket: &str, key: &str, writer: ObjectWriter) -> object_store::Result<String> {
        writer.stage(&self.pending, bucket, key, &self.owner).await
    }
}

/// Only plain overwrites without tags or attributes are written: anything else is refused, not
/// silently dropped.
fn refuse_put_options(
    location: &Path,
    mode: &object_store::PutMode,
    tags: &object_store::TagSet,
    attributes: &object_store::Attributes,
) -> object_store::Result<()> {
    let unsupported = match mode {
        object_store::PutMode::Overwrite => None,
        _ => Some("conditional puts"),
    }
    .or_else(|| (!tags.encoded().is_empty()).then_some("object tags"))
    .or_else(|| (!attributes.is_empty()).then_some("object attributes"));
    match unsupported {
        Some(what) => Err(object_store::Error::NotImplemented {
            operation: format!("{what} (writing {location})"),
            implementer: STORE.into(),
        }),
        None => Ok(()),
    }
}

fn check_preconditions(options: &GetOptions, meta: &ObjectMeta) -> object_store::Result<()> {
    let etag = meta.e_tag.as_deref().unwrap_or_default();
    let matches = |list: &str| lagoa_store::etag_matches(list, etag.trim_matches('"'));
    let failed = |why: &str| object_store::Error::Precondition {
        path: meta.location.to_string(),
        source: why.to_owned().into(),
    };
    if let Some(m) = &options.if_match
        && !matches(m)
    {
        return Err(failed("If-Match"));
    }
    if let Some(m) = &options.if_none_match
        && matches(m)
    {
        return Err(object_store::Error::NotModified {
            path: meta.location.to_string(),
            source: "If-None-Match".into(),
        });
    }
    if options.if_modified_since.is_some_and(|t| meta.last_modified <= t) {
        return Err(object_store::Error::NotModified {
            path: meta.location.to_string(),
            source: "If-Modified-Since".into(),
        });
    }
    if options.if_unmodified_since.is_some_and(|t| meta.last_modified > t) {
        return Err(failed("If-Unmodified-Since"));
    }
    Ok(())
}

/// The key prefix an object_store prefix stands for: whole path segments (`a/b` lists `a/b/…`).
fn list_prefix(prefix: Option<&Path>) -> String {
    match prefix.map(|p| p.as_ref()).filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/"),
        None => String::new(),
    }
}

/// A listed key as an object_store path. Directory markers (`dir/`, as s3a writes them) are
/// not files of a table: `None`. Other keys object_store cannot name (empty segments `a//b`,
/// `.`/`..`) fail the query rather than silently dropping rows.
fn listed_path(bucket: &str, key: &str) -> object_store::Result<Option<Path>> {
    if key.ends_with('/') {
        return Ok(None);
    }
    match Path::parse(key) {
        Ok(path) if path.as_ref() == key => Ok(Some(path)),
        _ => Err(generic(format!(
            "s3://{bucket}/{key} cannot be read as part of a table (an empty, `.` or `..` path segment); \
             name the objects you mean, or rename it"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_object_store_rules() {
        let p = Path::from("k");
        assert_eq!(resolve_range(None, 10, &p).unwrap(), 0..10);
        assert_eq!(resolve_range(Some(&GetRange::Bounded(2..20)), 10, &p).unwrap(), 2..10);
        assert_eq!(resolve_range(Some(&GetRange::Suffix(3)), 10, &p).unwrap(), 7..10);
        assert!(resolve_range(Some(&GetRange::Bounded(5..10)), 0, &p).is_err());
        assert!(resolve_range(Some(&GetRange::Offset(11)), 10, &p).is_err());
    }

    #[test]
    fn prefixes_are_whole_segments_and_odd_keys_are_refused_not_skipped() {
        assert_eq!(list_prefix(None), "");
        assert_eq!(list_prefix(Some(&Path::from("a/b"))), "a/b/");
        assert_eq!(listed_path("b", "dir/").unwrap(), None);
        assert_eq!(listed_path("b", "a/x.csv").unwrap(), Some(Path::from("a/x.csv")));
        assert!(listed_path("b", "a//x.csv").is_err());
        assert!(listed_path("b", "a/../x.csv").is_err());
    }
}
