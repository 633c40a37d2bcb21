//! Multipart uploads: parts are data files of their own; completion writes a manifest that points
//! at them, so no part byte is ever copied.

use md5::{Digest, Md5};
use rocksdb::{IteratorMode, WriteBatch};

use crate::error::{DbContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::layout::FileId;
use crate::lock::LockSettings;
use crate::meta::{Checksums, Extent, Location, ObjectAttributes, ObjectMeta, PartMeta, UploadMeta, now_nanos};
use crate::objects::WriteCondition;
use crate::sealing::{Encryption, plain_len};
use crate::store::{Inner, Store, decode, encode};
use crate::writer::{StagedBody, StagedData};

/// How a new multipart upload is to be stored, besides its attributes.
#[derive(Debug, Clone, Default)]
pub struct UploadSettings {
    /// The announced checksum algorithm and type.
    pub checksum: Option<(String, String)>,
    /// Object lock asked for at creation, applied at completion.
    pub lock: LockSettings,
    /// How the parts are sealed (each under a key derived for its part number).
    pub encryption: Option<Encryption>,
}

/// What a part carries besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewPart {
    /// The part's verified `x-amz-checksum-*` values.
    pub checksums: Checksums,
    /// The part's ETag when it is not the MD5 of the stored bytes: required for a sealed part,
    /// whose stored bytes were not hashed (see [`Store::sealed_body_writer`]).
    pub etag: Option<String>,
    /// A sealed part's key salt (hex, from `sealing::Key::new_part_key`).
    pub key_salt: Option<String>,
}

