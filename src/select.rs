//! S3 Select wiring: the S3 request becomes compute's [`SelectQuery`], compute's records become
//! the S3 event stream (Records, Progress, Stats, End). Two ports: compute in this process
//! ([`EmbeddedSelect`]) or a sidecar reached over HTTP ([`ForwardedSelect`], see `select_wire`).

use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use lagoa_compute::{
    Caller, Compression, CsvInput, CsvOutput, Engine, FileHeader, InputFormat, ScanRange, SelectError, SelectInput, SelectOutput,
    SelectQuery, SelectRun,
};
use lagoa_s3_api::{SelectCall, SelectPort};
use s3s::dto::{
    ContinuationEvent, EndEvent, Progress, ProgressEvent, RecordsEvent, SelectObjectContentEvent, SelectObjectContentEventStream,
    Stats, StatsEvent,
};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

/// How often a Progress event is sent while records stream, when the client asked for them.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Events buffered between a running query and the client: backpressure, not buffering.
const EVENT_BUFFER: usize = 2;

/// Longest quiet time in an event stream: then a Cont event is sent.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Most bytes of a sidecar's error answer read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Selects run by the compute engine of this process (`lagoa serve` with compute).
pub struct EmbeddedSelect {
    /// Set once the store is open.
    pub engine: Arc<OnceLock<Engine>>,
}

#[async_trait::async_trait]
impl SelectPort for EmbeddedSelect {
    async fn select(&self, call: SelectCall) -> S3Result<SelectObjectContentEventStream> {
        let Some(engine) = self.engine.get() else {
            return Err(s3_error!(
                ServiceUnavailable,
                "Compute is starting or could not start; retry shortly."
            ));
        };
        let progress = progress_requested(&call);
        let query = query_of(&call)?;
        let run = engine.select(&caller_of(&call), query).await.map_err(s3_error_of)?;
        Ok(event_stream(events(run, progress)))
    }
}

/// The compute identity of an authorised call.
pub fn caller_of(call: &SelectCall) -> Caller {
    Caller {
        access_key: call.access_key.clone(),
        secret_key: call.secret_key.clone(),
        access: Arc::new(crate::query_access::PolicyAccess {
            authorizer: call.authorizer.clone(),
            caller: call.caller.clone(),
        }),
        customer_key: call.customer_key.clone().map(|secret| lagoa_compute::CustomerKey {
            object: Some((call.bucket.clone(), call.key.clone())),
            secret,
        }),
    }
}

/// Whether the client asked for Progress events.
pub fn progress_requested(call: &SelectCall) -> bool {
    call.request
        .request_progress
        .as_ref()
        .and_then(|p| p.enabled)
        .unwrap_or(false)
}

/// An S3 error for a compute error, with its status and code.
pub fn s3_error_of(err: SelectError) -> S3Error {
    let code = S3ErrorCode::from_bytes(err.code.as_bytes()).unwrap_or(S3ErrorCode::Custom(err.code.clone().into()));
    let mut e = S3Error::with_message(code, err.message);
    e.set_status_code(http::StatusCode::from_u16(err.status).unwrap_or(http::StatusCode::BAD_REQUEST));
    e
}

/// The events of a run: Records as they come, Progress at most every [`PROGRESS_EVERY`] when
/// asked for, then Stats and End — or an error, which ends the stream.
pub fn events(run: SelectRun, progress: bool) -> impl Stream<Item = S3Result<SelectObjectContentEvent>> + Send + 'static {
    let SelectRun { records, counters } = run;
    let mut last_progress = std::time::Instant::now();
    let numbers = move || counters.snapshot();
    let numbers_at_end = numbers.clone();
    let body = records.flat_map(move |chunk| {
        let mut out = Vec::with_capacity(2);
        match chunk {
            Ok(payload) => {
                out.push(Ok(SelectObjectContentEvent::Records(RecordsEvent { payload: Some(payload) })));
                if progress && last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = std::time::Instant::now();
                    out.push(Ok(progress_event(numbers())));
                }
            }
            Err(e) => out.push(Err(s3_error_of(e))),
        }
        futures::stream::iter(out)
    });
    let end = futures::stream::once(async move {
        let (scanned, processed, returned) = numbers_at_end();
        let mut tail = Vec::with_capacity(3);
        if progress {
            tail.push(Ok(progress_event((scanned, processed, returned))));
        }
        tail.push(Ok(SelectObjectContentEvent::Stats(StatsEvent {
            details: Some(Stats {
                bytes_scanned: Some(as_i64(scanned)),
                bytes_processed: Some(as_i64(processed)),
                bytes_returned: Some(as_i64(returned)),
            }),
        })));
        tail.push(Ok(SelectObjectContentEvent::End(EndEvent {})));
        futures::stream::iter(tail)
    })
    .flatten();
    // Nothing follows an error: a failed stream has no Stats or End.
    let mut failed = false;
    body.chain(end).take_while(move |event| {
        let go = !failed;
        failed |= event.is_err();
        futures::future::ready(go)
    })
}

