//! Answers that must match S3 (or MinIO where S3 is silent): what an external conformance run
//! found Lagoa doing differently. Each test goes through a real client (aws-sdk-s3) or, where no
//! SDK sends the bytes in question, raw signed HTTP.

mod common;
use std::time::Duration;

use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, Tag,
    Tagging,
};
use base64::Engine;
use common::*;
use lagoa_conformance::sigv4::{self, Signer};

const MIB: usize = 1024 * 1024;

fn b64(raw: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn crc32_b64(data: &[u8]) -> String {
    b64(&(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, data) as u32).to_be_bytes())
}

// ---- ACLs: refused whole, nothing stored (encryption: tests/encryption.rs) ----

#[tokio::test]
async fn acls_that_grant_others_are_refused_where_the_bucket_disables_acls() {
    use aws_sdk_s3::types::{BucketCannedAcl, ObjectCannedAcl};
    let s = server();
    let c = s.client();
    let err = c
        .create_bucket()
        .bucket("acl-public")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&err), code(&err).as_str()),
        (400, "InvalidBucketAclWithObjectOwnership")
    );
    assert_eq!(status(&c.head_bucket().bucket("acl-public").send().await.unwrap_err()), 404);
    c.create_bucket()
        .bucket("acl")
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap();
    for acl in [ObjectCannedAcl::PublicRead, ObjectCannedAcl::AuthenticatedRead] {
        let err = c
            .put_object()
            .bucket("acl")
            .key("o")
            .acl(acl.clone())
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            (status(&err), code(&err).as_str()),
            (400, "AccessControlListNotSupported"),
            "{acl:?}"
        );
    }
    let err = c
        .put_object()
        .bucket("acl")
        .key("o")
        .grant_read("id=someone")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "AccessControlListNotSupported"));
    assert_eq!(status(&c.head_object().bucket("acl").key("o").send().await.unwrap_err()), 404);
    for acl in [ObjectCannedAcl::Private, ObjectCannedAcl::BucketOwnerFullControl] {
        c.put_object()
            .bucket("acl")
            .key("o")
            .acl(acl)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let err = c
        .create_multipart_upload()
        .bucket("acl")
        .key("mp")
        .acl(ObjectCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "AccessControlListNotSupported"));
    let err = c
        .copy_object()
        .bucket("acl")
        .key("copy")
        .copy_source("acl/o")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "AccessControlListNotSupported"));
}

// ---- conditional writes and deletes ----

