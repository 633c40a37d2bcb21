//! Object versions: version ids, where each version of a key lives, and how writes and deletes
//! move a key's version chain — always inside one write batch, so a crash leaves the chain as it
//! was before the request or as it is after, never torn.
//!
//! Layout: the `objects` family holds a key's *current* version when that is an object — what
//! GET and ListObjects read, so a listing stays one range scan however many old versions a key
//! has. Every other version (noncurrent objects and all delete markers) is a [`VersionRecord`] in
//! `versions`, newest first per key; `null_versions` points at the key's `null` version while it
//! lives there. Invariant: a current object is newer than all of its key's records in `versions`.

use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::WriteBatch;

use crate::error::{DbContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::layout::FileId;
use crate::meta::{BucketMeta, DeleteMarker, ObjectMeta, VersionRecord, Versioning, now_nanos};
use crate::store::{Inner, decode, encode};

/// The id S3 shows for the version written while versioning was off or suspended.
pub const NULL_VERSION_ID: &str = "null";

/// Whether `id` could name a version of this store (`null`, or an id it generated): anything
/// else is a malformed id, which S3 answers with 400 InvalidArgument rather than 404.
pub fn is_valid_version_id(id: &str) -> bool {
    id == NULL_VERSION_ID || parse_version_id(id).is_some()
}

/// The seq encoded in a generated id (its first 64 bits), or `None` for `null` and malformed ids.
fn parse_version_id(id: &str) -> Option<u64> {
    let uuid = uuid::Uuid::try_parse(id).ok()?;
    (uuid.hyphenated().to_string() == id).then(|| uuid.as_u64_pair().0)
}

/// The seq a generated id names, whether or not that version still exists (where a listing
/// resumes after a version deleted since the previous page).
pub(crate) fn seq_of_id(id: &str) -> Option<u64> {
    parse_version_id(id)
}

/// A new version id: the seq (so the id alone finds the record) and 64 random bits (so ids are
/// unique across keys and restores and cannot be guessed from one another).
fn new_version_id(seq: u64) -> String {
    uuid::Uuid::from_u64_pair(seq, rand::random()).hyphenated().to_string()
}

/// Hands out version seqs: nanoseconds since the epoch, strictly increasing within the process.
#[derive(Default)]
pub(crate) struct SeqClock(AtomicU64);

impl SeqClock {
    /// A seq above both the last one handed out and `floor` (the key's newest version, so a
    /// clock stepped back across a restart still orders a key's versions by write order).
    pub(crate) fn next_above(&self, floor: u64) -> u64 {
        let now = u64::try_from(now_nanos()).unwrap_or(0);
        let mut chosen = 0;
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            chosen = now.max(last.saturating_add(1)).max(floor.saturating_add(1));
            Some(chosen)
        });
        chosen
    }
}

/// Where a version of a key was found.
pub(crate) enum Located {
    /// The key's current object (in `objects`).
    Current(Box<ObjectMeta>),
    /// A record in `versions`, with its seq.
    Older(u64, VersionRecord),
}

/// One key's versions, with the bucket's versioning state: the reads and batch edits that
/// writes and deletes are made of. Callers hold the bucket (shared) and key locks.
pub(crate) struct Chain<'a> {
    s: &'a Inner,
    bucket: &'a str,
    key: &'a str,
    pub(crate) versioning: Option<Versioning>,
}

impl<'a> Chain<'a> {
    pub(crate) fn new(s: &'a Inner, bucket: &'a str, key: &'a str, meta: &BucketMeta) -> Self {
        Self {
            s,
            bucket,
            key,
            versioning: meta.versioning,
        }
    }

    /// The id responses show for a version: `None` (no header) in a bucket that never had
    /// versioning, `null` or the id otherwise.
    pub(crate) fn shown_id(&self, id: Option<&str>) -> Option<String> {
        self.versioning.map(|_| id.unwrap_or(NULL_VERSION_ID).to_owned())
    }

    /// The current object, if the key's newest version is one.
    pub(crate) fn current(&self) -> StoreResult<Option<ObjectMeta>> {
        self.s.object_record(self.bucket, self.key)
    }

