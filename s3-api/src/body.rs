//! Moving a request body into the store chunk by chunk, turning stream failures (client gone,
//! bad chunk signature, truncated aws-chunked framing) into the S3 error a real S3 gives.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderMap;
use lagoa_store::sealing::{HashingSealer, Key};
use lagoa_store::{BodyHasher, BodyWriter, StagedBody, Store, StoreResult};
use s3s::dto::StreamingBlob;
use s3s::{S3Error, S3Result, s3_error};

use crate::checksum::{self, RequestedChecksums};
use crate::errors::StoreResultExt;

/// The decoded body length the client announced, if it can be known up front.
pub fn announced_length(headers: &HeaderMap, content_length: Option<i64>) -> Option<u64> {
    if let Some(v) = headers.get("x-amz-decoded-content-length") {
        return v.to_str().ok().and_then(|s| s.parse().ok());
    }
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        return None;
    }
    content_length.and_then(|n| u64::try_from(n).ok())
}

/// What a received body's plaintext was: the MD5 of what the client sent (for a sealed body, not
/// that of the bytes stored).
#[derive(Debug, Clone, Copy)]
pub struct Plaintext {
    pub md5: [u8; 16],
}

impl Plaintext {
    /// Hex MD5: the ETag of a plaintext or SSE-S3 object or part.
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }
}

/// Moves a body into a [`BodyWriter`], sealing it first when the object is to be encrypted. A
/// sealed body's MD5 and checksums must describe the plaintext, so they are computed here, on
/// the plaintext, and the store's own hashing sees only sealed bytes.
pub struct Intake<H: BodyHasher> {
    writer: BodyWriter<H>,
    sealing: Option<PlainSide<H>>,
}

struct PlainSide<H> {
    sealer: HashingSealer,
    hasher: H,
    size: u64,
}

impl<H: BodyHasher + Default> Intake<H> {
    /// A new body; `seal_with` is the key it is sealed with on the way (see
    /// [`lagoa_store::sealing`]).
    pub fn new(store: &Store, hasher: H, seal_with: Option<Key>) -> Self {
        match seal_with {
            None => Self {
                writer: store.body_writer(hasher),
                sealing: None,
            },
            Some(key) => Self {
                writer: store.sealed_body_writer(H::default()),
                sealing: Some(PlainSide {
                    sealer: HashingSealer::new(&key),
                    hasher,
                    size: 0,
                }),
            },
        }
    }

    /// Plaintext bytes received so far.
    pub fn received(&self) -> u64 {
        self.sealing.as_ref().map_or(self.writer.written(), |p| p.size)
    }

    /// Takes the next chunk of plaintext.
    pub async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        let Some(plain) = &mut self.sealing else {
            return self.writer.write(chunk).await;
        };
        plain.hasher.update(&chunk);
        plain.size += chunk.len() as u64;
        let sealed = plain.sealer.push(&chunk);
        if sealed.is_empty() {
            return Ok(());
        }
        self.writer.write(sealed).await
    }

    /// Makes the body durable; returns it with what its plaintext was.
    pub async fn finish(mut self) -> StoreResult<(StagedBody<H>, Plaintext)> {
        let Some(plain) = self.sealing.take() else {
            let staged = self.writer.finish().await?;
            let plaintext = Plaintext { md5: staged.md5 };
            return Ok((staged, plaintext));
        };
        let (last, md5) = plain.sealer.finish();
        self.writer.write(last).await?;
        let mut staged = self.writer.finish().await?;
        *staged.hasher_mut() = plain.hasher;
        let plaintext = Plaintext { md5 };
        Ok((staged, plaintext))
    }
}

/// Streams `body` into a new staged body, sealed under `seal_with` if given. Nothing is left behind
/// if this fails.
pub async fn receive<H: BodyHasher + Default>(
    store: &Store,
    body: Option<StreamingBlob>,
    expected_len: Option<u64>,
    hasher: H,
    seal_with: Option<Key>,
) -> S3Result<(StagedBody<H>, Plaintext)> {
    if let Some(len) = expected_len
        && len > 0
    {
        // A body the volume has no room for is refused before a byte of it is stored.
        if let Err(full) = store.ensure_space(len).s3() {
            if len <= REFUSED_BODY_READ_LIMIT
                && let Some(body) = body
            {
                discard(body).await;
            }
            return Err(full);
        }
    }
    let mut intake = Intake::new(store, hasher, seal_with);
    if let Some(mut body) = body {
        while let Some(chunk) = next_chunk(&mut body, &mut intake.writer).await? {
            let chunk = chunk.map_err(stream_error)?;
            if let Some(expected) = expected_len
                && intake.received() + chunk.len() as u64 > expected
            {
                return Err(s3_error!(
                    IncompleteBody,
                    "The request body is longer than its declared length."
                ));
            }
            intake.write(chunk).await.s3()?;
        }
    }
    if let Some(expected) = expected_len
        && intake.received() != expected
    {
        return Err(s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header ({} of {expected}).",
            intake.received()
        ));
    }
    intake.finish().await.s3()
}

/// The largest refused body read (and dropped) before the refusal is sent. An answer sent while
/// the client is still sending makes the server close the connection with the body unread, and
/// a client that is still writing (the AWS SDKs' hyper, for one) then sees a reset instead of the
/// answer, and retries the whole body. Reading the rest first costs bandwidth, never memory or
/// disk, and the body timeout still bounds a client that stalls. Larger bodies are refused at
/// once (as S3 does) rather than read for nothing.
const REFUSED_BODY_READ_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads a refused body to its end (or its first error), keeping nothing.
async fn discard(mut body: StreamingBlob) {
    while let Some(Ok(_)) = body.next().await {}
}

