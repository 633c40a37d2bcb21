//! How `lagoa serve --compute-url` and the `lagoa compute` sidecar exchange a Select:
//! `POST /v1/select` with the query as JSON (signed by the caller), answered by a stream of
//! frames — one tag byte, a big-endian u32 length, the payload:
//! `R` records, `P` progress and `S` stats (three big-endian u64: scanned, processed,
//! returned), `C` keep-alive, `E` end, `X` an error (JSON [`SelectError`]). A stream that stops without `E` or
//! `X` failed.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use lagoa_compute::{SelectError, SelectQuery};
use s3s::dto::{ContinuationEvent, EndEvent, Progress, ProgressEvent, RecordsEvent, SelectObjectContentEvent, Stats, StatsEvent};
use s3s::{S3Error, S3Result};
use serde::{Deserialize, Serialize};

/// The sidecar's Select endpoint.
pub const SELECT_PATH: &str = "/v1/select";

/// Largest frame accepted: records payloads are far smaller.
const MAX_FRAME: usize = 16 << 20;

/// The body of `POST /v1/select`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forwarded {
    /// The query, already validated by the S3 server.
    pub query: SelectQuery,
    /// Whether the client asked for Progress events.
    pub progress: bool,
    /// The SSE-C key (hex) the S3 server checked for the object, if it is SSE-C encrypted.
    /// The request is signed by the caller and stays inside the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key: Option<String>,
}

/// An SSE-C key as [`Forwarded::customer_key`] carries it.
pub fn encode_key(key: &lagoa_store::sealing::Key) -> String {
    hex::encode(key.as_bytes())
}

/// The SSE-C key of a forwarded Select, if it carries a valid one.
pub fn decode_key(text: &str) -> Option<lagoa_store::sealing::Key> {
    lagoa_store::sealing::Key::from_slice(&hex::decode(text).ok()?)
}

/// Frames for `events`.
pub fn encode(
    events: impl Stream<Item = S3Result<SelectObjectContentEvent>> + Send + 'static,
) -> impl Stream<Item = Bytes> + Send + 'static {
    events.filter_map(|event| futures::future::ready(frame(event)))
}

fn frame(event: S3Result<SelectObjectContentEvent>) -> Option<Bytes> {
    let (tag, payload) = match event {
        Ok(SelectObjectContentEvent::Records(r)) => (b'R', r.payload.unwrap_or_default()),
        Ok(SelectObjectContentEvent::Progress(p)) => {
            let p = p.details.unwrap_or_default();
            (b'P', numbers(p.bytes_scanned, p.bytes_processed, p.bytes_returned))
        }
        Ok(SelectObjectContentEvent::Stats(s)) => {
            let s = s.details.unwrap_or_default();
            (b'S', numbers(s.bytes_scanned, s.bytes_processed, s.bytes_returned))
        }
        Ok(SelectObjectContentEvent::End(_)) => (b'E', Bytes::new()),
        Ok(SelectObjectContentEvent::Cont(_)) => (b'C', Bytes::new()),
        Ok(_) => return None,
        Err(e) => (
            b'X',
            Bytes::from(serde_json::to_vec(&select_error_of(&e)).unwrap_or_default()),
        ),
    };
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(tag);
    out.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    out.put(payload);
    Some(out.freeze())
}

/// The compute error an S3 error stands for (to cross the wire).
pub fn select_error_of(e: &S3Error) -> SelectError {
    SelectError {
        status: e.status_code().map_or(500, |s| s.as_u16()),
        code: e.code().as_str().to_owned(),
        message: e.message().unwrap_or_default().to_owned(),
    }
}

fn numbers(scanned: Option<i64>, processed: Option<i64>, returned: Option<i64>) -> Bytes {
    let mut out = BytesMut::with_capacity(24);
    for n in [scanned, processed, returned] {
        out.put_u64(u64::try_from(n.unwrap_or(0)).unwrap_or(0));
    }
    out.freeze()
}

