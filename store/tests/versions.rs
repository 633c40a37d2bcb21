//! The version chain against a model: random writes, deletes, version deletes and versioning
//! changes, then every read and listing compared with what S3's rules say the bucket holds.

use std::collections::BTreeMap;

use bytes::Bytes;
use lagoa_store::{
    DeleteOutcome, DeleteRequest, Deleted, NewObject, Store, StoreConfig, StoreError, VersionListEntry, VersionListQuery,
    Versioning,
};
use proptest::prelude::*;

/// One version in the model: its id (`None` = null), whether it is a marker, and its body.
#[derive(Debug, Clone, PartialEq)]
struct ModelVersion {
    id: Option<String>,
    marker: bool,
    body: Vec<u8>,
}

/// Each key's versions, newest first.
type Model = BTreeMap<String, Vec<ModelVersion>>;

#[derive(Debug, Clone)]
enum Op {
    Put(usize),
    Delete(usize),
    /// Delete the n-th (mod len) version of the key permanently.
    DeleteVersion(usize, usize),
    SetVersioning(bool),
}

const KEYS: [&str; 6] = ["a", "a\0", "a/b", "a/c/d", "b", "é"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS.len()).prop_map(Op::Put),
        2 => (0..KEYS.len()).prop_map(Op::Delete),
        2 => (0..KEYS.len(), 0..8usize).prop_map(|(k, n)| Op::DeleteVersion(k, n)),
        1 => any::<bool>().prop_map(Op::SetVersioning),
    ]
}

async fn put(store: &Store, key: &str, body: &[u8]) -> Option<String> {
    let mut writer = store.body_writer(());
    writer.write(Bytes::copy_from_slice(body)).await.unwrap();
    let staged = writer.finish().await.unwrap();
    store
        .put_object("bkt", key, staged, NewObject::default())
        .await
        .unwrap()
        .version_id
}

async fn delete(store: &Store, key: &str, version_id: Option<String>) -> Deleted {
    let request = DeleteRequest {
        key: key.to_owned(),
        version_id,
        ..Default::default()
    };
    match store.delete_object("bkt", request, "me").await.unwrap() {
        DeleteOutcome::Deleted(d) => d,
        other => panic!("unconditional delete answered {other:?}"),
    }
}

async fn read(store: &Store, key: &str, version: Option<&str>) -> Result<Vec<u8>, StoreError> {
    let handle = store.open_object_version("bkt", key, version).await?;
    let size = handle.meta.size;
    let mut stream = handle.read(0, size).await?;
    let mut out = Vec::new();
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    Ok(out)
}

/// Every version listed, with `max_keys` per page and an optional delimiter.
async fn list_all(store: &Store, max_keys: usize, delimiter: Option<&str>) -> Vec<VersionListEntry> {
    let mut out = Vec::new();
    let mut query = VersionListQuery {
        delimiter: delimiter.map(str::to_owned),
        max_keys,
        ..Default::default()
    };
    for _ in 0..1000 {
        let page = store.list_versions("bkt", query.clone()).await.unwrap();
        assert!(page.entries.len() <= max_keys);
        let last = page.entries.last().cloned();
        out.extend(page.entries);
        if !page.truncated {
            return out;
        }
        match last.expect("a truncated page has entries") {
            VersionListEntry::Version(v) => {
                query.key_marker = Some(v.key);
                query.version_id_marker = Some(v.version_id.unwrap_or_else(|| "null".into()));
            }
            VersionListEntry::CommonPrefix(p) => {
                query.key_marker = Some(p);
                query.version_id_marker = None;
            }
        }
    }
    panic!("listing did not end");
}

