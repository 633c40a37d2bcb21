//! Object records: commit (with S3 conditional-write semantics), read, delete, tags.

use std::fs;

use futures::StreamExt;
use rocksdb::WriteBatch;

use crate::error::{DbContext, IoContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::layout::FileId;
use crate::lock::{LockSettings, default_retention, deletion_blocked};
use crate::meta::{Checksums, Extent, Location, ObjectAttributes, ObjectMeta, VersionRecord, now_nanos};
use crate::pins::PinGuard;
use crate::reader::{self, ByteStream, OpenedExtent};
use crate::sealing::{self, Encryption, Key, SpanOpener, plain_len};
use crate::store::{Inner, Store, decode};
use crate::versions::{Chain, Located};
use crate::writer::{StagedBody, StagedData};

/// Conditions a write must meet at commit time, checked under the key's lock so that they hold
/// atomically with the commit. Both take the header's value as sent: `*` or a comma-separated
/// list of ETags (quotes ignored).
#[derive(Debug, Clone, Default)]
pub struct WriteCondition {
    /// `If-None-Match`: fail if the key exists (`*`) or exists with one of these ETags.
    pub if_none_match: Option<String>,
    /// `If-Match`: fail unless the key exists (`*`) with one of these ETags.
    pub if_match: Option<String>,
}

impl WriteCondition {
    fn check(&self, current: Option<&ObjectMeta>) -> StoreResult<()> {
        if let (Some(condition), Some(current)) = (&self.if_none_match, current)
            && etag_matches(condition, &current.etag)
        {
            return Err(StoreError::PreconditionFailed(
                "If-None-Match: the object exists with a matching ETag",
            ));
        }
        if let Some(expected) = &self.if_match {
            let Some(current) = current else {
                return Err(StoreError::NoSuchKey {
                    bucket: String::new(),
                    key: String::new(),
                });
            };
            if !etag_matches(expected, &current.etag) {
                return Err(StoreError::PreconditionFailed("If-Match: the ETag does not match"));
            }
        }
        Ok(())
    }
}

/// Whether an `If-Match`-style list of ETags (quoted or not, comma-separated, or `*`) names `etag`.
pub fn etag_matches(condition: &str, etag: &str) -> bool {
    condition
        .split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == etag)
}

/// Everything about a new object except its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewObject {
    pub attributes: ObjectAttributes,
    pub checksums: Checksums,
    /// Access key of the writer.
    pub owner: String,
    pub condition: WriteCondition,
    /// Object lock asked for by the request.
    pub lock: LockSettings,
    /// Set when the body was sealed before it reached the store (see `sealing`).
    pub encryption: Option<Encryption>,
    /// The ETag when it is not the MD5 of the stored bytes: a sealed body's plaintext MD5
    /// (SSE-S3, as S3 answers), computed before sealing.
    pub etag: Option<String>,
}

/// Conditions on a delete (`If-Match`, `x-amz-if-match-last-modified-time`,
/// `x-amz-if-match-size`), checked atomically with the delete under the key's lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteCondition {
    /// `*` or a comma-separated list of ETags the current object must have.
    pub if_match: Option<String>,
    /// Unix seconds the current object's Last-Modified must equal (HTTP-date resolution).
    pub last_modified_secs: Option<i64>,
    /// Size in bytes the current object must have.
    pub size: Option<u64>,
}

impl DeleteCondition {
    /// Whether any condition is set (an unconditional delete of a missing key succeeds).
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }

    fn holds(&self, current: &ObjectMeta) -> bool {
        self.if_match.as_deref().is_none_or(|c| etag_matches(c, &current.etag))
            && self
                .last_modified_secs
                .is_none_or(|t| current.last_modified_nanos.div_euclid(1_000_000_000) == t)
            && self.size.is_none_or(|n| current.size == n)
    }
}

/// One key (or one version of it) to delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteRequest {
    pub key: String,
    /// Delete this version permanently; `None` deletes the key as S3 does for the bucket's
    /// versioning state (removal, or a delete marker on top).
    pub version_id: Option<String>,
    pub condition: DeleteCondition,
    /// `x-amz-bypass-governance-retention: true`: a GOVERNANCE retention does not stop the delete.
    pub bypass_governance: bool,
}

