//! ListObjectVersions: a merge of two range scans — current objects (`objects`) and every other
//! version (`versions`) — in S3's order: keys ascending, each key's versions newest first. With a
//! delimiter, both scans seek past a common prefix instead of reading beneath it.

use rocksdb::DBRawIteratorWithThreadMode;

use crate::error::{DbContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::list::{ListedObject, common_prefix};
use crate::meta::effective_seq;
use crate::store::{Inner, Store, decode};
use crate::versions::{Chain, Located};

/// Which versions a ListObjectVersions page asks for.
#[derive(Debug, Clone, Default)]
pub struct VersionListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Start after this key (all of its versions, unless `version_id_marker` is given).
    pub key_marker: Option<String>,
    /// Start after this version of `key_marker` (`null` included).
    pub version_id_marker: Option<String>,
    /// Versions, delete markers and common prefixes together.
    pub max_keys: usize,
}

/// One version as a listing shows it.
#[derive(Debug, Clone)]
pub struct ListedVersion {
    pub key: String,
    /// `None` is the `null` version.
    pub version_id: Option<String>,
    pub is_latest: bool,
    /// `None` for a delete marker.
    pub object: Option<ListedObject>,
    /// Unix nanoseconds.
    pub last_modified_nanos: i64,
    /// Access key of the writer (or deleter).
    pub owner: String,
}

/// One entry of a ListObjectVersions page, in S3 order.
#[derive(Debug, Clone)]
pub enum VersionListEntry {
    Version(ListedVersion),
    CommonPrefix(String),
}

/// A page of ListObjectVersions.
#[derive(Debug, Clone, Default)]
pub struct VersionListPage {
    pub entries: Vec<VersionListEntry>,
    /// More entries follow the last one.
    pub truncated: bool,
}

/// The listing's view of a record: the listed fields only (see [`ListedObject`] for why).
#[derive(serde::Deserialize)]
struct LightObject {
    #[serde(flatten)]
    listed: ListedObject,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    version_seq: u64,
}

#[derive(serde::Deserialize)]
struct LightMarker {
    #[serde(default)]
    version_id: Option<String>,
    last_modified_nanos: i64,
    owner: String,
}

#[derive(serde::Deserialize)]
enum LightRecord {
    Object(LightObject),
    DeleteMarker(LightMarker),
}

impl Store {
    /// Lists the versions of `bucket` (ListObjectVersions).
    pub async fn list_versions(&self, bucket: &str, query: VersionListQuery) -> StoreResult<VersionListPage> {
        let bucket = bucket.to_owned();
        self.blocking(move |s| s.list_versions(&bucket, &query)).await
    }
}

/// Where a page resumes inside the marker key: after the version with this seq.
struct Resume<'q> {
    key: &'q str,
    seq: u64,
}

