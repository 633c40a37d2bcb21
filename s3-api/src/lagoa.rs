//! The `Lagoa` S3 service object and the helpers every operation shares: who is calling, may they
//! use this bucket, and conversions between store records and s3s DTOs.

use std::sync::Arc;

use lagoa_store::{BucketMeta, ContentHeaders, ObjectAttributes, Store};
use s3s::dto::{Owner, Timestamp, TimestampFormat};
use s3s::{S3Request, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::identity::Identities;

/// Lagoa's implementation of the S3 API over one store.
#[derive(Clone)]
pub struct Lagoa {
    pub(crate) store: Store,
    pub(crate) region: String,
    pub(crate) identities: Arc<Identities>,
    /// Who answers SelectObjectContent.
    pub(crate) select: Arc<dyn crate::select::SelectPort>,
    /// The length of a lifecycle day, for `x-amz-expiration` (the same the background pass uses).
    pub(crate) lifecycle_clock: lagoa_store::LifecycleClock,
    /// Decides who may do what; its gate runs before every operation.
    pub(crate) access: Arc<crate::access::Authorizer>,
}

impl Lagoa {
    /// Serves `store`; `region` is reported for buckets created without a LocationConstraint.
    pub fn new(store: Store, region: impl Into<String>, identities: Arc<Identities>) -> Self {
        let access = Arc::new(crate::access::Authorizer::new(identities.clone(), store.clone()));
        Self {
            store,
            region: region.into(),
            identities,
            select: Arc::new(crate::select::NoSelect),
            lifecycle_clock: lagoa_store::LifecycleClock::default(),
            access,
        }
    }

    /// The policy evaluator of this server, for endpoints beside S3 (the SQL endpoint of the
    /// compute it embeds): one cache of bucket rules, kept fresh by this server's changes.
    pub fn authorizer(&self) -> Arc<crate::access::Authorizer> {
        self.access.clone()
    }

    /// The hook s3s calls to authorize each request before it runs.
    pub fn access_gate(&self) -> crate::access::AccessGate {
        crate::access::AccessGate(self.access.clone())
    }

    /// Uses `clock` for lifecycle expiry dates (a shortened day, for tests).
    pub fn with_lifecycle_clock(mut self, clock: lagoa_store::LifecycleClock) -> Self {
        self.lifecycle_clock = clock;
        self
    }

    /// Who sent the request, as the access gate established it (anonymous if the gate did
    /// not run, which only a misconfigured front door could cause).
    pub(crate) fn who<T>(&self, req: &S3Request<T>) -> crate::access::Who {
        req.extensions
            .get::<crate::access::Who>()
            .cloned()
            .unwrap_or(crate::access::Who::Anonymous)
    }

    /// The access key of a signed request; `AccessDenied` for an anonymous one.
    pub(crate) fn caller<T>(&self, req: &S3Request<T>) -> S3Result<String> {
        self.who(req)
            .access_key()
            .map(str::to_owned)
            .ok_or_else(crate::access::access_denied)
    }

    /// Who owns what a request writes: its signer, or for an anonymous write the bucket
    /// owner (S3's BucketOwnerEnforced, the default of new buckets).
    pub(crate) fn writer<T>(&self, req: &S3Request<T>, bucket: &BucketMeta) -> String {
        self.who(req).access_key().unwrap_or(&bucket.owner).to_owned()
    }

    /// The bucket's record, or `NoSuchBucket`. Whether the caller may use it was decided by
    /// the access gate before the operation started.
    pub(crate) async fn existing_bucket(&self, bucket: &str) -> S3Result<BucketMeta> {
        self.store
            .bucket(bucket)
            .await
            .s3()?
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }

    /// The `Owner` element for an access key.
    pub(crate) fn owner(access_key: &str) -> Owner {
        Owner {
            display_name: Some(access_key.to_owned()),
            id: Some(access_key.to_owned()),
        }
    }
}

/// Unix nanoseconds → s3s timestamp.
pub(crate) fn timestamp(nanos: i64) -> Timestamp {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

/// Unix seconds of a nanosecond timestamp (HTTP dates have second resolution).
pub(crate) fn seconds(nanos: i64) -> i64 {
    nanos.div_euclid(1_000_000_000)
}

/// Unix seconds of an s3s timestamp.
pub(crate) fn timestamp_seconds(t: &Timestamp) -> i64 {
    let t: time::OffsetDateTime = t.clone().into();
    t.unix_timestamp()
}

/// Formats `Expires` for storage (HTTP date, as S3 returns it).
pub(crate) fn format_http_date(t: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

/// Parses a stored `Expires`.
pub(crate) fn parse_http_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

/// Parses `x-amz-tagging` (`k1=v1&k2=v2`, URL-encoded) into tags, validating S3's limits.
pub(crate) fn parse_tagging_header(header: &str) -> S3Result<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(header);
    validate_tags(&pairs)?;
    Ok(pairs)
}

/// S3's tag limits: at most 10 tags, keys ≤ 128 and values ≤ 256 characters, unique keys.
pub(crate) fn validate_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > 10 {
        return Err(s3_error!(InvalidTag, "Object tags cannot be greater than 10"));
    }
    validate_tag_pairs(tags)
}

/// S3's limits on bucket tags: at most 50, otherwise as object tags.
pub(crate) fn validate_bucket_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > 50 {
        return Err(s3_error!(InvalidTag, "Bucket tag count cannot be greater than 50"));
    }
    validate_tag_pairs(tags)
}

