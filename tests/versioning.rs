//! Bucket versioning over real HTTP with aws-sdk-s3: version ids, delete markers, version
//! deletes, ListObjectVersions paging, suspended buckets, and the operations that take a
//! `versionId` (GET, HEAD, DELETE, copy source, tagging).

mod common;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, EncodingType, MfaDelete, ObjectIdentifier, Tag,
    Tagging, VersioningConfiguration,
};
use common::*;

/// PUTs and returns the version id the response carries.
async fn put_version(c: &Client, bucket: &str, key: &str, body: &[u8]) -> Option<String> {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
        .version_id
}

async fn get_version(c: &Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}@{version}: {e:?}"));
    assert_eq!(out.version_id(), Some(version));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Every (key, version id, is latest, is marker) of the bucket in the order of the XML
/// documents (S3 interleaves versions and markers; the SDK splits them), read in pages of
/// `page`; each page is also read through the SDK, which must agree.
async fn all_versions(s: &TestServer, bucket: &str, page: i32) -> Vec<(String, String, bool, bool)> {
    let c = s.client();
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let max = page.to_string();
        let mut query = vec![("versions", ""), ("max-keys", max.as_str())];
        if let Some(k) = &key_marker {
            query.push(("key-marker", k));
        }
        if let Some(v) = &version_marker {
            query.push(("version-id-marker", v));
        }
        let raw = signed(s, "GET", &format!("/{bucket}"), &query, &[], EMPTY_SHA256, Vec::new()).await;
        assert_eq!(raw.status, 200, "{}", raw.body);
        let entries = version_entries(&raw.body);
        assert!(entries.len() <= page as usize);
        let sdk = c
            .list_object_versions()
            .bucket(bucket)
            .max_keys(page)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        let mut from_sdk: Vec<_> = sdk
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap().to_owned(),
                    v.version_id().unwrap().to_owned(),
                    v.is_latest().unwrap(),
                    false,
                )
            })
            .chain(sdk.delete_markers().iter().map(|m| {
                (
                    m.key().unwrap().to_owned(),
                    m.version_id().unwrap().to_owned(),
                    m.is_latest().unwrap(),
                    true,
                )
            }))
            .collect();
        let mut sorted = entries.clone();
        sorted.sort();
        from_sdk.sort();
        assert_eq!(from_sdk, sorted, "the SDK reads the same page");
        out.extend(entries);
        if !sdk.is_truncated().unwrap() {
            return out;
        }
        key_marker = sdk.next_key_marker().map(str::to_owned);
        version_marker = sdk.next_version_id_marker().map(str::to_owned);
        assert!(key_marker.is_some() && version_marker.is_some());
    }
}

#[tokio::test]
async fn versioning_configuration_is_enabled_suspended_and_never_off_again() {
    let s = server();
    let c = s.client();
    bucket(&c, "vconf").await;
    let got = c.get_bucket_versioning().bucket("vconf").send().await.unwrap();
    assert_eq!(got.status(), None, "a new bucket has no versioning status");
    set_versioning(&c, "vconf", BucketVersioningStatus::Enabled).await;
    let got = c.get_bucket_versioning().bucket("vconf").send().await.unwrap();
    assert_eq!(got.status(), Some(&BucketVersioningStatus::Enabled));
    set_versioning(&c, "vconf", BucketVersioningStatus::Suspended).await;
    let got = c.get_bucket_versioning().bucket("vconf").send().await.unwrap();
    assert_eq!(got.status(), Some(&BucketVersioningStatus::Suspended));
    // No status: refused, and the state stays.
    let err = c
        .put_bucket_versioning()
        .bucket("vconf")
        .versioning_configuration(VersioningConfiguration::builder().build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "IllegalVersioningConfigurationException");
    assert_eq!(status(&err), 400);
    // A status other than Enabled/Suspended (there is no way back to "off"): MalformedXML.
    let err = c
        .put_bucket_versioning()
        .bucket("vconf")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::from("Disabled"))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedXML");
    // MFA delete: refused whole.
    let err = c
        .put_bucket_versioning()
        .bucket("vconf")
        .mfa("arn:aws:iam::1:mfa/x 123456")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .mfa_delete(MfaDelete::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NotImplemented");
    let got = c.get_bucket_versioning().bucket("vconf").send().await.unwrap();
    assert_eq!(got.status(), Some(&BucketVersioningStatus::Suspended));
    // Someone else's bucket: AccessDenied.
    let other = s.client_as(OTHER_USER.0, OTHER_USER.1);
    let err = other
        .put_bucket_versioning()
        .bucket("vconf")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied");
}

