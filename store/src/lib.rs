//! Lagoa's storage engine: buckets, objects and multipart uploads on one data volume.
//!
//! It owns the volume layout (`meta/` RocksDB, `objects/` data files named by random ids, `tmp/`
//! staging) and the durability contract: a write is acknowledged only after its bytes are fsynced
//! under their final name and its metadata is committed in one synced RocksDB batch. It never
//! speaks HTTP or S3 XML, and it never uses an S3 key as a file path.

mod error;
mod keys;
mod layout;
mod lifecycle;
mod list;
mod list_versions;
mod lock;
mod locks;
mod md5_lanes;
mod meta;
mod multipart;
mod objects;
mod pins;
mod reader;
pub mod sealing;
mod snapshot;
mod space;
mod store;
mod unit;
mod versions;
mod writer;

pub use error::{StoreError, StoreResult};
pub use layout::FileId;
pub use lifecycle::{
    Expiration, LifecycleClock, LifecyclePace, LifecycleReport, LifecycleRule, NoncurrentExpiration, RuleFilter, current_expiry,
};
pub use list::{ListEntry, ListPage, ListedObject, UploadListEntry, UploadListPage};
pub use list_versions::{ListedVersion, VersionListEntry, VersionListPage, VersionListQuery};
pub use lock::LockSettings;
pub use meta::{
    BucketMeta, Checksums, ContentHeaders, DefaultRetention, DeleteMarker, Extent, Location, ObjectAttributes, ObjectLockConfig,
    ObjectMeta, PartMeta, Retention, RetentionMode, RetentionPeriod, UploadMeta, VersionRecord, Versioning, now_nanos,
};
pub use multipart::{Completion, NewPart, UploadSettings};
pub use objects::{
    DeleteCondition, DeleteOutcome, DeleteRequest, Deleted, NewObject, ObjectHandle, WriteCondition, etag_matches,
};
pub use reader::ByteStream;
pub use snapshot::{ObjectSnapshot, SharedSnapshot, StoreReader};
pub use space::{FreeSpaceReserve, VolumeUsage, parse_size};
pub use store::{Store, StoreConfig};
pub use versions::{NULL_VERSION_ID, is_valid_version_id};
pub use writer::{BodyHasher, BodyWriter, StagedBody};
