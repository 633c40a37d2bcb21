//! Multipart uploads over real HTTP with aws-sdk-s3.

mod common;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::*;

const MIB: usize = 1024 * 1024;

async fn upload_parts(c: &aws_sdk_s3::Client, b: &str, k: &str, id: &str, parts: &[Vec<u8>]) -> Vec<CompletedPart> {
    lagoa_conformance::sdk::upload_parts(c, b, k, id, parts).await.unwrap()
}

fn multipart_etag(parts: &[Vec<u8>]) -> String {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for p in parts {
        h.update(md5::Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(h.finalize()), parts.len())
}

#[tokio::test]
async fn upload_complete_read_back() {
    let s = server();
    let c = s.client();
    bucket(&c, "mp-bkt").await;
    let parts = vec![data(5 * MIB, 1), data(5 * MIB, 2), data(1234, 3)];
    let up = c
        .create_multipart_upload()
        .bucket("mp-bkt")
        .key("big")
        .content_type("application/x-thing")
        .metadata("a", "b")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let done = upload_parts(&c, "mp-bkt", "big", id, &parts).await;
    // Part ETags unquoted, as hadoop-aws sends them.
    let unquoted: Vec<CompletedPart> = done
        .iter()
        .map(|p| {
            CompletedPart::builder()
                .part_number(p.part_number().unwrap())
                .e_tag(p.e_tag().unwrap().trim_matches('"'))
                .build()
        })
        .collect();
    let out = c
        .complete_multipart_upload()
        .bucket("mp-bkt")
        .key("big")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(unquoted)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.e_tag(), Some(multipart_etag(&parts).as_str()));
    let whole: Vec<u8> = parts.concat();
    assert_eq!(get(&c, "mp-bkt", "big").await, whole);
    let head = c.head_object().bucket("mp-bkt").key("big").send().await.unwrap();
    assert_eq!(head.content_type(), Some("application/x-thing"));
    assert_eq!(head.metadata().unwrap().get("a").map(String::as_str), Some("b"));
    // A range across the part boundary, and partNumber reads.
    let r = c
        .get_object()
        .bucket("mp-bkt")
        .key("big")
        .range(format!("bytes={}-{}", 5 * MIB - 10, 5 * MIB + 9))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.body.collect().await.unwrap().into_bytes().as_ref(),
        &whole[5 * MIB - 10..5 * MIB + 10]
    );
    let p2 = c
        .get_object()
        .bucket("mp-bkt")
        .key("big")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(p2.parts_count(), Some(3));
    assert_eq!(p2.body.collect().await.unwrap().into_bytes().as_ref(), parts[1].as_slice());
    let err = c
        .get_object()
        .bucket("mp-bkt")
        .key("big")
        .part_number(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 416);
    // If-Match with the multipart ETag (what s3a sends on later reads).
    c.get_object()
        .bucket("mp-bkt")
        .key("big")
        .range("bytes=0-7")
        .if_match(multipart_etag(&parts))
        .send()
        .await
        .unwrap();
    // The upload is gone.
    let err = c
        .list_parts()
        .bucket("mp-bkt")
        .key("big")
        .upload_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
}

#[tokio::test]
async fn completion_errors() {
    let s = server();
    let c = s.client();
    bucket(&c, "mp-bkt").await;
    let id = c
        .create_multipart_upload()
        .bucket("mp-bkt")
        .key("k")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let parts = vec![data(1000, 1), data(1000, 2)];
    let done = upload_parts(&c, "mp-bkt", "k", &id, &parts).await;
    let complete = |list: Vec<CompletedPart>| {
        c.complete_multipart_upload()
            .bucket("mp-bkt")
            .key("k")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(list)).build())
            .send()
    };
    let err = complete(done.clone()).await.unwrap_err();
    assert_eq!(code(&err), "EntityTooSmall");
    let err = complete(vec![done[1].clone(), done[0].clone()]).await.unwrap_err();
    assert_eq!(code(&err), "InvalidPartOrder");
    let wrong = CompletedPart::builder()
        .part_number(1)
        .e_tag("\"00000000000000000000000000000000\"")
        .build();
    let err = complete(vec![wrong]).await.unwrap_err();
    assert_eq!(code(&err), "InvalidPart");
    let missing = CompletedPart::builder()
        .part_number(7)
        .e_tag(done[0].e_tag().unwrap())
        .build();
    let err = complete(vec![missing]).await.unwrap_err();
    assert_eq!(code(&err), "InvalidPart");
    // A single small part is fine (the last part may be small).
    complete(vec![done[0].clone()]).await.unwrap();
    assert_eq!(get(&c, "mp-bkt", "k").await, parts[0]);
    let err = c
        .upload_part()
        .bucket("mp-bkt")
        .key("k")
        .upload_id("nope")
        .part_number(1)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    let err = c
        .abort_multipart_upload()
        .bucket("mp-bkt")
        .key("k")
        .upload_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
}

