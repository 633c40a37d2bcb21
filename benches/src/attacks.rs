//! Hostile clients as bench scenarios (issue 10): a normal client's 4 KiB PUT/GET/LIST while
//! 1,000 connections try to hold the server, against the same client without them. They run
//! against Lagoa only (a peer that froze would hang the run), and report the normal client's
//! throughput and p99 with the server's peak RSS; `soak-mixed` (run with `--only soak-mixed`)
//! drives a mixed load for `--soak-minutes` and samples RSS at start, middle and end.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lagoa_conformance::sigv4::Signer;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::driver::{Budget, KIB, MIB, Outcome, drive, payload};
use crate::proc_stats::{RssSampler, rss_kib};
use crate::scenarios::Ctx;

/// Hostile connections per attack.
const HOSTILE: usize = 1000;

/// What the hostile connections do.
#[derive(Clone, Copy)]
pub enum Attack {
    /// Nothing: the normal client alone (the reference).
    None,
    /// PUT heads announcing 4 MiB, 600 KiB of body, then silence.
    StalledUploads,
    /// GETs of an 8 MiB object by clients that never read (4 KiB receive window).
    StalledReaders,
    /// Request heads that never finish.
    SlowHeads,
    /// Keep-alive connections that sent one request and then nothing.
    Idle,
    /// Anonymous browser-form POSTs whose form head stops after 32 KiB (before any signature).
    FormsBeforeAuth,
}

/// Runs the normal client for `ctx.scale.timed` while `attack`'s connections are open.
pub async fn under(ctx: Ctx, attack: Attack) -> anyhow::Result<Outcome> {
    let c = &ctx.client;
    c.create_bucket().bucket("calm").send().await?;
    c.create_bucket().bucket("held").send().await?;
    let small = payload(4 * KIB);
    for i in 0..200 {
        c.put_object()
            .bucket("calm")
            .key(format!("k{i}"))
            .body(small.clone().into())
            .send()
            .await?;
    }
    c.put_object()
        .bucket("held")
        .key("big")
        .body(payload(8 * MIB).into())
        .send()
        .await?;
    let addr: SocketAddr = ctx.endpoint.trim_start_matches("http://").parse()?;
    let rss = RssSampler::start(ctx.pid);
    let hostile = open(attack, addr, &ctx).await?;
    // Let the server take every head and start every body.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let budget = Budget {
        concurrency: 4,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    let (raw, client) = (ctx.raw.clone(), ctx.client.clone());
    let mut out = drive(ctx.pid, budget, move |i| {
        let (raw, client, body) = (raw.clone(), client.clone(), small.clone());
        async move {
            let key = format!("k{}", (i * 7919) % 200);
            let op = async move {
                match i % 3 {
                    0 => raw.put("calm", &key, body).await.then_some(4 * KIB as u64),
                    1 => raw.get("calm", &key).await,
                    _ => client
                        .list_objects_v2()
                        .bucket("calm")
                        .max_keys(100)
                        .send()
                        .await
                        .ok()
                        .map(|_| 0),
                }
            };
            // A frozen server shows as errors, not as a bench that never ends.
            tokio::time::timeout(Duration::from_secs(10), op).await.ok().flatten()
        }
    })
    .await;
    out.peak_rss_mib = out.peak_rss_mib.max(rss.finish());
    out.note = format!("{} hostile connections open", hostile.len());
    drop(hostile);
    Ok(out)
}

/// Opens the attack's connections, 50 at a time.
async fn open(attack: Attack, addr: SocketAddr, ctx: &Ctx) -> anyhow::Result<Vec<TcpStream>> {
    let count = match attack {
        Attack::None => 0,
        _ => HOSTILE,
    };
    let mut conns = Vec::with_capacity(count);
    let ids: Vec<usize> = (0..count).collect();
    for batch in ids.chunks(50) {
        let opened = futures::future::join_all(batch.iter().map(|i| open_one(attack, addr, ctx, *i))).await;
        for conn in opened {
            conns.push(conn?);
        }
    }
    Ok(conns)
}

