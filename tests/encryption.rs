//! Encryption at rest over real HTTP with aws-sdk-s3: SSE-S3, SSE-KMS with named keys, SSE-C on
//! PUT/GET/HEAD/copy/multipart, bucket default encryption, S3's errors, and proof that the
//! plaintext never reaches the data directory.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use base64::Engine;
use common::*;

/// An SSE-C key as the three header values (algorithm is always AES256).
struct CustomerKey {
    key: String,
    md5: String,
}

fn customer_key(byte: u8) -> CustomerKey {
    let raw = [byte; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    CustomerKey {
        key: b64.encode(raw),
        md5: b64.encode(<md5::Md5 as md5::Digest>::digest(raw)),
    }
}

async fn put_sse_s3(c: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("SSE-S3 put {key}: {e:?}"))
        .e_tag
        .unwrap()
}

async fn put_sse_c(c: &Client, bucket: &str, key: &str, body: &[u8], k: &CustomerKey) -> String {
    let out = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("SSE-C put {key}: {e:?}"));
    assert_eq!(out.sse_customer_algorithm(), Some("AES256"));
    assert_eq!(out.sse_customer_key_md5(), Some(k.md5.as_str()));
    assert_eq!(out.server_side_encryption(), None);
    out.e_tag.unwrap()
}

async fn get_range(c: &Client, bucket: &str, key: &str, range: Option<String>, k: Option<&CustomerKey>) -> Vec<u8> {
    let mut req = c.get_object().bucket(bucket).key(key).set_range(range.clone());
    if let Some(k) = k {
        req = req
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.key)
            .sse_customer_key_md5(&k.md5);
    }
    let out = req.send().await.unwrap_or_else(|e| panic!("get {key} {range:?}: {e:?}"));
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// Ranges that start, end and straddle 64 KiB package boundaries.
fn ranges(len: usize) -> Vec<(usize, usize)> {
    let p = 64 * 1024;
    [
        (0, 1),
        (0, len),
        (p - 1, p + 1),
        (p, 2 * p),
        (1, len - 1),
        (len - 1, len),
        (3, p * 3 + 5),
    ]
    .into_iter()
    .map(|(s, e)| (s.min(len - 1), e.min(len)))
    .filter(|(s, e)| s < e)
    .collect()
}

