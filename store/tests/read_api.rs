//! The store's read API as the compute engine uses it: snapshots with positional reads, a
//! read-only secondary on a live volume, and opening split from garbage collection.

use bytes::Bytes;
use lagoa_store::{Completion, NewObject, Store, StoreConfig, StoreReader};

fn config() -> StoreConfig {
    StoreConfig {
        inline_max_bytes: 1024,
        min_part_size: 1,
        ..StoreConfig::default()
    }
}

async fn put(store: &Store, bucket: &str, key: &str, data: &[u8]) {
    let mut writer = store.body_writer(());
    writer.write(Bytes::copy_from_slice(data)).await.unwrap();
    let body = writer.finish().await.unwrap();
    store.put_object(bucket, key, body, NewObject::default()).await.unwrap();
}

async fn put_multipart(store: &Store, bucket: &str, key: &str, parts: &[&[u8]]) {
    let id = store
        .create_upload(bucket, key, Default::default(), "root", Default::default())
        .await
        .unwrap();
    let mut listed = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let mut writer = store.body_writer(());
        writer.write(Bytes::copy_from_slice(data)).await.unwrap();
        let body = writer.finish().await.unwrap();
        let number = i as u32 + 1;
        let part = store
            .put_part(bucket, key, &id, number, body, Default::default())
            .await
            .unwrap();
        listed.push((number, part.extent.md5));
    }
    let completion = Completion {
        listed,
        condition: Default::default(),
        checksums: Default::default(),
        checksum_type: None,
        derived_from: Vec::new(),
    };
    store.complete_upload(bucket, key, &id, completion).await.unwrap();
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[tokio::test]
async fn read_at_returns_any_range_across_inline_and_file_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store.create_bucket("b", "root", "us-east-1").await.unwrap();
    // Part 1 is stored inline (≤ 1 KiB), parts 2 and 3 as files.
    let parts = [pattern(700, 1), pattern(5000, 2), pattern(3000, 3)];
    put_multipart(&store, "b", "mp", &[&parts[0], &parts[1], &parts[2]]).await;
    let whole: Vec<u8> = parts.concat();
    let snap = store.reader().snapshot("b", "mp").await.unwrap();
    assert_eq!(snap.size(), whole.len() as u64);
    for (offset, len) in [
        (0, 10),
        (690, 20),
        (0, 8700),
        (5690, 20),
        (8690, 100),
        (8700, 5),
        (100, 0),
        (7000, 1),
    ] {
        let got = snap.read_at(offset, len).unwrap();
        let end = (offset + len).min(whole.len() as u64) as usize;
        assert_eq!(&got[..], &whole[offset as usize..end], "range {offset}+{len}");
    }
}

#[tokio::test]
async fn a_snapshot_keeps_reading_the_version_it_opened_after_an_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store.create_bucket("b", "root", "us-east-1").await.unwrap();
    let (old, new) = (pattern(1 << 20, 7), pattern(1 << 20, 9));
    put(&store, "b", "k", &old).await;
    let snap = store.reader().snapshot("b", "k").await.unwrap();
    put(&store, "b", "k", &new).await;
    let request = lagoa_store::DeleteRequest {
        key: "k".into(),
        ..Default::default()
    };
    store.delete_object("b", request, "root").await.unwrap();
    assert_eq!(snap.read_at(0, 1 << 20).unwrap(), Bytes::from(old));
    let missing = store.reader().snapshot("b", "k").await;
    assert!(missing.is_err(), "the deleted key must not be found");
}

#[tokio::test]
async fn a_secondary_sees_writes_after_catching_up_and_never_removes_files() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store.create_bucket("b", "root", "us-east-1").await.unwrap();
    put(&store, "b", "one", &pattern(4096, 1)).await;
    let reader = StoreReader::open_secondary(dir.path(), scratch.path()).unwrap();
    let page = reader.list_objects("b", "", None, None, 100).await.unwrap();
    assert_eq!(page.entries.len(), 1);

    put(&store, "b", "two", &pattern(4096, 2)).await;
    reader.catch_up().await.unwrap();
    let page = reader.list_objects("b", "", None, None, 100).await.unwrap();
    assert_eq!(
        page.entries.len(),
        2,
        "a write acknowledged before catch_up is visible after it"
    );
    let snap = reader.snapshot("b", "two").await.unwrap();
    assert_eq!(snap.read_at(0, 4096).unwrap(), Bytes::from(pattern(4096, 2)));

    // Staging debris belongs to the primary: the secondary leaves it alone.
    std::fs::write(dir.path().join("tmp/in-flight"), b"x").unwrap();
    drop(StoreReader::open_secondary(dir.path(), scratch.path()).unwrap());
    assert!(dir.path().join("tmp/in-flight").exists());
}

#[tokio::test]
async fn a_secondary_on_a_missing_volume_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let err = StoreReader::open_secondary(&dir.path().join("nothing"), scratch.path())
        .err()
        .expect("no volume there");
    assert!(err.to_string().contains("no data volume"), "{err}");
}

#[test]
fn opening_removes_nothing_until_garbage_is_collected() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), config()).unwrap());
    let debris = dir.path().join("tmp/staged");
    std::fs::write(&debris, b"x").unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    assert!(debris.exists(), "open must not collect garbage");
    store.collect_garbage().unwrap();
    assert!(!debris.exists());
}

#[tokio::test]
async fn listing_with_a_delimiter_seeks_past_each_common_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store.create_bucket("b", "root", "us-east-1").await.unwrap();
    for key in ["a/1", "a/2", "a/3", "b", "c/x/1", "c/y"] {
        put(&store, "b", key, b"x").await;
    }
    let page = store.reader().list_objects("b", "", Some("/"), None, 2).await.unwrap();
    let names: Vec<_> = page.entries.iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(names, ["a/", "b"]);
    assert!(page.truncated);
    let page = store.reader().list_objects("b", "", Some("/"), Some("b"), 10).await.unwrap();
    let names: Vec<_> = page.entries.iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(names, ["c/"]);
    assert!(!page.truncated);
}
