//! The queried object as the table `s3object`: a DataFusion listing table over exactly that
//! object (CSV, JSON lines, Parquet), or the rows of a JSON document read into memory.
//!
//! CSV columns are all text, as in S3 Select: a value becomes a number only where the query
//! compares or casts it (see `dialect`). Empty CSV fields are empty strings, not NULL.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::config::CsvOptions;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};

use super::{Compression, CsvInput, FileHeader, InputFormat, ScanRange, SelectError, SelectQuery};
use crate::near_data::QueryFiles;

/// The name the object is registered under; the dialect maps `S3Object` to it.
pub(crate) const TABLE: &str = "s3object";

/// The CSV object as read, before empty fields are made empty strings again (see [`TABLE`]).
pub(crate) const RAW_CSV_TABLE: &str = "s3object_fields";

/// Largest JSON DOCUMENT object read (after decompression): documents are parsed whole.
const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// What the dialect needs to know of the table.
pub(crate) struct Table {
    pub schema: SchemaRef,
}

impl Table {
    /// The columns, for error messages.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        names.join(", ")
    }
}

/// Registers `query`'s object as [`TABLE`] in `ctx`.
pub(crate) async fn register(ctx: &SessionContext, files: &QueryFiles, query: &SelectQuery) -> Result<Table, SelectError> {
    let df = SelectError::from_datafusion;
    let url = object_url(&query.bucket, &query.key)?;
    let store = ctx.runtime_env().object_store(&url).map_err(df)?;
    let path = url.prefix().clone();
    let meta = store.head(&path).await.map_err(|e| match e {
        datafusion::object_store::Error::NotFound { .. } => SelectError {
            status: 404,
            code: "NoSuchKey".into(),
            message: "The specified key does not exist.".into(),
        },
        other => df(other.into()),
    })?;
    let compression = match query.input.compression {
        Compression::None => FileCompressionType::UNCOMPRESSED,
        Compression::Gzip => FileCompressionType::GZIP,
        Compression::Bzip2 => FileCompressionType::BZIP2,
    };
    if query.scan_range.is_some() {
        let ranged = matches!(
            &query.input.format,
            InputFormat::Csv(CsvInput {
                allow_quoted_record_delimiter: false,
                ..
            }) | InputFormat::Json { document: false }
        );
        if !ranged || query.input.compression != Compression::None {
            return Err(SelectError::bad_request(
                "UnsupportedScanRangeInput",
                "ScanRange is supported for uncompressed CSV (without quoted record delimiters) and JSON LINES only",
            ));
        }
    }
    let state = ctx.state();
    let (format, schema): (Arc<dyn FileFormat>, SchemaRef) = match &query.input.format {
        InputFormat::Csv(csv) => {
            let inferred = first_record_fields(&*store, &meta, csv, compression).await?;
            let schema = text_schema(&inferred, csv.header);
            let mut has_header = csv.header != FileHeader::None;
            if let Some(range) = query.scan_range {
                let window = record_window(&*store, &meta, range, csv.record_delimiter.unwrap_or(b'\n')).await?;
                has_header &= window.start == 0;
                files.set_window(&query.bucket, &query.key, window);
            }
            (Arc::new(csv_format(csv, compression, has_header)), schema)
        }
        InputFormat::Json { document: false } => {
            let format = JsonFormat::default().with_file_compression_type(compression);
            let schema = json_lines_schema(&*store, &meta, compression).await?;
            if let Some(range) = query.scan_range {
                let window = record_window(&*store, &meta, range, b'\n').await?;
                files.set_window(&query.bucket, &query.key, window);
            }
            (Arc::new(format), schema)
        }
        InputFormat::Json { document: true } => {
            let table = document_table(&*store, &meta, compression).await?;
            let schema = table.schema();
            ctx.register_table(TABLE, Arc::new(table)).map_err(df)?;
            return Ok(Table { schema });
        }
        InputFormat::Parquet => {
            if query.input.compression != Compression::None {
                return Err(SelectError::bad_request(
                    "InvalidCompressionFormat",
                    "Parquet objects are compressed inside; CompressionType must be NONE",
                ));
            }
            let format = ParquetFormat::default();
            let schema = format
                .infer_schema(&state, &store, std::slice::from_ref(&meta))
                .await
                .map_err(df)?;
            (Arc::new(format), schema)
        }
    };
    let options = ListingOptions::new(format).with_file_extension("");
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema.clone());
    let table = ListingTable::try_new(config).map_err(df)?;
    if matches!(query.input.format, InputFormat::Csv(_)) {
        // DataFusion's CSV reader reads an empty field as NULL; in S3 Select it is ''.
        ctx.register_table(RAW_CSV_TABLE, Arc::new(table)).map_err(df)?;
        let columns: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| {
                let column = datafusion::prelude::ident(f.name());
                datafusion::functions::expr_fn::coalesce(vec![column, datafusion::prelude::lit("")]).alias(f.name())
            })
            .collect();
        let plan = ctx
            .table(RAW_CSV_TABLE)
            .await
            .and_then(|t| t.select(columns))
            .map_err(df)?
            .into_unoptimized_plan();
        let view = datafusion::datasource::ViewTable::new(plan, None);
        ctx.register_table(TABLE, Arc::new(view)).map_err(df)?;
    } else {
        ctx.register_table(TABLE, Arc::new(table)).map_err(df)?;
    }
    Ok(Table { schema })
}

