//! Object operations over real HTTP with aws-sdk-s3.

mod common;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, Delete, MetadataDirective, ObjectIdentifier, Tag, Tagging};
use common::*;

#[tokio::test]
async fn round_trip_of_many_sizes() {
    round_trip_sizes(server()).await;
}

/// The same with data files written through the page cache instead of with direct I/O.
#[tokio::test]
async fn round_trip_of_many_sizes_without_direct_io() {
    round_trip_sizes(server_with(&["--direct-io", "false"])).await;
}

/// Sizes around the inline threshold, the 1 MiB write/hash unit and the 4 KiB direct-I/O block.
async fn round_trip_sizes(s: TestServer) {
    const MIB: usize = 1024 * 1024;
    let c = s.client();
    bucket(&c, "b-bkt").await;
    let sizes = [
        0usize,
        1,
        4096,
        128 * 1024,
        128 * 1024 + 1,
        MIB - 1,
        MIB,
        MIB + 1,
        2 * MIB + 4095,
        3 * MIB + 7,
    ];
    for (i, len) in sizes.into_iter().enumerate() {
        let body = data(len, i as u64);
        let key = format!("obj-{len}");
        let etag = put(&c, "b-bkt", &key, &body).await;
        assert_eq!(etag, format!("\"{}\"", md5_hex(&body)));
        assert_eq!(get(&c, "b-bkt", &key).await, body, "{len}");
        let head = c.head_object().bucket("b-bkt").key(&key).send().await.unwrap();
        assert_eq!(head.content_length(), Some(len as i64));
        assert_eq!(head.e_tag(), Some(etag.as_str()));
    }
}

#[tokio::test]
async fn any_valid_key_is_stored_literally() {
    let s = server();
    let c = s.client();
    bucket(&c, "keys").await;
    let keys = [
        "ünïcødé/日本語/😀",
        "with space",
        "plus+sign",
        "percent%20literal",
        "double//slash",
        "trailing/",
        "../../escape",
        "./dot",
        "a?b=c&d#e",
        "quote\"'<>",
    ];
    for (i, k) in keys.iter().enumerate() {
        put(&c, "keys", k, format!("body-{i}").as_bytes()).await;
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(get(&c, "keys", k).await, format!("body-{i}").as_bytes(), "{k}");
    }
    let listed = c.list_objects_v2().bucket("keys").send().await.unwrap();
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort();
    let got: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(got, expected);
    // Nothing escaped the data directory.
    let parent = s.data_dir().parent().unwrap();
    assert!(!parent.join("escape").exists());
}

#[tokio::test]
async fn key_over_1024_bytes_is_rejected() {
    let s = server();
    let c = s.client();
    bucket(&c, "b-bkt").await;
    let err = c
        .put_object()
        .bucket("b-bkt")
        .key("k".repeat(1025))
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "KeyTooLongError");
    assert_eq!(status(&err), 400);
    put(&c, "b-bkt", &"k".repeat(1024), b"ok").await;
}

#[tokio::test]
async fn metadata_headers_and_tags_come_back() {
    let s = server();
    let c = s.client();
    bucket(&c, "m-bkt").await;
    c.put_object()
        .bucket("m-bkt")
        .key("doc")
        .body(b"hello".to_vec().into())
        .content_type("text/plain")
        .content_encoding("identity")
        .content_disposition("attachment; filename=\"a.txt\"")
        .content_language("pt-BR")
        .cache_control("max-age=60")
        .expires(aws_smithy_types::DateTime::from_secs(2_000_000_000))
        .metadata("color", "blue")
        .metadata("Mixed-Case", "Value")
        .tagging("team=data&tier=gold")
        .send()
        .await
        .unwrap();
    let out = c.get_object().bucket("m-bkt").key("doc").send().await.unwrap();
    assert_eq!(out.content_type(), Some("text/plain"));
    assert_eq!(out.content_encoding(), Some("identity"));
    assert_eq!(out.content_disposition(), Some("attachment; filename=\"a.txt\""));
    assert_eq!(out.content_language(), Some("pt-BR"));
    assert_eq!(out.cache_control(), Some("max-age=60"));
    assert_eq!(out.expires_string(), Some("Wed, 18 May 2033 03:33:20 GMT"));
    assert_eq!(out.metadata().unwrap().get("color").map(String::as_str), Some("blue"));
    assert_eq!(out.metadata().unwrap().get("mixed-case").map(String::as_str), Some("Value"));
    assert_eq!(out.tag_count(), Some(2));
    let tags = c.get_object_tagging().bucket("m-bkt").key("doc").send().await.unwrap();
    let pairs: Vec<_> = tags.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("team", "data"), ("tier", "gold")]);
    // response-* overrides
    let out = c
        .get_object()
        .bucket("m-bkt")
        .key("doc")
        .response_content_type("application/json")
        .response_content_disposition("inline")
        .response_cache_control("no-cache")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_type(), Some("application/json"));
    assert_eq!(out.content_disposition(), Some("inline"));
    assert_eq!(out.cache_control(), Some("no-cache"));
}

