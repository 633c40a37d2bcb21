//! `lagoa compute`: the compute service as its own process beside `lagoa serve` on the same
//! volume (the pod's second container). It reads the volume through a RocksDB secondary
//! instance, caught up per query, never writes or removes anything there itself, and writes
//! query results through the S3 server (`--s3-url`) as the caller.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Args;
use lagoa_compute::{ComputeConfig, Engine};
use lagoa_s3_api::{Authorizer, FrontendConfig, Identities, S3Frontend};
use lagoa_store::StoreReader;

use crate::http::{ConnectionLimits, Listener};
use crate::site::{self, Readiness};
use crate::sql_route::SqlRoute;

/// Compute tunables shared by `lagoa compute` and the compute embedded in `lagoa serve`.
#[derive(Args, Clone)]
pub struct ComputeTuning {
    /// Memory all running queries may use together (e.g. `2GiB`); beyond it sorts, joins and
    /// aggregations spill to the data volume, and a query that still does not fit fails with
    /// a clear error. `0`: no limit.
    #[arg(long, env = "LAGOA_MEMORY_LIMIT", default_value = "1GiB", value_parser = lagoa_store::parse_size)]
    memory_limit: u64,
    /// Threads one query may use (DataFusion's target partitions); default: the CPU count.
    #[arg(long, env = "LAGOA_QUERY_THREADS")]
    query_threads: Option<usize>,
    /// Most bytes all queries together may spill to the data volume (e.g. `20GiB`); a query
    /// that needs more fails with a clear error.
    #[arg(long, env = "LAGOA_SPILL_LIMIT", default_value = "10GiB", value_parser = lagoa_store::parse_size)]
    spill_limit: u64,
}

impl ComputeTuning {
    /// The engine configuration for a volume at `data`; `process` names this process's own
    /// spill directory (`serve` or `sidecar`), which it empties at start without touching the
    /// other's.
    pub fn config(&self, data: &Path, process: &str) -> ComputeConfig {
        ComputeConfig {
            memory_limit: (self.memory_limit > 0).then(|| usize::try_from(self.memory_limit).unwrap_or(usize::MAX)),
            spill_dir: compute_dir(data).join(format!("spill-{process}")),
            spill_limit: self.spill_limit,
            target_partitions: self
                .query_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        }
    }
}

/// `lagoa compute` configuration; every flag can also come from the environment.
#[derive(Args)]
pub struct ComputeArgs {
    /// The data directory `lagoa serve` uses (shared volume).
    #[arg(long, env = "LAGOA_DATA", default_value = "./lagoa-data")]
    data: PathBuf,
    /// Address to listen on; port 0 picks a free port (the log line `listening on` tells which).
    #[arg(long, env = "LAGOA_COMPUTE_ADDRESS", default_value = "0.0.0.0:9100")]
    address: String,
    /// TOML file with more users (the same file `lagoa serve` reads).
    #[arg(long, env = "LAGOA_USERS")]
    users: Option<PathBuf>,
    /// The S3 server on the same volume: query results written back (`COPY … TO`, `INSERT`)
    /// go through it as PUTs signed by the caller (the sidecar never writes the volume itself).
    #[arg(long, env = "LAGOA_S3_URL", default_value = "http://127.0.0.1:9000")]
    s3_url: String,
    /// Region the writes to the S3 server are signed for.
    #[arg(long, env = "LAGOA_REGION", default_value = "us-east-1")]
    region: String,
    /// Seconds in-flight queries get to finish after SIGTERM.
    #[arg(long, env = "LAGOA_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    #[command(flatten)]
    tuning: ComputeTuning,
    #[command(flatten)]
    kms: crate::kms::KmsArgs,
}

/// Lagoa's own directory for compute on the volume: spill files and the secondary's log.
fn compute_dir(data: &Path) -> PathBuf {
    data.join("compute")
}

/// The front door of a compute listener: only `/v1/sql` (and health), signed like S3.
pub fn compute_frontend(
    engine: Arc<OnceLock<Engine>>,
    authorizer: Arc<OnceLock<Arc<Authorizer>>>,
    identities: &Identities,
    limits: ConnectionLimits,
    post_max_bytes: u64,
) -> Arc<OnceLock<S3Frontend>> {
    let route = SqlRoute { engine, authorizer };
    let config = FrontendConfig {
        identities: identities.clone(),
        // Clients reach the compute address directly (it is not behind the ingress).
        trusted_proxies: Vec::new(),
        domain: None,
        body_timeout: limits.body_timeout,
        header_timeout: limits.header_timeout,
        post_max_bytes,
    };
    let cell = Arc::new(OnceLock::new());
    match S3Frontend::routes_only(Box::new(route), lagoa_compute::MAX_SQL_BYTES, config) {
        Ok(frontend) => {
            let _ = cell.set(frontend);
        }
        // Only a bad --domain fails, and compute has none.
        Err(err) => tracing::error!(%err, "cannot build the compute front door"),
    }
    cell
}

