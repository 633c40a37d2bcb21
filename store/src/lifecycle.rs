//! Lifecycle: a bucket's rules (expire current versions, noncurrent versions and lone delete
//! markers; abort stale multipart uploads) and the pass that applies them.
//!
//! A pass reads with plain scans and acts in small batches: each batch re-reads its keys under
//! their locks, re-checks the rules and commits one synced write batch, so a crash anywhere
//! leaves each key as before or after its action, and running a pass again does only what is
//! still due (rules are idempotent). Between batches the pass sleeps, so it never holds the
//! disk or the key locks long enough to starve foreground requests. Versions under object lock
//! are never removed.

use std::time::Duration;

use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use crate::error::{DbContext, StoreError, StoreResult};
use crate::keys::{self, cf};
use crate::lock::deletion_blocked;
use crate::meta::{BucketMeta, ObjectMeta, UploadMeta, VersionRecord, now_nanos};
use crate::store::{Inner, Store, decode, encode};
use crate::versions::Chain;

/// One lifecycle rule, as validated by the protocol layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub filter: RuleFilter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent: Option<NoncurrentExpiration>,
    /// AbortIncompleteMultipartUpload: days after initiation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_uploads_after_days: Option<u32>,
}

/// Which objects a rule applies to: all of the conditions hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilter {
    #[serde(default)]
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_greater_than: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_less_than: Option<u64>,
}

/// When the current version expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// Days after the object was written.
    Days(u32),
    /// On this date (Unix nanoseconds, midnight UTC).
    Date(i64),
    /// Remove a delete marker that is a key's only version.
    ExpiredObjectDeleteMarker,
}

/// When noncurrent versions expire: `days` after they became noncurrent, keeping the
/// `newer_noncurrent_versions` newest ones whatever their age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    pub days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
}

/// How long a lifecycle "day" is. S3 counts real days and rounds an expiry up to the next
/// midnight UTC; a shorter day (for tests, like RGW's `rgw_lc_debug_interval`) is not rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleClock {
    pub day: Duration,
}

impl Default for LifecycleClock {
    fn default() -> Self {
        Self {
            day: Duration::from_secs(86_400),
        }
    }
}

impl LifecycleClock {
    fn day_nanos(self) -> i64 {
        i64::try_from(self.day.as_nanos()).unwrap_or(i64::MAX).max(1)
    }

    /// The moment `days` days after `from` (Unix nanoseconds).
    pub fn after_days(self, from: i64, days: u32) -> i64 {
        let day = self.day_nanos();
        let t = from.saturating_add(i64::from(days).saturating_mul(day));
        if self.day == Duration::from_secs(86_400) {
            // Up to the next midnight UTC, as S3 does.
            t.div_euclid(day)
                .saturating_add(i64::from(t.rem_euclid(day) != 0))
                .saturating_mul(day)
        } else {
            t
        }
    }
}

/// How a pass paces itself.
#[derive(Debug, Clone, Copy)]
pub struct LifecyclePace {
    /// Keys (or uploads) acted on per write batch.
    pub batch: usize,
    /// Sleep between batches.
    pub pause: Duration,
}

impl Default for LifecyclePace {
    fn default() -> Self {
        Self {
            batch: 256,
            pause: Duration::from_millis(5),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Current versions expired (removed, or hidden under a new delete marker).
    pub expired: usize,
    /// Noncurrent versions (and markers) removed.
    pub noncurrent_removed: usize,
    /// Lone delete markers removed.
    pub markers_removed: usize,
    pub uploads_aborted: usize,
    /// Versions skipped because object lock protects them.
    pub locked_skipped: usize,
}

impl RuleFilter {
    /// Whether an object with this key, size and tags is in the rule's scope.
    pub fn matches(&self, key: &str, size: u64, tags: &[(String, String)]) -> bool {
        key.starts_with(&self.prefix)
            && self.tags.iter().all(|t| tags.contains(t))
            && self.size_greater_than.is_none_or(|n| size > n)
            && self.size_less_than.is_none_or(|n| size < n)
    }

    /// Whether a delete marker (no size, no tags) is in scope.
    fn matches_marker(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && self.tags.is_empty() && self.size_greater_than.is_none() && self.size_less_than.is_none()
    }
}

/// When the current version `meta` of `key` expires under `rules`, and by which rule: the
/// earliest of the enabled Days/Date rules that match it (`x-amz-expiration`).
pub fn current_expiry<'r>(
    rules: &'r [LifecycleRule],
    key: &str,
    meta: &ObjectMeta,
    clock: LifecycleClock,
) -> Option<(i64, &'r str)> {
    rules
        .iter()
        .filter(|r| r.enabled && r.filter.matches(key, meta.size, &meta.attributes.tags))
        .filter_map(|r| {
            let at = match r.expiration? {
                Expiration::Days(d) => clock.after_days(meta.last_modified_nanos, d),
                Expiration::Date(t) => t,
                Expiration::ExpiredObjectDeleteMarker => return None,
            };
            Some((at, r.id.as_str()))
        })
        .min()
}

impl Store {
    /// Sets (or with `None` removes) a bucket's lifecycle rules.
    pub async fn set_lifecycle(&self, bucket: &str, rules: Option<Vec<LifecycleRule>>) -> StoreResult<()> {
        let bucket = bucket.to_owned();
        self.blocking(move |s| {
            let _guard = s.bucket_lock.write().unwrap_or_else(|p| p.into_inner());
            let mut meta = s.require_bucket(&bucket)?;
            let mut batch = WriteBatch::default();
            match &rules {
                Some(rules) => batch.put_cf(s.cf(cf::CONFIGS), lifecycle_key(&bucket), encode(rules)?),
                None => batch.delete_cf(s.cf(cf::CONFIGS), lifecycle_key(&bucket)),
            }
            meta.lifecycle = rules.is_some();
            batch.put_cf(s.cf(cf::BUCKETS), bucket.as_bytes(), encode(&meta)?);
            s.write(batch)
        })
        .await
    }

