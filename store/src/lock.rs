//! Object lock (WORM): retention and legal holds per version, and the rules that make them hold.
//! A bucket gets object lock only at creation, which turns versioning on for good; then no
//! version under an active retention or a legal hold can be deleted, and a retention can only be
//! lengthened — except a GOVERNANCE one, by a request that asks to bypass it.

use rocksdb::WriteBatch;

use crate::VersionRecord;
use crate::error::{StoreError, StoreResult};
use crate::meta::{BucketMeta, DefaultRetention, ObjectLockConfig, ObjectMeta, Retention, RetentionMode, Versioning};
use crate::store::{Inner, Store, encode};
use crate::versions::Located;

/// The lock a new version is written with (explicit headers; the bucket's default retention
/// applies when `retention` is `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockSettings {
    pub retention: Option<Retention>,
    /// `x-amz-object-lock-legal-hold`: ON, OFF, or not given.
    pub legal_hold: Option<bool>,
}

/// Why a version cannot be deleted now, if it cannot.
pub(crate) fn deletion_blocked(meta: &ObjectMeta, bypass_governance: bool, now: i64) -> Option<&'static str> {
    if meta.legal_hold == Some(true) {
        return Some("the object version is under a legal hold");
    }
    match meta.retention {
        Some(r) if r.until_nanos > now => match r.mode {
            RetentionMode::Compliance => Some("the object version is under COMPLIANCE retention"),
            RetentionMode::Governance if !bypass_governance => {
                Some("the object version is under GOVERNANCE retention (bypass it with x-amz-bypass-governance-retention)")
            }
            RetentionMode::Governance => None,
        },
        _ => None,
    }
}

/// Whether retention `old` (while active) may be replaced by `new`: COMPLIANCE only by a
/// COMPLIANCE retention at least as long; GOVERNANCE by a GOVERNANCE one at least as long, or by
/// anything (shorter, removed, or COMPLIANCE) when the request bypasses it — as S3 rules.
fn may_replace(old: Option<Retention>, new: Option<Retention>, bypass_governance: bool, now: i64) -> bool {
    let Some(old) = old.filter(|o| o.until_nanos > now) else {
        return true;
    };
    let same_mode_not_shorter = new.is_some_and(|n| n.mode == old.mode && n.until_nanos >= old.until_nanos);
    match old.mode {
        RetentionMode::Compliance => same_mode_not_shorter,
        RetentionMode::Governance => same_mode_not_shorter || bypass_governance,
    }
}

/// The retention a new version of a lock-enabled bucket gets when the request names none.
pub(crate) fn default_retention(bucket: &BucketMeta, now: i64) -> Option<Retention> {
    let DefaultRetention { mode, period } = bucket.object_lock.as_ref()?.default_retention?;
    Some(Retention {
        mode,
        until_nanos: now.saturating_add(period.nanos()),
    })
}

impl Store {
    /// Creates a bucket with object lock enabled (and versioning on, for good).
    pub async fn create_locked_bucket(&self, name: &str, owner: &str, region: &str) -> StoreResult<()> {
        self.create_bucket_with(name, owner, region, true).await
    }

    /// Sets a lock-enabled bucket's default retention (`None` removes it)
    /// (PutObjectLockConfiguration).
    pub async fn set_default_retention(&self, name: &str, default: Option<DefaultRetention>) -> StoreResult<()> {
        let name = name.to_owned();
        self.blocking(move |s| {
            let _guard = s.bucket_lock.write().unwrap_or_else(|p| p.into_inner());
            let mut meta = s.require_bucket(&name)?;
            let Some(config) = meta.object_lock.as_mut() else {
                return Err(StoreError::InvalidBucketState(
                    "Object Lock configuration cannot be enabled on existing buckets".into(),
                ));
            };
            *config = ObjectLockConfig {
                default_retention: default,
            };
            let mut batch = WriteBatch::default();
            batch.put_cf(s.cf(crate::keys::cf::BUCKETS), name.as_bytes(), encode(&meta)?);
            s.write(batch)
        })
        .await
    }

