//! The store's background maintenance while `lagoa serve` runs: lifecycle rules (expiry of
//! current and noncurrent versions, lone delete markers, stale multipart uploads) and data files
//! no record references. Each pass is paced (small batches, a pause between them) so foreground
//! requests keep the disk and the key locks; a crash mid-pass loses nothing (every batch is one
//! synced commit and the next pass redoes only what is still due).

use std::time::Duration;

use clap::Args;
use lagoa_store::{LifecycleClock, LifecyclePace, Store};

/// How often maintenance runs and how long a lifecycle day is.
#[derive(Args, Clone, Debug)]
pub struct MaintenanceArgs {
    /// Seconds between maintenance passes (lifecycle rules of every bucket, then orphaned data
    /// files). The first pass starts one interval after start-up.
    #[arg(long, env = "LAGOA_LIFECYCLE_INTERVAL_SECS", default_value_t = 3600)]
    lifecycle_interval_secs: u64,
    /// Length of a lifecycle day in seconds. 86400 counts real days and rounds an expiry up to
    /// the next midnight UTC, as S3 does; a smaller value (tests, like RGW's
    /// `rgw_lc_debug_interval`) makes a rule's "1 day" that many seconds, unrounded.
    #[arg(long, env = "LAGOA_LIFECYCLE_DAY_SECS", default_value_t = 86_400)]
    lifecycle_day_secs: u64,
    /// Pause between lifecycle batches (of 256 keys) in milliseconds: what keeps a pass from
    /// crowding out requests.
    #[arg(long, env = "LAGOA_LIFECYCLE_PAUSE_MS", default_value_t = 5)]
    lifecycle_pause_ms: u64,
}

/// Unreferenced data files younger than this are left alone: they may be about to be committed.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(3600);

impl MaintenanceArgs {
    /// The lifecycle day, shared with the S3 layer's `x-amz-expiration`.
    pub fn clock(&self) -> LifecycleClock {
        LifecycleClock {
            day: Duration::from_secs(self.lifecycle_day_secs.max(1)),
        }
    }

    fn pace(&self) -> LifecyclePace {
        LifecyclePace {
            pause: Duration::from_millis(self.lifecycle_pause_ms),
            ..LifecyclePace::default()
        }
    }

    /// Runs maintenance passes on `store` until the task is dropped.
    pub fn spawn(&self, store: Store) -> tokio::task::JoinHandle<()> {
        let (clock, pace) = (self.clock(), self.pace());
        let interval = Duration::from_secs(self.lifecycle_interval_secs.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                match store.run_lifecycle(clock, pace).await {
                    Ok(report) if report != Default::default() => tracing::info!(?report, "lifecycle pass"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "lifecycle pass failed; the next pass retries"),
                }
                if let Err(err) = store.collect_orphans(ORPHAN_MIN_AGE).await {
                    tracing::warn!(%err, "removing orphaned data files failed; the next pass retries");
                }
            }
        })
    }
}
