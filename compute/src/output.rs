//! Query results on the wire, streamed batch by batch: CSV with a header, JSON lines, or an
//! Arrow IPC stream — chosen by the request's `Accept` header.

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::{Stream, StreamExt};

/// A result format of `POST /v1/sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `text/csv` (the default): a header line, then one line per row.
    Csv,
    /// `application/x-ndjson`: one JSON object per row.
    JsonLines,
    /// `application/vnd.apache.arrow.stream`: Arrow IPC, typed.
    ArrowStream,
}

impl OutputFormat {
    /// The format an `Accept` header asks for; CSV when it names none we serve (or `*/*`).
    pub fn from_accept(accept: Option<&str>) -> Self {
        let accept = accept.unwrap_or_default().to_ascii_lowercase();
        [Self::ArrowStream, Self::JsonLines, Self::Csv]
            .into_iter()
            .find(|f| f.media_types().iter().any(|m| accept.contains(m)))
            .unwrap_or(Self::Csv)
    }

    fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::Csv => &["text/csv"],
            Self::JsonLines => &["application/x-ndjson", "application/jsonl", "application/json"],
            Self::ArrowStream => &["application/vnd.apache.arrow.stream"],
        }
    }

    /// The `Content-Type` of the response.
    pub fn content_type(self) -> &'static str {
        self.media_types()[0]
    }

    /// Encodes `batches` (whose schema is `schema`) as this format, one chunk per batch. An
    /// empty result still carries its header (CSV) or schema (Arrow).
    pub fn encode(
        self,
        schema: SchemaRef,
        batches: SendableRecordBatchStream,
    ) -> impl Stream<Item = Result<Bytes, DataFusionError>> + Send + 'static {
        let encoder = Encoder::new(self, schema);
        futures::stream::unfold(Some((batches, encoder)), |state| async move {
            let (mut batches, mut encoder) = state?;
            loop {
                match batches.next().await {
                    Some(Ok(batch)) if batch.num_rows() == 0 => continue,
                    Some(Ok(batch)) => {
                        return Some(match encoder.batch(&batch) {
                            Ok(chunk) => (Ok(chunk), Some((batches, encoder))),
                            Err(e) => (Err(e.into()), None),
                        });
                    }
                    Some(Err(e)) => return Some((Err(e), None)),
                    None => {
                        return match encoder.end() {
                            Ok(tail) if tail.is_empty() => None,
                            Ok(tail) => Some((Ok(tail), None)),
                            Err(e) => Some((Err(e.into()), None)),
                        };
                    }
                }
            }
        })
    }
}

/// Per-stream encoder state.
struct Encoder {
    format: OutputFormat,
    schema: SchemaRef,
    /// CSV: whether the header was written. IPC: whether the schema message was.
    started: bool,
}

impl Encoder {
    fn new(format: OutputFormat, schema: SchemaRef) -> Self {
        Self {
            format,
            schema,
            started: false,
        }
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Bytes, ArrowError> {
        let first = !self.started;
        self.started = true;
        let mut out = Vec::new();
        match self.format {
            OutputFormat::Csv => {
                let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(first)
                    .build(&mut out);
                writer.write(batch)?;
            }
            OutputFormat::JsonLines => {
                let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
                writer.write(batch)?;
                writer.finish()?;
            }
            OutputFormat::ArrowStream => {
                // A writer per batch: its first message is the schema, which only the first
                // chunk carries; later chunks keep just the batch messages.
                let mut writer = StreamWriter::try_new(Vec::new(), &self.schema)?;
                let schema_len = writer.get_mut().len();
                writer.write(batch)?;
                let buf = std::mem::take(writer.get_mut());
                out = if first { buf } else { buf[schema_len..].to_vec() };
            }
        }
        Ok(Bytes::from(out))
    }

    /// What closes the stream: the header or schema of a result without rows, and the IPC
    /// end-of-stream marker.
    fn end(&mut self) -> Result<Bytes, ArrowError> {
        let mut out = match (self.started, self.format) {
            (true, _) | (false, OutputFormat::JsonLines) => Vec::new(),
            (false, OutputFormat::Csv) => self.batch(&RecordBatch::new_empty(self.schema.clone()))?.to_vec(),
            // The schema message alone.
            (false, OutputFormat::ArrowStream) => std::mem::take(StreamWriter::try_new(Vec::new(), &self.schema)?.get_mut()),
        };
        if self.format == OutputFormat::ArrowStream {
            // Continuation marker and a zero length: the IPC end of stream.
            out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        }
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
    use futures::TryStreamExt;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("city", DataType::Utf8, true),
        ]))
    }

    async fn encode(format: OutputFormat, batches: Vec<RecordBatch>) -> Vec<u8> {
        let stream = RecordBatchStreamAdapter::new(schema(), futures::stream::iter(batches.into_iter().map(Ok)));
        let chunks: Vec<Bytes> = format.encode(schema(), Box::pin(stream)).try_collect().await.unwrap();
        chunks.concat()
    }

    fn batch(ids: &[i64], cities: &[Option<&str>]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(cities.to_vec())),
            ],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn csv_has_one_header_across_batches_and_for_an_empty_result() {
        let out = encode(
            OutputFormat::Csv,
            vec![batch(&[1], &[Some("são paulo")]), batch(&[2], &[Some("a,b")])],
        )
        .await;
        assert_eq!(String::from_utf8(out).unwrap(), "id,city\n1,são paulo\n2,\"a,b\"\n");
        let out = encode(OutputFormat::Csv, vec![]).await;
        assert_eq!(String::from_utf8(out).unwrap(), "id,city\n");
    }

    #[tokio::test]
    async fn json_lines_are_one_object_per_row() {
        let out = encode(OutputFormat::JsonLines, vec![batch(&[1, 2], &[Some("x"), None])]).await;
        assert_eq!(String::from_utf8(out).unwrap(), "{\"id\":1,\"city\":\"x\"}\n{\"id\":2}\n");
    }

    #[tokio::test]
    async fn arrow_stream_reads_back_whole_from_many_batches_or_none() {
        use datafusion::arrow::ipc::reader::StreamReader;
        for batches in [vec![batch(&[1], &[Some("a")]), batch(&[2, 3], &[None, Some("c")])], vec![]] {
            let out = encode(OutputFormat::ArrowStream, batches.clone()).await;
            let read: Vec<RecordBatch> = StreamReader::try_new(std::io::Cursor::new(out), None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(read, batches);
        }
    }

    #[test]
    fn accept_headers_choose_the_format() {
        assert_eq!(OutputFormat::from_accept(None), OutputFormat::Csv);
        assert_eq!(OutputFormat::from_accept(Some("*/*")), OutputFormat::Csv);
        assert_eq!(
            OutputFormat::from_accept(Some("application/x-ndjson")),
            OutputFormat::JsonLines
        );
        assert_eq!(
            OutputFormat::from_accept(Some("application/vnd.apache.arrow.stream, text/csv;q=0.5")),
            OutputFormat::ArrowStream
        );
    }
}