/// Runs `lagoa compute` until `shutdown` resolves.
pub async fn run(args: ComputeArgs, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let identities = crate::credentials::identities(args.users.as_deref())?;
    let limits = ConnectionLimits::default();
    let listener = Listener::bind(&args.address, "").await?;
    let engine = Arc::new(OnceLock::<Engine>::new());
    let authorizer = Arc::new(OnceLock::<Arc<Authorizer>>::new());
    let config = args.tuning.config(&args.data, "sidecar");
    let keyring = args.kms.keyring()?;
    reset_dir(&config.spill_dir)?;
    let opener = {
        let (engine, data) = (engine.clone(), args.data.clone());
        let (s3_url, region) = (args.s3_url.clone(), args.region.clone());
        let (identities, authorizer) = (identities.clone(), authorizer.clone());
        tokio::spawn(async move {
            let reader = open_secondary(&data).await.with_keyring(keyring);
            // Users the admin API adds are in the store: take them before serving, then follow.
            follow_identities(&reader, &identities).await;
            let _ = authorizer.set(Arc::new(Authorizer::reading(identities.clone(), reader.store().clone())));
            drop(tokio::spawn({
                let (reader, identities) = (reader.clone(), identities.clone());
                async move {
                    loop {
                        tokio::time::sleep(IDENTITIES_REFRESH).await;
                        follow_identities(&reader, &identities).await;
                    }
                }
            }));
            match Engine::sidecar(reader, s3_url, region, config) {
                Ok(started) => {
                    let _ = engine.set(started);
                    tracing::info!("the volume is open (read-only); ready");
                }
                Err(err) => tracing::error!(%err, "compute could not start; not ready"),
            }
        })
    };
    let frontend = compute_frontend(
        engine.clone(),
        authorizer,
        &identities,
        limits,
        FrontendConfig::DEFAULT_POST_MAX_BYTES,
    );
    let ready: Readiness = Arc::new(move || {
        let ok = engine.get().is_some();
        Box::pin(async move { ok })
    });
    let result = listener
        .serve(
            site::handler(frontend, ready),
            limits,
            Duration::from_secs(args.shutdown_grace_secs),
            shutdown,
        )
        .await;
    opener.abort();
    result
}

/// How soon the sidecar sees a user added, changed or disabled through the admin API.
const IDENTITIES_REFRESH: Duration = Duration::from_secs(1);

/// Catches up with the server's metadata and takes its stored users and policies; a document
/// that cannot be used is logged and the previous identities stay.
async fn follow_identities(reader: &StoreReader, identities: &Identities) {
    let stored = match reader.catch_up().await {
        Ok(()) => reader.site_config(lagoa_s3_api::IAM_DOCUMENT).await,
        Err(err) => Err(err),
    };
    let result = match stored {
        Ok(stored) => identities.restore(stored.as_deref()).map_err(anyhow::Error::from),
        Err(err) => Err(anyhow::Error::from(err)),
    };
    if let Err(err) = result {
        tracing::warn!(%err, "cannot take the users and policies stored by the admin API; keeping the previous ones");
    }
}

/// Opens the volume read-only, retrying while `lagoa serve` has not created it yet (in a pod
/// both containers start together).
async fn open_secondary(data: &Path) -> StoreReader {
    let scratch = compute_dir(data).join("meta-secondary");
    let mut logged = false;
    loop {
        let (d, s) = (data.to_path_buf(), scratch.clone());
        match tokio::task::spawn_blocking(move || StoreReader::open_secondary(&d, &s)).await {
            Ok(Ok(reader)) => return reader,
            Ok(Err(err)) if !logged => {
                tracing::warn!(%err, "cannot open the volume yet; retrying every second (not ready until then)");
                logged = true;
            }
            Ok(Err(_)) => {}
            Err(err) => tracing::error!(%err, "the task opening the volume failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Empties a scratch directory (spill files of a previous run are garbage).
pub(crate) fn reset_dir(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}