    /// The key's records in `versions`, newest first, skipping seqs in `skip` (records the
    /// caller's uncommitted batch already removes), at most `limit`.
    fn older(&self, skip: &[u64], limit: usize) -> StoreResult<Vec<(u64, VersionRecord)>> {
        let prefix = keys::version_key_prefix(self.bucket, self.key);
        let mut it = self.s.db.raw_iterator_cf(self.s.cf(cf::VERSIONS));
        it.seek(&prefix);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(raw) = it.key() else { break };
            if !raw.starts_with(&prefix) || raw.len() != prefix.len() + 8 {
                break;
            }
            let seq = !u64::from_be_bytes(raw[prefix.len()..].try_into().unwrap_or_default());
            if !skip.contains(&seq) {
                out.push((seq, decode(it.value().unwrap_or_default())?));
            }
            it.next();
        }
        it.status().db_ctx("reading a key's versions")?;
        Ok(out)
    }

    /// The key's newest `limit` records in `versions`.
    pub(crate) fn older_records(&self, limit: usize) -> StoreResult<Vec<(u64, VersionRecord)>> {
        self.older(&[], limit)
    }

    /// Calls `f` with each of the key's records in `versions`, newest first, decoding one at a
    /// time (a key's whole history is never held in memory).
    pub(crate) fn for_each_older(&self, mut f: impl FnMut(u64, VersionRecord) -> StoreResult<()>) -> StoreResult<()> {
        let prefix = keys::version_key_prefix(self.bucket, self.key);
        let mut it = self.s.db.raw_iterator_cf(self.s.cf(cf::VERSIONS));
        it.seek(&prefix);
        while let Some(raw) = it.key() {
            if !raw.starts_with(&prefix) || raw.len() != prefix.len() + 8 {
                break;
            }
            let seq = !u64::from_be_bytes(raw[prefix.len()..].try_into().unwrap_or_default());
            f(seq, decode(it.value().unwrap_or_default())?)?;
            it.next();
        }
        it.status().db_ctx("reading a key's versions")
    }

    /// Adds to `batch` the removal of a record from `versions` without promoting anything: for
    /// noncurrent versions, which never hold the key's newest place. Returns its files.
    pub(crate) fn remove_older_in_batch(&self, batch: &mut WriteBatch, seq: u64, record: &VersionRecord) -> Vec<FileId> {
        self.remove_older(batch, seq, record)
    }

    /// The newest record in `versions`.
    pub(crate) fn newest_older(&self) -> StoreResult<Option<(u64, VersionRecord)>> {
        Ok(self.older(&[], 1)?.pop())
    }

    /// The seq of the key's newest version, or 0 when it has none.
    fn newest_seq(&self, current: Option<&ObjectMeta>) -> StoreResult<u64> {
        if let Some(c) = current {
            return Ok(c.seq());
        }
        if self.versioning.is_none() {
            return Ok(0);
        }
        Ok(self.newest_older()?.map_or(0, |(seq, _)| seq))
    }

    /// Finds a version by its id (`null` included). `None` when the key has no such version.
    /// The current object and the versions family are two reads: a promotion committed between
    /// them (the version moving from one to the other) is caught by reading once more.
    pub(crate) fn locate(&self, version_id: &str) -> StoreResult<Option<Located>> {
        match self.locate_once(version_id)? {
            Some(found) => Ok(Some(found)),
            None => self.locate_once(version_id),
        }
    }

    fn locate_once(&self, version_id: &str) -> StoreResult<Option<Located>> {
        let current = self.current()?;
        let wanted = (version_id != NULL_VERSION_ID).then_some(version_id);
        if let Some(c) = current
            && c.version_id.as_deref() == wanted
        {
            return Ok(Some(Located::Current(Box::new(c))));
        }
        let seq = match wanted {
            Some(id) => parse_version_id(id),
            None => self.null_seq()?,
        };
        let Some(seq) = seq else { return Ok(None) };
        let raw = self
            .s
            .db
            .get_pinned_cf(self.s.cf(cf::VERSIONS), keys::version_key(self.bucket, self.key, seq))
            .db_ctx("reading a version")?;
        let Some(raw) = raw else { return Ok(None) };
        let record: VersionRecord = decode(&raw)?;
        Ok((record.version_id() == wanted).then_some(Located::Older(seq, record)))
    }

    /// The seq of the `null` version while it is in `versions`.
    fn null_seq(&self) -> StoreResult<Option<u64>> {
        let raw = self
            .s
            .db
            .get_pinned_cf(self.s.cf(cf::NULL_VERSIONS), keys::object_key(self.bucket, self.key))
            .db_ctx("reading a null-version pointer")?;
        Ok(raw.and_then(|r| <[u8; 8]>::try_from(&r[..]).ok()).map(u64::from_be_bytes))
    }

    /// Adds to `batch` a record in `versions` (and the null pointer for a `null` version).
    fn put_older(&self, batch: &mut WriteBatch, record: &VersionRecord) -> StoreResult<()> {
        let seq = record.seq();
        batch.put_cf(
            self.s.cf(cf::VERSIONS),
            keys::version_key(self.bucket, self.key, seq),
            encode(record)?,
        );
        if record.version_id().is_none() {
            batch.put_cf(
                self.s.cf(cf::NULL_VERSIONS),
                keys::object_key(self.bucket, self.key),
                seq.to_be_bytes(),
            );
        }
        Ok(())
    }

    /// Adds to `batch` the removal of a record from `versions`; returns its files to unlink.
    fn remove_older(&self, batch: &mut WriteBatch, seq: u64, record: &VersionRecord) -> Vec<FileId> {
        batch.delete_cf(self.s.cf(cf::VERSIONS), keys::version_key(self.bucket, self.key, seq));
        if record.version_id().is_none() {
            batch.delete_cf(self.s.cf(cf::NULL_VERSIONS), keys::object_key(self.bucket, self.key));
        }
        match record {
            VersionRecord::Object(meta) => self.s.dereference(batch, meta),
            VersionRecord::DeleteMarker(_) => Vec::new(),
        }
    }

    /// Adds to `batch` the removal of the `null` version if it lives in `versions` (a suspended
    /// write replaces it); returns its seq and files.
    fn remove_older_null(&self, batch: &mut WriteBatch) -> StoreResult<(Option<u64>, Vec<FileId>)> {
        let Some(seq) = self.null_seq()? else {
            return Ok((None, Vec::new()));
        };
        match self.locate(NULL_VERSION_ID)? {
            Some(Located::Older(seq, record)) => Ok((Some(seq), self.remove_older(batch, seq, &record))),
            _ => {
                // A pointer without its record: drop the pointer.
                batch.delete_cf(self.s.cf(cf::NULL_VERSIONS), keys::object_key(self.bucket, self.key));
                Ok((Some(seq), Vec::new()))
            }
        }
    }

    /// Adds to `batch` what makes room for a new newest version: the current object is kept as
    /// a noncurrent version, or (unversioned, or a `null` current in a suspended bucket)
    /// replaced, and a suspended bucket's older `null` version is removed. Returns the files to
    /// unlink after the commit. The caller then writes the new current object or a marker.
    fn retire_newest(&self, batch: &mut WriteBatch, current: Option<ObjectMeta>) -> StoreResult<Vec<FileId>> {
        let mut garbage = Vec::new();
        if let Some(cur) = current {
            let keep = match self.versioning {
                None => false,
                Some(Versioning::Enabled) => true,
                Some(Versioning::Suspended) => cur.version_id.is_some(),
            };
            if keep {
                // Stamped now: NoncurrentVersionExpiration counts from when a version stopped
                // being current, whatever happens to its successor later.
                let mut cur = cur;
                cur.noncurrent_since_nanos = Some(now_nanos());
                self.put_older(batch, &VersionRecord::Object(Box::new(cur)))?;
            } else {
                garbage.extend(self.s.dereference(batch, &cur));
            }
        }
        if self.versioning == Some(Versioning::Suspended) {
            garbage.extend(self.remove_older_null(batch)?.1);
        }
        Ok(garbage)
    }

    /// Adds to `batch` a new current object (PUT, copy, completion); fills in its version id
    /// and seq. Returns the files to unlink after the commit.
    pub(crate) fn write_object(
        &self,
        batch: &mut WriteBatch,
        current: Option<ObjectMeta>,
        meta: &mut ObjectMeta,
    ) -> StoreResult<Vec<FileId>> {
        let seq = self.s.seq_clock.next_above(self.newest_seq(current.as_ref())?);
        meta.version_seq = seq;
        meta.version_id = (self.versioning == Some(Versioning::Enabled)).then(|| new_version_id(seq));
        let garbage = self.retire_newest(batch, current)?;
        batch.put_cf(
            self.s.cf(cf::OBJECTS),
            keys::object_key(self.bucket, self.key),
            encode(&*meta)?,
        );
        Ok(garbage)
    }

    /// Adds to `batch` a delete marker on top of the key (a DELETE without a version id in a
    /// versioned bucket). Returns the marker and the files to unlink.
    pub(crate) fn write_marker(
        &self,
        batch: &mut WriteBatch,
        current: Option<ObjectMeta>,
        owner: &str,
    ) -> StoreResult<(DeleteMarker, Vec<FileId>)> {
        let seq = self.s.seq_clock.next_above(self.newest_seq(current.as_ref())?);
        let marker = DeleteMarker {
            version_id: (self.versioning == Some(Versioning::Enabled)).then(|| new_version_id(seq)),
            version_seq: seq,
            last_modified_nanos: now_nanos(),
            owner: owner.to_owned(),
        };
        let had_current = current.is_some();
        let garbage = self.retire_newest(batch, current)?;
        if had_current {
            batch.delete_cf(self.s.cf(cf::OBJECTS), keys::object_key(self.bucket, self.key));
        }
        self.put_older(batch, &VersionRecord::DeleteMarker(marker.clone()))?;
        Ok((marker, garbage))
    }

    /// Adds to `batch` the removal of the current object and its data (the whole delete in a
    /// bucket without versioning). Returns the files to unlink.
    pub(crate) fn remove_current(&self, batch: &mut WriteBatch, current: &ObjectMeta) -> Vec<FileId> {
        batch.delete_cf(self.s.cf(cf::OBJECTS), keys::object_key(self.bucket, self.key));
        self.s.dereference(batch, current)
    }

    /// Adds to `batch` the permanent removal of one located version. When the current object
    /// goes (or the newest marker above no current object), the next newest object becomes
    /// current. Returns the files to unlink.
    pub(crate) fn remove_version(&self, batch: &mut WriteBatch, found: Located) -> StoreResult<Vec<FileId>> {
        let (garbage, removed_seq, current_remains) = match found {
            Located::Current(cur) => (self.remove_current(batch, &cur), None, false),
            Located::Older(seq, record) => {
                let garbage = self.remove_older(batch, seq, &record);
                (garbage, Some(seq), self.current()?.is_some())
            }
        };
        if !current_remains {
            let skip: Vec<u64> = removed_seq.into_iter().collect();
            if let Some((seq, VersionRecord::Object(mut next))) = self.older(&skip, 1)?.pop() {
                next.noncurrent_since_nanos = None;
                // The newest remaining version is an object: it becomes current.
                batch.delete_cf(self.s.cf(cf::VERSIONS), keys::version_key(self.bucket, self.key, seq));
                if next.version_id.is_none() {
                    batch.delete_cf(self.s.cf(cf::NULL_VERSIONS), keys::object_key(self.bucket, self.key));
                }
                batch.put_cf(
                    self.s.cf(cf::OBJECTS),
                    keys::object_key(self.bucket, self.key),
                    encode(&*next)?,
                );
            }
        }
        Ok(garbage)
    }

    /// Adds to `batch` a rewritten record of a located object version (tags, retention).
    pub(crate) fn rewrite(&self, batch: &mut WriteBatch, found: &Located) -> StoreResult<()> {
        match found {
            Located::Current(meta) => {
                batch.put_cf(
                    self.s.cf(cf::OBJECTS),
                    keys::object_key(self.bucket, self.key),
                    encode(&**meta)?,
                );
            }
            Located::Older(seq, record) => {
                batch.put_cf(
                    self.s.cf(cf::VERSIONS),
                    keys::version_key(self.bucket, self.key, *seq),
                    encode(record)?,
                );
            }
        }
        Ok(())
    }

    /// The error for reading a key whose newest version is not an object: its delete marker
    /// (S3 answers 404 with `x-amz-delete-marker: true`), or plain NoSuchKey.
    pub(crate) fn missing_current(&self) -> StoreResult<StoreError> {
        if self.versioning.is_some()
            && let Some((_, VersionRecord::DeleteMarker(marker))) = self.newest_older()?
        {
            return Ok(StoreError::DeleteMarker {
                version_id: self.shown_id(marker.version_id.as_deref()).unwrap_or_default(),
                last_modified_nanos: marker.last_modified_nanos,
                requested: false,
            });
        }
        Ok(StoreError::NoSuchKey {
            bucket: self.bucket.to_owned(),
            key: self.key.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_to_their_seq_and_others_are_malformed() {
        let id = new_version_id(0x0123_4567_89ab_cdef);
        assert_eq!(parse_version_id(&id), Some(0x0123_4567_89ab_cdef));
        assert!(is_valid_version_id(&id));
        assert!(is_valid_version_id("null"));
        for bad in [
            "",
            "Null",
            "0123456789abcdef0123456789abcdef",
            "not-an-id",
            &id.to_uppercase(),
        ] {
            assert!(!is_valid_version_id(bad), "{bad}");
        }
        assert_ne!(new_version_id(7), new_version_id(7));
    }

    #[test]
    fn seqs_increase_and_respect_the_floor() {
        let clock = SeqClock::default();
        let a = clock.next_above(0);
        let b = clock.next_above(0);
        assert!(b > a);
        assert_eq!(clock.next_above(u64::MAX - 10), u64::MAX - 9);
    }
}