/// How long a client may pause mid-body before the bytes it sent are written out of memory. A
/// pause this long is a stall (or a very slow client), and a stalled upload then holds a
/// staging file and under 4 KiB, not a unit's MiB. When the uploads in progress hold more than
/// the store's budget, a pausing body writes out at once (`BodyWriter::memory_is_short`).
const STALL_FLUSH_AFTER: Duration = Duration::from_secs(1);

/// The body's next chunk. With memory worth writing out, the wait is bounded by
/// [`STALL_FLUSH_AFTER`]; tokio registers that timer only if the chunk is not already there,
/// so a client that keeps up pays a clock read per chunk and nothing more.
async fn next_chunk<H: BodyHasher>(
    body: &mut StreamingBlob,
    writer: &mut BodyWriter<H>,
) -> S3Result<Option<Result<bytes::Bytes, s3s::StdError>>> {
    if !writer.holds_memory() {
        return Ok(body.next().await);
    }
    if BodyWriter::<H>::memory_is_short() {
        // Short of memory: a body that has its next chunk goes on; one that would wait first
        // writes out what it holds.
        if let Some(next) = futures::FutureExt::now_or_never(body.next()) {
            return Ok(next);
        }
        writer.flush_stalled().await.s3()?;
        return Ok(body.next().await);
    }
    match tokio::time::timeout(STALL_FLUSH_AFTER, body.next()).await {
        Ok(next) => Ok(next),
        Err(_) => {
            writer.flush_stalled().await.s3()?;
            Ok(body.next().await)
        }
    }
}

/// Classifies a body stream error. s3s keeps its aws-chunked error type private, so its variants
/// are recognised by their stable `Display` text.
fn stream_error(err: s3s::StdError) -> S3Error {
    let mut cursor: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
    while let Some(e) = cursor {
        if let Some(s3) = e.downcast_ref::<S3Error>() {
            let mut out = S3Error::new(s3.code().clone());
            if let Some(m) = s3.message() {
                out.set_message(m.to_owned());
            }
            return out;
        }
        let text = e.to_string();
        if text.contains("AwsChunkedStreamError: SignatureMismatch") {
            return s3_error!(
                SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided (chunk signature)."
            );
        }
        if text.contains("AwsChunkedStreamError: Incomplete") || text.contains("AwsChunkedStreamError: FormatError") {
            return s3_error!(IncompleteBody, "The aws-chunked request body is truncated or malformed.");
        }
        if text.contains("Sha256Mismatch") {
            return crate::errors::custom(
                "XAmzContentSHA256Mismatch",
                http::StatusCode::BAD_REQUEST,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            );
        }
        if text.contains("AwsChunkedStreamError") {
            return s3_error!(InvalidRequest, "Malformed aws-chunked body: {text}");
        }
        cursor = e.source();
    }
    tracing::info!(error = %err, "request body stream ended with an error (client disconnect?)");
    s3_error!(IncompleteBody, "The request body could not be read: {err}")
}

/// What a PUT-like request (PutObject, UploadPart) claims about its body.
pub struct BodyClaims<'a> {
    pub headers: &'a HeaderMap,
    pub trailers: Option<&'a s3s::TrailingHeaders>,
    pub content_length: Option<i64>,
    pub content_md5: Option<&'a str>,
    /// `x-amz-sdk-checksum-algorithm`.
    pub algorithm: Option<&'a str>,
    /// An algorithm to compute whatever the request says: a multipart upload's own, which every
    /// part must carry.
    pub also_compute: Option<&'a str>,
    /// Checksum values claimed outside the headers (a browser POST's form fields, which s3s puts
    /// into the input).
    pub claimed: lagoa_store::Checksums,
}

/// Receives a body and verifies every claim about it (length, Content-MD5, checksums from
/// headers or trailers); returns the staged body and the checksums to store with it.
pub async fn receive_verified(
    store: &Store,
    body: Option<StreamingBlob>,
    claims: BodyClaims<'_>,
    seal_with: Option<Key>,
) -> S3Result<(StagedBody<RequestedChecksums>, lagoa_store::Checksums, Plaintext)> {
    let content_md5 = claims.content_md5.map(checksum::parse_content_md5).transpose()?;
    let mut expected = checksum::expected_from_headers(claims.headers);
    for (alg, value) in claims.claimed {
        match expected.get(&alg) {
            Some(v) if *v != value => {
                return Err(s3_error!(
                    InvalidRequest,
                    "Two different {alg} checksums were given for the same body"
                ));
            }
            _ => {
                expected.insert(alg, value);
            }
        }
    }
    let mut hasher = checksum::hasher_for(&expected, claims.algorithm, claims.headers)?;
    if let Some(alg) = claims.also_compute {
        hasher = checksum::with_algorithm(hasher, alg);
    }
    let expected_len = announced_length(claims.headers, claims.content_length);
    let (mut staged, plaintext) = receive(store, body, expected_len, hasher, seal_with).await?;
    if let Some(md5) = content_md5
        && md5 != plaintext.md5
    {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    checksum::merge_trailers(&mut expected, claims.trailers);
    let computed = std::mem::take(&mut staged.hasher_mut().0).finalize();
    let checksums = checksum::verify(&expected, computed)?;
    Ok((staged, checksums, plaintext))
}
