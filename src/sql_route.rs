//! `POST /v1/sql` on the compute address: the body is SQL, the answer streams CSV, JSON lines
//! or Arrow IPC by `Accept`. s3s authenticates it like any S3 request (SigV4 headers or a
//! presigned URL, `curl --aws-sigv4 "aws:amz:us-east-1:s3"` works), so the SQL endpoint has
//! exactly S3's identities; the query runs as the signer.
//!
//! The same route serves `POST /v1/select`, where `lagoa serve --compute-url` forwards S3
//! Select requests signed with the caller's own credentials (see `select_wire`).

use std::sync::{Arc, OnceLock};

use crate::query_access::PolicyAccess;
use futures::StreamExt;
use lagoa_compute::datafusion::error::DataFusionError;
use lagoa_compute::{Caller, Engine, MAX_SQL_BYTES, OutputFormat, is_access_denied, is_storage_fault};
use lagoa_s3_api::signed_route::{read_signed_body, require_signed_body};
use lagoa_s3_api::{Authorizer, OnBehalf};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};

/// The path of the SQL endpoint.
pub const SQL_PATH: &str = "/v1/sql";

/// See the module docs. The engine and the policy evaluator appear once the store is open.
pub struct SqlRoute {
    pub engine: Arc<OnceLock<Engine>>,
    pub authorizer: Arc<OnceLock<Arc<Authorizer>>>,
}

#[async_trait::async_trait]
impl S3Route for SqlRoute {
    fn is_match(&self, _method: &http::Method, uri: &http::Uri, _headers: &http::HeaderMap, _ext: &mut http::Extensions) -> bool {
        uri.path() == SQL_PATH || uri.path() == crate::select_wire::SELECT_PATH
    }

    /// Only header-signed requests whose signature covers the SQL text (see
    /// `lagoa_s3_api::signed_route`), and none that asks its writes for what they do not do.
    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        require_signed_body(
            req,
            "The SQL endpoint",
            "e.g. curl --aws-sigv4 \"aws:amz:us-east-1:s3\" --user KEY:SECRET",
        )?;
        refuse_write_headers(&req.headers)
    }

    async fn call(&self, mut req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        if req.method != http::Method::POST {
            return Err(s3_error!(MethodNotAllowed, "POST the SQL text to /v1/sql"));
        }
        let is_select = req.uri.path() == crate::select_wire::SELECT_PATH;
        let (Some(engine), Some(authorizer)) = (self.engine.get(), self.authorizer.get()) else {
            return Err(s3_error!(ServiceUnavailable, "The server is starting; retry shortly."));
        };
        let credentials = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed"))?;
        // The query reaches what the caller's S3 requests could: every listing, read and
        // write is decided by the same policies.
        let caller = Caller {
            access_key: credentials.access_key.clone(),
            secret_key: credentials.secret_key.expose().to_owned(),
            access: Arc::new(PolicyAccess {
                authorizer: authorizer.clone(),
                caller: OnBehalf::of(&credentials.access_key, &req.headers, &req.extensions),
            }),
            // An SSE-C key in the headers opens the SSE-C objects the query reads (checked
            // against each object's record, as a GET's).
            customer_key: lagoa_s3_api::customer_key_of(&req.headers)?
                .map(|secret| lagoa_compute::CustomerKey { object: None, secret }),
        };
        let body = read_signed_body(&mut req, MAX_SQL_BYTES, "The SQL text must be at most 1 MiB").await?;
        if is_select {
            return Ok(run_select(engine, &caller, &body).await);
        }
        let sql = String::from_utf8(body.to_vec()).map_err(|_| s3_error!(InvalidRequest, "The SQL text is not UTF-8"))?;
        let format = OutputFormat::from_accept(req.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()));
        let stream = match engine.run(&caller, &sql).await {
            Ok(stream) => stream,
            Err(e) => return Ok(query_failed(&e)),
        };
        let schema = stream.schema();
        let mut chunks = format.encode(schema, stream).boxed();
        // The first chunk is computed before answering, so that errors of the scan's start
        // (a missing or corrupt file) are a 4xx, not a cut stream. Later errors end the
        // response early (the chunked encoding is not terminated): the client sees a failure.
        let first = match chunks.next().await {
            Some(Err(e)) => return Ok(query_failed(&e)),
            Some(Ok(chunk)) => Some(chunk),
            None => None,
        };
        let body = futures::stream::iter(first.map(Ok)).chain(chunks.map(|chunk| {
            chunk.map_err(|e| {
                tracing::warn!(err = %e, "a query failed while its result was streaming");
                std::io::Error::other(e.to_string())
            })
        }));
        let frames = http_body_util::StreamBody::new(body.map(|chunk| chunk.map(http_body::Frame::data)));
        let mut res = S3Response::new(Body::http_body_unsync(frames));
        res.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(format.content_type()),
        );
        Ok(res)
    }
}

