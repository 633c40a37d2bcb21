//! Object lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold,
//! and the `x-amz-object-lock-*` headers of writes and reads. The rules themselves (what a lock
//! forbids) live in the store; this module validates requests as S3 does and shapes answers.

use lagoa_store::{BucketMeta, LockSettings, ObjectMeta, Retention, RetentionMode, RetentionPeriod, now_nanos};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, timestamp};
use crate::ops::versioning::version_param;

/// The lock headers of a write, as s3s parsed them.
pub(crate) struct LockHeaders<'a> {
    pub mode: Option<&'a ObjectLockMode>,
    pub until: Option<&'a Timestamp>,
    pub legal_hold: Option<&'a ObjectLockLegalHoldStatus>,
}

/// The [`LockHeaders`] of any input that has them (PutObject, CopyObject,
/// CreateMultipartUpload: the same three fields on three types).
macro_rules! lock_headers_of {
    ($input:expr) => {
        $crate::ops::object_lock::LockHeaders {
            mode: $input.object_lock_mode.as_ref(),
            until: $input.object_lock_retain_until_date.as_ref(),
            legal_hold: $input.object_lock_legal_hold_status.as_ref(),
        }
    };
}
pub(crate) use lock_headers_of;

fn missing_configuration() -> S3Error {
    s3_error!(InvalidRequest, "Bucket is missing Object Lock Configuration")
}

/// Unix nanoseconds of a timestamp.
fn nanos(t: &Timestamp) -> i64 {
    let t: time::OffsetDateTime = t.clone().into();
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn mode_of(mode: &str) -> S3Result<RetentionMode> {
    match mode {
        ObjectLockMode::GOVERNANCE => Ok(RetentionMode::Governance),
        ObjectLockMode::COMPLIANCE => Ok(RetentionMode::Compliance),
        _ => Err(s3_error!(InvalidArgument, "Unknown wormMode directive.")),
    }
}

fn mode_name(mode: RetentionMode) -> &'static str {
    match mode {
        RetentionMode::Governance => ObjectLockMode::GOVERNANCE,
        RetentionMode::Compliance => ObjectLockMode::COMPLIANCE,
    }
}

/// A retention from a mode and a date: both or neither, the date in the future.
fn retention(mode: Option<&str>, until: Option<&Timestamp>) -> S3Result<Option<Retention>> {
    match (mode, until) {
        (None, None) => Ok(None),
        (Some(mode), Some(until)) => {
            let until_nanos = nanos(until);
            if until_nanos <= now_nanos() {
                return Err(s3_error!(InvalidArgument, "The retain until date must be in the future!"));
            }
            Ok(Some(Retention {
                mode: mode_of(mode)?,
                until_nanos,
            }))
        }
        _ => Err(s3_error!(
            InvalidArgument,
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
        )),
    }
}

fn legal_hold(status: &str) -> S3Result<bool> {
    match status {
        ObjectLockLegalHoldStatus::ON => Ok(true),
        ObjectLockLegalHoldStatus::OFF => Ok(false),
        _ => Err(s3_error!(InvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'")),
    }
}

/// Whether a request carries the integrity header S3 requires with object lock parameters:
/// `Content-MD5` or an `x-amz-checksum-*` value (or the SDK's announced algorithm, whose value
/// comes in a trailer).
fn has_integrity_header(headers: &http::HeaderMap) -> bool {
    headers.contains_key("content-md5")
        || headers.contains_key("x-amz-sdk-checksum-algorithm")
        || headers.keys().any(|k| k.as_str().starts_with("x-amz-checksum-"))
        || headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("x-amz-checksum-"))
}

/// Requires that integrity header.
pub(crate) fn require_integrity(headers: &http::HeaderMap) -> S3Result<()> {
    if has_integrity_header(headers) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
        ))
    }
}

/// The lock a write asks for, checked as S3 checks it: the values first (a mode without a date
/// or the reverse, an unknown mode, a past date, a legal hold other than ON/OFF: 400
/// InvalidArgument), then that the bucket has object lock (400 InvalidRequest).
///
/// S3 also wants `Content-MD5` or a checksum on such a PUT; MinIO does not, and `mc cp
/// --retention-mode` (minio-go) sends neither, so a drop-in replacement for MinIO cannot ask for
/// it here. The lock APIs themselves (PutObjectRetention, …) do require it, as both do.
pub(crate) fn lock_settings(bucket: &BucketMeta, lock: LockHeaders<'_>) -> S3Result<LockSettings> {
    if lock.mode.is_none() && lock.until.is_none() && lock.legal_hold.is_none() {
        return Ok(LockSettings::default());
    }
    let settings = LockSettings {
        retention: retention(lock.mode.map(|m| m.as_str()), lock.until)?,
        legal_hold: lock.legal_hold.map(|h| legal_hold(h.as_str())).transpose()?,
    };
    if bucket.object_lock.is_none() {
        return Err(s3_error!(InvalidRequest, "Bucket is missing ObjectLockConfiguration"));
    }
    Ok(settings)
}