impl Store {
    /// Starts a multipart upload; returns its id.
    pub async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        attributes: ObjectAttributes,
        owner: &str,
        settings: UploadSettings,
    ) -> StoreResult<String> {
        let UploadSettings {
            checksum,
            lock,
            encryption,
        } = settings;
        let (checksum_algorithm, checksum_type) = checksum.unzip();
        let upload = UploadMeta {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            initiated_nanos: now_nanos(),
            owner: owner.to_owned(),
            attributes,
            checksum_algorithm,
            checksum_type,
            retention: lock.retention,
            legal_hold: lock.legal_hold,
            encryption,
        };
        self.blocking(move |s| {
            let _b = s.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
            s.require_bucket(&upload.bucket)?;
            let upload_id = uuid::Uuid::new_v4().simple().to_string();
            let mut batch = WriteBatch::default();
            batch.put_cf(s.cf(cf::UPLOADS), upload_id.as_bytes(), encode(&upload)?);
            batch.put_cf(
                s.cf(cf::UPLOADS_BY_KEY),
                keys::upload_by_key(&upload.bucket, &upload.key, &upload_id),
                [],
            );
            s.write(batch)?;
            Ok(upload_id)
        })
        .await
    }

    /// The upload's record, checked to belong to `bucket/key`.
    pub async fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<UploadMeta> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.blocking(move |s| s.require_upload(&bucket, &key, &upload_id)).await
    }

    /// Stores one part, replacing an earlier upload of the same part number.
    pub async fn put_part<H>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        mut body: StagedBody<H>,
        part: NewPart,
    ) -> StoreResult<PartMeta> {
        let NewPart {
            checksums,
            etag,
            key_salt,
        } = part;
        let data = body
            .take_data()
            .ok_or_else(|| StoreError::Internal("body committed twice".into()))?;
        let (size, md5) = (body.size, etag.unwrap_or_else(|| body.md5_hex()));
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        let file = match &data {
            StagedData::File(id) => Some(*id),
            StagedData::Inline(_) => None,
        };
        let result = self
            .blocking(move |s| {
                let _u = s.upload_locks.lock(&upload_id);
                s.require_upload(&bucket, &key, &upload_id)?;
                let mut batch = WriteBatch::default();
                let location = s.reference(&mut batch, data);
                let part = PartMeta {
                    number,
                    extent: Extent {
                        location,
                        size,
                        md5,
                        key_salt,
                    },
                    last_modified_nanos: now_nanos(),
                    checksums,
                };
                let part_key = keys::part_key(&upload_id, number);
                let mut garbage = Vec::new();
                if let Some(old) =
                    s.db.get_pinned_cf(s.cf(cf::PARTS), &part_key)
                        .db_ctx("reading a part record")?
                {
                    let old: PartMeta = decode(&old)?;
                    garbage.extend(s.dereference_extent(&mut batch, &old.extent));
                }
                batch.put_cf(s.cf(cf::PARTS), &part_key, encode(&part)?);
                s.write(batch)?;
                s.remove_files(garbage);
                Ok(part)
            })
            .await;
        if result.is_err()
            && let Some(id) = file
        {
            self.inner.remove_files(vec![id]);
        }
        result
    }

    /// Parts of an upload in number order, starting after `marker`, at most `max` (plus whether
    /// more follow).
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: u32,
        max: usize,
    ) -> StoreResult<(UploadMeta, Vec<PartMeta>, bool)> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.blocking(move |s| {
            let upload = s.require_upload(&bucket, &key, &upload_id)?;
            let mut parts = s.parts(&upload_id, marker, max + 1)?;
            let truncated = parts.len() > max;
            parts.truncate(max);
            Ok((upload, parts, truncated))
        })
        .await
    }

    /// Completes an upload from the listed `(part number, ETag)` pairs: validates them, writes the
    /// object's manifest and removes the upload, all in one synced batch. Completing an upload
    /// that already completed into the current object, with the same parts, answers that object
    /// again (S3 does, so that an SDK retrying after a lost answer does not fail).
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        completion: Completion,
    ) -> StoreResult<ObjectMeta> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.blocking(move |s| {
            let Completion {
                listed,
                condition,
                checksums,
                checksum_type,
                derived_from,
            } = completion;
            let _u = s.upload_locks.lock(&upload_id);
            let upload = match s.require_upload(&bucket, &key, &upload_id) {
                Ok(upload) => upload,
                Err(StoreError::NoSuchUpload(id)) => {
                    return s
                        .completed_before(&bucket, &key, &upload_id, &listed)?
                        .ok_or(StoreError::NoSuchUpload(id));
                }
                Err(e) => return Err(e),
            };
            if listed.is_empty() {
                return Err(StoreError::InvalidPart(0));
            }
            let stored = s.parts(&upload_id, 0, usize::MAX)?;
            // S3 checks the order of the whole list first, then each part, then the sizes.
            if listed.windows(2).any(|w| w[1].0 <= w[0].0) {
                return Err(StoreError::InvalidPartOrder);
            }
            let chosen = chosen_parts(&stored, &listed)?;
            // A part re-uploaded between deriving the checksum and this commit (same number and
            // ETag, other checksums) must not leave a checksum that describes other parts.
            if !derived_from.is_empty()
                && let Some(changed) = chosen.iter().zip(&derived_from).find(|(p, c)| p.checksums != **c)
            {
                return Err(StoreError::InvalidPart(changed.0.number));
            }
            let mut extents = Vec::with_capacity(chosen.len());
            let mut md5_of_md5s = Md5::new();
            let plain_size = |extent: &Extent| match upload.encryption {
                Some(_) => plain_len(extent.size).unwrap_or(0),
                None => extent.size,
            };
            for (i, part) in chosen.iter().enumerate() {
                if i + 1 < chosen.len() && plain_size(&part.extent) < s.config.min_part_size {
                    return Err(StoreError::EntityTooSmall {
                        part: part.number,
                        size: plain_size(&part.extent),
                        min: s.config.min_part_size,
                    });
                }
                let raw = hex::decode(&part.extent.md5).map_err(|_| StoreError::Corrupt("part MD5 is not hex".into()))?;
                md5_of_md5s.update(&raw);
                extents.push(part.extent.clone());
            }
            let meta = ObjectMeta {
                size: extents.iter().map(plain_size).sum(),
                etag: format!("{}-{}", hex::encode(md5_of_md5s.finalize()), listed.len()),
                last_modified_nanos: now_nanos(),
                attributes: upload.attributes.clone(),
                checksums,
                extents,
                multipart: true,
                owner: upload.owner.clone(),
                checksum_type,
                upload_id: Some(upload_id.clone()),
                part_numbers: chosen.iter().map(|p| p.number).collect(),
                part_checksums: chosen.iter().map(|p| p.checksums.clone()).collect(),
                version_id: None,
                version_seq: 0,
                retention: upload.retention,
                noncurrent_since_nanos: None,
                legal_hold: upload.legal_hold,
                encryption: upload.encryption.clone(),
            };
            // Parts that were uploaded but not listed are dropped with the upload.
            let mut batch = WriteBatch::default();
            let mut garbage = Vec::new();
            for part in &stored {
                if !listed.iter().any(|(n, _)| *n == part.number) {
                    garbage.extend(s.dereference_extent(&mut batch, &part.extent));
                }
            }
            s.remove_upload_index(&mut batch, &upload, &upload_id);
            let meta = s.replace_object(batch, &bucket, &key, meta, &condition)?;
            s.remove_files(garbage);
            Ok(meta)
        })
        .await
    }

    /// The upload's parts as CompleteMultipartUpload would use them, for computing the object's
    /// checksum before completing: each listed `(number, ETag)` resolved to its stored part.
    /// `None` when the upload no longer exists (it may have completed already).
    pub async fn parts_for_completion(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: Vec<(u32, String)>,
    ) -> StoreResult<Option<(UploadMeta, Vec<PartMeta>)>> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.blocking(move |s| {
            let upload = match s.require_upload(&bucket, &key, &upload_id) {
                Ok(upload) => upload,
                Err(StoreError::NoSuchUpload(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let stored = s.parts(&upload_id, 0, usize::MAX)?;
            let chosen = chosen_parts(&stored, &listed)?.into_iter().cloned().collect();
            Ok(Some((upload, chosen)))
        })
        .await
    }

    /// Aborts an upload and deletes its parts.
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<()> {
        let (bucket, key, upload_id) = (bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        self.blocking(move |s| {
            let _u = s.upload_locks.lock(&upload_id);
            s.require_upload(&bucket, &key, &upload_id)?;
            let mut batch = WriteBatch::default();
            let garbage = s.remove_upload_records(&mut batch, &upload_id)?;
            s.write_freeing(batch)?;
            s.remove_files(garbage);
            Ok(())
        })
        .await
    }
}

/// What CompleteMultipartUpload asks for.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// `(part number, ETag)` as listed in the request, in ascending order.
    pub listed: Vec<(u32, String)>,
    pub condition: WriteCondition,
    /// The object's checksums, derived from the parts' (see s3-api's `multipart_checksum`).
    pub checksums: Checksums,
    /// `COMPOSITE` or `FULL_OBJECT` when the upload announced a checksum.
    pub checksum_type: Option<String>,
    /// The part checksums `checksums` was derived from (see [`Store::parts_for_completion`]),
    /// in listed order; a part that changed since is `InvalidPart`. Empty: nothing derived.
    pub derived_from: Vec<Checksums>,
}

/// Whether a part ETag listed in CompleteMultipartUpload (quoted or not) is exactly `md5`: no
/// lists, no wildcards — S3 names each part by its own ETag.
fn part_etag_is(listed: &str, md5: &str) -> bool {
    listed.trim().trim_matches('"') == md5
}

/// Each listed part resolved to its stored record; an absent part or a different ETag is
/// `InvalidPart`.
fn chosen_parts<'p>(stored: &'p [PartMeta], listed: &[(u32, String)]) -> StoreResult<Vec<&'p PartMeta>> {
    listed
        .iter()
        .map(|(number, etag)| {
            stored
                .iter()
                .find(|p| p.number == *number)
                .filter(|p| part_etag_is(etag, &p.extent.md5))
                .ok_or(StoreError::InvalidPart(*number))
        })
        .collect()
}

