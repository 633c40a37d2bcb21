//! Shared helpers for the integration tests: every test gets its own real `lagoa serve`.
#![allow(dead_code)]

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CsvInput, CsvOutput, ExpressionType, FileHeaderInfo, InputSerialization, OutputSerialization, RequestProgress, ScanRange,
    SelectObjectContentEventStream,
};
use lagoa_conformance::sigv4::{self, Signer};
#[allow(unused_imports)]
pub use lagoa_conformance::{
    HOME_USER, OTHER_USER, READER_USER, ROOT_PASSWORD, ROOT_USER, ServerOptions, TEST_KMS_KEY, TEST_KMS_KEY_NAME, TestServer,
    WRITER_USER,
};

/// The `lagoa` binary under test: this crate's, or `LAGOA_TEST_BINARY` (to run the suite against
/// another build, e.g. a release binary or an older commit's when checking that a test fails
/// without its fix).
pub fn binary() -> String {
    std::env::var("LAGOA_TEST_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lagoa").to_owned())
}

/// Starts a fresh server from the binary under test.
pub fn server() -> TestServer {
    TestServer::start_default(binary())
}

/// Starts a server with extra `serve` arguments.
pub fn server_with(args: &[&str]) -> TestServer {
    let mut o = ServerOptions::new(binary());
    o.args = args.iter().map(|s| s.to_string()).collect();
    TestServer::start(o)
}

