//! Every request gets an id that ties the client's view to the operator's: S3 sends it as
//! `x-amz-request-id` (plus `x-amz-id-2`) on every response and as `<RequestId>` in every error
//! body, and Lagoa puts the same id on the request's log line.
//!
//! Failed requests are logged here, once, by who is at fault: a 4xx is the client's doing and is
//! logged at debug (with the error code, operation, bucket and key), a 5xx is the server's and is
//! logged at error. s3s's own per-request error logging is switched off in the binary.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};

type Response = http::Response<s3s::Body>;

/// A request id: 16 upper-case hex digits, as S3 and MinIO write them. Ids are the process's
/// start time in nanoseconds plus a counter, so they are unique within a process and do not repeat
/// across restarts (the clock moves faster than any request rate). Kept inline: making one costs
/// no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 16]);

impl RequestId {
    /// The next id.
    pub fn next() -> Self {
        static BASE: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = *BASE.get_or_init(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            u64::try_from(now.as_nanos()).unwrap_or(u64::MAX)
        });
        let n = base.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut digits = [0u8; 16];
        for (i, d) in digits.iter_mut().enumerate() {
            *d = b"0123456789ABCDEF"[((n >> (60 - 4 * i)) & 0xF) as usize];
        }
        Self(digits)
    }

    /// The id as sent to the client.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

static X_AMZ_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amz-request-id");
static X_AMZ_ID_2: http::HeaderName = http::HeaderName::from_static("x-amz-id-2");

tokio::task_local! {
    /// The id of the request the current task serves.
    static CURRENT: RequestId;
}

/// Runs `f` as the request `id`: log lines inside it can name the request without a span.
pub async fn with_id<F: std::future::Future>(id: RequestId, f: F) -> F::Output {
    CURRENT.scope(id, f).await
}

/// The id of the request this task serves, for log lines deep inside a handler; `-` outside one.
pub fn current_id() -> String {
    CURRENT
        .try_with(|id| id.as_str().to_owned())
        .unwrap_or_else(|_| "-".to_owned())
}

/// Error bodies are small XML documents that s3s (or Lagoa) built in memory; larger or streamed
/// bodies are left alone.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Puts the request id on a response: the headers always, `<RequestId>` into an error body.
/// Returns the response and, for errors, the S3 error code found in the body (for the log).
pub fn stamp(mut res: Response, id: &RequestId) -> (Response, Option<String>) {
    if let Ok(v) = HeaderValue::from_bytes(&id.0) {
        res.headers_mut().insert(X_AMZ_REQUEST_ID.clone(), v.clone());
        res.headers_mut().insert(X_AMZ_ID_2.clone(), v);
    }
    if !(res.status().is_client_error() || res.status().is_server_error()) {
        return (res, None);
    }
    let Some(body) = res.body().bytes().filter(|b| b.len() <= MAX_ERROR_BODY) else {
        return (res, None);
    };
    let code = between(&body, "<Code>", "</Code>").map(str::to_owned);
    if let Some(stamped) = with_request_id(&body, id) {
        res.headers_mut().remove(http::header::CONTENT_LENGTH);
        *res.body_mut() = s3s::Body::from(stamped);
    }
    (res, code)
}

/// The error document with `<RequestId>` added before `</Error>`, unless it has one already.
fn with_request_id(body: &[u8], id: &RequestId) -> Option<Bytes> {
    let text = std::str::from_utf8(body).ok()?;
    if text.contains("<RequestId>") {
        return None;
    }
    let end = text.rfind("</Error>")?;
    Some(Bytes::from(format!(
        "{}<RequestId>{}</RequestId>{}",
        &text[..end],
        id.as_str(),
        &text[end..]
    )))
}

fn between<'a>(body: &'a [u8], open: &str, close: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// What the log line of a finished request names.
pub struct Finished<'a> {
    pub id: &'a RequestId,
    pub peer: std::net::SocketAddr,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub status: StatusCode,
    pub code: Option<&'a str>,
}

/// Logs a failed request: 5xx at error, 4xx at debug; successes are not logged.
pub fn log(f: &Finished<'_>) {
    let status = f.status.as_u16();
    if !(f.status.is_client_error() || f.status.is_server_error()) {
        return;
    }
    let (bucket, key) = bucket_and_key(f.uri.path());
    let (bucket, key) = (capped(bucket), capped(key));
    let operation = operation(f.method, f.uri);
    let code = f.code.unwrap_or("");
    if f.status.is_server_error() {
        tracing::error!(request_id = %f.id, peer = %f.peer, operation, bucket, key, status, code, "request failed on the server side");
    } else {
        tracing::debug!(request_id = %f.id, peer = %f.peer, operation, bucket, key, status, code, "request refused");
    }
}

