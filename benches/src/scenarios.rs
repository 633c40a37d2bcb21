//! The benchmark scenarios. Each gets a fresh server and data directory (so its peak RSS and CPU
//! time are its own) and returns one [`Outcome`]; the listing scenario is driven separately
//! because its million-key bucket is filled once and then sampled in rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::future::BoxFuture;

use crate::attacks::{Attack, soak, under};
use crate::driver::{Budget, KIB, MIB, Outcome, drive, payload};
use crate::peers::Running;
use crate::raw_client::RawClient;

/// How much work each scenario does.
#[derive(Clone)]
pub struct Scale {
    /// Length of each timed scenario.
    pub timed: Duration,
    /// Objects moved by the 64 MiB scenarios.
    pub large_objects: usize,
    /// Objects the small-object reads (GET/HEAD) pick from.
    pub small_objects: usize,
    /// Objects created and then deleted by the DELETE scenario.
    pub delete_objects: usize,
    /// Keys in the listing bucket, and how long filling it may take.
    pub list_keys: usize,
    pub list_fill_budget: Duration,
    /// Pages sampled per listing round.
    pub list_samples: usize,
    /// Size of the multipart upload.
    pub huge_bytes: u64,
    /// Length of the soak (`soak-mixed`).
    pub soak: Duration,
}

impl Scale {
    pub fn full() -> Self {
        Self {
            timed: Duration::from_secs(5),
            large_objects: 48,
            small_objects: 2_000,
            delete_objects: 3_000,
            list_keys: 1_000_000,
            list_fill_budget: Duration::from_secs(300),
            list_samples: 200,
            huge_bytes: 1 << 30,
            soak: Duration::from_secs(30 * 60),
        }
    }

    pub fn quick() -> Self {
        Self {
            timed: Duration::from_millis(1500),
            large_objects: 4,
            small_objects: 300,
            delete_objects: 300,
            list_keys: 10_000,
            list_fill_budget: Duration::from_secs(30),
            list_samples: 20,
            huge_bytes: 64 << 20,
            soak: Duration::from_secs(20),
        }
    }
}

/// What a scenario runs against.
#[derive(Clone)]
pub struct Ctx {
    /// The AWS SDK: fills, large objects, multipart and listings.
    pub client: Client,
    /// The light client: the timed small-object operations (see raw_client.rs for why).
    pub raw: RawClient,
    pub pid: Option<u32>,
    pub scale: Scale,
    /// For raw connections (the attack scenarios).
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Ctx {
    /// Clients for a running server.
    pub fn new(server: &Running, scale: &Scale) -> Self {
        Self {
            client: crate::driver::client(&server.endpoint, &server.access_key, &server.secret_key),
            raw: RawClient::new(&server.endpoint, &server.access_key, &server.secret_key),
            pid: server.pid(),
            scale: scale.clone(),
            endpoint: server.endpoint.clone(),
            access_key: server.access_key.clone(),
            secret_key: server.secret_key.clone(),
        }
    }
}

/// The figure a scenario is judged by.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Headline {
    OpsPerSec,
    MibPerSec,
    /// Lower is better.
    P99Ms,
}

type Run = fn(Ctx) -> BoxFuture<'static, anyhow::Result<Outcome>>;

/// A named scenario.
pub struct Scenario {
    pub name: &'static str,
    pub headline: Headline,
    /// Whether it writes (only writes are run against a peer's fsync variant: reads are the same).
    pub writes: bool,
    /// Run against Lagoa (and its baseline) only: the attack scenarios.
    pub lagoa_only: bool,
    /// Run only when named in `--only` (the 30-minute soak).
    pub opt_in: bool,
    pub run: Run,
}

