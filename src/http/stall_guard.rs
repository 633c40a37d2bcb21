//! A connection whose client stops reading its response must not hold the server's resources
//! forever: a write that makes no progress for `--send-timeout-secs` fails, which ends the
//! connection (and drops the response body, so the store's reader stops).
//!
//! The guard also tells the connection's response body when the socket is full (see
//! [`Backlog`]), so that a body is not read from disk faster than its client takes it.
//!
//! Only writes are watched. A pending write means the client is not reading; a pending read may
//! just be the server busy with the request (a long copy), which is not the client's fault. Slow
//! or idle request heads are hyper's header-read timeout; stalled request bodies are
//! `body_guard`'s.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use lagoa_s3_api::WaitDeadline;

/// Whether a connection's socket is full because its client is not reading. hyper keeps
/// taking body chunks while its own write buffer is under ~400 KiB; a response body that waits
/// while the socket is full keeps a stalled reader's memory to the chunk being sent and the one
/// read ahead (see the store's reader).
#[derive(Default)]
pub struct Backlog {
    full: AtomicBool,
    waker: AtomicWaker,
}

impl Backlog {
    /// Whether the socket is full; if so, `cx` is woken when it drains.
    pub fn is_full(&self, cx: &Context<'_>) -> bool {
        if !self.full.load(Ordering::Acquire) {
            return false;
        }
        self.waker.register(cx.waker());
        self.full.load(Ordering::Acquire)
    }

    /// Whether the socket is full right now (a response is still being written).
    pub fn is_full_now(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    fn filled(&self) {
        self.full.store(true, Ordering::Release);
    }

    fn drained(&self) {
        if self.full.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }
}

/// `io` whose writes fail after `timeout` without progress.
pub struct StallGuard<T> {
    io: T,
    deadline: WaitDeadline,
    backlog: Arc<Backlog>,
}

impl<T> StallGuard<T> {
    /// Wraps `io`; `backlog` learns when its writes wait.
    pub fn new(io: T, timeout: Duration, backlog: Arc<Backlog>) -> Self {
        Self {
            io,
            deadline: WaitDeadline::new(timeout),
            backlog,
        }
    }

    /// What a write poll returns: pending until the deadline, then an error; progress resets it.
    fn guard<R>(&mut self, polled: Poll<io::Result<R>>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match polled {
            Poll::Pending if self.deadline.expired(cx) => {
                self.backlog.drained();
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not read the response in time",
                )))
            }
            Poll::Pending => {
                self.backlog.filled();
                Poll::Pending
            }
            ready => {
                self.deadline.progressed();
                self.backlog.drained();
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.guard(polled, cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.guard(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.guard(polled, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
