//! The HTTP server: binds first (so the address is known at once), opens the store in the
//! background (readiness turns 200 when it is open), serves S3 through s3s plus the MinIO health
//! endpoints, and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use lagoa_store::{Store, StoreConfig, StoreError};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::identity::Identities;
use crate::idle_watch::{IdleWatch, WatchedBody};
use crate::lagoa::Lagoa;
use crate::request_log::{self, RequestId};
use crate::stall_guard::{Backlog, StallGuard};

/// Everything `lagoa serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data volume.
    pub data: PathBuf,
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub address: String,
    /// The region reported to clients and accepted as LocationConstraint.
    pub region: String,
    /// Base domain for virtual-host-style requests (`bucket.DOMAIN`), if any.
    pub domain: Option<String>,
    pub identities: Identities,
    pub store: StoreConfig,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Largest file accepted by a browser POST upload (s3s buffers it in memory).
    pub post_max_bytes: u64,
    /// How long a client may keep the server waiting, and how many connections it may hold.
    pub limits: ConnectionLimits,
}

impl ServerConfig {
    /// 64 MiB: enough for browser uploads while bounding the memory one POST can hold.
    pub const DEFAULT_POST_MAX_BYTES: u64 = 64 * 1024 * 1024;
}

/// What one client may hold of the server: no connection waits on its client forever, and the
/// number of connections is capped, so idle, slow or stalled clients cannot exhaust tasks, memory
/// or file descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time for a request's head to arrive, counted from the first wait for it — so it is also
    /// how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Time a request body may send nothing while the server waits for it.
    pub body_timeout: Duration,
    /// Time a response may wait for its client to read.
    pub send_timeout: Duration,
    /// Open connections at most; beyond it new connections wait in the listen queue.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    /// MinIO's read-header and idle timeouts are 30 s; bodies and responses get twice that.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Server start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source} (is another server using the port?)")]
    Bind { address: String, source: std::io::Error },
    #[error("cannot open the data directory {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("invalid --domain {0:?}: expected a host name such as s3.example.com")]
    Domain(String),
}

/// What the connection handler sees: the S3 service once the store is open.
struct State {
    s3: OnceLock<S3Service>,
    /// The store, for readiness (can it take writes?).
    store: OnceLock<Store>,
    /// What readiness answered last, to log only its changes.
    was_writable: std::sync::atomic::AtomicBool,
    /// For the signature checks Lagoa makes before s3s (see `precheck`).
    identities: Identities,
    /// `--domain`, to tell a virtual-host request's bucket.
    domain: Option<String>,
    limits: ConnectionLimits,
    /// What browser POST form heads may take before their signature is checked.
    form_read_ahead: crate::post_form_head::ReadAhead,
}

/// Runs the server until `shutdown` resolves, then drains in-flight requests (bounded by
/// `shutdown_grace`) and returns.
pub async fn serve(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    let listener = TcpListener::bind(&config.address).await.map_err(|source| ServerError::Bind {
        address: config.address.clone(),
        source,
    })?;
    let local: SocketAddr = listener.local_addr().map_err(|source| ServerError::Bind {
        address: config.address.clone(),
        source,
    })?;
    tracing::info!("listening on http://{local}");

    let state = Arc::new(State {
        s3: OnceLock::new(),
        store: OnceLock::new(),
        was_writable: std::sync::atomic::AtomicBool::new(true),
        identities: config.identities.clone(),
        domain: config.domain.clone(),
        limits: config.limits,
        form_read_ahead: crate::post_form_head::ReadAhead::new(FORM_READ_AHEAD_BUDGET, config.limits.header_timeout),
    });
    let mut opener = tokio::spawn(open_store(config.clone(), state.clone()));
    let mut opened = false;

    // HTTP/1.1 only: every S3 client speaks it, and cleartext HTTP/2 (h2c) would be one more
    // protocol for a hostile client to hold the server with (stream floods, resets).
    let roomy = ConnBuilder::new(TokioExecutor::new()).http1_only();
    let mut lean = ConnBuilder::new(TokioExecutor::new()).http1_only();
    lean.http1().max_buf_size(LEAN_BUFFER_MAX);
    let idle = IdleWatch::new(config.limits.header_timeout);
    idle.start_sweeper().map_err(|source| ServerError::Bind {
        address: config.address.clone(),
        source,
    })?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(config.limits.max_connections.max(1)));
    let mut accept_errors = AcceptErrors::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new connections wait in the kernel's listen queue.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            result = &mut opener, if !opened => {
                opened = true;
                store_opened(result, &config)?;
                continue;
            }
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of file descriptors (or memory): back off instead of spinning.
                        accept_errors.record(&err);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // Small responses must not wait for the client's delayed ACK.
                let _ = socket.set_nodelay(true);
                let state = state.clone();
                let backlog = Arc::new(Backlog::default());
                let watched = idle.register(backlog.clone());
                let connection = watched.connection();
                let body_backlog = backlog.clone();
                let service = service_fn(move |req| {
                    let in_flight = connection.begin();
                    let state = state.clone();
                    let backlog = body_backlog.clone();
                    async move {
                        let res = handle(state, peer, req).await?;
                        Ok::<_, s3s::HttpError>(res.map(|body| WatchedBody::new(body, Some(in_flight), Some(backlog))))
                    }
                });
                let io = TokioIo::new(StallGuard::new(socket, config.limits.send_timeout, backlog));
                // Few connections open: hyper's roomy buffers (fewer, larger socket writes: a
                // GET of 1 MiB takes ~30% less CPU). Many: lean ones, so that 1,000 stalled
                // clients cannot pin 400 KiB each.
                let open = config.limits.max_connections.max(1) - connections.available_permits();
                let http = if open <= ROOMY_CONNECTIONS { &roomy } else { &lean };
                let conn = http.serve_connection(io, service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    tokio::select! {
                        result = conn => {
                            if let Err(err) = result {
                                tracing::debug!(%err, %peer, "connection ended with an error");
                            }
                        }
                        () = watched.expired() => tracing::debug!(%peer, "closing a connection that sent no request in time"),
                    }
                    drop(permit);
                });
            }
            result = &mut opener, if !opened => {
                opened = true;
                store_opened(result, &config)?;
            }
            () = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down: no new connections; waiting for in-flight requests");
    drop(listener);
    // Connections without a request in flight (idle, or a head still arriving) close now;
    // hyper's graceful shutdown would wait for a head that may never come.
    idle.close_idle();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(config.shutdown_grace) => tracing::warn!(grace = ?config.shutdown_grace, "in-flight requests did not finish in time; closing them"),
    }
    Ok(())
}

