//! HTTP preconditions on reads (RFC 9110 §13 as S3 applies them) and on copy sources.

use lagoa_store::ObjectMeta;
use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Result, s3_error};

use crate::lagoa::{seconds, timestamp, timestamp_seconds};

/// The four read preconditions of a GET/HEAD or of a copy source.
#[derive(Default)]
pub struct ReadConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

fn matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

/// `304 Not Modified` with the validators S3 sends, so that a cache can refresh its entry.
fn not_modified(meta: &ObjectMeta) -> s3s::S3Error {
    let mut e = s3_error!(NotModified);
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
        headers.insert(http::header::ETAG, v);
    }
    if let Some(v) =
        crate::lagoa::format_http_date(&timestamp(meta.last_modified_nanos)).and_then(|d| http::HeaderValue::from_str(&d).ok())
    {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    e.set_headers(headers);
    e
}

impl ReadConditions<'_> {
    /// GET/HEAD semantics: a failed If-Match / If-Unmodified-Since is 412; a matching
    /// If-None-Match / unmodified If-Modified-Since is 304. If-Match overrides
    /// If-Unmodified-Since and If-None-Match overrides If-Modified-Since, as in S3.
    pub fn check_read(&self, meta: &ObjectMeta) -> S3Result<()> {
        let modified = seconds(meta.last_modified_nanos);
        match self.if_match {
            Some(c) if !matches(c, &meta.etag) => {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
            Some(_) => {}
            None => {
                if let Some(t) = self.if_unmodified_since
                    && modified > timestamp_seconds(t)
                {
                    return Err(s3_error!(
                        PreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold"
                    ));
                }
            }
        }
        match self.if_none_match {
            Some(c) if matches(c, &meta.etag) => return Err(not_modified(meta)),
            Some(_) => {}
            None => {
                if let Some(t) = self.if_modified_since
                    && modified <= timestamp_seconds(t)
                {
                    return Err(not_modified(meta));
                }
            }
        }
        Ok(())
    }

    /// Copy-source semantics: every failure is 412 PreconditionFailed.
    pub fn check_copy_source(&self, meta: &ObjectMeta) -> S3Result<()> {
        match self.check_read(meta) {
            Err(e) if *e.code() == s3s::S3ErrorCode::NotModified => Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )),
            other => other,
        }
    }
}