#[tokio::test]
async fn put_if_none_match_with_an_etag() {
    let s = server();
    let c = s.client();
    bucket(&c, "inm").await;
    let etag = put(&c, "inm", "k", b"first").await;
    let err = c
        .put_object()
        .bucket("inm")
        .key("k")
        .if_none_match(&etag)
        .body(ByteStream::from_static(b"second"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(get(&c, "inm", "k").await, b"first");
    c.put_object()
        .bucket("inm")
        .key("k")
        .if_none_match("\"0123456789abcdef0123456789abcdef\"")
        .body(ByteStream::from_static(b"third"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "inm", "k").await, b"third");
    c.put_object()
        .bucket("inm")
        .key("absent")
        .if_none_match(&etag)
        .body(ByteStream::from_static(b"new"))
        .send()
        .await
        .unwrap();
}

/// A CompleteMultipartUpload request for `parts`, to adorn with conditions or checksums.
fn complete(
    c: &aws_sdk_s3::Client,
    b: &str,
    k: &str,
    id: &str,
    parts: Vec<CompletedPart>,
) -> aws_sdk_s3::operation::complete_multipart_upload::builders::CompleteMultipartUploadFluentBuilder {
    c.complete_multipart_upload()
        .bucket(b)
        .key(k)
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
}

async fn multipart(c: &aws_sdk_s3::Client, b: &str, k: &str, parts: &[Vec<u8>]) -> (String, Vec<CompletedPart>) {
    let up = c.create_multipart_upload().bucket(b).key(k).send().await.unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let done = lagoa_conformance::sdk::upload_parts(c, b, k, &id, parts).await.unwrap();
    (id, done)
}

#[tokio::test]
async fn complete_multipart_honours_if_none_match_and_if_match_etags() {
    let s = server();
    let c = s.client();
    bucket(&c, "cmp").await;
    let etag = put(&c, "cmp", "k", b"original").await;
    let (id, done) = multipart(&c, "cmp", "k", &[data(1000, 1)]).await;
    let finish = |cond: (&'static str, String)| {
        let c = c.clone();
        let (id, done) = (id.clone(), done.clone());
        async move {
            let req = complete(&c, "cmp", "k", &id, done);
            match cond.0 {
                "if-none-match" => req.if_none_match(cond.1),
                _ => req.if_match(cond.1),
            }
            .send()
            .await
        }
    };
    let err = finish(("if-none-match", etag.clone())).await.unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(get(&c, "cmp", "k").await, b"original");
    let err = finish(("if-match", "\"0123456789abcdef0123456789abcdef\"".into()))
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(get(&c, "cmp", "k").await, b"original");
    finish(("if-match", etag)).await.unwrap();
    assert_eq!(get(&c, "cmp", "k").await, data(1000, 1));
}

#[tokio::test]
async fn conditional_delete_object() {
    let s = server();
    let c = s.client();
    bucket(&c, "cdel").await;
    let etag = put(&c, "cdel", "k", b"keep me").await;
    let err = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (412, "PreconditionFailed"));
    let err = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match_size(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    let head = c.head_object().bucket("cdel").key("k").send().await.unwrap();
    let modified = head.last_modified().unwrap().secs();
    let err = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match_last_modified_time(aws_smithy_types::DateTime::from_secs(modified - 3600))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(get(&c, "cdel", "k").await, b"keep me");
    c.delete_object()
        .bucket("cdel")
        .key("k")
        .if_match(&etag)
        .if_match_size(7)
        .if_match_last_modified_time(aws_smithy_types::DateTime::from_secs(modified))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(&c.head_object().bucket("cdel").key("k").send().await.unwrap_err()),
        404
    );
    let err = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (404, "NoSuchKey"));
    // Without conditions a missing key still deletes fine.
    c.delete_object().bucket("cdel").key("k").send().await.unwrap();
}

#[tokio::test]
async fn conditional_delete_objects_reports_per_key() {
    let s = server();
    let c = s.client();
    bucket(&c, "cdels").await;
    let etag_a = put(&c, "cdels", "a", b"aaa").await;
    put(&c, "cdels", "b", b"bbb").await;
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("a").e_tag(&etag_a).build().unwrap())
        .objects(
            ObjectIdentifier::builder()
                .key("b")
                .e_tag("\"0123456789abcdef0123456789abcdef\"")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("cdels").delete(delete).send().await.unwrap();
    let deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a"]);
    let errors: Vec<_> = out.errors().iter().map(|e| (e.key().unwrap(), e.code().unwrap())).collect();
    assert_eq!(errors, [("b", "PreconditionFailed")]);
    assert_eq!(get(&c, "cdels", "b").await, b"bbb");
    assert_eq!(
        status(&c.head_object().bucket("cdels").key("a").send().await.unwrap_err()),
        404
    );
}

// ---- multipart: retried completion, checksums ----

#[tokio::test]
async fn a_repeated_complete_answers_like_the_first() {
    let s = server();
    let c = s.client();
    bucket(&c, "again").await;
    let parts = vec![data(5 * MIB, 1), data(100, 2)];
    let (id, done) = multipart(&c, "again", "k", &parts).await;
    let finish = || complete(&c, "again", "k", &id, done.clone()).send();
    let first = finish().await.unwrap();
    let second = finish().await.unwrap();
    assert_eq!(first.e_tag(), second.e_tag());
    assert_eq!(get(&c, "again", "k").await, parts.concat());
    // A different part list for the completed upload is still NoSuchUpload.
    let err = complete(&c, "again", "k", &id, vec![done[0].clone()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
}

/// Uploads two parts with CRC32 checksums into an upload created with `kind`; returns the
/// completed parts (with their checksums) and the parts' bytes.
async fn crc32_upload(c: &aws_sdk_s3::Client, key: &str, kind: ChecksumType) -> (String, Vec<CompletedPart>, Vec<Vec<u8>>) {
    let parts = vec![data(5 * MIB, 11), data(4321, 12)];
    let up = c
        .create_multipart_upload()
        .bucket("cks")
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(kind.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.checksum_type(), Some(&kind));
    let id = up.upload_id().unwrap().to_owned();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket("cks")
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.checksum_crc32(), Some(crc32_b64(p).as_str()));
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .checksum_crc32(out.checksum_crc32().unwrap())
                .build(),
        );
    }
    (id, done, parts)
}