/// The longest bucket or key a log line shows: a request line may be 64 KiB, and one line per
/// failed request must stay a line (bodies are never logged at all).
const LOGGED_NAME_MAX: usize = 256;

/// `name`, cut at [`LOGGED_NAME_MAX`] bytes (on a character boundary).
fn capped(name: &str) -> &str {
    if name.len() <= LOGGED_NAME_MAX {
        return name;
    }
    let mut end = LOGGED_NAME_MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The bucket and key of a path-style request path (percent-encoding kept: it is for logs).
fn bucket_and_key(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').unwrap_or((path, ""))
}

/// The S3 operation a request names, from its method, path and sub-resource: what an operator
/// searches logs for. Best effort (virtual-host requests and rare sub-resources read as the
/// plain operation); it never changes how the request is served.
pub fn operation(method: &Method, uri: &Uri) -> &'static str {
    let (bucket, key) = bucket_and_key(uri.path());
    let query = uri.query().unwrap_or("");
    let has = |name: &str| query.split('&').any(|p| p.split_once('=').map_or(p, |(k, _)| k) == name);
    match (bucket.is_empty(), key.is_empty(), method.as_str()) {
        (true, _, "GET") => "ListBuckets",
        (true, _, _) => "Unknown",
        (false, true, m) => match m {
            "GET" if has("location") => "GetBucketLocation",
            "GET" if has("versioning") => "GetBucketVersioning",
            "GET" if has("uploads") => "ListMultipartUploads",
            "GET" if has("versions") => "ListObjectVersions",
            "GET" if has("list-type") => "ListObjectsV2",
            "GET" => "ListObjects",
            "HEAD" => "HeadBucket",
            "PUT" if query.is_empty() => "CreateBucket",
            "PUT" => "PutBucketConfiguration",
            "DELETE" if query.is_empty() => "DeleteBucket",
            "DELETE" => "DeleteBucketConfiguration",
            "POST" if has("delete") => "DeleteObjects",
            "POST" => "PostObject",
            _ => "Unknown",
        },
        (false, false, m) => match m {
            "GET" if has("tagging") => "GetObjectTagging",
            "GET" if has("uploadId") => "ListParts",
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "PUT" if has("tagging") => "PutObjectTagging",
            "PUT" if has("uploadId") => "UploadPart",
            "PUT" => "PutObject",
            "DELETE" if has("tagging") => "DeleteObjectTagging",
            "DELETE" if has("uploadId") => "AbortMultipartUpload",
            "DELETE" => "DeleteObject",
            "POST" if has("uploads") => "CreateMultipartUpload",
            "POST" if has("uploadId") => "CompleteMultipartUpload",
            "POST" if has("select") => "SelectObjectContent",
            _ => "Unknown",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_shaped_like_s3s() {
        let a = RequestId::next();
        let b = RequestId::next();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 16);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }

    #[test]
    fn logged_names_are_capped_on_a_character_boundary() {
        assert_eq!(capped("short"), "short");
        let long = "é".repeat(200);
        let cut = capped(&long);
        assert!(cut.len() <= LOGGED_NAME_MAX && cut.len() >= LOGGED_NAME_MAX - 1);
        assert!(long.starts_with(cut));
    }

    #[test]
    fn request_id_goes_inside_the_error_element() {
        let id = RequestId(*b"0123456789ABCDEF");
        let body = b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>";
        let out = with_request_id(body, &id).unwrap();
        assert_eq!(
            &out[..],
            &b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>m</Message><RequestId>0123456789ABCDEF</RequestId></Error>"[..]
        );
        assert!(with_request_id(&out, &id).is_none(), "never twice");
        assert!(with_request_id(b"not xml", &id).is_none());
    }

    #[test]
    fn operations_are_named_from_method_path_and_subresource() {
        let op = |m: &str, u: &str| operation(&m.parse().unwrap(), &u.parse().unwrap());
        assert_eq!(op("GET", "/"), "ListBuckets");
        assert_eq!(op("GET", "/b?list-type=2&prefix=x"), "ListObjectsV2");
        assert_eq!(op("PUT", "/b/k?partNumber=1&uploadId=u"), "UploadPart");
        assert_eq!(op("POST", "/b/k?uploads"), "CreateMultipartUpload");
        assert_eq!(op("DELETE", "/b/k"), "DeleteObject");
        assert_eq!(op("HEAD", "/b"), "HeadBucket");
    }
}
