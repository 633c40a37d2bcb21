//! The S3 front door of one listener: every request passes Lagoa's checks and fix-ups (see
//! `precheck`, `post_form_head`, `post_form`, `body_guard`), then s3s (authentication, routing,
//! XML), then the request log. Listening, health and shutdown belong to the binary, which owns
//! the process; this type only answers requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use s3s::route::S3Route;
use s3s::service::{S3Service, S3ServiceBuilder};
use tracing::Instrument;

use crate::identity::Identities;
use crate::request_log::{self, RequestId};

/// What the front door needs beyond the S3 implementation.
#[derive(Debug, Clone)]
pub struct FrontendConfig {
    pub identities: Identities,
    /// Base domain for virtual-host-style requests (`bucket.DOMAIN`), if any.
    pub domain: Option<String>,
    /// Time a request body may send nothing while the server waits for it.
    pub body_timeout: Duration,
    /// Time a browser POST form's head may take (the header timeout).
    pub header_timeout: Duration,
    /// Largest file accepted by a browser POST upload (s3s buffers it in memory).
    pub post_max_bytes: u64,
    /// Reverse proxies (an ingress) whose `X-Forwarded-For`/`-Proto` name the client for
    /// `aws:SourceIp` and `aws:SecureTransport`; from anyone else those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl FrontendConfig {
    /// 64 MiB: enough for browser uploads while bounding the memory one POST can hold.
    pub const DEFAULT_POST_MAX_BYTES: u64 = 64 * 1024 * 1024;
}

/// An invalid front-door configuration.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error("invalid --domain {0:?}: expected a host name such as s3.example.com")]
    Domain(String),
}

/// The response type of every Lagoa listener.
pub type Response = http::Response<s3s::Body>;

