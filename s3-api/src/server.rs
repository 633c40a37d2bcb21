//! The HTTP server: binds first (so the address is known at once), opens the store in the
//! background (readiness turns 200 when it is open), serves S3 through s3s plus the MinIO health
//! endpoints, and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use lagoa_store::{Store, StoreConfig, StoreError};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::identity::Identities;
use crate::lagoa::Lagoa;

/// Everything `lagoa serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data volume.
    pub data: PathBuf,
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub address: String,
    /// The region reported to clients and accepted as LocationConstraint.
    pub region: String,
    /// Base domain for virtual-host-style requests (`bucket.DOMAIN`), if any.
    pub domain: Option<String>,
    pub identities: Identities,
    pub store: StoreConfig,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Largest file accepted by a browser POST upload (s3s buffers it in memory).
    pub post_max_bytes: u64,
}

impl ServerConfig {
    /// 64 MiB: enough for browser uploads while bounding the memory one POST can hold.
    pub const DEFAULT_POST_MAX_BYTES: u64 = 64 * 1024 * 1024;
}

/// Server start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source} (is another server using the port?)")]
    Bind { address: String, source: std::io::Error },
    #[error("cannot open the data directory {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error("invalid --domain {0:?}: expected a host name such as s3.example.com")]
    Domain(String),
}

/// What the connection handler sees: the S3 service once the store is open.
struct State {
    s3: OnceLock<S3Service>,
}

/// Runs the server until `shutdown` resolves, then drains in-flight requests (bounded by
/// `shutdown_grace`) and returns.
pub async fn serve(config: ServerConfig, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    let listener = TcpListener::bind(&config.address).await.map_err(|source| ServerError::Bind {
        address: config.address.clone(),
        source,
    })?;
    let local: SocketAddr = listener.local_addr().map_err(|source| ServerError::Bind {
        address: config.address.clone(),
        source,
    })?;
    tracing::info!("listening on http://{local}");

    let state = Arc::new(State { s3: OnceLock::new() });
    let mut opener = tokio::spawn(open_store(config.clone(), state.clone()));
    let mut opened = false;

    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        tracing::warn!(%err, "accepting a connection failed");
                        continue;
                    }
                };
                // Small responses must not wait for the client's delayed ACK.
                let _ = socket.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |req| handle(state.clone(), peer, req));
                let conn = http.serve_connection_with_upgrades(TokioIo::new(socket), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%err, %peer, "connection ended with an error");
                    }
                });
            }
            result = &mut opener, if !opened => {
                opened = true;
                match result {
                    Ok(Ok(())) => tracing::info!("store is open; ready"),
                    Ok(Err(err)) => return Err(err),
                    Err(join) => return Err(ServerError::Store { path: config.data.display().to_string(), source: StoreError::BodyStream(join.to_string()) }),
                }
            }
            () = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down: no new connections; waiting for in-flight requests");
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(config.shutdown_grace) => tracing::warn!(grace = ?config.shutdown_grace, "in-flight requests did not finish in time; closing them"),
    }
    Ok(())
}

async fn open_store(config: ServerConfig, state: Arc<State>) -> Result<(), ServerError> {
    let path = config.data.display().to_string();
    let data = config.data.clone();
    let store_config = config.store.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data, store_config))
        .await
        .map_err(|e| ServerError::Store {
            path: path.clone(),
            source: StoreError::BodyStream(e.to_string()),
        })?
        .map_err(|source| ServerError::Store { path, source })?;
    let lagoa = Lagoa::new(store, config.region.clone(), Arc::new(config.identities.clone()));
    let mut builder = S3ServiceBuilder::new(lagoa);
    builder.set_auth(config.identities.clone());
    let mut s3_config = s3s::config::S3Config::default();
    s3_config.post_object_max_file_size = config.post_max_bytes;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(s3_config))));
    if let Some(domain) = &config.domain {
        let host = crate::vhost::DomainHost::new(domain).ok_or_else(|| ServerError::Domain(domain.clone()))?;
        builder.set_host(host);
    }
    let _ = state.s3.set(builder.build());
    Ok(())
}

type Response = http::Response<s3s::Body>;

fn plain(status: http::StatusCode, body: &'static str) -> Response {
    let mut res = http::Response::new(s3s::Body::from(body.to_owned()));
    *res.status_mut() = status;
    res
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response, s3s::HttpError> {
    match req.uri().path() {
        "/minio/health/live" => return Ok(plain(http::StatusCode::OK, "")),
        "/minio/health/ready" => {
            let status = if state.s3.get().is_some() {
                http::StatusCode::OK
            } else {
                http::StatusCode::SERVICE_UNAVAILABLE
            };
            return Ok(plain(status, ""));
        }
        _ => {}
    }
    let Some(s3) = state.s3.get() else {
        let mut res = plain(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable</Code><Message>The server is starting; retry shortly.</Message></Error>",
        );
        res.headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
        return Ok(res);
    };
    // A debug-level span: at the default level its fields are never formatted, which measurably
    // cheapens every small request (lagoa-bench get-4k-c16: ~0.01 ms of CPU each). Server-side
    // failures are still logged below with their request.
    let span = tracing::debug_span!("request", method = %req.method(), path = %req.uri().path(), %peer);
    let (method, uri) = (req.method().clone(), req.uri().clone()); // cheap: shared bytes
    let form_post = crate::post_form::is_form_post(&req);
    let req = if form_post {
        crate::post_filename::substitute_key_filename(req).await
    } else {
        req.map(s3s::Body::from)
    };
    let res = s3.call(req).instrument(span).await?;
    if res.status().is_server_error() {
        tracing::warn!(%method, path = uri.path(), %peer, status = res.status().as_u16(), "request failed on the server side");
    }
    Ok(if form_post {
        crate::post_form::policy_condition_as_access_denied(res).await
    } else {
        res
    })
}