#[tokio::test]
async fn an_unversioned_bucket_sends_no_version_ids() {
    let s = server();
    let c = s.client();
    bucket(&c, "plain").await;
    assert_eq!(put_version(&c, "plain", "k", b"1").await, None);
    let got = c.get_object().bucket("plain").key("k").send().await.unwrap();
    assert_eq!(got.version_id(), None);
    let del = c.delete_object().bucket("plain").key("k").send().await.unwrap();
    assert_eq!((del.delete_marker(), del.version_id()), (None, None));
    assert!(all_versions(&s, "plain", 10).await.is_empty());
}

#[tokio::test]
async fn every_write_to_an_enabled_bucket_is_a_version_readable_by_its_id() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "ver").await;
    let mut ids = Vec::new();
    for i in 0..3u8 {
        // Bodies on both sides of the inline threshold.
        let body = data(if i == 1 { 300_000 } else { 10 }, u64::from(i));
        ids.push((put_version(&c, "ver", "k", &body).await.expect("a version id"), body));
    }
    let unique: std::collections::HashSet<_> = ids.iter().map(|(id, _)| id).collect();
    assert_eq!(unique.len(), 3);
    for (id, body) in &ids {
        assert_eq!(&get_version(&c, "ver", "k", id).await, body);
        let head = c.head_object().bucket("ver").key("k").version_id(id).send().await.unwrap();
        assert_eq!(head.version_id(), Some(id.as_str()));
        assert_eq!(head.content_length(), Some(body.len() as i64));
    }
    let current = c.get_object().bucket("ver").key("k").send().await.unwrap();
    assert_eq!(current.version_id(), Some(ids[2].0.as_str()));
    // ListObjectsV2 shows the key once; ListObjectVersions shows all three, newest first.
    let listed = c.list_objects_v2().bucket("ver").send().await.unwrap();
    assert_eq!(listed.contents().len(), 1);
    let versions = all_versions(&s, "ver", 1000).await;
    let want: Vec<_> = ids
        .iter()
        .rev()
        .enumerate()
        .map(|(i, (id, _))| ("k".to_owned(), id.clone(), i == 0, false))
        .collect();
    assert_eq!(versions, want);
    // A malformed id is 400 InvalidArgument; a well-formed one that names nothing, NoSuchVersion.
    let err = c
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("InvalidArgument", 400));
    let missing = "00000000-0000-0001-0000-000000000000";
    let err = c
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&err).as_str(), status(&err)), ("NoSuchVersion", 404));
    let err = c
        .get_object()
        .bucket("ver")
        .key("other")
        .version_id(&ids[0].0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchVersion", "a version id belongs to its key");
}