/// Events of a frame stream read from the sidecar.
pub fn decode(
    body: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
) -> impl Stream<Item = S3Result<SelectObjectContentEvent>> + Send + 'static {
    let state = (Box::pin(body), BytesMut::new(), false);
    futures::stream::unfold(state, |(mut body, mut buf, done)| async move {
        if done {
            return None;
        }
        loop {
            if buf.len() >= 5 {
                let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                if len > MAX_FRAME {
                    return Some((Err(broken("a frame is too large")), (body, buf, true)));
                }
                if buf.len() >= 5 + len {
                    let tag = buf[0];
                    buf.advance(5);
                    let payload = buf.split_to(len).freeze();
                    let event = event(tag, payload);
                    let last = matches!(event, Ok(SelectObjectContentEvent::End(_)) | Err(_));
                    return Some((event, (body, buf, last)));
                }
            }
            match body.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                Some(Err(e)) => return Some((Err(broken(&format!("reading from compute failed: {e}"))), (body, buf, true))),
                None => return Some((Err(broken("compute ended the stream early")), (body, buf, true))),
            }
        }
    })
}

fn event(tag: u8, mut payload: Bytes) -> S3Result<SelectObjectContentEvent> {
    let mut numbers = || {
        if payload.len() < 24 {
            return Err(broken("a short stats frame"));
        }
        let mut n = || Some(i64::try_from(payload.get_u64()).unwrap_or(i64::MAX));
        Ok((n(), n(), n()))
    };
    Ok(match tag {
        b'R' => SelectObjectContentEvent::Records(RecordsEvent { payload: Some(payload) }),
        b'P' => {
            let (bytes_scanned, bytes_processed, bytes_returned) = numbers()?;
            SelectObjectContentEvent::Progress(ProgressEvent {
                details: Some(Progress {
                    bytes_scanned,
                    bytes_processed,
                    bytes_returned,
                }),
            })
        }
        b'S' => {
            let (bytes_scanned, bytes_processed, bytes_returned) = numbers()?;
            SelectObjectContentEvent::Stats(StatsEvent {
                details: Some(Stats {
                    bytes_scanned,
                    bytes_processed,
                    bytes_returned,
                }),
            })
        }
        b'E' => SelectObjectContentEvent::End(EndEvent {}),
        b'C' => SelectObjectContentEvent::Cont(ContinuationEvent {}),
        b'X' => {
            let err: SelectError = serde_json::from_slice(&payload).map_err(|_| broken("an unreadable error frame"))?;
            return Err(crate::select::s3_error_of(err));
        }
        other => return Err(broken(&format!("an unknown frame {other}"))),
    })
}

fn broken(what: &str) -> S3Error {
    tracing::warn!(what, "a Select stream from compute broke");
    s3s::s3_error!(InternalError, "The Select stream from compute broke: {}", what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_even_when_split_across_chunks() {
        let events = vec![
            Ok(SelectObjectContentEvent::Records(RecordsEvent {
                payload: Some(Bytes::from_static(b"a,b\n")),
            })),
            Ok(SelectObjectContentEvent::Stats(StatsEvent {
                details: Some(Stats {
                    bytes_scanned: Some(10),
                    bytes_processed: Some(10),
                    bytes_returned: Some(4),
                }),
            })),
            Ok(SelectObjectContentEvent::End(EndEvent {})),
        ];
        let bytes: Vec<u8> = encode(futures::stream::iter(events)).collect::<Vec<_>>().await.concat();
        // One byte at a time: every frame boundary falls inside a chunk.
        let chunks = futures::stream::iter(bytes.into_iter().map(|b| Ok(Bytes::from(vec![b]))));
        let decoded: Vec<_> = decode(chunks).collect().await;
        assert_eq!(decoded.len(), 3);
        assert!(matches!(&decoded[0], Ok(SelectObjectContentEvent::Records(r)) if r.payload.as_deref() == Some(&b"a,b\n"[..])));
        assert!(
            matches!(&decoded[1], Ok(SelectObjectContentEvent::Stats(s)) if s.details.as_ref().and_then(|d| d.bytes_returned) == Some(4))
        );
        assert!(matches!(&decoded[2], Ok(SelectObjectContentEvent::End(_))));
    }

    #[tokio::test]
    async fn a_cut_stream_is_an_error() {
        let frames = encode(futures::stream::iter(vec![Ok(SelectObjectContentEvent::Records(
            RecordsEvent {
                payload: Some(Bytes::from_static(b"x")),
            },
        ))]));
        let bytes: Vec<u8> = frames.collect::<Vec<_>>().await.concat();
        let decoded: Vec<_> = decode(futures::stream::iter(vec![Ok(Bytes::from(bytes))])).collect().await;
        assert_eq!(decoded.len(), 2);
        assert!(decoded[1].is_err());
    }
}
