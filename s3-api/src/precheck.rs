//! What Lagoa checks or adjusts before s3s sees a request, where s3s 0.14 (pinned: 0.15 needs a
//! newer Rust) answers differently from S3:
//!
//! - an empty `Content-MD5` is 400 InvalidDigest (s3s reads it as absent);
//! - a presigned URL's `X-Amz-Expires` must be 0..=604800 seconds (s3s has no upper bound and
//!   calls a negative one "missing fields");
//! - SigV4 may be signed with `Date` instead of `X-Amz-Date` (s3s requires the latter): the
//!   `Date` value is copied into an `x-amz-date` header, which is not among the signed headers
//!   and so leaves the signature as the client computed it; with neither, 403 AccessDenied;
//! - SigV2 header auth: a missing date is 403 AccessDenied and a clock off by more than 15
//!   minutes 403 RequestTimeTooSkewed (s3s checks neither); a path-style bucket request signed
//!   over `/bucket/` (what botocore signs for `/bucket`) is served as `/bucket/`.

use std::time::{Duration, SystemTime};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use s3s::dto::{Timestamp, TimestampFormat};
use s3s::{S3Error, s3_error};

use crate::identity::Identities;

type Response = http::Response<s3s::Body>;

/// Longest validity S3 allows a presigned URL: seven days.
const MAX_PRESIGNED_EXPIRES: i64 = 604_800;

/// How far a SigV2 request's date may be from the server's clock (S3: 15 minutes).
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The error response for a request refused here; `None` lets the request through.
pub fn refuse<B>(req: &Request<B>) -> Option<Response> {
    check(req).err().map(|e| {
        e.to_http_response().unwrap_or_else(|_| {
            let mut res = http::Response::new(s3s::Body::empty());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res
        })
    })
}

fn check<B>(req: &Request<B>) -> Result<(), S3Error> {
    if req
        .headers()
        .get("content-md5")
        .is_some_and(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        return Err(s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."));
    }
    // The cheap test first: almost no request is that large, so the query is rarely parsed.
    if req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_XML_BODY)
        && carries_xml(req.method(), req.uri())
    {
        return Err(s3_error!(MaxMessageLengthExceeded, "Your request was too big."));
    }
    if let Some(expires) = query_value(req.uri(), "X-Amz-Expires")
        && query_value(req.uri(), "X-Amz-Signature").is_some()
    {
        check_presigned_expires(&expires)?;
    }
    if is_sigv2_header_auth(req.headers()) {
        check_sigv2_date(req.headers(), SystemTime::now())?;
    }
    if is_sigv4_header_auth(req.headers())
        && !req.headers().contains_key("x-amz-date")
        && !req.headers().contains_key(http::header::DATE)
    {
        return Err(s3_error!(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header"
        ));
    }
    Ok(())
}

/// A SigV4 header-signed request without `x-amz-content-sha256` (allowed by SigV4, refused by
/// s3s).
pub fn lacks_payload_hash(headers: &HeaderMap) -> bool {
    is_sigv4_header_auth(headers) && !headers.contains_key("x-amz-content-sha256")
}

fn is_sigv4_header_auth(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"))
}

/// Largest XML request body (DeleteObjects, CompleteMultipartUpload, configurations): s3s reads
/// such bodies whole, up to this size, and answers a larger one with a 500.
const MAX_XML_BODY: u64 = 20 * 1024 * 1024;

/// Whether a request's body is an XML document rather than object data: POSTs with a
/// sub-resource (DeleteObjects, CompleteMultipartUpload, RestoreObject, Select), bucket-level
/// PUTs (CreateBucket, configurations) and object PUTs of a sub-resource (tagging, ACL, retention,
/// legal hold). Object data never counts (SDKs add `?x-id=PutObject` to plain PUTs).
fn carries_xml(method: &http::Method, uri: &Uri) -> bool {
    let has = |name: &str| query_value(uri, name).is_some();
    let path = uri.path().trim_start_matches('/');
    let bucket_level = !path.trim_end_matches('/').contains('/');
    match *method {
        http::Method::POST => has("delete") || has("uploadId") || has("restore") || has("select"),
        http::Method::PUT if bucket_level => true,
        http::Method::PUT => ["tagging", "acl", "retention", "legal-hold"].iter().any(|r| has(r)),
        _ => false,
    }
}

