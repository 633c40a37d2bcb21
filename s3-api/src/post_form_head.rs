//! The head of a browser POST upload's form — the fields before the file, which S3 requires to
//! come first — read ahead and fixed up before s3s 0.14 parses the form, where s3s differs from S3:
//!
//! - `${filename}` in the `key` field is replaced by the file part's file name (S3 does this
//!   before checking the policy, so `starts-with $key` conditions see the final key; s3s drops the
//!   file name);
//! - `x-amz-checksum-*` fields are exempt from the policy's conditions in S3 and verified against
//!   the file; s3s demands a condition for them. They are moved into request headers, where the
//!   PUT path verifies them like any checksum header (unless the policy names them: then s3s's
//!   own check applies);
//! - a policy whose `expiration` is missing or not ISO 8601, and a signed form without its
//!   signature field, are 400 (s3s: accepted, or 403); a `bucket` field naming another bucket than
//!   the URL is 403 AccessDenied.
//!
//! Only the head is read ahead (at most [`MAX_FORM_HEAD`] bytes); the file streams through
//! untouched. The POST signature covers the policy document, not the other fields, so these edits
//! leave it valid.

use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::header;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use memchr::memmem;
use s3s::{S3Result, s3_error};

/// How much of a form is read ahead to find the file part. Larger heads pass through unchanged
/// (a key with `${filename}` then gets `NotImplemented` from the PUT path).
pub(crate) const MAX_FORM_HEAD: usize = 1024 * 1024;

const VARIABLE: &str = "${filename}";

/// What reading form heads ahead may take, before any signature was checked: this much time per
/// head, and memory from one budget shared by every connection.
#[derive(Clone)]
pub(crate) struct ReadAhead {
    /// Units of [`BUDGET_UNIT`] bytes.
    budget: Arc<tokio::sync::Semaphore>,
    deadline: std::time::Duration,
}

/// The granularity of the read-ahead budget.
const BUDGET_UNIT: usize = 64 * 1024;

impl ReadAhead {
    /// `total` bytes of form heads at once (at least one whole head), each read within `deadline`.
    pub(crate) fn new(total: usize, deadline: std::time::Duration) -> Self {
        let units = total.max(MAX_FORM_HEAD) / BUDGET_UNIT;
        Self {
            budget: Arc::new(tokio::sync::Semaphore::new(units)),
            deadline,
        }
    }
}

/// Reads the form head of a browser POST and returns the request with its head checked and fixed
/// up (see the module docs), or the S3 error to answer with. `url_bucket` is the bucket the URL
/// names (path style); `None` skips the bucket check.
pub(crate) async fn prepare<B>(
    req: http::Request<B>,
    url_bucket: Option<&str>,
    read_ahead: &ReadAhead,
) -> S3Result<http::Request<s3s::Body>>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Send + Sync + Unpin + 'static,
    s3s::StdError: From<B::Error>,
{
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(form_boundary);
    let Some(boundary) = boundary else {
        return Ok(req.map(s3s::Body::http_body));
    };
    let (mut parts, mut body) = req.into_parts();
    let mut head = BytesMut::new();
    let mut held: Option<Held<B::Error>> = None;
    let mut scanner = FormScanner::new(&boundary);
    let mut reserved: Option<tokio::sync::OwnedSemaphorePermit> = None;
    // No header timeout (0) means no deadline here either; a day stands for "never".
    let allowed = if read_ahead.deadline.is_zero() {
        std::time::Duration::from_secs(86_400)
    } else {
        read_ahead.deadline
    };
    let deadline = tokio::time::Instant::now() + allowed;
    let form = loop {
        if let Some(found) = scanner.advance(&head) {
            break found;
        }
        if head.len() >= MAX_FORM_HEAD {
            break None;
        }
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => {
                return Err(s3_error!(
                    RequestTimeout,
                    "The form fields before the file did not arrive in time."
                ));
            }
        };
        match frame {
            None => break None,
            Some(Err(e)) => {
                held = Some(Held::Error(e));
                break None;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    reserve(read_ahead, &mut reserved, head.len() + data.len())?;
                    head.extend_from_slice(&data);
                }
                Err(frame) => {
                    held = Some(Held::Frame(frame));
                    break None;
                }
            },
        }
    };
    let mut head = head.freeze();
    if let Some(form) = form {
        check_fields(&form, &head, url_bucket)?;
        let edits = plan_edits(&form, &head, &mut parts.headers)?;
        if !edits.is_empty() {
            let (rewritten, grown) = apply_edits(&head, edits);
            adjust_content_length(&mut parts.headers, grown)?;
            head = rewritten;
        }
    }
    let body = Prefixed {
        head: (!head.is_empty()).then_some(head),
        held,
        rest: body,
    };
    Ok(http::Request::from_parts(parts, s3s::Body::http_body(body)))
}

