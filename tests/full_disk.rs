//! A full data volume: writes are refused cleanly (507 XMinioStorageFull, nothing stored),
//! reads and deletes go on, readiness reports it, and everything recovers by itself once space
//! is freed — also after RocksDB itself ran out of space. Each server runs on a real, small
//! tmpfs volume of its own (a private mount namespace, so no root is needed).

mod common;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

/// A server whose data directory is a fresh tmpfs of `size` (e.g. `48m`).
fn small_volume_server(size: &str, args: &[&str]) -> TestServer {
    let dir = tempfile::tempdir().unwrap().keep();
    let wrapper = dir.join("lagoa-on-tmpfs");
    // $1 = serve, $2 = --data, $3 = the data directory (see the harness).
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nexec unshare --mount --map-root-user sh -c \
         'mount -t tmpfs -o size=\"$LAGOA_TEST_TMPFS\" lagoa-test \"$3\" && exec \"$LAGOA_TEST_REAL_BINARY\" \"$@\"' sh \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut o = ServerOptions::new(&wrapper);
    o.args = args.iter().map(|s| s.to_string()).collect();
    o.env = vec![
        ("LAGOA_TEST_TMPFS".into(), size.into()),
        ("LAGOA_TEST_REAL_BINARY".into(), binary()),
    ];
    TestServer::start(o)
}

/// The data directory as the server sees it (inside its mount namespace).
fn volume(s: &TestServer) -> PathBuf {
    let pid = s.pid().unwrap();
    PathBuf::from(format!("/proc/{pid}/root{}", s.data_dir().display()))
}

/// Fills the volume with a file of another program until it is full, then gives `leave`
/// bytes back; returns the file.
fn fill_volume(s: &TestServer, leave: u64) -> PathBuf {
    let filler = volume(s).join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0x5a; 256 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the volume: {e}"),
        }
    }
    f.set_len(written.saturating_sub(leave)).unwrap();
    filler
}

async fn ready(s: &TestServer) -> u16 {
    reqwest::get(format!("{}/minio/health/ready", s.endpoint))
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn wait_ready(s: &TestServer, want: u16) {
    let start = Instant::now();
    while ready(s).await != want {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "readiness never turned {want}; server log:\n{}",
            s.logs().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn assert_storage_full<E>(err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    assert_eq!(status(err), 507, "{err:?}");
    assert_eq!(code(err), "XMinioStorageFull");
}

#[tokio::test]
async fn a_full_volume_refuses_writes_with_507_and_recovers() {
    let s = small_volume_server("64m", &["--min-free", "8MiB"]);
    let c = s.client();
    bucket(&c, "full").await;
    assert_eq!(ready(&s).await, 200);

    // Lagoa's own writes stop at the reserve: 4 MiB objects until one is refused.
    let body = data(4 << 20, 3);
    let mut stored = Vec::new();
    loop {
        let key = format!("o{}", stored.len());
        match c.put_object().bucket("full").key(&key).body(body.clone().into()).send().await {
            Ok(_) => stored.push(key),
            Err(err) => {
                assert_storage_full(&err);
                break;
            }
        }
        assert!(
            stored.len() < 16,
            "a 64 MiB volume cannot take 64 MiB of objects and a reserve"
        );
    }
    assert!(stored.len() >= 8, "only {} objects fit before the reserve", stored.len());
    let refused = format!("o{}", stored.len());
    let head = c.head_object().bucket("full").key(&refused).send().await;
    assert!(head.is_err(), "a refused write stores nothing");
    // A multipart part is refused the same way.
    let upload = c.create_multipart_upload().bucket("full").key("mp").send().await.unwrap();
    let part = c
        .upload_part()
        .bucket("full")
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .part_number(1)
        .body(data(12 << 20, 4).into())
        .send()
        .await
        .unwrap_err();
    assert_storage_full(&part);
    assert_eq!(get(&c, "full", &stored[0]).await, body, "reads go on");

    // Another program fills the volume below the reserve (but not to the last byte).
    let filler = fill_volume(&s, 2 << 20);
    wait_ready(&s, 503).await;
    let small = c
        .put_object()
        .bucket("full")
        .key("tiny")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_storage_full(&small);
    // Deletes free space and are never refused.
    c.delete_object().bucket("full").key(&stored[0]).send().await.unwrap();
    c.abort_multipart_upload()
        .bucket("full")
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .send()
        .await
        .unwrap();

    // Space comes back: so do writes and readiness, without a restart.
    std::fs::remove_file(&filler).unwrap();
    wait_ready(&s, 200).await;
    put(&c, "full", "again", &body).await;
    assert_eq!(get(&c, "full", "again").await, body);
}

#[tokio::test]
async fn the_metadata_database_recovers_after_running_out_of_space() {
    // No reserve: the volume really fills, and RocksDB's own write fails with ENOSPC. (RocksDB
    // resumes only once 64 MiB are free — its write buffers — so the volume is larger here.)
    let s = small_volume_server("160m", &["--min-free", "0"]);
    let c = s.client();
    bucket(&c, "wal").await;
    put(&c, "wal", "before", b"kept").await;
    // Leave less room than one memtable (16 MiB): small objects (stored inline in RocksDB) fill
    // the WAL or the memtable's flush, and the database's own write hits ENOSPC.
    let filler = fill_volume(&s, 8 << 20);
    let small = data(100 * 1024, 5);
    let mut n = 0;
    let err = loop {
        match c
            .put_object()
            .bucket("wal")
            .key(format!("k{n}"))
            .body(small.clone().into())
            .send()
            .await
        {
            Ok(_) => n += 1,
            Err(err) => break err,
        }
        assert!(n < 1000, "20 MiB cannot take 100 MB");
    };
    // 507, not a retryable 500. (Readiness is 503 now if RocksDB stopped, or if the volume has
    // under 1 MiB left; which of the two depends on where the space ran out.)
    assert_storage_full(&err);
    assert_eq!(get(&c, "wal", "before").await, b"kept");

    std::fs::remove_file(&filler).unwrap();
    wait_ready(&s, 200).await;
    put(&c, "wal", "after", b"written").await;
    assert_eq!(get(&c, "wal", "after").await, b"written");
    assert_eq!(get(&c, "wal", "before").await, b"kept");
}
