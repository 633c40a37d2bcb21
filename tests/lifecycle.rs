//! Bucket lifecycle over real HTTP with aws-sdk-s3: configurations and their validation,
//! `x-amz-expiration`, and real expiry watched in seconds (`--lifecycle-day-secs 1`).

mod common;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockLegalHoldStatus, Tag, Transition,
    TransitionStorageClass,
};
use common::*;

/// A server whose lifecycle day is one second and which runs a pass every second.
fn fast_server() -> TestServer {
    server_with(&[
        "--lifecycle-day-secs",
        "1",
        "--lifecycle-interval-secs",
        "1",
        "--lifecycle-pause-ms",
        "0",
    ])
}

fn rule(id: &str) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder().id(id).status(ExpirationStatus::Enabled)
}

fn prefix(p: &str) -> LifecycleRuleFilter {
    LifecycleRuleFilter::builder().prefix(p).build()
}

fn expire_days(days: i32) -> LifecycleExpiration {
    LifecycleExpiration::builder().days(days).build()
}

async fn set_rules(c: &Client, bucket: &str, rules: Vec<LifecycleRule>) -> Result<(), (String, u16)> {
    c.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (code(&e), status(&e)))
}

async fn exists(c: &Client, bucket: &str, key: &str) -> bool {
    c.head_object().bucket(bucket).key(key).send().await.is_ok()
}

/// Waits (up to 30 s) until `check` holds; panics with `what` otherwise.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within 30 s");
}

/// (key, is marker) of every version, in the SDK's order.
async fn versions(c: &Client, bucket: &str) -> Vec<(String, bool)> {
    let out = c.list_object_versions().bucket(bucket).send().await.unwrap();
    let mut v: Vec<(String, bool)> = out.versions().iter().map(|v| (v.key().unwrap().to_owned(), false)).collect();
    v.extend(out.delete_markers().iter().map(|m| (m.key().unwrap().to_owned(), true)));
    v.sort();
    v
}

