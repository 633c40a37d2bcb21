//! Object lock (WORM) over real HTTP with aws-sdk-s3: buckets created with lock, default
//! retention, per-version retention and legal holds, what they forbid, and S3's errors.

mod common;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete, ObjectIdentifier,
    ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockMode,
    ObjectLockRetention, ObjectLockRetentionMode, ObjectLockRule, VersioningConfiguration,
};
use common::*;

async fn locked_bucket(c: &Client, name: &str) {
    c.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create a lock-enabled bucket");
}

fn in_secs(secs: u64) -> DateTime {
    DateTime::from(SystemTime::now() + Duration::from_secs(secs))
}

async fn put_version(c: &Client, bucket: &str, key: &str, body: &'static [u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
        .version_id
        .expect("a version id")
}

async fn delete_version(c: &Client, bucket: &str, key: &str, version: &str, bypass: bool) -> Result<(), (String, u16)> {
    c.delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .bypass_governance_retention(bypass)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (code(&e), status(&e)))
}

async fn set_retention(
    c: &Client,
    bucket: &str,
    key: &str,
    mode: ObjectLockRetentionMode,
    until: DateTime,
    bypass: bool,
) -> Result<(), String> {
    c.put_object_retention()
        .bucket(bucket)
        .key(key)
        .retention(ObjectLockRetention::builder().mode(mode).retain_until_date(until).build())
        .bypass_governance_retention(bypass)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

#[tokio::test]
async fn a_bucket_created_with_object_lock_is_versioned_for_good() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "worm").await;
    let v = c.get_bucket_versioning().bucket("worm").send().await.unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let config = c.get_object_lock_configuration().bucket("worm").send().await.unwrap();
    let config = config.object_lock_configuration().unwrap();
    assert_eq!(config.object_lock_enabled(), Some(&ObjectLockEnabled::Enabled));
    assert!(config.rule().is_none());
    let err = c
        .put_bucket_versioning()
        .bucket("worm")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("InvalidBucketState", 409));
}

#[tokio::test]
async fn a_bucket_without_object_lock_refuses_every_lock_request() {
    let s = server();
    let c = s.client();
    bucket(&c, "plain").await;
    put(&c, "plain", "k", b"x").await;
    let err = c.get_object_lock_configuration().bucket("plain").send().await.unwrap_err();
    assert_eq!(
        (code(&err).as_str(), status(&err)),
        ("ObjectLockConfigurationNotFoundError", 404)
    );
    let config = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .build();
    let err = c
        .put_object_lock_configuration()
        .bucket("plain")
        .object_lock_configuration(config)
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("InvalidBucketState", 409));
    let err = c
        .put_object()
        .bucket("plain")
        .key("k2")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("InvalidRequest", 400));
    let err = set_retention(&c, "plain", "k", ObjectLockRetentionMode::Governance, in_secs(60), false).await;
    assert_eq!(err, Err("InvalidRequest".to_owned()));
    let err = c.get_object_legal_hold().bucket("plain").key("k").send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidRequest");
    // Nothing was stored by the refused PUT.
    assert_eq!(
        code(&c.head_object().bucket("plain").key("k2").send().await.unwrap_err()),
        "NotFound"
    );
}

