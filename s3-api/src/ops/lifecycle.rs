//! Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration with S3's validation, and the
//! `x-amz-expiration` header of objects a rule will expire. The rules run in the store's
//! background pass (`lagoa_store::Store::run_lifecycle`, started by `lagoa serve`).

use lagoa_store::{BucketMeta, Expiration, LifecycleRule, NoncurrentExpiration, ObjectMeta, RuleFilter};
use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, format_http_date, timestamp, validate_tags};
use crate::ops::object_lock::require_integrity;

/// S3's limits on a configuration.
const MAX_RULES: usize = 1000;
const MAX_ID_LEN: usize = 255;
const MAX_NEWER_NONCURRENT: i32 = 100;

fn malformed(why: &str) -> S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema ({why})"
    )
}

fn positive_days(days: Option<i32>, what: &str) -> S3Result<u32> {
    let days = days.ok_or_else(|| malformed(&format!("{what} needs a number of days")))?;
    u32::try_from(days)
        .ok()
        .filter(|d| *d > 0)
        .ok_or_else(|| s3_error!(InvalidArgument, "'{what}' must be a positive integer"))
}

fn size(n: Option<i64>) -> S3Result<Option<u64>> {
    n.map(|n| u64::try_from(n).map_err(|_| s3_error!(InvalidArgument, "Object size filters must be zero or positive")))
        .transpose()
}

/// A rule's filter: the legacy top-level `Prefix`, or `Filter` with exactly one of Prefix,
/// Tag, And, ObjectSizeGreaterThan, ObjectSizeLessThan (none: the whole bucket).
fn filter(rule_prefix: Option<String>, filter: Option<LifecycleRuleFilter>) -> S3Result<RuleFilter> {
    let Some(f) = filter else {
        return Ok(RuleFilter {
            prefix: rule_prefix.unwrap_or_default(),
            ..RuleFilter::default()
        });
    };
    if rule_prefix.is_some() {
        return Err(malformed("a rule has either Prefix or Filter, not both"));
    }
    let given = [
        f.prefix.is_some(),
        f.tag.is_some(),
        f.and.is_some(),
        f.object_size_greater_than.is_some(),
        f.object_size_less_than.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(malformed("a Filter holds one condition; combine several with And"));
    }
    let tag = |t: Tag| (t.key.unwrap_or_default(), t.value.unwrap_or_default());
    let out = match f.and {
        Some(and) => {
            let tags: Vec<(String, String)> = and.tags.unwrap_or_default().into_iter().map(tag).collect();
            validate_tags(&tags)?;
            RuleFilter {
                prefix: and.prefix.unwrap_or_default(),
                tags,
                size_greater_than: size(and.object_size_greater_than)?,
                size_less_than: size(and.object_size_less_than)?,
            }
        }
        None => RuleFilter {
            prefix: f.prefix.unwrap_or_default(),
            tags: f.tag.map(tag).into_iter().collect(),
            size_greater_than: size(f.object_size_greater_than)?,
            size_less_than: size(f.object_size_less_than)?,
        },
    };
    if let (Some(gt), Some(lt)) = (out.size_greater_than, out.size_less_than)
        && gt >= lt
    {
        return Err(s3_error!(
            InvalidArgument,
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan"
        ));
    }
    Ok(out)
}

fn expiration(e: LifecycleExpiration) -> S3Result<Expiration> {
    match (e.days, e.date, e.expired_object_delete_marker) {
        (Some(_), None, None) => Ok(Expiration::Days(positive_days(e.days, "Days")?)),
        (None, Some(date), None) => {
            let t: time::OffsetDateTime = date.into();
            if t.time() != time::Time::MIDNIGHT || t.offset() != time::UtcOffset::UTC {
                return Err(s3_error!(InvalidArgument, "'Date' must be at midnight GMT"));
            }
            Ok(Expiration::Date(i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)))
        }
        (None, None, Some(true)) => Ok(Expiration::ExpiredObjectDeleteMarker),
        (None, None, Some(false)) => Err(malformed("ExpiredObjectDeleteMarker false is no action")),
        _ => Err(malformed("Expiration takes one of Days, Date and ExpiredObjectDeleteMarker")),
    }
}

