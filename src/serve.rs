//! `lagoa serve`: the S3 server on a data directory, with compute embedded on its own address
//! (unless `--no-compute`). Binds first (the addresses are known at once), opens the store in
//! the background (readiness turns 200 when it is open), shuts down gracefully.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use lagoa_compute::Engine;
use lagoa_s3_api::{FrontendConfig, Identities, Lagoa, S3Frontend};
use lagoa_store::{FreeSpaceReserve, Store, StoreConfig};

use crate::compute_cmd::{ComputeTuning, compute_frontend};
use crate::http::{ConnectionLimits, Listener};
use crate::site::{self, Readiness};

/// `lagoa serve` configuration; every flag can also come from the environment.
#[derive(Args)]
pub struct ServeArgs {
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
    #[arg(long, env = "LAGOA_POST_MAX_BYTES", default_value_t = FrontendConfig::DEFAULT_POST_MAX_BYTES)]
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
    /// Address of the embedded compute service (`POST /v1/sql`); port 0 picks a free port (the
    /// log line `compute listening on` tells which).
    #[arg(long, env = "LAGOA_COMPUTE_ADDRESS", default_value = "0.0.0.0:9100")]
    compute_address: String,
    /// Do not run compute in this process (e.g. when a `lagoa compute` sidecar runs beside it).
    #[arg(long, env = "LAGOA_NO_COMPUTE")]
    no_compute: bool,
    /// Forward S3 Select (SelectObjectContent) to the `lagoa compute` sidecar at this URL
    /// (e.g. `http://127.0.0.1:9100`) instead of running it in this process. The server
    /// authenticates and authorises each request first; the sidecar checks it again.
    #[arg(long, env = "LAGOA_COMPUTE_URL")]
    compute_url: Option<String>,
    /// Reverse proxies (an ingress) trusted to name the client: from these addresses,
    /// `X-Forwarded-For` gives `aws:SourceIp` and `X-Forwarded-Proto: https` makes
    /// `aws:SecureTransport` true in policies (comma-separated CIDRs, e.g. `10.1.0.0/16`).
    #[arg(long, env = "LAGOA_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<ipnet::IpNet>,
    #[command(flatten)]
    kms: crate::kms::KmsArgs,
    #[command(flatten)]
    compute: ComputeTuning,
    #[command(flatten)]
    maintenance: crate::maintenance::MaintenanceArgs,
}