/// HEAD `cks/key` (one part of it, with `part`) asking for its checksums.
async fn head_with_checksums(
    c: &aws_sdk_s3::Client,
    key: &str,
    part: Option<i32>,
) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
    c.head_object()
        .bucket("cks")
        .key(key)
        .set_part_number(part)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn multipart_checksums_composite_and_full_object() {
    let s = server();
    let c = s.client();
    bucket(&c, "cks").await;

    let (id, done, parts) = crc32_upload(&c, "composite", ChecksumType::Composite).await;
    let raw: Vec<u8> = parts
        .iter()
        .flat_map(|p| (crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, p) as u32).to_be_bytes())
        .collect();
    let composite = format!("{}-2", crc32_b64(&raw));
    let out = complete(&c, "cks", "composite", &id, done).send().await.unwrap();
    assert_eq!(out.checksum_crc32(), Some(composite.as_str()));
    assert_eq!(out.checksum_type(), Some(&ChecksumType::Composite));
    let head = head_with_checksums(&c, "composite", None).await;
    assert_eq!(head.checksum_crc32(), Some(composite.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    let part2 = head_with_checksums(&c, "composite", Some(2)).await;
    assert_eq!(part2.checksum_crc32(), Some(crc32_b64(&parts[1]).as_str()));

    let (id, done, parts) = crc32_upload(&c, "full", ChecksumType::FullObject).await;
    let whole = crc32_b64(&parts.concat());
    let err = complete(&c, "cks", "full", &id, done.clone())
        .checksum_crc32("AAAAAA==")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "BadDigest"));
    let out = complete(&c, "cks", "full", &id, done)
        .checksum_crc32(&whole)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap();
    assert_eq!(out.checksum_crc32(), Some(whole.as_str()));
    assert_eq!(out.checksum_type(), Some(&ChecksumType::FullObject));
    let got = c
        .get_object()
        .bucket("cks")
        .key("full")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc32(), Some(whole.as_str()));
    assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));

    // SHA256 cannot be a full-object checksum.
    let err = c
        .create_multipart_upload()
        .bucket("cks")
        .key("bad")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
}

#[tokio::test]
async fn copied_parts_carry_the_uploads_checksum() {
    let s = server();
    let c = s.client();
    bucket(&c, "cks").await;
    let source = data(5 * MIB, 31);
    put(&c, "cks", "source", &source).await;
    let up = c
        .create_multipart_upload()
        .bucket("cks")
        .key("copied")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let copied = c
        .upload_part_copy()
        .bucket("cks")
        .key("copied")
        .upload_id(id)
        .part_number(1)
        .copy_source("cks/source")
        .send()
        .await
        .unwrap();
    let tail = data(777, 32);
    let last = c
        .upload_part()
        .bucket("cks")
        .key("copied")
        .upload_id(id)
        .part_number(2)
        .body(ByteStream::from(tail.clone()))
        .send()
        .await
        .unwrap();
    let parts = vec![
        CompletedPart::builder()
            .part_number(1)
            .e_tag(copied.copy_part_result().unwrap().e_tag().unwrap())
            .build(),
        CompletedPart::builder().part_number(2).e_tag(last.e_tag().unwrap()).build(),
    ];
    let out = complete(&c, "cks", "copied", id, parts).send().await.unwrap();
    assert_eq!(out.checksum_crc32(), Some(crc32_b64(&[source, tail].concat()).as_str()));
}

