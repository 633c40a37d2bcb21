//! The benchmark scenarios and the result table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures::future::BoxFuture;
use lagoa_conformance::{ROOT_PASSWORD, ROOT_USER};
use rand::Rng;

use crate::proc_stats::{RssSampler, cpu_seconds};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// How much work each scenario does.
#[derive(Clone)]
pub struct Scale {
    pub timed: Duration,
    pub large_objects: usize,
    pub list_keys: usize,
    pub list_samples: usize,
    pub huge_bytes: u64,
}

impl Scale {
    pub fn full() -> Self {
        Self {
            timed: Duration::from_secs(10),
            large_objects: 16,
            list_keys: 100_000,
            list_samples: 100,
            huge_bytes: 1 << 30,
        }
    }

    pub fn quick() -> Self {
        Self {
            timed: Duration::from_secs(2),
            large_objects: 4,
            list_keys: 5_000,
            list_samples: 20,
            huge_bytes: 64 << 20,
        }
    }
}

/// One scenario's measurements.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ops: usize,
    pub bytes: u64,
    pub secs: f64,
    pub latencies_ms: Vec<f64>,
    pub errors: usize,
    pub cpu_secs: f64,
    pub peak_rss_mib: f64,
    /// Extra figures (e.g. keys/s of a full listing walk).
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
        let idx = ((v.len() - 1) as f64 * p).round() as usize;
        v[idx]
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

type Run = fn(String, Option<u32>, Scale) -> BoxFuture<'static, anyhow::Result<Outcome>>;

/// A named scenario.
pub struct Scenario {
    pub name: &'static str,
    pub run: Run,
}

/// Every scenario in run order.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "put-4k-c16",
            run: |e, p, s| Box::pin(put_small(e, p, s)),
        },
        Scenario {
            name: "get-4k-c16",
            run: |e, p, s| Box::pin(get_small(e, p, s)),
        },
        Scenario {
            name: "put-64m-c4",
            run: |e, p, s| Box::pin(put_large(e, p, s)),
        },
        Scenario {
            name: "get-64m-c4",
            run: |e, p, s| Box::pin(get_large(e, p, s)),
        },
        Scenario {
            name: "list-page-1000",
            run: |e, p, s| Box::pin(list(e, p, s)),
        },
        Scenario {
            name: "rss-1g-put-get",
            run: |e, p, s| Box::pin(huge(e, p, s)),
        },
    ]
}