/// `s3://bucket/key` for exactly this key: segments percent-encoded, no glob expansion.
fn object_url(bucket: &str, key: &str) -> Result<ListingTableUrl, SelectError> {
    let invalid = |m: String| SelectError::bad_request("InvalidRequest", m);
    // Only keys that are object_store paths as written (no empty, `.` or `..` segments, no
    // trailing `/`): any other would name a different object or a prefix.
    let exact = datafusion::object_store::path::Path::parse(key).is_ok_and(|p| p.as_ref() == key);
    if !exact || key.ends_with('/') {
        return Err(invalid(format!(
            "S3 Select cannot read the key {key:?}: keys with empty, '.' or '..' segments or a trailing '/' are not supported"
        )));
    }
    let mut url = url::Url::parse(&format!("s3://{bucket}/")).map_err(|e| invalid(format!("bucket {bucket}: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| invalid(format!("bucket {bucket} is not a URL host")))?
        .pop_if_empty()
        .extend(key.split('/'));
    ListingTableUrl::try_new(url, None).map_err(SelectError::from_datafusion)
}

fn csv_format(csv: &CsvInput, compression: FileCompressionType, has_header: bool) -> CsvFormat {
    let options = CsvOptions {
        has_header: Some(has_header),
        delimiter: csv.field_delimiter,
        quote: csv.quote,
        escape: csv.escape,
        terminator: csv.record_delimiter,
        comment: csv.comments,
        newlines_in_values: Some(csv.allow_quoted_record_delimiter),
        // Rows shorter than the header are read (their missing columns become '' like empty
        // fields: see `TABLE`'s view).
        truncated_rows: Some(true),
        ..CsvOptions::default()
    };
    CsvFormat::default()
        .with_options(options)
        .with_schema_infer_max_rec(1)
        .with_file_compression_type(compression)
}

/// Most bytes read (after decompression) to find the first record of a CSV object, or to infer
/// the schema of JSON lines.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// The first (up to) [`MAX_HEADER_BYTES`] of an object, decompressed. DataFusion's own
/// inference would read a whole JSON object into memory first.
async fn head_bytes(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    compression: FileCompressionType,
) -> Result<Vec<u8>, SelectError> {
    let df = SelectError::from_datafusion;
    let raw = store
        .get_range(&meta.location, 0..meta.size.min(MAX_HEADER_BYTES as u64))
        .await
        .map_err(|e| df(e.into()))?;
    let mut head = Vec::new();
    let mut stream = compression
        .convert_stream(futures::stream::once(async move { Ok(raw) }).boxed())
        .map_err(df)?;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => head.extend_from_slice(&chunk),
            // The head was cut mid-stream: what decoded before the cut is enough, unless
            // nothing decoded at all (not that compression).
            Err(e) if head.is_empty() => return Err(df(e)),
            Err(_) => break,
        }
        if head.len() >= MAX_HEADER_BYTES {
            break;
        }
    }
    Ok(head)
}

/// The schema of JSON lines, from the whole lines of the object's head. Fields that first
/// appear later in the object are not columns (README).
async fn json_lines_schema(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    compression: FileCompressionType,
) -> Result<SchemaRef, SelectError> {
    let mut head = head_bytes(store, meta, compression).await?;
    if head.len() >= MAX_HEADER_BYTES
        && let Some(end) = head.iter().rposition(|b| *b == b'\n')
    {
        head.truncate(end + 1);
    }
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&head);
    let (schema, _) = datafusion::arrow::json::reader::infer_json_schema(std::io::Cursor::new(head), None)
        .map_err(|e| SelectError::bad_request("JSONParsingError", e.to_string()))?;
    Ok(Arc::new(schema))
}