#[tokio::test]
async fn sse_s3_objects_read_back_whole_and_in_ranges() {
    let server = server();
    let c = server.client();
    bucket(&c, "enc").await;
    for (key, len) in [("empty", 0usize), ("inline", 1000), ("file", 300 * 1024 + 7)] {
        let body = data(len, len as u64);
        let etag = put_sse_s3(&c, "enc", key, &body).await;
        assert_eq!(etag.trim_matches('"'), md5_hex(&body), "SSE-S3 ETag is the plaintext's MD5");
        let head = c.head_object().bucket("enc").key(key).send().await.unwrap();
        assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
        assert_eq!(head.content_length(), Some(len as i64));
        assert_eq!(get(&c, "enc", key).await, body, "{key}");
        if len > 0 {
            for (s, e) in ranges(len) {
                let got = get_range(&c, "enc", key, Some(format!("bytes={s}-{}", e - 1)), None).await;
                assert_eq!(got, &body[s..e], "{key} {s}..{e}");
            }
        }
    }
    let listed = c.list_objects_v2().bucket("enc").send().await.unwrap();
    let sizes: Vec<i64> = listed.contents().iter().map(|o| o.size().unwrap()).collect();
    assert_eq!(sizes, vec![0, 300 * 1024 + 7, 1000], "listings show plaintext sizes");
    // An SSE-C key on an object that has none is refused.
    let k = customer_key(1);
    let err = c
        .get_object()
        .bucket("enc")
        .key("file")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    // A write-side SSE header on a read is refused.
    let raw = signed(
        &server,
        "GET",
        "/enc/file",
        &[],
        &[("x-amz-server-side-encryption", "AES256")],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(raw.status, 400);
}

#[tokio::test]
async fn sse_c_needs_the_right_key_on_every_read_and_copy() {
    let server = server();
    let c = server.client();
    bucket(&c, "enc").await;
    let (k, other) = (customer_key(7), customer_key(8));
    let body = data(200 * 1024, 3);
    let etag = put_sse_c(&c, "enc", "secret", &body, &k).await;
    assert_ne!(
        etag.trim_matches('"'),
        md5_hex(&body),
        "an SSE-C ETag is not the plaintext's MD5"
    );
    assert_eq!(get_range(&c, "enc", "secret", None, Some(&k)).await, body);
    for (s, e) in ranges(body.len()) {
        let got = get_range(&c, "enc", "secret", Some(format!("bytes={s}-{}", e - 1)), Some(&k)).await;
        assert_eq!(got, &body[s..e], "{s}..{e}");
    }
    // Without the key: 400; with another key: 403 (GET and HEAD).
    let err = c.get_object().bucket("enc").key("secret").send().await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    let err = c.head_object().bucket("enc").key("secret").send().await.unwrap_err();
    assert_eq!(status(&err), 400);
    let err = c
        .get_object()
        .bucket("enc")
        .key("secret")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&other.key)
        .sse_customer_key_md5(&other.md5)
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (403, "AccessDenied"));
    let head = c
        .head_object()
        .bucket("enc")
        .key("secret")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap();
    assert_eq!(head.sse_customer_key_md5(), Some(k.md5.as_str()));
    assert_eq!(head.content_length(), Some(body.len() as i64));
    // Bad key headers on a PUT.
    let bad_put = |algorithm: &'static str, md5: &str, also_sse_s3: bool| {
        c.put_object()
            .bucket("enc")
            .key("bad")
            .set_server_side_encryption(also_sse_s3.then_some(ServerSideEncryption::Aes256))
            .sse_customer_algorithm(algorithm)
            .sse_customer_key(&k.key)
            .sse_customer_key_md5(md5)
            .body(ByteStream::from_static(b"x"))
            .send()
    };
    let err = bad_put("AES256", &other.md5, false).await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidArgument"));
    let err = bad_put("AES128", &k.md5, false).await.unwrap_err();
    assert_eq!(code(&err), "InvalidEncryptionAlgorithmError");
    let err = bad_put("AES256", &k.md5, true).await.unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    assert!(
        c.head_object().bucket("enc").key("bad").send().await.is_err(),
        "nothing was stored"
    );
    // Copy: the source's key is needed; the copy is sealed as the request says.
    let err = c
        .copy_object()
        .bucket("enc")
        .key("copy")
        .copy_source("enc/secret")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    let copied = c
        .copy_object()
        .bucket("enc")
        .key("copy")
        .copy_source("enc/secret")
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(&k.key)
        .copy_source_sse_customer_key_md5(&k.md5)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(copied.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(get(&c, "enc", "copy").await, body);
    // Re-keying in place (same key, new SSE-C key) is a legal copy onto itself.
    c.copy_object()
        .bucket("enc")
        .key("secret")
        .copy_source("enc/secret")
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(&k.key)
        .copy_source_sse_customer_key_md5(&k.md5)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&other.key)
        .sse_customer_key_md5(&other.md5)
        .send()
        .await
        .expect("re-key in place");
    assert_eq!(get_range(&c, "enc", "secret", None, Some(&other)).await, body);
    let err = c
        .get_object()
        .bucket("enc")
        .key("secret")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AccessDenied", "the old key no longer opens it");
}

