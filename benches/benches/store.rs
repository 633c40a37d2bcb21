//! Criterion micro-benchmarks of the storage engine alone (no HTTP, no S3 parsing): what a PUT,
//! GET and LIST page cost inside `lagoa-store`, on a real data directory (fsyncs included).
//! Run with `cargo bench -p lagoa-benches --bench store`; set LAGOA_BENCH_DIR to put the data
//! directory on the disk to measure (default: the system temp dir).

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lagoa_store::{NewObject, Store, StoreConfig};
use tokio::runtime::Runtime;

const BUCKET: &str = "bench";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn open(rt: &Runtime) -> (tempfile::TempDir, Store) {
    let dir = match std::env::var_os("LAGOA_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    let store = Store::open(dir.path(), StoreConfig::default()).expect("open store");
    rt.block_on(store.create_bucket(BUCKET, "bench", "us-east-1"))
        .expect("bucket");
    (dir, store)
}

async fn put(store: &Store, key: &str, body: &Bytes) {
    let mut writer = store.body_writer(());
    for chunk in body.chunks(64 * 1024) {
        writer.write(body.slice_ref(chunk)).await.expect("write");
    }
    let staged = writer.finish().await.expect("finish");
    store
        .put_object(BUCKET, key, staged, NewObject::default())
        .await
        .expect("put");
}

fn puts(c: &mut Criterion) {
    let rt = runtime();
    let (_dir, store) = open(&rt);
    let mut group = c.benchmark_group("put");
    group.sample_size(20);
    let n = AtomicUsize::new(0);
    for size in [4 * 1024, 1024 * 1024] {
        let body = Bytes::from(vec![0x5a; size]);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.to_async(&rt).iter(|| async {
                let key = format!("p/{}", n.fetch_add(1, Ordering::Relaxed));
                put(&store, &key, body).await
            });
        });
    }
    group.finish();
}

fn gets(c: &mut Criterion) {
    let rt = runtime();
    let (_dir, store) = open(&rt);
    let body = Bytes::from(vec![0x5a; 4 * 1024]);
    rt.block_on(async {
        for i in 0..1000 {
            put(&store, &format!("g/{i:04}"), &body).await;
        }
    });
    let n = AtomicUsize::new(0);
    c.bench_function("get/4096", |b| {
        b.to_async(&rt).iter(|| async {
            let key = format!("g/{:04}", n.fetch_add(7, Ordering::Relaxed) % 1000);
            let handle = store.open_object(BUCKET, &key).await.expect("open");
            let size = handle.meta.size;
            let mut stream = handle.read(0, size).await.expect("read");
            let mut got = 0;
            while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
                got += chunk.expect("chunk").len();
            }
            assert_eq!(got, 4096);
        });
    });
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs each benchmark once without
/// it, and then the listing bucket is kept small so that the test run stays fast.
fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn lists(c: &mut Criterion) {
    use futures::StreamExt;
    let rt = runtime();
    let (_dir, store) = open(&rt);
    let keys = if benchmarking() { 100_000 } else { 2_000 };
    rt.block_on(async {
        let empty = Bytes::new();
        // Concurrent writers share WAL syncs (group commit), as concurrent clients would.
        futures::stream::iter(0..keys)
            .for_each_concurrent(32, |i| {
                let (store, empty) = (&store, &empty);
                async move { put(store, &format!("l/{i:08}"), empty).await }
            })
            .await;
    });
    let n = AtomicUsize::new(0);
    c.bench_function(&format!("list/page-1000-of-{keys}"), |b| {
        b.to_async(&rt).iter(|| async {
            let start = format!("l/{:08}", (n.fetch_add(1, Ordering::Relaxed) * 7919) % (keys - 1000));
            let page = store.list_objects(BUCKET, "", None, Some(&start), 1000).await.expect("list");
            assert_eq!(page.entries.len(), 1000);
        });
    });
}

criterion_group!(benches, puts, gets, lists);
criterion_main!(benches);
