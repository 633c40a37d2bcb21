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
    /// Legacy `bucket \0 key \0 upload id` → empty. Not prefix-free for keys with a NUL (key
    /// `a\0` sorted before `a`), so stores written before [`UPLOADS_BY_KEY`] have it moved
    /// there when opened; it stays listed only because RocksDB opens every family it has.
    pub const UPLOAD_INDEX: &str = "upload_index";
    /// [`upload_by_key`](super::upload_by_key) → empty: uploads in ListMultipartUploads order.
    pub const UPLOADS_BY_KEY: &str = "uploads_by_key";
    /// `upload id \0 part number (u32 BE)` → `PartMeta`
    pub const PARTS: &str = "parts";
    /// file id → bytes of an inline (small) object or part
    pub const BLOBS: &str = "blobs";
    /// file id → empty: every data file under `objects/` that a record references
    pub const FILES: &str = "files";
    /// `version_key(bucket, key, seq)` → `VersionRecord`: every version of a key except its
    /// current object (noncurrent objects and all delete markers), newest first.
    pub const VERSIONS: &str = "versions";
    /// `bucket \0 key` → the seq (u64 BE) of the key's `null` version while it is in `versions`.
    pub const NULL_VERSIONS: &str = "null_versions";
    /// `bucket \0 name` → a bucket configuration too large for the bucket record (lifecycle).
    pub const CONFIGS: &str = "configs";

    /// All column families, for opening the database.
    pub const ALL: [&str; 11] = [
        BUCKETS,
        OBJECTS,
        UPLOADS,
        UPLOAD_INDEX,
        UPLOADS_BY_KEY,
        PARTS,
        BLOBS,
        FILES,
        VERSIONS,
        NULL_VERSIONS,
        CONFIGS,
    ];
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

/// `bucket \0 name`: a bucket configuration in the configs family (`lifecycle`, `tagging`).
pub fn config_key(bucket: &str, name: &str) -> Vec<u8> {
    object_key(bucket, name)
}

/// `\0 name`: a site-wide document in the configs family, under the empty bucket name (no
/// bucket is named "", so bucket prefixes never cover it).
pub fn site_config_key(name: &str) -> Vec<u8> {
    config_key("", name)
}

/// `bucket \0 escaped(key) 00 01 upload_id`: an upload in the `uploads_by_key` family, keyed
/// like a version so that uploads sort by key in S3 order, then by id.
pub fn upload_by_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = version_key_prefix(bucket, key);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// Splits an `uploads_by_key` key (after the bucket prefix) into the object key and upload id.
pub fn split_upload_by_key(rest: &[u8]) -> Option<(String, String)> {
    let (key, id) = split_escaped_key(rest)?;
    Some((key, String::from_utf8(id.to_vec()).ok()?))
}