#[tokio::test]
async fn encrypted_multipart_uploads_seal_every_part() {
    let server = server();
    let c = server.client();
    bucket(&c, "enc").await;
    let part1 = data(5 * 1024 * 1024, 11);
    let part2 = data(300 * 1024 + 3, 12);
    let whole = [part1.clone(), part2.clone()].concat();

    // SSE-S3: part ETags are the parts' plaintext MD5s.
    let up = c
        .create_multipart_upload()
        .bucket("enc")
        .key("mp")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(up.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    let id = up.upload_id.unwrap();
    // Part 2 is uploaded twice (a retry with other bytes): the second upload is the part, sealed
    // under a key of its own.
    c.upload_part()
        .bucket("enc")
        .key("mp")
        .upload_id(&id)
        .part_number(2)
        .body(ByteStream::from(data(part2.len(), 99)))
        .send()
        .await
        .unwrap();
    let mut parts = Vec::new();
    for (n, body) in [(1, &part1), (2, &part2)] {
        let out = c
            .upload_part()
            .bucket("enc")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.e_tag().unwrap().trim_matches('"'), md5_hex(body), "part {n}");
        parts.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag.unwrap()).build());
    }
    let listed = c.list_parts().bucket("enc").key("mp").upload_id(&id).send().await.unwrap();
    let sizes: Vec<i64> = listed.parts().iter().map(|p| p.size().unwrap()).collect();
    assert_eq!(
        sizes,
        vec![part1.len() as i64, part2.len() as i64],
        "ListParts shows plaintext sizes"
    );
    let done = c
        .complete_multipart_upload()
        .bucket("enc")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(done.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(get(&c, "enc", "mp").await, whole);
    let boundary = part1.len();
    let got = get_range(
        &c,
        "enc",
        "mp",
        Some(format!("bytes={}-{}", boundary - 10, boundary + 9)),
        None,
    )
    .await;
    assert_eq!(got, &whole[boundary - 10..boundary + 10], "a range across the part boundary");
    let second = c.get_object().bucket("enc").key("mp").part_number(2).send().await.unwrap();
    assert_eq!(second.content_length(), Some(part2.len() as i64));
    assert_eq!(second.body.collect().await.unwrap().into_bytes().to_vec(), part2);

    // SSE-C: every part needs the creation's key; UploadPartCopy seals the copied part too.
    let k = customer_key(21);
    let id = c
        .create_multipart_upload()
        .bucket("enc")
        .key("mpc")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let part_one = |key: Option<&CustomerKey>| {
        let mut r = c
            .upload_part()
            .bucket("enc")
            .key("mpc")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from(part1.clone()));
        if let Some(k) = key {
            r = r
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k.key)
                .sse_customer_key_md5(&k.md5);
        }
        r.send()
    };
    for key in [None, Some(&customer_key(22))] {
        let err = part_one(key).await.unwrap_err();
        assert_eq!(
            (status(&err), code(&err).as_str()),
            (400, "InvalidRequest"),
            "no key / another key"
        );
    }
    let p1 = part_one(Some(&k)).await.unwrap();
    put(&c, "enc", "plain-source", &part2).await;
    let p2 = c
        .upload_part_copy()
        .bucket("enc")
        .key("mpc")
        .upload_id(&id)
        .part_number(2)
        .copy_source("enc/plain-source")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap();
    let parts = vec![
        CompletedPart::builder().part_number(1).e_tag(p1.e_tag.unwrap()).build(),
        CompletedPart::builder()
            .part_number(2)
            .e_tag(p2.copy_part_result.unwrap().e_tag.unwrap())
            .build(),
    ];
    c.complete_multipart_upload()
        .bucket("enc")
        .key("mpc")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    assert_eq!(get_range(&c, "enc", "mpc", None, Some(&k)).await, whole);
    let err = c.get_object().bucket("enc").key("mpc").send().await.unwrap_err();
    assert_eq!(status(&err), 400);
}