impl Inner {
    fn list_versions(&self, bucket: &str, q: &VersionListQuery) -> StoreResult<VersionListPage> {
        let bucket_meta = self.require_bucket(bucket)?;
        let mut page = VersionListPage::default();
        if q.max_keys == 0 {
            return Ok(page);
        }
        let prefix = q.prefix.as_str();
        let delimiter = q.delimiter.as_deref();
        let base = keys::bucket_prefix(bucket).len();
        let objects_prefix = keys::object_key(bucket, prefix);
        let versions_prefix = keys::version_scan_prefix(bucket, prefix);
        // Both scans read one snapshot: a write committed between them must not show a version
        // twice, lose one, or make two entries latest.
        let snapshot = self.db.snapshot();
        let at_snapshot = || {
            let mut opts = rocksdb::ReadOptions::default();
            opts.set_snapshot(&snapshot);
            opts
        };
        let mut objects = self.db.raw_iterator_cf_opt(self.cf(cf::OBJECTS), at_snapshot());
        let mut versions = self.db.raw_iterator_cf_opt(self.cf(cf::VERSIONS), at_snapshot());
        let key_marker = q.key_marker.as_deref().filter(|m| *m >= prefix);
        let mut resume = None;
        match key_marker {
            None => {
                objects.seek(&objects_prefix);
                versions.seek(&versions_prefix);
            }
            Some(marker) => {
                let chain = Chain::new(self, bucket, marker, &bucket_meta);
                let seq = match q.version_id_marker.as_deref() {
                    Some(id) => match chain.locate(id)? {
                        Some(Located::Current(meta)) => Some(meta.seq()),
                        Some(Located::Older(seq, _)) => Some(seq),
                        None => crate::versions::seq_of_id(id),
                    },
                    None => None,
                };
                match seq {
                    Some(seq) => {
                        objects.seek(keys::object_key(bucket, marker));
                        versions.seek(keys::version_key(bucket, marker, seq));
                        resume = Some(Resume { key: marker, seq });
                    }
                    None => {
                        let mut after = keys::object_key(bucket, marker);
                        after.push(0);
                        objects.seek(&after);
                        versions.seek(keys::after_versions_of(bucket, marker));
                    }
                }
            }
        }
        loop {
            let current_key = scan_key(&objects, &objects_prefix, base, |rest| {
                std::str::from_utf8(rest).ok().map(str::to_owned)
            })?;
            let older_key = scan_key(&versions, &versions_prefix, base, |rest| {
                keys::split_version_key(rest).map(|(k, _)| k)
            })?;
            let key = match (current_key, older_key) {
                (None, None) => break,
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
            };
            if let Some(cp) = common_prefix(&key, prefix, delimiter) {
                // A prefix equal to the marker was the last entry of the previous page.
                if key_marker != Some(cp) {
                    if page.entries.len() == q.max_keys {
                        page.truncated = true;
                        break;
                    }
                    page.entries.push(VersionListEntry::CommonPrefix(cp.to_owned()));
                }
                objects.seek(keys::after_all_with_prefix(&keys::object_key(bucket, cp)));
                versions.seek(keys::after_all_with_prefix(&keys::version_scan_prefix(bucket, cp)));
                continue;
            }
            let resuming = resume.as_ref().filter(|r| r.key == key);
            let mut latest = resuming.is_none();
            // The whole record key, bucket included: past this bucket's last object the iterator
            // stands in the next bucket, whose keys can end in the same bytes.
            if objects.key() == Some(keys::object_key(bucket, &key).as_slice()) {
                let record: LightObject = decode(objects.value().unwrap_or_default())?;
                let seq = effective_seq(record.version_seq, record.listed.last_modified_nanos);
                if resuming.is_none_or(|r| seq < r.seq) {
                    if page.entries.len() == q.max_keys {
                        page.truncated = true;
                        break;
                    }
                    page.entries.push(VersionListEntry::Version(ListedVersion {
                        key: key.clone(),
                        version_id: record.version_id,
                        is_latest: latest,
                        last_modified_nanos: record.listed.last_modified_nanos,
                        owner: record.listed.owner.clone(),
                        object: Some(record.listed),
                    }));
                }
                latest = false;
                objects.next();
            }
            let own_prefix = keys::version_key_prefix(bucket, &key);
            let mut full = false;
            while let Some(raw) = versions.key() {
                if !raw.starts_with(&own_prefix) || raw.len() != own_prefix.len() + 8 {
                    break;
                }
                let seq = !u64::from_be_bytes(raw[own_prefix.len()..].try_into().unwrap_or_default());
                if resuming.is_some_and(|r| seq >= r.seq) {
                    versions.next();
                    continue;
                }
                if page.entries.len() == q.max_keys {
                    full = true;
                    break;
                }
                let entry = match decode::<LightRecord>(versions.value().unwrap_or_default())? {
                    LightRecord::Object(o) => ListedVersion {
                        key: key.clone(),
                        version_id: o.version_id,
                        is_latest: latest,
                        last_modified_nanos: o.listed.last_modified_nanos,
                        owner: o.listed.owner.clone(),
                        object: Some(o.listed),
                    },
                    LightRecord::DeleteMarker(m) => ListedVersion {
                        key: key.clone(),
                        version_id: m.version_id,
                        is_latest: latest,
                        last_modified_nanos: m.last_modified_nanos,
                        owner: m.owner,
                        object: None,
                    },
                };
                page.entries.push(VersionListEntry::Version(entry));
                latest = false;
                versions.next();
            }
            if full {
                page.truncated = true;
                break;
            }
            if versions
                .key()
                .is_some_and(|raw| raw.starts_with(&own_prefix) && raw.len() != own_prefix.len() + 8)
            {
                return Err(StoreError::Corrupt(format!("a version key of {key:?} has a bad length")));
            }
        }
        objects.status().db_ctx("listing versions")?;
        versions.status().db_ctx("listing versions")?;
        Ok(page)
    }
}

/// The key the iterator stands on, if it is still inside `scan_prefix`.
fn scan_key(
    it: &DBRawIteratorWithThreadMode<'_, rocksdb::DB>,
    scan_prefix: &[u8],
    base: usize,
    parse: impl Fn(&[u8]) -> Option<String>,
) -> StoreResult<Option<String>> {
    match it.key() {
        Some(raw) if raw.starts_with(scan_prefix) => parse(&raw[base..])
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("a listed key is not valid".into())),
        _ => Ok(None),
    }
}