/// The lock headers a GET/HEAD answers with.
pub(crate) struct LockView {
    pub mode: Option<ObjectLockMode>,
    pub until: Option<Timestamp>,
    pub legal_hold: Option<ObjectLockLegalHoldStatus>,
}

/// What a read shows of a version's lock: mode and date while a retention exists, the legal
/// hold status in a lock-enabled bucket.
pub(crate) fn lock_view(bucket: &BucketMeta, meta: &ObjectMeta) -> LockView {
    let retention = meta.retention;
    LockView {
        mode: retention.map(|r| ObjectLockMode::from_static(mode_name(r.mode))),
        until: retention.map(|r| timestamp(r.until_nanos)),
        legal_hold: meta.legal_hold.filter(|_| bucket.object_lock.is_some()).map(|on| {
            ObjectLockLegalHoldStatus::from_static(if on {
                ObjectLockLegalHoldStatus::ON
            } else {
                ObjectLockLegalHoldStatus::OFF
            })
        }),
    }
}

/// A PutObjectLockConfiguration body checked as S3 does.
fn default_retention(config: Option<ObjectLockConfiguration>) -> S3Result<Option<lagoa_store::DefaultRetention>> {
    let malformed = || {
        s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        )
    };
    let config = config.ok_or_else(malformed)?;
    if config.object_lock_enabled.as_ref().map(|e| e.as_str()) != Some(ObjectLockEnabled::ENABLED) {
        return Err(malformed());
    }
    let Some(rule) = config.rule else {
        return Ok(None);
    };
    let d = rule.default_retention.ok_or_else(malformed)?;
    let mode = match d.mode.as_ref().map(|m| m.as_str()) {
        Some(ObjectLockRetentionMode::GOVERNANCE) => RetentionMode::Governance,
        Some(ObjectLockRetentionMode::COMPLIANCE) => RetentionMode::Compliance,
        _ => return Err(malformed()),
    };
    let positive = |n: i32| {
        u32::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| s3_error!(InvalidArgument, "Default retention period must be a positive integer value"))
    };
    let period = match (d.days, d.years) {
        (Some(days), None) => RetentionPeriod::Days(positive(days)?),
        (None, Some(years)) => RetentionPeriod::Years(positive(years)?),
        _ => return Err(malformed()),
    };
    Ok(Some(lagoa_store::DefaultRetention { mode, period }))
}

impl Lagoa {
    /// The bucket of a retention or legal-hold request: it exists and has object lock (else
    /// S3's 400 InvalidRequest).
    async fn locked_bucket(&self, bucket: &str) -> S3Result<BucketMeta> {
        let meta = self.existing_bucket(bucket).await?;
        if meta.object_lock.is_none() {
            return Err(missing_configuration());
        }
        Ok(meta)
    }