/// Starts a server with extra environment variables.
pub fn server_with_env(env: &[(&str, &str)]) -> TestServer {
    let mut o = ServerOptions::new(binary());
    o.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    TestServer::start(o)
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Hex MD5.
pub fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

/// Creates a bucket.
pub async fn bucket(c: &aws_sdk_s3::Client, name: &str) {
    c.create_bucket().bucket(name).send().await.expect("create bucket");
}

/// Sets a bucket's versioning status (PutBucketVersioning).
pub async fn set_versioning(c: &Client, bucket: &str, status: aws_sdk_s3::types::BucketVersioningStatus) {
    c.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(aws_sdk_s3::types::VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("put bucket versioning");
}

/// Creates a bucket with versioning enabled.
pub async fn versioned_bucket(c: &Client, name: &str) {
    bucket(c, name).await;
    set_versioning(c, name, aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
}

/// PUTs an object.
pub async fn put(c: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"))
        .e_tag
        .unwrap_or_default()
}

/// GETs an object whole.
pub async fn get(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    lagoa_conformance::sdk::get_bytes(c, bucket, key)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The S3 error code of a failed SDK call.
pub fn code<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    err.code().map(str::to_owned).unwrap_or_else(|| format!("{err:?}"))
}

/// The HTTP status of a failed SDK call.
pub fn status<E>(err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)
}

/// A raw response: status, headers, body text.
pub struct Raw {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Raw {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// SHA-256 of an empty body, for signed requests without one.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Sends a SigV4-signed request with reqwest. `payload_hash` is what goes in x-amz-content-sha256.
pub async fn signed(
    s: &TestServer,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    payload_hash: &str,
    body: Vec<u8>,
) -> Raw {
    signed_as(s, (ROOT_USER, ROOT_PASSWORD), method, path, query, extra, payload_hash, body).await
}

/// [`signed`] with another user's credentials.
#[allow(clippy::too_many_arguments)]
pub async fn signed_as(
    s: &TestServer,
    (access_key, secret_key): (&str, &str),
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    payload_hash: &str,
    body: Vec<u8>,
) -> Raw {
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let signer = Signer::new(access_key, secret_key);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("x-amz-date".into(), signer.amz_date.clone()),
        ("x-amz-content-sha256".into(), payload_hash.into()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (auth, _) = signer.sign(method, path, query, &headers, payload_hash);
    send(s, method, path, query, headers, auth, body).await
}

pub async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: Vec<(String, String)>,
    auth: String,
    body: Vec<u8>,
) -> Raw {
    let qs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", sigv4::uri_encode(k, false), sigv4::uri_encode(v, false)))
        .collect();
    let url = format!(
        "{}{}{}{}",
        s.endpoint,
        path,
        if qs.is_empty() { "" } else { "?" },
        qs.join("&")
    );
    let client = reqwest::Client::new();
    let mut req = client
        .request(method.parse().unwrap(), url)
        .header("authorization", auth)
        .body(body);
    for (k, v) in headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    Raw {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap_or_default(),
    }
}

/// POSTs `sql` to `endpoint/v1/sql` (CSV out), signed by `credentials` with `extra` headers
/// signed too, or unsigned. curl's `--aws-sigv4` cannot sign the SSE-C key headers as S3
/// canonicalizes them, hence this signer.
pub async fn sql_request(endpoint: &str, credentials: Option<(&str, &str)>, extra: Vec<(String, String)>, sql: &str) -> Raw {
    let mut req = reqwest::Client::new()
        .post(format!("{endpoint}/v1/sql"))
        .header("accept", "text/csv")
        .body(sql.to_owned());
    let mut headers = extra;
    if let Some((access_key, secret_key)) = credentials {
        let signer = Signer::new(access_key, secret_key);
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(sql.as_bytes()));
        headers.extend([
            ("host".to_owned(), endpoint.trim_start_matches("http://").to_owned()),
            ("x-amz-date".to_owned(), signer.amz_date.clone()),
            ("x-amz-content-sha256".to_owned(), hash.clone()),
        ]);
        let (auth, _) = signer.sign("POST", "/v1/sql", &[], &headers, &hash);
        req = req.header("authorization", auth);
    }
    for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    Raw {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap_or_default(),
    }
}

/// What a Select returned: the records' bytes, and the events seen.
#[derive(Debug, Default)]
pub struct Selected {
    pub records: String,
    /// The largest Records payload.
    pub largest_payload: usize,
    pub stats: Option<(i64, i64, i64)>,
    pub progress_events: usize,
    pub ended: bool,
}

/// Runs a Select; Err is (S3 error code, HTTP status) of a failure before the stream, or
/// ("stream", message) of one inside it.
/// The object is in bucket `lake`.
pub async fn select(
    c: &Client,
    key: &str,
    expression: &str,
    input: InputSerialization,
    output: OutputSerialization,
    scan: Option<ScanRange>,
    progress: bool,
) -> Result<Selected, (String, u16)> {
    let mut request = c
        .select_object_content()
        .bucket("lake")
        .key(key)
        .expression(expression)
        .expression_type(ExpressionType::Sql)
        .input_serialization(input)
        .output_serialization(output)
        .set_scan_range(scan);
    if progress {
        request = request.request_progress(RequestProgress::builder().enabled(true).build());
    }
    let mut out = request.send().await.map_err(|e| (code(&e), status(&e)))?;
    let mut selected = Selected::default();
    loop {
        match out.payload.recv().await {
            Ok(Some(SelectObjectContentEventStream::Records(r))) => {
                let bytes = r.payload.map(|b| b.into_inner()).unwrap_or_default();
                selected.largest_payload = selected.largest_payload.max(bytes.len());
                selected.records.push_str(&String::from_utf8(bytes).expect("UTF-8 records"));
            }
            Ok(Some(SelectObjectContentEventStream::Stats(s))) => {
                let d = s.details.expect("Stats carry details");
                selected.stats = Some((
                    d.bytes_scanned.unwrap_or(-1),
                    d.bytes_processed.unwrap_or(-1),
                    d.bytes_returned.unwrap_or(-1),
                ));
            }
            Ok(Some(SelectObjectContentEventStream::Progress(_))) => selected.progress_events += 1,
            Ok(Some(SelectObjectContentEventStream::End(_))) => selected.ended = true,
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err((format!("stream: {e:?}"), 200)),
        }
    }
    assert!(selected.ended, "the stream ends with End");
    Ok(selected)
}

pub fn csv_in(header: FileHeaderInfo) -> InputSerialization {
    InputSerialization::builder()
        .csv(CsvInput::builder().file_header_info(header).build())
        .build()
}

pub fn csv_out() -> OutputSerialization {
    OutputSerialization::builder().csv(CsvOutput::builder().build()).build()
}

/// The `<Version>` and `<DeleteMarker>` entries of a ListVersionsResult, in document order.
pub fn version_entries(xml: &str) -> Vec<(String, String, bool, bool)> {
    let field = |element: &str, name: &str| -> String {
        let open = format!("<{name}>");
        let start = element.find(&open).map(|i| i + open.len()).unwrap_or(0);
        let end = element[start..].find('<').map(|i| start + i).unwrap_or(start);
        element[start..end].to_owned()
    };
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let next_version = rest.find("<Version>");
        let next_marker = rest.find("<DeleteMarker>");
        let (at, marker, close) = match (next_version, next_marker) {
            (Some(v), Some(m)) if m < v => (m, true, "</DeleteMarker>"),
            (Some(v), _) => (v, false, "</Version>"),
            (None, Some(m)) => (m, true, "</DeleteMarker>"),
            (None, None) => return out,
        };
        let end = at + rest[at..].find(close).unwrap() + close.len();
        let element = &rest[at..end];
        out.push((
            field(element, "Key"),
            field(element, "VersionId"),
            field(element, "IsLatest") == "true",
            marker,
        ));
        rest = &rest[end..];
    }
}

/// Every file under `dir` (RocksDB's WAL and tables included) that contains `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}