/// Connections beyond this many get [`LEAN_BUFFER_MAX`] buffers instead of hyper's ~400 KiB.
const ROOMY_CONNECTIONS: usize = 64;

/// The most a lean connection's read (and write) buffer grows to. hyper's default (~400 KiB)
/// let 1,000 stalled uploads hold 570 MB in read buffers alone; 32 KiB still takes any request
/// head S3 allows (8 KiB of headers, a few KiB of presigned URL). (A head is limited by the
/// buffer, so heads over 32 KiB pass only while few connections are open.)
const LEAN_BUFFER_MAX: usize = 32 * 1024;

/// Memory all browser POST form heads together may hold before their signatures are checked.
const FORM_READ_AHEAD_BUDGET: usize = 64 * 1024 * 1024;

/// How long the accept loop pauses after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Failed accepts (EMFILE when file descriptors run out) are logged once per interval with a
/// count, not once each: a full descriptor table fails thousands of accepts a second.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<std::time::Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    const INTERVAL: Duration = Duration::from_secs(10);

    fn record(&mut self, err: &std::io::Error) {
        let now = std::time::Instant::now();
        if self.last_logged.is_some_and(|t| now.duration_since(t) < Self::INTERVAL) {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(%err, suppressed = self.suppressed, "accepting connections fails (out of file descriptors?); backing off");
        self.last_logged = Some(now);
        self.suppressed = 0;
    }
}

/// The outcome of opening the store in the background.
fn store_opened(
    result: Result<Result<(), ServerError>, tokio::task::JoinError>,
    config: &ServerConfig,
) -> Result<(), ServerError> {
    match result {
        Ok(Ok(())) => {
            tracing::info!("store is open; ready");
            Ok(())
        }
        Ok(Err(err)) => Err(err),
        Err(join) => Err(ServerError::Store {
            path: config.data.display().to_string(),
            source: StoreError::Internal(join.to_string()),
        }),
    }
}

async fn open_store(config: ServerConfig, state: Arc<State>) -> Result<(), ServerError> {
    let path = config.data.display().to_string();
    let data = config.data.clone();
    let store_config = config.store.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data, store_config))
        .await
        .map_err(|e| ServerError::Store {
            path: path.clone(),
            source: StoreError::Internal(e.to_string()),
        })?
        .map_err(|source| ServerError::Store { path, source })?;
    let _ = state.store.set(store.clone());
    let lagoa = Lagoa::new(store, config.region.clone(), Arc::new(config.identities.clone()));
    let mut builder = S3ServiceBuilder::new(lagoa);
    builder.set_auth(config.identities.clone());
    let mut s3_config = s3s::config::S3Config::default();
    s3_config.post_object_max_file_size = config.post_max_bytes;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(s3_config))));
    if let Some(domain) = &config.domain {
        let host = crate::vhost::DomainHost::new(domain).ok_or_else(|| ServerError::Domain(domain.clone()))?;
        builder.set_host(host);
    }
    let _ = state.s3.set(builder.build());
    Ok(())
}

type Response = http::Response<s3s::Body>;