async fn run(ops: Vec<Op>, page: usize) {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        inline_max_bytes: 8,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    store.create_bucket("bkt", "me", "us-east-1").await.unwrap();
    let mut model = Model::new();
    let mut versioning: Option<Versioning> = None;
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Put(k) => {
                // Bodies alternate between inline and file storage.
                let body = format!("{i}-{}", "x".repeat(i % 3 * 6)).into_bytes();
                let id = put(&store, KEYS[k], &body).await;
                assert_eq!(id.is_some(), versioning == Some(Versioning::Enabled));
                let chain = model.entry(KEYS[k].to_owned()).or_default();
                match versioning {
                    None => chain.clear(),
                    Some(Versioning::Suspended) => chain.retain(|v| v.id.is_some()),
                    Some(Versioning::Enabled) => {}
                }
                chain.insert(0, ModelVersion { id, marker: false, body });
            }
            Op::Delete(k) => {
                let deleted = delete(&store, KEYS[k], None).await;
                let chain = model.entry(KEYS[k].to_owned()).or_default();
                match versioning {
                    None => {
                        assert_eq!(deleted.existed, !chain.is_empty());
                        assert!(!deleted.delete_marker && deleted.version_id.is_none());
                        chain.clear();
                    }
                    Some(state) => {
                        assert!(deleted.delete_marker);
                        let id = deleted.version_id.filter(|v| v != "null");
                        assert_eq!(id.is_some(), state == Versioning::Enabled);
                        if state == Versioning::Suspended {
                            chain.retain(|v| v.id.is_some());
                        }
                        chain.insert(
                            0,
                            ModelVersion {
                                id,
                                marker: true,
                                body: Vec::new(),
                            },
                        );
                    }
                }
            }
            Op::DeleteVersion(k, n) => {
                let chain = model.entry(KEYS[k].to_owned()).or_default();
                if chain.is_empty() {
                    continue;
                }
                let victim = chain.remove(n % chain.len());
                let id = victim.id.clone().unwrap_or_else(|| "null".into());
                let deleted = delete(&store, KEYS[k], Some(id)).await;
                assert!(deleted.existed);
                assert_eq!(deleted.delete_marker, victim.marker);
            }
            Op::SetVersioning(on) => {
                let state = if on { Versioning::Enabled } else { Versioning::Suspended };
                store.set_versioning("bkt", state).await.unwrap();
                versioning = Some(state);
            }
        }
        check(&store, &model, page).await;
    }
}

async fn check(store: &Store, model: &Model, page: usize) {
    // Reads: the current version, and every version by id.
    for (key, chain) in model {
        match chain.first() {
            Some(v) if !v.marker => assert_eq!(read(store, key, None).await.unwrap(), v.body, "{key:?}"),
            Some(_) => assert!(
                matches!(
                    read(store, key, None).await,
                    Err(StoreError::DeleteMarker { requested: false, .. })
                ),
                "{key:?}"
            ),
            None => assert!(matches!(read(store, key, None).await, Err(StoreError::NoSuchKey { .. }))),
        }
        for v in chain {
            let id = v.id.clone().unwrap_or_else(|| "null".into());
            let got = read(store, key, Some(&id)).await;
            if v.marker {
                assert!(
                    matches!(got, Err(StoreError::DeleteMarker { requested: true, .. })),
                    "{key:?} {id}"
                );
            } else {
                assert_eq!(got.unwrap(), v.body, "{key:?} {id}");
            }
        }
    }
    // ListObjects: the current objects only.
    let listed = store.list_objects("bkt", "", None, None, 1000).await.unwrap();
    let names: Vec<String> = listed.entries.iter().map(|e| e.name().to_owned()).collect();
    let expected: Vec<String> = model
        .iter()
        .filter(|(_, c)| c.first().is_some_and(|v| !v.marker))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(names, expected);
    // ListObjectVersions: every version, keys ascending, newest first, IsLatest on the first.
    let mut want = Vec::new();
    for (key, chain) in model {
        for (i, v) in chain.iter().enumerate() {
            want.push((key.clone(), v.id.clone(), v.marker, i == 0));
        }
    }
    let got: Vec<_> = list_all(store, page, None)
        .await
        .into_iter()
        .map(|e| match e {
            VersionListEntry::Version(v) => (v.key, v.version_id, v.object.is_none(), v.is_latest),
            VersionListEntry::CommonPrefix(p) => panic!("prefix {p} without a delimiter"),
        })
        .collect();
    assert_eq!(got, want);
    // With a delimiter: the top-level keys' versions and one prefix per directory.
    let mut want_delimited = Vec::new();
    for (key, chain) in model.iter().filter(|(_, c)| !c.is_empty()) {
        match key.find('/') {
            Some(i) => {
                let p = key[..=i].to_owned();
                if want_delimited.last() != Some(&(p.clone(), None)) {
                    want_delimited.push((p, None));
                }
            }
            None => want_delimited.extend(chain.iter().map(|v| (key.clone(), Some(v.id.clone())))),
        }
    }
    let got_delimited: Vec<_> = list_all(store, page, Some("/"))
        .await
        .into_iter()
        .map(|e| match e {
            VersionListEntry::Version(v) => (v.key, Some(v.version_id)),
            VersionListEntry::CommonPrefix(p) => (p, None),
        })
        .collect();
    assert_eq!(got_delimited, want_delimited);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn versions_reads_and_listings_follow_s3s_rules(ops in prop::collection::vec(op(), 1..40), page in 1..5usize) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops, page));
    }
}