#[tokio::test]
async fn part_etags_are_matched_exactly() {
    let s = server();
    let c = s.client();
    bucket(&c, "exact").await;
    let (id, done) = multipart(&c, "exact", "k", &[data(10, 1)]).await;
    for wildcard in ["*", "\"x\",*"] {
        let part = CompletedPart::builder().part_number(1).e_tag(wildcard).build();
        let err = complete(&c, "exact", "k", &id, vec![part]).send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidPart", "{wildcard}");
    }
    complete(&c, "exact", "k", &id, done).send().await.unwrap();
}

#[tokio::test]
async fn complete_checks_what_it_claims_about_the_whole_object() {
    let s = server();
    let c = s.client();
    bucket(&c, "claims").await;
    let parts = vec![data(5 * MIB, 21), data(99, 22)];
    let (id, done) = multipart(&c, "claims", "k", &parts).await;
    let err = complete(&c, "claims", "k", &id, done.clone())
        .mpu_object_size(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    // No algorithm was announced at creation: a whole-object checksum cannot be honoured.
    let err = complete(&c, "claims", "k", &id, done.clone())
        .checksum_crc32(crc32_b64(&parts.concat()))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    assert_eq!(
        status(&c.head_object().bucket("claims").key("k").send().await.unwrap_err()),
        404
    );
    complete(&c, "claims", "k", &id, done)
        .mpu_object_size((5 * MIB + 99) as i64)
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "claims", "k").await, parts.concat());
}

#[tokio::test]
async fn multipart_parts_count_only_with_part_number() {
    let s = server();
    let c = s.client();
    bucket(&c, "pc-bkt").await;
    let parts = vec![data(5 * MIB, 1), data(10, 2)];
    let (id, done) = multipart(&c, "pc-bkt", "k", &parts).await;
    complete(&c, "pc-bkt", "k", &id, done).send().await.unwrap();
    let head = c.head_object().bucket("pc-bkt").key("k").send().await.unwrap();
    assert_eq!(head.parts_count(), None);
    let got = c.get_object().bucket("pc-bkt").key("k").send().await.unwrap();
    assert_eq!(got.parts_count(), None);
    let head = c.head_object().bucket("pc-bkt").key("k").part_number(1).send().await.unwrap();
    assert_eq!(head.parts_count(), Some(2));
    // AWS documents 416 InvalidPartNumber beyond the last part (and for >1 on a plain object).
    let err = c
        .head_object()
        .bucket("pc-bkt")
        .key("k")
        .part_number(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 416);
    put(&c, "pc-bkt", "plain", b"x").await;
    let err = c
        .get_object()
        .bucket("pc-bkt")
        .key("plain")
        .part_number(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (416, "InvalidPartNumber"));
}

// ---- read answers ----

