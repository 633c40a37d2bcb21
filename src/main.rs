//! The `lagoa` command and Lagoa's composition root: it owns the processes — listeners,
//! health, routing of the S3 and SQL services — and plugs the crates together (`s3-api` over
//! `store`, `compute` over `store`).
//!
//! - `lagoa serve` runs the S3 server on a data directory, with compute embedded;
//! - `lagoa compute` runs compute alone beside a server, on the same volume;
//! - `lagoa sql` runs a query on a compute endpoint and prints the result;
//! - `lagoa olist` generates the Olist dataset and loads it into a bucket;
//! - `lagoa k8s render` prints the Kubernetes manifests.

mod compute_cmd;
mod credentials;
mod geocode_cmd;
mod http;
mod k8s_cmd;
mod kms;
mod maintenance;
mod olist_cmd;
mod query_access;
mod select;
mod select_wire;
mod serve;
mod site;
mod sql_cmd;
mod sql_route;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Lagoa: a local data lake — an S3-compatible object store with near-data compute.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the S3 server on a data directory (with compute embedded on --compute-address).
    #[command(after_help = SERVER_ENVIRONMENT)]
    Serve(serve::ServeArgs),
    /// Run the compute service (POST /v1/sql) beside a server, on the same data directory.
    #[command(after_help = SERVER_ENVIRONMENT)]
    Compute(compute_cmd::ComputeArgs),
    /// Run SQL on a compute endpoint and print the result.
    Sql(sql_cmd::SqlArgs),
    /// Geocode the Olist customers and sellers and measure order distances, in compute.
    Geocode(geocode_cmd::GeocodeArgs),
    /// Generate the Olist dataset, or load it into a bucket.
    Olist {
        #[command(subcommand)]
        command: olist_cmd::OlistCommand,
    },
    /// Kubernetes: render the StatefulSet with its compute sidecar, Services and Spark wiring.
    K8s {
        #[command(subcommand)]
        command: k8s_cmd::K8sCommand,
    },
}

/// The environment a server reads besides its flags' own variables (the Kubernetes manifests
/// set these; a test checks every name they use appears in `--help`).
const SERVER_ENVIRONMENT: &str = "\
Environment:
  LAGOA_ROOT_USER, LAGOA_ROOT_PASSWORD
          The root user's access and secret key (MINIO_ROOT_USER and MINIO_ROOT_PASSWORD are read
          when these are unset; without either, minioadmin/minioadmin with a warning)
  LAGOA_LOG
          Log filter (default `info`), e.g. `debug` or `info,lagoa=debug`
  LAGOA_LOG_FORMAT
          `text` (default) or `json`, one object per line for log shippers";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging()?;
    match cli.command {
        Command::Serve(args) => {
            raise_open_file_limit();
            server_runtime()?.block_on(serve::run(args, shutdown_signal()))?;
            tracing::info!("stopped");
        }
        Command::Compute(args) => {
            raise_open_file_limit();
            server_runtime()?.block_on(compute_cmd::run(args, shutdown_signal()))?;
            tracing::info!("stopped");
        }
        Command::Sql(args) => client_runtime()?.block_on(sql_cmd::run(args))?,
        Command::Geocode(args) => client_runtime()?.block_on(geocode_cmd::run(args))?,
        Command::Olist { command } => client_runtime()?.block_on(olist_cmd::run(command))?,
        Command::K8s { command } => k8s_cmd::run(command)?,
    }
    Ok(())
}

/// The runtime of a client command.
fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The runtime of a server process.
fn server_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Blocking threads only ever do disk and RocksDB work, in bounded pieces (no thread
        // waits on a client), so a few dozen keep the disk busy. tokio's default of 512 let a
        // burst of stalled clients start hundreds of threads, each with its stack and arena.
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")
}

/// Logs go to stderr, filtered by `LAGOA_LOG` (default `info`). s3s's own per-request lines are
/// off unless the filter names s3s: it logs every refused request at ERROR, while Lagoa logs each
/// failed request itself, 4xx at debug and 5xx at error. ANSI colours only on a terminal;
/// `LAGOA_LOG_FORMAT=json` writes one JSON object per line for log shippers.
fn init_logging() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let mut directives = std::env::var("LAGOA_LOG").unwrap_or_else(|_| "info".to_owned());
    if !directives.contains("s3s") {
        directives.push_str(",s3s=off");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .with_context(|| format!("LAGOA_LOG={directives:?} is not a valid log filter"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match std::env::var("LAGOA_LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().init(),
        Ok("text") | Err(_) => builder.init(),
        Ok(other) => anyhow::bail!("LAGOA_LOG_FORMAT={other:?} is not a log format: use text or json"),
    }
    Ok(())
}

/// Threads for disk and RocksDB work (see the runtime above).
const BLOCKING_THREADS: usize = 64;

/// Each connection is a descriptor, and so is each data file being read: the soft limit (often
/// 1,024) is raised to the hard one, as MinIO does, so the connection cap is what limits.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::debug!("could not raise the open-file limit");
            }
        }
    }
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
