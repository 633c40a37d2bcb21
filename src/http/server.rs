//! The accept loop (see the module docs of `http`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use lagoa_s3_api::Response;
use tokio::net::TcpListener;

use super::idle_watch::{IdleWatch, WatchedBody};
use super::stall_guard::{Backlog, StallGuard};

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

/// Answers the requests of one listener.
pub type Handler = Arc<
    dyn Fn(
            http::Request<hyper::body::Incoming>,
            SocketAddr,
        ) -> Pin<Box<dyn Future<Output = Result<Response, s3s::HttpError>> + Send>>
        + Send
        + Sync,
>;

/// A bound listening socket, not yet serving: binding first makes the address known at once
/// (port 0), before anything slow (opening the store) happens.
pub struct Listener {
    listener: TcpListener,
}

impl Listener {
    /// Binds `address` (`HOST:PORT`; port 0 picks a free port) and logs `listening on http://…`
    /// with `what` (tests and operators read the line to learn the port).
    pub async fn bind(address: &str, what: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (is another server using the port?)"))?;
        let local = listener.local_addr().with_context(|| format!("cannot listen on {address}"))?;
        if what.is_empty() {
            tracing::info!("listening on http://{local}");
        } else {
            tracing::info!("{what} listening on http://{local}");
        }
        Ok(Self { listener })
    }

    /// Serves connections with `handler` until `shutdown` resolves, then drains in-flight
    /// requests (bounded by `grace`).
    pub async fn serve(
        self,
        handler: Handler,
        limits: ConnectionLimits,
        grace: Duration,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let Self { listener } = self;
        // HTTP/1.1 only: every S3 client speaks it, and cleartext HTTP/2 (h2c) would be one more
        // protocol for a hostile client to hold the server with (stream floods, resets).
        let roomy = ConnBuilder::new(TokioExecutor::new()).http1_only();
        let mut lean = ConnBuilder::new(TokioExecutor::new()).http1_only();
        lean.http1().max_buf_size(LEAN_BUFFER_MAX);
        let idle = IdleWatch::new(limits.header_timeout);
        idle.start_sweeper()
            .map_err(|e| anyhow::anyhow!("cannot start the idle-connection sweeper: {e}"))?;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
        let mut accept_errors = AcceptErrors::default();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            // At the cap, stop accepting: new connections wait in the kernel's listen queue.
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => permit,
                () = &mut shutdown => break,
            };
            let Ok(permit) = permit else { break };
            let (socket, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of file descriptors (or memory): back off instead of spinning.
                        accept_errors.record(&err);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Small responses must not wait for the client's delayed ACK.
            let _ = socket.set_nodelay(true);
            let backlog = Arc::new(Backlog::default());
            let watched = idle.register(backlog.clone());
            let connection = watched.connection();
            let handler = handler.clone();
            let body_backlog = backlog.clone();
            let service = service_fn(move |req| {
                let in_flight = connection.begin();
                let backlog = body_backlog.clone();
                let res = handler(req, peer);
                async move {
                    let res = res.await?;
                    Ok::<_, s3s::HttpError>(res.map(|body| WatchedBody::new(body, Some(in_flight), Some(backlog))))
                }
            });
            let io = TokioIo::new(StallGuard::new(socket, limits.send_timeout, backlog));
            // Few connections open: hyper's roomy buffers (fewer, larger socket writes: a GET of
            // 1 MiB takes ~30% less CPU). Many: lean ones, so that 1,000 stalled clients cannot
            // pin 400 KiB each.
            let open = limits.max_connections.max(1) - connections.available_permits();
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
        tracing::info!("shutting down: no new connections; waiting for in-flight requests");
        drop(listener);
        // Connections without a request in flight (idle, or a head still arriving) close now;
        // hyper's graceful shutdown would wait for a head that may never come.
        idle.close_idle();
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all requests finished"),
            () = tokio::time::sleep(grace) => tracing::warn!(?grace, "in-flight requests did not finish in time; closing them"),
        }
        Ok(())
    }
}

/// Connections beyond this many get [`LEAN_BUFFER_MAX`] buffers instead of hyper's ~400 KiB.
const ROOMY_CONNECTIONS: usize = 64;

/// The most a lean connection's read (and write) buffer grows to. hyper's default (~400 KiB)
/// let 1,000 stalled uploads hold 570 MB in read buffers alone; 32 KiB still takes any request
/// head S3 allows (8 KiB of headers, a few KiB of presigned URL). (A head is limited by the
/// buffer, so heads over 32 KiB pass only while few connections are open.)
const LEAN_BUFFER_MAX: usize = 32 * 1024;

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