#[tokio::test]
async fn a_delete_writes_a_marker_that_hides_the_key_until_it_is_removed() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "marks").await;
    let v1 = put_version(&c, "marks", "k", b"one").await.unwrap();
    let del = c.delete_object().bucket("marks").key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del.version_id().expect("the marker's version id").to_owned();
    assert_ne!(marker, v1);
    // GET/HEAD of the key: 404 NoSuchKey saying it is a marker.
    let raw = signed(&s, "GET", "/marks/k", &[], &[], EMPTY_SHA256, Vec::new()).await;
    assert_eq!(raw.status, 404);
    assert!(
        raw.body.contains("<Code>NoSuchKey</Code>") && raw.body.contains("<RequestId>"),
        "{}",
        raw.body
    );
    assert_eq!(raw.header("x-amz-delete-marker"), Some("true"));
    assert_eq!(raw.header("x-amz-version-id"), Some(marker.as_str()));
    let raw = signed(&s, "HEAD", "/marks/k", &[], &[], EMPTY_SHA256, Vec::new()).await;
    assert_eq!((raw.status, raw.header("x-amz-delete-marker")), (404, Some("true")));
    // GET/HEAD of the marker by its id: 405 MethodNotAllowed.
    for method in ["GET", "HEAD"] {
        let raw = signed(
            &s,
            method,
            "/marks/k",
            &[("versionId", &marker)],
            &[],
            EMPTY_SHA256,
            Vec::new(),
        )
        .await;
        assert_eq!(raw.status, 405, "{method}");
        assert_eq!(raw.header("x-amz-delete-marker"), Some("true"));
        assert!(raw.header("last-modified").is_some());
    }
    // The old version is still there; the listing hides the key.
    assert_eq!(get_version(&c, "marks", "k", &v1).await, b"one");
    assert!(
        c.list_objects_v2()
            .bucket("marks")
            .send()
            .await
            .unwrap()
            .contents()
            .is_empty()
    );
    let versions = all_versions(&s, "marks", 1000).await;
    assert_eq!(
        versions,
        vec![
            ("k".to_owned(), marker.clone(), true, true),
            ("k".to_owned(), v1.clone(), false, false)
        ]
    );
    // A second delete adds a second marker, as in S3.
    let again = c.delete_object().bucket("marks").key("k").send().await.unwrap();
    assert_ne!(again.version_id(), Some(marker.as_str()));
    // Removing both markers by id brings the object back.
    for id in [again.version_id().unwrap(), marker.as_str()] {
        let out = c
            .delete_object()
            .bucket("marks")
            .key("k")
            .version_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!((out.delete_marker(), out.version_id()), (Some(true), Some(id)));
    }
    assert_eq!(get(&c, "marks", "k").await, b"one");
    // A delete of a key that never existed still writes a marker (S3 does too).
    let ghost = c.delete_object().bucket("marks").key("ghost").send().await.unwrap();
    assert_eq!(ghost.delete_marker(), Some(true));
}

#[tokio::test]
async fn deleting_a_version_is_permanent_and_the_previous_one_becomes_current() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "perm").await;
    let v1 = put_version(&c, "perm", "k", b"one").await.unwrap();
    let v2 = put_version(&c, "perm", "k", b"two").await.unwrap();
    let out = c
        .delete_object()
        .bucket("perm")
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!((out.delete_marker(), out.version_id()), (None, Some(v2.as_str())));
    let err = c
        .get_object()
        .bucket("perm")
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchVersion");
    let current = c.get_object().bucket("perm").key("k").send().await.unwrap();
    assert_eq!(current.version_id(), Some(v1.as_str()));
    // Deleting a version that no longer exists succeeds (idempotent, as S3).
    c.delete_object()
        .bucket("perm")
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    // The bucket is not empty while any version is left.
    c.delete_object().bucket("perm").key("k").send().await.unwrap();
    let err = c.delete_bucket().bucket("perm").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketNotEmpty");
    for (_, id, _, _) in all_versions(&s, "perm", 1000).await {
        c.delete_object().bucket("perm").key("k").version_id(id).send().await.unwrap();
    }
    c.delete_bucket().bucket("perm").send().await.unwrap();
}