    /// A bucket's lifecycle rules, if it has any (one read; none when the bucket record says so).
    pub async fn lifecycle(&self, bucket: &BucketMeta, name: &str) -> StoreResult<Option<Vec<LifecycleRule>>> {
        if !bucket.lifecycle {
            return Ok(None);
        }
        self.point_read(|s| s.lifecycle_rules(name))
    }

    /// Applies every bucket's lifecycle rules once, paced by `pace`.
    pub async fn run_lifecycle(&self, clock: LifecycleClock, pace: LifecyclePace) -> StoreResult<LifecycleReport> {
        let mut report = LifecycleReport::default();
        for (name, meta) in self.list_buckets().await? {
            if !meta.lifecycle {
                continue;
            }
            let Some(rules) = self.lifecycle(&meta, &name).await? else {
                continue;
            };
            let rules: Vec<LifecycleRule> = rules.into_iter().filter(|r| r.enabled).collect();
            if rules.is_empty() {
                continue;
            }
            // One bucket's failure (say, a corrupt record) must not stop the others.
            let result = async {
                self.expire_current(&name, &rules, clock, pace, &mut report).await?;
                self.expire_versions(&name, &rules, clock, pace, &mut report).await?;
                self.abort_stale_uploads(&name, &rules, clock, pace, &mut report).await
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(bucket = %name, %err, "lifecycle pass failed for this bucket; the next pass retries");
            }
        }
        Ok(report)
    }

    /// Expiration Days/Date over current objects, one batch of keys at a time.
    async fn expire_current(
        &self,
        bucket: &str,
        rules: &[LifecycleRule],
        clock: LifecycleClock,
        pace: LifecyclePace,
        report: &mut LifecycleReport,
    ) -> StoreResult<()> {
        if !rules
            .iter()
            .any(|r| matches!(r.expiration, Some(Expiration::Days(_) | Expiration::Date(_))))
        {
            return Ok(());
        }
        let mut after: Option<String> = None;
        loop {
            let (b, r, from) = (bucket.to_owned(), rules.to_vec(), after.clone());
            let (due, next) = self
                .blocking(move |s| s.due_current(&b, &r, clock, from.as_deref(), pace.batch))
                .await?;
            if !due.is_empty() {
                let b = bucket.to_owned();
                report.expired += self.blocking(move |s| s.expire_keys(&b, clock, &due)).await?;
            }
            match next {
                Some(key) => after = Some(key),
                None => return Ok(()),
            }
            tokio::time::sleep(pace.pause).await;
        }
    }