/// Keys of 1–128 and values of at most 256 characters, keys unique.
fn validate_tag_pairs(tags: &[(String, String)]) -> S3Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(InvalidTag, "The TagKey or TagValue you have provided is invalid"));
        }
        if !seen.insert(k) {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(())
}

pub(crate) fn form_urlencoded_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Content-Encoding` without `aws-chunked`, wherever it stands in the list: that coding
/// describes the request's framing, which s3s has already removed, not the stored object.
pub(crate) fn without_aws_chunked(content_encoding: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = content_encoding?
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// Content headers from a request's fields.
pub(crate) fn content_headers(
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<&Timestamp>,
) -> ContentHeaders {
    ContentHeaders {
        content_type,
        content_encoding,
        content_disposition,
        content_language,
        cache_control,
        expires: expires.and_then(format_http_date),
    }
}

/// S3's limit on user metadata: the UTF-8 bytes of every `x-amz-meta-*` name and value, 2 KB.
const MAX_USER_METADATA: usize = 2048;

/// Names S3 reserves for its own features (access point aliases, S3 Express, Object Lambda,
/// multi-region access points, documentation examples), and the `.-` / `-.` adjacencies its
/// rules forbid; s3s's check does not know them.
pub(crate) fn reserved_bucket_name(name: &str) -> bool {
    const PREFIXES: [&str; 3] = ["sthree-", "amzn-s3-demo-", "xn--"];
    const SUFFIXES: [&str; 4] = ["-s3alias", "--ol-s3", "--x-s3", ".mrap"];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.contains(".-")
        || name.contains("-.")
}

/// Attributes of a new object from its request parts.
pub(crate) fn attributes(
    headers: ContentHeaders,
    metadata: Option<s3s::dto::Metadata>,
    tagging: Option<&str>,
) -> S3Result<ObjectAttributes> {
    let tags = match tagging {
        Some(t) => parse_tagging_header(t)?,
        None => Vec::new(),
    };
    let user_metadata: std::collections::BTreeMap<String, String> = metadata
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let size: usize = user_metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_USER_METADATA {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size ({size} > {MAX_USER_METADATA} bytes)."
        ));
    }
    Ok(ObjectAttributes {
        headers,
        user_metadata,
        tags,
        // Set by the write's ACL headers, if any (see `acl_request`).
        acl: None,
    })
}

/// Percent-encodes listing names for `encoding-type=url` (everything but unreserved and `/`).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_header_decodes_pairs() {
        let tags = parse_tagging_header("a=1&b%20c=x%2By&d=").unwrap();
        assert_eq!(
            tags,
            vec![
                ("a".into(), "1".into()),
                ("b c".into(), "x+y".into()),
                ("d".into(), String::new())
            ]
        );
    }

    #[test]
    fn percent_decode_keeps_bad_escapes() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("a+b%2F"), "a b/");
    }

    #[test]
    fn aws_chunked_is_dropped_from_any_position() {
        assert_eq!(without_aws_chunked(Some("aws-chunked")), None);
        assert_eq!(without_aws_chunked(Some("gzip, aws-chunked")).as_deref(), Some("gzip"));
        assert_eq!(without_aws_chunked(Some("aws-chunked,gzip")).as_deref(), Some("gzip"));
        assert_eq!(without_aws_chunked(Some("gzip,AWS-Chunked,br")).as_deref(), Some("gzip,br"));
        assert_eq!(without_aws_chunked(None), None);
    }

    #[test]
    fn url_encode_keeps_slashes() {
        assert_eq!(url_encode("a b/ç+"), "a%20b/%C3%A7%2B");
    }
}