/// Grows `reserved` to cover `len` bytes of read-ahead, from the shared budget; when the budget is
/// spent (many uploads are starting at once), 503 SlowDown, which clients retry.
fn reserve(read_ahead: &ReadAhead, reserved: &mut Option<tokio::sync::OwnedSemaphorePermit>, len: usize) -> S3Result<()> {
    let needed = len.min(MAX_FORM_HEAD).div_ceil(BUDGET_UNIT);
    let held = reserved.as_ref().map_or(0, |p| p.num_permits());
    if needed <= held {
        return Ok(());
    }
    let more = u32::try_from(needed - held).unwrap_or(u32::MAX);
    let permit = read_ahead
        .budget
        .clone()
        .try_acquire_many_owned(more)
        .map_err(|_| s3_error!(SlowDown, "Too many uploads are starting at once; please retry."))?;
    match reserved {
        Some(r) => r.merge(permit),
        None => *reserved = Some(permit),
    }
    Ok(())
}

/// A field's value as text.
fn value<'h>(head: &'h [u8], field: &FormField) -> std::borrow::Cow<'h, str> {
    String::from_utf8_lossy(&head[field.value.clone()])
}

/// The field named `name` (any case); the last one when repeated, as s3s reads the form.
fn field<'f>(form: &'f FormHead, name: &str) -> Option<&'f FormField> {
    form.fields.iter().rev().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The lower-case field names a policy's conditions name: `{"name": value}` objects and