/// Converts and checks one rule (the `index`-th) as S3 does.
fn rule(r: s3s::dto::LifecycleRule, index: usize) -> S3Result<LifecycleRule> {
    if r.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || r.noncurrent_version_transitions.as_ref().is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(
            NotImplemented,
            "Lifecycle transitions are not supported (this server has no storage tiers); the configuration was not changed"
        ));
    }
    let id = match r.id {
        Some(id) if id.chars().count() > MAX_ID_LEN => {
            return Err(s3_error!(InvalidArgument, "ID length should not exceed allowed limit of 255"));
        }
        Some(id) if !id.is_empty() => id,
        // S3 names a rule without an ID itself.
        _ => generated_id(index),
    };
    let enabled = match r.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        _ => return Err(malformed("Status is Enabled or Disabled")),
    };
    let filter = filter(r.prefix, r.filter)?;
    let expiration = r.expiration.map(expiration).transpose()?;
    let noncurrent = r
        .noncurrent_version_expiration
        .map(|n| {
            let days = positive_days(n.noncurrent_days, "NoncurrentDays")?;
            let newer = n
                .newer_noncurrent_versions
                .map(|v| {
                    u32::try_from(v)
                        .ok()
                        .filter(|v| (1..=MAX_NEWER_NONCURRENT as u32).contains(v))
                        .ok_or_else(|| {
                            s3_error!(
                                InvalidArgument,
                                "NewerNoncurrentVersions must be between 1 and {MAX_NEWER_NONCURRENT}"
                            )
                        })
                })
                .transpose()?;
            Ok::<_, S3Error>(NoncurrentExpiration {
                days,
                newer_noncurrent_versions: newer,
            })
        })
        .transpose()?;
    let abort = r
        .abort_incomplete_multipart_upload
        .map(|a| positive_days(a.days_after_initiation, "DaysAfterInitiation"))
        .transpose()?;
    if expiration.is_none() && noncurrent.is_none() && abort.is_none() {
        return Err(s3_error!(
            InvalidRequest,
            "At least one action needs to be specified in a rule"
        ));
    }
    let filtered_by_tag_or_size =
        !filter.tags.is_empty() || filter.size_greater_than.is_some() || filter.size_less_than.is_some();
    if expiration == Some(Expiration::ExpiredObjectDeleteMarker) && filtered_by_tag_or_size {
        return Err(s3_error!(
            InvalidRequest,
            "ExpiredObjectDeleteMarker cannot be specified with tags or object size filters."
        ));
    }
    if abort.is_some() && filtered_by_tag_or_size {
        return Err(s3_error!(
            InvalidRequest,
            "AbortIncompleteMultipartUpload cannot be specified with tags or object size filters."
        ));
    }
    Ok(LifecycleRule {
        id,
        enabled,
        filter,
        expiration,
        noncurrent,
        abort_uploads_after_days: abort,
    })
}

/// An ID for a rule given none: the time of the request and the rule's place in it.
fn generated_id(index: usize) -> String {
    format!("rule-{:x}-{index}", lagoa_store::now_nanos())
}

/// The rules of a PutBucketLifecycleConfiguration body, checked as S3 does.
pub(crate) fn rules(config: Option<BucketLifecycleConfiguration>) -> S3Result<Vec<LifecycleRule>> {
    let config = config.ok_or_else(|| malformed("no LifecycleConfiguration"))?;
    if config.rules.is_empty() || config.rules.len() > MAX_RULES {
        return Err(malformed("1 to 1000 rules"));
    }
    let rules = config
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| rule(r, i))
        .collect::<S3Result<Vec<_>>>()?;
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(s3_error!(
            InvalidArgument,
            "Rule ID must be unique. Found same ID for more than one rule"
        ));
    }
    Ok(rules)
}

/// Back to the wire form for GetBucketLifecycleConfiguration.
fn to_dto(r: &LifecycleRule) -> s3s::dto::LifecycleRule {
    let f = &r.filter;
    let tag = |(k, v): &(String, String)| Tag {
        key: Some(k.clone()),
        value: Some(v.clone()),
    };
    let conditions = usize::from(!f.prefix.is_empty())
        + f.tags.len()
        + usize::from(f.size_greater_than.is_some())
        + usize::from(f.size_less_than.is_some());
    let as_i64 = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let filter = if conditions > 1 {
        LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: (!f.prefix.is_empty()).then(|| f.prefix.clone()),
                tags: (!f.tags.is_empty()).then(|| f.tags.iter().map(tag).collect()),
                object_size_greater_than: as_i64(f.size_greater_than),
                object_size_less_than: as_i64(f.size_less_than),
            }),
            ..Default::default()
        }
    } else {
        LifecycleRuleFilter {
            prefix: Some(f.prefix.clone()).filter(|p| !p.is_empty() || conditions == 0),
            tag: f.tags.first().map(tag),
            object_size_greater_than: as_i64(f.size_greater_than),
            object_size_less_than: as_i64(f.size_less_than),
            ..Default::default()
        }
    };
    let days = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
    s3s::dto::LifecycleRule {
        id: Some(r.id.clone()),
        status: ExpirationStatus::from_static(if r.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        filter: Some(filter),
        expiration: r.expiration.map(|e| match e {
            Expiration::Days(d) => LifecycleExpiration {
                days: Some(days(d)),
                ..Default::default()
            },
            Expiration::Date(t) => LifecycleExpiration {
                date: Some(timestamp(t)),
                ..Default::default()
            },
            Expiration::ExpiredObjectDeleteMarker => LifecycleExpiration {
                expired_object_delete_marker: Some(true),
                ..Default::default()
            },
        }),
        noncurrent_version_expiration: r.noncurrent.map(|n| NoncurrentVersionExpiration {
            noncurrent_days: Some(days(n.days)),
            newer_noncurrent_versions: n.newer_noncurrent_versions.map(days),
        }),
        abort_incomplete_multipart_upload: r.abort_uploads_after_days.map(|d| AbortIncompleteMultipartUpload {
            days_after_initiation: Some(days(d)),
        }),
        noncurrent_version_transitions: None,
        prefix: None,
        transitions: None,
    }
}

