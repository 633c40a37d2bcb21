//! The compute engine: one DataFusion session per query, over the store, as the caller.
//!
//! Sessions are cheap and per query on purpose: the object-store registry carries the caller's
//! identity and the query's snapshots, and no listing or metadata cache outlives a query (a new
//! PUT is visible to the next query). What is shared is the memory pool, so `--memory-limit`
//! bounds all queries of the process together, and spilling goes to the data volume.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::disk_manager::{DiskManager, DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use futures::StreamExt;
use lagoa_store::{Store, StoreReader};

use crate::access::{Caller, QueryRegistry};
use crate::near_data::QueryFiles;
use crate::writer::Writer;

/// Tunables of one compute engine.
#[derive(Debug, Clone)]
pub struct ComputeConfig {
    /// Memory all running queries may hold together (bytes); beyond it operators spill to
    /// `spill_dir` or the query fails with a clear error. `None`: unbounded.
    pub memory_limit: Option<usize>,
    /// Where operators spill (a directory on the data volume).
    pub spill_dir: PathBuf,
    /// Parallelism of one query (DataFusion's target partitions).
    pub target_partitions: usize,
    /// Most bytes all queries together may spill; a query needing more fails clearly, so
    /// spilling cannot fill the volume under the server's free-space reserve.
    pub spill_limit: u64,
}

/// Longest SQL text accepted, and most statements in one request.
pub const MAX_SQL_BYTES: usize = 1 << 20;
const MAX_STATEMENTS: usize = 64;

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    reader: StoreReader,
    writer: Writer,
    pool: Arc<dyn MemoryPool>,
    /// Spill files of all queries, under one size cap.
    disk: Arc<DiskManager>,
    config: ComputeConfig,
}

impl Engine {
    /// An engine inside `lagoa serve`: reads and writes through the server's own store.
    pub fn embedded(store: Store, config: ComputeConfig) -> Result<Self> {
        Self::new(store.reader(), Writer::Store(store), config)
    }

    /// An engine in its own process beside `lagoa serve`: reads the volume through `reader`
    /// (a secondary instance) and writes through the S3 server at `s3_endpoint`, as the caller.
    pub fn sidecar(reader: StoreReader, s3_endpoint: String, region: String, config: ComputeConfig) -> Result<Self> {
        Self::new(
            reader,
            Writer::S3 {
                endpoint: s3_endpoint,
                region,
            },
            config,
        )
    }