#[tokio::test]
async fn delete_objects_reports_markers_and_version_deletes() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "multi").await;
    let v1 = put_version(&c, "multi", "a", b"a1").await.unwrap();
    put_version(&c, "multi", "b", b"b1").await.unwrap();
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("a").version_id(&v1).build().unwrap())
        .objects(ObjectIdentifier::builder().key("b").build().unwrap())
        .objects(ObjectIdentifier::builder().key("c").version_id("bad-id").build().unwrap())
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("multi").delete(delete).send().await.unwrap();
    let a = out.deleted().iter().find(|d| d.key() == Some("a")).unwrap();
    assert_eq!((a.version_id(), a.delete_marker()), (Some(v1.as_str()), None));
    let b = out.deleted().iter().find(|d| d.key() == Some("b")).unwrap();
    assert_eq!(b.delete_marker(), Some(true));
    let marker = b.delete_marker_version_id().expect("the new marker's id").to_owned();
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("NoSuchVersion"));
    // Removing the marker by id in a second DeleteObjects.
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("b").version_id(&marker).build().unwrap())
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("multi").delete(delete).send().await.unwrap();
    let b = &out.deleted()[0];
    assert_eq!(
        (b.version_id(), b.delete_marker(), b.delete_marker_version_id()),
        (Some(marker.as_str()), Some(true), Some(marker.as_str()))
    );
    assert_eq!(get(&c, "multi", "b").await, b"b1");
    // The same key twice in one request is one delete, reported once (as S3).
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("b").build().unwrap())
        .objects(ObjectIdentifier::builder().key("b").build().unwrap())
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("multi").delete(delete).send().await.unwrap();
    assert_eq!(out.deleted().len(), 1);
    let markers = all_versions(&s, "multi", 1000)
        .await
        .into_iter()
        .filter(|v| v.0 == "b" && v.3)
        .count();
    assert_eq!(markers, 1);
    // A key's marker and one of its versions in one request: both happen, in order.
    let v2 = put_version(&c, "multi", "d", b"d1").await.unwrap();
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("d").build().unwrap())
        .objects(ObjectIdentifier::builder().key("d").version_id(&v2).build().unwrap())
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("multi").delete(delete).send().await.unwrap();
    assert_eq!(out.deleted().len(), 2);
    let left: Vec<_> = all_versions(&s, "multi", 1000)
        .await
        .into_iter()
        .filter(|v| v.0 == "d")
        .collect();
    assert_eq!(left.len(), 1);
    assert!(left[0].3 && left[0].2, "only the new marker is left: {left:?}");
}

#[tokio::test]
async fn list_object_versions_pages_by_key_and_version_marker() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "pages").await;
    let mut want = Vec::new();
    for key in ["a", "b/1", "b/2", "c d", "é"] {
        let mut chain = Vec::new();
        for i in 0..3 {
            chain.push((
                put_version(&c, "pages", key, format!("{key}{i}").as_bytes()).await.unwrap(),
                false,
            ));
        }
        if key != "c d" {
            let del = c.delete_object().bucket("pages").key(key).send().await.unwrap();
            chain.push((del.version_id().unwrap().to_owned(), true));
        }
        for (i, (id, marker)) in chain.iter().rev().enumerate() {
            want.push((key.to_owned(), id.clone(), i == 0, *marker));
        }
    }
    for page in [1, 2, 3, 7, 1000] {
        assert_eq!(all_versions(&s, "pages", page).await, want, "page size {page}");
    }
    // Prefix and delimiter: one common prefix for b/, url encoding of keys.
    let res = c
        .list_object_versions()
        .bucket("pages")
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let prefixes: Vec<_> = res.common_prefixes().iter().map(|p| p.prefix().unwrap()).collect();
    assert_eq!(prefixes, ["b/"]);
    let keys: std::collections::BTreeSet<_> = res.versions().iter().map(|v| v.key().unwrap()).collect();
    assert_eq!(keys, ["a", "c%20d", "%C3%A9"].into_iter().collect());
    let res = c.list_object_versions().bucket("pages").prefix("b/2").send().await.unwrap();
    assert_eq!(res.versions().len(), 3);
    assert_eq!(res.delete_markers().len(), 1);
    // A version-id marker needs a key marker.
    let err = c
        .list_object_versions()
        .bucket("pages")
        .version_id_marker(&want[0].1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
}

#[tokio::test]
async fn a_suspended_bucket_replaces_the_null_version_and_keeps_the_others() {
    let s = server();
    let c = s.client();
    bucket(&c, "susp").await;
    // Written before versioning: becomes the `null` version.
    put(&c, "susp", "k", b"before").await;
    set_versioning(&c, "susp", BucketVersioningStatus::Enabled).await;
    let v1 = put_version(&c, "susp", "k", b"enabled").await.unwrap();
    assert_eq!(get_version(&c, "susp", "k", "null").await, b"before");
    set_versioning(&c, "susp", BucketVersioningStatus::Suspended).await;
    // S3 names no version on a suspended write (the null version); reads name it `null`.
    assert_eq!(put_version(&c, "susp", "k", b"s1").await, None);
    assert_eq!(put_version(&c, "susp", "k", b"s2").await, None);
    // One null version (the newest), and the enabled-era version.
    let versions = all_versions(&s, "susp", 1000).await;
    assert_eq!(
        versions,
        vec![
            ("k".to_owned(), "null".to_owned(), true, false),
            ("k".to_owned(), v1.clone(), false, false)
        ]
    );
    assert_eq!(get_version(&c, "susp", "k", "null").await, b"s2");
    // A delete writes a null marker in place of the null version.
    let del = c.delete_object().bucket("susp").key("k").send().await.unwrap();
    assert_eq!((del.delete_marker(), del.version_id()), (Some(true), Some("null")));
    let versions = all_versions(&s, "susp", 1000).await;
    assert_eq!(
        versions,
        vec![
            ("k".to_owned(), "null".to_owned(), true, true),
            ("k".to_owned(), v1.clone(), false, false)
        ]
    );
    assert_eq!(get_version(&c, "susp", "k", &v1).await, b"enabled");
}

