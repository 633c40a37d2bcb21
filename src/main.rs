//! The `lagoa` command: `lagoa serve` runs the S3 server on a local data directory.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lagoa_s3_api::{ConnectionLimits, DEFAULT_ROOT, Identities, ServerConfig};
use lagoa_store::{FreeSpaceReserve, StoreConfig};

/// Lagoa: a local data lake — an S3-compatible object store with near-data compute.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the S3 server on a data directory.
    Serve(ServeArgs),
}

/// `lagoa serve` configuration; every flag can also come from the environment.
#[derive(Args)]
struct ServeArgs {
    /// Data directory (created if missing).
    #[arg(long, env = "LAGOA_DATA", default_value = "./lagoa-data")]
    data: PathBuf,
    /// Address to listen on; port 0 picks a free port (the log line `listening on` tells which).
    #[arg(long, env = "LAGOA_ADDRESS", default_value = "0.0.0.0:9000")]
    address: String,
    /// Region reported to clients.
    #[arg(long, env = "LAGOA_REGION", default_value = "us-east-1")]
    region: String,
    /// Base domain for virtual-host-style requests (bucket.DOMAIN); path style always works.
    #[arg(long, env = "LAGOA_DOMAIN")]
    domain: Option<String>,
    /// TOML file with more users: [[users]] access_key = "…" secret_key = "…".
    #[arg(long, env = "LAGOA_USERS")]
    users: Option<PathBuf>,
    /// Objects up to this many bytes are stored inline in the metadata database.
    #[arg(long, env = "LAGOA_INLINE_MAX_BYTES", default_value_t = StoreConfig::default().inline_max_bytes)]
    inline_max_bytes: usize,
    /// Write data files with direct I/O (O_DIRECT) where the filesystem allows it: large uploads
    /// neither pay a copy into the page cache nor evict hot data from it; a fresh object's first
    /// read comes from the disk. `false` keeps just-written data cached.
    #[arg(long, env = "LAGOA_DIRECT_IO", default_value_t = true, action = clap::ArgAction::Set)]
    direct_io: bool,
    /// Free space kept on the data volume, as a percentage (`1%`) or a size (`512MiB`): writes
    /// that would go below it are refused with 507 XMinioStorageFull (reads and deletes go on)
    /// and readiness turns 503 until space is freed. `0` turns the reserve off.
    #[arg(long, env = "LAGOA_MIN_FREE", default_value = "1%")]
    min_free: FreeSpaceReserve,
    /// Largest file a browser POST upload may carry: s3s holds a POST's file in memory before
    /// storing it, so this bounds the memory one upload can take.
    #[arg(long, env = "LAGOA_POST_MAX_BYTES", default_value_t = ServerConfig::DEFAULT_POST_MAX_BYTES)]
    post_max_bytes: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "LAGOA_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Seconds a request's head may take to arrive, counted from when the connection starts
    /// waiting for it: it is also how long an idle keep-alive connection stays open (0: never
    /// closed).
    #[arg(long, env = "LAGOA_HEADER_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Seconds a request body may send nothing while the server waits for it (the request then
    /// fails with RequestTimeout and stores nothing).
    #[arg(long, env = "LAGOA_BODY_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().body_timeout.as_secs())]
    body_timeout_secs: u64,
    /// Seconds a response may wait for its client to read before the connection is closed.
    #[arg(long, env = "LAGOA_SEND_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().send_timeout.as_secs())]
    send_timeout_secs: u64,
    /// Most connections open at once; more wait in the listen queue until one closes.
    #[arg(long, env = "LAGOA_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,
}

fn main() -> anyhow::Result<()> {
    init_logging()?;
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
    }
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

/// Root credentials: LAGOA_ROOT_*, then MINIO_ROOT_*, then MinIO's default with a warning.
fn root_credentials() -> (String, String) {
    let pick = |a: &str, b: &str| {
        std::env::var(a)
            .ok()
            .or_else(|| std::env::var(b).ok())
            .filter(|v| !v.is_empty())
    };
    match (
        pick("LAGOA_ROOT_USER", "MINIO_ROOT_USER"),
        pick("LAGOA_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"),
    ) {
        (Some(user), Some(password)) => (user, password),
        _ => {
            tracing::warn!(
                "no root credentials configured: using the default {}/{} — set LAGOA_ROOT_USER and LAGOA_ROOT_PASSWORD before exposing this server",
                DEFAULT_ROOT.0,
                DEFAULT_ROOT.1
            );
            (DEFAULT_ROOT.0.to_owned(), DEFAULT_ROOT.1.to_owned())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (user, password) = root_credentials();
    let identities = Identities::load(&user, &password, args.users.as_deref()).context("loading identities")?;
    let config = ServerConfig {
        data: args.data,
        address: args.address,
        region: args.region,
        domain: args.domain,
        identities,
        store: StoreConfig {
            inline_max_bytes: args.inline_max_bytes,
            direct_io: args.direct_io,
            min_free: args.min_free,
            ..StoreConfig::default()
        },
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        post_max_bytes: args.post_max_bytes,
        limits: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout_secs),
            body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
            send_timeout: Duration::from_secs(args.send_timeout_secs.max(1)),
            max_connections: args.max_connections.max(1),
        },
    };
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Blocking threads only ever do disk and RocksDB work, in bounded pieces (no thread
        // waits on a client), so a few dozen keep the disk busy. tokio's default of 512 let a
        // burst of stalled clients start hundreds of threads, each with its stack and arena.
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        lagoa_s3_api::serve(config, shutdown_signal()).await.context("serving")?;
        anyhow::Ok(())
    })?;
    tracing::info!("stopped");
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
