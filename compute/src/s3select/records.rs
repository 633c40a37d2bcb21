//! Rows as S3 Select writes them: CSV with the request's delimiters and quoting, or one JSON
//! object per row followed by the record delimiter; cut into payloads of bounded size.

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::{Stream, StreamExt};

use super::{CsvOutput, RECORDS_CHUNK, SelectError, SelectOutput};

/// Cells encoded at once: a slice of a batch has at most this many rows × columns, so that a
/// wide projection does not build a huge buffer before it is cut.
const CELLS_PER_SLICE: usize = 64 * 1024;

/// Largest record S3 Select returns (AWS's documented limit: 1 MiB).
const MAX_RECORD_BYTES: usize = 1 << 20;

/// Serialises batches in the requested output format.
pub(crate) struct Encoder {
    output: SelectOutput,
    schema: SchemaRef,
}

impl Encoder {
    pub fn new(output: &SelectOutput, schema: SchemaRef) -> Self {
        Self {
            output: output.clone(),
            schema,
        }
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<u8>, SelectError> {
        match &self.output {
            SelectOutput::Csv(csv) => csv_rows(csv, batch),
            SelectOutput::Json { record_delimiter } => json_rows(record_delimiter, &self.schema, batch),
        }
    }
}

/// The payloads of `batches`: each at most about [`RECORDS_CHUNK`] bytes (a batch is cut into
/// slices of rows), none empty.
pub(crate) fn encode(
    batches: SendableRecordBatchStream,
    encoder: Encoder,
) -> impl Stream<Item = Result<Bytes, SelectError>> + Send + 'static {
    batches
        .map(move |batch| match batch {
            Ok(batch) => encoder.payloads(&batch),
            Err(e) => vec![Err(SelectError::from_datafusion(e))],
        })
        .flat_map(futures::stream::iter)
}

impl Encoder {
    /// The payloads of one batch, each at most about [`RECORDS_CHUNK`] bytes (a slice that
    /// encodes larger is split again, down to single records).
    fn payloads(&self, batch: &RecordBatch) -> Vec<Result<Bytes, SelectError>> {
        let rows_per_slice = (CELLS_PER_SLICE / batch.num_columns().max(1)).clamp(1, 1024);
        let mut payloads = Vec::new();
        let mut pending = Vec::new();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = rows_per_slice.min(batch.num_rows() - offset);
            if let Err(e) = self.encode_bounded(&batch.slice(offset, len), &mut pending, &mut payloads) {
                payloads.push(Err(e));
                return payloads;
            }
            offset += len;
        }
        if !pending.is_empty() {
            payloads.push(Ok(Bytes::from(pending)));
        }
        payloads
    }

    /// Appends `slice`'s records to `pending`, moving full payloads to `payloads`.
    fn encode_bounded(
        &self,
        slice: &RecordBatch,
        pending: &mut Vec<u8>,
        payloads: &mut Vec<Result<Bytes, SelectError>>,
    ) -> Result<(), SelectError> {
        let bytes = self.encode(slice)?;
        if bytes.len() > RECORDS_CHUNK && slice.num_rows() > 1 {
            let half = slice.num_rows() / 2;
            self.encode_bounded(&slice.slice(0, half), pending, payloads)?;
            return self.encode_bounded(&slice.slice(half, slice.num_rows() - half), pending, payloads);
        }
        if slice.num_rows() == 1 && bytes.len() > MAX_RECORD_BYTES {
            return Err(SelectError::bad_request(
                "OverMaxRecordSize",
                format!(
                    "a result record is {} bytes; the most S3 Select returns is 1 MiB",
                    bytes.len()
                ),
            ));
        }
        if !pending.is_empty() && pending.len() + bytes.len() > RECORDS_CHUNK {
            payloads.push(Ok(Bytes::from(std::mem::take(pending))));
        }
        pending.extend_from_slice(&bytes);
        Ok(())
    }
}