#[tokio::test]
async fn tagging_operations() {
    let s = server();
    let c = s.client();
    bucket(&c, "t-bkt").await;
    put(&c, "t-bkt", "k", b"v").await;
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("a").value("1").build().unwrap())
        .tag_set(Tag::builder().key("b-bkt").value("2").build().unwrap())
        .build()
        .unwrap();
    c.put_object_tagging()
        .bucket("t-bkt")
        .key("k")
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let got = c.get_object_tagging().bucket("t-bkt").key("k").send().await.unwrap();
    assert_eq!(got.tag_set().len(), 2);
    c.delete_object_tagging().bucket("t-bkt").key("k").send().await.unwrap();
    assert!(
        c.get_object_tagging()
            .bucket("t-bkt")
            .key("k")
            .send()
            .await
            .unwrap()
            .tag_set()
            .is_empty()
    );
    let err = c
        .get_object_tagging()
        .bucket("t-bkt")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    let too_many = Tagging::builder()
        .set_tag_set(Some(
            (0..11)
                .map(|i| Tag::builder().key(format!("k{i}")).value("v").build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap();
    let err = c
        .put_object_tagging()
        .bucket("t-bkt")
        .key("k")
        .tagging(too_many)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 400);
}

#[tokio::test]
async fn ranges_in_all_forms() {
    let s = server();
    let c = s.client();
    bucket(&c, "r-bkt").await;
    let body = data(1000, 7);
    put(&c, "r-bkt", "k", &body).await;
    for (range, expect) in [
        ("bytes=0-9", &body[0..10]),
        ("bytes=990-", &body[990..]),
        ("bytes=-5", &body[995..]),
        ("bytes=500-5000", &body[500..]),
    ] {
        let out = c.get_object().bucket("r-bkt").key("k").range(range).send().await.unwrap();
        assert!(out.content_range().is_some(), "{range}");
        assert_eq!(out.content_length(), Some(expect.len() as i64));
        assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), expect, "{range}");
    }
    let out = c
        .get_object()
        .bucket("r-bkt")
        .key("k")
        .range("bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_range(), Some("bytes 10-19/1000"));
    let err = c
        .get_object()
        .bucket("r-bkt")
        .key("k")
        .range("bytes=1000-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRange");
    assert_eq!(status(&err), 416);
    put(&c, "r-bkt", "empty", b"").await;
    let err = c
        .get_object()
        .bucket("r-bkt")
        .key("empty")
        .range("bytes=0-0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 416);
    // A large object read in ranges that span the inline threshold and file reads.
    let big = data(1_000_000, 8);
    put(&c, "r-bkt", "big", &big).await;
    let out = c
        .get_object()
        .bucket("r-bkt")
        .key("big")
        .range("bytes=262000-524999")
        .send()
        .await
        .unwrap();
    assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), &big[262000..525000]);
}

