//! Shared helpers for the integration tests: every test gets its own real `lagoa serve`.
#![allow(dead_code)]

use aws_sdk_s3::primitives::ByteStream;
#[allow(unused_imports)]
pub use lagoa_conformance::{OTHER_USER, ROOT_PASSWORD, ROOT_USER, ServerOptions, TestServer};

/// Starts a fresh server from this crate's `lagoa` binary.
pub fn server() -> TestServer {
    TestServer::start_default(env!("CARGO_BIN_EXE_lagoa"))
}

/// Starts a server with extra `serve` arguments.
pub fn server_with(args: &[&str]) -> TestServer {
    let mut o = ServerOptions::new(env!("CARGO_BIN_EXE_lagoa"));
    o.args = args.iter().map(|s| s.to_string()).collect();
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