    /// NoncurrentVersionExpiration and ExpiredObjectDeleteMarker over the versions family.
    async fn expire_versions(
        &self,
        bucket: &str,
        rules: &[LifecycleRule],
        clock: LifecycleClock,
        pace: LifecyclePace,
        report: &mut LifecycleReport,
    ) -> StoreResult<()> {
        // Fewer keys per batch than for current versions: each key's history is read whole.
        let pace = LifecyclePace {
            batch: pace.batch.min(64),
            ..pace
        };
        let wanted = rules
            .iter()
            .any(|r| r.noncurrent.is_some() || r.expiration == Some(Expiration::ExpiredObjectDeleteMarker));
        if !wanted {
            return Ok(());
        }
        let mut after: Option<String> = None;
        loop {
            let (b, from) = (bucket.to_owned(), after.clone());
            let (keys, next) = self
                .blocking(move |s| s.keys_with_versions(&b, from.as_deref(), pace.batch))
                .await?;
            if !keys.is_empty() {
                let b = bucket.to_owned();
                let done = self.blocking(move |s| s.expire_key_versions(&b, clock, &keys)).await?;
                report.noncurrent_removed += done.noncurrent_removed;
                report.markers_removed += done.markers_removed;
                report.locked_skipped += done.locked_skipped;
            }
            match next {
                Some(key) => after = Some(key),
                None => return Ok(()),
            }
            tokio::time::sleep(pace.pause).await;
        }
    }

    /// AbortIncompleteMultipartUpload.
    async fn abort_stale_uploads(
        &self,
        bucket: &str,
        rules: &[LifecycleRule],
        clock: LifecycleClock,
        pace: LifecyclePace,
        report: &mut LifecycleReport,
    ) -> StoreResult<()> {
        if !rules.iter().any(|r| r.abort_uploads_after_days.is_some()) {
            return Ok(());
        }
        let (b, r) = (bucket.to_owned(), rules.to_vec());
        let now = now_nanos();
        let stale: Vec<String> = self
            .blocking(move |s| {
                let mut out = Vec::new();
                for id in s.upload_ids_in_bucket(&b)? {
                    let Some(raw) =
                        s.db.get_pinned_cf(s.cf(cf::UPLOADS), id.as_bytes())
                            .db_ctx("reading an upload")?
                    else {
                        continue;
                    };
                    let upload: UploadMeta = decode(&raw)?;
                    let due = r.iter().any(|rule| {
                        rule.abort_uploads_after_days.is_some_and(|d| {
                            upload.key.starts_with(&rule.filter.prefix) && clock.after_days(upload.initiated_nanos, d) <= now
                        })
                    });
                    if due {
                        out.push(id);
                    }
                }
                Ok(out)
            })
            .await?;
        for chunk in stale.chunks(pace.batch.max(1)) {
            let ids = chunk.to_vec();
            report.uploads_aborted += self
                .blocking(move |s| {
                    // The uploads stay locked until the batch is committed: a completion or a
                    // part upload racing with the abort waits, then finds the upload gone.
                    let _locks = s.upload_locks.lock_many(ids.iter());
                    let mut batch = WriteBatch::default();
                    let mut garbage = Vec::new();
                    let mut aborted = 0;
                    for id in &ids {
                        let exists =
                            s.db.get_pinned_cf(s.cf(cf::UPLOADS), id.as_bytes())
                                .db_ctx("reading an upload")?
                                .is_some();
                        if exists {
                            garbage.extend(s.remove_upload_records(&mut batch, id)?);
                            aborted += 1;
                        }
                    }
                    s.write_freeing(batch)?;
                    s.remove_files(garbage);
                    Ok(aborted)
                })
                .await?;
            tokio::time::sleep(pace.pause).await;
        }
        Ok(())
    }
}

/// Where a bucket's rules are in the configs family.
fn lifecycle_key(bucket: &str) -> Vec<u8> {
    keys::config_key(bucket, "lifecycle")
}

/// What one batch of version expiry did.
#[derive(Default)]
struct VersionsDone {
    noncurrent_removed: usize,
    markers_removed: usize,
    locked_skipped: usize,
}

impl Inner {
    /// The bucket's enabled rules now (none when its configuration was removed).
    fn enabled_rules(&self, meta: &BucketMeta, bucket: &str) -> StoreResult<Vec<LifecycleRule>> {
        if !meta.lifecycle {
            return Ok(Vec::new());
        }
        Ok(self
            .lifecycle_rules(bucket)?
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.enabled)
            .collect())
    }

    fn lifecycle_rules(&self, bucket: &str) -> StoreResult<Option<Vec<LifecycleRule>>> {
        let raw = self
            .db
            .get_pinned_cf(self.cf(cf::CONFIGS), lifecycle_key(bucket))
            .db_ctx("reading a lifecycle configuration")?;
        raw.map(|r| decode(&r)).transpose()
    }

