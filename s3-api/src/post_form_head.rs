//! `${filename}` in a browser POST upload's `key` field.
//!
//! S3 replaces `${filename}` in the form's `key` with the file name the browser sends in the file
//! part's `Content-Disposition`, before checking the policy (so `starts-with $key` conditions see
//! the final key). s3s 0.14 parses the form itself and drops the file name, so Lagoa rewrites the
//! `key` field in the form's head — the fields before the file, which S3 requires to come first —
//! before handing the request to s3s. Only that head is read ahead (at most
//! [`MAX_FORM_HEAD`] bytes); the file streams through untouched. The POST signature covers the
//! policy document, not the key, so rewriting the key leaves the signature valid.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use memchr::memmem;

/// How much of a form is read ahead to find the file part. Larger heads pass through unchanged
/// (a key with `${filename}` then gets `NotImplemented` from the PUT path).
pub(crate) const MAX_FORM_HEAD: usize = 1024 * 1024;

const VARIABLE: &str = "${filename}";

/// Returns `req` with `${filename}` substituted in its form's `key` field when it has one; any
/// other request comes back with the same bytes.
pub(crate) async fn substitute_key_filename<B>(req: http::Request<B>) -> http::Request<s3s::Body>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: std::error::Error + Send + Sync + Unpin + 'static,
{
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(form_boundary);
    let Some(boundary) = boundary else {
        return req.map(s3s::Body::http_body);
    };
    let (mut parts, mut body) = req.into_parts();
    let mut head = BytesMut::new();
    let mut held: Option<Held<B::Error>> = None;
    let form = loop {
        if let Some(found) = scan_form_head(&head, &boundary) {
            break found;
        }
        if head.len() >= MAX_FORM_HEAD {
            break None;
        }
        match body.frame().await {
            None => break None,
            Some(Err(e)) => {
                held = Some(Held::Error(e));
                break None;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => head.extend_from_slice(&data),
                Err(frame) => {
                    held = Some(Held::Frame(frame));
                    break None;
                }
            },
        }
    };
    let mut head = head.freeze();
    if let Some(FormHead { key, filename }) = form {
        let old_key = String::from_utf8_lossy(&head[key.clone()]).into_owned();
        if old_key.contains(VARIABLE) {
            let new_key = old_key.replace(VARIABLE, &filename);
            let mut rewritten = BytesMut::with_capacity(head.len() + new_key.len());
            rewritten.extend_from_slice(&head[..key.start]);
            rewritten.extend_from_slice(new_key.as_bytes());
            rewritten.extend_from_slice(&head[key.end..]);
            let grown = new_key.len() as i64 - (key.end - key.start) as i64;
            adjust_content_length(&mut parts.headers, grown);
            head = rewritten.freeze();
        }
    }
    let body = Prefixed {
        head: (!head.is_empty()).then_some(head),
        held,
        rest: body,
    };
    http::Request::from_parts(parts, s3s::Body::http_body(body))
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

/// Where the `key` field's value lies in the form head, and the file part's file name.
#[derive(Debug, PartialEq)]
struct FormHead {
    key: std::ops::Range<usize>,
    filename: String,
}

/// `Some(Some(..))` once the head up to the file part's headers is in `buf` and has a key and a
/// file name; `Some(None)` when the form is complete enough to know there is nothing to do;
/// `None` when more bytes are needed.
fn scan_form_head(buf: &[u8], boundary: &str) -> Option<Option<FormHead>> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut pos = memmem::find(buf, delimiter.as_bytes())?;
    let mut key = None;
    loop {
        let after = pos + delimiter.len();
        if buf.len() < after + 2 {
            return None;
        }
        if &buf[after..after + 2] == b"--" {
            return Some(None); // the closing delimiter: no file part
        }
        let headers_start = after + 2;
        let headers_len = memmem::find(&buf[headers_start..], b"\r\n\r\n")?;
        let headers = &buf[headers_start..headers_start + headers_len];
        let (name, filename) = disposition(headers);
        if name.as_deref() == Some("file") {
            return Some(match (key, filename) {
                (Some(key), Some(filename)) => Some(FormHead { key, filename }),
                _ => None,
            });
        }
        let content_start = headers_start + headers_len + 4;
        let content_len = memmem::find(&buf[content_start..], next_delimiter.as_bytes())?;
        if name.is_some_and(|n| n.eq_ignore_ascii_case("key")) {
            key = Some(content_start..content_start + content_len);
        }
        pos = content_start + content_len + 2;
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

fn adjust_content_length(headers: &mut http::HeaderMap, grown: i64) {
    let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return;
    };
    headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from((len + grown).max(0)));
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
             --{B}\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n\
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
        let out = substitute_key_filename(req).await;
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
