//! Requests that ask for something Lagoa does not do yet are refused whole, never half-served.
//!
//! A client that sends a public-read ACL believes its object is shared. Storing the object while
//! ignoring the header would tell it something false, so such requests answer
//! `501 NotImplemented` and store nothing — what MinIO answers for the same headers when it lacks
//! the feature.

use http::HeaderMap;
use s3s::dto::PutObjectInput;
use s3s::{S3Error, S3Result, s3_error};

/// SSE-S3/SSE-KMS headers, which choose how a write is sealed and mean nothing on a read.
const WRITE_SSE_HEADERS: [&str; 2] = ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"];

/// Explicit ACL grants; no grant can be honoured until ACLs exist.
const GRANT_HEADERS: [&str; 5] = [
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
];

/// What an ACL header is attached to: buckets take only `private`; objects also take
/// `bucket-owner-full-control` (the owner of every object is the bucket owner's realm already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclTarget {
    Bucket,
    Object,
}

fn acl_not_implemented(what: &str) -> S3Error {
    s3_error!(
        NotImplemented,
        "{what} is not implemented by this server (only the private canned ACL is supported); the request was not executed"
    )
}

/// GET/HEAD with an SSE-S3/SSE-KMS header: S3 answers 400 (only SSE-C keys belong on reads).
pub fn reject_sse_on_read(headers: &HeaderMap) -> S3Result<()> {
    match WRITE_SSE_HEADERS.iter().find(|h| headers.contains_key(**h)) {
        Some(h) => Err(s3_error!(
            InvalidArgument,
            "The {h} header is not supported for this operation"
        )),
        None => Ok(()),
    }
}

/// Whether a canned ACL is what Lagoa does anyway (owner-only access).
fn acl_is_private(acl: &str, target: AclTarget) -> bool {
    acl.eq_ignore_ascii_case("private") || (target == AclTarget::Object && acl.eq_ignore_ascii_case("bucket-owner-full-control"))
}

/// Refuses a canned ACL other than the private ones, and any explicit grant.
pub fn reject_acl(headers: &HeaderMap, target: AclTarget) -> S3Result<()> {
    if let Some(acl) = headers.get("x-amz-acl") {
        let acl = acl.to_str().unwrap_or_default().trim();
        if !acl_is_private(acl, target) {
            return Err(acl_not_implemented(&format!("The canned ACL {acl:?}")));
        }
    }
    if let Some(grant) = GRANT_HEADERS.iter().find(|h| headers.contains_key(**h)) {
        return Err(acl_not_implemented(&format!("The ACL grant header {grant}")));
    }
    Ok(())
}

/// The checks for a request that creates or replaces an object (PUT, copy, multipart create):
/// ACL headers. (Object lock and SSE headers are served: see `ops/object_lock.rs`,
/// `encryption.rs`.)
pub fn reject_object_write(headers: &HeaderMap) -> S3Result<()> {
    reject_acl(headers, AclTarget::Object)
}

/// CreateBucket: ACL headers.
pub fn reject_bucket_create(headers: &HeaderMap) -> S3Result<()> {
    reject_acl(headers, AclTarget::Bucket)
}

/// A PutObject's own ACL fields, which for a browser POST come from the form rather than headers.
pub fn reject_put_fields(input: &PutObjectInput) -> S3Result<()> {
    if let Some(acl) = &input.acl
        && !acl_is_private(acl.as_str(), AclTarget::Object)
    {
        return Err(acl_not_implemented(&format!("The canned ACL {:?}", acl.as_str())));
    }
    if input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write_acp.is_some()
    {
        return Err(acl_not_implemented("An ACL grant"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn reads_refuse_write_side_sse_headers() {
        for name in ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"] {
            assert!(reject_sse_on_read(&headers(&[(name, "x")])).is_err(), "{name}");
        }
        assert!(reject_sse_on_read(&headers(&[("x-amz-server-side-encryption-customer-key", "x")])).is_ok());
    }

    #[test]
    fn only_private_acls_pass() {
        assert!(reject_acl(&headers(&[("x-amz-acl", "private")]), AclTarget::Bucket).is_ok());
        assert!(reject_acl(&headers(&[("x-amz-acl", "bucket-owner-full-control")]), AclTarget::Object).is_ok());
        assert!(reject_acl(&headers(&[("x-amz-acl", "bucket-owner-full-control")]), AclTarget::Bucket).is_err());
        assert!(reject_acl(&headers(&[("x-amz-acl", "public-read")]), AclTarget::Object).is_err());
        assert!(reject_acl(&headers(&[("x-amz-grant-read", "id=x")]), AclTarget::Object).is_err());
        assert!(reject_acl(&HeaderMap::new(), AclTarget::Bucket).is_ok());
    }
}