fn client(endpoint: &str) -> Client {
    // Measure the server, not the client's checksumming (both servers get the same requests).
    let config = lagoa_conformance::config_for(endpoint, ROOT_USER, ROOT_PASSWORD)
        .to_builder()
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

async fn make_bucket(c: &Client, name: &str) -> anyhow::Result<()> {
    c.create_bucket().bucket(name).send().await?;
    Ok(())
}

/// Runs `op(i)` on `concurrency` workers until `duration` (or `total` ops) is reached, timing each.
async fn drive<F, Fut>(
    pid: Option<u32>,
    concurrency: usize,
    duration: Option<Duration>,
    total: Option<usize>,
    bytes_per_op: u64,
    op: F,
) -> Outcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = pid.and_then(cpu_seconds).unwrap_or(0.0);
    let rss = RssSampler::start(pid);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                if duration.is_some_and(|d| start.elapsed() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if total.is_some_and(|t| i >= t) {
                    break;
                }
                let t0 = Instant::now();
                if op(i).await {
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut out = Outcome::default();
    for w in workers {
        if let Ok((lat, errors)) = w.await {
            out.latencies_ms.extend(lat);
            out.errors += errors;
        }
    }
    out.secs = start.elapsed().as_secs_f64();
    out.ops = out.latencies_ms.len();
    out.bytes = out.ops as u64 * bytes_per_op;
    out.peak_rss_mib = rss.finish();
    out.cpu_secs = pid.and_then(cpu_seconds).unwrap_or(0.0) - cpu0;
    out
}

fn payload(len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    rand::rng().fill(&mut v[..]);
    Bytes::from(v)
}

async fn put_small(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    let c = client(&endpoint);
    make_bucket(&c, "put-small").await?;
    let body = payload(4 * KIB);
    Ok(drive(pid, 16, Some(scale.timed), None, 4 * KIB as u64, move |i| {
        let (c, body) = (c.clone(), body.clone());
        async move {
            c.put_object()
                .bucket("put-small")
                .key(format!("k/{i:08}"))
                .body(ByteStream::from(body))
                .send()
                .await
                .is_ok()
        }
    })
    .await)
}

async fn fill(c: &Client, bucket: &str, count: usize, len: usize, concurrency: usize) -> anyhow::Result<()> {
    let body = payload(len);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, body, next, bucket) = (c.clone(), body.clone(), next.clone(), bucket.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                c.put_object()
                    .bucket(&bucket)
                    .key(format!("k/{i:08}"))
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn get_small(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    let c = client(&endpoint);
    make_bucket(&c, "get-small").await?;
    let count = 2_000;
    fill(&c, "get-small", count, 4 * KIB, 16).await?;
    Ok(drive(pid, 16, Some(scale.timed), None, 4 * KIB as u64, move |i| {
        let c = c.clone();
        async move {
            let key = format!("k/{:08}", (i * 7919) % count);
            match c.get_object().bucket("get-small").key(key).send().await {
                Ok(out) => out
                    .body
                    .collect()
                    .await
                    .map(|b| b.into_bytes().len() == 4 * KIB)
                    .unwrap_or(false),
                Err(_) => false,
            }
        }
    })
    .await)
}

async fn put_large(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    let c = client(&endpoint);
    make_bucket(&c, "put-large").await?;
    let body = payload(64 * MIB);
    Ok(drive(pid, 4, None, Some(scale.large_objects), 64 * MIB as u64, move |i| {
        let (c, body) = (c.clone(), body.clone());
        async move {
            c.put_object()
                .bucket("put-large")
                .key(format!("k/{}", i % 8))
                .body(ByteStream::from(body))
                .send()
                .await
                .is_ok()
        }
    })
    .await)
}

async fn get_large(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    let c = client(&endpoint);
    make_bucket(&c, "get-large").await?;
    fill(&c, "get-large", 4, 64 * MIB, 4).await?;
    Ok(drive(pid, 4, None, Some(scale.large_objects), 64 * MIB as u64, move |i| {
        let c = c.clone();
        async move {
            match c.get_object().bucket("get-large").key(format!("k/{:08}", i % 4)).send().await {
                Ok(out) => {
                    let mut body = out.body;
                    let mut n = 0usize;
                    while let Some(chunk) = body.next().await {
                        match chunk {
                            Ok(b) => n += b.len(),
                            Err(_) => return false,
                        }
                    }
                    n == 64 * MIB
                }
                Err(_) => false,
            }
        }
    })
    .await)
}

async fn list(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    let c = client(&endpoint);
    make_bucket(&c, "list").await?;
    let t0 = Instant::now();
    fill(&c, "list", scale.list_keys, 0, 32).await?;
    eprintln!("   filled {} keys in {:.1}s", scale.list_keys, t0.elapsed().as_secs_f64());
    let keys = scale.list_keys;
    let c2 = c.clone();
    // A slow server gets a time budget instead of the full sample count.
    let mut out = drive(pid, 1, Some(scale.timed * 6), Some(scale.list_samples), 0, move |i| {
        let c = c2.clone();
        async move {
            let start = (i * 104_729) % keys;
            let page = c
                .list_objects_v2()
                .bucket("list")
                .start_after(format!("k/{start:08}"))
                .max_keys(1000)
                .send()
                .await;
            page.is_ok_and(|p| p.key_count().unwrap_or(0) as usize == 1000.min(keys - start - 1))
        }
    })
    .await;
    // The full paged walk (bounded in time too; a partial walk is reported as such).
    let t0 = Instant::now();
    let mut token: Option<String> = None;
    let mut seen = 0usize;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("list")
            .max_keys(1000)
            .set_continuation_token(token.clone())
            .send()
            .await?;
        seen += page.key_count().unwrap_or(0) as usize;
        if page.is_truncated() != Some(true) || t0.elapsed() > scale.timed * 12 {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    let walk = t0.elapsed().as_secs_f64();
    if seen != keys && t0.elapsed() <= scale.timed * 12 {
        out.errors += 1;
    }
    out.note = format!("(walk: {seen} keys in {walk:.2}s = {:.0} keys/s)", seen as f64 / walk);
    Ok(out)
}

async fn huge(endpoint: String, pid: Option<u32>, scale: Scale) -> anyhow::Result<Outcome> {
    use std::io::Write;
    let c = client(&endpoint);
    make_bucket(&c, "huge").await?;
    let mut file = tempfile::NamedTempFile::new()?;
    let block = payload(MIB);
    for _ in 0..(scale.huge_bytes / MIB as u64) {
        file.write_all(&block)?;
    }
    file.flush()?;
    let path = file.path().to_path_buf();
    let size = scale.huge_bytes;
    let c2 = c.clone();
    let mut out = drive(pid, 1, None, Some(2), size, move |i| {
        let (c, path) = (c2.clone(), path.clone());
        async move {
            if i == 0 {
                let Ok(body) = ByteStream::from_path(&path).await else {
                    return false;
                };
                c.put_object().bucket("huge").key("one-gib").body(body).send().await.is_ok()
            } else {
                let Ok(out) = c.get_object().bucket("huge").key("one-gib").send().await else {
                    return false;
                };
                let mut body = out.body;
                let mut n = 0u64;
                while let Some(Ok(chunk)) = body.next().await {
                    n += chunk.len() as u64;
                }
                n == size
            }
        }
    })
    .await;
    out.note = format!(
        "(PUT {:.2}s, GET {:.2}s)",
        out.latencies_ms.first().unwrap_or(&0.0) / 1000.0,
        out.latencies_ms.get(1).unwrap_or(&0.0) / 1000.0
    );
    Ok(out)
}

/// The final table: one row per (scenario, server), with the Lagoa/peer ratio of the headline
/// figure (MiB/s for large objects, ops/s otherwise, p99 for listing pages).
pub fn table(rows: &[(String, String, Outcome)]) -> String {
    let mut s = String::from(
        "\n| scenario | server | ops/s | MiB/s | p50 ms | p99 ms | errors | server CPU s | peak RSS MiB | lagoa/peer | notes |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (server, scenario, o) in rows {
        let ratio = if server == "lagoa" {
            String::new()
        } else {
            rows.iter()
                .find(|(srv, sc, _)| srv == "lagoa" && sc == scenario)
                .map(|(_, _, l)| {
                    let (a, b) = if scenario.starts_with("list") {
                        (o.percentile(0.99), l.percentile(0.99))
                    } else if scenario.contains("64m") || scenario.contains("1g") {
                        (l.mib_per_sec(), o.mib_per_sec())
                    } else {
                        (l.ops_per_sec(), o.ops_per_sec())
                    };
                    format!("{:.2}×", a / b.max(1e-9))
                })
                .unwrap_or_default()
        };
        s.push_str(&format!(
            "| {scenario} | {server} | {:.0} | {:.1} | {:.2} | {:.2} | {} | {:.2} | {:.0} | {ratio} | {} |\n",
            o.ops_per_sec(),
            o.mib_per_sec(),
            o.percentile(0.5),
            o.percentile(0.99),
            o.errors,
            o.cpu_secs,
            o.peak_rss_mib,
            o.note
        ));
    }
    s
}