#[tokio::test]
async fn read_preconditions() {
    let s = server();
    let c = s.client();
    bucket(&c, "p-bkt").await;
    let etag = put(&c, "p-bkt", "k", b"hello").await;
    let past = aws_smithy_types::DateTime::from_secs(1_000_000_000);
    let future = aws_smithy_types::DateTime::from_secs(4_000_000_000);
    c.get_object().bucket("p-bkt").key("k").if_match(&etag).send().await.unwrap();
    let err = c
        .get_object()
        .bucket("p-bkt")
        .key("k")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(code(&err), "PreconditionFailed");
    let err = c
        .get_object()
        .bucket("p-bkt")
        .key("k")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    c.get_object()
        .bucket("p-bkt")
        .key("k")
        .if_none_match("\"other\"")
        .send()
        .await
        .unwrap();
    let err = c
        .get_object()
        .bucket("p-bkt")
        .key("k")
        .if_modified_since(future)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    c.get_object()
        .bucket("p-bkt")
        .key("k")
        .if_modified_since(past)
        .send()
        .await
        .unwrap();
    let err = c
        .get_object()
        .bucket("p-bkt")
        .key("k")
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    // If-Match wins over a failing If-Unmodified-Since (S3 semantics).
    c.get_object()
        .bucket("p-bkt")
        .key("k")
        .if_match(&etag)
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap();
    let err = c
        .head_object()
        .bucket("p-bkt")
        .key("k")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    // s3a reads: a range with If-Match.
    let out = c
        .get_object()
        .bucket("p-bkt")
        .key("k")
        .range("bytes=1-3")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), b"ell");
}

#[tokio::test]
async fn missing_things() {
    let s = server();
    let c = s.client();
    let err = c.get_object().bucket("nobucket").key("k").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    bucket(&c, "b-bkt").await;
    let err = c.get_object().bucket("b-bkt").key("k").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    assert_eq!(status(&err), 404);
    let err = c.head_object().bucket("b-bkt").key("k").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    // DELETE of a missing key succeeds.
    c.delete_object().bucket("b-bkt").key("k").send().await.unwrap();
}

