//! The store's read API for a second caller (the compute engine): buckets, listings and
//! consistent snapshots of objects with positional reads.
//!
//! A query reads an object many times in small ranges (Parquet: footer, then column chunks).
//! [`ObjectSnapshot`] opens every piece of one version up front, so all those ranges come from
//! the same bytes even while S3 writes replace the object: on Linux an open data file stays
//! readable after an overwrite unlinks it. Nothing here writes or removes anything, so a
//! [`StoreReader`] may also run in another process on a live volume (RocksDB secondary).

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::error::{DbContext, IoContext, StoreError, StoreResult};
use crate::list::ListPage;
use crate::meta::{BucketMeta, Location, ObjectMeta};
use crate::objects::OpenedData;
use crate::sealing::{self, Key, Keyring, SpanOpener};
use crate::store::{Inner, Store};

/// Read-only access to a volume: the embedded server's own store, or a secondary instance of
/// another process's metadata. Cheap to clone.
#[derive(Clone)]
pub struct StoreReader {
    store: Store,
    /// A RocksDB secondary: it sees the primary's writes only after [`StoreReader::catch_up`].
    secondary: bool,
    /// Master keys for opening SSE-S3/SSE-KMS objects.
    keyring: Keyring,
}

impl Store {
    /// The read API over this (read-write) store: always up to date, nothing to catch up.
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            store: self.clone(),
            secondary: false,
            keyring: self.keyring().clone(),
        }
    }
}

impl StoreReader {
    /// Opens the volume at `root`, which `lagoa serve` has open, without writing it: the
    /// metadata as a RocksDB secondary instance (its own info log goes to `scratch`), data
    /// files read-only. Fails when there is no volume at `root` yet.
    pub fn open_secondary(root: &Path, scratch: &Path) -> StoreResult<Self> {
        Ok(Self {
            store: Store::open_secondary(root, scratch)?,
            secondary: true,
            keyring: Keyring::default(),
        })
    }

    /// The master keys for reading SSE-S3/SSE-KMS objects (a secondary has none until given).
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// The store this reader reads, for lookups the read API does not cover (bucket
    /// configuration documents for access decisions). A secondary refuses every write.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes the primary's latest committed writes visible (a no-op on the primary itself).
    /// Call it once per query: listings and snapshots taken after it see every PUT
    /// acknowledged before it.
    pub async fn catch_up(&self) -> StoreResult<()> {
        if !self.secondary {
            return Ok(());
        }
        self.store
            .blocking(|s| {
                s.db.try_catch_up_with_primary()
                    .db_ctx("catching up with the server's metadata")
            })
            .await
    }

    /// A site document (see [`Store::site_config`]), as of the last catch-up.
    pub async fn site_config(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        self.store.site_config_opened_with(&self.keyring, name)
    }

    /// The bucket's record, if it exists.
    pub async fn bucket(&self, name: &str) -> StoreResult<Option<BucketMeta>> {
        self.store.bucket(name).await
    }

    /// All buckets in name order.
    pub async fn list_buckets(&self) -> StoreResult<Vec<(String, BucketMeta)>> {
        self.store.list_buckets().await
    }

    /// One page of a bucket's listing (see [`Store::list_objects`]).
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: usize,
    ) -> StoreResult<ListPage> {
        self.store
            .list_objects(bucket, prefix, delimiter, start_after, max_keys)
            .await
    }

    /// The current version of `bucket/key`, with every piece of its bytes opened: reads through
    /// the snapshot see exactly this version, whatever happens to the key afterwards.
    pub async fn snapshot(&self, bucket: &str, key: &str) -> StoreResult<ObjectSnapshot> {
        self.snapshot_with_key(bucket, key, None).await
    }

    /// [`StoreReader::snapshot`] of an object that may be SSE-C encrypted: `customer` is the
    /// key the request proved ([`StoreError::CustomerKey`] when it is missing or wrong).
    pub async fn snapshot_with_key(&self, bucket: &str, key: &str, customer: Option<Key>) -> StoreResult<ObjectSnapshot> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let secondary = self.secondary;
        let keyring = self.keyring.clone();
        self.store
            .blocking(move |s| {
                let mut attempts = 0;
                loop {
                    match s.snapshot(&bucket, &key, &keyring, customer.as_ref()) {
                        // The version was replaced between reading its record and opening its
                        // data: read the new record (a secondary first catches up to see it).
                        Err(e) if e.is_not_found() && attempts < 8 => {
                            attempts += 1;
                            if secondary {
                                s.db.try_catch_up_with_primary()
                                    .db_ctx("catching up with the server's metadata")?;
                            }
                        }
                        Err(e) if e.is_not_found() => {
                            return Err(StoreError::Internal(format!(
                                "{bucket}/{key} keeps changing while it is opened: {e}"
                            )));
                        }
                        other => return other,
                    }
                }
            })
            .await
    }
}

