//! MinIO's admin API (`/minio/admin/v3/…`) for users and policies, so that `mc admin user …`,
//! `mc admin policy …` and `mc admin info` (and madmin-go, the library inside `mc`) manage
//! Lagoa unchanged. s3s authenticates the requests like S3 requests; every call is then
//! authorized through the same policy evaluator as S3 operations, by MinIO's admin action
//! names (`admin:CreateUser`, …: root, or a user whose policies allow them, e.g.
//! `consoleAdmin`). Bodies that carry secrets are sealed as madmin seals them
//! ([`sealed_body`]). Calls Lagoa does not serve answer `501 NotImplemented`.

mod info;
mod policies;
pub mod sealed_body;
mod users;

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use lagoa_store::Store;
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result, s3_error};
use serde::Serialize;

use crate::access::{Facts, allows_admin};
use crate::errors::custom;
use crate::identity::{Directory, Identities};
use crate::signed_route::{read_signed_body, require_signed_body};

/// Where the admin API lives.
pub const ADMIN_PREFIX: &str = "/minio/admin/v3/";

/// Admin bodies are small JSON documents (a policy, a user's secret).
pub(crate) const MAX_ADMIN_BODY: usize = 256 * 1024;

/// Key derivations (64 MiB each, madmin's Argon2id cost) that may run at once.
static KDF_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// See the module docs.
pub struct AdminRoute {
    pub(crate) identities: Identities,
    pub(crate) store: Store,
    pub(crate) region: String,
    pub(crate) started: Instant,
}

impl AdminRoute {
    /// The admin API over `store`'s identities.
    pub fn new(identities: Identities, store: Store, region: String) -> Self {
        Self {
            identities,
            store,
            region,
            started: Instant::now(),
        }
    }
}

/// One admin call, once authenticated: who signed it and what it asks.
pub(crate) struct Call {
    pub access_key: String,
    /// The signer's secret: the key of sealed bodies, both ways.
    pub secret_key: String,
    pub query: HashMap<String, String>,
    pub user_agent: String,
    req: S3Request<Body>,
}

impl Call {
    /// A query parameter, empty when absent.
    pub fn param(&self, name: &str) -> &str {
        self.query.get(name).map_or("", String::as_str)
    }

    /// The body as sent.
    pub async fn body(&mut self) -> S3Result<Bytes> {
        read_signed_body(&mut self.req, MAX_ADMIN_BODY, "An admin request body must be at most 256 KiB").await
    }

    /// The body opened with the signer's secret (madmin's `EncryptData`).
    pub async fn sealed_body(&mut self) -> S3Result<Vec<u8>> {
        let sealed = self.body().await?;
        let secret = self.secret_key.clone();
        // The permit goes with the work: a client that hangs up does not free the slot while
        // its key derivation still runs.
        let slot = KDF_SLOTS.acquire().await.map_err(|_| s3_error!(InternalError))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            sealed_body::open(&secret, &sealed)
        })
        .await
        .map_err(|e| s3_error!(InternalError, "opening the body failed: {e}"))?
        .map_err(|e| custom("XMinioAdminConfigBadJSON", http::StatusCode::BAD_REQUEST, e.to_string()))
    }

    /// Whether the client is madmin-go 1.x/2.x, which expects the older status codes of
    /// policy attach/detach (201/204 without a body) where current MinIO answers 200 with a
    /// sealed body.
    pub fn is_legacy_madmin(&self) -> bool {
        ["madmin-go/1.", "madmin-go/2."].iter().any(|v| self.user_agent.contains(v))
    }

    /// Refuses the call unless the signer may take `action`.
    pub fn authorize(&self, identities: &Directory, action: &str) -> S3Result<()> {
        let facts = Facts::from_parts(&self.req.headers, &self.req.uri, &self.req.extensions);
        if allows_admin(identities, &self.access_key, action, &facts) {
            Ok(())
        } else {
            Err(crate::access::access_denied())
        }
    }
}

/// A JSON answer.
pub(crate) fn json(value: &impl Serialize) -> S3Result<S3Response<Body>> {
    let bytes = serde_json::to_vec(value).map_err(|e| s3_error!(InternalError, "encoding the answer: {e}"))?;
    Ok(with_json_type(S3Response::new(Body::from(bytes))))
}