/// What a delete did with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deleted, or already absent without conditions (S3 counts both as deleted).
    Deleted(Deleted),
    /// A condition was given and the key does not exist.
    Missing,
    /// The key exists but a condition does not hold; nothing was deleted.
    PreconditionFailed,
    /// Object lock protects the version (S3's AccessDenied); nothing was deleted.
    Locked(&'static str),
}

/// A successful delete, as S3 reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Something was removed or a marker was written.
    pub existed: bool,
    /// In a bucket that has versioning: the id of the marker created, or of the version
    /// removed (`null` included). `None` in a bucket that never had versioning.
    pub version_id: Option<String>,
    /// A marker was created, or the version removed was a marker.
    pub delete_marker: bool,
}

impl Store {
    /// Commits a received body as `bucket/key`, replacing any current object, if `condition` holds.
    pub async fn put_object<H>(
        &self,
        bucket: &str,
        key: &str,
        mut body: StagedBody<H>,
        new: NewObject,
    ) -> StoreResult<ObjectMeta> {
        let NewObject {
            attributes,
            checksums,
            owner,
            condition,
            lock,
            encryption,
            etag,
        } = new;
        let data = body
            .take_data()
            .ok_or_else(|| StoreError::Internal("body committed twice".into()))?;
        let plain_size = match encryption {
            Some(_) => {
                plain_len(body.size).ok_or_else(|| StoreError::Internal(format!("{} bytes is not a sealed body", body.size)))?
            }
            None => body.size,
        };
        if encryption.is_some() && etag.is_none() {
            return Err(StoreError::Internal("a sealed body is committed with its ETag".into()));
        }
        let meta = ObjectMeta {
            size: plain_size,
            etag: etag.unwrap_or_else(|| body.md5_hex()),
            last_modified_nanos: now_nanos(),
            attributes,
            checksums,
            extents: Vec::new(),
            multipart: false,
            owner,
            checksum_type: None,
            upload_id: None,
            part_numbers: Vec::new(),
            part_checksums: Vec::new(),
            version_id: None,
            version_seq: 0,
            retention: lock.retention,
            noncurrent_since_nanos: None,
            legal_hold: lock.legal_hold,
            encryption,
        };
        // A sealed body's MD5 was not computed: its piece keeps the ETag instead.
        let md5 = if meta.encryption.is_some() {
            meta.etag.clone()
        } else {
            body.md5_hex()
        };
        let size = body.size;
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let file = match &data {
            StagedData::File(id) => Some(*id),
            StagedData::Inline(_) => None,
        };
        let result = self
            .blocking(move |s| {
                let mut meta = meta;
                let mut batch = WriteBatch::default();
                let location = s.reference(&mut batch, data);
                meta.extents.push(Extent {
                    location,
                    size,
                    md5,
                    key_salt: None,
                });
                s.replace_object(batch, &bucket, &key, meta, &condition)
            })
            .await;
        if result.is_err()
            && let Some(id) = file
        {
            // Not committed: the file belongs to nobody.
            self.inner.remove_files(vec![id]);
        }
        result
    }

    /// The current record of `bucket/key`.
    pub async fn object(&self, bucket: &str, key: &str) -> StoreResult<ObjectMeta> {
        self.object_version(bucket, key, None).await
    }

    /// The record of one version of `bucket/key` (`None`: the current one). A delete marker
    /// answers [`StoreError::DeleteMarker`].
    pub async fn object_version(&self, bucket: &str, key: &str, version: Option<&str>) -> StoreResult<ObjectMeta> {
        self.point_read(|s| s.read_version(bucket, key, version))
    }

    /// Opens the current version of `bucket/key` for reading (see [`Store::open_object_version`]).
    pub async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectHandle> {
        self.open_object_version(bucket, key, None).await
    }