fn check_presigned_expires(value: &str) -> Result<(), S3Error> {
    match value.parse::<i64>() {
        Ok(n) if (0..=MAX_PRESIGNED_EXPIRES).contains(&n) => Ok(()),
        Ok(n) if n > MAX_PRESIGNED_EXPIRES => Err(s3_error!(
            AccessDenied,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )),
        _ => Err(s3_error!(AccessDenied, "X-Amz-Expires must be non-negative")),
    }
}

fn is_sigv2_header_auth(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS ") && v.contains(':'))
}

fn check_sigv2_date(headers: &HeaderMap, now: SystemTime) -> Result<(), S3Error> {
    let raw = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok());
    let Some(date) = raw.and_then(parse_request_date) else {
        return Err(s3_error!(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header"
        ));
    };
    let skew = match date.duration_since(now) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(s3_error!(
            RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large."
        ));
    }
    Ok(())
}

/// An HTTP date (`Date`), an RFC 2822 date with a numeric or `UTC` zone (what s3cmd sends as
/// `x-amz-date`), or an ISO 8601 basic timestamp.
fn parse_request_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse(TimestampFormat::HttpDate, s) {
        return Some(time::OffsetDateTime::from(t).into());
    }
    let rfc2822 = match s.strip_suffix(" UTC") {
        Some(head) => format!("{head} +0000"),
        None => s.to_owned(),
    };
    if let Ok(t) = time::OffsetDateTime::parse(&rfc2822, &time::format_description::well_known::Rfc2822) {
        return Some(t.into());
    }
    let basic = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, basic).ok().map(|t| t.assume_utc().into())
}

fn query_value(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| crate::lagoa::percent_decode(v))
    })
}

/// Adjusts a request that s3s would misread (see the module docs); others pass unchanged.
pub fn adapt<B>(mut req: Request<B>, identities: &Identities) -> Request<B> {
    add_amz_date_from_date(req.headers_mut());
    if is_sigv2_header_auth(req.headers())
        && let Some(uri) = sigv2_bucket_uri(&req, identities)
    {
        *req.uri_mut() = uri;
    }
    req
}

/// SigV4 signed over `Date`: give s3s the same instant as `x-amz-date`.
fn add_amz_date_from_date(headers: &mut HeaderMap) {
    if !is_sigv4_header_auth(headers) || headers.contains_key("x-amz-date") {
        return;
    }
    let Some(date) = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Timestamp::parse(TimestampFormat::HttpDate, v.trim()).ok())
    else {
        return;
    };
    let basic = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    if let Ok(v) = time::OffsetDateTime::from(date).format(&basic)
        && let Ok(v) = HeaderValue::from_str(&v)
    {
        headers.insert("x-amz-date", v);
    }
}

