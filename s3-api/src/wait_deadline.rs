//! A deadline on waiting for a client: armed when a wait begins, disarmed by progress. Time the
//! server spends busy elsewhere (not polling) never counts against the client, and the timer is
//! made only on a first wait, so the fast path (no waiting) pays for none.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

/// See the module docs.
pub struct WaitDeadline {
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    waiting: bool,
}

impl WaitDeadline {
    /// A deadline `timeout` after each wait begins.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            sleep: None,
            waiting: false,
        }
    }

    /// The client made progress: the next wait starts a new deadline.
    pub fn progressed(&mut self) {
        self.waiting = false;
    }

    /// The client kept us waiting in this poll: whether the wait has now lasted too long
    /// (registers `cx` to be woken when it does).
    pub fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.waiting {
            self.waiting = true;
            sleep.as_mut().reset(deadline);
        }
        sleep.as_mut().poll(cx).is_ready()
    }
}
