//! Lagoa's compute: DataFusion next to the data.
//!
//! It owns SQL over objects — the near-data `ObjectStore` that reads the volume directly
//! (`near_data`), who may reach what (`access`), one session per query (`engine`) and the
//! result formats (`output`). It never speaks S3 or HTTP (the binary serves it) and never
//! builds s3s; it reads the store only through the store's read API, and writes only whole
//! objects through the store.

mod access;
mod engine;
mod geo;
mod near_data;
mod output;
mod pending;
mod s3select;
mod spark_parquet;
mod url_tables;
mod writer;

pub use access::{AccessDenied, Caller, CustomerKey, ObjectAccess, Unrestricted, is_access_denied, is_storage_fault};
pub use datafusion;
pub use engine::{ComputeConfig, Engine, MAX_SQL_BYTES};
pub use output::OutputFormat;
pub use s3select::{
    Compression, CsvInput, CsvOutput, FileHeader, InputFormat, RECORDS_CHUNK, ScanRange, SelectCounters, SelectError,
    SelectInput, SelectOutput, SelectQuery, SelectRun,
};
