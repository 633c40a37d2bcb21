//! Rules for Lagoa's own HTTP endpoints that s3s authenticates like S3 requests (the SQL
//! endpoint, the admin API): only header-signed requests whose signature covers the body.
//! A presigned URL or an unsigned payload would let whoever holds the URL (or sits on the wire)
//! run the request as the signer.

use bytes::Bytes;
use s3s::{Body, S3Request, S3Result, s3_error};
use sha2::Digest;

/// Refuses anonymous requests, presigned URLs and unsigned or streaming payloads; `how` tells
/// the client how to sign (shown in the error).
pub fn require_signed_body(req: &S3Request<Body>, endpoint: &str, how: &str) -> S3Result<()> {
    if req.credentials.is_none() {
        return Err(s3_error!(
            AccessDenied,
            "{endpoint} needs a request signed with AWS Signature V4 by a Lagoa user ({how})"
        ));
    }
    if req
        .uri
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature") || q.contains("Signature="))
    {
        return Err(s3_error!(
            AccessDenied,
            "{endpoint} does not accept presigned URLs: sign the request headers"
        ));
    }
    let hashed = req
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    if !hashed {
        return Err(s3_error!(
            AccessDenied,
            "{endpoint} needs the body signed: send its SHA-256 in x-amz-content-sha256 (or no such header at all), not UNSIGNED-PAYLOAD or a streaming payload"
        ));
    }
    Ok(())
}

/// The body of a request that passed [`require_signed_body`]: at most `max` bytes (else
/// `EntityTooLarge` with `too_large`) and matching the signed payload hash (s3s checks the
/// signature over the declared hash, not the body).
pub async fn read_signed_body(req: &mut S3Request<Body>, max: usize, too_large: &'static str) -> S3Result<Bytes> {
    let body: Bytes = req
        .input
        .store_all_limited(max)
        .await
        .map_err(|_| s3_error!(EntityTooLarge, "{too_large}"))?;
    let declared = req
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(declared) = declared
        && !declared.eq_ignore_ascii_case(&hex::encode(sha2::Sha256::digest(&body)))
    {
        return Err(crate::errors::custom(
            "XAmzContentSHA256Mismatch",
            http::StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    Ok(body)
}
