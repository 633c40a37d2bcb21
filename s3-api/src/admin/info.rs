//! `mc admin info`: madmin's `InfoMessage` for one Lagoa server — its state, version, uptime,
//! bucket count and its data volume. Lagoa keeps no object or usage counters (MinIO's come
//! from its background scanner), so those fields carry an explanatory `error`, not a made-up
//! number.

use s3s::{Body, S3Response, S3Result};
use serde_json::json;

use super::{AdminRoute, Call, json};
use crate::errors::StoreResultExt;

/// `GET info`.
pub(super) async fn server_info(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:ServerInfo")?;
    let buckets = route.store.list_buckets().await.s3()?.len();
    let host = call
        .req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let drive = route.store.volume_usage().map(|v| {
        json!({
            "endpoint": v.path.display().to_string(),
            "path": v.path.display().to_string(),
            "state": "ok",
            "totalspace": v.total,
            "availspace": v.available,
            "usedspace": v.total.saturating_sub(v.available),
            "major": 0,
            "minor": 0,
        })
    });
    let not_counted = "Lagoa keeps no object or usage counters";
    json(&json!({
        "mode": "online",
        "region": route.region,
        "buckets": { "count": buckets },
        "objects": { "count": 0, "error": not_counted },
        "versions": { "count": 0, "error": not_counted },
        "usage": { "size": 0, "error": not_counted },
        "backend": { "backendType": "FS" },
        "servers": [{
            "state": "online",
            "endpoint": host,
            "scheme": "http",
            "uptime": route.started.elapsed().as_secs(),
            "version": concat!("lagoa-", env!("CARGO_PKG_VERSION")),
            "drives": drive.into_iter().collect::<Vec<_>>(),
            "num_cpu": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "mem_stats": {},
        }],
    }))
}