#[tokio::test]
async fn delete_and_delete_objects() {
    let s = server();
    let c = s.client();
    bucket(&c, "d-bkt").await;
    for i in 0..5 {
        put(&c, "d-bkt", &format!("k{i}"), b"x").await;
    }
    c.delete_object().bucket("d-bkt").key("k0").send().await.unwrap();
    let ids = |keys: &[&str]| {
        Delete::builder().set_objects(Some(
            keys.iter()
                .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
                .collect(),
        ))
    };
    let verbose = c
        .delete_objects()
        .bucket("d-bkt")
        .delete(ids(&["k1", "k2", "missing"]).build().unwrap())
        .send()
        .await
        .unwrap();
    let mut deleted: Vec<_> = verbose.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(deleted, ["k1", "k2", "missing"]);
    assert!(verbose.errors().is_empty());
    let quiet = c
        .delete_objects()
        .bucket("d-bkt")
        .delete(ids(&["k3", "k4"]).quiet(true).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(quiet.deleted().is_empty());
    assert_eq!(c.list_objects_v2().bucket("d-bkt").send().await.unwrap().key_count(), Some(0));
    let many: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = c
        .delete_objects()
        .bucket("d-bkt")
        .delete(ids(&refs).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "MalformedXML");
}

#[tokio::test]
async fn copy_object_directives_and_conditions() {
    let s = server();
    let c = s.client();
    bucket(&c, "c-bkt").await;
    c.put_object()
        .bucket("c-bkt")
        .key("src dir/grp=3/file")
        .body(b"payload".to_vec().into())
        .content_type("text/csv")
        .metadata("m-bkt", "1")
        .tagging("t=1")
        .send()
        .await
        .unwrap();
    let src_etag = format!("\"{}\"", md5_hex(b"payload"));
    // COPY directive, URL-encoded source.
    let out = c
        .copy_object()
        .bucket("c-bkt")
        .key("dst")
        .copy_source("c-bkt/src%20dir/grp%3D3/file")
        .send()
        .await
        .unwrap();
    assert_eq!(out.copy_object_result().and_then(|r| r.e_tag()), Some(src_etag.as_str()));
    let got = c.get_object().bucket("c-bkt").key("dst").send().await.unwrap();
    assert_eq!(got.content_type(), Some("text/csv"));
    assert_eq!(got.metadata().unwrap().get("m-bkt").map(String::as_str), Some("1"));
    assert_eq!(got.tag_count(), Some(1));
    // REPLACE directive with a matching source condition.
    c.copy_object()
        .bucket("c-bkt")
        .key("dst2")
        .copy_source("c-bkt/src%20dir/grp%3D3/file")
        .copy_source_if_match(&src_etag)
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/octet-stream")
        .metadata("n", "2")
        .send()
        .await
        .unwrap();
    let got = c.head_object().bucket("c-bkt").key("dst2").send().await.unwrap();
    assert_eq!(got.content_type(), Some("application/octet-stream"));
    assert!(got.metadata().unwrap().get("m-bkt").is_none());
    let err = c
        .copy_object()
        .bucket("c-bkt")
        .key("dst3")
        .copy_source("c-bkt/src%20dir/grp%3D3/file")
        .copy_source_if_match("\"wrong\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    let err = c
        .copy_object()
        .bucket("c-bkt")
        .key("dst3")
        .copy_source("c-bkt/src%20dir/grp%3D3/file")
        .copy_source_if_none_match(&src_etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    // Onto itself: only with REPLACE.
    let err = c
        .copy_object()
        .bucket("c-bkt")
        .key("dst")
        .copy_source("c-bkt/dst")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequest");
    c.copy_object()
        .bucket("c-bkt")
        .key("dst")
        .copy_source("c-bkt/dst")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("fresh", "yes")
        .send()
        .await
        .unwrap();
    let got = c.get_object().bucket("c-bkt").key("dst").send().await.unwrap();
    assert_eq!(got.metadata().unwrap().get("fresh").map(String::as_str), Some("yes"));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"payload");
    let err = c
        .copy_object()
        .bucket("c-bkt")
        .key("x")
        .copy_source("c-bkt/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    // A large (file-backed) object copies byte-identically.
    let big = data(2_000_000, 3);
    put(&c, "c-bkt", "big", &big).await;
    c.copy_object()
        .bucket("c-bkt")
        .key("big-copy")
        .copy_source("c-bkt/big")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "c-bkt", "big-copy").await, big);
}

#[tokio::test]
async fn conditional_puts() {
    let s = server();
    let c = s.client();
    bucket(&c, "cw-bkt").await;
    c.put_object()
        .bucket("cw-bkt")
        .key("k")
        .if_none_match("*")
        .body(b"first".to_vec().into())
        .send()
        .await
        .unwrap();
    let err = c
        .put_object()
        .bucket("cw-bkt")
        .key("k")
        .if_none_match("*")
        .body(b"second".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(get(&c, "cw-bkt", "k").await, b"first");
    let etag = format!("\"{}\"", md5_hex(b"first"));
    let err = c
        .put_object()
        .bucket("cw-bkt")
        .key("k")
        .if_match("\"bad\"")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    c.put_object()
        .bucket("cw-bkt")
        .key("k")
        .if_match(&etag)
        .body(b"third".to_vec().into())
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "cw-bkt", "k").await, b"third");
    let err = c
        .put_object()
        .bucket("cw-bkt")
        .key("absent")
        .if_match(&etag)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn if_none_match_is_atomic_under_concurrency() {
    let s = server();
    let c = s.client();
    bucket(&c, "race").await;
    for round in 0..5 {
        let key = format!("k{round}");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let c = c.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    c.put_object()
                        .bucket("race")
                        .key(&key)
                        .if_none_match("*")
                        .body(format!("writer-{i}").into_bytes().into())
                        .send()
                        .await
                        .is_ok()
                })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1, "exactly one conditional PUT may win");
    }
}