    /// Up to `limit` current keys after `after` whose expiry is due; and the key to continue
    /// after (`None` at the end of the bucket).
    fn due_current(
        &self,
        bucket: &str,
        rules: &[LifecycleRule],
        clock: LifecycleClock,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)> {
        let base = keys::bucket_prefix(bucket);
        let mut it = self.db.raw_iterator_cf(self.cf(cf::OBJECTS));
        match after {
            Some(k) => {
                let mut from = keys::object_key(bucket, k);
                from.push(0);
                it.seek(&from);
            }
            None => it.seek(&base),
        }
        let now = now_nanos();
        let (mut due, mut scanned) = (Vec::new(), 0usize);
        let mut last = None;
        while let Some(raw) = it.key() {
            if !raw.starts_with(&base) {
                last = None;
                break;
            }
            let key = String::from_utf8(raw[base.len()..].to_vec())
                .map_err(|_| StoreError::Corrupt("object key is not UTF-8".into()))?;
            let meta: ObjectMeta = decode(it.value().unwrap_or_default())?;
            if current_expiry(rules, &key, &meta, clock).is_some_and(|(at, _)| at <= now) {
                due.push(key.clone());
            }
            last = Some(key);
            scanned += 1;
            // Bounded work per step: a batch of due keys, or 16 batches scanned.
            if due.len() >= limit || scanned >= limit * 16 {
                it.next();
                if !it.key().is_some_and(|k| k.starts_with(&base)) {
                    last = None;
                }
                break;
            }
            it.next();
        }
        it.status().db_ctx("scanning for expired objects")?;
        Ok((due, last))
    }

    /// Expires the current version of each key (re-checked under its lock): removed in a bucket
    /// without versioning, hidden under a new delete marker otherwise. One synced batch.
    fn expire_keys(&self, bucket: &str, clock: LifecycleClock, due: &[String]) -> StoreResult<usize> {
        let _b = self.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
        let Some(bucket_meta) = self.bucket(bucket)? else {
            return Ok(0);
        };
        // The rules as they are now: one deleted or disabled mid-pass stops acting at once.
        let rules = self.enabled_rules(&bucket_meta, bucket)?;
        let rules = rules.as_slice();
        let _locks = self.key_locks.lock_many(due.iter().map(|k| (bucket, k)));
        let now = now_nanos();
        let mut batch = WriteBatch::default();
        let mut garbage = Vec::new();
        let mut done = 0;
        for key in due {
            let chain = Chain::new(self, bucket, key, &bucket_meta);
            let Some(current) = chain.current()? else { continue };
            if current_expiry(rules, key, &current, clock).is_none_or(|(at, _)| at > now) {
                continue;
            }
            if chain.versioning.is_none() {
                garbage.extend(chain.remove_current(&mut batch, &current));
            } else {
                let (_, freed) = chain.write_marker(&mut batch, Some(current), &bucket_meta.owner)?;
                garbage.extend(freed);
            }
            done += 1;
        }
        if !batch.is_empty() {
            self.write_freeing(batch)?;
        }
        self.remove_files(garbage);
        Ok(done)
    }

    /// Up to `limit` distinct keys with records in `versions`, after `after`; and where to go on.
    fn keys_with_versions(&self, bucket: &str, after: Option<&str>, limit: usize) -> StoreResult<(Vec<String>, Option<String>)> {
        let base = keys::bucket_prefix(bucket);
        let mut it = self.db.raw_iterator_cf(self.cf(cf::VERSIONS));
        match after {
            Some(k) => it.seek(keys::after_versions_of(bucket, k)),
            None => it.seek(&base),
        }
        let mut out: Vec<String> = Vec::new();
        while let Some(raw) = it.key() {
            if !raw.starts_with(&base) {
                break;
            }
            let (key, _) = keys::split_version_key(&raw[base.len()..])
                .ok_or_else(|| StoreError::Corrupt("a version key is not valid".into()))?;
            if out.len() == limit {
                it.status().db_ctx("scanning versions")?;
                let last = out.last().cloned();
                return Ok((out, last));
            }
            it.seek(keys::after_versions_of(bucket, &key));
            out.push(key);
        }
        it.status().db_ctx("scanning versions")?;
        Ok((out, None))
    }