fn default_rule(algorithm: ServerSideEncryption, kms_key: Option<&str>) -> ServerSideEncryptionConfiguration {
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(algorithm)
        .set_kms_master_key_id(kms_key.map(str::to_owned))
        .build()
        .unwrap();
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn bucket_default_encryption_and_named_kms_keys() {
    let server = server();
    let c = server.client();
    bucket(&c, "enc").await;
    let err = c.get_bucket_encryption().bucket("enc").send().await.unwrap_err();
    assert_eq!(
        (status(&err), code(&err).as_str()),
        (404, "ServerSideEncryptionConfigurationNotFoundError")
    );
    c.put_bucket_encryption()
        .bucket("enc")
        .server_side_encryption_configuration(default_rule(ServerSideEncryption::Aes256, None))
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_encryption().bucket("enc").send().await.unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm(),
        &ServerSideEncryption::Aes256
    );
    let body = data(70_000, 5);
    let etag = put(&c, "enc", "defaulted", &body).await;
    assert_eq!(etag.trim_matches('"'), md5_hex(&body));
    let head = c.head_object().bucket("enc").key("defaulted").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));
    assert_eq!(get(&c, "enc", "defaulted").await, body);

    // SSE-KMS by name, as a default and per request; unknown names are refused.
    c.put_bucket_encryption()
        .bucket("enc")
        .server_side_encryption_configuration(default_rule(ServerSideEncryption::AwsKms, Some(TEST_KMS_KEY_NAME)))
        .send()
        .await
        .unwrap();
    put(&c, "enc", "kms", b"kms body").await;
    let head = c.head_object().bucket("enc").key("kms").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    assert_eq!(
        head.ssekms_key_id(),
        Some(format!("arn:aws:kms:{TEST_KMS_KEY_NAME}").as_str())
    );
    assert_eq!(get(&c, "enc", "kms").await, b"kms body");
    let err = c
        .put_object()
        .bucket("enc")
        .key("kms2")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "KMS.NotFoundException"));
    let err = c
        .put_bucket_encryption()
        .bucket("enc")
        .server_side_encryption_configuration(default_rule(ServerSideEncryption::AwsKms, Some("no-such-key")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "KMS.NotFoundException");
    let err = c
        .put_bucket_encryption()
        .bucket("enc")
        .server_side_encryption_configuration(default_rule(ServerSideEncryption::Aes256, Some(TEST_KMS_KEY_NAME)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    // An explicit request beats the default.
    put_sse_s3(&c, "enc", "explicit", b"explicit").await;
    let head = c.head_object().bucket("enc").key("explicit").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));

    let deleted = signed(
        &server,
        "DELETE",
        "/enc",
        &[("encryption", "")],
        &[],
        EMPTY_SHA256,
        Vec::new(),
    )
    .await;
    assert_eq!(deleted.status, 204);
    put(&c, "enc", "plain", b"plain").await;
    let head = c.head_object().bucket("enc").key("plain").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), None);
}

#[tokio::test]
async fn sse_s3_without_a_master_key_is_refused_whole() {
    let server = server_with_env(&[("LAGOA_KMS_SECRET_KEY", "")]);
    let c = server.client();
    bucket(&c, "enc").await;
    let err = c
        .put_object()
        .bucket("enc")
        .key("k")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (501, "NotImplemented"));
    assert!(c.head_object().bucket("enc").key("k").send().await.is_err(), "nothing stored");
    let err = c
        .put_bucket_encryption()
        .bucket("enc")
        .server_side_encryption_configuration(default_rule(ServerSideEncryption::Aes256, None))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 501);
    // SSE-C needs no server key.
    put_sse_c(&c, "enc", "c", b"customer", &customer_key(3)).await;
}