#[tokio::test]
async fn list_parts_and_uploads_paged_and_abort() {
    let s = server();
    let c = s.client();
    bucket(&c, "mp-bkt").await;
    let id = c
        .create_multipart_upload()
        .bucket("mp-bkt")
        .key("k")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let parts: Vec<Vec<u8>> = (0..5).map(|i| data(100, i)).collect();
    upload_parts(&c, "mp-bkt", "k", &id, &parts).await;
    // Re-uploading a part replaces it.
    c.upload_part()
        .bucket("mp-bkt")
        .key("k")
        .upload_id(&id)
        .part_number(3)
        .body(b"new".to_vec().into())
        .send()
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .list_parts()
            .bucket("mp-bkt")
            .key("k")
            .upload_id(&id)
            .max_parts(2)
            .set_part_number_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.parts().iter().map(|p| (p.part_number().unwrap(), p.size().unwrap())));
        if page.is_truncated() != Some(true) {
            break;
        }
        marker = page.next_part_number_marker().map(str::to_owned);
    }
    assert_eq!(seen, [(1, 100), (2, 100), (3, 3), (4, 100), (5, 100)]);
    for k in ["a/1", "a/2", "b", "c/d/e"] {
        c.create_multipart_upload().bucket("mp-bkt").key(k).send().await.unwrap();
    }
    let all = c.list_multipart_uploads().bucket("mp-bkt").send().await.unwrap();
    let keys: Vec<_> = all.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["a/1", "a/2", "b", "c/d/e", "k"]);
    let grouped = c
        .list_multipart_uploads()
        .bucket("mp-bkt")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = grouped.uploads().iter().filter_map(|u| u.key()).collect();
    let prefixes: Vec<_> = grouped.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(keys, ["b", "k"]);
    assert_eq!(prefixes, ["a/", "c/"]);
    let prefixed = c.list_multipart_uploads().bucket("mp-bkt").prefix("a/").send().await.unwrap();
    assert_eq!(prefixed.uploads().len(), 2);
    let mut paged = Vec::new();
    let (mut km, mut um): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = c
            .list_multipart_uploads()
            .bucket("mp-bkt")
            .max_uploads(2)
            .set_key_marker(km.clone())
            .set_upload_id_marker(um.clone())
            .send()
            .await
            .unwrap();
        paged.extend(page.uploads().iter().filter_map(|u| u.key().map(str::to_owned)));
        if page.is_truncated() != Some(true) {
            break;
        }
        km = page.next_key_marker().map(str::to_owned);
        um = page.next_upload_id_marker().map(str::to_owned);
    }
    assert_eq!(paged, ["a/1", "a/2", "b", "c/d/e", "k"]);
    c.abort_multipart_upload()
        .bucket("mp-bkt")
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let err = c
        .list_parts()
        .bucket("mp-bkt")
        .key("k")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
}

#[tokio::test]
async fn upload_part_copy_with_ranges() {
    let s = server();
    let c = s.client();
    bucket(&c, "mp-bkt").await;
    let src = data(12 * MIB, 9);
    put(&c, "mp-bkt", "src", &src).await;
    let id = c
        .create_multipart_upload()
        .bucket("mp-bkt")
        .key("dst")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut done = Vec::new();
    for (n, (a, b)) in [(0, 6 * MIB - 1), (6 * MIB, 12 * MIB - 1)].into_iter().enumerate() {
        let out = c
            .upload_part_copy()
            .bucket("mp-bkt")
            .key("dst")
            .upload_id(&id)
            .part_number(n as i32 + 1)
            .copy_source("mp-bkt/src")
            .copy_source_range(format!("bytes={a}-{b}"))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n as i32 + 1)
                .e_tag(out.copy_part_result().unwrap().e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("mp-bkt")
        .key("dst")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "mp-bkt", "dst").await, src);
    let id2 = c
        .create_multipart_upload()
        .bucket("mp-bkt")
        .key("dst2")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let err = c
        .upload_part_copy()
        .bucket("mp-bkt")
        .key("dst2")
        .upload_id(&id2)
        .part_number(1)
        .copy_source("mp-bkt/src")
        .copy_source_range(format!("bytes=0-{}", 12 * MIB))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRange");
}

