//! Metadata records as stored in RocksDB (JSON, so fields can be added without a migration).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layout::FileId;
use crate::sealing::Encryption;

/// A bucket's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketMeta {
    /// Access key of the user who created the bucket; only they (and root) may use it.
    pub owner: String,
    /// Creation time, Unix nanoseconds.
    pub created_nanos: i64,
    /// The LocationConstraint given at creation (or the server's region).
    pub region: String,
    /// Versioning, once configured: a bucket never returns to unversioned (`None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<Versioning>,
    /// Object lock, enabled at creation only (it needs versioning, which it turns on for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockConfig>,
    /// The bucket has lifecycle rules (kept in the configs family: a request reads them only
    /// when this says there are some).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lifecycle: bool,
}

/// A bucket's object lock configuration: enabled, with an optional default retention that every
/// new version without an explicit one receives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<DefaultRetention>,
}

/// The default retention of a lock-enabled bucket: a mode and a period in days or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: RetentionMode,
    pub period: RetentionPeriod,
}

/// How long a default retention lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionPeriod {
    Days(u32),
    Years(u32),
}

impl RetentionPeriod {
    /// The period in nanoseconds: a day is 24 hours, a year 365 days (what S3 and MinIO count).
    pub fn nanos(self) -> i64 {
        const DAY: i64 = 86_400 * 1_000_000_000;
        match self {
            RetentionPeriod::Days(d) => i64::from(d).saturating_mul(DAY),
            RetentionPeriod::Years(y) => i64::from(y).saturating_mul(365 * DAY),
        }
    }
}

/// S3's two retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionMode {
    /// Protects against deletion by anyone but a user who asks to bypass it.
    Governance,
    /// Protects against deletion by anyone, root included, until the date passes.
    Compliance,
}

/// A version's retention: it may not be deleted (nor the retention shortened) before `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    /// Unix nanoseconds.
    pub until_nanos: i64,
}

/// A bucket's versioning state as S3 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// Every write creates a new version with its own id.
    Enabled,
    /// Writes replace the `null` version; existing versions are kept.
    Suspended,
}

/// Standard HTTP headers that S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Expires`, kept as the HTTP-date string the client sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Everything the client chose to store alongside the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttributes {
    #[serde(default)]
    pub headers: ContentHeaders,
    /// `x-amz-meta-*` values, keyed by the lower-case suffix.
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    /// Object tags in the order given.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The object's ACL as the S3 layer stores it (JSON); `None`: private to its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
}

/// Additional checksums (`x-amz-checksum-*`), base64 as on the wire, keyed by algorithm name
/// in upper case (`CRC32`, `CRC32C`, `CRC64NVME`, `SHA1`, `SHA256`).
pub type Checksums = BTreeMap<String, String>;

/// One contiguous piece of an object's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    /// Where the bytes are.
    pub location: Location,
    /// Length in bytes.
    pub size: u64,
    /// Hex MD5 of this piece (the part ETag for multipart objects).
    pub md5: String,
    /// A sealed part's key salt (hex), see `sealing::Key::for_part`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_salt: Option<String>,
}

/// Where an extent's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Location {
    /// Inline in the `blobs` column family under this id (small objects: no file, no extra fsync).
    Inline(FileId),
    /// A data file under `objects/`.
    File(FileId),
}

impl Location {
    /// The id under which the bytes are stored, inline or as a file.
    pub fn id(self) -> FileId {
        match self {
            Location::Inline(id) | Location::File(id) => id,
        }
    }
}