macro_rules! scenario {
    ($name:literal, $headline:ident, $writes:literal, $f:expr) => {
        scenario!($name, $headline, $writes, false, false, $f)
    };
    ($name:literal, $headline:ident, $writes:literal, $lagoa_only:literal, $opt_in:literal, $f:expr) => {
        Scenario {
            name: $name,
            headline: Headline::$headline,
            writes: $writes,
            lagoa_only: $lagoa_only,
            opt_in: $opt_in,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Every timed scenario in run order (the listing scenario is [`list_fill`] + [`list_round`]).
pub fn all() -> Vec<Scenario> {
    vec![
        scenario!("put-4k-c16", OpsPerSec, true, |c| put_objects(c, 4 * KIB, 16)),
        scenario!("put-4k-c64", OpsPerSec, true, |c| put_objects(c, 4 * KIB, 64)),
        scenario!("put-4k-c16-versioned", OpsPerSec, true, true, false, put_versioned_new_keys),
        scenario!("put-4k-c16-overwrite", OpsPerSec, true, |c| put_overwrites(c, false)),
        scenario!("put-4k-c16-overwrite-versioned", OpsPerSec, true, true, false, |c| {
            put_overwrites(c, true)
        }),
        scenario!("get-4k-c16", OpsPerSec, false, |c| get_objects(c, 4 * KIB, 16)),
        scenario!("get-4k-c16-versioned", OpsPerSec, false, true, false, get_versioned),
        scenario!("get-4k-c16-owner", OpsPerSec, false, true, false, get_by_owner),
        scenario!("get-4k-c16-policy20", OpsPerSec, false, true, false, get_under_policy),
        scenario!("get-4k-c64", OpsPerSec, false, |c| get_objects(c, 4 * KIB, 64)),
        scenario!("head-4k-c16", OpsPerSec, false, head_objects),
        scenario!("delete-4k-c16", OpsPerSec, true, delete_objects),
        scenario!("put-1m-c16", MibPerSec, true, |c| put_objects(c, MIB, 16)),
        scenario!("get-1m-c16", MibPerSec, false, |c| get_objects(c, MIB, 16)),
        scenario!("put-64m-c4", MibPerSec, true, |c| put_objects(c, 64 * MIB, 4)),
        scenario!("get-64m-c4", MibPerSec, false, |c| get_objects(c, 64 * MIB, 4)),
        scenario!("put-64m-c4-sse-s3", MibPerSec, true, true, false, |c| put_objects_in(
            c,
            64 * MIB,
            4,
            true
        )),
        scenario!("get-64m-c4-sse-s3", MibPerSec, false, true, false, |c| get_objects_in(
            c,
            64 * MIB,
            4,
            true
        )),
        scenario!("range-1m-in-1g-sse-s3", MibPerSec, false, true, false, range_in_sealed_object),
        scenario!("multipart-1g-c8", MibPerSec, true, multipart_huge),
        scenario!("mix-64k-70get-c16", OpsPerSec, true, mix),
        scenario!("normal-4k-c4", OpsPerSec, true, true, false, |c| under(c, Attack::None)),
        scenario!("attack-stalled-uploads", OpsPerSec, true, true, false, |c| under(
            c,
            Attack::StalledUploads
        )),
        scenario!("attack-stalled-readers", OpsPerSec, true, true, false, |c| under(
            c,
            Attack::StalledReaders
        )),
        scenario!("attack-slow-heads", OpsPerSec, true, true, false, |c| under(
            c,
            Attack::SlowHeads
        )),
        scenario!("attack-idle", OpsPerSec, true, true, false, |c| under(c, Attack::Idle)),
        scenario!("attack-forms-before-auth", OpsPerSec, true, true, false, |c| under(
            c,
            Attack::FormsBeforeAuth
        )),
        scenario!("soak-mixed", OpsPerSec, true, true, true, soak),
    ]
}

/// The listing scenario's name in tables.
pub const LIST: &str = "list-1m-page-1000";

/// The versioned listing scenario (Lagoa only: the peers have no versioning): the same pages in
/// a bucket where every key has 3 versions and every tenth a delete marker on top.
pub const LIST_VERSIONED: &str = "list-1m-versioned-page-1000";

/// ListObjectVersions pages of that bucket.
pub const LIST_VERSIONS: &str = "list-versions-1m-page-1000";

/// Lifecycle expiry of `list_keys` objects (Lagoa only), and what it does to foreground GETs.
pub const LIFECYCLE: &str = "lifecycle-expire-1m";

/// `serve` flags for the lifecycle scenario: a one-second day, a pass every second.
pub const LIFECYCLE_FLAGS: [&str; 4] = ["--lifecycle-day-secs", "1", "--lifecycle-interval-secs", "1"];

/// Fills `expire` with up to `list_keys` empty objects and `fg` with 4 KiB objects for the
/// foreground load. Returns how many `expire` holds.
pub async fn lifecycle_fill(ctx: &Ctx) -> anyhow::Result<usize> {
    make_bucket(&ctx.client, "expire").await?;
    make_bucket(&ctx.client, "foreground").await?;
    fill(&ctx.client, "foreground", ctx.scale.small_objects, payload(4 * KIB), 16, None).await?;
    warm_up(&ctx.raw, "foreground", ctx.scale.small_objects).await;
    let deadline = Instant::now() + ctx.scale.list_fill_budget;
    fill(&ctx.client, "expire", ctx.scale.list_keys, Bytes::new(), 64, Some(deadline)).await
}

/// 4 KiB GETs on `fg`, 16 concurrent, for `duration`.
async fn foreground(ctx: &Ctx, duration: Duration) -> Outcome {
    let count = ctx.scale.small_objects;
    let raw = ctx.raw.clone();
    let budget = Budget {
        concurrency: 16,
        duration: Some(duration),
        total: None,
    };
    drive(ctx.pid, budget, move |i| {
        let raw = raw.clone();
        async move {
            raw.get("foreground", &key((i * 7919) % count))
                .await
                .filter(|n| *n == 4 * KIB as u64)
        }
    })
    .await
}

/// Foreground GETs alone (the baseline), then a rule expiring every object of `expire` after
/// one (one-second) day, with the same GETs running until the bucket is empty. Headline: the
/// GETs' p99 during expiry; the note has the expiry time and the baseline.
pub async fn lifecycle_round(ctx: &Ctx, keys: usize) -> anyhow::Result<Outcome> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    let baseline = foreground(ctx, ctx.scale.timed).await;
    let rule = LifecycleRule::builder()
        .id("expire-all")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()?;
    let t0 = Instant::now();
    ctx.client
        .put_bucket_lifecycle_configuration()
        .bucket("expire")
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build()?)
        .send()
        .await?;
    // Foreground load in one-second slices until the bucket is empty.
    let mut during = Outcome::default();
    loop {
        let slice = foreground(ctx, Duration::from_secs(1)).await;
        during.ops += slice.ops;
        during.bytes += slice.bytes;
        during.secs += slice.secs;
        during.errors += slice.errors;
        during.cpu_secs += slice.cpu_secs;
        during.peak_rss_mib = during.peak_rss_mib.max(slice.peak_rss_mib);
        during.latencies_ms.extend(slice.latencies_ms);
        let left = ctx.client.list_objects_v2().bucket("expire").max_keys(1).send().await?;
        if left.key_count().unwrap_or(0) == 0 || t0.elapsed() > ctx.scale.list_fill_budget * 4 {
            break;
        }
    }
    let expiry = t0.elapsed().as_secs_f64();
    let left = ctx.client.list_objects_v2().bucket("expire").max_keys(1).send().await?;
    if left.key_count().unwrap_or(0) != 0 {
        during.errors += 1;
    }
    during.secondary = Some(keys as f64 / expiry);
    during.note = format!(
        "({keys} objects expired in {expiry:.1}s = {:.0}/s incl. the 1-s day and 1-s pass interval; foreground 4 KiB GET c16 during expiry {:.0} ops/s p99 {:.2} ms vs {:.0} ops/s p99 {:.2} ms before)",
        keys as f64 / expiry,
        during.ops_per_sec(),
        during.percentile(0.99),
        baseline.ops_per_sec(),
        baseline.percentile(0.99)
    );
    Ok(during)
}

/// Turns versioning on.
async fn enable_versioning(c: &Client, bucket: &str) -> anyhow::Result<()> {
    c.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

async fn make_bucket(c: &Client, name: &str) -> anyhow::Result<()> {
    c.create_bucket().bucket(name).send().await?;
    Ok(())
}

fn key(i: usize) -> String {
    format!("k/{i:08}")
}

/// Reads a whole body, returning its length (or `None` on any error).
async fn drain(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Option<u64> {
    let mut body = out.body;
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        n += chunk.ok()?.len() as u64;
    }
    Some(n)
}

/// Creates `count` objects (`k/00000000`…) with `concurrency` writers, stopping early at
/// `deadline`; returns how many exist.
async fn fill(
    c: &Client,
    bucket: &str,
    count: usize,
    body: Bytes,
    concurrency: usize,
    deadline: Option<Instant>,
) -> anyhow::Result<usize> {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (c, body, next, done, bucket) = (c.clone(), body.clone(), next.clone(), done.clone(), bucket.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return anyhow::Ok(());
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                c.put_object()
                    .bucket(&bucket)
                    .key(key(i))
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    // Every worker finishes the PUT it started before looking at the deadline, so the keys
    // handed out (0..done) all exist: a contiguous prefix.
    Ok(done.load(Ordering::Relaxed))
}

async fn put_objects(ctx: Ctx, size: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    put_objects_in(ctx, size, concurrency, false).await
}

/// [`put_objects`] into a bucket whose default encryption is SSE-S3 when `sealed`.
async fn put_objects_in(ctx: Ctx, size: usize, concurrency: usize, sealed: bool) -> anyhow::Result<Outcome> {
    let bucket = format!("put-{size}-c{concurrency}{}", if sealed { "-sse" } else { "" });
    make_bucket(&ctx.client, &bucket).await?;
    if sealed {
        encrypt_by_default(&ctx.client, &bucket).await?;
    }
    let body = payload(size);
    // Large objects: a fixed number of PUTs (over 8 keys, so overwrites are measured too);
    // small ones: as many as fit in the timed window.
    let budget = if size >= 64 * MIB {
        Budget {
            concurrency,
            duration: None,
            total: Some(ctx.scale.large_objects),
        }
    } else {
        Budget {
            concurrency,
            duration: Some(ctx.scale.timed),
            total: None,
        }
    };
    let keys = if size >= 64 * MIB { 8 } else { usize::MAX };
    let raw = ctx.raw.clone();
    Ok(drive(ctx.pid, budget, move |i| {
        let (raw, body, bucket) = (raw.clone(), body.clone(), bucket.clone());
        async move { raw.put(&bucket, &key(i % keys), body).await.then_some(size as u64) }
    })
    .await)
}

/// put-4k-c16 (new keys) in a versioning-enabled bucket: each PUT is a key's first version.
async fn put_versioned_new_keys(ctx: Ctx) -> anyhow::Result<Outcome> {
    let bucket = "put-versioned-new";
    make_bucket(&ctx.client, bucket).await?;
    enable_versioning(&ctx.client, bucket).await?;
    let body = payload(4 * KIB);
    let budget = Budget {
        concurrency: 16,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    let raw = ctx.raw.clone();
    Ok(drive(ctx.pid, budget, move |i| {
        let (raw, body) = (raw.clone(), body.clone());
        async move { raw.put(bucket, &key(i), body).await.then_some(4 * KIB as u64) }
    })
    .await)
}

/// 4 KiB PUTs over 2,000 keys, 16 concurrent: every key is overwritten again and again. In a
/// versioned bucket each overwrite keeps the old version (it moves to the versions family); in
/// an unversioned one it replaces it. The pair measures what versioning costs a write.
async fn put_overwrites(ctx: Ctx, versioned: bool) -> anyhow::Result<Outcome> {
    let bucket = if versioned {
        "put-overwrite-versioned"
    } else {
        "put-overwrite"
    };
    make_bucket(&ctx.client, bucket).await?;
    if versioned {
        enable_versioning(&ctx.client, bucket).await?;
    }
    let body = payload(4 * KIB);
    let budget = Budget {
        concurrency: 16,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    let raw = ctx.raw.clone();
    Ok(drive(ctx.pid, budget, move |i| {
        let (raw, body) = (raw.clone(), body.clone());
        async move { raw.put(bucket, &key(i % 2_000), body).await.then_some(4 * KIB as u64) }
    })
    .await)
}

/// 4 KiB GETs of the current version in a versioned bucket where every key has 3 versions.
async fn get_versioned(ctx: Ctx) -> anyhow::Result<Outcome> {
    let bucket = "get-versioned";
    make_bucket(&ctx.client, bucket).await?;
    enable_versioning(&ctx.client, bucket).await?;
    let count = ctx.scale.small_objects;
    for _ in 0..3 {
        fill(&ctx.client, bucket, count, payload(4 * KIB), 16, None).await?;
    }
    warm_up(&ctx.raw, bucket, count).await;
    Ok(timed_4k_gets(&ctx, ctx.raw.clone(), bucket, count).await)
}

/// GETs of `count` 4 KiB objects at concurrency 16 for the timed budget.
async fn timed_4k_gets(ctx: &Ctx, raw: RawClient, bucket: &'static str, count: usize) -> Outcome {
    let budget = Budget {
        concurrency: 16,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    drive(ctx.pid, budget, move |i| {
        let raw = raw.clone();
        async move {
            raw.get(bucket, &key((i * 7919) % count))
                .await
                .filter(|n| *n == 4 * KIB as u64)
        }
    })
    .await
}

/// GET 4 KiB by a bucket's owner (not root, who skips every rule), no bucket policy: the
/// baseline of the policy scenario below.
async fn get_by_owner(ctx: Ctx) -> anyhow::Result<Outcome> {
    get_as_user(ctx, "get-owner", None, lagoa_conformance::OTHER_USER).await
}

/// GET 4 KiB by a user whom the last of 20 bucket-policy statements lets in (the 19 before it
/// are evaluated: denials with IP and prefix conditions, grants to other users and prefixes),
/// with the user's own identity policy evaluated too.
async fn get_under_policy(ctx: Ctx) -> anyhow::Result<Outcome> {
    get_as_user(
        ctx,
        "get-policy",
        Some(policy_of_20("get-policy")),
        lagoa_conformance::HOME_USER,
    )
    .await
}

/// A 20-statement policy that ends with a grant to `lagoa-home`.
pub fn policy_of_20(bucket: &str) -> String {
    let mut statements = Vec::new();
    for i in 0..6 {
        // Deny outside a network: the condition is evaluated for every GET.
        statements.push(format!(
            r#"{{"Sid":"deny-net-{i}","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*","Condition":{{"NotIpAddress":{{"aws:SourceIp":["127.0.0.0/8","10.{i}.0.0/16"]}}}}}}"#
        ));
    }
    for i in 0..6 {
        statements.push(format!(
            r#"{{"Sid":"deny-private-{i}","Effect":"Deny","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{bucket}/private-{i}/*"}}"#
        ));
    }
    for i in 0..7 {
        statements.push(format!(
            r#"{{"Sid":"team-{i}","Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::000000000000:user/team-{i}"]}},"Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/team-{i}/*"],"Condition":{{"StringLike":{{"aws:UserAgent":"*spark*"}}}}}}"#
        ));
    }
    statements.push(format!(
        r#"{{"Sid":"home","Effect":"Allow","Principal":{{"AWS":["lagoa-home"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/k/*"}}"#
    ));
    format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","))
}

async fn get_as_user(
    ctx: Ctx,
    bucket: &'static str,
    policy: Option<String>,
    (reader_key, reader_secret): (&str, &str),
) -> anyhow::Result<Outcome> {
    let (owner_key, owner_secret) = lagoa_conformance::OTHER_USER;
    let owner = crate::driver::client(&ctx.endpoint, owner_key, owner_secret);
    make_bucket(&owner, bucket).await?;
    let count = ctx.scale.small_objects;
    fill(&owner, bucket, count, payload(4 * KIB), 16, None).await?;
    if let Some(policy) = policy {
        owner.put_bucket_policy().bucket(bucket).policy(policy).send().await?;
    }
    let raw = RawClient::new(&ctx.endpoint, reader_key, reader_secret);
    warm_up(&raw, bucket, count).await;
    Ok(timed_4k_gets(&ctx, raw, bucket, count).await)
}

/// Reads every object once, untimed, so the GET scenarios measure what their limit is — reading
/// from the page cache — for every server alike (Lagoa writes large bodies with direct I/O, so a
/// fresh object is not cached; the multipart scenario's GET right after its upload is the cold read).
async fn warm_up(raw: &RawClient, bucket: &str, count: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| async move {
            raw.get(bucket, &key(i)).await;
        })
        .await;
}

async fn get_objects(ctx: Ctx, size: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    get_objects_in(ctx, size, concurrency, false).await
}

/// [`get_objects`] of objects sealed with SSE-S3 when `sealed`.
async fn get_objects_in(ctx: Ctx, size: usize, concurrency: usize, sealed: bool) -> anyhow::Result<Outcome> {
    let bucket = format!("get-{size}-c{concurrency}{}", if sealed { "-sse" } else { "" });
    make_bucket(&ctx.client, &bucket).await?;
    if sealed {
        encrypt_by_default(&ctx.client, &bucket).await?;
    }
    let (count, budget) = if size >= 64 * MIB {
        (
            4,
            Budget {
                concurrency,
                duration: None,
                total: Some(ctx.scale.large_objects),
            },
        )
    } else if size >= MIB {
        (
            64,
            Budget {
                concurrency,
                duration: Some(ctx.scale.timed),
                total: None,
            },
        )
    } else {
        (
            ctx.scale.small_objects,
            Budget {
                concurrency,
                duration: Some(ctx.scale.timed),
                total: None,
            },
        )
    };
    fill(&ctx.client, &bucket, count, payload(size), concurrency.min(16), None).await?;
    warm_up(&ctx.raw, &bucket, count).await;
    let raw = ctx.raw.clone();
    Ok(drive(ctx.pid, budget, move |i| {
        let (raw, bucket) = (raw.clone(), bucket.clone());
        async move { raw.get(&bucket, &key((i * 7919) % count)).await.filter(|n| *n == size as u64) }
    })
    .await)
}

/// Sets a bucket's default encryption to SSE-S3 (the objects written after it are sealed).
async fn encrypt_by_default(c: &Client, bucket: &str) -> anyhow::Result<()> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()?,
        )
        .build();
    c.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(ServerSideEncryptionConfiguration::builder().rules(rule).build()?)
        .send()
        .await?;
    Ok(())
}

/// The sealed range scenario's name: what a 1 MiB range GET inside a 1 GiB SSE-S3 object reads.
pub const SEALED_RANGE: &str = "range-1m-in-1g-sse-s3";

/// Range GETs of 1 MiB at unaligned offsets inside one SSE-S3 object of `huge_bytes`, counting
/// what the server reads: `rchar` (bytes its read calls returned: the packages it opened, plus
/// the small request heads) and `read_bytes` (what the block device delivered, kernel readahead
/// included). The figure is the server's bytes read per GET, in MiB (`secondary`).
async fn range_in_sealed_object(ctx: Ctx) -> anyhow::Result<Outcome> {
    const GETS: usize = 32;
    let bucket = "range-sse";
    make_bucket(&ctx.client, bucket).await?;
    encrypt_by_default(&ctx.client, bucket).await?;
    let size = ctx.scale.huge_bytes as usize;
    anyhow::ensure!(
        ctx.raw.put(bucket, "big", payload(size)).await,
        "storing the sealed object failed"
    );
    let pid = ctx
        .pid
        .ok_or_else(|| anyhow::anyhow!("the range scenario needs the server's pid"))?;
    let before = crate::proc_stats::io_counters(pid)?;
    let client = ctx.client.clone();
    let mut out = drive(
        ctx.pid,
        Budget {
            concurrency: 1,
            duration: None,
            total: Some(GETS),
        },
        move |i| {
            let client = client.clone();
            async move {
                let start = (i * 7_919 * 4_099 + 12_345) % (size - MIB);
                let got = client
                    .get_object()
                    .bucket(bucket)
                    .key("big")
                    .range(format!("bytes={start}-{}", start + MIB - 1))
                    .send()
                    .await
                    .ok()?;
                drain(got).await.filter(|n| *n == MIB as u64)
            }
        },
    )
    .await;
    let after = crate::proc_stats::io_counters(pid)?;
    let per_get = |a: u64, b: u64| a.saturating_sub(b) as f64 / GETS as f64 / MIB as f64;
    let (rchar, device) = (
        per_get(after.rchar, before.rchar),
        per_get(after.read_bytes, before.read_bytes),
    );
    out.secondary = Some(rchar);
    out.note = format!(
        "per 1 MiB range GET the server read {rchar:.3} MiB (rchar), {device:.3} MiB from the block device (read_bytes, kernel readahead included)"
    );
    Ok(out)
}

async fn head_objects(ctx: Ctx) -> anyhow::Result<Outcome> {
    make_bucket(&ctx.client, "head-small").await?;
    let count = ctx.scale.small_objects;
    fill(&ctx.client, "head-small", count, payload(4 * KIB), 16, None).await?;
    let raw = ctx.raw.clone();
    let budget = Budget {
        concurrency: 16,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    Ok(drive(ctx.pid, budget, move |i| {
        let raw = raw.clone();
        async move { raw.head("head-small", &key((i * 7919) % count)).await.then_some(0) }
    })
    .await)
}

async fn delete_objects(ctx: Ctx) -> anyhow::Result<Outcome> {
    make_bucket(&ctx.client, "delete-small").await?;
    let count = ctx.scale.delete_objects;
    fill(&ctx.client, "delete-small", count, payload(4 * KIB), 16, None).await?;
    let raw = ctx.raw.clone();
    let budget = Budget {
        concurrency: 16,
        duration: None,
        total: Some(count),
    };
    let mut out = drive(ctx.pid, budget, move |i| {
        let raw = raw.clone();
        async move { raw.delete("delete-small", &key(i)).await.then_some(0) }
    })
    .await;
    let left = ctx.client.list_objects_v2().bucket("delete-small").send().await?;
    if left.key_count().unwrap_or(0) != 0 {
        out.errors += 1;
        out.note = format!("({} objects left after deleting all)", left.key_count().unwrap_or(0));
    }
    Ok(out)
}

/// 70% GETs and 30% PUTs (overwrites) of 64 KiB objects, 16 concurrent.
async fn mix(ctx: Ctx) -> anyhow::Result<Outcome> {
    make_bucket(&ctx.client, "mix").await?;
    let count = 500;
    let size = 64 * KIB;
    fill(&ctx.client, "mix", count, payload(size), 16, None).await?;
    let body = payload(size);
    let raw = ctx.raw.clone();
    let budget = Budget {
        concurrency: 16,
        duration: Some(ctx.scale.timed),
        total: None,
    };
    Ok(drive(ctx.pid, budget, move |i| {
        let (raw, body) = (raw.clone(), body.clone());
        async move {
            let k = key((i * 7919) % count);
            if i % 10 < 7 {
                raw.get("mix", &k).await.filter(|n| *n == size as u64)
            } else {
                raw.put("mix", &k, body).await.then_some(size as u64)
            }
        }
    })
    .await)
}

/// A multipart upload of `huge_bytes` in 16 MiB parts, 8 in flight, streamed from a file (the
/// client holds no part in memory); then one GET of the whole object. Headline: upload MiB/s;
/// the GET's MiB/s is the secondary figure; peak RSS covers both.
async fn multipart_huge(ctx: Ctx) -> anyhow::Result<Outcome> {
    use std::io::Write;
    const PART: u64 = 16 * MIB as u64;
    let c = ctx.client.clone();
    make_bucket(&c, "huge").await?;
    let mut file = tempfile::NamedTempFile::new()?;
    let block = payload(MIB);
    for _ in 0..ctx.scale.huge_bytes / MIB as u64 {
        file.write_all(&block)?;
    }
    file.flush()?;
    let path = Arc::new(file.path().to_path_buf());
    let size = ctx.scale.huge_bytes;
    let parts = size.div_ceil(PART) as usize;
    let t0 = Instant::now();
    let upload = c.create_multipart_upload().bucket("huge").key("one").send().await?;
    let id = Arc::new(upload.upload_id().unwrap_or_default().to_owned());
    let etags = Arc::new(std::sync::Mutex::new(vec![String::new(); parts]));
    let (c2, etags2, id2) = (c.clone(), etags.clone(), id.clone());
    let mut up = drive(
        ctx.pid,
        Budget {
            concurrency: 8,
            duration: None,
            total: Some(parts),
        },
        move |i| {
            let (c, path, etags, id) = (c2.clone(), path.clone(), etags2.clone(), id2.clone());
            async move {
                let offset = i as u64 * PART;
                let len = PART.min(size - offset);
                let body = ByteStream::read_from()
                    .path(path.as_ref())
                    .offset(offset)
                    .length(aws_smithy_types::byte_stream::Length::Exact(len))
                    .build()
                    .await
                    .ok()?;
                let out = c
                    .upload_part()
                    .bucket("huge")
                    .key("one")
                    .upload_id(id.as_str())
                    .part_number(i as i32 + 1)
                    .body(body)
                    .send()
                    .await
                    .ok()?;
                etags.lock().ok()?[i] = out.e_tag()?.to_owned();
                Some(len)
            }
        },
    )
    .await;
    let completed: Vec<CompletedPart> = etags
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .iter()
        .enumerate()
        .map(|(i, e)| CompletedPart::builder().part_number(i as i32 + 1).e_tag(e).build())
        .collect();
    let done = c
        .complete_multipart_upload()
        .bucket("huge")
        .key("one")
        .upload_id(id.as_str())
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
        .send()
        .await;
    if done.is_err() {
        up.errors += 1;
    }
    up.secs = t0.elapsed().as_secs_f64();
    let c3 = c.clone();
    let get = drive(
        ctx.pid,
        Budget {
            concurrency: 1,
            duration: None,
            total: Some(1),
        },
        move |_| {
            let c = c3.clone();
            async move {
                drain(c.get_object().bucket("huge").key("one").send().await.ok()?)
                    .await
                    .filter(|n| *n == size)
            }
        },
    )
    .await;
    up.secondary = Some(get.mib_per_sec());
    up.note = format!("(then GET {:.0} MiB/s, the first read after the upload)", get.mib_per_sec());
    up.errors += get.errors;
    up.cpu_secs += get.cpu_secs;
    up.peak_rss_mib = up.peak_rss_mib.max(get.peak_rss_mib);
    Ok(up)
}

/// Fills the listing bucket with up to `list_keys` empty objects (64 writers, within the fill
/// budget); returns how many keys it holds.
pub async fn list_fill(ctx: &Ctx) -> anyhow::Result<usize> {
    make_bucket(&ctx.client, "list").await?;
    let deadline = Instant::now() + ctx.scale.list_fill_budget;
    fill(&ctx.client, "list", ctx.scale.list_keys, Bytes::new(), 64, Some(deadline)).await
}

/// Fills the versioned listing bucket `vlist`: each key gets 3 versions (empty bodies), every
/// tenth then a delete marker; keys are done one at a time by 64 workers until `list_keys` or
/// three times the unversioned fill budget. Returns how many keys exist (a contiguous prefix).
pub async fn list_fill_versioned(ctx: &Ctx) -> anyhow::Result<usize> {
    let c = ctx.client.clone();
    make_bucket(&c, "vlist").await?;
    enable_versioning(&c, "vlist").await?;
    let deadline = Instant::now() + ctx.scale.list_fill_budget * 3;
    let count = ctx.scale.list_keys;
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (c, next, done) = (c.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                if Instant::now() >= deadline {
                    return anyhow::Ok(());
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return anyhow::Ok(());
                }
                for _ in 0..3 {
                    c.put_object()
                        .bucket("vlist")
                        .key(key(i))
                        .body(ByteStream::from_static(b""))
                        .send()
                        .await?;
                }
                if i % 10 == 0 {
                    c.delete_object().bucket("vlist").key(key(i)).send().await?;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// ListObjectVersions rounds on `vlist`: 1000-entry pages from random key markers (p50/p99),
/// then a full paged walk (entries/s, the secondary figure).
pub async fn list_versions_round(ctx: &Ctx, keys: usize) -> anyhow::Result<Outcome> {
    let c = ctx.client.clone();
    let budget = Budget {
        concurrency: 1,
        duration: Some(ctx.scale.timed * 6),
        total: Some(ctx.scale.list_samples),
    };
    let seed = rand::random::<u32>() as usize;
    let mut out = drive(ctx.pid, budget, move |i| {
        let c = c.clone();
        async move {
            let start = (seed + i * 104_729) % keys.max(1);
            let page = c
                .list_object_versions()
                .bucket("vlist")
                .key_marker(key(start))
                .max_keys(1000)
                .send()
                .await
                .ok()?;
            let entries = page.versions().len() + page.delete_markers().len();
            (entries == 1000 || page.is_truncated() != Some(true)).then_some(0)
        }
    })
    .await;
    let t0 = Instant::now();
    let walk_budget = ctx.scale.timed * 24;
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    let mut seen = 0usize;
    loop {
        let page = ctx
            .client
            .list_object_versions()
            .bucket("vlist")
            .max_keys(1000)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await?;
        seen += page.versions().len() + page.delete_markers().len();
        if page.is_truncated() != Some(true) || t0.elapsed() > walk_budget {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    let walk = t0.elapsed().as_secs_f64();
    let expected = keys * 3 + keys.div_ceil(10);
    out.secondary = Some(seen as f64 / walk);
    out.note = format!(
        "({keys} keys, {expected} versions and markers; walk {}: {seen} in {walk:.1}s = {:.0}/s)",
        if seen >= expected {
            "complete"
        } else {
            "stopped at its time budget"
        },
        seen as f64 / walk
    );
    Ok(out)
}

/// One listing round: 1000-key ListObjectsV2 pages at random start positions (p50/p99), then a
/// full paged walk of the bucket (keys/s, the secondary figure).
pub async fn list_round(ctx: &Ctx, keys: usize) -> anyhow::Result<Outcome> {
    list_round_in(ctx, "list", keys, None).await
}

/// [`list_round`] on `bucket`, whose `keys` keys (`k/00000000`…) are all listed except, with
/// `marker_every: Some(n)`, every n-th (hidden under a delete marker).
pub async fn list_round_in(ctx: &Ctx, bucket: &'static str, keys: usize, marker_every: Option<usize>) -> anyhow::Result<Outcome> {
    // How many listed keys come after key `start`.
    let listed_after = move |start: usize| {
        let after = keys - start - 1;
        match marker_every {
            Some(n) => after - ((keys - 1) / n - start / n),
            None => after,
        }
    };
    let c = ctx.client.clone();
    let budget = Budget {
        concurrency: 1,
        duration: Some(ctx.scale.timed * 6),
        total: Some(ctx.scale.list_samples),
    };
    let seed = rand::random::<u32>() as usize;
    let mut out = drive(ctx.pid, budget, move |i| {
        let c = c.clone();
        async move {
            let start = (seed + i * 104_729) % keys.max(1);
            let page = c
                .list_objects_v2()
                .bucket(bucket)
                .start_after(key(start))
                .max_keys(1000)
                .send()
                .await
                .ok()?;
            (page.key_count().unwrap_or(0) as usize == 1000.min(listed_after(start))).then_some(0)
        }
    })
    .await;
    let t0 = Instant::now();
    let walk_budget = ctx.scale.timed * 24;
    let mut token: Option<String> = None;
    let mut seen = 0usize;
    loop {
        let page = ctx
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(1000)
            .set_continuation_token(token.clone())
            .send()
            .await?;
        seen += page.key_count().unwrap_or(0) as usize;
        if page.is_truncated() != Some(true) || t0.elapsed() > walk_budget {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    let walk = t0.elapsed().as_secs_f64();
    let total = keys.saturating_sub(marker_every.map_or(0, |n| keys.div_ceil(n)));
    let complete = seen >= total;
    out.secondary = Some(seen as f64 / walk);
    out.note = format!(
        "({keys} keys; walk {}: {seen} keys in {walk:.1}s = {:.0} keys/s)",
        if complete { "complete" } else { "stopped at its time budget" },
        seen as f64 / walk
    );
    Ok(out)
}
