//! Near-data overhead: the same Parquet scan through Lagoa's `ObjectStore` (the compute engine
//! embedded over a store, as `lagoa serve` runs it) and through DataFusion on the same bytes as
//! a local file. Also the bytes the store reads for a selective query (row-group pruning).
//!
//! `cargo bench -p lagoa-benches --bench near_data` (LAGOA_BENCH_DIR: where the data goes,
//! default the system temp dir; LAGOA_BENCH_ROWS: rows, default 20,000,000).

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use lagoa_compute::datafusion::prelude::{SessionConfig, SessionContext};
use lagoa_compute::{Caller, ComputeConfig, Engine};
use lagoa_store::{NewObject, Store, StoreConfig};

const RUNS: usize = 7;

fn rchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("rchar:").map(|v| v.trim().parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

async fn drain(mut stream: lagoa_compute::datafusion::physical_plan::SendableRecordBatchStream) -> usize {
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.expect("query failed").num_rows();
    }
    rows
}

#[tokio::main]
async fn main() {
    let parent = std::env::var("LAGOA_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    std::fs::create_dir_all(&parent).unwrap();
    let dir = tempfile::tempdir_in(&parent).unwrap();
    let rows: u64 = std::env::var("LAGOA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let file = dir.path().join("orders.parquet");

    // The data: ids ascending (row groups of 1M rows), a state, an amount, a note.
    let local = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads)).enable_url_table();
    let copy = format!(
        "COPY (SELECT value AS order_id, CASE value % 7 WHEN 0 THEN 'SP' WHEN 1 THEN 'RJ' ELSE 'MG' END AS state, \
         (value * 7919) % 100000 / 100.0 AS amount, concat('nota ', value % 1000) AS note \
         FROM generate_series(0, {}) ) TO '{}' STORED AS PARQUET OPTIONS ('format.max_row_group_size' '1048576')",
        rows - 1,
        file.display()
    );
    drain(local.sql(&copy).await.unwrap().execute_stream().await.unwrap()).await;
    let bytes = std::fs::read(&file).unwrap();
    let size = bytes.len();

    let store = Store::open(&dir.path().join("volume"), StoreConfig::default()).unwrap();
    store.create_bucket("lake", "root", "us-east-1").await.unwrap();
    let mut writer = store.body_writer(());
    for chunk in bytes.chunks(1 << 20) {
        writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    drop(bytes);
    let body = writer.finish().await.unwrap();
    store
        .put_object("lake", "orders.parquet", body, NewObject::default())
        .await
        .unwrap();
    let engine = Engine::embedded(
        store,
        ComputeConfig {
            memory_limit: None,
            spill_dir: dir.path().join("spill"),
            target_partitions: threads,
            spill_limit: 1 << 30,
        },
    )
    .unwrap();
    let root = Caller {
        access_key: "root".into(),
        secret_key: String::new(),
        access: std::sync::Arc::new(lagoa_compute::Unrestricted),
        customer_key: None,
    };

    let scan = "SELECT state, count(*), sum(amount), max(length(note)) FROM {t} GROUP BY state";
    let lake_sql = scan.replace("{t}", "'s3://lake/orders.parquet'");
    let local_sql = scan.replace("{t}", &format!("'{}'", file.display()));
    let (mut lake, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        drain(engine.run(&root, &lake_sql).await.unwrap()).await;
        lake.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        drain(local.sql(&local_sql).await.unwrap().execute_stream().await.unwrap()).await;
        plain.push(t.elapsed().as_secs_f64());
    }
    lake.sort_by(f64::total_cmp);
    plain.sort_by(f64::total_cmp);
    let (l, p) = (lake[RUNS / 2], plain[RUNS / 2]);
    println!(
        "full scan of {rows} rows ({:.0} MiB Parquet), median of {RUNS}: Lagoa ObjectStore {l:.3} s, local file {p:.3} s: {:.1}% overhead",
        size as f64 / 1048576.0,
        (l / p - 1.0) * 100.0
    );

    let selective = format!(
        "SELECT count(*), sum(amount) FROM 's3://lake/orders.parquet' WHERE order_id >= {} AND order_id < {}",
        rows / 2,
        rows / 2 + rows / 100
    );
    let before = rchar();
    let t = Instant::now();
    drain(engine.run(&root, &selective).await.unwrap()).await;
    let read = rchar() - before;
    println!(
        "1%-selective query: read {:.1} MiB of {:.0} MiB ({:.1}%) in {:.3} s",
        read as f64 / 1048576.0,
        size as f64 / 1048576.0,
        read as f64 * 100.0 / size as f64,
        t.elapsed().as_secs_f64()
    );
}
