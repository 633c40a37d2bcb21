//! Running a scenario's operations: a fixed number of concurrent workers, each timing its
//! requests, while the server's RSS and CPU time are sampled from /proc.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use bytes::Bytes;
use rand::Rng;

use crate::proc_stats::{RssSampler, cpu_seconds};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;

/// One run of one scenario against one server.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ops: usize,
    pub bytes: u64,
    pub secs: f64,
    pub latencies_ms: Vec<f64>,
    pub errors: usize,
    pub cpu_secs: f64,
    pub peak_rss_mib: f64,
    /// A second figure some scenarios report (keys/s of a full listing walk, MiB/s of a GET).
    pub secondary: Option<f64>,
    /// Free text for the table's notes column.
    pub note: String,
}

impl Outcome {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.secs.max(1e-9)
    }

    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / MIB as f64 / self.secs.max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    /// Server CPU seconds per GiB moved (large objects) or per 1000 operations (small ones).
    pub fn cpu_per_gib(&self) -> f64 {
        self.cpu_secs / (self.bytes as f64 / (1u64 << 30) as f64).max(1e-9)
    }

    pub fn cpu_per_kop(&self) -> f64 {
        self.cpu_secs / (self.ops as f64 / 1000.0).max(1e-9)
    }

    pub fn summary(&self) -> String {
        format!(
            "{:.0} ops/s, {:.1} MiB/s, p50 {:.2} ms, p99 {:.2} ms, errors {}, server CPU {:.2}s, peak RSS {:.0} MiB {}",
            self.ops_per_sec(),
            self.mib_per_sec(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.errors,
            self.cpu_secs,
            self.peak_rss_mib,
            self.note
        )
    }
}

/// A client that measures the server, not the client's own checksumming: both servers get the
/// same SigV4-signed requests.
pub fn client(endpoint: &str, access_key: &str, secret_key: &str) -> Client {
    let config = lagoa_conformance::config_for(endpoint, access_key, secret_key)
        .to_builder()
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// Random bytes (incompressible, so no layer can cheat).
pub fn payload(len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    rand::rng().fill(&mut v[..]);
    Bytes::from(v)
}

/// How long / how much a drive runs.
#[derive(Clone, Copy)]
pub struct Budget {
    pub concurrency: usize,
    pub duration: Option<Duration>,
    pub total: Option<usize>,
}

/// Runs `op(i)` on `budget.concurrency` workers until the time or op budget is spent, timing
/// each op; `op` returns the bytes it moved, or `None` on error.
pub async fn drive<F, Fut>(pid: Option<u32>, budget: Budget, op: F) -> Outcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<u64>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = pid.and_then(cpu_seconds).unwrap_or(0.0);
    let rss = RssSampler::start(pid);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..budget.concurrency {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut bytes) = (Vec::new(), 0, 0u64);
            loop {
                if budget.duration.is_some_and(|d| start.elapsed() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if budget.total.is_some_and(|t| i >= t) {
                    break;
                }
                let t0 = Instant::now();
                match op(i).await {
                    Some(n) => {
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                        bytes += n;
                    }
                    None => errors += 1,
                }
            }
            (lat, errors, bytes)
        }));
    }
    let mut out = Outcome::default();
    for w in workers {
        match w.await {
            Ok((lat, errors, bytes)) => {
                out.latencies_ms.extend(lat);
                out.errors += errors;
                out.bytes += bytes;
            }
            Err(_) => out.errors += 1,
        }
    }
    out.secs = start.elapsed().as_secs_f64();
    out.ops = out.latencies_ms.len();
    out.peak_rss_mib = rss.finish();
    out.cpu_secs = pid.and_then(cpu_seconds).unwrap_or(0.0) - cpu0;
    out
}
