//! Crash safety: concurrent writers against the real process, SIGKILL at a random moment,
//! restart; every acknowledged write reads back byte-identical, nothing torn is visible, staging
//! is cleaned, and no data file is leaked.

mod common;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::*;
use rand::Rng;

const ROUNDS: usize = 20;
const WRITERS: usize = 6;
const KEYS_PER_WRITER: usize = 4;

/// The bytes of write `seed` (its length is derived from the seed too).
fn content(seed: u64) -> Vec<u8> {
    let len = match seed % 4 {
        0 => 1_000,
        1 => 200_000,
        2 => 1_500_000,
        _ => 5 * 1024 * 1024 + 3_000, // multipart: one full part plus a small last one
    };
    data(len, seed)
}

#[derive(Default)]
struct Ledger {
    /// key → seed of the last acknowledged write
    acked: HashMap<String, u64>,
    /// key → seeds attempted without an acknowledgement (may or may not have landed)
    maybe: HashMap<String, Vec<u64>>,
}

/// Writes `content(seed)` to `bucket/key` (a multipart upload for every fourth seed); `Some`
/// with the version id the answer carried once acknowledged, `None` when it was not.
async fn write_to(c: &aws_sdk_s3::Client, bucket: &str, key: &str, seed: u64) -> Option<Option<String>> {
    let body = content(seed);
    if seed % 4 != 3 {
        let out = c.put_object().bucket(bucket).key(key).body(body.into()).send().await.ok()?;
        return Some(out.version_id().map(str::to_owned));
    }
    let up = c.create_multipart_upload().bucket(bucket).key(key).send().await.ok()?;
    let id = up.upload_id().unwrap_or_default().to_owned();
    let split = 5 * 1024 * 1024;
    let mut parts = Vec::new();
    for (n, chunk) in [&body[..split], &body[split..]].into_iter().enumerate() {
        let n = n as i32 + 1;
        let out = c
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(chunk.to_vec().into())
            .send()
            .await
            .ok()?;
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap_or_default())
                .build(),
        );
    }
    let out = c
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .ok()?;
    Some(out.version_id().map(str::to_owned))
}

async fn write(c: &aws_sdk_s3::Client, key: &str, seed: u64) -> bool {
    write_to(c, "crash", key, seed).await.is_some()
}

