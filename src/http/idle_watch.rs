//! Closes connections that keep the server waiting for a request head: idle keep-alive
//! connections and heads that trickle in, after `--header-timeout-secs`.
//!
//! hyper can do this itself (`header_read_timeout`), but it arms a tokio timer for every request,
//! and with a timer always pending every worker park becomes a timed one (an `epoll_wait` with a
//! timeout, so a kernel hrtimer per park): in lagoa-bench that cost ~10% of small-request
//! throughput (head-4k-c16: 0.89× with it, 0.99× without; a tokio interval ticking the sweep
//! cost the same). Here one plain thread ticks a coarse clock a few times per timeout and wakes
//! the connections whose wait for a head began too long ago; a request costs two atomic stores,
//! and the runtime keeps no timer.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;

use super::stall_guard::Backlog;

/// The connections of one server and the clock they are judged by.
pub struct IdleWatch {
    timeout: Duration,
    start: Instant,
    /// Milliseconds since `start`, as of the last tick.
    now_ms: Arc<AtomicU64>,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    /// Shutting down: every connection without a request in flight is closed.
    closing: AtomicBool,
}

/// One connection's state as the sweeper sees it.
pub struct Connection {
    /// The watch's clock.
    clock: Arc<AtomicU64>,
    /// Requests in flight (a response not yet fully sent counts).
    in_flight: AtomicUsize,
    /// When the connection last began waiting for a request head (ms on the watch's clock).
    waiting_since_ms: AtomicU64,
    /// Notified when the connection has waited too long.
    expired: Notify,
    /// Whether its socket is still full with a response being written.
    backlog: Arc<Backlog>,
}

impl IdleWatch {
    /// A watch closing connections that wait `timeout` for a head; `Duration::ZERO` never does.
    pub fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            timeout,
            start: Instant::now(),
            now_ms: Arc::new(AtomicU64::new(0)),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            closing: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    /// Starts watching a new connection, which begins by waiting for its first head.
    pub fn register(self: &Arc<Self>, backlog: Arc<Backlog>) -> Registration {
        let connection = Arc::new(Connection {
            clock: self.now_ms.clone(),
            in_flight: AtomicUsize::new(0),
            waiting_since_ms: AtomicU64::new(self.now_ms()),
            expired: Notify::new(),
            backlog,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, connection.clone());
        Registration {
            watch: self.clone(),
            id,
            connection,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the sweeper thread: it ticks the clock and wakes expired connections until the
    /// watch is dropped. A tick is a quarter of the timeout (at most a second), so a connection is
    /// closed within 1¼ timeouts.
    pub fn start_sweeper(self: &Arc<Self>) -> std::io::Result<()> {
        if self.timeout.is_zero() {
            return Ok(());
        }
        let tick = (self.timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let watch = Arc::downgrade(self);
        std::thread::Builder::new().name("lagoa-idle-watch".into()).spawn(move || {
            loop {
                std::thread::sleep(tick);
                let Some(watch) = watch.upgrade() else { return };
                let now = u64::try_from(watch.start.elapsed().as_millis()).unwrap_or(u64::MAX);
                watch.now_ms.store(now, Ordering::Relaxed);
                for connection in watch.lock().values() {
                    if connection.has_waited(now, timeout_ms) {
                        connection.expired.notify_one();
                    }
                }
            }
        })?;
        Ok(())
    }
}

impl IdleWatch {
    /// Shutdown: closes every connection that has no request in flight now (the others close
    /// after their response: hyper's graceful shutdown turns keep-alive off).
    pub fn close_idle(&self) {
        self.closing.store(true, Ordering::Release);
        for connection in self.lock().values() {
            connection.expired.notify_one();
        }
    }

    /// Whether `connection` should close now.
    fn should_close(&self, connection: &Connection, timeout_ms: u64) -> bool {
        // A response handed to hyper but still being written keeps the connection open: its
        // InFlight ends when the body is done, which may be before the socket took it all.
        let idle = connection.in_flight.load(Ordering::Acquire) == 0 && !connection.backlog.is_full_now();
        idle && (self.closing.load(Ordering::Acquire) || (timeout_ms > 0 && connection.has_waited(self.now_ms(), timeout_ms)))
    }
}

/// A watched connection; dropping it stops the watch.
pub struct Registration {
    watch: Arc<IdleWatch>,
    id: u64,
    connection: Arc<Connection>,
}

impl Registration {
    /// The connection's state, for its requests.
    pub fn connection(&self) -> Arc<Connection> {
        self.connection.clone()
    }

    /// Resolves when the connection has waited too long for a head.
    pub async fn expired(&self) {
        let timeout_ms = u64::try_from(self.watch.timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            self.connection.expired.notified().await;
            // A head may have arrived since the sweeper looked.
            if self.watch.should_close(&self.connection, timeout_ms) {
                return;
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.watch.lock().remove(&self.id);
    }
}

impl Connection {
    /// A request head arrived: the connection is busy until the response is sent.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            connection: self.clone(),
        }
    }

    fn has_waited(&self, now_ms: u64, timeout_ms: u64) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && now_ms.saturating_sub(self.waiting_since_ms.load(Ordering::Relaxed)) > timeout_ms
    }
}

/// A request in flight on a watched connection; dropped when its response is sent (or dropped),
/// which starts the wait for the next head.
pub struct InFlight {
    connection: Arc<Connection>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The clock is coarse (the last tick): the wait may start up to one tick early.
        let now = self.connection.clock.load(Ordering::Relaxed);
        self.connection.waiting_since_ms.store(now, Ordering::Relaxed);
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it has been sent, and waits while
/// its connection's socket is full.
pub struct WatchedBody {
    inner: s3s::Body,
    _in_flight: Option<InFlight>,
    backlog: Option<Arc<Backlog>>,
}

impl WatchedBody {
    /// `inner`, holding `in_flight` until it is dropped, paused while `backlog` is full.
    pub fn new(inner: s3s::Body, in_flight: Option<InFlight>, backlog: Option<Arc<Backlog>>) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
            backlog,
        }
    }
}

impl Body for WatchedBody {
    type Data = Bytes;
    type Error = <s3s::Body as Body>::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.backlog.as_ref().is_some_and(|b| b.is_full(cx)) {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