/// See the module docs. Cheap to share: one per listener, behind an `Arc`.
pub struct S3Frontend {
    s3: S3Service,
    identities: Identities,
    domain: Option<crate::vhost::DomainHost>,
    body_timeout: Duration,
    /// Routes-only front doors: bodies of SigV4 requests without `x-amz-content-sha256` (curl's
    /// `--aws-sigv4` sends none) are read up to this many bytes and hashed, see
    /// [`S3Frontend::routes_only`].
    hash_small_bodies: Option<usize>,
    /// Bytes all such bodies together may hold before their signatures are checked.
    hashing: Arc<std::sync::atomic::AtomicUsize>,
    /// What browser POST form heads may take before their signature is checked.
    form_read_ahead: crate::post_form_head::ReadAhead,
    /// Where buckets' CORS rules are read (the S3 front door; routes-only ones have none).
    cors: Option<lagoa_store::Store>,
    /// See [`FrontendConfig::trusted_proxies`].
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl S3Frontend {
    /// The S3 front door of `lagoa`: s3s authenticates, Lagoa's access gate authorizes, then
    /// the operation runs; `/minio/admin/v3/…` goes to the admin API (`admin`).
    pub fn new(lagoa: crate::Lagoa, config: FrontendConfig) -> Result<Self, FrontendError> {
        let store = lagoa.store.clone();
        let admin = crate::admin::AdminRoute::new((*lagoa.identities).clone(), store.clone(), lagoa.region.clone());
        let mut builder = S3ServiceBuilder::new(lagoa.clone());
        builder.set_access(lagoa.access_gate());
        builder.set_route(admin);
        let mut frontend = Self::build(builder, config)?;
        frontend.cors = Some(store);
        Ok(frontend)
    }

    /// A front door that serves only `route` (the compute address's `/v1/sql`): s3s still
    /// authenticates every request like an S3 request, every S3 operation is `501
    /// NotImplemented`, and paths are not held to S3's bucket-name rules (`/v1/…`).
    ///
    /// SigV4 lets a client leave out `x-amz-content-sha256` (the payload hash is then computed
    /// by both sides; curl's `--aws-sigv4` does that), but s3s requires the header: bodies of up
    /// to `max_body` bytes of such requests are read and hashed here, and the hash is added as
    /// the header — unsigned, so the signature still proves the body is the one signed.
    pub fn routes_only(route: Box<dyn S3Route>, max_body: usize, config: FrontendConfig) -> Result<Self, FrontendError> {
        let mut builder = S3ServiceBuilder::new(RoutesOnly);
        builder.set_route(BoxedRoute(route));
        builder.set_validation(AnyName);
        let mut frontend = Self::build(builder, config)?;
        frontend.hash_small_bodies = Some(max_body);
        Ok(frontend)
    }

    fn build(mut builder: S3ServiceBuilder, config: FrontendConfig) -> Result<Self, FrontendError> {
        builder.set_auth(config.identities.clone());
        let mut s3_config = s3s::config::S3Config::default();
        s3_config.post_object_max_file_size = config.post_max_bytes;
        builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(s3_config))));
        let domain = match &config.domain {
            Some(domain) => {
                let host = crate::vhost::DomainHost::new(domain).ok_or_else(|| FrontendError::Domain(domain.clone()))?;
                builder.set_host(host.clone());
                Some(host)
            }
            None => None,
        };
        Ok(Self {
            s3: builder.build(),
            identities: config.identities,
            domain,
            body_timeout: config.body_timeout,
            hash_small_bodies: None,
            hashing: Arc::default(),
            form_read_ahead: crate::post_form_head::ReadAhead::new(FORM_READ_AHEAD_BUDGET, config.header_timeout),
            cors: None,
            trusted_proxies: config.trusted_proxies,
        })
    }

    /// Answers one request, logging it with its request id.
    pub async fn handle(&self, req: http::Request<hyper::body::Incoming>, peer: SocketAddr) -> Result<Response, s3s::HttpError> {
        let id = RequestId::next();
        // A debug-level span: at the default level it is never built, which keeps small requests
        // cheap (an info span cost ~10% of HEAD throughput in lagoa-bench). Log lines that must
        // name the request read its id from the task-local instead (`request_log::current_id`).
        let span = tracing::debug_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(), %peer);
        let (method, uri) = (req.method().clone(), req.uri().clone()); // cheap: shared bytes
        // CORS: a browser's origin (actual requests get the bucket's Access-Control-* headers)
        // and preflights, which carry no credentials and are answered here, not by s3s.
        let cors = self.cors.as_ref().and_then(|store| {
            let bucket = form_bucket(&req, self.domain.as_ref())?;
            let origin = req.headers().get("origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
            (origin.is_some() || method == http::Method::OPTIONS).then_some((store, bucket, origin))
        });
        let res = match (&cors, crate::precheck::refuse(&req)) {
            (Some((store, bucket, _)), _) if method == http::Method::OPTIONS => {
                match crate::cors::preflight(store, bucket, req.headers()).await {
                    Ok(res) => res,
                    Err(e) => e.to_http_response().unwrap_or_else(|_| internal_error()),
                }
            }
            (_, Some(refusal)) => refusal,
            (_, None) => request_log::with_id(id, self.call_s3(peer, req, &span)).await?,
        };
        let mut res = res;
        if let Some((store, bucket, Some(origin))) = &cors
            && method != http::Method::OPTIONS
        {
            crate::cors::decorate(store, bucket, origin, &method, &mut res).await;
        }
        let (res, code) = request_log::stamp(res, &id);
        request_log::log(&request_log::Finished {
            id: &id,
            peer,
            method: &method,
            uri: &uri,
            status: res.status(),
            code: code.as_deref(),
        });
        Ok(res)
    }

    /// Hands a request to s3s, with Lagoa's fix-ups before and after.
    async fn call_s3(
        &self,
        peer: SocketAddr,
        req: http::Request<hyper::body::Incoming>,
        span: &tracing::Span,
    ) -> Result<Response, s3s::HttpError> {
        let form_post = crate::post_form::is_form_post(&req);
        let mut req = crate::precheck::adapt(req, &self.identities);
        req.extensions_mut().insert(crate::access::PeerAddr(peer));
        if let Some(forwarded) = crate::access::Forwarded::of(peer.ip(), req.headers(), &self.trusted_proxies) {
            req.extensions_mut().insert(forwarded);
        }
        let aws_chunked = crate::body_guard::is_aws_chunked(req.headers());
        let body_timeout = self.body_timeout;
        let req = req.map(|body| crate::body_guard::GuardedBody::new(body, aws_chunked, body_timeout));
        let req = if form_post {
            let bucket = form_bucket(&req, self.domain.as_ref());
            match crate::post_form_head::prepare(req, bucket.as_deref(), &self.form_read_ahead).await {
                Ok(req) => req,
                Err(e) => return Ok(e.to_http_response().unwrap_or_else(|_| internal_error())),
            }
        } else if let Some(limit) = self.hash_small_bodies
            && crate::precheck::lacks_payload_hash(req.headers())
        {
            match buffer_body(req, limit, &self.hashing).await {
                Ok(req) => req,
                Err(e) => return Ok(e.to_http_response().unwrap_or_else(|_| internal_error())),
            }
        } else if req.uri().path().starts_with("/minio/admin/") && !req.headers().contains_key(http::header::CONTENT_LENGTH) {
            // madmin-go sends admin bodies (even empty ones) chunked, and s3s needs the length
            // to check the signed payload hash: admin bodies are small, read them first.
            match buffer_body(req, crate::admin::MAX_ADMIN_BODY, &self.hashing).await {
                Ok(req) => req,
                Err(e) => return Ok(e.to_http_response().unwrap_or_else(|_| internal_error())),
            }
        } else {
            req.map(s3s::Body::http_body)
        };
        // A panic in a handler must not take the connection down silently: it is a 500.
        let call = std::panic::AssertUnwindSafe(self.s3.call(req).instrument(span.clone()));
        let res = match futures::FutureExt::catch_unwind(call).await {
            Ok(res) => res?,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(request_id = %request_log::current_id(), %peer, panic = %message, "a request handler panicked");
                internal_error()
            }
        };
        Ok(if form_post {
            crate::post_form::policy_condition_as_access_denied(res).await
        } else {
            crate::version_order::interleave(res).await
        })
    }
}