/// `500 InternalError` as an S3 error document.
fn internal_error() -> Response {
    s3s::S3Error::with_message(
        s3s::S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
    .to_http_response()
    .unwrap_or_else(|_| plain(http::StatusCode::INTERNAL_SERVER_ERROR, ""))
}

fn plain(status: http::StatusCode, body: &'static str) -> Response {
    let mut res = http::Response::new(s3s::Body::from(body.to_owned()));
    *res.status_mut() = status;
    res
}

/// Hands a request to s3s, with Lagoa's fix-ups before and after (see `precheck`,
/// `post_form_head`, `post_form`).
async fn call_s3(
    s3: &S3Service,
    state: &State,
    peer: SocketAddr,
    req: http::Request<hyper::body::Incoming>,
    span: &tracing::Span,
) -> Result<Response, s3s::HttpError> {
    let form_post = crate::post_form::is_form_post(&req);
    let req = crate::precheck::adapt(req, &state.identities);
    let aws_chunked = crate::body_guard::is_aws_chunked(req.headers());
    let body_timeout = state.limits.body_timeout;
    let req = req.map(|body| crate::body_guard::GuardedBody::new(body, aws_chunked, body_timeout));
    let req = if form_post {
        let bucket = form_bucket(&req, state.domain.as_deref());
        match crate::post_form_head::prepare(req, bucket.as_deref(), &state.form_read_ahead).await {
            Ok(req) => req,
            Err(e) => return Ok(e.to_http_response().unwrap_or_else(|_| internal_error())),
        }
    } else {
        req.map(s3s::Body::http_body)
    };
    // A panic in a handler must not take the connection down silently: it is a 500.
    let call = std::panic::AssertUnwindSafe(s3.call(req).instrument(span.clone()));
    let res = match futures::FutureExt::catch_unwind(call).await {
        Ok(res) => res?,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(request_id = %request_log::current_id(), %peer, panic = %message, "a request handler panicked");
            internal_error()
        }
    };
    Ok(if form_post {
        crate::post_form::policy_condition_as_access_denied(res).await
    } else {
        res
    })
}

/// The bucket a browser POST is sent to: the virtual host's, or the path's first segment.
fn form_bucket<B>(req: &http::Request<B>, domain: Option<&str>) -> Option<String> {
    if let Some(domain) = domain {
        let host = req.headers().get(http::header::HOST)?.to_str().ok()?;
        let host = host.split(':').next().unwrap_or(host);
        if let Some(bucket) = host.strip_suffix(domain).and_then(|b| b.strip_suffix('.')) {
            return Some(bucket.to_owned());
        }
    }
    let path = req.uri().path().trim_start_matches('/');
    let bucket = path.split('/').next().unwrap_or("");
    (!bucket.is_empty()).then(|| crate::lagoa::percent_decode(bucket))
}

/// Readiness: whether the store takes writes (a full volume or a failing metadata database is
/// not ready, so that Kubernetes stops sending traffic a replica cannot serve). Changes are
/// logged once each.
async fn writable(state: &State) -> bool {
    use std::sync::atomic::Ordering;
    let Some(store) = state.store.get() else {
        return false;
    };
    let result = store.writable().await;
    let ok = result.is_ok();
    if state.was_writable.swap(ok, Ordering::Relaxed) != ok {
        match result {
            Ok(()) => tracing::info!("the store takes writes again; ready"),
            Err(err) => tracing::warn!(%err, "the store cannot take writes; not ready until it can (reads and deletes go on)"),
        }
    }
    ok
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response, s3s::HttpError> {
    match req.uri().path() {
        "/minio/health/live" => return Ok(plain(http::StatusCode::OK, "")),
        "/minio/health/ready" => {
            let status = if state.s3.get().is_some() && writable(&state).await {
                http::StatusCode::OK
            } else {
                http::StatusCode::SERVICE_UNAVAILABLE
            };
            return Ok(plain(status, ""));
        }
        _ => {}
    }
    let id = RequestId::next();
    // A debug-level span: at the default level it is never built, which keeps small requests
    // cheap (an info span cost ~10% of HEAD throughput in lagoa-bench). Log lines that must name
    // the request read its id from the task-local instead (`request_log::current_id`).
    let span = tracing::debug_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(), %peer);
    let (method, uri) = (req.method().clone(), req.uri().clone()); // cheap: shared bytes
    let res = match (state.s3.get(), crate::precheck::refuse(&req)) {
        (None, _) => s3s::S3Error::with_message(s3s::S3ErrorCode::ServiceUnavailable, "The server is starting; retry shortly.")
            .to_http_response()
            .unwrap_or_else(|_| internal_error()),
        (Some(_), Some(refusal)) => refusal,
        (Some(s3), None) => request_log::with_id(id, call_s3(s3, &state, peer, req, &span)).await?,
    };
    let (res, code) = request_log::stamp(res, &id);
    request_log::log(&request_log::Finished {
        id: &id,
        peer,
        method: &method,
        uri: &uri,
        status: res.status(),
        code: code.as_deref(),
    });
    Ok(res)
}