/// Headers that choose how a PUT's object is stored (encryption, ACL, tags, lock, storage
/// class): a query's writes follow the bucket's defaults only, so a request naming one is
/// refused whole (`501`) rather than written without it. SSE-C key headers are served (they
/// open the SSE-C objects the query reads).
const WRITE_HEADERS: &[&str] = &[
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
    "x-amz-server-side-encryption-bucket-key-enabled",
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-tagging",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-storage-class",
];

fn refuse_write_headers(headers: &http::HeaderMap) -> S3Result<()> {
    match WRITE_HEADERS.iter().find(|h| headers.contains_key(**h)) {
        Some(h) => Err(s3_error!(
            NotImplemented,
            "The SQL endpoint does not apply {h} to what a query writes (query output follows the bucket's defaults); the query was not run"
        )),
        None => Ok(()),
    }
}

/// A Select forwarded by `lagoa serve`: errors before the stream are JSON with their status,
/// then the events stream as `select_wire` frames.
async fn run_select(engine: &Engine, caller: &Caller, body: &[u8]) -> S3Response<Body> {
    let json = |err: lagoa_compute::SelectError| {
        let status = http::StatusCode::from_u16(err.status).unwrap_or(http::StatusCode::BAD_REQUEST);
        let mut res = S3Response::with_status(Body::from(serde_json::to_string(&err).unwrap_or_default()), status);
        res.headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        res
    };
    let forwarded: crate::select_wire::Forwarded = match serde_json::from_slice(body) {
        Ok(f) => f,
        Err(e) => {
            return json(lagoa_compute::SelectError::bad_request(
                "InvalidRequest",
                format!("not a Select: {e}"),
            ));
        }
    };
    let mut caller = caller.clone();
    if let Some(text) = &forwarded.customer_key {
        let Some(secret) = crate::select_wire::decode_key(text) else {
            return json(lagoa_compute::SelectError::bad_request(
                "InvalidRequest",
                "the forwarded SSE-C key is not 32 bytes of hex".to_owned(),
            ));
        };
        caller.customer_key = Some(lagoa_compute::CustomerKey {
            object: Some((forwarded.query.bucket.clone(), forwarded.query.key.clone())),
            secret,
        });
    }
    let run = match engine.select(&caller, forwarded.query).await {
        Ok(run) => run,
        Err(err) => return json(err),
    };
    let frames = crate::select_wire::encode(crate::select::events(run, forwarded.progress));
    let body = http_body_util::StreamBody::new(frames.map(|f| Ok::<_, std::io::Error>(http_body::Frame::data(f))));
    let mut res = S3Response::new(Body::http_body_unsync(body));
    res.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/octet-stream"),
    );
    res
}

/// A failed query as a plain-text answer with DataFusion's message: 403 when it reached for
/// storage it may not use, 400 for the query's own faults (including one that needs more
/// memory than `--memory-limit` even with spilling), 500 for the server's.
fn query_failed(err: &DataFusionError) -> S3Response<Body> {
    let status = if is_access_denied(err) {
        http::StatusCode::FORBIDDEN
    } else if is_storage_fault(err) {
        http::StatusCode::INTERNAL_SERVER_ERROR
    } else {
        match err.find_root() {
            DataFusionError::Internal(_) | DataFusionError::IoError(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
            _ => http::StatusCode::BAD_REQUEST,
        }
    };
    if status.is_server_error() {
        tracing::warn!(%err, "a query failed on the server's side");
    }
    let mut res = S3Response::with_status(Body::from(format!("{err}\n")), status);
    res.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