/// Memory the bodies read by [`hash_body`] may hold together, before their signatures are
/// checked (beyond it: 503 SlowDown).
const HASHING_BUDGET: usize = 64 * 1024 * 1024;

/// Gives back a body's share of the hashing budget when it is dropped.
struct BudgetShare<'a>(&'a std::sync::atomic::AtomicUsize, usize);

impl Drop for BudgetShare<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Reads a body of at most `limit` bytes, states its length, and adds its SHA-256 as
/// `x-amz-content-sha256` when a SigV4 request left it out. Every such body counts against [`HASHING_BUDGET`] with its announced length (or `limit`) while it
/// is read, so unauthenticated clients cannot make the server hold more than that.
async fn buffer_body<B>(
    req: http::Request<B>,
    limit: usize,
    in_use: &std::sync::atomic::AtomicUsize,
) -> Result<http::Request<s3s::Body>, s3s::S3Error>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    use sha2::Digest;
    use std::sync::atomic::Ordering;
    let announced = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(s3s::s3_error!(
            EntityTooLarge,
            "The request body must be at most {limit} bytes"
        ));
    }
    let share = announced.unwrap_or(limit);
    if in_use.fetch_add(share, Ordering::AcqRel) + share > HASHING_BUDGET {
        in_use.fetch_sub(share, Ordering::AcqRel);
        return Err(s3s::s3_error!(
            SlowDown,
            "Too many request bodies are being received; retry shortly"
        ));
    }
    let _share = BudgetShare(in_use, share);
    let (mut parts, body) = req.into_parts();
    let bytes = match http_body_util::Limited::new(body, share).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(s3s::s3_error!(
                EntityTooLarge,
                "The request body must be at most {limit} bytes"
            ));
        }
        Err(e) => return Err(s3s::s3_error!(IncompleteBody, "The request body could not be read: {e}")),
    };
    if crate::precheck::lacks_payload_hash(&parts.headers) {
        let hash = hex::encode(sha2::Sha256::digest(&bytes));
        if let Ok(value) = http::HeaderValue::from_str(&hash) {
            parts.headers.insert("x-amz-content-sha256", value);
        }
    }
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
    Ok(http::Request::from_parts(parts, s3s::Body::from(bytes)))
}

/// `503 ServiceUnavailable` as an S3 error document: the answer while the store opens.
pub fn starting_response() -> Response {
    s3s::S3Error::with_message(s3s::S3ErrorCode::ServiceUnavailable, "The server is starting; retry shortly.")
        .to_http_response()
        .unwrap_or_else(|_| internal_error())
}

/// `500 InternalError` as an S3 error document.
fn internal_error() -> Response {
    s3s::S3Error::with_message(
        s3s::S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
    .to_http_response()
    .unwrap_or_else(|_| {
        let mut res = http::Response::new(s3s::Body::empty());
        *res.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        res
    })
}

/// Memory all browser POST form heads together may hold before their signatures are checked.
const FORM_READ_AHEAD_BUDGET: usize = 64 * 1024 * 1024;

/// The bucket a request is sent to, as s3s's router reads it: the virtual host's, or the path's
/// first segment (browser POST forms and CORS need it before s3s runs).
fn form_bucket<B>(req: &http::Request<B>, domain: Option<&crate::vhost::DomainHost>) -> Option<String> {
    if let Some(domain) = domain
        && let Some(bucket) = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| domain.bucket_of(h))
    {
        return Some(bucket);
    }
    let path = req.uri().path().trim_start_matches('/');
    let bucket = path.split('/').next().unwrap_or("");
    (!bucket.is_empty()).then(|| crate::lagoa::percent_decode(bucket))
}

/// The S3 side of a routes-only front door: s3s's defaults answer every operation 501.
struct RoutesOnly;

#[async_trait::async_trait]
impl s3s::S3 for RoutesOnly {}

/// Paths of a routes-only front door are not S3 buckets.
struct AnyName;

impl s3s::validation::NameValidation for AnyName {
    fn validate_bucket_name(&self, _name: &str) -> bool {
        true
    }
}

/// s3s takes a concrete route type; the binary chooses one at run time.
struct BoxedRoute(Box<dyn S3Route>);

#[async_trait::async_trait]
impl S3Route for BoxedRoute {
    fn is_match(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        extensions: &mut http::Extensions,
    ) -> bool {
        self.0.is_match(method, uri, headers, extensions)
    }

    async fn check_access(&self, req: &mut s3s::S3Request<s3s::Body>) -> s3s::S3Result<()> {
        self.0.check_access(req).await
    }

    async fn call(&self, req: s3s::S3Request<s3s::Body>) -> s3s::S3Result<s3s::S3Response<s3s::Body>> {
        self.0.call(req).await
    }
}