/// The fields of the CSV object's first record (the header, or a row counting the columns),
/// read with the request's delimiters — DataFusion's own inference ignores the record
/// delimiter.
async fn first_record_fields(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    csv: &CsvInput,
    compression: FileCompressionType,
) -> Result<Schema, SelectError> {
    let head = head_bytes(store, meta, compression).await?;
    let mut format = datafusion::arrow::csv::reader::Format::default()
        .with_header(false)
        .with_delimiter(csv.field_delimiter)
        .with_quote(csv.quote)
        .with_truncated_rows(true);
    if let Some(terminator) = csv.record_delimiter {
        format = format.with_terminator(terminator);
    }
    if let Some(comment) = csv.comments {
        format = format.with_comment(comment);
    }
    let (schema, _) = format
        .infer_schema(std::io::Cursor::new(&head), Some(1))
        .map_err(|e| SelectError::bad_request("CSVParsingError", e.to_string()))?;
    if csv.header == FileHeader::Use {
        // The header's values are the names (inference without a header calls them column_N).
        let mut reader = datafusion::arrow::csv::ReaderBuilder::new(Arc::new(schema.clone()))
            .with_format(format)
            .with_bounds(0, 1)
            .build_buffered(std::io::Cursor::new(&head))
            .map_err(|e| SelectError::bad_request("CSVParsingError", e.to_string()))?;
        let names = match reader.next() {
            Some(Ok(batch)) => batch
                .columns()
                .iter()
                .map(|column| datafusion::arrow::util::display::array_value_to_string(column, 0).unwrap_or_default())
                .collect::<Vec<_>>(),
            Some(Err(e)) => return Err(SelectError::bad_request("CSVParsingError", e.to_string())),
            None => Vec::new(),
        };
        let fields: Vec<Field> = names.into_iter().map(|n| Field::new(n, DataType::Utf8, true)).collect();
        return Ok(Schema::new(fields));
    }
    Ok(schema)
}