#[tokio::test]
async fn the_default_retention_protects_new_versions_and_governance_can_be_bypassed() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "gov").await;
    let rule = ObjectLockRule::builder()
        .default_retention(
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .days(1)
                .build(),
        )
        .build();
    c.put_object_lock_configuration()
        .bucket("gov")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(rule)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c.get_object_lock_configuration().bucket("gov").send().await.unwrap();
    let retention = got
        .object_lock_configuration()
        .unwrap()
        .rule()
        .unwrap()
        .default_retention()
        .unwrap();
    assert_eq!(
        (retention.mode(), retention.days(), retention.years()),
        (Some(&ObjectLockRetentionMode::Governance), Some(1), None)
    );
    let v1 = put_version(&c, "gov", "k", b"one").await;
    let head = c.head_object().bucket("gov").key("k").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    let until = head.object_lock_retain_until_date().unwrap().secs();
    let day_from_now = DateTime::from(SystemTime::now() + Duration::from_secs(86_400)).secs();
    assert!(
        (until - day_from_now).abs() < 60,
        "retain until {until}, a day from now {day_from_now}"
    );
    // A delete marker is allowed; deleting the version is not, unless bypassing GOVERNANCE.
    c.delete_object().bucket("gov").key("k").send().await.unwrap();
    assert_eq!(
        delete_version(&c, "gov", "k", &v1, false).await,
        Err(("AccessDenied".to_owned(), 403))
    );
    delete_version(&c, "gov", "k", &v1, true).await.unwrap();
    // Removing the default: new versions are unprotected.
    c.put_object_lock_configuration()
        .bucket("gov")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let v2 = put_version(&c, "gov", "k", b"two").await;
    delete_version(&c, "gov", "k", &v2, false).await.unwrap();
}

#[tokio::test]
async fn compliance_cannot_be_shortened_or_bypassed_but_can_be_extended() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "comp").await;
    let v1 = c
        .put_object()
        .bucket("comp")
        .key("k")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(3600))
        .body(ByteStream::from_static(b"kept"))
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    assert_eq!(
        delete_version(&c, "comp", "k", &v1, true).await,
        Err(("AccessDenied".to_owned(), 403))
    );
    assert_eq!(
        set_retention(&c, "comp", "k", ObjectLockRetentionMode::Compliance, in_secs(60), true).await,
        Err("AccessDenied".to_owned())
    );
    assert_eq!(
        set_retention(&c, "comp", "k", ObjectLockRetentionMode::Governance, in_secs(7200), true).await,
        Err("AccessDenied".to_owned()),
        "COMPLIANCE → GOVERNANCE weakens it"
    );
    let later = in_secs(7200);
    set_retention(&c, "comp", "k", ObjectLockRetentionMode::Compliance, later, false)
        .await
        .unwrap();
    let got = c
        .get_object_retention()
        .bucket("comp")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    let r = got.retention().unwrap();
    assert_eq!(r.mode(), Some(&ObjectLockRetentionMode::Compliance));
    assert_eq!(r.retain_until_date().unwrap().secs(), later.secs());
    // DeleteObjects reports the locked version per key and deletes the rest.
    let v2 = put_version(&c, "comp", "free", b"free").await;
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("k").version_id(&v1).build().unwrap())
        .objects(ObjectIdentifier::builder().key("free").version_id(&v2).build().unwrap())
        .build()
        .unwrap();
    let out = c
        .delete_objects()
        .bucket("comp")
        .delete(delete)
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted().len(), 1);
    assert_eq!(out.errors().len(), 1);
    assert_eq!(
        (out.errors()[0].key(), out.errors()[0].code()),
        (Some("k"), Some("AccessDenied"))
    );
    assert_eq!(get(&c, "comp", "k").await, b"kept");
}

#[tokio::test]
async fn governance_is_shortened_only_with_bypass_and_expires_by_itself() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "short").await;
    let v = put_version(&c, "short", "k", b"x").await;
    set_retention(&c, "short", "k", ObjectLockRetentionMode::Governance, in_secs(3600), false)
        .await
        .unwrap();
    assert_eq!(
        set_retention(&c, "short", "k", ObjectLockRetentionMode::Governance, in_secs(2), false).await,
        Err("AccessDenied".to_owned())
    );
    // GOVERNANCE → COMPLIANCE also needs the bypass (S3).
    assert_eq!(
        set_retention(&c, "short", "k", ObjectLockRetentionMode::Compliance, in_secs(7200), false).await,
        Err("AccessDenied".to_owned())
    );
    set_retention(&c, "short", "k", ObjectLockRetentionMode::Governance, in_secs(2), true)
        .await
        .unwrap();
    assert_eq!(
        delete_version(&c, "short", "k", &v, false).await,
        Err(("AccessDenied".to_owned(), 403))
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The date has passed: the version is unprotected.
    delete_version(&c, "short", "k", &v, false).await.unwrap();
}