async fn open_one(attack: Attack, addr: SocketAddr, ctx: &Ctx, i: usize) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if matches!(attack, Attack::StalledReaders) {
        socket.set_recv_buffer_size(4096)?;
    }
    let mut conn = socket.connect(addr).await?;
    let host = addr.to_string();
    match attack {
        Attack::None => {}
        Attack::StalledUploads => {
            let head = signed_head(ctx, &host, "PUT", &format!("/held/up{i}"), &[("content-length", "4194304")]);
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(&payload(600 * KIB)).await?;
        }
        Attack::StalledReaders => {
            let head = signed_head(ctx, &host, "GET", "/held/big", &[]);
            conn.write_all(head.as_bytes()).await?;
        }
        Attack::SlowHeads => {
            conn.write_all(format!("GET /calm/k1 HTTP/1.1\r\nHost: {host}\r\nx-amz-date: 2").as_bytes())
                .await?;
        }
        Attack::Idle => {
            conn.write_all(format!("GET /minio/health/live HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
                .await?;
        }
        Attack::FormsBeforeAuth => {
            let boundary = "lagoa-bench-boundary";
            let head = format!(
                "POST /held HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
                 Content-Length: 10485760\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await?;
            conn.write_all(&vec![b'a'; 32 * KIB]).await?;
        }
    }
    Ok(conn)
}

fn signed_head(ctx: &Ctx, host: &str, method: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let signer = Signer::new(&ctx.access_key, &ctx.secret_key);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (auth, _) = signer.sign(method, path, &[], &headers, "UNSIGNED-PAYLOAD");
    let mut head = format!("{method} {path} HTTP/1.1\r\nauthorization: {auth}\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// A mixed load (PUT/GET/LIST/DELETE of 4 KiB to 2 MiB, 8 clients) for `ctx.scale.soak`, with
/// RSS sampled once a second; the note gives RSS at start, middle and end.
pub async fn soak(ctx: Ctx) -> anyhow::Result<Outcome> {
    ctx.client.create_bucket().bucket("soak").send().await?;
    let bodies: Vec<bytes::Bytes> = [4 * KIB, 64 * KIB, 256 * KIB, 2 * MIB].iter().map(|n| payload(*n)).collect();
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(f64, u64)>::new()));
    let sampler = {
        let (samples, pid) = (samples.clone(), ctx.pid);
        let start = Instant::now();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = pid.and_then(rss_kib) {
                    samples
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((start.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let budget = Budget {
        concurrency: 8,
        duration: Some(ctx.scale.soak),
        total: None,
    };
    let (raw, client) = (ctx.raw.clone(), ctx.client.clone());
    let mut out = drive(ctx.pid, budget, move |i| {
        let (raw, client) = (raw.clone(), client.clone());
        let body = bodies[i % bodies.len()].clone();
        async move {
            let key = format!("s{}", (i * 7919) % 500);
            match i % 10 {
                0..=3 => {
                    let n = body.len() as u64;
                    raw.put("soak", &key, body).await.then_some(n)
                }
                4..=7 => Some(raw.get("soak", &key).await.unwrap_or(0)),
                8 => client
                    .list_objects_v2()
                    .bucket("soak")
                    .max_keys(200)
                    .send()
                    .await
                    .ok()
                    .map(|_| 0),
                _ => raw.delete("soak", &key).await.then_some(0),
            }
        }
    })
    .await;
    sampler.abort();
    let samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Start = after the first minute's warm-up (or the first tenth of a short run).
    let warm = (ctx.scale.soak.as_secs_f64() / 10.0).min(60.0);
    let at = |t: f64| {
        samples
            .iter()
            .find(|(s, _)| *s >= t)
            .or(samples.last())
            .map_or(0.0, |(_, kib)| *kib as f64 / 1024.0)
    };
    let total = ctx.scale.soak.as_secs_f64();
    let (start, middle, end) = (at(warm), at(total / 2.0), at(total - 1.0));
    let series: Vec<String> = (1..=10)
        .map(|tenth| format!("{:.0}", at(total * f64::from(tenth) / 10.0 - 1.0)))
        .collect();
    out.note = format!(
        "RSS start {start:.0} MiB, middle {middle:.0} MiB, end {end:.0} MiB (end/start {:.2}); at each tenth of the run: {} MiB",
        end / start.max(1.0),
        series.join(", ")
    );
    Ok(out)
}