impl ServeArgs {
    fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            body_timeout: Duration::from_secs(self.body_timeout_secs.max(1)),
            send_timeout: Duration::from_secs(self.send_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
        }
    }

    fn store_config(&self) -> anyhow::Result<StoreConfig> {
        Ok(StoreConfig {
            inline_max_bytes: self.inline_max_bytes,
            direct_io: self.direct_io,
            min_free: self.min_free,
            keyring: self.kms.keyring()?,
            ..StoreConfig::default()
        })
    }

    fn frontend_config(&self, identities: &Identities) -> FrontendConfig {
        FrontendConfig {
            identities: identities.clone(),
            domain: self.domain.clone(),
            body_timeout: self.limits().body_timeout,
            header_timeout: self.limits().header_timeout,
            post_max_bytes: self.post_max_bytes,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

/// Who answers S3 Select: the sidecar at `--compute-url`, else compute in this process, else
/// nobody (501).
fn select_port(args: &ServeArgs, engine: &Arc<OnceLock<Engine>>) -> Option<Arc<dyn lagoa_s3_api::SelectPort>> {
    if let Some(url) = &args.compute_url {
        return Some(Arc::new(crate::select::ForwardedSelect {
            url: url.clone(),
            region: args.region.clone(),
            client: crate::select::sidecar_client(),
        }));
    }
    (!args.no_compute)
        .then(|| Arc::new(crate::select::EmbeddedSelect { engine: engine.clone() }) as Arc<dyn lagoa_s3_api::SelectPort>)
}

/// Runs `lagoa serve` until `shutdown` resolves.
pub async fn run(args: ServeArgs, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let identities = crate::credentials::identities(args.users.as_deref())?;
    let limits = args.limits();
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    // The compute listener binds first so that the S3 `listening on` line is the last of the two.
    let compute_listener = match args.no_compute {
        true => None,
        false => Some(Listener::bind(&args.compute_address, "compute").await?),
    };
    let listener = Listener::bind(&args.address, "").await?;

    let s3 = Arc::new(OnceLock::<S3Frontend>::new());
    let store = Arc::new(OnceLock::<Store>::new());
    let engine = Arc::new(OnceLock::<Engine>::new());
    let authorizer = Arc::new(OnceLock::<Arc<lagoa_s3_api::Authorizer>>::new());
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<anyhow::Error>();
    let opener = {
        let (s3, store_cell, engine) = (s3.clone(), store.clone(), engine.clone());
        let authorizer = authorizer.clone();
        let frontend_config = args.frontend_config(&identities);
        let (data, store_config, region) = (args.data.clone(), args.store_config()?, args.region.clone());
        let compute = (!args.no_compute).then(|| args.compute.config(&args.data, "serve"));
        let identities = identities.clone();
        let select = select_port(&args, &engine);
        let maintenance = args.maintenance.clone();
        tokio::spawn(async move {
            let opened = match open_store(data, store_config).await {
                Ok(store) => restore_identities(&identities, &store).await.map(|()| store),
                Err(err) => Err(err),
            };
            let opened = opened.and_then(|store| {
                let lagoa = Lagoa::new(store.clone(), region, Arc::new(identities)).with_lifecycle_clock(maintenance.clock());
                // The embedded SQL endpoint decides with this server's evaluator and cache.
                let _ = authorizer.set(lagoa.authorizer());
                let lagoa = match select {
                    Some(port) => lagoa.with_select(port),
                    None => lagoa,
                };
                let frontend = S3Frontend::new(lagoa, frontend_config)?;
                Ok((store, frontend))
            });
            match opened {
                Ok((store, frontend)) => {
                    if let Some(config) = compute {
                        let started = crate::compute_cmd::reset_dir(&config.spill_dir)
                            .and_then(|()| Ok(Engine::embedded(store.clone(), config)?));
                        match started {
                            Ok(started) => {
                                let _ = engine.set(started);
                            }
                            Err(err) => tracing::error!(%err, "compute is off: it could not start"),
                        }
                    }
                    // Runs until the process ends; every pass is crash-safe.
                    drop(maintenance.spawn(store.clone()));
                    let _ = store_cell.set(store);
                    let _ = s3.set(frontend);
                    tracing::info!("store is open; ready");
                }
                Err(err) => {
                    let _ = failed_tx.send(err);
                }
            }
        })
    };

    let compute_server = compute_listener.map(|listener| {
        let frontend = compute_frontend(engine.clone(), authorizer.clone(), &identities, limits, args.post_max_bytes);
        let engine = engine.clone();
        let ready: Readiness = Arc::new(move || {
            let ok = engine.get().is_some();
            Box::pin(async move { ok })
        });
        let handler = site::handler(frontend, ready);
        (listener, handler)
    });

    let ready = store_readiness(store.clone());
    let handler = site::handler(s3, ready);
    // One stop for both listeners, whatever ends first: the signal, a failed store open, or a
    // listener that fails.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let failure = Arc::new(std::sync::Mutex::new(None));
    let supervisor = {
        let (failure, stop_tx, rx) = (failure.clone(), stop_tx.clone(), stop_rx.clone());
        async move {
            tokio::select! {
                () = shutdown => {}
                Ok(err) = failed_rx => {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                }
                () = stopped(rx) => {}
            }
            let _ = stop_tx.send(true);
        }
    };
    let s3_served = {
        let stop_tx = stop_tx.clone();
        let stop = stopped(stop_rx.clone());
        async move {
            let result = listener.serve(handler, limits, grace, stop).await;
            let _ = stop_tx.send(true);
            result
        }
    };
    let compute_served = async move {
        let Some((listener, handler)) = compute_server else {
            return Ok(());
        };
        let result = listener
            .serve(handler, limits, grace, stopped(stop_rx))
            .await
            .context("the compute listener failed");
        let _ = stop_tx.send(true);
        result
    };
    let ((), s3_result, compute_result) = tokio::join!(supervisor, s3_served, compute_served);
    opener.abort();
    if let Some(err) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(err);
    }
    s3_result?;
    compute_result
}

/// Opens the store and clears what crashed writes left, on a blocking thread.
/// Takes the users and policies the admin API stored (a document that cannot be used stops
/// the start: serving without them would lock their users out or, worse, ignore a disable).
async fn restore_identities(identities: &Identities, store: &Store) -> anyhow::Result<()> {
    let stored = store
        .site_config(lagoa_s3_api::IAM_DOCUMENT)
        .await
        .context("reading the stored users and policies")?;
    identities.restore(stored.as_deref())?;
    Ok(())
}

async fn open_store(data: PathBuf, config: StoreConfig) -> anyhow::Result<Store> {
    let path = data.display().to_string();
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&data, config)?;
        store.collect_garbage()?;
        Ok::<_, lagoa_store::StoreError>(store)
    })
    .await
    .context("the task opening the store failed")?
    .with_context(|| format!("cannot open the data directory {path}"))
}

/// Readiness of the S3 listener: whether the store takes writes (a full volume or a failing
/// metadata database is not ready, so that Kubernetes stops sending traffic a replica cannot
/// serve). Changes are logged once each.
fn store_readiness(store: Arc<OnceLock<Store>>) -> Readiness {
    let was_writable = Arc::new(AtomicBool::new(true));
    Arc::new(move || {
        let (store, was_writable) = (store.clone(), was_writable.clone());
        Box::pin(async move {
            let Some(store) = store.get() else {
                return false;
            };
            let result = store.writable().await;
            let ok = result.is_ok();
            if was_writable.swap(ok, Ordering::Relaxed) != ok {
                match result {
                    Ok(()) => tracing::info!("the store takes writes again; ready"),
                    Err(err) => {
                        tracing::warn!(%err, "the store cannot take writes; not ready until it can (reads and deletes go on)")
                    }
                }
            }
            ok
        })
    })
}