#[tokio::test]
async fn plaintext_never_reaches_the_data_directory() {
    let server = server();
    let c = server.client();
    bucket(&c, "enc").await;
    let marker = |tag: &str| format!("<<lagoa-plaintext-marker-{tag}>>").repeat(40).into_bytes();
    // Inline (small) and file-backed objects, SSE-S3 and SSE-C, and a multipart SSE-S3 object.
    put_sse_s3(&c, "enc", "small", &marker("s3-small")).await;
    put_sse_s3(&c, "enc", "large", &[marker("s3-large"), data(400 * 1024, 1)].concat()).await;
    put_sse_c(&c, "enc", "c-small", &marker("c-small"), &customer_key(5)).await;
    let id = c
        .create_multipart_upload()
        .bucket("enc")
        .key("mp")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let part = c
        .upload_part()
        .bucket("enc")
        .key("mp")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from([marker("mp"), data(200 * 1024, 2)].concat()))
        .send()
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket("enc")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(part.e_tag.unwrap()).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The control: an unencrypted object's marker is found, so the scan can see one.
    put(&c, "enc", "plain", &marker("plain")).await;
    let dir = server.data_dir();
    assert!(
        !files_containing(dir, &marker("plain")[..64]).is_empty(),
        "the scan finds plaintext"
    );
    for tag in ["s3-small", "s3-large", "c-small", "mp"] {
        let found = files_containing(dir, &marker(tag)[..64]);
        assert!(found.is_empty(), "plaintext of {tag} found in {found:?}");
    }
}

#[tokio::test]
async fn a_changed_byte_on_disk_fails_the_read() {
    let server = server_with(&["--inline-max-bytes", "0"]);
    let c = server.client();
    bucket(&c, "enc").await;
    let body = data(150 * 1024, 9);
    put_sse_s3(&c, "enc", "k", &body).await;
    // The only data file is this object's.
    let objects = server.data_dir().join("objects");
    let mut files = Vec::new();
    let mut stack = vec![objects];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert_eq!(files.len(), 1, "{files:?}");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[70_000] ^= 0x40;
    std::fs::write(&files[0], bytes).unwrap();
    // The first package still opens; the changed second one fails: the body is cut short.
    let got = get_range(&c, "enc", "k", Some("bytes=0-99".into()), None).await;
    assert_eq!(got, &body[..100]);
    // The connection breaks before the body completes (or before the head, when the failing
    // package is in the first chunk the server sends): never a complete 200.
    if let Ok(out) = c.get_object().bucket("enc").key("k").send().await {
        assert!(out.body.collect().await.is_err(), "a tampered package must not be served");
    }
}

#[tokio::test]
async fn s3_select_reads_sse_s3_objects() {
    let server = server();
    let c = server.client();
    bucket(&c, "lake").await;
    let csv = "id,city\n1,Recife\n2,Natal\n3,Recife\n";
    put_sse_s3(&c, "lake", "cities.csv", csv.as_bytes()).await;
    let out = select(
        &c,
        "cities.csv",
        "SELECT s.id FROM S3Object s WHERE s.city = 'Recife'",
        csv_in(aws_sdk_s3::types::FileHeaderInfo::Use),
        csv_out(),
        None,
        false,
    )
    .await
    .expect("select over an SSE-S3 object");
    assert_eq!(out.records, "1\n3\n");
    // SSE-C: S3's answers without the key or with another; with it, the rows.
    let k = customer_key(4);
    let other = customer_key(5);
    put_sse_c(&c, "lake", "sealed.csv", csv.as_bytes(), &k).await;
    let query = |with_key: Option<&CustomerKey>| {
        let mut r = c
            .select_object_content()
            .bucket("lake")
            .key("sealed.csv")
            .expression("SELECT * FROM S3Object")
            .expression_type(aws_sdk_s3::types::ExpressionType::Sql)
            .input_serialization(csv_in(aws_sdk_s3::types::FileHeaderInfo::Use))
            .output_serialization(csv_out());
        if let Some(key) = with_key {
            r = r
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key.key)
                .sse_customer_key_md5(&key.md5);
        }
        r.send()
    };
    let err = query(None).await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "InvalidRequest"));
    let err = query(Some(&other)).await.unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (403, "AccessDenied"));
    let mut out = query(Some(&k)).await.expect("select over an SSE-C object with its key");
    let mut records = String::new();
    while let Some(event) = out.payload.recv().await.unwrap() {
        if let aws_sdk_s3::types::SelectObjectContentEventStream::Records(r) = event {
            records.push_str(&String::from_utf8(r.payload.unwrap().into_inner()).unwrap());
        }
    }
    assert_eq!(records, "1,Recife\n2,Natal\n3,Recife\n");
}