    /// Opens a version of `bucket/key` (`None`: the current one) for reading: its record plus
    /// its first extent's data (file handle or inline bytes), taken together so that an
    /// overwrite or delete racing with the GET cannot pull the bytes away between reading the
    /// record and opening the data. Single-extent objects (every non-multipart object) are
    /// therefore read consistently.
    pub async fn open_object_version(&self, bucket: &str, key: &str, version: Option<&str>) -> StoreResult<ObjectHandle> {
        let store = self.clone();
        self.point_read(|s| {
            // A concurrent overwrite can delete the data between the two reads; the new
            // record is then there, so try again (bounded: overwrites do not starve readers forever).
            let mut attempts = 0;
            loop {
                let meta = s.read_version(bucket, key, version)?;
                // The later parts are opened as the stream reaches them: pin their files, then
                // make sure they were not dereferenced before the pin took hold.
                let later: Vec<FileId> = meta
                    .extents
                    .iter()
                    .skip(1)
                    .filter_map(|e| match e.location {
                        Location::File(id) => Some(id),
                        Location::Inline(_) => None,
                    })
                    .collect();
                let pin = (!later.is_empty()).then(|| s.pins.pin(later, s.layout.clone()));
                if pin.is_some()
                    && s.read_version(bucket, key, version)
                        .map_or(true, |now| now.extents != meta.extents)
                {
                    attempts += 1;
                    if attempts > 8 {
                        return Err(StoreError::Internal(format!(
                            "{bucket}/{key} keeps changing while it is opened"
                        )));
                    }
                    continue;
                }
                match meta.extents.first().map(|e| s.open_location(e.location)).transpose() {
                    Ok(first) => {
                        return Ok(ObjectHandle { meta, first, store, pin });
                    }
                    Err(e) if attempts < 8 && e.is_not_found() => attempts += 1,
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// Deletes one key or version (see [`Store::delete_objects`]).
    pub async fn delete_object(&self, bucket: &str, request: DeleteRequest, owner: &str) -> StoreResult<DeleteOutcome> {
        let mut out = self.delete_objects(bucket, vec![request], owner).await?;
        out.pop()
            .ok_or_else(|| StoreError::Corrupt("a delete of one key reported no outcome".into()))
    }

    /// Deletes many keys or versions of one bucket, each under its own condition, in as few
    /// synced batches as possible (one unless a key repeats) (DeleteObjects). `owner` owns the
    /// delete markers written. Outcomes come back in the order of `requests`.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        requests: Vec<DeleteRequest>,
        owner: &str,
    ) -> StoreResult<Vec<DeleteOutcome>> {
        let (bucket, owner) = (bucket.to_owned(), owner.to_owned());
        self.blocking(move |s| {
            let _b = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            let bucket_meta = s.require_bucket(&bucket)?;
            let _locks = s.key_locks.lock_many(requests.iter().map(|r| (&bucket, &r.key)));
            let mut batch = WriteBatch::default();
            let mut garbage = Vec::new();
            let mut outcomes = Vec::with_capacity(requests.len());
            let mut touched = std::collections::HashSet::new();
            for request in &requests {
                // A key seen before in this request: commit first, so that this delete
                // sees what the earlier one did.
                if !touched.insert(request.key.as_str()) {
                    s.write_freeing(std::mem::take(&mut batch))?;
                    s.remove_files(std::mem::take(&mut garbage));
                    touched.clear();
                    touched.insert(request.key.as_str());
                }
                let chain = Chain::new(s, &bucket, &request.key, &bucket_meta);
                outcomes.push(s.delete_one(&chain, &mut batch, &mut garbage, request, &owner)?);
            }
            if !batch.is_empty() {
                s.write_freeing(batch)?;
            }
            s.remove_files(garbage);
            Ok(outcomes)
        })
        .await
    }

    /// Replaces the tags of a version of an object (`None`: the current one), keeping
    /// everything else. Returns the version id responses show.
    pub async fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        tags: Vec<(String, String)>,
    ) -> StoreResult<Option<String>> {
        self.edit_version(bucket, key, version, false, move |meta, _| {
            meta.attributes.tags = tags;
            Ok(())
        })
        .await
    }

    /// Sets (or with `None` clears) one version's ACL document (`None`: the current version).
    pub async fn set_object_acl(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        acl: Option<String>,
    ) -> StoreResult<Option<String>> {
        self.edit_version(bucket, key, version, false, move |meta, _| {
            meta.attributes.acl = acl;
            Ok(())
        })
        .await
    }

    /// Rewrites one version's record (`None`: the current one) under the key lock with `edit`
    /// (given the record and the time now); with `needs_object_lock`, only in a bucket with
    /// object lock. Returns the version id responses show.
    pub(crate) async fn edit_version(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        needs_object_lock: bool,
        edit: impl FnOnce(&mut ObjectMeta, i64) -> StoreResult<()> + Send + 'static,
    ) -> StoreResult<Option<String>> {
        let (bucket, key, version) = (bucket.to_owned(), key.to_owned(), version.map(str::to_owned));
        self.blocking(move |s| {
            let _b = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            let bucket_meta = s.require_bucket(&bucket)?;
            if needs_object_lock && bucket_meta.object_lock.is_none() {
                return Err(StoreError::NoObjectLock(bucket));
            }
            let _k = s.key_locks.lock((&bucket, &key));
            let chain = Chain::new(s, &bucket, &key, &bucket_meta);
            let mut found = s.locate_object(&chain, &bucket, &key, version.as_deref())?;
            let meta = crate::lock::object_of(&mut found)?;
            edit(meta, now_nanos())?;
            let shown = chain.shown_id(meta.version_id.as_deref());
            let mut batch = WriteBatch::default();
            chain.rewrite(&mut batch, &found)?;
            s.write(batch)?;
            Ok(shown)
        })
        .await
    }
}

/// An object opened for reading (see [`Store::open_object`]).
pub struct ObjectHandle {
    /// The object's record at the time it was opened.
    pub meta: ObjectMeta,
    first: Option<OpenedData>,
    store: Store,
    /// Keeps the later parts' files on disk until the read is over.
    pin: Option<PinGuard>,
}

/// The already-opened data of an extent.
pub(crate) enum OpenedData {
    Memory(bytes::Bytes),
    File(fs::File),
}

impl ObjectHandle {
    /// Streams bytes `[start, end)` of a plaintext or SSE-S3/SSE-KMS object (see
    /// [`ObjectHandle::read_with_key`]).
    pub async fn read(self, start: u64, end: u64) -> StoreResult<ByteStream> {
        self.read_with_key(start, end, None).await
    }

    /// Streams plaintext bytes `[start, end)`. A sealed object is opened package by package:
    /// only the packages the range touches are read from disk. `customer` is the SSE-C key
    /// (checked against the record; [`StoreError::CustomerKey`] when missing or wrong). Later
    /// extents of multipart objects are opened when the stream reaches them.
    pub async fn read_with_key(self, start: u64, end: u64, customer: Option<&Key>) -> StoreResult<ByteStream> {
        let Some(encryption) = self.meta.encryption.clone() else {
            let plan = reader::plan(&self.meta, start, end);
            let (opened, pin) = self.open_plan(plan)?;
            return Ok(reader::stream(opened, pin));
        };
        let key = encryption.data_key(self.store.keyring(), customer)?;
        let sizes: Vec<u64> = self.meta.extents.iter().map(|e| e.size).collect();
        let spans = sealing::format::plan(&sizes, start, end)?;
        let plan = spans
            .iter()
            .map(|s| (self.meta.extents[s.extent].location, s.sealed_offset, s.sealed_len))
            .collect();
        let stream_keys = spans
            .iter()
            .map(|s| sealing::stream_key(&key, &self.meta, s.extent))
            .collect::<StoreResult<Vec<_>>>()?;
        let (opened, mut pin) = self.open_plan(plan)?;
        let count = spans.len();
        let mut streams = Vec::with_capacity(count);
        for (i, ((piece, span), stream_key)) in opened.into_iter().zip(spans).zip(stream_keys).enumerate() {
            let opener = SpanOpener::new(&stream_key, sizes[span.extent], &span)?;
            // The last stream holds the pin: it lives until the whole body is dropped.
            let pin = if i + 1 == count { pin.take() } else { None };
            streams.push(reader::unsealed(reader::stream(vec![piece], pin), opener));
        }
        Ok(Box::pin(futures::stream::iter(streams).flatten()))
    }

    /// Opens the stored pieces `(location, offset, len)`: the first extent's data came with the
    /// handle, inline extents are read now, later files when the stream reaches them.
    fn open_plan(self, plan: Vec<(Location, u64, u64)>) -> StoreResult<(Vec<OpenedExtent>, Option<PinGuard>)> {
        let ObjectHandle {
            meta,
            mut first,
            store,
            pin,
        } = self;
        let first_location = meta.extents.first().map(|e| e.location);
        // At most a few RocksDB gets (inline extents); file extents are opened lazily by the stream.
        let opened = store.point_read(move |s| {
            let mut out = Vec::with_capacity(plan.len());
            for (location, offset, len) in plan {
                let data = if Some(location) == first_location {
                    first.take()
                } else {
                    None
                };
                out.push(match (location, data) {
                    (_, Some(OpenedData::Memory(b))) => OpenedExtent::Memory(slice(&b, offset, len)?),
                    (_, Some(OpenedData::File(file))) => OpenedExtent::File { file, offset, len },
                    (Location::Inline(_), None) => match s.open_location(location)? {
                        OpenedData::Memory(b) => OpenedExtent::Memory(slice(&b, offset, len)?),
                        OpenedData::File(file) => OpenedExtent::File { file, offset, len },
                    },
                    (Location::File(id), None) => OpenedExtent::Deferred {
                        path: s.layout.data_path(id),
                        offset,
                        len,
                    },
                });
            }
            Ok(out)
        })?;
        Ok((opened, pin))
    }
}

fn slice(b: &bytes::Bytes, offset: u64, len: u64) -> StoreResult<bytes::Bytes> {
    let (o, l) = (offset as usize, len as usize);
    if o + l > b.len() {
        return Err(StoreError::Corrupt("inline data is shorter than its record says".into()));
    }
    Ok(b.slice(o..o + l))
}

impl Inner {
    /// Opens an extent's data: the file, or the inline bytes.
    pub(crate) fn open_location(&self, location: Location) -> StoreResult<OpenedData> {
        match location {
            Location::Inline(id) => {
                let blob = self
                    .db
                    .get_cf(self.cf(cf::BLOBS), keys::file_key(id))
                    .db_ctx("reading inline data")?;
                // Missing inline data means the record was replaced meanwhile: like a missing file.
                blob.map(|b| OpenedData::Memory(bytes::Bytes::from(b)))
                    .ok_or_else(|| StoreError::Io {
                        context: format!("reading inline data {}", id.file_name()),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    })
            }
            Location::File(id) => {
                let path = self.layout.data_path(id);
                fs::File::open(&path)
                    .map(OpenedData::File)
                    .ctx(|| format!("opening {}", path.display()))
            }
        }
    }

    pub(crate) fn object_record(&self, bucket: &str, key: &str) -> StoreResult<Option<ObjectMeta>> {
        match self
            .db
            .get_pinned_cf(self.cf(cf::OBJECTS), keys::object_key(bucket, key))
            .db_ctx("reading an object record")?
        {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn require_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectMeta> {
        self.read_version(bucket, key, None)
    }

    /// A version's record (`None`: the current object). The current object costs one read;
    /// a miss or a named version also reads the bucket and the key's versions.
    pub(crate) fn read_version(&self, bucket: &str, key: &str, version: Option<&str>) -> StoreResult<ObjectMeta> {
        if version.is_none()
            && let Some(meta) = self.object_record(bucket, key)?
        {
            return Ok(meta);
        }
        let bucket_meta = self.require_bucket(bucket)?;
        let chain = Chain::new(self, bucket, key, &bucket_meta);
        match self.locate_object(&chain, bucket, key, version)? {
            Located::Current(meta) | Located::Older(_, VersionRecord::Object(meta)) => Ok(*meta),
            Located::Older(_, VersionRecord::DeleteMarker(_)) => {
                Err(StoreError::Internal("locate_object returned a delete marker".into()))
            }
        }
    }

    /// Finds an object version (`None`: the current object), answering S3's errors for a
    /// missing key or version and for a delete marker.
    pub(crate) fn locate_object(
        &self,
        chain: &Chain<'_>,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> StoreResult<Located> {
        let Some(version) = version else {
            return match chain.current()? {
                Some(meta) => Ok(Located::Current(Box::new(meta))),
                None => Err(chain.missing_current()?),
            };
        };
        match chain.locate(version)? {
            Some(Located::Older(_, VersionRecord::DeleteMarker(marker))) => Err(StoreError::DeleteMarker {
                version_id: chain.shown_id(marker.version_id.as_deref()).unwrap_or_default(),
                last_modified_nanos: marker.last_modified_nanos,
                requested: true,
            }),
            Some(found) => Ok(found),
            None => Err(StoreError::NoSuchVersion {
                key: format!("{bucket}/{key}"),
                version: version.to_owned(),
            }),
        }
    }

    /// One key of a delete: conditions against the version it concerns, then the removal or
    /// the delete marker, added to `batch`.
    fn delete_one(
        &self,
        chain: &Chain<'_>,
        batch: &mut WriteBatch,
        garbage: &mut Vec<FileId>,
        request: &DeleteRequest,
        owner: &str,
    ) -> StoreResult<DeleteOutcome> {
        let condition = &request.condition;
        let Some(version) = request.version_id.as_deref() else {
            let current = chain.current()?;
            match &current {
                None if condition.is_set() => return Ok(DeleteOutcome::Missing),
                Some(old) if !condition.holds(old) => return Ok(DeleteOutcome::PreconditionFailed),
                _ => {}
            }
            if chain.versioning.is_none() {
                let existed = current.is_some();
                if let Some(old) = current {
                    garbage.extend(chain.remove_current(batch, &old));
                }
                return Ok(DeleteOutcome::Deleted(Deleted {
                    existed,
                    ..Deleted::default()
                }));
            }
            let (marker, freed) = chain.write_marker(batch, current, owner)?;
            garbage.extend(freed);
            return Ok(DeleteOutcome::Deleted(Deleted {
                existed: true,
                version_id: chain.shown_id(marker.version_id.as_deref()),
                delete_marker: true,
            }));
        };
        let found = chain.locate(version)?;
        let shown = chain.shown_id(Some(version)).or_else(|| Some(version.to_owned()));
        let Some(found) = found else {
            if condition.is_set() {
                return Ok(DeleteOutcome::Missing);
            }
            return Ok(DeleteOutcome::Deleted(Deleted {
                existed: false,
                version_id: shown,
                delete_marker: false,
            }));
        };
        let delete_marker = match &found {
            Located::Current(meta) | Located::Older(_, VersionRecord::Object(meta)) => {
                if !condition.holds(meta) {
                    return Ok(DeleteOutcome::PreconditionFailed);
                }
                if let Some(why) = deletion_blocked(meta, request.bypass_governance, now_nanos()) {
                    return Ok(DeleteOutcome::Locked(why));
                }
                false
            }
            Located::Older(_, VersionRecord::DeleteMarker(_)) => {
                if condition.is_set() {
                    return Ok(DeleteOutcome::PreconditionFailed);
                }
                true
            }
        };
        garbage.extend(chain.remove_version(batch, found)?);
        Ok(DeleteOutcome::Deleted(Deleted {
            existed: true,
            version_id: shown,
            delete_marker,
        }))
    }

    /// Adds to `batch` the record that makes staged data referenced: inline bytes go into the
    /// blobs family, a data file gets its entry in the files index.
    pub(crate) fn reference(&self, batch: &mut WriteBatch, data: StagedData) -> Location {
        match data {
            StagedData::Inline(bytes) => {
                let id = FileId::random();
                batch.put_cf(self.cf(cf::BLOBS), keys::file_key(id), &bytes);
                Location::Inline(id)
            }
            StagedData::File(id) => {
                batch.put_cf(self.cf(cf::FILES), keys::file_key(id), []);
                Location::File(id)
            }
        }
    }

    /// Adds to `batch` the removal of an old object's data records; returns the data files to
    /// unlink once the batch is committed.
    pub(crate) fn dereference(&self, batch: &mut WriteBatch, old: &ObjectMeta) -> Vec<FileId> {
        old.extents
            .iter()
            .flat_map(|extent| self.dereference_extent(batch, extent))
            .collect()
    }

    /// The commit step shared by PUT, copy and multipart completion: under the bucket and key
    /// locks, check the condition against the current object, write the new record (plus whatever
    /// `batch` already holds) as the key's new version in one synced batch, then unlink what the
    /// write replaced (nothing in a versioned bucket: the old object stays as a version).
    pub(crate) fn replace_object(
        &self,
        mut batch: WriteBatch,
        bucket: &str,
        key: &str,
        mut meta: ObjectMeta,
        condition: &WriteCondition,
    ) -> StoreResult<ObjectMeta> {
        let _b = self.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
        let bucket_meta = self.require_bucket(bucket)?;
        let _k = self.key_locks.lock((bucket, key));
        let current = self.object_record(bucket, key)?;
        condition.check(current.as_ref()).map_err(|e| match e {
            StoreError::NoSuchKey { .. } => StoreError::NoSuchKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            },
            other => other,
        })?;
        meta.last_modified_nanos = now_nanos();
        if bucket_meta.object_lock.is_none() && (meta.retention.is_some() || meta.legal_hold.is_some()) {
            return Err(StoreError::NoObjectLock(bucket.to_owned()));
        }
        if meta.retention.is_none() {
            meta.retention = default_retention(&bucket_meta, meta.last_modified_nanos);
        }
        let chain = Chain::new(self, bucket, key, &bucket_meta);
        let garbage = chain.write_object(&mut batch, current, &mut meta)?;
        self.write(batch)?;
        self.remove_files(garbage);
        Ok(meta)
    }
}
