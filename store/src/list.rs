//! Listing: one RocksDB range scan per page. With a delimiter, each common prefix is emitted once
//! and the scan *seeks past* everything beneath it instead of reading those keys.

use rocksdb::IteratorMode;

use crate::error::{DbContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::meta::UploadMeta;
use crate::store::{Inner, Store, decode};

/// What a listing shows of an object. Decoded straight from the object's record, skipping what a
/// listing never needs (extents, attributes, checksums): decoding whole records was the largest
/// cost of a 1000-key page after the XML itself (`lagoa-bench list-1m-page-1000`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ListedObject {
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    /// Unix nanoseconds.
    pub last_modified_nanos: i64,
    /// Access key of the writer.
    #[serde(default)]
    pub owner: String,
}

/// One listing item in S3 order.
#[derive(Debug, Clone)]
pub enum ListEntry {
    Object { key: String, meta: ListedObject },
    CommonPrefix(String),
}

impl ListEntry {
    /// The key or prefix: what the next page starts after.
    pub fn name(&self) -> &str {
        match self {
            ListEntry::Object { key, .. } => key,
            ListEntry::CommonPrefix(p) => p,
        }
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub entries: Vec<ListEntry>,
    /// More entries follow the last one.
    pub truncated: bool,
}

/// One unfinished upload in a ListMultipartUploads page.
#[derive(Debug, Clone)]
pub enum UploadListEntry {
    Upload { upload_id: String, meta: Box<UploadMeta> },
    CommonPrefix(String),
}

/// A page of ListMultipartUploads.
#[derive(Debug, Clone, Default)]
pub struct UploadListPage {
    pub entries: Vec<UploadListEntry>,
    pub truncated: bool,
}

/// Where a listing key rolls up to: the common prefix ending at the first delimiter after
/// `prefix`, if any.
pub fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let delimiter = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    rest.find(delimiter).map(|i| &key[..prefix.len() + i + delimiter.len()])
}

impl Store {
    /// Lists `bucket` in key order: keys starting with `prefix`, strictly after `start_after`,
    /// rolled up at `delimiter`, at most `max_keys` entries (keys and prefixes together).
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: usize,
    ) -> StoreResult<ListPage> {
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        let delimiter = delimiter.map(str::to_owned);
        let start_after = start_after.map(str::to_owned);
        self.blocking(move |s| s.list_objects(&bucket, &prefix, delimiter.as_deref(), start_after.as_deref(), max_keys))
            .await
    }

    /// Lists unfinished uploads in `(key, upload id)` order, after the given markers.
    pub async fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        max: usize,
    ) -> StoreResult<UploadListPage> {
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        let delimiter = delimiter.map(str::to_owned);
        let key_marker = key_marker.map(str::to_owned);
        let upload_id_marker = upload_id_marker.map(str::to_owned);
        self.blocking(move |s| {
            s.list_uploads(
                &bucket,
                &prefix,
                delimiter.as_deref(),
                key_marker.as_deref(),
                upload_id_marker.as_deref(),
                max,
            )
        })
        .await
    }
}

impl Inner {
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: usize,
    ) -> StoreResult<ListPage> {
        self.require_bucket(bucket)?;
        let mut page = ListPage::default();
        if max_keys == 0 {
            return Ok(page);
        }
        let base = keys::bucket_prefix(bucket);
        let scan_prefix = keys::object_key(bucket, prefix);
        let mut it = self.db.raw_iterator_cf(self.cf(cf::OBJECTS));
        match start_after.filter(|m| *m >= prefix) {
            Some(marker) => {
                let mut from = keys::object_key(bucket, marker);
                from.push(0); // the smallest key strictly after the marker
                it.seek(&from);
            }
            None => it.seek(&scan_prefix),
        }
        while let Some(raw_key) = it.key() {
            if !raw_key.starts_with(&scan_prefix) {
                break;
            }
            let key =
                std::str::from_utf8(&raw_key[base.len()..]).map_err(|_| StoreError::Corrupt("object key is not UTF-8".into()))?;
            if let Some(cp) = common_prefix(key, prefix, delimiter) {
                // A prefix equal to the marker was the last entry of the previous page.
                if start_after != Some(cp) {
                    if page.entries.len() == max_keys {
                        page.truncated = true;
                        break;
                    }
                    page.entries.push(ListEntry::CommonPrefix(cp.to_owned()));
                }
                it.seek(keys::after_all_with_prefix(&keys::object_key(bucket, cp)));
                continue;
            }
            if page.entries.len() == max_keys {
                page.truncated = true;
                break;
            }
            let meta = decode(it.value().unwrap_or_default())?;
            page.entries.push(ListEntry::Object {
                key: key.to_owned(),
                meta,
            });
            it.next();
        }
        it.status().db_ctx("listing objects")?;
        Ok(page)
    }

    fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        max: usize,
    ) -> StoreResult<UploadListPage> {
        self.require_bucket(bucket)?;
        let mut page = UploadListPage::default();
        let base = keys::bucket_prefix(bucket).len();
        let scan_prefix = keys::version_scan_prefix(bucket, prefix);
        // Start at the marker key's uploads when it lies past the prefix; the filter below
        // drops what the marker excludes.
        let start = match key_marker {
            Some(marker) if marker > prefix => keys::version_key_prefix(bucket, marker),
            _ => scan_prefix.clone(),
        };
        let mode = IteratorMode::From(&start, rocksdb::Direction::Forward);
        let mut last_prefix: Option<String> = None;
        for item in self.db.iterator_cf(self.cf(cf::UPLOADS_BY_KEY), mode) {
            let (raw, _) = item.db_ctx("listing uploads")?;
            if !raw.starts_with(&scan_prefix) {
                break;
            }
            let (key, upload_id) = keys::split_upload_by_key(&raw[base..])
                .ok_or_else(|| StoreError::Corrupt("an upload index key is not valid".into()))?;
            if let Some(marker) = key_marker {
                // S3: with an upload-id-marker, uploads of the marker key after that id are
                // included; without one, listing starts after the marker key.
                let after = match upload_id_marker {
                    Some(id) => key.as_str() > marker || (key == marker && upload_id.as_str() > id),
                    None => key.as_str() > marker,
                };
                if !after {
                    continue;
                }
            }
            if let Some(cp) = common_prefix(&key, prefix, delimiter) {
                if last_prefix.as_deref() == Some(cp) || key_marker == Some(cp) {
                    continue;
                }
                if page.entries.len() == max {
                    page.truncated = true;
                    break;
                }
                last_prefix = Some(cp.to_owned());
                page.entries.push(UploadListEntry::CommonPrefix(cp.to_owned()));
                continue;
            }
            if page.entries.len() == max {
                page.truncated = true;
                break;
            }
            let Some(v) = self
                .db
                .get_pinned_cf(self.cf(cf::UPLOADS), upload_id.as_bytes())
                .db_ctx("reading an upload record")?
            else {
                continue;
            };
            page.entries.push(UploadListEntry::Upload {
                upload_id,
                meta: decode(&v)?,
            });
        }
        Ok(page)
    }
}