/// One version of an object, its data held open (see the module docs).
pub struct ObjectSnapshot {
    /// The version's record.
    pub meta: ObjectMeta,
    pieces: Vec<Piece>,
    /// The data key of a sealed object; reads open its packages.
    data_key: Option<Key>,
}

/// A contiguous piece of the object (one extent) and where its bytes are.
struct Piece {
    /// Offset of the piece within the object.
    start: u64,
    len: u64,
    data: PieceData,
}

enum PieceData {
    Memory(Bytes),
    File(fs::File),
}

impl ObjectSnapshot {
    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.meta.size
    }

    /// Reads bytes `[offset, offset + len)` (clamped to the object's end). Blocking: call it
    /// from a blocking thread. Pieces on disk are read with `pread`, so concurrent reads of one
    /// snapshot do not interfere. A sealed object's packages covering the range are read and
    /// opened (authenticated) for each call.
    pub fn read_at(&self, offset: u64, len: u64) -> StoreResult<Bytes> {
        let end = offset.saturating_add(len).min(self.meta.size);
        if offset >= end {
            return Ok(Bytes::new());
        }
        let Some(key) = &self.data_key else {
            return self.read_stored(offset, end);
        };
        let sizes: Vec<u64> = self.pieces.iter().map(|p| p.len).collect();
        let mut out = BytesMut::with_capacity(usize::try_from(end - offset).unwrap_or(0));
        for span in sealing::format::plan(&sizes, offset, end)? {
            let piece = &self.pieces[span.extent];
            let stream_key = sealing::stream_key(key, &self.meta, span.extent)?;
            let sealed = self.read_stored(
                piece.start + span.sealed_offset,
                piece.start + span.sealed_offset + span.sealed_len,
            )?;
            let mut opener = SpanOpener::new(&stream_key, piece.len, &span)?;
            for plain in opener.push(&sealed)?.into_iter().chain(opener.finish()?) {
                out.extend_from_slice(&plain);
            }
        }
        Ok(out.freeze())
    }

    /// Stored bytes `[offset, end)` as they are on disk.
    fn read_stored(&self, offset: u64, end: u64) -> StoreResult<Bytes> {
        let mut out = Vec::with_capacity(usize::try_from(end - offset).unwrap_or(0));
        let first = self.pieces.partition_point(|p| p.start + p.len <= offset);
        for piece in &self.pieces[first..] {
            if piece.start >= end {
                break;
            }
            let from = offset.max(piece.start) - piece.start;
            let to = end.min(piece.start + piece.len) - piece.start;
            match &piece.data {
                PieceData::Memory(b) => {
                    let slice = b
                        .get(from as usize..to as usize)
                        .ok_or_else(|| StoreError::Corrupt("inline data is shorter than its record says".into()))?;
                    if out.is_empty() && to - from == end - offset {
                        // The whole read lies in one inline piece: no copy.
                        return Ok(b.slice(from as usize..to as usize));
                    }
                    out.extend_from_slice(slice);
                }
                PieceData::File(file) => {
                    let at = out.len();
                    out.resize(at + (to - from) as usize, 0);
                    file.read_exact_at(&mut out[at..], from)
                        .ctx(|| "reading an object's data file (shorter than its record says?)".to_owned())?;
                }
            }
        }
        Ok(Bytes::from(out))
    }
}

impl Inner {
    /// Reads the record of `bucket/key` and opens all of its pieces; `NotFound` (see
    /// [`StoreError::is_not_found`]) when a piece vanished because the version was replaced.
    fn snapshot(&self, bucket: &str, key: &str, keyring: &Keyring, customer: Option<&Key>) -> StoreResult<ObjectSnapshot> {
        let meta = self.require_object(bucket, key)?;
        // SSE-C objects open only with the customer's key (an S3 Select that sent it).
        let data_key = meta.encryption.as_ref().map(|e| e.data_key(keyring, customer)).transpose()?;
        let mut pieces = Vec::with_capacity(meta.extents.len());
        let mut start = 0;
        for extent in &meta.extents {
            let data = match self.open_location(extent.location)? {
                OpenedData::Memory(b) => PieceData::Memory(b),
                OpenedData::File(f) => PieceData::File(f),
            };
            if let (Location::Inline(_), PieceData::Memory(b)) = (extent.location, &data)
                && (b.len() as u64) < extent.size
            {
                return Err(StoreError::Corrupt(format!(
                    "inline data of {bucket}/{key} is shorter than its record"
                )));
            }
            pieces.push(Piece {
                start,
                len: extent.size,
                data,
            });
            start += extent.size;
        }
        Ok(ObjectSnapshot { meta, pieces, data_key })
    }
}

/// A snapshot shared by the many range reads of one query.
pub type SharedSnapshot = Arc<ObjectSnapshot>;