#[tokio::test]
async fn not_modified_carries_etag_and_last_modified() {
    let s = server();
    let c = s.client();
    bucket(&c, "nm-bkt").await;
    let etag = put(&c, "nm-bkt", "k", b"cached").await;
    let head = c.head_object().bucket("nm-bkt").key("k").send().await.unwrap();
    let r = signed(
        &s,
        "GET",
        "/nm-bkt/k",
        &[],
        &[("if-none-match", &etag)],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let last_modified = head
        .last_modified()
        .unwrap()
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap();
    assert_eq!(r.header("last-modified"), Some(last_modified.as_str()));
    let r = signed(
        &s,
        "HEAD",
        "/nm-bkt/k",
        &[],
        &[("if-modified-since", &last_modified)],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn objects_without_content_type_read_as_binary_octet_stream() {
    let s = server();
    let c = s.client();
    bucket(&c, "ct-bkt").await;
    let body = b"no type".to_vec();
    let r = signed(&s, "PUT", "/ct-bkt/k", &[], &[], &sigv4::sha256_hex(&body), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let head = c.head_object().bucket("ct-bkt").key("k").send().await.unwrap();
    assert_eq!(head.content_type(), Some("binary/octet-stream"));
    let got = c.get_object().bucket("ct-bkt").key("k").send().await.unwrap();
    assert_eq!(got.content_type(), Some("binary/octet-stream"));
}

#[tokio::test]
async fn aws_chunked_is_removed_from_content_encoding() {
    let s = server();
    let c = s.client();
    bucket(&c, "ce-bkt").await;
    for (key, sent, stored) in [("a", "gzip, aws-chunked", "gzip"), ("b", "aws-chunked,gzip", "gzip")] {
        let body = b"zipped".to_vec();
        let r = signed(
            &s,
            "PUT",
            &format!("/ce-bkt/{key}"),
            &[],
            &[("content-encoding", sent)],
            &sigv4::sha256_hex(&body),
            body,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let head = c.head_object().bucket("ce-bkt").key(key).send().await.unwrap();
        assert_eq!(head.content_encoding(), Some(stored), "{sent}");
    }
}

#[tokio::test]
async fn tags_count_limit_and_order() {
    let s = server();
    let c = s.client();
    bucket(&c, "tg-bkt").await;
    c.put_object()
        .bucket("tg-bkt")
        .key("k")
        .tagging("zeta=1&alpha=2&mid=3")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let r = signed(&s, "HEAD", "/tg-bkt/k", &[], &[], EMPTY_SHA256, Vec::new()).await;
    assert_eq!(r.header("x-amz-tagging-count"), Some("3"));
    let tags = c.get_object_tagging().bucket("tg-bkt").key("k").send().await.unwrap();
    let keys: Vec<_> = tags.tag_set().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["alpha", "mid", "zeta"]);
    let eleven = Tagging::builder()
        .set_tag_set(Some(
            (0..11)
                .map(|i| Tag::builder().key(format!("k{i}")).value("v").build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap();
    let err = c
        .put_object_tagging()
        .bucket("tg-bkt")
        .key("k")
        .tagging(eleven)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidTag"));
    let header: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let err = c
        .put_object()
        .bucket("tg-bkt")
        .key("many")
        .tagging(header.join("&"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidTag");
}

#[tokio::test]
async fn empty_delimiter_is_not_echoed() {
    let s = server();
    let c = s.client();
    bucket(&c, "dl-bkt").await;
    put(&c, "dl-bkt", "a/b", b"x").await;
    for query in [vec![("list-type", "2"), ("delimiter", "")], vec![("delimiter", "")]] {
        let r = signed(&s, "GET", "/dl-bkt", &query, &[], EMPTY_SHA256, Vec::new()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains("<Delimiter>"), "{}", r.body);
        assert!(r.body.contains("<Key>a/b</Key>"), "{}", r.body);
    }
}

#[tokio::test]
async fn list_buckets_pages_and_filters() {
    let s = server();
    let c = s.client();
    for name in ["lb-a", "lb-b", "lb-c", "other"] {
        bucket(&c, name).await;
    }
    let first = c.list_buckets().max_buckets(2).prefix("lb-").send().await.unwrap();
    let names: Vec<_> = first.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["lb-a", "lb-b"]);
    assert_eq!(first.prefix(), Some("lb-"));
    let token = first.continuation_token().expect("a truncated page has a token");
    let second = c
        .list_buckets()
        .max_buckets(2)
        .prefix("lb-")
        .continuation_token(token)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = second.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["lb-c"]);
    assert_eq!(second.continuation_token(), None);
    let all = c.list_buckets().send().await.unwrap();
    assert_eq!(all.buckets().len(), 4);
    let err = c.list_buckets().max_buckets(0).send().await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidArgument"));
}

// ---- request ids and logs ----

#[tokio::test]
async fn every_answer_carries_a_request_id_and_errors_name_it() {
    let s = common::server_with_env(&[("LAGOA_LOG", "info,lagoa_s3_api=debug")]);
    let c = s.client();
    bucket(&c, "rid").await;
    let out = c
        .put_object()
        .bucket("rid")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let put_id = out.request_id().expect("PUT has a request id").to_owned();
    let err = c.get_object().bucket("rid").key("missing").send().await.unwrap_err();
    let err_id = err.as_service_error().and_then(|e| e.meta().request_id()).map(str::to_owned);
    assert!(err_id.is_some(), "{err:?}");
    assert_ne!(err_id.as_deref(), Some(put_id.as_str()));
    let r = signed(&s, "GET", "/rid/missing", &[], &[], EMPTY_SHA256, Vec::new()).await;
    let id = r.header("x-amz-request-id").expect("header").to_owned();
    assert!(r.header("x-amz-id-2").is_some());
    assert!(r.body.contains(&format!("<RequestId>{id}</RequestId>")), "{}", r.body);
    // Auth failures (answered by s3s itself) are stamped too.
    let anon = reqwest::get(format!("{}/rid/k", s.endpoint)).await.unwrap();
    let anon_id = anon.headers()["x-amz-request-id"].to_str().unwrap().to_owned();
    assert!(
        anon.text()
            .await
            .unwrap()
            .contains(&format!("<RequestId>{anon_id}</RequestId>"))
    );
    // The 4xx is logged once, below ERROR, with its id; no ANSI colours into a pipe.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = s.logs();
    let line = logs
        .iter()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no log line names {id}:\n{}", logs.join("\n")));
    assert!(
        line.contains("DEBUG") && line.contains("NoSuchKey") && line.contains("GetObject"),
        "{line}"
    );
    assert!(!logs.iter().any(|l| l.contains("ERROR")), "{}", logs.join("\n"));
    assert!(!logs.iter().any(|l| l.contains('\u{1b}')), "ANSI codes in piped logs");
}

#[tokio::test]
async fn json_logs_for_log_shippers() {
    let s = common::server_with_env(&[("LAGOA_LOG_FORMAT", "json")]);
    bucket(&s.client(), "json").await;
    let logs = s.logs();
    assert!(!logs.is_empty());
    for line in &logs {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
}

// ---- signatures ----

#[tokio::test]
async fn sigv4_signed_with_the_date_header() {
    let s = server();
    bucket(&s.client(), "date").await;
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let date = time::PrimitiveDateTime::parse(
        &signer.amz_date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    let http_date = date
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host),
        ("date".into(), http_date),
        ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
    ];
    let (auth, _) = signer.sign("GET", "/date", &[("list-type", "2")], &headers, EMPTY_SHA256);
    let r = send(&s, "GET", "/date", &[("list-type", "2")], headers, auth, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // With neither date header, S3 answers 403 AccessDenied.
    let headers: Vec<(String, String)> = vec![
        ("host".into(), s.endpoint.trim_start_matches("http://").to_owned()),
        ("x-amz-content-sha256".into(), EMPTY_SHA256.into()),
    ];
    let (auth, _) = signer.sign("GET", "/date", &[], &headers, EMPTY_SHA256);
    let r = send(&s, "GET", "/date", &[], headers, auth, Vec::new()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("<Code>AccessDenied</Code>"), "{}", r.body);
}

#[tokio::test]
async fn presigned_expiry_is_bounded() {
    let s = server();
    let c = s.client();
    bucket(&c, "pex").await;
    put(&c, "pex", "k", b"x").await;
    let url = c
        .get_object()
        .bucket("pex")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
        .await
        .unwrap()
        .uri()
        .to_owned();
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
    for bad in ["604801", "-1", "soon"] {
        let tampered = url.replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={bad}"));
        let resp = reqwest::get(&tampered).await.unwrap();
        assert_eq!(resp.status().as_u16(), 403, "X-Amz-Expires={bad}");
        assert!(resp.text().await.unwrap().contains("<Code>AccessDenied</Code>"));
    }
}

#[tokio::test]
async fn an_empty_content_md5_is_invalid_digest() {
    let s = server();
    bucket(&s.client(), "md5").await;
    let body = b"data".to_vec();
    let r = signed(
        &s,
        "PUT",
        "/md5/k",
        &[],
        &[("content-md5", "")],
        &sigv4::sha256_hex(&body),
        body,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("<Code>InvalidDigest</Code>"), "{}", r.body);
    assert_eq!(
        status(&s.client().head_object().bucket("md5").key("k").send().await.unwrap_err()),
        404
    );
}