#[tokio::test]
async fn a_legal_hold_blocks_deletes_until_it_is_released() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "hold").await;
    let v = put_version(&c, "hold", "k", b"x").await;
    let set = |status: ObjectLockLegalHoldStatus| {
        c.put_object_legal_hold()
            .bucket("hold")
            .key("k")
            .version_id(&v)
            .legal_hold(ObjectLockLegalHold::builder().status(status).build())
            .send()
    };
    set(ObjectLockLegalHoldStatus::On).await.unwrap();
    let head = c.head_object().bucket("hold").key("k").send().await.unwrap();
    assert_eq!(head.object_lock_legal_hold_status(), Some(&ObjectLockLegalHoldStatus::On));
    assert_eq!(
        delete_version(&c, "hold", "k", &v, true).await,
        Err(("AccessDenied".to_owned(), 403))
    );
    set(ObjectLockLegalHoldStatus::Off).await.unwrap();
    let hold = c.get_object_legal_hold().bucket("hold").key("k").send().await.unwrap();
    assert_eq!(hold.legal_hold().unwrap().status(), Some(&ObjectLockLegalHoldStatus::Off));
    delete_version(&c, "hold", "k", &v, false).await.unwrap();
    // A multipart upload created with a legal hold completes into a held version.
    let up = c
        .create_multipart_upload()
        .bucket("hold")
        .key("mp")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket("hold")
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"part"))
        .send()
        .await
        .unwrap();
    let done = c
        .complete_multipart_upload()
        .bucket("hold")
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag().unwrap()).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mp = done.version_id().unwrap();
    assert_eq!(
        delete_version(&c, "hold", "mp", mp, true).await,
        Err(("AccessDenied".to_owned(), 403))
    );
}

#[tokio::test]
async fn bad_lock_requests_get_s3s_errors_and_store_nothing() {
    let s = server();
    let c = s.client();
    locked_bucket(&c, "bad").await;
    // A mode without a date.
    let err = c
        .put_object()
        .bucket("bad")
        .key("k")
        .object_lock_mode(ObjectLockMode::Governance)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("InvalidArgument", 400));
    // A date in the past.
    let past = DateTime::from(SystemTime::now() - Duration::from_secs(60));
    let err = c
        .put_object()
        .bucket("bad")
        .key("k")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(past)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    assert_eq!(
        code(&c.head_object().bucket("bad").key("k").send().await.unwrap_err()),
        "NotFound"
    );
    // A version without retention: NoSuchObjectLockConfiguration.
    put_version(&c, "bad", "k", b"x").await;
    let err = c.get_object_retention().bucket("bad").key("k").send().await.unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchObjectLockConfiguration", 404));
    // PutObjectLegalHold without Content-MD5 or a checksum (signed raw: SDKs always add one).
    let body = b"<LegalHold><Status>ON</Status></LegalHold>".to_vec();
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
    let raw = signed(&s, "PUT", "/bad/k", &[("legal-hold", "")], &[], &hash, body).await;
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert!(raw.body.contains("<Code>InvalidRequest</Code>"), "{}", raw.body);
    // A legal hold never set: NoSuchObjectLockConfiguration, as S3.
    let err = c.get_object_legal_hold().bucket("bad").key("k").send().await.unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchObjectLockConfiguration", 404));
    // The bypass header on a bucket without object lock is refused, not ignored.
    bucket(&c, "unlocked").await;
    let v = put(&c, "unlocked", "k", b"x").await;
    let _ = v;
    let err = c
        .delete_object()
        .bucket("unlocked")
        .key("k")
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    // A default retention with both days and years: MalformedXML.
    let rule = ObjectLockRule::builder()
        .default_retention(
            DefaultRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .days(1)
                .years(1)
                .build(),
        )
        .build();
    let err = c
        .put_object_lock_configuration()
        .bucket("bad")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(rule)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedXML");
}
