//! Object records: commit (with S3 conditional-write semantics), read, delete, tags.

use std::fs;

use rocksdb::WriteBatch;

use crate::error::{DbContext, IoContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::layout::FileId;
use crate::meta::{Checksums, Extent, Location, ObjectAttributes, ObjectMeta, now_nanos};
use crate::pins::PinGuard;
use crate::reader::{self, ByteStream, OpenedExtent};
use crate::store::{Inner, Store, decode, encode};
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

/// What a delete did with one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deleted, or already absent without conditions (S3 counts both as deleted).
    Deleted { existed: bool },
    /// A condition was given and the key does not exist.
    Missing,
    /// The key exists but a condition does not hold; nothing was deleted.
    PreconditionFailed,
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
        } = new;
        let data = body
            .take_data()
            .ok_or_else(|| StoreError::Internal("body committed twice".into()))?;
        let meta = ObjectMeta {
            size: body.size,
            etag: body.md5_hex(),
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
        };
        let (md5, size) = (body.md5_hex(), body.size);
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
                meta.extents.push(Extent { location, size, md5 });
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
        self.point_read(|s| s.require_object(bucket, key))
    }

    /// Opens `bucket/key` for reading: its record plus its first extent's data (file handle or
    /// inline bytes), taken together so that an overwrite or delete racing with the GET cannot
    /// pull the bytes away between reading the record and opening the data. Single-extent objects
    /// (every non-multipart object) are therefore read consistently.
    pub async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectHandle> {
        let store = self.clone();
        self.point_read(|s| {
            // A concurrent overwrite can delete the data between the two reads; the new
            // record is then there, so try again (bounded: overwrites do not starve readers forever).
            let mut attempts = 0;
            loop {
                let meta = s.require_object(bucket, key)?;
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
                if pin.is_some() && s.object_record(bucket, key)?.is_none_or(|now| now.extents != meta.extents) {
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

    /// Deletes `bucket/key` if `condition` holds; deleting a missing key without conditions
    /// succeeds (as in S3).
    pub async fn delete_object(&self, bucket: &str, key: &str, condition: DeleteCondition) -> StoreResult<DeleteOutcome> {
        let mut out = self.delete_objects(bucket, vec![(key.to_owned(), condition)]).await?;
        out.pop()
            .ok_or_else(|| StoreError::Corrupt("a delete of one key reported no outcome".into()))
    }

    /// Deletes many keys of one bucket, each under its own condition, in one synced batch
    /// (DeleteObjects). Outcomes come back in the order of `keys_to_delete`.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        keys_to_delete: Vec<(String, DeleteCondition)>,
    ) -> StoreResult<Vec<DeleteOutcome>> {
        let bucket = bucket.to_owned();
        self.blocking(move |s| {
            let _b = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            s.require_bucket(&bucket)?;
            let _locks = s.key_locks.lock_many(keys_to_delete.iter().map(|(k, _)| (&bucket, k)));
            let mut batch = WriteBatch::default();
            let mut garbage = Vec::new();
            let mut outcomes = Vec::with_capacity(keys_to_delete.len());
            let mut deleted = std::collections::HashSet::new();
            for (key, condition) in &keys_to_delete {
                let current = if deleted.contains(key.as_str()) {
                    None
                } else {
                    s.object_record(&bucket, key)?
                };
                let outcome = match current {
                    None if condition.is_set() => DeleteOutcome::Missing,
                    None => DeleteOutcome::Deleted { existed: false },
                    Some(old) if !condition.holds(&old) => DeleteOutcome::PreconditionFailed,
                    Some(old) => {
                        batch.delete_cf(s.cf(cf::OBJECTS), keys::object_key(&bucket, key));
                        garbage.extend(s.dereference(&mut batch, &old));
                        deleted.insert(key.as_str());
                        DeleteOutcome::Deleted { existed: true }
                    }
                };
                outcomes.push(outcome);
            }
            if !batch.is_empty() {
                s.write_freeing(batch)?;
            }
            s.remove_files(garbage);
            Ok(outcomes)
        })
        .await
    }

    /// Replaces an object's tags (`None` removes them), keeping everything else.
    pub async fn set_tags(&self, bucket: &str, key: &str, tags: Vec<(String, String)>) -> StoreResult<()> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.blocking(move |s| {
            let _b = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            let _k = s.key_locks.lock((&bucket, &key));
            let mut meta = s.require_object(&bucket, &key)?;
            meta.attributes.tags = tags;
            let mut batch = WriteBatch::default();
            batch.put_cf(s.cf(cf::OBJECTS), keys::object_key(&bucket, &key), encode(&meta)?);
            s.write(batch)
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
    /// Streams bytes `[start, end)`. Later extents of multipart objects are opened when the
    /// stream reaches them.
    pub async fn read(self, start: u64, end: u64) -> StoreResult<ByteStream> {
        let ObjectHandle {
            meta,
            mut first,
            store,
            pin,
        } = self;
        let plan = reader::plan(&meta, start, end);
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
        Ok(reader::stream(opened, pin))
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
        match self.object_record(bucket, key)? {
            Some(meta) => Ok(meta),
            None => {
                self.require_bucket(bucket)?;
                Err(StoreError::NoSuchKey {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                })
            }
        }
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
    /// `batch` already holds) in one synced batch, then unlink the replaced object's files.
    pub(crate) fn replace_object(
        &self,
        mut batch: WriteBatch,
        bucket: &str,
        key: &str,
        mut meta: ObjectMeta,
        condition: &WriteCondition,
    ) -> StoreResult<ObjectMeta> {
        let _b = self.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
        self.require_bucket(bucket)?;
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
        batch.put_cf(self.cf(cf::OBJECTS), keys::object_key(bucket, key), encode(&meta)?);
        let garbage = current
            .as_ref()
            .map(|old| self.dereference(&mut batch, old))
            .unwrap_or_default();
        self.write(batch)?;
        self.remove_files(garbage);
        Ok(meta)
    }
}
