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

async fn write(c: &aws_sdk_s3::Client, key: &str, seed: u64) -> bool {
    let body = content(seed);
    if seed % 4 != 3 {
        return c.put_object().bucket("crash").key(key).body(body.into()).send().await.is_ok();
    }
    let Ok(up) = c.create_multipart_upload().bucket("crash").key(key).send().await else {
        return false;
    };
    let id = up.upload_id().unwrap_or_default().to_owned();
    let split = 5 * 1024 * 1024;
    let mut parts = Vec::new();
    for (n, chunk) in [&body[..split], &body[split..]].into_iter().enumerate() {
        let n = n as i32 + 1;
        let Ok(out) = c
            .upload_part()
            .bucket("crash")
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(chunk.to_vec().into())
            .send()
            .await
        else {
            return false;
        };
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap_or_default())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("crash")
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let mut s = server();
    bucket(&s.client(), "crash").await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut seed_counter = 0u64;
    for round in 0..ROUNDS {
        let config = lagoa_conformance::config_for(&s.endpoint, ROOT_USER, ROOT_PASSWORD)
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        let c = aws_sdk_s3::Client::from_conf(config);
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
    let mut files = 0;
    for shard in std::fs::read_dir(s.data_dir().join("objects")).unwrap().flatten() {
        files += std::fs::read_dir(shard.path()).map(|d| d.count()).unwrap_or(0);
    }
    assert_eq!(files, 0, "data files leaked");
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
