//! S3 Select's errors: the codes AWS documents for SelectObjectContent, chosen from what went
//! wrong (DataFusion's error, looked at from its root).

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use serde::{Deserialize, Serialize};

use super::source::Table;

/// A Select that cannot run or stopped: the HTTP status, S3 error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SelectError {
    /// 400 for the request or the data, 403 for access, 500 for a storage fault.
    pub status: u16,
    /// The S3 error code (`ParseUnexpectedToken`, `CSVParsingError`, …).
    pub code: String,
    /// What happened, for the client.
    pub message: String,
}

impl SelectError {
    /// A 400 with `code`.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An error while planning the rewritten query: unknown names are S3 Select's
    /// EvaluatorBindingDoesNotExist, type errors its EvaluatorInvalidArguments.
    pub(crate) fn from_planning(err: DataFusionError, table: &Table) -> Self {
        match err.find_root() {
            DataFusionError::SchemaError(e, _) => Self::bad_request(
                "EvaluatorBindingDoesNotExist",
                format!("{e} (the object's columns are: {})", table.column_list()),
            ),
            DataFusionError::Plan(m) if m.contains("No field named") || m.contains("not found") => {
                Self::bad_request("EvaluatorBindingDoesNotExist", m.clone())
            }
            DataFusionError::Plan(m) => Self::bad_request("EvaluatorInvalidArguments", m.clone()),
            _ => Self::from_datafusion(err),
        }
    }

    /// Any other DataFusion error, classified by its root cause.
    pub(crate) fn from_datafusion(err: DataFusionError) -> Self {
        if crate::access::is_access_denied(&err) {
            return Self {
                status: 403,
                code: "AccessDenied".into(),
                message: "Access Denied".into(),
            };
        }
        if crate::access::is_storage_fault(&err) {
            return Self {
                status: 500,
                code: "InternalError".into(),
                message: "the object could not be read from the volume".into(),
            };
        }
        let message = err.find_root().to_string();
        match err.find_root() {
            DataFusionError::SQL(e, _) => Self::bad_request("ParseUnexpectedToken", e.to_string()),
            DataFusionError::ResourcesExhausted(m) => Self {
                status: 503,
                code: "SlowDown".into(),
                message: format!("the query needs more memory than compute may use: {m}"),
            },
            DataFusionError::ParquetError(_) => Self::bad_request("ParquetParsingError", message),
            DataFusionError::ArrowError(e, _) => match &**e {
                ArrowError::CsvError(_) => Self::bad_request("CSVParsingError", message),
                ArrowError::JsonError(_) => Self::bad_request("JSONParsingError", message),
                ArrowError::ParseError(_) | ArrowError::CastError(_) => Self::bad_request("EvaluatorInvalidArguments", message),
                ArrowError::ExternalError(inner) if is_decompression(&inner.to_string()) => {
                    Self::bad_request("InvalidCompressionFormat", message)
                }
                _ => Self::bad_request("InvalidDataSource", message),
            },
            _ if is_decompression(&message) => Self::bad_request("InvalidCompressionFormat", message),
            DataFusionError::Plan(_) | DataFusionError::Execution(_) | DataFusionError::NotImplemented(_) => {
                Self::bad_request("InvalidQuery", message)
            }
            _ => Self::bad_request("InvalidDataSource", message),
        }
    }
}

/// Whether a message comes from a decompressor that met bytes in another format.
fn is_decompression(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["gzip", "deflate", "bzip", "invalid header", "corrupt deflate", "invalid data"]
        .iter()
        .any(|w| m.contains(w))
}