/// A JSON answer sealed with the signer's secret (what madmin decrypts with `DecryptData`).
pub(crate) async fn sealed_json(call: &Call, value: &impl Serialize) -> S3Result<S3Response<Body>> {
    let plain = serde_json::to_vec(value).map_err(|e| s3_error!(InternalError, "encoding the answer: {e}"))?;
    let secret = call.secret_key.clone();
    let slot = KDF_SLOTS.acquire().await.map_err(|_| s3_error!(InternalError))?;
    let sealed = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        sealed_body::seal(&secret, &plain)
    })
    .await
    .map_err(|e| s3_error!(InternalError, "sealing the answer failed: {e}"))?;
    Ok(with_json_type(S3Response::new(Body::from(sealed))))
}

/// An empty answer with `status`.
pub(crate) fn empty(status: http::StatusCode) -> S3Response<Body> {
    S3Response::with_status(Body::empty(), status)
}

fn with_json_type(mut res: S3Response<Body>) -> S3Response<Body> {
    res.headers
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
}

/// MinIO's admin error codes.
pub(crate) fn no_such_user(name: &str) -> s3s::S3Error {
    custom(
        "XMinioAdminNoSuchUser",
        http::StatusCode::NOT_FOUND,
        format!("The specified user does not exist: {name}"),
    )
}

pub(crate) fn no_such_policy(name: &str) -> s3s::S3Error {
    custom(
        "XMinioAdminNoSuchPolicy",
        http::StatusCode::NOT_FOUND,
        format!("The canned policy does not exist: {name}"),
    )
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> s3s::S3Error {
    custom("XMinioAdminInvalidArgument", http::StatusCode::BAD_REQUEST, message.into())
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as Go's `time.Time` JSON (RFC 3339).
pub(crate) fn rfc3339(secs: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[async_trait::async_trait]
impl S3Route for AdminRoute {
    fn is_match(&self, _method: &http::Method, uri: &http::Uri, _headers: &http::HeaderMap, _ext: &mut http::Extensions) -> bool {
        uri.path().starts_with("/minio/admin/")
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        require_signed_body(req, "The admin API", "as mc and madmin-go do")
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let credentials = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed"))?;
        let query = req
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let user_agent = req
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let (method, path) = (req.method.clone(), req.uri.path().to_owned());
        let call = Call {
            access_key: credentials.access_key.clone(),
            secret_key: credentials.secret_key.expose().to_owned(),
            query,
            user_agent,
            req,
        };
        let Some(name) = path.strip_prefix(ADMIN_PREFIX) else {
            return Err(not_served(&path));
        };
        use http::Method as M;
        match (method, name) {
            (M::PUT, "add-user") => users::add(self, call).await,
            (M::PUT, "set-user-status") => users::set_status(self, call).await,
            (M::DELETE, "remove-user") => users::remove(self, call).await,
            (M::GET, "list-users") => users::list(self, call).await,
            (M::GET, "user-info") => users::info(self, call),
            (M::PUT, "add-canned-policy") => policies::add(self, call).await,
            (M::DELETE, "remove-canned-policy") => policies::remove(self, call).await,
            (M::GET, "list-canned-policies") => policies::list(self, call),
            (M::GET, "info-canned-policy") => policies::info(self, call),
            (M::PUT, "set-user-or-group-policy") => policies::set(self, call).await,
            (M::POST, "idp/builtin/policy/attach") => policies::attach(self, call, true).await,
            (M::POST, "idp/builtin/policy/detach") => policies::attach(self, call, false).await,
            (M::GET, "info") => info::server_info(self, call).await,
            _ => Err(not_served(&path)),
        }
    }
}

fn not_served(path: &str) -> s3s::S3Error {
    s3_error!(
        NotImplemented,
        "Lagoa does not serve the admin call {path}; it serves users (add-user, set-user-status, remove-user, list-users, user-info), policies (add/remove/list/info-canned-policy, set-user-or-group-policy, idp/builtin/policy/attach|detach) and info"
    )
}