    fn new(reader: StoreReader, writer: Writer, config: ComputeConfig) -> Result<Self> {
        let pool: Arc<dyn MemoryPool> = match config.memory_limit {
            Some(limit) => Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(limit),
                NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
            )),
            None => Arc::new(UnboundedMemoryPool::default()),
        };
        let disk = DiskManagerBuilder::default()
            .with_mode(DiskManagerMode::Directories(vec![config.spill_dir.clone()]))
            .with_max_temp_directory_size(config.spill_limit)
            .build()?;
        Ok(Self {
            reader,
            writer,
            pool,
            disk: Arc::new(disk),
            config,
        })
    }

    /// The store this engine reads, for readiness checks.
    pub fn reader(&self) -> &StoreReader {
        &self.reader
    }

    /// Runs `sql` (one or more statements separated by `;`) as `caller`; the last statement's
    /// rows stream back. Statements before it run to completion first (`CREATE EXTERNAL TABLE
    /// …; SELECT …`). Session-changing statements (`SET`, transactions) are refused. The
    /// objects the statements write appear together once the last row has streamed out; a
    /// request that fails or is dropped writes nothing (see `pending`).
    pub async fn run(&self, caller: &Caller, sql: &str) -> Result<SendableRecordBatchStream> {
        if sql.len() > MAX_SQL_BYTES {
            return Err(DataFusionError::Plan(format!("the SQL text is over {MAX_SQL_BYTES} bytes")));
        }
        let (ctx, files) = self.session_with_files(caller, self.config.target_partitions).await?;
        let planned = self.run_statements(ctx, files.clone(), sql).await;
        planned.map_err(|e| files.denial_or(e))
    }

    async fn run_statements(&self, ctx: SessionContext, files: Arc<QueryFiles>, sql: &str) -> Result<SendableRecordBatchStream> {
        let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
        if statements.is_empty() {
            return Err(DataFusionError::Plan("no SQL statement given".into()));
        }
        if statements.len() > MAX_STATEMENTS {
            return Err(DataFusionError::Plan(format!(
                "more than {MAX_STATEMENTS} statements in one request"
            )));
        }
        let options = datafusion::execution::context::SQLOptions::new().with_allow_statements(false);
        let state = ctx.state();
        while let Some(statement) = statements.pop_front() {
            let plan = state.statement_to_plan(statement).await?;
            options.verify_plan(&plan)?;
            refuse_locations_outside_the_lake(&plan)?;
            let plan = crate::spark_parquet::timestamps_in_micros(plan)?;
            let frame = ctx.execute_logical_plan(plan).await?;
            let stream = frame.execute_stream().await?;
            if statements.is_empty() {
                return Ok(commit_when_done(stream, files));
            }
            drain(stream).await?;
        }
        Err(DataFusionError::Internal("no statement produced a result".into()))
    }

    /// A session for one query by `caller` with `partitions` parallel streams, and the files
    /// it reads.
    pub(crate) async fn session_with_files(
        &self,
        caller: &Caller,
        partitions: usize,
    ) -> Result<(SessionContext, Arc<QueryFiles>)> {
        let external = |e: lagoa_store::StoreError| DataFusionError::External(Box::new(e));
        self.reader.catch_up().await.map_err(external)?;
        let buckets = self.reader.list_buckets().await.map_err(external)?;
        let files = QueryFiles::new(self.reader.clone(), self.writer.clone(), caller);
        let registry = Arc::new(QueryRegistry::new(files.clone(), buckets.into_iter().map(|(name, _)| name)));
        let mut runtime = RuntimeEnvBuilder::new();
        runtime.disk_manager = Some(self.disk.clone());
        let runtime = runtime
            .with_memory_pool(self.pool.clone())
            .with_object_store_registry(registry.clone())
            .build_arc()?;
        let mut config = SessionConfig::new()
            .with_target_partitions(partitions.max(1))
            .with_information_schema(true);
        let options = config.options_mut();
        // Row-group and page pruning plus late materialisation: the point of computing near
        // the data is reading less of it.
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;
        // Declared VARCHAR columns are plain Utf8: Parquet written from them then carries the
        // string type every Arrow reader knows (older pyarrow cannot read string_view), and
        // Spark sees the same physical strings either way.
        options.sql_parser.map_string_types_to_utf8view = false;
        // Each sorting partition reserves memory up front for sorting and merging what it
        // buffered before that is spilled; the merge needs about as much as was buffered, so
        // the reservation is half of the partition's share of the pool (DataFusion's 10 MiB
        // default fails at small limits, either way round).
        if let Some(limit) = self.config.memory_limit {
            options.execution.sort_spill_reservation_bytes = limit / (2 * partitions.max(1));
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .build();
        let ctx = crate::url_tables::enable(SessionContext::new_with_state(state), registry);
        crate::geo::register(&ctx);
        Ok((ctx, files))
    }
}

/// The last statement's rows, then the request's staged writes committed. An error in the rows
/// (or a stream dropped before its end) commits nothing.
fn commit_when_done(stream: SendableRecordBatchStream, files: Arc<QueryFiles>) -> SendableRecordBatchStream {
    use std::sync::atomic::{AtomicBool, Ordering};
    let schema = stream.schema();
    let failed = Arc::new(AtomicBool::new(false));
    let seen = failed.clone();
    let denials = files.clone();
    let rows = stream.map(move |item| {
        item.map_err(|e| {
            seen.store(true, Ordering::Relaxed);
            denials.denial_or(e)
        })
    });
    let commit = futures::stream::once(async move {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        files
            .commit()
            .await
            .err()
            .map(|e| Err(DataFusionError::External(Box::new(e))))
    })
    .filter_map(futures::future::ready);
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
        schema,
        rows.chain(commit),
    ))
}

/// Tables created and files written must be `s3://` locations: refused at planning, before
/// DataFusion looks at a local path at all.
fn refuse_locations_outside_the_lake(plan: &LogicalPlan) -> Result<()> {
    use datafusion::logical_expr::DdlStatement;
    let locations: Vec<&String> = match plan {
        LogicalPlan::Ddl(DdlStatement::CreateExternalTable(table)) => table.locations.iter().collect(),
        LogicalPlan::Copy(copy) => vec![&copy.output_url],
        _ => return Ok(()),
    };
    for location in locations {
        let lower = location.to_ascii_lowercase();
        if !(lower.starts_with("s3://") || lower.starts_with("s3a://")) {
            return Err(crate::access::outside_the_lake(location));
        }
    }
    Ok(())
}

/// Runs a statement's stream to its end, discarding rows (DDL and COPY return a count).
async fn drain(mut stream: SendableRecordBatchStream) -> Result<()> {
    while let Some(batch) = stream.next().await {
        batch?;
    }
    Ok(())
}