/// `["eq" | "starts-with", "$name", value]` arrays.
fn policy_condition_names(form: &FormHead, head: &[u8]) -> Vec<String> {
    let document = field(form, "policy")
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(value(head, p).trim()).ok())
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok());
    let Some(conditions) = document.as_ref().and_then(|d| d.get("conditions")).and_then(|c| c.as_array()) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for condition in conditions {
        match condition {
            serde_json::Value::Object(map) => names.extend(map.keys().map(|k| k.to_ascii_lowercase())),
            serde_json::Value::Array(items) => {
                if let Some(name) = items.get(1).and_then(|n| n.as_str()) {
                    names.push(name.trim_start_matches('$').to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
    names
}

/// The 400/403 answers S3 gives for a malformed form head, before any policy condition.
fn check_fields(form: &FormHead, head: &[u8], url_bucket: Option<&str>) -> S3Result<()> {
    if let (Some(url_bucket), Some(f)) = (url_bucket, field(form, "bucket"))
        && value(head, f) != url_bucket
    {
        return Err(s3_error!(
            AccessDenied,
            "Invalid according to Policy: the form's bucket field does not name the bucket of the URL"
        ));
    }
    let Some(policy) = field(form, "policy") else {
        return Ok(());
    };
    let sigv4 = field(form, "x-amz-algorithm").is_some();
    let signature = if sigv4 { "X-Amz-Signature" } else { "Signature" };
    if field(form, signature).is_none() {
        return Err(s3_error!(
            InvalidArgument,
            "Bucket POST must contain a field named '{signature}'.  If it is specified, please check the order of the fields."
        ));
    }
    let document = base64::engine::general_purpose::STANDARD
        .decode(value(head, policy).trim())
        .ok()
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .ok_or_else(|| s3_error!(InvalidPolicyDocument, "Invalid Policy: the policy is not base64-encoded JSON"))?;
    match document.get("expiration") {
        None => Err(s3_error!(InvalidPolicyDocument, "Invalid Policy: Policy missing expiration.")),
        Some(serde_json::Value::String(e)) if is_iso8601_utc(e) => Ok(()),
        Some(e) => Err(s3_error!(
            InvalidPolicyDocument,
            "Invalid Policy: Invalid 'expiration' value: '{}'",
            e.as_str().map_or_else(|| e.to_string(), str::to_owned)
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`, the form S3 requires for a policy's expiration.
fn is_iso8601_utc(s: &str) -> bool {
    let Some(rest) = s.strip_suffix('Z') else {
        return false;
    };
    let (main, fraction) = rest.split_once('.').unwrap_or((rest, "0"));
    let shape = main.len() == 19
        && main.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shape
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && time::PrimitiveDateTime::parse(
            main,
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .is_ok()
}

/// One replacement of a byte range of the head.
struct Edit {
    range: Range<usize>,
    with: Vec<u8>,
}

/// The key substitution and the checksum fields to move into headers (which are added to
/// `headers` here). A checksum field the policy names stays in the form: s3s checks it against the
/// policy and hands it to the PUT path, which verifies it against the file like a header.
fn plan_edits(form: &FormHead, head: &[u8], headers: &mut http::HeaderMap) -> S3Result<Vec<Edit>> {
    let mut edits = Vec::new();
    if let (Some(key), Some(filename)) = (field(form, "key"), &form.filename) {
        let old_key = value(head, key);
        if old_key.contains(VARIABLE) {
            edits.push(Edit {
                range: key.value.clone(),
                with: old_key.replace(VARIABLE, filename).into_bytes(),
            });
        }
    }
    let named = policy_condition_names(form, head);
    for f in &form.fields {
        let name = f.name.to_ascii_lowercase();
        if !name.starts_with("x-amz-checksum-") || named.contains(&name) {
            continue;
        }
        let header_name = if name == "x-amz-checksum-algorithm" {
            "x-amz-sdk-checksum-algorithm".to_owned()
        } else {
            name
        };
        let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(header_name.as_bytes()),
            http::HeaderValue::from_str(value(head, f).trim()),
        ) else {
            return Err(s3_error!(
                InvalidRequest,
                "The form field {} does not hold a valid checksum value",
                f.name
            ));
        };
        headers.insert(n, v);
        edits.push(Edit {
            range: f.part.clone(),
            with: Vec::new(),
        });
    }
    Ok(edits)
}

/// The head with the edits applied (they never overlap), and how much it grew.
fn apply_edits(head: &Bytes, mut edits: Vec<Edit>) -> (Bytes, i64) {
    edits.sort_by_key(|e| e.range.start);
    let mut out = BytesMut::with_capacity(head.len());
    let mut at = 0;
    for edit in edits {
        out.extend_from_slice(&head[at..edit.range.start]);
        out.extend_from_slice(&edit.with);
        at = edit.range.end;
    }
    out.extend_from_slice(&head[at..]);
    let grown = out.len() as i64 - head.len() as i64;
    (out.freeze(), grown)
}

/// The boundary of a `multipart/form-data` content type.
fn form_boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// One form field before the file part.
#[derive(Debug, PartialEq)]
struct FormField {
    name: String,
    /// The whole part, from its delimiter to the CRLF before the next one.
    part: Range<usize>,
    value: Range<usize>,
}

/// The fields before the file part, and the file part's file name.
#[derive(Debug, PartialEq)]
struct FormHead {
    fields: Vec<FormField>,
    filename: Option<String>,
}

/// Finds the fields before the file part as the head arrives. Each call resumes where the last
/// one stopped (the part being read, and how far it was searched), so a head trickled in tiny
/// frames costs time linear in its size — this runs before any signature check.
struct FormScanner {
    delimiter: Vec<u8>,
    next_delimiter: Vec<u8>,
    /// Start of the current part's delimiter, once found.
    part: Option<usize>,
    /// The current part's name and where its content starts, once its headers are read.
    content: Option<(Option<String>, usize)>,
    /// Bytes before this offset were searched for what the scanner waits for.
    searched: usize,
    fields: Vec<FormField>,
}

impl FormScanner {
    fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("--{boundary}").into_bytes(),
            next_delimiter: format!("\r\n--{boundary}").into_bytes(),
            part: None,
            content: None,
            searched: 0,
            fields: Vec::new(),
        }
    }

    /// Searches `buf[from..]` for `needle`, resuming after what was already searched.
    fn find(&mut self, buf: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
        let start = from.max(self.searched.saturating_sub(needle.len() - 1)).min(buf.len());
        match memmem::find(&buf[start..], needle) {
            Some(i) => Some(start + i),
            None => {
                self.searched = buf.len();
                None
            }
        }
    }

    /// `Some(Some(..))` once the head up to the file part's headers is in `buf`; `Some(None)`
    /// when the form has no file part (nothing to do: s3s rejects it); `None` when more bytes
    /// are needed.
    fn advance(&mut self, buf: &[u8]) -> Option<Option<FormHead>> {
        loop {
            let pos = match self.part {
                Some(pos) => pos,
                None => {
                    let delimiter = self.delimiter.clone();
                    let pos = self.find(buf, 0, &delimiter)?;
                    self.part = Some(pos);
                    self.searched = pos;
                    pos
                }
            };
            let after = pos + self.delimiter.len();
            if buf.len() < after + 2 {
                return None;
            }
            if &buf[after..after + 2] == b"--" {
                return Some(None); // the closing delimiter: no file part
            }
            let (name, content_start) = match self.content.take() {
                Some(content) => content,
                None => {
                    let headers_start = after + 2;
                    let headers_end = self.find(buf, headers_start, b"\r\n\r\n")?;
                    let (name, filename) = disposition(&buf[headers_start..headers_end]);
                    if name.as_deref() == Some("file") {
                        let fields = std::mem::take(&mut self.fields);
                        return Some(Some(FormHead { fields, filename }));
                    }
                    self.searched = headers_end + 4;
                    (name, headers_end + 4)
                }
            };
            let next_delimiter = self.next_delimiter.clone();
            let Some(content_end) = self.find(buf, content_start, &next_delimiter) else {
                self.content = Some((name, content_start));
                return None;
            };
            let end = content_end + 2;
            if let Some(name) = name {
                self.fields.push(FormField {
                    name,
                    part: pos..end,
                    value: content_start..content_end,
                });
            }
            self.part = Some(end);
            self.searched = end;
        }
    }
}

/// The `name` and `filename` parameters of a part's `Content-Disposition: form-data` header.
fn disposition(headers: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(headers);
    let Some(value) = text.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case("content-disposition").then_some(v)
    }) else {
        return (None, None);
    };
    let (mut name, mut filename) = (None, None);
    let mut rest = value;
    while let Some(eq) = rest.find('=') {
        let param = rest[..eq].rsplit(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let after = &rest[eq + 1..];
        let (val, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => after.split_once(';').map_or((after.trim(), ""), |(v, t)| (v.trim(), t)),
        };
        match param.as_str() {
            "name" => name = Some(val.to_owned()),
            "filename" => filename = Some(val.to_owned()),
            _ => {}
        }
        rest = tail;
    }
    (name, filename)
}

fn adjust_content_length(headers: &mut http::HeaderMap, grown: i64) -> S3Result<()> {
    let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return Ok(());
    };
    let adjusted = len
        .checked_add(grown)
        .filter(|n| *n >= 0)
        .ok_or_else(|| s3_error!(InvalidArgument, "The Content-Length does not fit the form that was sent"))?;
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(adjusted));
    Ok(())
}

/// What reading the head stopped at and must still be delivered after it.
enum Held<E> {
    Frame(Frame<Bytes>),
    Error(E),
}

/// The (possibly rewritten) form head, then whatever stopped the read-ahead, then the rest of
/// the original body.
struct Prefixed<B: HttpBody> {
    head: Option<Bytes>,
    held: Option<Held<B::Error>>,
    rest: B,
}

impl<B> HttpBody for Prefixed<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        match self.held.take() {
            Some(Held::Frame(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Held::Error(e)) => Poll::Ready(Some(Err(e))),
            None => Pin::new(&mut self.rest).poll_frame(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ";

    fn form(key: &str, filename: &str) -> String {
        format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n{key}\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"x-amz-meta-a\"\r\n\r\neyJ9\r\n\
             --{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n\
             JPEGDATA\r\n--{B}--\r\n"
        )
    }

    async fn rewrite(body: String, chunk: usize) -> (Option<String>, String) {
        let len = body.len();
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = body
            .into_bytes()
            .chunks(chunk)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let stream = http_body_util::StreamBody::new(futures::stream::iter(chunks));
        let req = http::Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={B}"))
            .header(header::CONTENT_LENGTH, len)
            .body(stream)
            .unwrap();
        let out = prepare(req, None, &ReadAhead::new(MAX_FORM_HEAD, std::time::Duration::from_secs(5)))
            .await
            .unwrap();
        let length = out
            .headers()
            .get(header::CONTENT_LENGTH)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = out.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert_eq!(length, Some(text.len().to_string()), "Content-Length follows the rewrite");
        (length, text)
    }

    #[tokio::test]
    async fn substitutes_the_file_name_whatever_the_chunking() {
        for chunk in [1, 7, 64, 4096] {
            let (_, text) = rewrite(form("uploads/${filename}", "Birthday Cake.jpg"), chunk).await;
            assert_eq!(text, form("uploads/Birthday Cake.jpg", "Birthday Cake.jpg"), "chunk {chunk}");
        }
    }

    #[tokio::test]
    async fn forms_without_the_variable_pass_through_byte_for_byte() {
        let original = form("uploads/fixed.jpg", "a.jpg");
        assert_eq!(rewrite(original.clone(), 5).await.1, original);
        let no_file = format!("--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n${{filename}}\r\n--{B}--\r\n");
        assert_eq!(rewrite(no_file.clone(), 3).await.1, no_file);
    }

    fn head(fields: &[(&str, &str)]) -> (FormHead, Bytes) {
        let mut text = String::new();
        for (name, value) in fields {
            text.push_str(&format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        text.push_str(&format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nDATA\r\n--{B}--\r\n"
        ));
        let bytes = Bytes::from(text);
        let form = FormScanner::new(B).advance(&bytes).unwrap().unwrap();
        (form, bytes)
    }

    fn policy(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    #[test]
    fn malformed_heads_get_s3s_answers() {
        let code = |fields: &[(&str, &str)], bucket| {
            let (form, bytes) = head(fields);
            check_fields(&form, &bytes, bucket)
                .err()
                .map(|e| e.code().as_str().to_owned())
        };
        let good = policy(r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[]}"#);
        assert_eq!(code(&[("policy", &good), ("signature", "s")], Some("b")), None);
        assert_eq!(code(&[("policy", &good)], None).as_deref(), Some("InvalidArgument"));
        assert_eq!(
            code(
                &[("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("policy", &good), ("signature", "s")],
                None
            )
            .as_deref(),
            Some("InvalidArgument"),
            "SigV4 forms need x-amz-signature"
        );
        let bad_date = policy(r#"{"expiration":"01/01/2030","conditions":[]}"#);
        assert_eq!(
            code(&[("policy", &bad_date), ("signature", "s")], None).as_deref(),
            Some("InvalidPolicyDocument")
        );
        assert_eq!(
            code(&[("bucket", "other"), ("policy", &good), ("signature", "s")], Some("b")).as_deref(),
            Some("AccessDenied")
        );
    }

    #[test]
    fn checksum_fields_move_into_headers_unless_the_policy_names_them() {
        let (form, bytes) = head(&[("key", "k"), ("x-amz-checksum-crc32", "AAAAAA==")]);
        let mut headers = http::HeaderMap::new();
        let edits = plan_edits(&form, &bytes, &mut headers).unwrap();
        assert_eq!(headers.get("x-amz-checksum-crc32").unwrap(), "AAAAAA==");
        let (out, grown) = apply_edits(&bytes, edits);
        assert!(grown < 0);
        assert!(!String::from_utf8_lossy(&out).contains("x-amz-checksum"));
        let named = policy(r#"{"conditions":[["eq","$x-amz-checksum-crc32","AAAAAA=="]]}"#);
        let (form, bytes) = head(&[("policy", &named), ("x-amz-checksum-crc32", "AAAAAA==")]);
        let mut headers = http::HeaderMap::new();
        assert!(plan_edits(&form, &bytes, &mut headers).unwrap().is_empty());
        // A condition on CRC32C does not name CRC32 (no prefix matching).
        let other = policy(r#"{"conditions":[["eq","$x-amz-checksum-crc32c","x"]]}"#);
        let (form, bytes) = head(&[("policy", &other), ("x-amz-checksum-crc32", "AAAAAA==")]);
        let mut headers = http::HeaderMap::new();
        assert_eq!(plan_edits(&form, &bytes, &mut headers).unwrap().len(), 1);
    }

    #[test]
    fn expirations_must_be_iso8601_utc() {
        assert!(is_iso8601_utc("2030-01-01T00:00:00Z"));
        assert!(is_iso8601_utc("2030-01-01T00:00:00.123Z"));
        assert!(!is_iso8601_utc("2030-01-01 00:00:00Z"));
        assert!(!is_iso8601_utc("2030-13-01T00:00:00Z"));
        assert!(!is_iso8601_utc("2030-01-01T00:00:00"));
    }

    #[test]
    fn parses_boundaries_and_dispositions() {
        assert_eq!(form_boundary("multipart/form-data; boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(form_boundary("application/xml; boundary=x"), None);
        assert_eq!(
            disposition(b"Content-Disposition: form-data; name=\"file\"; filename=\"x;y.csv\""),
            (Some("file".into()), Some("x;y.csv".into()))
        );
        assert_eq!(
            disposition(b"content-disposition: form-data; name=key"),
            (Some("key".into()), None)
        );
    }
}
