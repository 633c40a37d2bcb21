//! The one place where store failures become S3 errors (code, status, message).

use lagoa_store::StoreError;
use s3s::{S3Error, S3ErrorCode, s3_error};

/// Maps a store error to the S3 error a real S3 would answer with.
pub fn to_s3(err: StoreError) -> S3Error {
    match err {
        StoreError::NoSuchBucket(b) => s3_error!(NoSuchBucket, "The specified bucket does not exist: {b}"),
        StoreError::BucketAlreadyExists(b) => s3_error!(
            BucketAlreadyExists,
            "The requested bucket name {b} is not available. Please select a different name and try again."
        ),
        StoreError::BucketAlreadyOwnedByYou(b) => s3_error!(
            BucketAlreadyOwnedByYou,
            "Your previous request to create the named bucket {b} succeeded and you already own it."
        ),
        StoreError::BucketNotEmpty(b) => s3_error!(BucketNotEmpty, "The bucket {b} you tried to delete is not empty"),
        StoreError::StorageFull { .. } | StoreError::OutOfSpace(_) => {
            tracing::debug!(%err, "refusing a write: the data volume is full");
            custom(
                "XMinioStorageFull",
                http::StatusCode::INSUFFICIENT_STORAGE,
                "Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.",
            )
        }
        StoreError::NoSuchKey { .. } => s3_error!(NoSuchKey, "The specified key does not exist."),
        StoreError::ObjectLocked(why) => {
            s3_error!(AccessDenied, "Access Denied because object protected by object lock ({why}).")
        }
        StoreError::InvalidBucketState(why) => s3_error!(InvalidBucketState, "{why}"),
        StoreError::NoObjectLock(_) => s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration"),
        StoreError::NoSuchVersion { .. } => s3_error!(NoSuchVersion, "The specified version does not exist."),
        StoreError::DeleteMarker {
            version_id,
            last_modified_nanos,
            requested,
        } => delete_marker_error(&version_id, last_modified_nanos, requested),
        StoreError::NoSuchUpload(_) => s3_error!(
            NoSuchUpload,
            "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        ),
        StoreError::PreconditionFailed(why) => s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold ({why})"
        ),
        StoreError::InvalidPart(n) => s3_error!(
            InvalidPart,
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part {n})."
        ),
        StoreError::InvalidPartOrder => s3_error!(
            InvalidPartOrder,
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        ),
        StoreError::EntityTooSmall { part, size, min } => {
            s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size (part {part}: {size} < {min} bytes)."
            )
        }
        StoreError::IncompleteBody { got, expected } => {
            s3_error!(
                IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header ({got} of {expected})."
            )
        }
        StoreError::BodyStream(msg) => s3_error!(IncompleteBody, "The request body ended early: {msg}"),
        StoreError::CustomerKey => s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        ),
        StoreError::KeyUnavailable(why) => {
            tracing::error!(request_id = %crate::request_log::current_id(), error = %why, "encryption key unavailable");
            s3_error!(InternalError, "The object's encryption key is unavailable: {why}")
        }
        other @ (StoreError::Io { .. }
        | StoreError::Db { .. }
        | StoreError::Corrupt(_)
        | StoreError::Internal(_)
        | StoreError::Tampered(_)) => {
            tracing::error!(request_id = %crate::request_log::current_id(), error = %other, "storage failure");
            let mut e = S3Error::with_message(
                S3ErrorCode::InternalError,
                "We encountered an internal error. Please try again.",
            );
            e.set_source(Box::new(other));
            e
        }
    }
}

/// Reading a delete marker: 404 NoSuchKey when it is the key's newest version, 405
/// MethodNotAllowed when it was named by its version id; both say it is a marker.
fn delete_marker_error(version_id: &str, last_modified_nanos: i64, requested: bool) -> S3Error {
    let mut e = if requested {
        s3_error!(MethodNotAllowed, "The specified method is not allowed against this resource.")
    } else {
        s3_error!(NoSuchKey, "The specified key does not exist.")
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
    if let Ok(v) = http::HeaderValue::from_str(version_id) {
        headers.insert("x-amz-version-id", v);
    }
    if requested {
        let date = crate::lagoa::format_http_date(&crate::lagoa::timestamp(last_modified_nanos)).unwrap_or_default();
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            headers.insert(http::header::LAST_MODIFIED, v);
        }
        headers.insert(http::header::ALLOW, http::HeaderValue::from_static("DELETE"));
    }
    e.set_headers(headers);
    e
}

/// `?` support: `store_call.await.map_err(to_s3)?` everywhere reads as `.await.s3()?`.
pub trait StoreResultExt<T> {
    fn s3(self) -> s3s::S3Result<T>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    fn s3(self) -> s3s::S3Result<T> {
        self.map_err(to_s3)
    }
}

/// An S3 error code s3s has no variant for (e.g. `InvalidPartNumber`), with its status.
pub fn custom(code: &'static str, status: http::StatusCode, message: impl Into<std::borrow::Cow<'static, str>>) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom(code.into()), message);
    e.set_status_code(status);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_storage_task_is_a_server_error_not_the_clients() {
        let e = to_s3(StoreError::Internal("store task panicked".into()));
        assert_eq!(*e.code(), S3ErrorCode::InternalError);
        let status = e.status_code().or_else(|| e.code().status_code());
        assert_eq!(status, Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    }
}
