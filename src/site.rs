//! What a listener answers: MinIO's health endpoints, then a front door that appears once the
//! store is open (503 `ServiceUnavailable` until then). Every Lagoa listener — S3 and compute —
//! is one of these, so probes look the same on both ports.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use lagoa_s3_api::{Response, S3Frontend, starting_response};

use crate::http::Handler;

/// Whether a listener can serve its traffic now (readiness).
pub type Readiness = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// The handler of one listener.
pub fn handler(frontend: Arc<OnceLock<S3Frontend>>, ready: Readiness) -> Handler {
    Arc::new(move |req: http::Request<hyper::body::Incoming>, peer: SocketAddr| {
        let frontend = frontend.clone();
        let ready = ready.clone();
        Box::pin(async move {
            match req.uri().path() {
                "/minio/health/live" => return Ok(plain(http::StatusCode::OK)),
                "/minio/health/ready" => {
                    let ok = frontend.get().is_some() && ready().await;
                    return Ok(plain(if ok {
                        http::StatusCode::OK
                    } else {
                        http::StatusCode::SERVICE_UNAVAILABLE
                    }));
                }
                _ => {}
            }
            match frontend.get() {
                Some(frontend) => frontend.handle(req, peer).await,
                None => Ok(starting_response()),
            }
        })
    })
}

/// A health answer: the status alone, as MinIO's probes expect.
fn plain(status: http::StatusCode) -> Response {
    let mut res = http::Response::new(s3s::Body::empty());
    *res.status_mut() = status;
    res
}