impl Lagoa {
    pub(crate) async fn do_put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        require_integrity(&req.headers)?;
        let input = req.input;
        let rules = rules(input.lifecycle_configuration)?;
        self.store.set_lifecycle(&input.bucket, Some(rules)).await.s3()?;
        Ok(S3Response::new(PutBucketLifecycleConfigurationOutput {
            transition_default_minimum_object_size: input.transition_default_minimum_object_size,
        }))
    }

    pub(crate) async fn do_get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let rules = self.store.lifecycle(&bucket, &req.input.bucket).await.s3()?;
        let Some(rules) = rules else {
            return Err(crate::errors::custom(
                "NoSuchLifecycleConfiguration",
                http::StatusCode::NOT_FOUND,
                "The lifecycle configuration does not exist",
            ));
        };
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(rules.iter().map(to_dto).collect()),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        self.store.set_lifecycle(&req.input.bucket, None).await.s3()?;
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }

    /// `x-amz-expiration` for the current version `meta` of `key`: when a rule will expire it
    /// and which (`expiry-date="…", rule-id="…"`), as S3 sends on PUT, GET and HEAD.
    pub(crate) async fn expiration_header(
        &self,
        bucket: &BucketMeta,
        name: &str,
        key: &str,
        meta: &ObjectMeta,
    ) -> Option<String> {
        if !bucket.lifecycle {
            return None;
        }
        let rules = self.store.lifecycle(bucket, name).await.ok()??;
        let (at, id) = lagoa_store::current_expiry(&rules, key, meta, self.lifecycle_clock)?;
        let date = format_http_date(&timestamp(at))?;
        Some(format!("expiry-date=\"{date}\", rule-id=\"{}\"", id.replace('"', "%22")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(status: &'static str) -> s3s::dto::LifecycleRule {
        s3s::dto::LifecycleRule {
            id: Some("r".into()),
            status: ExpirationStatus::from_static(status),
            expiration: Some(LifecycleExpiration {
                days: Some(3),
                ..Default::default()
            }),
            abort_incomplete_multipart_upload: None,
            filter: None,
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            transitions: None,
        }
    }

    #[test]
    fn rules_are_checked_as_s3_checks_them() {
        assert_eq!(rule(base("Enabled"), 0).unwrap().expiration, Some(Expiration::Days(3)));
        assert!(!rule(base("Disabled"), 0).unwrap().enabled);
        assert!(rule(base("On"), 0).is_err());
        let mut no_action = base("Enabled");
        no_action.expiration = None;
        assert!(rule(no_action, 0).is_err());
        let mut zero = base("Enabled");
        zero.expiration = Some(LifecycleExpiration {
            days: Some(0),
            ..Default::default()
        });
        assert!(rule(zero, 0).is_err());
        let mut both = base("Enabled");
        both.prefix = Some("a/".into());
        both.filter = Some(LifecycleRuleFilter {
            prefix: Some("b/".into()),
            ..Default::default()
        });
        assert!(rule(both, 0).is_err());
        let mut transition = base("Enabled");
        transition.transitions = Some(vec![Transition::default()]);
        assert_eq!(*rule(transition, 0).unwrap_err().code(), s3s::S3ErrorCode::NotImplemented);
        let twice = BucketLifecycleConfiguration {
            rules: vec![base("Enabled"), base("Enabled")],
        };
        assert!(rules(Some(twice)).is_err());
    }

    #[test]
    fn a_rule_survives_the_round_trip() {
        let mut r = base("Enabled");
        r.filter = Some(LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: Some("logs/".into()),
                tags: Some(vec![Tag {
                    key: Some("k".into()),
                    value: Some("v".into()),
                }]),
                object_size_greater_than: Some(10),
                object_size_less_than: None,
            }),
            ..Default::default()
        });
        r.noncurrent_version_expiration = Some(NoncurrentVersionExpiration {
            noncurrent_days: Some(2),
            newer_noncurrent_versions: Some(3),
        });
        let stored = rule(r, 0).unwrap();
        assert_eq!(rule(to_dto(&stored), 0).unwrap(), stored);
    }
}
