//! Signatures, streaming uploads and malformed input, sent as raw HTTP where SDKs would not
//! produce the bytes (chunk signatures, truncated bodies, bad XML, disconnects).

mod common;
use std::io::{Read, Write};
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use common::*;
use lagoa_conformance::sigv4::{self, Signer};

fn staging_files(s: &TestServer) -> usize {
    std::fs::read_dir(s.data_dir().join("tmp")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn health_endpoints() {
    let s = server();
    for path in ["/minio/health/live", "/minio/health/ready"] {
        let resp = reqwest::get(format!("{}{path}", s.endpoint)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
    }
}

#[tokio::test]
async fn anonymous_and_wrong_credentials_are_denied() {
    let s = server();
    bucket(&s.client(), "auth").await;
    let resp = reqwest::get(format!("{}/auth", s.endpoint)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(resp.text().await.unwrap().contains("<Code>AccessDenied</Code>"));
    let err = s
        .client_as(ROOT_USER, "wrong-secret-key")
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "SignatureDoesNotMatch");
    assert_eq!(status(&err), 403);
    let err = s
        .client_as("unknown-user", "whatever-secret")
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidAccessKeyId");
}

#[tokio::test]
async fn presigned_get_and_put_and_expiry() {
    let s = server();
    let c = s.client();
    bucket(&c, "pre").await;
    let put_req = c
        .put_object()
        .bucket("pre")
        .key("up load")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let resp = reqwest::Client::new()
        .put(put_req.uri())
        .body("presigned body")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let get_req = c
        .get_object()
        .bucket("pre")
        .key("up load")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let resp = reqwest::get(get_req.uri()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "presigned body");
    let expired = PresigningConfig::builder()
        .start_time(std::time::SystemTime::now() - Duration::from_secs(3600))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let old = c.get_object().bucket("pre").key("up load").presigned(expired).await.unwrap();
    let resp = reqwest::get(old.uri()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(resp.text().await.unwrap().contains("AccessDenied"));
}

#[tokio::test]
async fn streaming_signed_chunked_put_like_s3a_and_minio_go() {
    let s = server();
    let c = s.client();
    bucket(&c, "chunk").await;
    let payload = data(300 * 1024 + 17, 5);
    let chunk = 128 * 1024;
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let encoded_len = sigv4::signed_chunked_len(payload.len(), chunk);
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        ("x-amz-decoded-content-length".into(), payload.len().to_string()),
        ("content-length".into(), encoded_len.to_string()),
    ];
    let (auth, seed) = signer.sign("PUT", "/chunk/obj", &[], &headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    let body = signer.signed_chunked_body(&seed, &payload, chunk);
    assert_eq!(body.len(), encoded_len);
    let mut hs = headers.clone();
    hs.push(("expect".into(), "100-continue".into()));
    let r = send(&s, "PUT", "/chunk/obj", &[], hs, auth, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&c, "chunk", "obj").await, payload, "stored bytes carry no chunk framing");

    // A tampered chunk signature: SignatureDoesNotMatch, nothing stored.
    let (auth, seed) = signer.sign("PUT", "/chunk/bad", &[], &headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    let mut bad = signer.signed_chunked_body(&seed, &payload, chunk);
    let pos = bad.windows(16).position(|w| w == b"chunk-signature=").unwrap() + 16;
    bad[pos] = if bad[pos] == b'0' { b'1' } else { b'0' };
    let r = send(&s, "PUT", "/chunk/bad", &[], headers.clone(), auth, bad).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("SignatureDoesNotMatch"), "{}", r.body);
    let err = c.head_object().bucket("chunk").key("bad").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(staging_files(&s), 0);
}

#[tokio::test]
async fn unsigned_payload_with_checksum_trailer() {
    use base64::Engine;
    let s = server();
    let c = s.client();
    bucket(&c, "trail").await;
    let payload = data(70_000, 6);
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32IsoHdlc, &payload) as u32;
    let good = base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes());
    for (key, value, expect) in [("good", good.as_str(), 200u16), ("bad", "AAAAAA==", 400)] {
        let body = sigv4::unsigned_chunked_body_with_trailer(&payload, 16 * 1024, ("x-amz-checksum-crc32", value));
        let r = signed(
            &s,
            "PUT",
            &format!("/trail/{key}"),
            &[],
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &payload.len().to_string()),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ],
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            body,
        )
        .await;
        assert_eq!(r.status, expect, "{key}: {}", r.body);
        if expect == 400 {
            assert!(r.body.contains("BadDigest"), "{}", r.body);
        }
    }
    let out = c
        .get_object()
        .bucket("trail")
        .key("good")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(out.checksum_crc32(), Some(good.as_str()));
    assert!(
        out.content_encoding().is_none(),
        "aws-chunked is a transfer detail, not stored"
    );
    assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), payload.as_slice());
    assert_eq!(
        status(&c.head_object().bucket("trail").key("bad").send().await.unwrap_err()),
        404
    );
}

#[tokio::test]
async fn malformed_xml_is_rejected() {
    let s = server();
    let c = s.client();
    bucket(&c, "xml").await;
    put(&c, "xml", "keep", b"x").await;
    let body = b"<Delete><Object><Key>keep</Key></Object".to_vec();
    let hash = sigv4::sha256_hex(&body);
    let r = signed(
        &s,
        "POST",
        "/xml",
        &[("delete", "")],
        &[("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")],
        &hash,
        body,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("MalformedXML") || r.body.contains("InvalidDigest") || r.body.contains("BadDigest"),
        "{}",
        r.body
    );
    let id = c
        .create_multipart_upload()
        .bucket("xml")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>".to_vec();
    let hash = sigv4::sha256_hex(&body);
    let r = signed(&s, "POST", "/xml/mp", &[("uploadId", &id)], &[], &hash, body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("MalformedXML"), "{}", r.body);
    assert_eq!(get(&c, "xml", "keep").await, b"x");
}