impl Inner {
    /// The current object, if it was completed from `upload_id` with exactly the `listed` parts.
    fn completed_before(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[(u32, String)],
    ) -> StoreResult<Option<ObjectMeta>> {
        let Some(meta) = self.object_record(bucket, key)? else {
            return Ok(None);
        };
        let same_parts = meta.upload_id.as_deref() == Some(upload_id)
            && meta.part_numbers.len() == listed.len()
            && meta
                .part_numbers
                .iter()
                .zip(&meta.extents)
                .zip(listed)
                .all(|((n, extent), (ln, etag))| n == ln && part_etag_is(etag, &extent.md5));
        Ok(same_parts.then_some(meta))
    }

    pub(crate) fn require_upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<UploadMeta> {
        let record = self
            .db
            .get_pinned_cf(self.cf(cf::UPLOADS), upload_id.as_bytes())
            .db_ctx("reading an upload record")?;
        match record {
            Some(v) => {
                let upload: UploadMeta = decode(&v)?;
                if upload.bucket == bucket && upload.key == key {
                    return Ok(upload);
                }
                Err(StoreError::NoSuchUpload(upload_id.to_owned()))
            }
            None => {
                self.require_bucket(bucket)?;
                Err(StoreError::NoSuchUpload(upload_id.to_owned()))
            }
        }
    }