    /// Applies noncurrent expiry and lone-marker removal to each key, under its lock, in one
    /// synced batch. A key's versions are streamed (one record decoded at a time), so a key with
    /// a long history costs time, not memory.
    fn expire_key_versions(&self, bucket: &str, clock: LifecycleClock, keys_: &[String]) -> StoreResult<VersionsDone> {
        let _b = self.bucket_lock.read().unwrap_or_else(|p| p.into_inner());
        let Some(bucket_meta) = self.bucket(bucket)? else {
            return Ok(VersionsDone::default());
        };
        let rules = self.enabled_rules(&bucket_meta, bucket)?;
        let _locks = self.key_locks.lock_many(keys_.iter().map(|k| (bucket, k)));
        let now = now_nanos();
        let mut done = VersionsDone::default();
        let mut batch = WriteBatch::default();
        let mut garbage = Vec::new();
        for key in keys_ {
            let chain = Chain::new(self, bucket, key, &bucket_meta);
            let current = chain.current()?;
            // A lone delete marker: the key's only version.
            if current.is_none() {
                let first_two = chain.older_records(2)?;
                if let [(seq, record @ VersionRecord::DeleteMarker(_))] = first_two.as_slice()
                    && rules
                        .iter()
                        .any(|r| r.expiration == Some(Expiration::ExpiredObjectDeleteMarker) && r.filter.matches_marker(key))
                {
                    garbage.extend(chain.remove_older_in_batch(&mut batch, *seq, record));
                    done.markers_removed += 1;
                    continue;
                }
            }
            // Noncurrent versions, newest first. Each knows when it became noncurrent (stamped
            // when it left the current place; older records and markers: when the next newer
            // version was written). Per rule, the number of newer noncurrent object versions
            // in its scope decides what NewerNoncurrentVersions keeps.
            let mut successor_time = current.as_ref().map(|c| c.last_modified_nanos);
            let mut newer_in_scope = vec![0u32; rules.len()];
            let done_ref = &mut done;
            let (batch_ref, garbage_ref) = (&mut batch, &mut garbage);
            chain.for_each_older(|seq, record| {
                let written = match &record {
                    VersionRecord::Object(m) => m.last_modified_nanos,
                    VersionRecord::DeleteMarker(d) => d.last_modified_nanos,
                };
                let Some(successor) = successor_time.replace(written) else {
                    // The newest record with no current object above it is the latest version.
                    return Ok(());
                };
                let since = match &record {
                    VersionRecord::Object(m) => m.noncurrent_since_nanos.unwrap_or(successor),
                    VersionRecord::DeleteMarker(_) => successor,
                };
                let mut due = false;
                for (r, newer) in rules.iter().zip(newer_in_scope.iter_mut()) {
                    let Some(n) = r.noncurrent else { continue };
                    let in_scope = match &record {
                        VersionRecord::Object(m) => r.filter.matches(key, m.size, &m.attributes.tags),
                        VersionRecord::DeleteMarker(_) => r.filter.matches_marker(key),
                    };
                    if !in_scope {
                        continue;
                    }
                    let kept = n.newer_noncurrent_versions.is_some_and(|keep| *newer < keep);
                    if matches!(record, VersionRecord::Object(_)) {
                        *newer += 1;
                    }
                    due |= !kept && clock.after_days(since, n.days) <= now;
                }
                if !due {
                    return Ok(());
                }
                if let VersionRecord::Object(m) = &record
                    && deletion_blocked(m, false, now).is_some()
                {
                    done_ref.locked_skipped += 1;
                    return Ok(());
                }
                garbage_ref.extend(chain.remove_older_in_batch(batch_ref, seq, &record));
                done_ref.noncurrent_removed += 1;
                Ok(())
            })?;
        }
        if !batch.is_empty() {
            self.write_freeing(batch)?;
        }
        self.remove_files(garbage);
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_days_round_up_to_midnight_and_short_days_do_not() {
        let day = 86_400 * 1_000_000_000i64;
        let clock = LifecycleClock::default();
        // Written at 10:30 on day 100: one day later is 10:30 on day 101, rounded to day 102.
        let written = 100 * day + day / 2 - day / 16;
        assert_eq!(clock.after_days(written, 1), 102 * day);
        assert_eq!(clock.after_days(100 * day, 1), 101 * day);
        let fast = LifecycleClock {
            day: Duration::from_secs(2),
        };
        assert_eq!(fast.after_days(5, 3), 5 + 6_000_000_000);
    }

    #[test]
    fn filters_need_every_condition() {
        let f = RuleFilter {
            prefix: "logs/".into(),
            tags: vec![("tier".into(), "tmp".into())],
            size_greater_than: Some(10),
            size_less_than: Some(100),
        };
        let tags = vec![("tier".to_owned(), "tmp".to_owned()), ("x".to_owned(), "y".to_owned())];
        assert!(f.matches("logs/a", 50, &tags));
        assert!(!f.matches("data/a", 50, &tags));
        assert!(!f.matches("logs/a", 10, &tags));
        assert!(!f.matches("logs/a", 100, &tags));
        assert!(!f.matches("logs/a", 50, &[]));
        assert!(!f.matches_marker("logs/a"));
        assert!(RuleFilter::default().matches_marker("anything"));
    }
}
