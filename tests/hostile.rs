//! Clients that try to hold the server: slow or idle request heads, stalled bodies, responses
//! nobody reads, more connections than the cap, oversized aws-chunked chunks. Each is played
//! over raw TCP against the real server, with its limits turned down to seconds.

mod common;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use lagoa_conformance::sigv4::Signer;

fn host(s: &TestServer) -> String {
    s.endpoint.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `limit` passes); returns what arrived and
/// whether the connection was closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (got, true), // reset: closed as well
        }
    }
    (got, false)
}

/// The head of a SigV4-signed request with `UNSIGNED-PAYLOAD` (or `payload_hash`).
fn signed_head(s: &TestServer, method: &str, path: &str, extra: &[(&str, &str)], payload_hash: &str) -> String {
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host(s)),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), payload_hash.into()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (auth, _) = signer.sign(method, path, &[], &headers, payload_hash);
    let mut head = format!("{method} {path} HTTP/1.1\r\nauthorization: {auth}\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

#[test]
fn slow_and_idle_request_heads_are_cut_off() {
    let s = server_with(&["--header-timeout-secs", "1"]);
    let mut slow = TcpStream::connect(host(&s)).unwrap();
    slow.write_all(b"GET /minio/health/live HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(closed, "a head that never completes must not hold its connection");

    let mut idle = TcpStream::connect(host(&s)).unwrap();
    idle.write_all(b"GET /minio/health/live HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    assert!(closed, "an idle keep-alive connection is closed after the header timeout");
}

#[tokio::test]
async fn a_stalled_upload_fails_and_stores_nothing() {
    let s = server_with(&["--body-timeout-secs", "1"]);
    bucket(&s.client(), "stall").await;
    let head = signed_head(&s, "PUT", "/stall/k", &[("content-length", "1048576")], "UNSIGNED-PAYLOAD");
    let mut conn = TcpStream::connect(host(&s)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    // More than the inline size, so the body has started spilling to a staging file.
    conn.write_all(&data(300 * 1024, 1)).unwrap();
    let (answer, closed) = tokio::task::spawn_blocking(move || read_until_closed(&mut conn, Duration::from_secs(15)))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(closed || answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("RequestTimeout") || answer.is_empty(), "{answer}");
    let err = s.client().head_object().bucket("stall").key("k").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let staged = std::fs::read_dir(s.data_dir().join("tmp")).unwrap().count();
    assert_eq!(staged, 0, "the stalled body's staging file is removed");
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected() {
    let s = server_with(&["--send-timeout-secs", "1"]);
    let c = s.client();
    bucket(&c, "noread").await;
    let size = 48 * 1024 * 1024;
    put(&c, "noread", "big", &data(size, 2)).await;
    let head = signed_head(&s, "GET", "/noread/big", &[], "UNSIGNED-PAYLOAD");
    let mut conn = TcpStream::connect(host(&s)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    let (got, closed) = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(4));
        read_until_closed(&mut conn, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert!(closed);
    assert!(
        got.len() < size,
        "the server gave up on the reader ({} bytes arrived)",
        got.len()
    );
    // The server goes on serving others.
    assert_eq!(get(&c, "noread", "big").await.len(), size);
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_one() {
    let s = server_with(&["--max-connections", "2"]);
    let first = TcpStream::connect(host(&s)).unwrap();
    let _second = TcpStream::connect(host(&s)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(host(&s)).unwrap();
    third
        .write_all(b"GET /minio/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 256];
    let early = third.read(&mut buf);
    assert!(early.is_err(), "the third connection was served beyond the cap: {early:?}");
    drop(first);
    let (answer, _) = read_until_closed(&mut third, Duration::from_secs(10));
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "served once a slot freed"
    );
}

#[tokio::test]
async fn an_oversized_aws_chunk_is_refused_before_it_is_buffered() {
    let s = server();
    bucket(&s.client(), "chunky").await;
    let gib = 1u64 << 30;
    let head = signed_head(
        &s,
        "PUT",
        "/chunky/k",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", &gib.to_string()),
            ("content-length", &(gib + 200).to_string()),
        ],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let mut conn = TcpStream::connect(host(&s)).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(format!("{gib:x};chunk-signature={}\r\n", "0".repeat(64)).as_bytes())
        .unwrap();
    conn.write_all(&data(64 * 1024, 3)).unwrap();
    let (answer, _) = tokio::task::spawn_blocking(move || read_until_closed(&mut conn, Duration::from_secs(10)))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("InvalidRequest"), "{answer}");
    let err = s.client().head_object().bucket("chunky").key("k").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
}

#[test]
fn a_trickled_browser_form_is_cut_off_before_authentication() {
    let s = server_with(&["--header-timeout-secs", "1"]);
    let mut conn = TcpStream::connect(host(&s)).unwrap();
    let head =
        "POST /anybucket HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000000\r\n\r\n";
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(b"--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nslow")
        .unwrap();
    let (answer, closed) = read_until_closed(&mut conn, Duration::from_secs(15));
    let answer = String::from_utf8_lossy(&answer);
    assert!(closed, "{answer}");
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("RequestTimeout"),
        "{answer}"
    );
}

#[tokio::test]
async fn limits_s3_sets_on_names_and_metadata() {
    let s = server();
    let c = s.client();
    for reserved in [
        "sthree-data",
        "data-s3alias",
        "data--ol-s3",
        "my.-bucket",
        "my-.bucket",
        "amzn-s3-demo-x",
    ] {
        let err = c.create_bucket().bucket(reserved).send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidBucketName", "{reserved}");
    }
    bucket(&c, "meta-limit").await;
    let err = c
        .put_object()
        .bucket("meta-limit")
        .key("k")
        .metadata("big", "v".repeat(2100))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&err), code(&err).as_str()), (400, "MetadataTooLarge"));
    c.put_object()
        .bucket("meta-limit")
        .key("k")
        .metadata("fits", "v".repeat(2000))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_xml_body_over_the_limit_is_a_client_error() {
    let s = server();
    bucket(&s.client(), "xml-limit").await;
    let mut body = b"<Delete>".to_vec();
    while body.len() < 21 * 1024 * 1024 {
        body.extend_from_slice(b"<Object><Key>padding-padding-padding</Key></Object>");
    }
    body.extend_from_slice(b"</Delete>");
    let hash = lagoa_conformance::sigv4::sha256_hex(&body);
    let signer = Signer::new(ROOT_USER, ROOT_PASSWORD);
    let headers: Vec<(String, String)> = vec![
        ("host".into(), host(&s)),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), hash.clone()),
        ("content-length".into(), body.len().to_string()),
    ];
    let (auth, _) = signer.sign("POST", "/xml-limit", &[("delete", "")], &headers, &hash);
    let mut all = headers.clone();
    all.push(("authorization".into(), auth));
    all.push(("expect".into(), "100-continue".into()));
    // Like an SDK, wait for 100 Continue: the server answers before reading the body.
    let req = lagoa_conformance::raw_http::RawRequest {
        method: "POST".into(),
        target: "/xml-limit?delete=".into(),
        headers: all,
        body,
        expect_continue: true,
    };
    let r = tokio::task::spawn_blocking(move || lagoa_conformance::raw_http::send(&host(&s), &req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("MaxMessageLengthExceeded"), "{}", r.text());
}