    /// Sets a version's retention (`None` removes it; `version` `None` is the current one).
    /// Lengthening is always allowed; shortening, removing or COMPLIANCE → GOVERNANCE only for
    /// a GOVERNANCE retention with `bypass_governance`. Returns the version id responses show.
    pub async fn set_retention(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        retention: Option<Retention>,
        bypass_governance: bool,
    ) -> StoreResult<Option<String>> {
        self.edit_version(bucket, key, version, true, move |meta, now| {
            if !may_replace(meta.retention, retention, bypass_governance, now) {
                return Err(StoreError::ObjectLocked(
                    "the retention may only be extended (a GOVERNANCE one may be changed with x-amz-bypass-governance-retention)",
                ));
            }
            meta.retention = retention;
            Ok(())
        })
        .await
    }

    /// Sets or clears a version's legal hold. Returns the version id responses show.
    pub async fn set_legal_hold(&self, bucket: &str, key: &str, version: Option<&str>, on: bool) -> StoreResult<Option<String>> {
        self.edit_version(bucket, key, version, true, move |meta, _| {
            meta.legal_hold = Some(on);
            Ok(())
        })
        .await
    }
}

/// The object record of a located version (never a marker: `locate_object` answers those).
pub(crate) fn object_of(found: &mut Located) -> StoreResult<&mut ObjectMeta> {
    match found {
        Located::Current(meta) => Ok(&mut **meta),
        Located::Older(_, VersionRecord::Object(meta)) => Ok(&mut **meta),
        Located::Older(_, VersionRecord::DeleteMarker(_)) => {
            Err(StoreError::Internal("locate_object returned a delete marker".into()))
        }
    }
}

impl Inner {
    /// Refuses to suspend versioning of a lock-enabled bucket.
    pub(crate) fn check_versioning_change(&self, meta: &BucketMeta, to: Versioning) -> StoreResult<()> {
        if meta.object_lock.is_some() && to != Versioning::Enabled {
            return Err(StoreError::InvalidBucketState(
                "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(mode: RetentionMode, until_nanos: i64) -> Option<Retention> {
        Some(Retention { mode, until_nanos })
    }

    #[test]
    fn only_lengthening_keeps_a_retention_unless_governance_is_bypassed() {
        use RetentionMode::*;
        let now = 100;
        assert!(may_replace(r(Governance, 200), r(Governance, 300), false, now));
        assert!(!may_replace(r(Governance, 200), r(Governance, 150), false, now));
        assert!(may_replace(r(Governance, 200), r(Governance, 150), true, now));
        assert!(!may_replace(r(Governance, 200), r(Compliance, 300), false, now));
        assert!(may_replace(r(Governance, 200), None, true, now));
        assert!(may_replace(r(Compliance, 200), r(Compliance, 300), false, now));
        assert!(!may_replace(r(Compliance, 200), None, true, now));
        assert!(!may_replace(r(Compliance, 200), r(Governance, 300), true, now));
        assert!(!may_replace(r(Compliance, 200), r(Compliance, 150), true, now));
        // An expired retention protects nothing.
        assert!(may_replace(r(Compliance, 50), None, false, now));
    }

    #[test]
    fn holds_and_active_retentions_block_deletes() {
        let mut meta: ObjectMeta = serde_json::from_str(r#"{"size":0,"etag":"","last_modified_nanos":0,"extents":[]}"#).unwrap();
        assert_eq!(deletion_blocked(&meta, false, 10), None);
        meta.retention = r(RetentionMode::Governance, 20);
        assert!(deletion_blocked(&meta, false, 10).is_some());
        assert_eq!(deletion_blocked(&meta, true, 10), None);
        assert_eq!(deletion_blocked(&meta, false, 30), None);
        meta.retention = r(RetentionMode::Compliance, 20);
        assert!(deletion_blocked(&meta, true, 10).is_some());
        meta.retention = None;
        meta.legal_hold = Some(true);
        assert!(deletion_blocked(&meta, true, 10).is_some());
    }
}