#[tokio::test]
async fn copy_tagging_and_multipart_work_on_versions() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "ops").await;
    let v1 = put_version(&c, "ops", "src", b"first").await.unwrap();
    let v2 = put_version(&c, "ops", "src", b"second").await.unwrap();
    // Copy an old version onto its own key: a restore (what `mc undo` and consoles do).
    let out = c
        .copy_object()
        .bucket("ops")
        .key("src")
        .copy_source(format!("ops/src?versionId={v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
    let v3 = out.version_id().expect("the copy is a new version").to_owned();
    assert!(v3 != v1 && v3 != v2);
    assert_eq!(get(&c, "ops", "src").await, b"first");
    // A delete marker named as a copy source is refused.
    let marker = c.delete_object().bucket("ops").key("gone").send().await.unwrap();
    let err = c
        .copy_object()
        .bucket("ops")
        .key("dst")
        .copy_source(format!("ops/gone?versionId={}", marker.version_id().unwrap()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequest");
    let err = c
        .copy_object()
        .bucket("ops")
        .key("dst")
        .copy_source("ops/gone")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    // Tags per version.
    let tags = Tagging::builder()
        .tag_set(Tag::builder().key("era").value("old").build().unwrap())
        .build()
        .unwrap();
    let out = c
        .put_object_tagging()
        .bucket("ops")
        .key("src")
        .version_id(&v2)
        .tagging(tags)
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_id(), Some(v2.as_str()));
    let old = c
        .get_object_tagging()
        .bucket("ops")
        .key("src")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(old.tag_set().len(), 1);
    assert_eq!(old.version_id(), Some(v2.as_str()));
    let current = c.get_object_tagging().bucket("ops").key("src").send().await.unwrap();
    assert!(current.tag_set().is_empty());
    assert_eq!(current.version_id(), Some(v3.as_str()));
    // UploadPartCopy from a version, and the completed upload is a version of its own.
    let up = c.create_multipart_upload().bucket("ops").key("mp").send().await.unwrap();
    let id = up.upload_id().unwrap();
    let part = c
        .upload_part_copy()
        .bucket("ops")
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .copy_source(format!("ops/src?versionId={v2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(part.copy_source_version_id(), Some(v2.as_str()));
    let etag = part.copy_part_result().unwrap().e_tag().unwrap().to_owned();
    let done = c
        .complete_multipart_upload()
        .bucket("ops")
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mp_version = done.version_id().expect("completion answers the version id").to_owned();
    assert_eq!(get_version(&c, "ops", "mp", &mp_version).await, b"second");
}

#[tokio::test]
async fn conditional_writes_refer_to_the_newest_version() {
    let s = server();
    let c = s.client();
    versioned_bucket(&c, "cond").await;
    let first = c
        .put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"1"))
        .send()
        .await
        .unwrap();
    let err = c
        .put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    // If-Match against the current version's ETag.
    c.put_object()
        .bucket("cond")
        .key("k")
        .if_match(first.e_tag().unwrap())
        .body(ByteStream::from_static(b"2"))
        .send()
        .await
        .unwrap();
    // Behind a delete marker the key does not exist: If-None-Match: * succeeds again.
    c.delete_object().bucket("cond").key("k").send().await.unwrap();
    c.put_object()
        .bucket("cond")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"3"))
        .send()
        .await
        .unwrap();
    assert_eq!(all_versions(&s, "cond", 1000).await.len(), 4);
}