/// The CSV table's columns, all text: the header's names (without a byte-order mark) or
/// `_1.._N`.
fn text_schema(inferred: &Schema, header: FileHeader) -> SchemaRef {
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let name = match header {
                FileHeader::Use => field.name().trim_start_matches('\u{feff}').to_owned(),
                FileHeader::Ignore | FileHeader::None => format!("_{}", i + 1),
            };
            Field::new(name, DataType::Utf8, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The bytes holding the records whose first byte lies in `range` (S3's rule for ScanRange):
/// from the first record starting at or after its start to the end of the last one starting
/// at or before its end.
async fn record_window(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    range: ScanRange,
    delimiter: u8,
) -> Result<std::ops::Range<u64>, SelectError> {
    let size = meta.size;
    let (first, last) = match (range.start, range.end) {
        (Some(s), Some(e)) if s > e => {
            return Err(SelectError::bad_request(
                "InvalidRequestParameter",
                "ScanRange Start is after its End",
            ));
        }
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, u64::MAX),
        (None, Some(e)) => (size.saturating_sub(e), u64::MAX),
        (None, None) => (0, u64::MAX),
    };
    if first >= size {
        return Ok(size..size);
    }
    let start = if first == 0 {
        0
    } else {
        next_delimiter(store, meta, first - 1, delimiter)
            .await?
            .map_or(size, |p| p + 1)
    };
    if start > last || start >= size {
        return Ok(size..size);
    }
    let end = if last >= size {
        size
    } else {
        next_delimiter(store, meta, last, delimiter).await?.map_or(size, |p| p + 1)
    };
    Ok(start..end)
}

/// Position of the first `delimiter` at or after `from`.
async fn next_delimiter(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    from: u64,
    delimiter: u8,
) -> Result<Option<u64>, SelectError> {
    const STEP: u64 = 64 * 1024;
    let mut at = from;
    while at < meta.size {
        let end = (at + STEP).min(meta.size);
        let bytes = store
            .get_range(&meta.location, at..end)
            .await
            .map_err(|e| SelectError::from_datafusion(e.into()))?;
        if let Some(i) = bytes.iter().position(|b| *b == delimiter) {
            return Ok(Some(at + i as u64));
        }
        at = end;
    }
    Ok(None)
}

/// A JSON DOCUMENT object as rows: one row per top-level document, or per element of a
/// top-level array.
async fn document_table(
    store: &dyn ObjectStore,
    meta: &ObjectMeta,
    compression: FileCompressionType,
) -> Result<MemTable, SelectError> {
    let df = SelectError::from_datafusion;
    let raw = store
        .get(&meta.location)
        .await
        .map_err(|e| df(e.into()))?
        .into_stream()
        .map_err(|e| e.into());
    let mut stream = compression.convert_stream(raw.boxed()).map_err(df)?;
    let mut text = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = chunk.map_err(df)?;
        if text.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(SelectError::bad_request(
                "OverMaxRecordSize",
                format!("JSON DOCUMENT objects are read whole; this one is over {MAX_DOCUMENT_BYTES} bytes (use LINES)"),
            ));
        }
        text.extend_from_slice(&chunk);
    }
    let lines = document_lines(&text)?;
    let json_error = |e: datafusion::arrow::error::ArrowError| SelectError::bad_request("JSONParsingError", e.to_string());
    let (schema, _) =
        datafusion::arrow::json::reader::infer_json_schema(std::io::Cursor::new(&lines), None).map_err(json_error)?;
    let schema = Arc::new(schema);
    let reader = datafusion::arrow::json::ReaderBuilder::new(schema.clone())
        .build(std::io::Cursor::new(lines))
        .map_err(json_error)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(json_error)?;
    MemTable::try_new(schema, vec![batches]).map_err(df)
}

/// The documents of a JSON DOCUMENT object as JSON lines.
fn document_lines(text: &[u8]) -> Result<Vec<u8>, SelectError> {
    let text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
    let mut lines = Vec::with_capacity(text.len());
    for value in serde_json::Deserializer::from_slice(text).into_iter::<serde_json::Value>() {
        let value = value.map_err(|e| SelectError::bad_request("JSONParsingError", e.to_string()))?;
        let rows = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for row in rows {
            if !row.is_object() {
                return Err(SelectError::bad_request(
                    "JSONParsingError",
                    format!("a JSON DOCUMENT record must be an object, not {row}"),
                ));
            }
            serde_json::to_writer(&mut lines, &row).map_err(|e| SelectError::bad_request("JSONParsingError", e.to_string()))?;
            lines.push(b'\n');
        }
    }
    Ok(lines)
}