/// A client that never retries: a write either was acknowledged or it was not.
fn client_without_retries(s: &TestServer) -> aws_sdk_s3::Client {
    let config = lagoa_conformance::config_for(&s.endpoint, ROOT_USER, ROOT_PASSWORD)
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Counts the data files on the volume.
fn data_files(s: &TestServer) -> usize {
    let mut files = 0;
    for shard in std::fs::read_dir(s.data_dir().join("objects")).unwrap().flatten() {
        files += std::fs::read_dir(shard.path()).map(|d| d.count()).unwrap_or(0);
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let mut s = server();
    bucket(&s.client(), "crash").await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut seed_counter = 0u64;
    for round in 0..ROUNDS {
        let c = client_without_retries(&s);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (c, ledger, stop) = (c.clone(), ledger.clone(), stop.clone());
            let base = seed_counter + (w as u64) * 1_000;
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let key = format!("w{w}/k{}", i % KEYS_PER_WRITER as u64);
                    let seed = base + i;
                    ledger.lock().unwrap().maybe.entry(key.clone()).or_default().push(seed);
                    if write(&c, &key, seed).await {
                        let mut l = ledger.lock().unwrap();
                        l.acked.insert(key.clone(), seed);
                        l.maybe.remove(&key);
                    } else {
                        break; // the server is gone
                    }
                    i += 1;
                }
            }));
        }
        seed_counter += 1_000_000;
        let delay = rand::rng().random_range(100..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        s.kill();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in tasks {
            let _ = t.await;
        }
        s.restart();
        let tmp = std::fs::read_dir(s.data_dir().join("tmp")).unwrap().count();
        assert_eq!(tmp, 0, "round {round}: staging not cleaned");
        verify(&s.client(), &ledger, round).await;
        // What survives as "maybe" is settled now: read what is there and record it as acked.
        let maybe = std::mem::take(&mut ledger.lock().unwrap().maybe);
        for (key, attempted) in maybe {
            let got = s.client().get_object().bucket("crash").key(&key).send().await;
            if let Ok(out) = got {
                let bytes = out.body.collect().await.unwrap().into_bytes();
                let mut candidates = attempted;
                candidates.extend(ledger.lock().unwrap().acked.get(&key));
                let seed = candidates
                    .into_iter()
                    .find(|s| content(*s) == bytes.as_ref())
                    .expect("verified above");
                ledger.lock().unwrap().acked.insert(key, seed);
            }
        }
    }
    // Deleting everything must leave no data file behind (nothing leaked across 20 crashes).
    let c = s.client();
    let listed = c.list_objects_v2().bucket("crash").send().await.unwrap();
    for o in listed.contents() {
        c.delete_object().bucket("crash").key(o.key().unwrap()).send().await.unwrap();
    }
    let uploads = c.list_multipart_uploads().bucket("crash").send().await.unwrap();
    for u in uploads.uploads() {
        c.abort_multipart_upload()
            .bucket("crash")
            .key(u.key().unwrap())
            .upload_id(u.upload_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    s.restart();
    assert_eq!(data_files(&s), 0, "data files leaked");
}

async fn verify(c: &aws_sdk_s3::Client, ledger: &Arc<Mutex<Ledger>>, round: usize) {
    let (acked, maybe) = {
        let l = ledger.lock().unwrap();
        (l.acked.clone(), l.maybe.clone())
    };
    let listed = c.list_objects_v2().bucket("crash").send().await.unwrap();
    for o in listed.contents() {
        let key = o.key().unwrap();
        assert!(
            acked.contains_key(key) || maybe.contains_key(key),
            "round {round}: unknown key {key}"
        );
    }
    let mut keys: Vec<&String> = acked.keys().chain(maybe.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let got = c.get_object().bucket("crash").key(key).send().await;
        let mut allowed: Vec<u64> = maybe.get(key).cloned().unwrap_or_default();
        match got {
            Ok(out) => {
                let bytes = out.body.collect().await.unwrap().into_bytes();
                allowed.extend(acked.get(key));
                assert!(
                    allowed.iter().any(|s| content(*s) == bytes.as_ref()),
                    "round {round}: {key} holds {} bytes matching no write (torn?)",
                    bytes.len()
                );
            }
            Err(e) => {
                assert!(!acked.contains_key(key), "round {round}: acknowledged {key} is gone: {e:?}");
            }
        }
    }
}

/// What a versioned writer knows about one key's versions.
#[derive(Default, Clone)]
struct VersionLedger {
    /// version id → seed (`None` for a delete marker), for every acknowledged write or marker
    acked: HashMap<String, Option<u64>>,
    /// versions whose permanent delete was acknowledged
    removed: std::collections::HashSet<String>,
    /// seeds written without an acknowledgement (their versions may exist, with unknown ids)
    maybe: Vec<u64>,
    /// permanent deletes not acknowledged (the version may or may not be gone)
    maybe_removed: std::collections::HashSet<String>,
}

/// One listed version: id, whether it is a marker, whether it is the latest.
type Listed = (String, bool, bool);

/// Every version of every key, from ListObjectVersions pages of 7 (the documents' order).
async fn listed_versions(c: &aws_sdk_s3::Client, bucket: &str) -> HashMap<String, Vec<Listed>> {
    let mut out: HashMap<String, Vec<Listed>> = HashMap::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = c
            .list_object_versions()
            .bucket(bucket)
            .max_keys(7)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        for v in page.versions() {
            out.entry(v.key().unwrap().to_owned()).or_default().push((
                v.version_id().unwrap().to_owned(),
                false,
                v.is_latest().unwrap(),
            ));
        }
        for m in page.delete_markers() {
            out.entry(m.key().unwrap().to_owned()).or_default().push((
                m.version_id().unwrap().to_owned(),
                true,
                m.is_latest().unwrap(),
            ));
        }
        if !page.is_truncated().unwrap() {
            return out;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

/// Versioned writes, delete markers and permanent version deletes under SIGKILL, with lifecycle
/// expiry running (a one-second day, a pass every second) on the `exp/` keys: every
/// acknowledged version (and marker) outside `exp/` survives unless its delete was acknowledged,
/// every version present is a whole write, each key has exactly one latest version, GET of the
/// key agrees with it, and deleting every version afterwards leaves no data file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_versioned_writes_and_deletes_loses_no_acknowledged_version() {
    const ROUNDS: usize = 12;
    let mut s = server_with(&[
        "--lifecycle-day-secs",
        "1",
        "--lifecycle-interval-secs",
        "1",
        "--lifecycle-pause-ms",
        "0",
    ]);
    let c = s.client();
    versioned_bucket(&c, "vcrash").await;
    // Lifecycle on exp/: current versions expire after 2 "days", noncurrent ones after 1.
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
        NoncurrentVersionExpiration,
    };
    let rule = LifecycleRule::builder()
        .id("exp")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("exp/").build())
        .expiration(LifecycleExpiration::builder().days(2).build())
        .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(1).build())
        .build()
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("vcrash")
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build().unwrap())
        .send()
        .await
        .unwrap();
    let ledger: Arc<Mutex<HashMap<String, VersionLedger>>> = Arc::default();
    let mut seed_counter = 0u64;
    for round in 0..ROUNDS {
        let c = client_without_retries(&s);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (c, ledger, stop) = (c.clone(), ledger.clone(), stop.clone());
            let base = seed_counter + (w as u64) * 1_000;
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    // Writer 0's keys are under the lifecycle rule.
                    let key = if w == 0 {
                        format!("exp/k{}", i % 3)
                    } else {
                        format!("w{w}/k{}", i % 3)
                    };
                    let seed = base + i;
                    i += 1;
                    // Mostly writes; a delete marker every fifth step; a permanent delete of
                    // an older acknowledged version every seventh.
                    let victim = ledger.lock().unwrap().get(&key).and_then(|l| {
                        l.acked
                            .keys()
                            .find(|id| !l.removed.contains(*id) && !l.maybe_removed.contains(*id))
                            .cloned()
                    });
                    let ok = if i.is_multiple_of(7)
                        && let Some(id) = victim
                    {
                        ledger
                            .lock()
                            .unwrap()
                            .entry(key.clone())
                            .or_default()
                            .maybe_removed
                            .insert(id.clone());
                        let done = c
                            .delete_object()
                            .bucket("vcrash")
                            .key(&key)
                            .version_id(&id)
                            .send()
                            .await
                            .is_ok();
                        if done {
                            let mut l = ledger.lock().unwrap();
                            let entry = l.entry(key.clone()).or_default();
                            entry.maybe_removed.remove(&id);
                            entry.removed.insert(id);
                        }
                        done
                    } else if i.is_multiple_of(5) {
                        match c.delete_object().bucket("vcrash").key(&key).send().await {
                            Ok(out) => {
                                let id = out.version_id().expect("a marker's version id").to_owned();
                                ledger.lock().unwrap().entry(key.clone()).or_default().acked.insert(id, None);
                                true
                            }
                            Err(_) => false,
                        }
                    } else {
                        ledger.lock().unwrap().entry(key.clone()).or_default().maybe.push(seed);
                        match write_to(&c, "vcrash", &key, seed).await {
                            Some(id) => {
                                let id = id.expect("a versioned write's version id");
                                let mut l = ledger.lock().unwrap();
                                let entry = l.entry(key.clone()).or_default();
                                entry.maybe.retain(|s| *s != seed);
                                entry.acked.insert(id, Some(seed));
                                true
                            }
                            None => false,
                        }
                    };
                    if !ok {
                        break; // the server is gone
                    }
                }
            }));
        }
        seed_counter += 1_000_000;
        let delay = rand::rng().random_range(100..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        s.kill();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in tasks {
            let _ = t.await;
        }
        s.restart();
        verify_versions(&s.client(), &ledger, round).await;
    }
    // Lifecycle keeps running after the last restart: within seconds no exp/ key has a current
    // object any more (each expired under a delete marker).
    let c = s.client();
    let start = std::time::Instant::now();
    loop {
        let listed = c.list_objects_v2().bucket("vcrash").prefix("exp/").send().await.unwrap();
        if listed.contents().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "lifecycle did not expire exp/ after the crashes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Every version deleted: no data file may be left. Lifecycle stops first (a pass under way
    // finishes within its second).
    c.delete_bucket_lifecycle().bucket("vcrash").send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (key, versions) in listed_versions(&c, "vcrash").await {
        for (id, _, _) in versions {
            c.delete_object()
                .bucket("vcrash")
                .key(&key)
                .version_id(id)
                .send()
                .await
                .unwrap();
        }
    }
    let uploads = c.list_multipart_uploads().bucket("vcrash").send().await.unwrap();
    for u in uploads.uploads() {
        c.abort_multipart_upload()
            .bucket("vcrash")
            .key(u.key().unwrap())
            .upload_id(u.upload_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    c.delete_bucket().bucket("vcrash").send().await.unwrap();
    s.restart();
    assert_eq!(data_files(&s), 0, "data files leaked");
}

/// Checks the versions after a restart against the ledger, then settles what was uncertain:
/// versions found become acknowledged, uncertain deletes become done or undone.
async fn verify_versions(c: &aws_sdk_s3::Client, ledger: &Arc<Mutex<HashMap<String, VersionLedger>>>, round: usize) {
    let listed = listed_versions(c, "vcrash").await;
    let current: std::collections::HashSet<String> = c
        .list_objects_v2()
        .bucket("vcrash")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect();
    // Worked on a copy: no lock is held across the requests below.
    let mut settled = ledger.lock().unwrap().clone();
    for (key, entry) in settled.iter_mut() {
        let versions = listed.get(key).cloned().unwrap_or_default();
        // Lifecycle may remove any version of an exp/ key; the other checks still hold there.
        let expiring = key.starts_with("exp/");
        for (id, seed) in &entry.acked {
            let present = versions.iter().any(|(v, _, _)| v == id);
            let may_be_gone = expiring || entry.removed.contains(id) || entry.maybe_removed.contains(id);
            assert!(
                present || may_be_gone,
                "round {round}: acknowledged version {key}@{id} ({seed:?}) is gone"
            );
            assert!(
                !(present && entry.removed.contains(id)),
                "round {round}: deleted version {key}@{id} is back"
            );
        }
        // One latest version (the SDK splits versions from markers, so order is not checked
        // here: tests/versioning.rs does); the key is listed iff the latest is an object.
        let latest: Vec<&Listed> = versions.iter().filter(|v| v.2).collect();
        assert_eq!(
            latest.len(),
            usize::from(!versions.is_empty()),
            "round {round}: {key}: {versions:?}"
        );
        if let Some((id, marker, _)) = latest.first() {
            assert_eq!(
                current.contains(key),
                !marker,
                "round {round}: {key} listing disagrees with its versions"
            );
            let head = c.head_object().bucket("vcrash").key(key).send().await;
            match head {
                // Lifecycle may have moved an exp/ key on since the listing.
                _ if expiring => {}
                Ok(h) => assert_eq!(
                    h.version_id(),
                    Some(id.as_str()),
                    "round {round}: GET {key} is not its latest"
                ),
                Err(e) => assert!(*marker && status(&e) == 404, "round {round}: HEAD {key}: {e:?}"),
            }
        }
        for (id, marker, _) in &versions {
            let known = entry.acked.get(id).copied();
            let got = c.get_object().bucket("vcrash").key(key).version_id(id).send().await;
            if expiring && got.as_ref().is_err_and(|e| code(e) == "NoSuchVersion") {
                continue; // removed by lifecycle since the listing
            }
            match (marker, known) {
                (true, Some(Some(seed))) => panic!("round {round}: {key}@{id} was written as {seed}, listed as a marker"),
                (true, _) => assert_eq!(got.map(|_| ()).map_err(|e| status(&e)), Err(405), "{key}@{id}"),
                (false, _) => {
                    let bytes = got.unwrap().body.collect().await.unwrap().into_bytes();
                    let seed = match known {
                        Some(Some(seed)) => seed,
                        Some(None) => panic!("round {round}: marker {key}@{id} listed as an object"),
                        None => *entry
                            .maybe
                            .iter()
                            .find(|s| content(**s) == bytes.as_ref())
                            .unwrap_or_else(|| panic!("round {round}: {key}@{id} matches no write (torn?)")),
                    };
                    assert!(
                        content(seed) == bytes.as_ref(),
                        "round {round}: {key}@{id} is not write {seed}"
                    );
                    entry.acked.insert(id.clone(), Some(seed));
                }
            }
        }
        if expiring {
            // What lifecycle removed is gone for good.
            entry.acked.retain(|id, _| versions.iter().any(|(v, _, _)| v == id));
        }
        for id in std::mem::take(&mut entry.maybe_removed) {
            if versions.iter().any(|(v, _, _)| *v == id) {
                continue; // the delete did not happen; the version stays acknowledged
            }
            entry.removed.insert(id);
        }
        // Unacknowledged markers that landed are found by their id and kept as markers.
        for (id, marker, _) in &versions {
            if *marker {
                entry.acked.entry(id.clone()).or_insert(None);
            }
        }
        entry.maybe.clear();
    }
    *ledger.lock().unwrap() = settled;
}
