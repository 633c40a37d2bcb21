//! RocksDB key encodings. Object keys sort exactly like S3 listing order (UTF-8 byte order)
//! within a bucket, so one listing page is one range scan.

use crate::layout::FileId;

/// Column family names; each holds one kind of record.
pub mod cf {
    /// bucket name → `BucketMeta`
    pub const BUCKETS: &str = "buckets";
    /// `bucket \0 key` → `ObjectMeta`
    pub const OBJECTS: &str = "objects";
    /// upload id → `UploadMeta`
    pub const UPLOADS: &str = "uploads";
    /// `bucket \0 key \0 upload id` → empty (ListMultipartUploads order)
    pub const UPLOAD_INDEX: &str = "upload_index";
    /// `upload id \0 part number (u32 BE)` → `PartMeta`
    pub const PARTS: &str = "parts";
    /// file id → bytes of an inline (small) object or part
    pub const BLOBS: &str = "blobs";
    /// file id → empty: every data file under `objects/` that a record references
    pub const FILES: &str = "files";

    /// All column families, for opening the database.
    pub const ALL: [&str; 7] = [BUCKETS, OBJECTS, UPLOADS, UPLOAD_INDEX, PARTS, BLOBS, FILES];
}

/// `bucket \0` — the start of a bucket's key space in `objects` and `upload_index`.
/// Bucket names never contain NUL, so buckets never overlap.
pub fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k
}

/// `bucket \0 key`
pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k
}

/// `bucket \0 key \0 upload_id`
pub fn upload_index_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = object_key(bucket, key);
    k.push(0);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// `upload_id \0 part (u32 BE)`; parts of one upload are contiguous and in number order.
pub fn part_key(upload_id: &str, part: u32) -> Vec<u8> {
    let mut k = part_prefix(upload_id);
    k.extend_from_slice(&part.to_be_bytes());
    k
}

/// `upload_id \0`
pub fn part_prefix(upload_id: &str) -> Vec<u8> {
    let mut k = upload_id.as_bytes().to_vec();
    k.push(0);
    k
}

/// A file id as a fixed 16-byte key.
pub fn file_key(id: FileId) -> [u8; 16] {
    id.0.to_be_bytes()
}

/// The smallest byte string greater than every valid UTF-8 string starting with `prefix`:
/// UTF-8 never contains 0xFF, so `prefix ++ [0xFF]` sorts after all of them.
pub fn after_all_with_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.push(0xFF);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_do_not_overlap() {
        assert!(object_key("a", "zzz") < object_key("ab", ""));
        assert!(!object_key("ab", "x").starts_with(&bucket_prefix("a")));
    }

    #[test]
    fn after_all_with_prefix_sorts_after_every_extension() {
        let p = b"dir/";
        let bound = after_all_with_prefix(p);
        for ext in ["", "a", "\u{10FFFF}", "zz/zz"] {
            let mut k = p.to_vec();
            k.extend_from_slice(ext.as_bytes());
            assert!(k < bound);
        }
        assert!(b"dir0".as_slice() > bound.as_slice());
    }
}