fn progress_event((scanned, processed, returned): (u64, u64, u64)) -> SelectObjectContentEvent {
    SelectObjectContentEvent::Progress(ProgressEvent {
        details: Some(Progress {
            bytes_scanned: Some(as_i64(scanned)),
            bytes_processed: Some(as_i64(processed)),
            bytes_returned: Some(as_i64(returned)),
        }),
    })
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// s3s's event stream must be `Sync`; a query's stream is not. A task drives the events into
/// a small channel whose receiver is. When the client goes away the receiver is dropped and
/// the task stops at once — dropping (cancelling) the query even while it scans without
/// output. While no event is ready, a Cont event every [`KEEP_ALIVE`] keeps the client's read
/// timeout from firing, as S3 does.
pub fn event_stream(
    events: impl Stream<Item = S3Result<SelectObjectContentEvent>> + Send + 'static,
) -> SelectObjectContentEventStream {
    let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        loop {
            let event = tokio::select! {
                () = tx.closed() => break,
                next = tokio::time::timeout(KEEP_ALIVE, events.next()) => match next {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(_) => Ok(SelectObjectContentEvent::Cont(ContinuationEvent {})),
                },
            };
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    SelectObjectContentEventStream::new(Received(rx))
}

struct Received(tokio::sync::mpsc::Receiver<S3Result<SelectObjectContentEvent>>);

impl Stream for Received {
    type Item = S3Result<SelectObjectContentEvent>;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Compute's query for an S3 request, with S3's validation of the serialisation options.
pub fn query_of(call: &SelectCall) -> S3Result<SelectQuery> {
    let request = &call.request;
    if !request.expression_type.as_str().eq_ignore_ascii_case("SQL") {
        return Err(select_error("InvalidExpressionType", "The ExpressionType must be SQL."));
    }
    if request.expression.trim().is_empty() {
        return Err(select_error("MissingRequiredParameter", "The Expression is empty."));
    }
    let input = &request.input_serialization;
    let compression = match input.compression_type.as_ref().map(|c| c.as_str().to_ascii_uppercase()) {
        None => Compression::None,
        Some(c) if c == "NONE" => Compression::None,
        Some(c) if c == "GZIP" => Compression::Gzip,
        Some(c) if c == "BZIP2" => Compression::Bzip2,
        Some(c) => {
            return Err(select_error_owned(
                "InvalidCompressionFormat",
                format!("CompressionType {c} is not supported (NONE, GZIP, BZIP2)."),
            ));
        }
    };
    let format = match (&input.csv, &input.json, &input.parquet) {
        (Some(csv), None, None) => InputFormat::Csv(csv_input(csv)?),
        (None, Some(json), None) => {
            let document = match json.type_.as_ref().map(|t| t.as_str().to_ascii_uppercase()) {
                Some(t) if t == "DOCUMENT" => true,
                Some(t) if t == "LINES" => false,
                None => false,
                Some(t) => {
                    return Err(select_error_owned(
                        "InvalidJsonType",
                        format!("JSON Type {t} is not DOCUMENT or LINES."),
                    ));
                }
            };
            InputFormat::Json { document }
        }
        (None, None, Some(_)) => InputFormat::Parquet,
        (None, None, None) => {
            return Err(select_error(
                "MissingRequiredParameter",
                "InputSerialization names no format (CSV, JSON or Parquet).",
            ));
        }
        _ => {
            return Err(select_error(
                "ObjectSerializationConflict",
                "InputSerialization names more than one format.",
            ));
        }
    };
    let output = &request.output_serialization;
    let output = match (&output.csv, &output.json) {
        (Some(csv), None) => SelectOutput::Csv(csv_output(csv)?),
        (None, Some(json)) => SelectOutput::Json {
            record_delimiter: json.record_delimiter.clone().unwrap_or_else(|| "\n".into()),
        },
        (None, None) => {
            return Err(select_error(
                "MissingRequiredParameter",
                "OutputSerialization names no format (CSV or JSON).",
            ));
        }
        _ => {
            return Err(select_error(
                "ObjectSerializationConflict",
                "OutputSerialization names more than one format.",
            ));
        }
    };
    let scan_range = match &request.scan_range {
        None => None,
        Some(range) => {
            let bound = |v: Option<i64>| {
                v.map(|n| {
                    u64::try_from(n).map_err(|_| select_error("InvalidRequestParameter", "ScanRange bounds are not negative."))
                })
                .transpose()
            };
            let range = ScanRange {
                start: bound(range.start)?,
                end: bound(range.end)?,
            };
            if range.start.is_none() && range.end.is_none() {
                return Err(select_error("InvalidRequestParameter", "ScanRange needs Start or End."));
            }
            Some(range)
        }
    };
    Ok(SelectQuery {
        bucket: call.bucket.clone(),
        key: call.key.clone(),
        expression: request.expression.clone(),
        input: SelectInput { format, compression },
        output,
        scan_range,
    })
}

fn csv_input(csv: &s3s::dto::CSVInput) -> S3Result<CsvInput> {
    let header = match csv.file_header_info.as_ref().map(|h| h.as_str().to_ascii_uppercase()) {
        None => FileHeader::None,
        Some(h) if h == "USE" => FileHeader::Use,
        Some(h) if h == "IGNORE" => FileHeader::Ignore,
        Some(h) if h == "NONE" => FileHeader::None,
        Some(h) => {
            return Err(select_error_owned(
                "InvalidFileHeaderInfo",
                format!("FileHeaderInfo {h} is not USE, IGNORE or NONE."),
            ));
        }
    };
    let quote = one_byte(csv.quote_character.as_deref(), b'"', "QuoteCharacter")?;
    let escape = one_byte(csv.quote_escape_character.as_deref(), quote, "QuoteEscapeCharacter")?;
    if escape != quote {
        // DataFusion's CSV reader splits records before it knows the escape character.
        return Err(s3_error!(
            NotImplemented,
            "A QuoteEscapeCharacter other than the QuoteCharacter (quotes doubled) is not supported."
        ));
    }
    let record_delimiter = match csv.record_delimiter.as_deref() {
        None | Some("\n" | "\r\n") => None,
        Some(d) => Some(one_byte(Some(d), b'\n', "RecordDelimiter")?),
    };
    Ok(CsvInput {
        header,
        field_delimiter: one_byte(csv.field_delimiter.as_deref(), b',', "FieldDelimiter")?,
        quote,
        escape: None,
        record_delimiter,
        comments: match csv.comments.as_deref() {
            None | Some("") => None,
            Some(c) => Some(one_byte(Some(c), b'#', "Comments")?),
        },
        allow_quoted_record_delimiter: csv.allow_quoted_record_delimiter.unwrap_or(false),
    })
}

fn csv_output(csv: &s3s::dto::CSVOutput) -> S3Result<CsvOutput> {
    let always_quote = match csv.quote_fields.as_ref().map(|q| q.as_str().to_ascii_uppercase()) {
        None => false,
        Some(q) if q == "ASNEEDED" => false,
        Some(q) if q == "ALWAYS" => true,
        Some(q) => {
            return Err(select_error_owned(
                "InvalidQuoteFields",
                format!("QuoteFields {q} is not ALWAYS or ASNEEDED."),
            ));
        }
    };
    let quote = csv.quote_character.clone().unwrap_or_else(|| "\"".into());
    Ok(CsvOutput {
        field_delimiter: csv.field_delimiter.clone().unwrap_or_else(|| ",".into()),
        record_delimiter: csv.record_delimiter.clone().unwrap_or_else(|| "\n".into()),
        escape: csv.quote_escape_character.clone().unwrap_or_else(|| quote.clone()),
        quote,
        always_quote,
    })
}

/// A one-character CSV option (S3 allows exactly one), `default` when absent.
fn one_byte(value: Option<&str>, default: u8, name: &str) -> S3Result<u8> {
    match value {
        None => Ok(default),
        Some(v) if v.len() == 1 => Ok(v.as_bytes()[0]),
        Some(v) => Err(select_error_owned(
            "InvalidRequestParameter",
            format!("{name} must be one ASCII character, not {v:?}."),
        )),
    }
}

fn select_error(code: &'static str, message: &'static str) -> S3Error {
    lagoa_s3_api::custom_error(code, http::StatusCode::BAD_REQUEST, message)
}

fn select_error_owned(code: &'static str, message: String) -> S3Error {
    let mut e = S3Error::with_message(S3ErrorCode::Custom(code.into()), message);
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

/// The HTTP client of [`ForwardedSelect`]: a sidecar that does not answer the connection
/// within seconds is down (the S3 client gets 503 and retries).
pub fn sidecar_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Selects forwarded to a sidecar (`lagoa serve --compute-url`): the request goes to the
/// sidecar's `/v1/select` signed with the caller's own credentials, so the sidecar
/// authorises it again by the same rules; its answer is relayed event by event.
pub struct ForwardedSelect {
    /// The sidecar's base URL (`http://127.0.0.1:9100`).
    pub url: String,
    /// Region requests are signed for.
    pub region: String,
    /// HTTP client (connection pool).
    pub client: reqwest::Client,
}

#[async_trait::async_trait]
impl SelectPort for ForwardedSelect {
    async fn select(&self, call: SelectCall) -> S3Result<SelectObjectContentEventStream> {
        let progress = progress_requested(&call);
        let query = query_of(&call)?;
        let forwarded = crate::select_wire::Forwarded {
            query,
            progress,
            customer_key: call.customer_key.as_ref().map(crate::select_wire::encode_key),
        };
        let body = serde_json::to_vec(&forwarded).map_err(|e| s3_error!(InternalError, "encoding a Select for compute: {e}"))?;
        let url = format!("{}{}", self.url.trim_end_matches('/'), crate::select_wire::SELECT_PATH);
        let mut request = http::Request::builder()
            .method("POST")
            .uri(&url)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| s3_error!(InternalError, "building a Select for compute: {e}"))?;
        crate::sql_cmd::sign_request(&mut request, &call.access_key, &call.secret_key, &self.region)
            .map_err(|e| s3_error!(InternalError, "signing a Select for compute: {e}"))?;
        let request = reqwest::Request::try_from(request.map(reqwest::Body::from))
            .map_err(|e| s3_error!(InternalError, "building a Select for compute: {e}"))?;
        let response = self.client.execute(request).await.map_err(|e| {
            tracing::warn!(err = %e, url, "compute could not be reached");
            s3_error!(ServiceUnavailable, "Compute is not reachable; retry shortly.")
        })?;
        if !response.status().is_success() {
            let status = response.status();
            let mut text = Vec::new();
            let mut body = response.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                text.extend_from_slice(&chunk);
                if text.len() > MAX_ERROR_BODY {
                    break;
                }
            }
            return Err(match serde_json::from_slice::<SelectError>(&text) {
                Ok(err) => s3_error_of(err),
                Err(_) => {
                    tracing::warn!(%status, body = %String::from_utf8_lossy(&text), "compute refused a Select");
                    s3_error!(ServiceUnavailable, "Compute refused the Select ({status}); retry shortly.")
                }
            });
        }
        let frames = response.bytes_stream().map(|chunk| chunk.map_err(std::io::Error::other));
        Ok(event_stream(crate::select_wire::decode(frames)))
    }
}