    /// Parts with numbers above `after`, in order, at most `limit`.
    pub(crate) fn parts(&self, upload_id: &str, after: u32, limit: usize) -> StoreResult<Vec<PartMeta>> {
        let prefix = keys::part_prefix(upload_id);
        let start = keys::part_key(upload_id, after.saturating_add(1));
        let mut out = Vec::new();
        let mode = IteratorMode::From(&start, rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(self.cf(cf::PARTS), mode) {
            let (k, v) = item.db_ctx("listing parts")?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(decode(&v)?);
        }
        Ok(out)
    }

    pub(crate) fn dereference_extent(&self, batch: &mut WriteBatch, extent: &Extent) -> Vec<FileId> {
        match extent.location {
            Location::Inline(id) => {
                batch.delete_cf(self.cf(cf::BLOBS), keys::file_key(id));
                Vec::new()
            }
            Location::File(id) => {
                batch.delete_cf(self.cf(cf::FILES), keys::file_key(id));
                vec![id]
            }
        }
    }

    fn remove_upload_index(&self, batch: &mut WriteBatch, upload: &UploadMeta, upload_id: &str) {
        batch.delete_cf(self.cf(cf::UPLOADS), upload_id.as_bytes());
        batch.delete_cf(
            self.cf(cf::UPLOADS_BY_KEY),
            keys::upload_by_key(&upload.bucket, &upload.key, upload_id),
        );
        let prefix = keys::part_prefix(upload_id);
        batch.delete_range_cf(self.cf(cf::PARTS), &prefix, &keys::after_all_with_prefix(&prefix));
    }

    /// Adds the removal of an upload and all its parts to `batch`; returns files to unlink after.
    pub(crate) fn remove_upload_records(&self, batch: &mut WriteBatch, upload_id: &str) -> StoreResult<Vec<FileId>> {
        let Some(v) = self
            .db
            .get_pinned_cf(self.cf(cf::UPLOADS), upload_id.as_bytes())
            .db_ctx("reading an upload record")?
        else {
            return Ok(Vec::new());
        };
        let upload: UploadMeta = decode(&v)?;
        let mut garbage = Vec::new();
        for part in self.parts(upload_id, 0, usize::MAX)? {
            garbage.extend(self.dereference_extent(batch, &part.extent));
        }
        self.remove_upload_index(batch, &upload, upload_id);
        Ok(garbage)
    }

    /// Ids of all unfinished uploads in a bucket.
    pub(crate) fn upload_ids_in_bucket(&self, bucket: &str) -> StoreResult<Vec<String>> {
        let prefix = keys::bucket_prefix(bucket);
        let mut out = Vec::new();
        let mode = IteratorMode::From(&prefix, rocksdb::Direction::Forward);
        for item in self.db.iterator_cf(self.cf(cf::UPLOADS_BY_KEY), mode) {
            let (k, _) = item.db_ctx("listing uploads")?;
            if !k.starts_with(&prefix) {
                break;
            }
            let (_, id) = keys::split_upload_by_key(&k[prefix.len()..])
                .ok_or_else(|| StoreError::Corrupt("an upload index key is not valid".into()))?;
            out.push(id);
        }
        Ok(out)
    }

    /// Moves a store's legacy `upload_index` records into `uploads_by_key` (see
    /// [`cf::UPLOAD_INDEX`]), in batches that each move their records whole, so an interrupted
    /// move goes on at the next open. Costs one seek when there is nothing to move.
    pub(crate) fn move_legacy_upload_index(&self) -> StoreResult<usize> {
        let mut moved = 0;
        loop {
            let mut batch = WriteBatch::default();
            let mut it = self.db.raw_iterator_cf(self.cf(cf::UPLOAD_INDEX));
            it.seek_to_first();
            let mut n = 0;
            while let Some(raw) = it.key()
                && n < 10_000
            {
                let (bucket, key, id) = keys::split_legacy_upload_index(raw)
                    .ok_or_else(|| StoreError::Corrupt("a legacy upload index key is not valid".into()))?;
                batch.put_cf(self.cf(cf::UPLOADS_BY_KEY), keys::upload_by_key(&bucket, &key, &id), []);
                batch.delete_cf(self.cf(cf::UPLOAD_INDEX), raw);
                n += 1;
                it.next();
            }
            it.status().db_ctx("reading the legacy upload index")?;
            drop(it);
            if n == 0 {
                return Ok(moved);
            }
            self.write(batch)?;
            moved += n;
        }
    }
}