#[tokio::test]
async fn get_object_attributes_reports_parts_size_and_checksums() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectAttributes};
    let s = server();
    let c = s.client();
    bucket(&c, "attrs").await;
    let parts = vec![data(5 * MIB, 31), data(5 * MIB, 32), data(777, 33)];
    let id = c
        .create_multipart_upload()
        .bucket("attrs")
        .key("mp")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket("attrs")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(p.clone().into())
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag.unwrap())
                .set_checksum_crc32(out.checksum_crc32)
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("attrs")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap();
    let all = [
        ObjectAttributes::Etag,
        ObjectAttributes::Checksum,
        ObjectAttributes::ObjectParts,
        ObjectAttributes::ObjectSize,
        ObjectAttributes::StorageClass,
    ];
    let got = c
        .get_object_attributes()
        .bucket("attrs")
        .key("mp")
        .set_object_attributes(Some(all.to_vec()))
        .max_parts(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.e_tag().map(|e| e.trim_matches('"')),
        Some(multipart_etag(&parts).trim_matches('"'))
    );
    assert_eq!(got.object_size(), Some((10 * MIB + 777) as i64));
    assert_eq!(got.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    assert!(got.checksum().and_then(|c| c.checksum_crc32()).is_some(), "{got:?}");
    let p = got.object_parts().expect("ObjectParts of a multipart object");
    assert_eq!(p.total_parts_count(), Some(3));
    assert_eq!(p.is_truncated(), Some(true));
    let sizes: Vec<(Option<i32>, Option<i64>)> = p.parts().iter().map(|x| (x.part_number(), x.size())).collect();
    assert_eq!(sizes, vec![(Some(1), Some(5 * MIB as i64)), (Some(2), Some(5 * MIB as i64))]);
    assert!(p.parts()[0].checksum_crc32().is_some());
    let rest = c
        .get_object_attributes()
        .bucket("attrs")
        .key("mp")
        .object_attributes(ObjectAttributes::ObjectParts)
        .part_number_marker(p.next_part_number_marker().unwrap())
        .send()
        .await
        .unwrap();
    let rest = rest.object_parts().unwrap();
    assert_eq!(
        rest.parts().iter().map(|x| x.part_number()).collect::<Vec<_>>(),
        vec![Some(3)]
    );
    assert_eq!(rest.is_truncated(), Some(false));
    // A single-part object: no ObjectParts; only what was asked for.
    put(&c, "attrs", "single", b"hello").await;
    let single = c
        .get_object_attributes()
        .bucket("attrs")
        .key("single")
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::ObjectParts)
        .send()
        .await
        .unwrap();
    assert_eq!(single.object_size(), Some(5));
    assert!(single.object_parts().is_none() && single.e_tag().is_none());
    let err = c
        .get_object_attributes()
        .bucket("attrs")
        .key("missing")
        .object_attributes(ObjectAttributes::Etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    let raw = signed(
        &s,
        "GET",
        "/attrs/single",
        &[("attributes", "")],
        &[("x-amz-object-attributes", "Colour")],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert!(raw.body.contains("InvalidArgument"), "{}", raw.body);
}

/// Keys with a NUL list in S3's order (byte order: `n` < `n\0` < `n\0x` < `nb`), and paging one
/// upload at a time by key and upload-id markers loses none of them. (The first index put
/// `n\0` before `n`, so a page ending at `n\0` skipped `n`, and prefix `n\0` matched `n`.)
#[tokio::test]
async fn uploads_of_keys_with_a_nul_list_in_order() {
    let s = server();
    let c = s.client();
    bucket(&c, "mp-nul").await;
    let keys = ["n\0x", "nb", "n", "n\0"];
    for k in keys {
        // The upload is created, but the SDK cannot parse an answer whose <Key> holds a NUL
        // (neither can it AWS's); the listing below asks for url-encoded names.
        let created = c.create_multipart_upload().bucket("mp-nul").key(k).send().await;
        assert!(created.is_ok() || k.contains('\0'), "{created:?}");
    }
    // Names come back percent-encoded (XML cannot carry a NUL); the Rust SDK does not decode.
    let decode = |s: &str| s.replace("%00", "\0");
    let list = |prefix: &'static str, km: Option<String>, um: Option<String>, max: i32| {
        c.list_multipart_uploads()
            .bucket("mp-nul")
            .prefix(prefix)
            .encoding_type(aws_sdk_s3::types::EncodingType::Url)
            .max_uploads(max)
            .set_key_marker(km)
            .set_upload_id_marker(um)
            .send()
    };
    let mut paged = Vec::new();
    let (mut km, mut um): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = list("", km.clone(), um.clone(), 1).await.unwrap();
        paged.extend(page.uploads().iter().filter_map(|u| u.key().map(decode)));
        if page.is_truncated() != Some(true) {
            break;
        }
        km = page.next_key_marker().map(decode);
        um = page.next_upload_id_marker().map(str::to_owned);
    }
    assert_eq!(paged, ["n", "n\0", "n\0x", "nb"]);
    let prefixed = list("n\0", None, None, 10).await.unwrap();
    let keys: Vec<String> = prefixed.uploads().iter().filter_map(|u| u.key().map(decode)).collect();
    assert_eq!(keys, ["n\0", "n\0x"]);
}