#[tokio::test]
async fn checksums_are_verified_stored_and_returned() {
    let s = server();
    let c = s.client();
    bucket(&c, "ck-bkt").await;
    for alg in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        let key = format!("k-{}", alg.as_str());
        let body = data(300_000, 11);
        let put = c
            .put_object()
            .bucket("ck-bkt")
            .key(&key)
            .checksum_algorithm(alg.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        let out = c
            .get_object()
            .bucket("ck-bkt")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let returned = match alg {
            ChecksumAlgorithm::Crc32 => (
                put.checksum_crc32().map(str::to_owned),
                out.checksum_crc32().map(str::to_owned),
            ),
            ChecksumAlgorithm::Crc32C => (
                put.checksum_crc32_c().map(str::to_owned),
                out.checksum_crc32_c().map(str::to_owned),
            ),
            ChecksumAlgorithm::Sha1 => (put.checksum_sha1().map(str::to_owned), out.checksum_sha1().map(str::to_owned)),
            ChecksumAlgorithm::Sha256 => (
                put.checksum_sha256().map(str::to_owned),
                out.checksum_sha256().map(str::to_owned),
            ),
            _ => (
                put.checksum_crc64_nvme().map(str::to_owned),
                out.checksum_crc64_nvme().map(str::to_owned),
            ),
        };
        assert!(returned.0.is_some(), "{alg:?} returned on PUT");
        assert_eq!(returned.0, returned.1, "{alg:?} returned on GET");
        assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), body.as_slice());
    }
    // A wrong checksum value is BadDigest and stores nothing.
    let err = c
        .put_object()
        .bucket("ck-bkt")
        .key("bad")
        .checksum_crc32("AAAAAA==")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    let err = c.head_object().bucket("ck-bkt").key("bad").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn content_md5_is_verified() {
    use base64::Engine;
    let s = server();
    let c = s.client();
    bucket(&c, "md5").await;
    let good = base64::engine::general_purpose::STANDARD.encode(hex::decode(md5_hex(b"hello")).unwrap());
    c.put_object()
        .bucket("md5")
        .key("ok")
        .content_md5(&good)
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap();
    let wrong = base64::engine::general_purpose::STANDARD.encode(hex::decode(md5_hex(b"other")).unwrap());
    let err = c
        .put_object()
        .bucket("md5")
        .key("bad")
        .content_md5(&wrong)
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    let err = c
        .put_object()
        .bucket("md5")
        .key("bad")
        .content_md5("not-base64!")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidDigest");
    let err = c.head_object().bucket("md5").key("bad").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn overwrite_replaces_and_frees_old_data() {
    let s = server();
    let c = s.client();
    bucket(&c, "ow-bkt").await;
    put(&c, "ow-bkt", "k", &data(1_000_000, 1)).await;
    put(&c, "ow-bkt", "k", &data(2_000_000, 2)).await;
    put(&c, "ow-bkt", "k", b"small now").await;
    assert_eq!(get(&c, "ow-bkt", "k").await, b"small now");
    c.delete_object().bucket("ow-bkt").key("k").send().await.unwrap();
    let files = walk_files(&s.data_dir().join("objects"));
    assert!(files.is_empty(), "data files left after delete: {files:?}");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_overwrites_see_whole_versions() {
    let s = server();
    let c = s.client();
    bucket(&c, "race-rw").await;
    let versions: Vec<Vec<u8>> = (0..4).map(|i| data(300_000 + i * 1000, i as u64)).collect();
    put(&c, "race-rw", "k", &versions[0]).await;
    let writer = {
        let (c, versions) = (c.clone(), versions.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                put(&c, "race-rw", "k", &versions[i % versions.len()]).await;
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() {
        let got = get(&c, "race-rw", "k").await;
        assert!(
            versions.contains(&got),
            "a read returned bytes of no version ({} bytes)",
            got.len()
        );
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
}

/// Concurrent uploads share the MD5 thread's SIMD lanes (store/src/md5_lanes.rs): every ETag and
/// every body must still be its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_large_puts_get_their_own_etags() {
    let s = server();
    let c = s.client();
    bucket(&c, "lanes").await;
    let puts = (0..12u64).map(|i| {
        let c = c.clone();
        async move {
            let body = data((2 << 20) + (i as usize) * 300_007, 1000 + i);
            let etag = put(&c, "lanes", &format!("k{i}"), &body).await;
            (i, body, etag)
        }
    });
    for (i, body, etag) in futures::future::join_all(puts).await {
        assert_eq!(etag, format!("\"{}\"", md5_hex(&body)), "object {i}");
        assert_eq!(get(&c, "lanes", &format!("k{i}")).await, body, "object {i}");
    }
}
