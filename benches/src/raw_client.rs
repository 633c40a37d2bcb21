//! A light S3 client for the single-object scenarios (4 KiB to 64 MiB PUT/GET, HEAD, DELETE):
//! hyper over pooled keep-alive connections (TCP_NODELAY), each request SigV4-signed with the
//! conformance crate's signer, bodies sent as `UNSIGNED-PAYLOAD` (as the SDKs send them over
//! HTTPS). The AWS SDK spends ~0.2 ms of CPU per request on its own middleware and hashes every
//! body it signs (SHA-256 and CRC32, ~0.7 s of CPU per GiB); on a 2-core machine where client and
//! server share the cores, that cost, identical for every server, would drown the servers'
//! differences — which are what the benchmark is for. The SDK still drives the fills, the
//! multipart upload and the listings.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lagoa_conformance::sigv4::{self, Signer};

/// Signs and sends GET / HEAD / PUT / DELETE of single objects.
#[derive(Clone)]
pub struct RawClient {
    http: Client<HttpConnector, Full<Bytes>>,
    endpoint: String,
    host: String,
    access_key: String,
    secret_key: String,
}

impl RawClient {
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            http: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(256)
                .build(connector),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            host: endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned(),
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
        }
    }

    /// Sends one request; returns the status and the body length (the body is read to the end).
    async fn send(&self, method: &str, bucket: &str, key: &str, body: Bytes) -> Option<(u16, u64)> {
        let signer = Signer::new(&self.access_key, &self.secret_key);
        let path = format!("/{bucket}/{}", sigv4::uri_encode(key, true));
        let hash = "UNSIGNED-PAYLOAD";
        let headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("x-amz-content-sha256".to_owned(), hash.to_owned()),
            ("x-amz-date".to_owned(), signer.amz_date.clone()),
        ];
        let (auth, _) = signer.sign(method, &path, &[], &headers, hash);
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint));
        for (k, v) in &headers[1..] {
            req = req.header(k, v);
        }
        let req = req.header("authorization", auth).body(Full::new(body)).ok()?;
        let res = self.http.request(req).await.ok()?;
        let status = res.status().as_u16();
        let mut body = res.into_body();
        let mut len = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.ok()?.into_data() {
                len += data.len() as u64;
            }
        }
        Some((status, len))
    }

    /// GET; the body length when the answer is 200.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<u64> {
        self.send("GET", bucket, key, Bytes::new())
            .await
            .filter(|(s, _)| *s == 200)
            .map(|(_, n)| n)
    }

    /// HEAD; true on 200.
    pub async fn head(&self, bucket: &str, key: &str) -> bool {
        self.send("HEAD", bucket, key, Bytes::new())
            .await
            .is_some_and(|(s, _)| s == 200)
    }

    /// PUT; true on 200.
    pub async fn put(&self, bucket: &str, key: &str, body: Bytes) -> bool {
        self.send("PUT", bucket, key, body).await.is_some_and(|(s, _)| s == 200)
    }

    /// DELETE; true on 204.
    pub async fn delete(&self, bucket: &str, key: &str) -> bool {
        self.send("DELETE", bucket, key, Bytes::new())
            .await
            .is_some_and(|(s, _)| s == 204)
    }
}
