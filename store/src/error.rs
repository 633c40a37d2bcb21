//! Errors of the storage engine. The S3 layer maps each variant to an S3 error code in one place.

use std::io;

/// What can go wrong inside the store. Variants name S3-visible conditions so that the protocol
/// layer can answer with the exact S3 error; `Io`/`Db`/`Corrupt` are internal failures (500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    #[error("bucket {0:?} already exists and belongs to another user")]
    BucketAlreadyExists(String),
    #[error("bucket {0:?} already exists and is yours")]
    BucketAlreadyOwnedByYou(String),
    #[error("bucket {0:?} is not empty")]
    BucketNotEmpty(String),
    #[error("object {key:?} does not exist in bucket {bucket:?}")]
    NoSuchKey { bucket: String, key: String },
    /// A version id that names no version of the key (well-formed ids only; see
    /// `is_valid_version_id`).
    #[error("version {version:?} of {key:?} does not exist")]
    NoSuchVersion { key: String, version: String },
    /// The version asked for (or the key's newest, when none was named) is a delete marker.
    /// S3 answers 404 NoSuchKey for the newest and 405 MethodNotAllowed for a named one, both
    /// with `x-amz-delete-marker: true` and the marker's version id.
    #[error("the version is a delete marker")]
    DeleteMarker {
        version_id: String,
        last_modified_nanos: i64,
        /// The marker was named by its version id.
        requested: bool,
    },
    /// Object lock forbids it (a delete or a shortened retention): S3's 403 AccessDenied.
    #[error("object lock: {0}")]
    ObjectLocked(&'static str),
    /// The bucket's configuration does not allow it (S3's 409 InvalidBucketState).
    #[error("{0}")]
    InvalidBucketState(String),
    /// An object lock request on a bucket created without object lock (S3's 400 InvalidRequest).
    #[error("bucket {0:?} has no object lock configuration")]
    NoObjectLock(String),
    #[error("multipart upload {0:?} does not exist")]
    NoSuchUpload(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(&'static str),
    #[error("part {0} was not uploaded or its ETag does not match")]
    InvalidPart(u32),
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    #[error("part {part} is {size} bytes; every part but the last must be at least {min} bytes")]
    EntityTooSmall { part: u32, size: u64, min: u64 },
    #[error("the body was shorter than announced ({got} of {expected} bytes)")]
    IncompleteBody { got: u64, expected: u64 },
    #[error("the body stream failed: {0}")]
    BodyStream(String),
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("metadata database error while {context}: {source}")]
    Db {
        context: String,
        #[source]
        source: rocksdb::Error,
    },
    /// The volume's free space would drop under the reserve (or is exhausted): writes that add
    /// data are refused until space is freed; reads and deletes go on.
    #[error("the data volume is full: {available} bytes free, {reserve} bytes kept in reserve")]
    StorageFull { available: u64, reserve: u64 },
    /// The volume ran out of space under a write (ENOSPC), reserve or not: another program
    /// filled it, or the reserve is off. Answered like [`StoreError::StorageFull`].
    #[error("the data volume ran out of space while {0}")]
    OutOfSpace(String),
    /// A sealed package or data key failed authentication: the bytes were changed on disk.
    #[error("an encrypted object failed authentication ({0}); it was modified and may be compromised")]
    Tampered(String),
    /// A master key a sealed object needs is not configured.
    #[error("{0}")]
    KeyUnavailable(String),
    /// An SSE-C object was read without its key, or with another key.
    #[error("the object is encrypted with a customer-provided key, and the right key was not given")]
    CustomerKey,
    #[error("stored metadata is corrupt ({0}); restore the data directory from a backup")]
    Corrupt(String),
    /// A server fault: a storage task panicked or was cancelled, or an internal invariant broke.
    /// Never the client's fault, whatever the request was doing (500, not a 4xx).
    #[error("internal storage failure: {0}")]
    Internal(String),
}

impl StoreError {
    /// A file or inline blob was not found (e.g. removed by a concurrent overwrite).
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Adds "while doing X" context to I/O errors, so operators see which file failed and why.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> StoreResult<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> StoreResult<T> {
        self.map_err(|source| match source.raw_os_error() {
            // Out of space (or quota) is a full volume, not a server fault.
            Some(libc::ENOSPC | libc::EDQUOT) => StoreError::OutOfSpace(context()),
            _ => StoreError::Io {
                context: context(),
                source,
            },
        })
    }
}

/// Adds context to RocksDB errors.
pub(crate) trait DbContext<T> {
    fn db_ctx(self, context: &str) -> StoreResult<T>;
}

impl<T> DbContext<T> for Result<T, rocksdb::Error> {
    fn db_ctx(self, context: &str) -> StoreResult<T> {
        self.map_err(|source| {
            // RocksDB reports ENOSPC as an IOError whose text names it (the C API gives no code).
            if source.kind() == rocksdb::ErrorKind::IOError && source.as_ref().contains("No space left") {
                return StoreError::OutOfSpace(format!("{context}: {source}"));
            }
            StoreError::Db {
                context: context.to_owned(),
                source,
            }
        })
    }
}
