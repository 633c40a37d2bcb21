//! `lagoa olist generate` writes the Olist dataset (see the `lagoa-olist` crate); `lagoa olist
//! load` uploads the nine files to a bucket over S3, as any S3 client could: one PUT for small
//! files, a multipart upload for big ones, with the caller's credentials.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lagoa_compute::datafusion::object_store::{self, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

/// `lagoa olist …`
#[derive(Subcommand)]
pub enum OlistCommand {
    /// Write the nine Kaggle CSVs of the Olist dataset, quirks included.
    Generate(GenerateArgs),
    /// Upload the nine CSVs from a directory to a bucket.
    Load(LoadArgs),
}

/// `lagoa olist generate` arguments.
#[derive(Args)]
pub struct GenerateArgs {
    /// Size relative to the real dataset (1 = 99,441 orders, a million geolocation rows).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Seed: the same seed and scale always write the same bytes.
    #[arg(long, default_value_t = 2018)]
    seed: u64,
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// `lagoa olist load` arguments.
#[derive(Args)]
pub struct LoadArgs {
    /// Directory holding the nine CSVs.
    dir: PathBuf,
    /// The S3 endpoint.
    #[arg(long, env = "LAGOA_S3_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    endpoint: String,
    /// Bucket to load into (created when missing).
    #[arg(long, default_value = "datalake")]
    bucket: String,
    /// Key prefix of the files.
    #[arg(long, default_value = "olist/")]
    prefix: String,
    /// Region requests are signed for.
    #[arg(long, env = "LAGOA_REGION", default_value = "us-east-1")]
    region: String,
    /// Files up to this size go up in one PUT, bigger ones as multipart uploads of parts this
    /// size (MiB, 5 to 5120: S3's part limits).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(5..=5120))]
    part_size_mib: u16,
}

/// Runs `lagoa olist …`.
pub async fn run(command: OlistCommand) -> anyhow::Result<()> {
    match command {
        OlistCommand::Generate(args) => tokio::task::spawn_blocking(move || generate(args))
            .await
            .context("the generator stopped")?,
        OlistCommand::Load(args) => load(args).await,
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let expected = lagoa_olist::Sizes::at(args.scale).total_rows();
    let bar = ProgressBar::new(expected).with_style(
        ProgressStyle::with_template("{spinner} {msg:40} [{bar:30}] {human_pos}/{human_len} rows, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let options = lagoa_olist::Options {
        scale: args.scale,
        seed: args.seed,
        out: args.out.clone(),
    };
    let sizes = lagoa_olist::generate(&options, &mut |file, rows| {
        bar.set_message(file.to_owned());
        bar.inc(rows);
    })?;
    bar.finish_and_clear();
    eprintln!(
        "wrote the Olist dataset at scale {} (seed {}) to {} in {:.1} s: {} customers, {} geolocation rows over {} prefixes, {} sellers, {} orders, {} items, {} payments, {} reviews, {} products",
        args.scale,
        args.seed,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        sizes.customers,
        sizes.geolocation_rows,
        sizes.geolocation_prefixes,
        sizes.sellers,
        sizes.orders,
        sizes.order_items,
        sizes.payments,
        sizes.reviews,
        sizes.products,
    );
    Ok(())
}

/// Parts in flight per upload.
const PARTS_IN_FLIGHT: usize = 4;

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut files = Vec::new();
    for name in lagoa_olist::FILES {
        let path = args.dir.join(name);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("{} is missing: `lagoa olist generate --out DIR` writes it", path.display()))?
            .len();
        files.push((name, path, size));
    }
    create_bucket(&args).await?;
    let (access_key, secret_key) = crate::credentials::client_credentials();
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&args.endpoint)
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_region(&args.region)
        .with_bucket_name(&args.bucket)
        .with_access_key_id(access_key)
        .with_secret_access_key(secret_key)
        .build()
        .context("configuring the S3 client")?;
    let total: u64 = files.iter().map(|f| f.2).sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{spinner} {msg:40} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for (name, path, size) in &files {
        bar.set_message(*name);
        let key = object_store::path::Path::from(format!("{}{name}", args.prefix));
        upload(&store, &key, path, *size, usize::from(args.part_size_mib) << 20, &bar)
            .await
            .with_context(|| format!("uploading {} to s3://{}/{key}", path.display(), args.bucket))?;
    }
    bar.finish_and_clear();
    eprintln!(
        "loaded {} files ({:.1} MiB) into s3://{}/{} in {:.1} s",
        files.len(),
        total as f64 / (1 << 20) as f64,
        args.bucket,
        args.prefix,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn upload(
    store: &object_store::aws::AmazonS3,
    key: &object_store::path::Path,
    path: &Path,
    size: u64,
    part_size: usize,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(path).await.context("opening the file")?;
    if size <= part_size as u64 {
        let mut body = Vec::with_capacity(size as usize);
        file.read_to_end(&mut body).await.context("reading the file")?;
        store.put(key, body.into()).await?;
        bar.inc(size);
        return Ok(());
    }
    let upload = store.put_multipart(key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        let n = match file.read(&mut buffer).await {
            Ok(n) => n,
            Err(e) => {
                writer.abort().await.ok();
                return Err(e).context("reading the file");
            }
        };
        if n == 0 {
            break;
        }
        writer.write(&buffer[..n]);
        bar.inc(n as u64);
    }
    writer.finish().await?;
    Ok(())
}

/// Creates the bucket unless the caller already has it.
async fn create_bucket(args: &LoadArgs) -> anyhow::Result<()> {
    let (access_key, secret_key) = crate::credentials::client_credentials();
    let url = format!("{}/{}", args.endpoint.trim_end_matches('/'), args.bucket);
    let mut request = http::Request::builder()
        .method("PUT")
        .uri(&url)
        .body(Vec::new())
        .context("building the request")?;
    crate::sql_cmd::sign_request(&mut request, &access_key, &secret_key, &args.region)?;
    let request = reqwest::Request::try_from(request.map(reqwest::Body::from)).context("building the request")?;
    let response = reqwest::Client::new()
        .execute(request)
        .await
        .with_context(|| format!("cannot reach {url} (is `lagoa serve` running there?)"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status.is_success() || text.contains("<Code>BucketAlreadyOwnedByYou</Code>") {
        return Ok(());
    }
    bail!("creating bucket {}: HTTP {status}: {text}", args.bucket)
}
