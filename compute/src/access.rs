//! Which storage a query may reach: only `s3://` buckets of this lake, never the local
//! filesystem or any other URL — DataFusion asks [`QueryRegistry`] for the store of every URL a
//! query names (tables, `LOCATION`, `COPY … TO`), so a refusal there covers them all — and in
//! them only what the caller's S3 requests could reach: every listing, object read and write
//! of a query is asked of the caller's [`ObjectAccess`] (the S3 layer's policy evaluator,
//! plugged in by the binary).

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::object_store::ObjectStore;
use url::Url;

use crate::near_data::{BucketStore, QueryFiles};

/// What a caller may do with the lake's objects. Asked once per distinct request in a query
/// (decisions are kept for the query), never for an S3 operation itself.
#[async_trait::async_trait]
pub trait ObjectAccess: Send + Sync {
    /// Whether the caller may take `action` — `s3:ListBucket` over `prefix`, `s3:GetObject`,
    /// `s3:PutObject` or `s3:DeleteObject` on `key` — in `bucket`.
    async fn allows(&self, action: &'static str, bucket: &str, key: Option<&str>, prefix: Option<&str>) -> bool;
}

/// Everything allowed: for callers the S3 layer lets do anything (benches, tools).
pub struct Unrestricted;

#[async_trait::async_trait]
impl ObjectAccess for Unrestricted {
    async fn allows(&self, _action: &'static str, _bucket: &str, _key: Option<&str>, _prefix: Option<&str>) -> bool {
        true
    }
}

/// Who runs a query.
#[derive(Clone)]
pub struct Caller {
    /// The access key the request was signed with.
    pub access_key: String,
    /// Its secret: the sidecar signs the caller's writes to the S3 server with it.
    pub secret_key: String,
    /// What the caller may read and write.
    pub access: Arc<dyn ObjectAccess>,
    /// The SSE-C key the request carries, if any.
    pub customer_key: Option<CustomerKey>,
}

/// An SSE-C key and what it may open.
#[derive(Clone)]
pub struct CustomerKey {
    /// The one object (bucket, key) it opens — an S3 Select's — or `None`: every SSE-C object
    /// the query reads (a SQL request with the key in its headers).
    pub object: Option<(String, String)>,
    pub secret: lagoa_store::sealing::Key,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({})", self.access_key)
    }
}

/// A query reached for storage it may not use. Carried inside DataFusion's error so that the
/// HTTP layer can answer 403 instead of 400.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AccessDenied(pub String);

/// The buckets of one query: a snapshot, taken when the query starts, of which buckets exist.
pub struct QueryRegistry {
    files: Arc<QueryFiles>,
    existing: HashSet<String>,
}

impl std::fmt::Debug for QueryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QueryRegistry({} buckets)", self.existing.len())
    }
}

impl QueryRegistry {
    /// `buckets` are all buckets of the lake.
    pub fn new(files: Arc<QueryFiles>, buckets: impl IntoIterator<Item = String>) -> Self {
        Self {
            files,
            existing: buckets.into_iter().collect(),
        }
    }
}

fn denied(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(AccessDenied(message)))
}

impl QueryRegistry {
    /// The bucket `url` names, if it is an `s3://` URL of an existing bucket (what the caller
    /// may do in it is decided per listing, read and write).
    pub fn check<'u>(&self, url: &'u Url) -> Result<&'u str> {
        if !matches!(url.scheme(), "s3" | "s3a") {
            return Err(outside_the_lake(url.as_str()));
        }
        let bucket = url.host_str().unwrap_or_default();
        if !self.existing.contains(bucket) {
            return Err(DataFusionError::Plan(format!("s3://{bucket}: the bucket does not exist")));
        }
        Ok(bucket)
    }
}

/// The refusal of a location outside the lake (a local path, another URL scheme).
pub fn outside_the_lake(location: &str) -> DataFusionError {
    denied(format!(
        "{location}: Access Denied — SQL reads and writes only s3://bucket/… locations of this Lagoa (no local files or other URLs)"
    ))
}

impl ObjectStoreRegistry for QueryRegistry {
    fn register_store(&self, url: &Url, _store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        // Nothing registers stores at run time here; a query cannot add one either.
        tracing::warn!(%url, "refused to register an object store for a query");
        None
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        Err(denied(format!("{url}: stores cannot be removed")))
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let bucket = self.check(url)?;
        Ok(Arc::new(BucketStore::new(bucket.to_owned(), self.files.clone())))
    }
}

/// Whether a DataFusion error is (or wraps) an [`AccessDenied`].
pub fn is_access_denied(err: &DataFusionError) -> bool {
    wraps::<AccessDenied>(err)
}

/// Whether a DataFusion error is (or wraps) a failure of the server's storage (a 500).
pub fn is_storage_fault(err: &DataFusionError) -> bool {
    wraps::<crate::near_data::StorageFault>(err)
}

/// Whether `err` or any error in its chain is an `E` (also boxed inside DataFusion's
/// `External` and object_store's `Generic`, whose `source()` skips the box).
fn wraps<E: std::error::Error + 'static>(err: &DataFusionError) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<E>().is_some() {
            return true;
        }
        match e.downcast_ref::<DataFusionError>() {
            Some(DataFusionError::External(inner)) if inner.downcast_ref::<E>().is_some() => return true,
            Some(DataFusionError::ObjectStore(store)) => {
                if let datafusion::object_store::Error::Generic { source, .. } = store.as_ref()
                    && source.downcast_ref::<E>().is_some()
                {
                    return true;
                }
            }
            _ => {}
        }
        current = e.source();
    }
    false
}
