//! S3 Select (SelectObjectContent) on DataFusion: one object as a table named `S3Object`, the
//! S3 Select dialect rewritten onto DataFusion's SQL (`dialect`), the object read through the
//! near-data store (`source`), and rows serialised as S3 Select's CSV or JSON (`records`).
//!
//! The types here are the request as compute understands it, independent of any S3 library:
//! the binary converts the S3 request into them, and they travel as JSON to a sidecar.

mod dialect;
mod errors;
mod records;
mod source;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::access::Caller;
use crate::engine::Engine;
use crate::near_data::QueryFiles;

pub use errors::SelectError;

/// One SelectObjectContent request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectQuery {
    /// The bucket of the object queried.
    pub bucket: String,
    /// The object queried.
    pub key: String,
    /// The S3 Select SQL expression.
    pub expression: String,
    /// How to read the object.
    pub input: SelectInput,
    /// How to write the rows.
    pub output: SelectOutput,
    /// ScanRange: only records whose first byte lies in this range (inclusive bounds).
    pub scan_range: Option<ScanRange>,
}

/// InputSerialization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectInput {
    /// The object's format.
    pub format: InputFormat,
    /// CompressionType of the whole object.
    pub compression: Compression,
}

/// The object's format.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum InputFormat {
    /// CSV text.
    Csv(CsvInput),
    /// JSON: LINES (one document per line) or DOCUMENT (one document or array, or several
    /// documents one after another).
    Json {
        /// `Type` DOCUMENT rather than LINES.
        document: bool,
    },
    /// Parquet.
    Parquet,
}

/// CSV input options (S3's `CSVInput`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsvInput {
    /// FileHeaderInfo.
    pub header: FileHeader,
    /// FieldDelimiter (one byte).
    pub field_delimiter: u8,
    /// QuoteCharacter.
    pub quote: u8,
    /// QuoteEscapeCharacter; `None` when it is the quote character (doubled quotes).
    pub escape: Option<u8>,
    /// RecordDelimiter when it is a single byte other than `\n`; `None` for `\n` and `\r\n`.
    pub record_delimiter: Option<u8>,
    /// Comments: lines starting with this byte are skipped.
    pub comments: Option<u8>,
    /// AllowQuotedRecordDelimiter.
    pub allow_quoted_record_delimiter: bool,
}

/// FileHeaderInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileHeader {
    /// The first line names the columns.
    Use,
    /// The first line is skipped; columns are `_1.._N`.
    Ignore,
    /// There is no header; columns are `_1.._N`.
    None,
}

/// CompressionType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
}

/// OutputSerialization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SelectOutput {
    /// CSV rows.
    Csv(CsvOutput),
    /// One JSON object per row, each followed by `record_delimiter`.
    Json {
        /// RecordDelimiter.
        record_delimiter: String,
    },
}

/// CSV output options (S3's `CSVOutput`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsvOutput {
    /// FieldDelimiter.
    pub field_delimiter: String,
    /// RecordDelimiter.
    pub record_delimiter: String,
    /// QuoteCharacter.
    pub quote: String,
    /// QuoteEscapeCharacter.
    pub escape: String,
    /// QuoteFields ALWAYS (rather than ASNEEDED).
    pub always_quote: bool,
}

/// ScanRange bounds, inclusive, in bytes of the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRange {
    /// First byte; absent with `end`: the last `end` bytes.
    pub start: Option<u64>,
    /// Last byte.
    pub end: Option<u64>,
}

/// S3 Select's Stats and Progress numbers, updated while a query runs.
pub struct SelectCounters {
    files: Arc<QueryFiles>,
    /// Bytes read while planning (schema inference, ScanRange boundaries): not scanned records.
    planning: AtomicU64,
    returned: AtomicU64,
}

impl SelectCounters {
    /// (BytesScanned, BytesProcessed, BytesReturned) so far. Processed counts the object's
    /// bytes as read (compressed objects are not measured after decompression).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        let scanned = self.files.bytes_read().saturating_sub(self.planning.load(Ordering::Relaxed));
        (scanned, scanned, self.returned.load(Ordering::Relaxed))
    }
}

/// A running Select: serialised records in bounded chunks, and its counters.
pub struct SelectRun {
    /// Records payloads, in order; an error ends the stream.
    pub records: BoxStream<'static, Result<Bytes, SelectError>>,
    /// Stats of the run.
    pub counters: Arc<SelectCounters>,
}

/// How long a Select waits for its first records before its answer starts.
const FIRST_RECORDS_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Most bytes one Records payload carries.
pub const RECORDS_CHUNK: usize = 256 * 1024;

impl Engine {
    /// Plans `query` as `caller` and computes its first records before returning, so that
    /// planning and early read errors answer as errors, not inside an event stream.
    pub async fn select(&self, caller: &Caller, query: SelectQuery) -> Result<SelectRun, SelectError> {
        // One partition: S3 Select returns records in the object's order, and LIMIT takes the
        // first ones. (A scan split into parallel byte ranges was tried: DataFusion does not
        // keep its partitions in range order reliably.)
        let (ctx, files) = self
            .session_with_files(caller, 1)
            .await
            .map_err(SelectError::from_datafusion)?;
        let counters = Arc::new(SelectCounters {
            files: files.clone(),
            planning: AtomicU64::new(0),
            returned: AtomicU64::new(0),
        });
        let table = source::register(&ctx, &files, &query).await?;
        let statement = dialect::rewrite(&query.expression, &table)?;
        let plan = ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement)))
            .await
            .map_err(|e| SelectError::from_planning(e, &table))?;
        only_the_object(&plan)?;
        let frame = ctx.execute_logical_plan(plan).await.map_err(SelectError::from_datafusion)?;
        let schema = frame.schema().inner().clone();
        // A JSON document is read whole while registering it: that is its scan.
        if !matches!(query.input.format, InputFormat::Json { document: true }) {
            counters.planning.store(files.bytes_read(), Ordering::Relaxed);
        }
        let batches = frame.execute_stream().await.map_err(SelectError::from_datafusion)?;
        let encoder = records::Encoder::new(&query.output, schema);
        let returned = counters.clone();
        let mut records = records::encode(batches, encoder)
            .map_ok(move |chunk| {
                returned.returned.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                chunk
            })
            .boxed();
        // Errors of the scan's start answer as errors; a query whose first records take long
        // (a selective scan) starts its stream anyway, so the client is not left waiting
        // without an answer. Dropping `next()` on timeout leaves the stream where it was.
        let records = match tokio::time::timeout(FIRST_RECORDS_WAIT, records.next()).await {
            Ok(Some(Err(e))) => return Err(e),
            Ok(Some(Ok(chunk))) => futures::stream::once(async { Ok(chunk) }).chain(records).boxed(),
            Ok(None) => futures::stream::empty().boxed(),
            Err(_) => records,
        };
        Ok(SelectRun { records, counters })
    }
}

/// A Select reads its object and nothing else (no subquery over another table or URL).
fn only_the_object(plan: &datafusion::logical_expr::LogicalPlan) -> Result<(), SelectError> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::logical_expr::LogicalPlan;
    let mut other = None;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && ![source::TABLE, source::RAW_CSV_TABLE].contains(&scan.table_name.table())
        {
            other = Some(scan.table_name.to_string());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    match other {
        Some(name) => Err(SelectError::bad_request(
            "UnsupportedSqlOperation",
            format!("S3 Select reads only S3Object, not {name}"),
        )),
        None => Ok(()),
    }
}