fn csv_rows(csv: &CsvOutput, batch: &RecordBatch) -> Result<Vec<u8>, SelectError> {
    let options = FormatOptions::default().with_null("");
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SelectError::bad_request("InvalidDataType", e.to_string()))?;
    let mut out = Vec::new();
    let mut field = String::new();
    for row in 0..batch.num_rows() {
        for (i, formatter) in formatters.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(csv.field_delimiter.as_bytes());
            }
            field.clear();
            use std::fmt::Write;
            match float_at(batch.column(i), row) {
                // As MinIO writes floats: shortest form, no trailing ".0".
                Some(f) if f.is_finite() => {
                    let _ = write!(field, "{f}");
                }
                _ => {
                    let _ = write!(field, "{}", formatter.value(row));
                }
            }
            write_field(csv, &field, &mut out);
        }
        out.extend_from_slice(csv.record_delimiter.as_bytes());
    }
    Ok(out)
}

/// The value at `row` of a float column that is not NULL.
fn float_at(column: &datafusion::arrow::array::ArrayRef, row: usize) -> Option<f64> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Float32Type, Float64Type};
    if column.is_null(row) {
        return None;
    }
    match column.data_type() {
        datafusion::arrow::datatypes::DataType::Float64 => Some(column.as_primitive::<Float64Type>().value(row)),
        datafusion::arrow::datatypes::DataType::Float32 => Some(f64::from(column.as_primitive::<Float32Type>().value(row))),
        _ => None,
    }
}

/// One CSV field: quoted when asked to always be, or when it holds a delimiter or quote.
fn write_field(csv: &CsvOutput, field: &str, out: &mut Vec<u8>) {
    let needs_quotes = csv.always_quote
        || (!csv.field_delimiter.is_empty() && field.contains(csv.field_delimiter.as_str()))
        || (!csv.record_delimiter.is_empty() && field.contains(csv.record_delimiter.as_str()))
        || (!csv.quote.is_empty() && field.contains(csv.quote.as_str()))
        || field.contains(['\n', '\r']);
    if !needs_quotes || csv.quote.is_empty() {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.extend_from_slice(csv.quote.as_bytes());
    let escaped = field.replace(csv.quote.as_str(), &format!("{}{}", csv.escape, csv.quote));
    out.extend_from_slice(escaped.as_bytes());
    out.extend_from_slice(csv.quote.as_bytes());
}

fn json_rows(record_delimiter: &str, schema: &SchemaRef, batch: &RecordBatch) -> Result<Vec<u8>, SelectError> {
    let batch = if batch.schema() == *schema {
        batch.clone()
    } else {
        batch.clone().with_schema(schema.clone()).unwrap_or_else(|_| batch.clone())
    };
    let mut lines = Vec::new();
    {
        let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut lines);
        writer
            .write(&batch)
            .and_then(|()| writer.finish())
            .map_err(|e| SelectError::bad_request("InvalidDataType", e.to_string()))?;
    }
    if record_delimiter == "\n" {
        return Ok(lines);
    }
    // JSON text never holds a raw newline, so every newline ends a record.
    let mut out = Vec::with_capacity(lines.len());
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        out.extend_from_slice(line);
        out.extend_from_slice(record_delimiter.as_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec![Some("a,b"), Some("say \"hi\""), None])),
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            ],
        )
        .unwrap()
    }

    fn csv(always_quote: bool, field_delimiter: &str) -> CsvOutput {
        CsvOutput {
            field_delimiter: field_delimiter.into(),
            record_delimiter: "\n".into(),
            quote: "\"".into(),
            escape: "\"".into(),
            always_quote,
        }
    }

    #[test]
    fn csv_quotes_as_needed_or_always() {
        let out = csv_rows(&csv(false, ","), &batch()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"a,b\",1\n\"say \"\"hi\"\"\",\n,3\n");
        let out = csv_rows(&csv(true, "|"), &batch()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a,b\"|\"1\"\n\"say \"\"hi\"\"\"|\"\"\n\"\"|\"3\"\n"
        );
    }

    #[test]
    fn json_records_end_with_the_delimiter() {
        let b = batch();
        let out = json_rows(";", &b.schema(), &b).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"name\":\"a,b\",\"n\":1};{\"name\":\"say \\\"hi\\\"\"};{\"n\":3};"
        );
    }
}