    pub(crate) async fn do_put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        require_integrity(&req.headers)?;
        if req.input.token.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "Object lock tokens (x-amz-bucket-object-lock-token) are not supported; nothing was changed"
            ));
        }
        if bucket.object_lock.is_none() {
            return Err(crate::errors::to_s3(lagoa_store::StoreError::InvalidBucketState(
                "Object Lock configuration cannot be enabled on existing buckets".into(),
            )));
        }
        let input = req.input;
        let default = default_retention(input.object_lock_configuration)?;
        self.store.set_default_retention(&input.bucket, default).await.s3()?;
        Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
    }

    pub(crate) async fn do_get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let Some(config) = bucket.object_lock else {
            return Err(crate::errors::custom(
                "ObjectLockConfigurationNotFoundError",
                http::StatusCode::NOT_FOUND,
                "Object Lock configuration does not exist for this bucket",
            ));
        };
        let rule = config.default_retention.map(|d| ObjectLockRule {
            default_retention: Some(DefaultRetention {
                mode: Some(ObjectLockRetentionMode::from_static(mode_name(d.mode))),
                days: match d.period {
                    RetentionPeriod::Days(n) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
                    RetentionPeriod::Years(_) => None,
                },
                years: match d.period {
                    RetentionPeriod::Years(n) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
                    RetentionPeriod::Days(_) => None,
                },
            }),
        });
        Ok(S3Response::new(GetObjectLockConfigurationOutput {
            object_lock_configuration: Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
                rule,
            }),
        }))
    }

    pub(crate) async fn do_put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        self.locked_bucket(&req.input.bucket).await?;
        require_integrity(&req.headers)?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        // In the body, a half-given retention or an unknown mode is MalformedXML (a past date
        // stays InvalidArgument), as S3 answers.
        let malformed = || {
            s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            )
        };
        let wanted = match input.retention {
            Some(r) => {
                let mode = r.mode.as_ref().map(|m| m.as_str());
                if mode.is_some() != r.retain_until_date.is_some() || mode.is_some_and(|m| mode_of(m).is_err()) {
                    return Err(malformed());
                }
                retention(mode, r.retain_until_date.as_ref())?
            }
            None => None,
        };
        let bypass = input.bypass_governance_retention.unwrap_or(false);
        self.store
            .set_retention(&input.bucket, &input.key, version, wanted, bypass)
            .await
            .s3()?;
        Ok(S3Response::new(PutObjectRetentionOutput::default()))
    }

    pub(crate) async fn do_get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        self.locked_bucket(&req.input.bucket).await?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        let meta = self.store.object_version(&input.bucket, &input.key, version).await.s3()?;
        let Some(r) = meta.retention else {
            return Err(no_lock_configuration());
        };
        Ok(S3Response::new(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: Some(ObjectLockRetentionMode::from_static(mode_name(r.mode))),
                retain_until_date: Some(timestamp(r.until_nanos)),
            }),
        }))
    }

    pub(crate) async fn do_put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        self.locked_bucket(&req.input.bucket).await?;
        require_integrity(&req.headers)?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        let status = input
            .legal_hold
            .and_then(|h| h.status)
            .ok_or_else(|| s3_error!(MalformedXML, "The LegalHold element must have a Status of ON or OFF"))?;
        let on = legal_hold(status.as_str())
            .map_err(|_| s3_error!(MalformedXML, "The LegalHold element must have a Status of ON or OFF"))?;
        self.store.set_legal_hold(&input.bucket, &input.key, version, on).await.s3()?;
        Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
    }

    pub(crate) async fn do_get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        self.locked_bucket(&req.input.bucket).await?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        let meta = self.store.object_version(&input.bucket, &input.key, version).await.s3()?;
        // Never set: S3 answers as for a missing retention.
        let status = match meta.legal_hold {
            None => return Err(no_lock_configuration()),
            Some(true) => ObjectLockLegalHoldStatus::ON,
            Some(false) => ObjectLockLegalHoldStatus::OFF,
        };
        Ok(S3Response::new(GetObjectLegalHoldOutput {
            legal_hold: Some(ObjectLockLegalHold {
                status: Some(ObjectLockLegalHoldStatus::from_static(status)),
            }),
        }))
    }
}

fn no_lock_configuration() -> S3Error {
    crate::errors::custom(
        "NoSuchObjectLockConfiguration",
        http::StatusCode::NOT_FOUND,
        "The specified object does not have a ObjectLock configuration",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn an_integrity_header_is_md5_or_any_checksum() {
        assert!(!has_integrity_header(&headers(&[])));
        assert!(has_integrity_header(&headers(&[("content-md5", "x")])));
        assert!(has_integrity_header(&headers(&[("x-amz-checksum-crc32", "x")])));
        assert!(has_integrity_header(&headers(&[("x-amz-trailer", "x-amz-checksum-crc32")])));
        assert!(!has_integrity_header(&headers(&[("x-amz-meta-checksum", "x")])));
    }

    #[test]
    fn a_default_retention_has_one_positive_period_and_a_mode() {
        let config = |days: Option<i32>, years: Option<i32>, mode: &'static str| {
            Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
                rule: Some(ObjectLockRule {
                    default_retention: Some(DefaultRetention {
                        days,
                        years,
                        mode: Some(ObjectLockRetentionMode::from_static(mode)),
                    }),
                }),
            })
        };
        assert!(default_retention(config(Some(1), None, "GOVERNANCE")).unwrap().is_some());
        assert!(default_retention(config(None, Some(2), "COMPLIANCE")).unwrap().is_some());
        assert!(default_retention(config(Some(1), Some(1), "GOVERNANCE")).is_err());
        assert!(default_retention(config(None, None, "GOVERNANCE")).is_err());
        assert!(default_retention(config(Some(0), None, "GOVERNANCE")).is_err());
        assert!(default_retention(config(Some(1), None, "SOFT")).is_err());
        assert!(default_retention(None).is_err());
    }
}