/// An object's record: attributes plus the manifest of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub size: u64,
    /// The ETag without quotes: hex MD5, or `md5-of-md5s-N` for multipart objects.
    pub etag: String,
    /// Unix nanoseconds.
    pub last_modified_nanos: i64,
    #[serde(default)]
    pub attributes: ObjectAttributes,
    #[serde(default)]
    pub checksums: Checksums,
    /// The bytes, in order. One extent for a single PUT, one per part for multipart objects.
    pub extents: Vec<Extent>,
    /// Set when the object was assembled by CompleteMultipartUpload (parts count for `partNumber`).
    #[serde(default)]
    pub multipart: bool,
    /// Access key of the writer (the `Owner` of listings).
    #[serde(default)]
    pub owner: String,
    /// `COMPOSITE` or `FULL_OBJECT` for a multipart object's checksum (`x-amz-checksum-type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// The multipart upload this object was completed from: a retried CompleteMultipartUpload
    /// (the SDK lost the first answer) gets the same answer instead of NoSuchUpload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Part numbers of the extents (multipart objects), as listed at completion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_numbers: Vec<u32>,
    /// Each part's checksums (multipart objects), for `partNumber` reads with checksum mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_checksums: Vec<Checksums>,
    /// The version id; `None` is the `null` version (unversioned and suspended writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The version's place in its key's history (larger is newer); 0 in records written before
    /// versioning existed, which then count by their modification time (see [`ObjectMeta::seq`]).
    #[serde(default)]
    pub version_seq: u64,
    /// Object lock retention of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// When this version stopped being current (Unix nanoseconds), for lifecycle's
    /// NoncurrentVersionExpiration; `None` while current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_since_nanos: Option<i64>,
    /// Object lock legal hold of this version: `None` until one was ever set (S3 then answers
    /// GetObjectLegalHold with NoSuchObjectLockConfiguration), then ON (`true`) or OFF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<bool>,
    /// How the bytes are sealed; `None` for plaintext. `size` is then the plaintext size and each
    /// extent's `size` its sealed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
}

impl ObjectMeta {
    /// The plaintext size of one extent (what a `partNumber` read returns).
    pub fn extent_plain_size(&self, extent: &Extent) -> u64 {
        match self.encryption {
            Some(_) => crate::sealing::plain_len(extent.size).unwrap_or(0),
            None => extent.size,
        }
    }

    /// The version's order among its key's versions.
    pub fn seq(&self) -> u64 {
        effective_seq(self.version_seq, self.last_modified_nanos)
    }
}

/// A version's seq, falling back to its modification time for records from before versioning.
pub(crate) fn effective_seq(seq: u64, last_modified_nanos: i64) -> u64 {
    if seq != 0 {
        seq
    } else {
        u64::try_from(last_modified_nanos).unwrap_or(0)
    }
}

/// A delete marker: a version that says "the key was deleted here".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteMarker {
    /// `None` is the `null` version (a delete in a suspended bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub version_seq: u64,
    /// Unix nanoseconds.
    pub last_modified_nanos: i64,
    /// Access key of the deleter.
    pub owner: String,
}

/// One record of the `versions` family: an earlier object version or a delete marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum VersionRecord {
    Object(Box<ObjectMeta>),
    DeleteMarker(DeleteMarker),
}

impl VersionRecord {
    /// The version id (`None` = `null`).
    pub fn version_id(&self) -> Option<&str> {
        match self {
            VersionRecord::Object(m) => m.version_id.as_deref(),
            VersionRecord::DeleteMarker(d) => d.version_id.as_deref(),
        }
    }

    /// The version's order among its key's versions.
    pub fn seq(&self) -> u64 {
        match self {
            VersionRecord::Object(m) => m.seq(),
            VersionRecord::DeleteMarker(d) => d.version_seq,
        }
    }
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadMeta {
    pub bucket: String,
    pub key: String,
    pub initiated_nanos: i64,
    pub owner: String,
    #[serde(default)]
    pub attributes: ObjectAttributes,
    /// The checksum algorithm announced at creation, if any.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    /// Its type, `COMPOSITE` or `FULL_OBJECT`, when an algorithm was announced.
    #[serde(default)]
    pub checksum_type: Option<String>,
    /// Object lock asked for at creation, applied to the completed object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold: Option<bool>,
    /// How every part is sealed (each under its own key derived from the upload's data key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
}

impl UploadMeta {
    /// A part's plaintext size (its extent holds the sealed size when the upload is encrypted).
    pub fn part_plain_size(&self, part: &PartMeta) -> u64 {
        match self.encryption {
            Some(_) => crate::sealing::plain_len(part.extent.size).unwrap_or(0),
            None => part.extent.size,
        }
    }
}

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartMeta {
    pub number: u32,
    pub extent: Extent,
    pub last_modified_nanos: i64,
    #[serde(default)]
    pub checksums: Checksums,
}

/// Current time as Unix nanoseconds.
pub fn now_nanos() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}