/// For a path-style bucket request `/bucket` whose SigV2 signature was computed over
/// `/bucket/` (botocore's `HmacV1Auth` adds the slash; s3s signs the path as sent), the same
/// URI with the slash, which s3s routes to the same bucket and verifies as signed.
fn sigv2_bucket_uri<B>(req: &Request<B>, identities: &Identities) -> Option<Uri> {
    let path = req.uri().path();
    let bucket = path.strip_prefix('/')?;
    if bucket.is_empty() || bucket.contains('/') {
        return None;
    }
    let auth = req.headers().get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (access_key, signature) = auth.strip_prefix("AWS ")?.split_once(':')?;
    let secret = identities.secret_key(access_key)?;
    let with_slash = format!("{path}/");
    let expected = sigv2_signature(&secret, &sigv2_string_to_sign(req, &with_slash));
    if expected != signature.trim() {
        return None;
    }
    let target = match req.uri().query() {
        Some(q) => format!("{with_slash}?{q}"),
        None => with_slash,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = target.parse().ok();
    Uri::from_parts(parts).ok()
}

/// Sub-resources that are part of SigV2's canonicalized resource, in the order S3 sorts them.
const SIGV2_SUBRESOURCES: [&str; 35] = [
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// SigV2's StringToSign (header auth) with the given resource path.
fn sigv2_string_to_sign<B>(req: &Request<B>, resource_path: &str) -> String {
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let date = if headers.contains_key("x-amz-date") {
        ""
    } else {
        header("date")
    };
    let mut out = format!(
        "{}\n{}\n{}\n{}\n",
        req.method(),
        header("content-md5"),
        header("content-type"),
        date
    );
    let mut amz: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, value) in headers {
        if !name.as_str().starts_with("x-amz-") {
            continue;
        }
        let value = value.to_str().unwrap_or("").trim();
        match amz.iter_mut().find(|(n, _)| *n == name.as_str()) {
            Some((_, values)) => values.push(value),
            None => amz.push((name.as_str(), vec![value])),
        }
    }
    amz.sort_by(|a, b| a.0.cmp(b.0));
    for (name, values) in amz {
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    out.push_str(resource_path);
    let query: Vec<(&str, &str)> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let mut sorted: Vec<&str> = SIGV2_SUBRESOURCES.to_vec();
    sorted.sort_unstable();
    let mut first = true;
    for name in sorted {
        if let Some((_, v)) = query.iter().find(|(k, _)| *k == name) {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(name);
            if !v.is_empty() {
                out.push('=');
                out.push_str(&crate::lagoa::percent_decode(v));
            }
        }
    }
    out
}

fn sigv2_signature(secret: &str, string_to_sign: &str) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_expiry_is_bounded_by_a_week() {
        assert!(check_presigned_expires("604800").is_ok());
        assert!(check_presigned_expires("0").is_ok());
        assert_eq!(
            *check_presigned_expires("604801").unwrap_err().code(),
            s3s::S3ErrorCode::AccessDenied
        );
        assert_eq!(
            *check_presigned_expires("-1").unwrap_err().code(),
            s3s::S3ErrorCode::AccessDenied
        );
    }

    #[test]
    fn sigv2_dates_are_checked_against_the_clock() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(*check_sigv2_date(&h, now).unwrap_err().code(), s3s::S3ErrorCode::AccessDenied);
        h.insert("date", HeaderValue::from_static("Tue, 14 Nov 2023 22:13:20 GMT"));
        assert!(check_sigv2_date(&h, now).is_ok());
        h.insert("x-amz-date", HeaderValue::from_static("20231114T230000Z"));
        assert_eq!(
            *check_sigv2_date(&h, now).unwrap_err().code(),
            s3s::S3ErrorCode::RequestTimeTooSkewed
        );
        for s3cmd_style in [
            "Tue, 14 Nov 2023 22:13:20 +0000",
            "Tue, 14 Nov 2023 22:13:20 -0000",
            "Tue, 14 Nov 2023 22:13:20 UTC",
        ] {
            h.insert("x-amz-date", HeaderValue::from_static(s3cmd_style));
            assert!(check_sigv2_date(&h, now).is_ok(), "{s3cmd_style}");
        }
    }

    #[test]
    fn date_becomes_x_amz_date_for_sigv4_only() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"));
        h.insert("date", HeaderValue::from_static("Tue, 14 Nov 2023 22:13:20 GMT"));
        add_amz_date_from_date(&mut h);
        assert_eq!(h.get("x-amz-date").unwrap(), "20231114T221320Z");
        let mut v2 = HeaderMap::new();
        v2.insert("authorization", HeaderValue::from_static("AWS key:sig"));
        v2.insert("date", HeaderValue::from_static("Tue, 14 Nov 2023 22:13:20 GMT"));
        add_amz_date_from_date(&mut v2);
        assert!(v2.get("x-amz-date").is_none());
    }
}
