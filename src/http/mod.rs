//! Lagoa's HTTP listeners: the accept loop with its connection cap, per-connection buffers,
//! timeouts for clients that keep the server waiting, and graceful shutdown. What a request
//! means is up to the [`Handler`] each listener is given (S3, SQL, health).

mod idle_watch;
mod server;
mod stall_guard;

pub use server::{ConnectionLimits, Handler, Listener};
