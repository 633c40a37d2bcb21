//! Requests that ask for something Lagoa does not do yet are refused whole, never half-served.
//!
//! A client that sends an ACL grant believes its object is shared. Storing the object while
//! ignoring it would tell it something false, so such requests answer `501 NotImplemented` and
//! store nothing — what MinIO answers for the same headers when it lacks the feature.

use http::HeaderMap;
use s3s::dto::PutObjectInput;
use s3s::{S3Result, s3_error};

/// SSE-S3/SSE-KMS headers, which choose how a write is sealed and mean nothing on a read.
const WRITE_SSE_HEADERS: [&str; 2] = ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"];

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

/// A browser POST's grant fields (`x-amz-grant-*` as form fields): grants are read from
/// headers only, so a form naming one is refused whole rather than stored without it. A
/// form's canned `acl` field is honoured (see `ops/acl.rs`).
pub fn reject_post_grants(input: &PutObjectInput) -> S3Result<()> {
    if input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write_acp.is_some()
    {
        return Err(s3_error!(
            NotImplemented,
            "ACL grants in a POST form are not implemented by this server (use the acl field, or PutObjectAcl); the request was not executed"
        ));
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
}