#[tokio::test]
async fn wrong_payload_hash_is_rejected() {
    let s = server();
    bucket(&s.client(), "sha").await;
    let r = signed(
        &s,
        "PUT",
        "/sha/k",
        &[],
        &[],
        &sigv4::sha256_hex(b"something else"),
        b"actual".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("XAmzContentSHA256Mismatch") || r.body.contains("BadDigest"),
        "{}",
        r.body
    );
    assert_eq!(
        status(&s.client().head_object().bucket("sha").key("k").send().await.unwrap_err()),
        404
    );
}

/// Opens a raw connection, sends a signed PUT's headers and part of its body, then hangs up.
fn abandon_upload(s: &TestServer, key: &str, announced: usize, sent: usize, streaming: bool) {
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let path = format!("/gone/{key}");
    let (hash, len_headers) = if streaming {
        (
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_owned(),
            vec![("x-amz-decoded-content-length".to_owned(), announced.to_string())],
        )
    } else {
        ("UNSIGNED-PAYLOAD".to_owned(), vec![])
    };
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), hash.clone()),
    ];
    headers.extend(len_headers);
    let (auth, seed) = signer.sign("PUT", &path, &[], &headers, &hash);
    let payload = data(announced, 1);
    let body = if streaming {
        signer.signed_chunked_body(&seed, &payload, 64 * 1024)
    } else {
        payload
    };
    let mut conn = std::net::TcpStream::connect(&host).unwrap();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nauthorization: {auth}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body[..sent.min(body.len())]).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(conn);
}

#[tokio::test]
async fn client_disconnect_and_truncated_bodies_leave_nothing() {
    let s = server();
    let c = s.client();
    bucket(&c, "gone").await;
    // Plain body: 4 MiB announced, 1 MiB sent, then the client disappears.
    abandon_upload(&s, "plain", 4 << 20, 1 << 20, false);
    // aws-chunked body cut in the middle of a chunk.
    abandon_upload(&s, "chunked", 1 << 20, 300_000, true);
    // Small bodies that stay in memory (inline) too.
    abandon_upload(&s, "small", 10_000, 5_000, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for key in ["plain", "chunked", "small"] {
        let err = c.head_object().bucket("gone").key(key).send().await.unwrap_err();
        assert_eq!(status(&err), 404, "{key}");
    }
    assert_eq!(staging_files(&s), 0, "staging files left behind");
    assert_eq!(c.list_objects_v2().bucket("gone").send().await.unwrap().key_count(), Some(0));
}

#[tokio::test]
async fn oversized_header_gets_an_error_not_a_crash() {
    let s = server();
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&host).unwrap();
    let big = "x".repeat(2 << 20);
    let req = format!("GET /b HTTP/1.1\r\nhost: {host}\r\nx-big: {big}\r\n\r\n");
    let _ = conn.write_all(req.as_bytes());
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 4"), "{text}");
    // Still serving.
    bucket(&s.client(), "alive").await;
}

#[tokio::test]
async fn not_implemented_operations_say_so() {
    let s = server();
    let c = s.client();
    bucket(&c, "ni-bkt").await;
    let err = c.get_bucket_website().bucket("ni-bkt").send().await.unwrap_err();
    assert_eq!(code(&err), "NotImplemented");
    assert_eq!(status(&err), 501);
}

#[tokio::test]
async fn sigterm_exits_cleanly() {
    let mut s = server();
    bucket(&s.client(), "term").await;
    assert_eq!(s.terminate(), Some(0));
}

#[tokio::test]
async fn url_encoded_listing_on_the_wire() {
    // The SDK decodes names, so check the wire format itself: percent-encoded, '/' kept.
    let s = server();
    let c = s.client();
    bucket(&c, "raw").await;
    put(&c, "raw", "a b/ç+", b"1").await;
    let r = signed(
        &s,
        "GET",
        "/raw",
        &[("list-type", "2"), ("encoding-type", "url")],
        &[],
        &sigv4::sha256_hex(b""),
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<Key>a%20b/%C3%A7%2B</Key>"), "{}", r.body);
    assert!(r.body.contains("<EncodingType>url</EncodingType>"), "{}", r.body);
}

#[tokio::test]
async fn virtual_host_style_with_domain() {
    let s = server_with(&["--domain", "s3.lagoa.test"]);
    let c = s.client();
    bucket(&c, "vhost").await;
    put(&c, "vhost", "dir/obj", b"virtual").await;
    let port = s.port();
    let host = format!("vhost.s3.lagoa.test:{port}");
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let empty = sigv4::sha256_hex(b"");
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), empty.clone()),
    ];
    let (auth, _) = signer.sign("GET", "/dir/obj", &[], &headers, &empty);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("GET /dir/obj HTTP/1.1\r\nauthorization: {auth}\r\nconnection: close\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("virtual"), "{resp}");
}

#[tokio::test]
async fn path_style_still_works_under_any_host_name_with_domain() {
    // A Kubernetes client reaches the server as `lagoa:9000`; with --domain set that must stay
    // path-style (s3s's default host parser would take "localhost:PORT" as a bucket name).
    let s = server_with(&["--domain", "s3.lagoa.test"]);
    let endpoint = s.endpoint.replace("127.0.0.1", "localhost");
    let c = lagoa_conformance::client_for(&endpoint, ROOT_USER, ROOT_PASSWORD);
    bucket(&c, "path-style").await;
    put(&c, "path-style", "k", b"v").await;
    assert_eq!(get(&c, "path-style", "k").await, b"v");
}
