//! Which storage a query may reach: only `s3://` buckets the caller may use (the owner's and,
//! for root, every bucket — the same rule as S3 requests), never the local filesystem or any
//! other URL. DataFusion asks this registry for the store of every URL a query names (tables,
//! `LOCATION`, `COPY … TO`), so a refusal here covers them all.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::object_store::ObjectStore;
use url::Url;

use crate::near_data::{BucketStore, QueryFiles};

/// Who runs a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The access key the request was signed with.
    pub access_key: String,
    /// Its secret: the sidecar signs the caller's writes to the S3 server with it.
    pub secret_key: String,
    /// The root user may use every bucket.
    pub is_root: bool,
    /// A bucket the S3 layer has already authorized for this request through the policy
    /// evaluator (an S3 Select of one of its objects), usable even if another user owns it.
    pub granted_bucket: Option<String>,
}

/// A query reached for storage it may not use. Carried inside DataFusion's error so that the
/// HTTP layer can answer 403 instead of 400.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AccessDenied(pub String);

/// The buckets of one query: a snapshot, taken when the query starts, of which buckets exist
/// and which of them the caller may use.
pub struct QueryRegistry {
    files: Arc<QueryFiles>,
    allowed: HashSet<String>,
    existing: HashSet<String>,
}

impl std::fmt::Debug for QueryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QueryRegistry({} buckets allowed)", self.allowed.len())
    }
}

impl QueryRegistry {
    /// `buckets` are all buckets with their owners; `caller` may use those the S3 rules allow.
    pub fn new(files: Arc<QueryFiles>, caller: &Caller, buckets: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut allowed = HashSet::new();
        let mut existing = HashSet::new();
        for (name, owner) in buckets {
            if caller.is_root || owner == caller.access_key || caller.granted_bucket.as_deref() == Some(name.as_str()) {
                allowed.insert(name.clone());
            }
            existing.insert(name);
        }
        Self {
            files,
            allowed,
            existing,
        }
    }
}

fn denied(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(AccessDenied(message)))
}

impl QueryRegistry {
    /// The bucket `url` names, if it is an `s3://` URL of a bucket the caller may use.
    pub fn check<'u>(&self, url: &'u Url) -> Result<&'u str> {
        if !matches!(url.scheme(), "s3" | "s3a") {
            return Err(outside_the_lake(url.as_str()));
        }
        let bucket = url.host_str().unwrap_or_default();
        if !self.existing.contains(bucket) {
            return Err(DataFusionError::Plan(format!("s3://{bucket}: the bucket does not exist")));
        }
        if !self.allowed.contains(bucket) {
            return Err(denied(format!(
                "s3://{bucket}: Access Denied (the bucket belongs to another user)"
            )));
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
