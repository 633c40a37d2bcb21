//! `SELECT … FROM 's3://bucket/prefix/'`: object URLs as tables (DataFusion's dynamic file
//! catalog), with errors that say what went wrong. DataFusion's own factory turns every failure
//! into "table not found"; here a URL the caller may not read is refused as such (403), a
//! missing bucket is named, and anything that looks like a local path or another URL scheme is
//! refused before DataFusion tries it.

use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use datafusion::catalog::{DynamicFileCatalog, TableProvider, UrlTableFactory};
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableConfigExt, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionContext;

use crate::access::QueryRegistry;

/// See the module docs.
struct LakeTables {
    /// The session the tables are resolved in (set once the session exists).
    session: OnceLock<Weak<parking_lot::RwLock<SessionState>>>,
    registry: Arc<QueryRegistry>,
}

impl std::fmt::Debug for LakeTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LakeTables")
    }
}

impl LakeTables {
    /// The listing table at `url`: format from the first file's extension, schema inferred.
    async fn table(&self, url: &str) -> Result<Arc<dyn TableProvider>> {
        let state = self
            .session
            .get()
            .and_then(Weak::upgrade)
            .map(|s| s.read().clone())
            .ok_or_else(|| DataFusionError::Internal("the query's session is gone".into()))?;
        let table_url = ListingTableUrl::parse(url)?;
        let config = ListingTableConfig::new(table_url)
            .infer_options(&state)
            .await
            .map_err(|e| match e.find_root() {
                DataFusionError::Internal(m) if m.contains("No files") => {
                    DataFusionError::Plan(format!("{url}: no object found there (object not found)"))
                }
                _ => e,
            })?
            .infer_partitions_from_path(&state)
            .await?
            .infer_schema(&state)
            .await?;
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}

#[async_trait]
impl UrlTableFactory for LakeTables {
    async fn try_new(&self, url: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("s3://") || lower.starts_with("s3a://") {
            let parsed = url::Url::parse(url)
                .map_err(|e| datafusion::error::DataFusionError::Plan(format!("{url:?} is not a valid URL: {e}")))?;
            self.registry.check(&parsed)?;
            return self.table(url).await.map(Some);
        }
        if url.contains('/') || url.contains(':') || url.contains('\\') {
            // A path or a URL of another kind: never looked up (no local files through SQL).
            return Err(crate::access::outside_the_lake(url));
        }
        // A plain name that is not a table: DataFusion reports "table not found".
        Ok(None)
    }
}

/// `ctx` with object URLs usable as tables, resolved through `registry`.
pub fn enable(ctx: SessionContext, registry: Arc<QueryRegistry>) -> SessionContext {
    let current = Arc::clone(ctx.state().catalog_list());
    let factory = Arc::new(LakeTables {
        session: OnceLock::new(),
        registry,
    });
    let catalog_list = Arc::new(DynamicFileCatalog::new(
        current,
        Arc::clone(&factory) as Arc<dyn UrlTableFactory>,
    ));
    let session_id = ctx.session_id();
    let ctx: SessionContext = ctx
        .into_state_builder()
        .with_session_id(session_id)
        .with_catalog_list(catalog_list)
        .build()
        .into();
    let _ = factory.session.set(ctx.state_weak_ref());
    ctx
}