/// Splits a legacy `upload_index` key into bucket, object key and upload id: neither bucket
/// names nor upload ids contain a NUL, so the first and last NUL delimit the key.
pub fn split_legacy_upload_index(raw: &[u8]) -> Option<(String, String, String)> {
    let first = raw.iter().position(|b| *b == 0)?;
    let last = raw.iter().rposition(|b| *b == 0).filter(|last| *last > first)?;
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    Some((text(&raw[..first])?, text(&raw[first + 1..last])?, text(&raw[last + 1..])?))
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

/// Appends `key` escaped so that no escaped key is a prefix of another's terminated form and
/// byte order is kept: NUL becomes `00 FF` (UTF-8 never contains `FF`), and [`version_key`]
/// ends the key with `00 01`, which sorts below every continuation. Keys with a NUL therefore
/// still list in S3 order.
fn push_escaped(out: &mut Vec<u8>, key: &str) {
    for b in key.bytes() {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// `bucket \0 escaped(prefix)`: the start of all versions of keys beginning with `prefix`.
pub fn version_scan_prefix(bucket: &str, prefix: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    push_escaped(&mut k, prefix);
    k
}

/// `bucket \0 escaped(key) 00 01`: the start of one key's versions.
pub fn version_key_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = version_scan_prefix(bucket, key);
    k.extend_from_slice(&[0, 1]);
    k
}

/// The smallest `versions` key after every version of `key` and before any longer key:
/// `bucket \0 escaped(key) 00 02`. ([`after_all_with_prefix`] does not do here: the seq after
/// the prefix is arbitrary bytes, and seqs below 2^56 begin with `FF`.)
pub fn after_versions_of(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = version_scan_prefix(bucket, key);
    k.extend_from_slice(&[0, 2]);
    k
}

/// One version's key: the key's prefix, then the seq inverted so that newer versions come first.
pub fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = version_key_prefix(bucket, key);
    k.extend_from_slice(&(!seq).to_be_bytes());
    k
}

/// Splits a `versions` key (after the bucket prefix) into the object key and the version's seq.
pub fn split_version_key(rest: &[u8]) -> Option<(String, u64)> {
    let (key, seq) = split_escaped_key(rest)?;
    let seq = !u64::from_be_bytes(seq.try_into().ok()?);
    Some((key, seq))
}

/// Undoes [`push_escaped`] up to the `00 01` terminator: the key, and the bytes after it.
fn split_escaped_key(rest: &[u8]) -> Option<(String, &[u8])> {
    let mut key = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() {
        let b = rest[i];
        if b == 0 {
            match rest.get(i + 1)? {
                0xFF => key.push(0),
                1 => return Some((String::from_utf8(key).ok()?, &rest[i + 2..])),
                _ => return None,
            }
            i += 2;
        } else {
            key.push(b);
            i += 1;
        }
    }
    None
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

    /// Sorts encoded entries `(bytes, key index, then)` by their bytes, asserts that is the
    /// model's order (key, then `then`), and returns them.
    fn sorted_by_bytes_as_by_model<T: Ord + Clone + std::fmt::Debug>(
        encoded: Vec<(Vec<u8>, usize, T)>,
    ) -> Vec<(Vec<u8>, usize, T)> {
        let mut by_bytes = encoded.clone();
        by_bytes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut by_model = encoded;
        by_model.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
        assert_eq!(by_bytes, by_model);
        by_bytes
    }

    #[test]
    fn versions_sort_by_key_then_newest_first_even_with_nul_in_keys() {
        let keys = ["a", "a\0", "a\0b", "a\u{1}", "ab", "b"];
        let mut encoded = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            for seq in [5u64, 9, 1 << 60] {
                encoded.push((version_key("bkt", key, seq), i, std::cmp::Reverse(seq)));
            }
        }
        let by_bytes = sorted_by_bytes_as_by_model(encoded);
        let base = bucket_prefix("bkt").len();
        for (raw, i, seq) in &by_bytes {
            assert_eq!(split_version_key(&raw[base..]), Some((keys[*i].to_owned(), seq.0)));
        }
        // Every version of a key with a prefix lies below the prefix's seek-past bound.
        let bound = after_all_with_prefix(&version_scan_prefix("bkt", "a"));
        assert!(by_bytes.iter().filter(|e| keys[e.1].starts_with('a')).all(|e| e.0 < bound));
        assert!(version_key("bkt", "b", 1) > bound);
    }

    #[test]
    fn uploads_sort_by_key_in_s3_order_then_by_id() {
        let keys = ["a", "a\0", "a\0b", "a\u{1}", "ab"];
        let ids = ["0f", "a0"];
        let mut encoded = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            for id in ids {
                encoded.push((upload_by_key("bkt", key, id), i, id));
            }
        }
        let by_bytes = sorted_by_bytes_as_by_model(encoded);
        let base = bucket_prefix("bkt").len();
        for (raw, i, id) in &by_bytes {
            assert_eq!(split_upload_by_key(&raw[base..]), Some((keys[*i].to_owned(), id.to_string())));
        }
    }

    #[test]
    fn legacy_upload_index_keys_split_at_the_first_and_last_nul() {
        let legacy = b"bkt\0a\0b\0c0ffee".to_vec();
        assert_eq!(
            split_legacy_upload_index(&legacy),
            Some(("bkt".into(), "a\0b".into(), "c0ffee".into()))
        );
        assert_eq!(split_legacy_upload_index(b"bkt\0id"), None);
    }

    #[test]
    fn after_versions_of_is_past_every_version_of_the_key_and_before_the_next_key() {
        let bound = after_versions_of("bkt", "a");
        // Any seq: a clock before 1972 (or unset) gives seqs below 2^56, whose keys start with FF.
        for seq in [0, 1, 5, 1 << 56, (1 << 56) - 1, u64::MAX] {
            assert!(version_key("bkt", "a", seq) < bound, "seq {seq}");
        }
        for next in ["a\0", "a\0\0", "a\u{1}", "ab", "b"] {
            assert!(version_key("bkt", next, u64::MAX) > bound, "{next:?}");
            assert!(version_key("bkt", next, 0) > bound, "{next:?}");
        }
    }
}