#[tokio::test]
async fn a_bucket_with_only_old_versions_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store.create_bucket("bkt", "me", "us-east-1").await.unwrap();
    store.set_versioning("bkt", Versioning::Enabled).await.unwrap();
    put(&store, "k", b"v1").await;
    delete(&store, "k", None).await;
    assert!(matches!(store.delete_bucket("bkt").await, Err(StoreError::BucketNotEmpty(_))));
}

#[tokio::test]
async fn deleting_a_version_frees_its_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        inline_max_bytes: 0,
        direct_io: false,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    store.create_bucket("bkt", "me", "us-east-1").await.unwrap();
    store.set_versioning("bkt", Versioning::Enabled).await.unwrap();
    let files = || walk(&dir.path().join("objects"));
    let v1 = put(&store, "k", b"first").await.unwrap();
    let v2 = put(&store, "k", b"second").await.unwrap();
    assert_eq!(files(), 2, "both versions keep their data");
    delete(&store, "k", None).await;
    assert_eq!(files(), 2, "a delete marker frees nothing");
    delete(&store, "k", Some(v1)).await;
    assert_eq!(files(), 1);
    delete(&store, "k", Some(v2)).await;
    assert_eq!(files(), 0);
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { 1 }
        })
        .sum()
}

#[tokio::test]
async fn the_running_orphan_pass_removes_only_old_unreferenced_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        inline_max_bytes: 0,
        direct_io: false,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    store.create_bucket("bkt", "me", "us-east-1").await.unwrap();
    put(&store, "k", b"referenced").await;
    // A data file no record references, as a crash between rename and commit leaves one.
    // (Its shard is its id's first byte.)
    let shard = dir.path().join("objects/01");
    std::fs::create_dir_all(&shard).unwrap();
    std::fs::write(shard.join("0123456789abcdef0123456789abcdef"), b"orphan").unwrap();
    assert_eq!(walk(&dir.path().join("objects")), 2);
    // Younger than the minimum age: left alone (it may be about to be committed).
    let removed = store.collect_orphans(std::time::Duration::from_secs(3600)).await.unwrap();
    assert_eq!((removed, walk(&dir.path().join("objects"))), (0, 2));
    let removed = store.collect_orphans(std::time::Duration::ZERO).await.unwrap();
    assert_eq!((removed, walk(&dir.path().join("objects"))), (1, 1));
    assert_eq!(read(&store, "k", None).await.unwrap(), b"referenced");
}