#[tokio::test]
async fn configurations_round_trip_and_bad_ones_are_refused_as_s3_does() {
    let s = server();
    let c = s.client();
    bucket(&c, "cfg").await;
    let err = c.get_bucket_lifecycle_configuration().bucket("cfg").send().await.unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchLifecycleConfiguration", 404));
    let tagged = LifecycleRuleFilter::builder()
        .and(
            LifecycleRuleAndOperator::builder()
                .prefix("logs/")
                .tags(Tag::builder().key("tier").value("tmp").build().unwrap())
                .object_size_greater_than(10)
                .build(),
        )
        .build();
    let rules = vec![
        rule("logs").filter(tagged).expiration(expire_days(7)).build().unwrap(),
        rule("old-versions")
            .filter(prefix(""))
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(3)
                    .newer_noncurrent_versions(2)
                    .build(),
            )
            .abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().days_after_initiation(1).build())
            .build()
            .unwrap(),
        rule("markers")
            .status(ExpirationStatus::Disabled)
            .filter(prefix("x/"))
            .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
            .build()
            .unwrap(),
    ];
    set_rules(&c, "cfg", rules.clone()).await.unwrap();
    let got = c.get_bucket_lifecycle_configuration().bucket("cfg").send().await.unwrap();
    assert_eq!(got.rules(), rules.as_slice());

    let bad: Vec<(Vec<LifecycleRule>, &str)> = vec![
        (
            vec![rule("a").filter(prefix("")).expiration(expire_days(0)).build().unwrap()],
            "InvalidArgument",
        ),
        (vec![rule("a").filter(prefix("")).build().unwrap()], "InvalidRequest"),
        (
            vec![
                rule("a").filter(prefix("")).expiration(expire_days(1)).build().unwrap(),
                rule("a").filter(prefix("")).expiration(expire_days(2)).build().unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("a")
                    .filter(prefix(""))
                    .expiration(
                        LifecycleExpiration::builder()
                            .date(DateTime::from_secs(1_900_000_123))
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("a")
                    .filter(
                        LifecycleRuleFilter::builder()
                            .tag(Tag::builder().key("k").value("v").build().unwrap())
                            .build(),
                    )
                    .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
                    .build()
                    .unwrap(),
            ],
            "InvalidRequest",
        ),
        (
            vec![
                rule("a")
                    .filter(prefix(""))
                    .transitions(
                        Transition::builder()
                            .days(30)
                            .storage_class(TransitionStorageClass::Glacier)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ],
            "NotImplemented",
        ),
        (
            vec![
                rule(&"x".repeat(256))
                    .filter(prefix(""))
                    .expiration(expire_days(1))
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
    ];
    for (rules, want) in bad {
        let (got, _) = set_rules(&c, "cfg", rules.clone()).await.unwrap_err();
        assert_eq!(got, want, "{rules:?}");
    }
    // The refused ones changed nothing.
    let still = c.get_bucket_lifecycle_configuration().bucket("cfg").send().await.unwrap();
    assert_eq!(still.rules().len(), 3);
    c.delete_bucket_lifecycle().bucket("cfg").send().await.unwrap();
    let err = c.get_bucket_lifecycle_configuration().bucket("cfg").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchLifecycleConfiguration");
}

#[tokio::test]
async fn matching_objects_carry_x_amz_expiration_rounded_to_midnight() {
    let s = server();
    let c = s.client();
    bucket(&c, "exp").await;
    set_rules(
        &c,
        "exp",
        vec![
            rule("expire-logs")
                .filter(prefix("logs/"))
                .expiration(expire_days(3))
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    let put = c
        .put_object()
        .bucket("exp")
        .key("logs/a")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let header = put.expiration().expect("x-amz-expiration on PUT").to_owned();
    assert!(header.ends_with(r#"00:00:00 GMT", rule-id="expire-logs""#), "{header}");
    assert!(header.starts_with("expiry-date=\""), "{header}");
    let head = c.head_object().bucket("exp").key("logs/a").send().await.unwrap();
    assert_eq!(head.expiration(), Some(header.as_str()));
    let get = c.get_object().bucket("exp").key("logs/a").send().await.unwrap();
    assert_eq!(get.expiration(), Some(header.as_str()));
    // Three days from now, rounded up to midnight UTC.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let want = (now + 3 * 86_400).div_ceil(86_400) * 86_400;
    let date = DateTime::from_secs(want as i64)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::HttpDate)
        .unwrap();
    assert!(header.contains(&date), "{header} vs {date}");
    // Outside the rule: no header.
    let other = c
        .put_object()
        .bucket("exp")
        .key("data/a")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.expiration(), None);
}

#[tokio::test]
async fn current_objects_expire_by_prefix_tag_and_size() {
    let s = fast_server();
    let c = s.client();
    bucket(&c, "fast").await;
    for key in ["tmp/a", "tmp/b", "keep/a"] {
        put(&c, "fast", key, b"x").await;
    }
    c.put_object()
        .bucket("fast")
        .key("tagged/big")
        .tagging("tier=scratch")
        .body(ByteStream::from(vec![0u8; 100]))
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket("fast")
        .key("tagged/small")
        .tagging("tier=scratch")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    put(&c, "fast", "tagged/untagged", &[0u8; 100]).await;
    let by_tag_and_size = LifecycleRuleFilter::builder()
        .and(
            LifecycleRuleAndOperator::builder()
                .prefix("tagged/")
                .tags(Tag::builder().key("tier").value("scratch").build().unwrap())
                .object_size_greater_than(10)
                .build(),
        )
        .build();
    set_rules(
        &c,
        "fast",
        vec![
            rule("tmp").filter(prefix("tmp/")).expiration(expire_days(2)).build().unwrap(),
            rule("scratch")
                .filter(by_tag_and_size)
                .expiration(expire_days(2))
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    eventually("tmp/ expired", || async {
        !exists(&c, "fast", "tmp/a").await && !exists(&c, "fast", "tmp/b").await
    })
    .await;
    eventually("tagged/big expired", || async { !exists(&c, "fast", "tagged/big").await }).await;
    // A few more passes: what no rule matches stays.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for key in ["keep/a", "tagged/small", "tagged/untagged"] {
        assert!(exists(&c, "fast", key).await, "{key} must stay");
    }
}

#[tokio::test]
async fn versioned_buckets_get_markers_and_lose_old_versions_as_the_rules_say() {
    let s = fast_server();
    let c = s.client();
    versioned_bucket(&c, "vlife").await;
    for i in 0..4 {
        put(&c, "vlife", "k", format!("v{i}").as_bytes()).await;
    }
    // A lone marker (its object versions already gone).
    put(&c, "vlife", "lone", b"x").await;
    let out = c.list_object_versions().bucket("vlife").prefix("lone").send().await.unwrap();
    let lone_version = out.versions()[0].version_id().unwrap().to_owned();
    c.delete_object().bucket("vlife").key("lone").send().await.unwrap();
    c.delete_object()
        .bucket("vlife")
        .key("lone")
        .version_id(&lone_version)
        .send()
        .await
        .unwrap();
    set_rules(
        &c,
        "vlife",
        vec![
            rule("current")
                .filter(prefix("k"))
                .expiration(expire_days(3))
                .build()
                .unwrap(),
            rule("noncurrent")
                .filter(prefix(""))
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(1)
                        .newer_noncurrent_versions(1)
                        .build(),
                )
                .build()
                .unwrap(),
            rule("markers")
                .filter(prefix("lone"))
                .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    eventually("lone marker removed", || async {
        !versions(&c, "vlife").await.iter().any(|v| v.0 == "lone")
    })
    .await;
    // The steady state: the current version expired under a delete marker (its data kept as the
    // newest noncurrent version), every older version gone but that one (NewerNoncurrentVersions 1).
    let steady = || async {
        let k: Vec<_> = versions(&c, "vlife").await.into_iter().filter(|v| v.0 == "k").collect();
        k == [("k".to_owned(), false), ("k".to_owned(), true)]
    };
    eventually("k down to its marker and one noncurrent version", steady).await;
    assert!(!exists(&c, "vlife", "k").await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(steady().await, "passes are idempotent: nothing more goes");
    let kept = c.list_object_versions().bucket("vlife").prefix("k").send().await.unwrap();
    let id = kept.versions()[0].version_id().unwrap().to_owned();
    let body = c.get_object().bucket("vlife").key("k").version_id(id).send().await.unwrap();
    assert_eq!(body.body.collect().await.unwrap().into_bytes().as_ref(), b"v3");
}

#[tokio::test]
async fn locked_versions_outlive_noncurrent_expiry() {
    let s = fast_server();
    let c = s.client();
    c.create_bucket()
        .bucket("lockedlife")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket("lockedlife")
        .key("k")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"held"))
        .send()
        .await
        .unwrap();
    put(&c, "lockedlife", "k", b"free").await;
    put(&c, "lockedlife", "k", b"current").await;
    set_rules(
        &c,
        "lockedlife",
        vec![
            rule("noncurrent")
                .filter(prefix(""))
                .noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(1).build())
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    eventually("the unlocked noncurrent version expired", || async {
        versions(&c, "lockedlife").await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = c.list_object_versions().bucket("lockedlife").send().await.unwrap();
    assert_eq!(out.versions().len(), 2, "the held version and the current one stay");
}

#[tokio::test]
async fn stale_multipart_uploads_are_aborted() {
    let s = fast_server();
    let c = s.client();
    bucket(&c, "mpu").await;
    let up = c.create_multipart_upload().bucket("mpu").key("big").send().await.unwrap();
    c.upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .body(ByteStream::from(vec![7u8; 300_000]))
        .send()
        .await
        .unwrap();
    set_rules(
        &c,
        "mpu",
        vec![
            rule("abort")
                .filter(prefix(""))
                .abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().days_after_initiation(2).build())
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    eventually("upload aborted", || async {
        c.list_multipart_uploads()
            .bucket("mpu")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    })
    .await;
    // Its part's data file went with it.
    let files: usize = std::fs::read_dir(s.data_dir().join("objects"))
        .unwrap()
        .flatten()
        .map(|shard| std::fs::read_dir(shard.path()).map(|d| d.count()).unwrap_or(0))
        .sum();
    assert_eq!(files, 0);
}
