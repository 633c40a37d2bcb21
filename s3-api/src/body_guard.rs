//! Guards on request bodies, applied before s3s reads them: a client may not make the server wait
//! forever for the next bytes of a body, nor make it buffer an arbitrarily large aws-chunked chunk.
//!
//! - **Progress**: a body that sends nothing for `--body-timeout-secs` ends with an error; the
//!   request fails (400 `IncompleteBody` / `RequestTimeout`) and its staged bytes are dropped.
//! - **aws-chunked chunk size**: s3s 0.14 buffers a whole declared chunk before checking its
//!   signature, so one request declaring a 1 GiB chunk held 1 GiB of memory. Real clients send
//!   chunks of at most 8 MiB (s3a 128 KiB, the AWS SDKs 64 KiB to 8 MiB): the framing is followed
//!   as it passes, and a chunk declared above [`MAX_CHUNK_SIZE`] ends the body with 400
//!   `InvalidRequest` before s3s sees it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use s3s::{S3Error, s3_error};

use crate::wait_deadline::WaitDeadline;

/// The largest aws-chunked chunk accepted: twice what any known client sends.
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;

/// A chunk header line (`hex-size;chunk-signature=<64 hex>` plus CRLF) is under 100 bytes.
const MAX_CHUNK_HEADER: usize = 4096;

/// Whether a request's body uses aws-chunked framing (`x-amz-content-sha256: STREAMING-…`).
pub fn is_aws_chunked(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"))
}

/// Where the aws-chunked framing stands.
enum Framing {
    /// Not aws-chunked, or past the final chunk: bytes pass unchecked.
    Off,
    /// Reading a chunk header line (bytes so far).
    Header(Vec<u8>),
    /// Inside a chunk: this many bytes (data plus its trailing CRLF) to pass.
    Data(u64),
}

impl Framing {
    /// Follows the framing through `data`; an error when a chunk is declared too large or the
    /// header is malformed.
    fn follow(&mut self, mut data: &[u8]) -> Result<(), S3Error> {
        while !data.is_empty() {
            match self {
                Framing::Off => return Ok(()),
                Framing::Data(remaining) => {
                    let n = (*remaining).min(data.len() as u64);
                    *remaining -= n;
                    data = &data[n as usize..];
                    if *remaining == 0 {
                        *self = Framing::Header(Vec::new());
                    }
                }
                Framing::Header(line) => match memchr::memchr(b'\n', data) {
                    None => {
                        line.extend_from_slice(data);
                        if line.len() > MAX_CHUNK_HEADER {
                            return Err(malformed());
                        }
                        return Ok(());
                    }
                    Some(i) => {
                        line.extend_from_slice(&data[..=i]);
                        data = &data[i + 1..];
                        let size = chunk_size(line)?;
                        *self = if size == 0 {
                            Framing::Off // trailers follow; s3s reads and checks them
                        } else {
                            Framing::Data(size + 2)
                        };
                    }
                },
            }
        }
        Ok(())
    }
}

fn malformed() -> S3Error {
    s3_error!(IncompleteBody, "The aws-chunked request body is malformed.")
}

/// The size a chunk header line declares.
fn chunk_size(line: &[u8]) -> Result<u64, S3Error> {
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let hex = text.split(';').next().unwrap_or("").trim();
    let size = u64::from_str_radix(hex, 16).map_err(|_| malformed())?;
    if size > MAX_CHUNK_SIZE {
        return Err(s3_error!(
            InvalidRequest,
            "An aws-chunked chunk of {size} bytes exceeds the largest this server accepts ({MAX_CHUNK_SIZE} bytes)."
        ));
    }
    Ok(size)
}

/// A request body with the guards above.
pub struct GuardedBody<B> {
    inner: B,
    framing: Framing,
    /// How long the body may keep the server waiting for its next bytes.
    deadline: WaitDeadline,
    failed: bool,
}

impl<B> GuardedBody<B> {
    /// Guards `inner`: progress within `timeout`, and chunk sizes when `aws_chunked`.
    pub fn new(inner: B, aws_chunked: bool, timeout: Duration) -> Self {
        Self {
            inner,
            framing: if aws_chunked {
                Framing::Header(Vec::new())
            } else {
                Framing::Off
            },
            deadline: WaitDeadline::new(timeout),
            failed: false,
        }
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<s3s::StdError>,
{
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.deadline.progressed();
                if let Some(data) = frame.data_ref()
                    && let Err(e) = this.framing.follow(data)
                {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.deadline.expired(cx) {
                    this.failed = true;
                    let e = s3_error!(
                        RequestTimeout,
                        "Your socket connection to the server was not read from or written to within the timeout period."
                    );
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
