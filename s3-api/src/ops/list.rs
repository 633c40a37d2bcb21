//! ListObjects (V1), ListObjectsV2 (current objects only) and ListObjectVersions (every version
//! and delete marker).

use base64::Engine;
use lagoa_store::{ListEntry, ListPage, NULL_VERSION_ID, VersionListEntry, VersionListQuery};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, timestamp, url_encode};
use crate::ops::versioning::version_param;

/// S3's default and maximum page size.
const MAX_KEYS: i32 = 1000;

fn page_size(max_keys: Option<i32>) -> S3Result<usize> {
    match max_keys {
        None => Ok(MAX_KEYS as usize),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys cannot be negative")),
        Some(n) => Ok(n.min(MAX_KEYS) as usize),
    }
}

/// Continuation tokens are opaque to clients: the last returned name, base64url-encoded.
fn encode_token(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
}

/// Applies `encoding-type=url` to one name.
struct Encoder(bool);

impl Encoder {
    fn new(encoding: Option<&EncodingType>) -> S3Result<Self> {
        match encoding.map(|e| e.as_str()) {
            None => Ok(Self(false)),
            Some(e) if e.eq_ignore_ascii_case(EncodingType::URL) => Ok(Self(true)),
            Some(e) => Err(s3_error!(
                InvalidArgument,
                "Invalid Encoding Method specified in Request: {e}"
            )),
        }
    }

    fn name(&self, s: &str) -> String {
        if self.0 { url_encode(s) } else { s.to_owned() }
    }

    fn opt(&self, s: Option<String>) -> Option<String> {
        s.map(|s| self.name(&s))
    }
}

/// Splits a page into S3's `Contents` and `CommonPrefixes`.
fn split_page(page: &ListPage, enc: &Encoder, owner: bool) -> (Vec<Object>, Vec<CommonPrefix>) {
    let mut contents = Vec::new();
    let mut prefixes = Vec::new();
    for entry in &page.entries {
        match entry {
            ListEntry::Object { key, meta } => contents.push(Object {
                key: Some(enc.name(key)),
                size: Some(i64::try_from(meta.size).unwrap_or(i64::MAX)),
                e_tag: Some(ETag::Strong(meta.etag.clone())),
                last_modified: Some(timestamp(meta.last_modified_nanos)),
                storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                owner: owner.then(|| Lagoa::owner(&meta.owner)),
                ..Default::default()
            }),
            ListEntry::CommonPrefix(p) => prefixes.push(CommonPrefix {
                prefix: Some(enc.name(p)),
            }),
        }
    }
    (contents, prefixes)
}

impl Lagoa {
    pub(crate) async fn do_list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let enc = Encoder::new(input.encoding_type.as_ref())?;
        let max = page_size(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let page = self
            .store
            .list_objects(&input.bucket, &prefix, delimiter.as_deref(), input.marker.as_deref(), max)
            .await
            .s3()?;
        let next_marker = (page.truncated && delimiter.is_some())
            .then(|| page.entries.last().map(|e| e.name().to_owned()))
            .flatten();
        let (contents, prefixes) = split_page(&page, &enc, true);
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(enc.name(&prefix)),
            marker: Some(enc.opt(input.marker).unwrap_or_default()),
            max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
            is_truncated: Some(page.truncated),
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            delimiter: enc.opt(delimiter),
            next_marker: enc.opt(next_marker),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let enc = Encoder::new(input.encoding_type.as_ref())?;
        let max = page_size(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        // The token wins over start-after (S3 ignores start-after once paging has begun).
        let after = match input.continuation_token.as_deref() {
            Some(token) => Some(decode_token(token)?),
            None => input.start_after.clone(),
        };
        let page = self
            .store
            .list_objects(&input.bucket, &prefix, delimiter.as_deref(), after.as_deref(), max)
            .await
            .s3()?;
        let next = page
            .truncated
            .then(|| page.entries.last().map(|e| encode_token(e.name())))
            .flatten();
        let (contents, prefixes) = split_page(&page, &enc, input.fetch_owner.unwrap_or(false));
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(enc.name(&prefix)),
            max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
            key_count: Some(i32::try_from(page.entries.len()).unwrap_or(i32::MAX)),
            continuation_token: input.continuation_token,
            is_truncated: Some(page.truncated),
            next_continuation_token: next,
            contents: Some(contents),
            common_prefixes: Some(prefixes),
            delimiter: enc.opt(delimiter),
            encoding_type: input.encoding_type,
            start_after: enc.opt(input.start_after),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let enc = Encoder::new(input.encoding_type.as_ref())?;
        let max = page_size(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let version_id_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
        if let Some(marker) = &version_id_marker {
            if input.key_marker.as_deref().is_none_or(str::is_empty) {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            version_param(Some(marker))?;
        }
        let query = VersionListQuery {
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            key_marker: input.key_marker.clone().filter(|k| !k.is_empty()),
            version_id_marker,
            max_keys: max,
        };
        let page = self.store.list_versions(&input.bucket, query).await.s3()?;
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes = Vec::new();
        let mut order = Vec::with_capacity(page.entries.len());
        for entry in &page.entries {
            match entry {
                VersionListEntry::Version(v) => {
                    order.push(v.object.is_none());
                    let version_id = Some(v.version_id.clone().unwrap_or_else(|| NULL_VERSION_ID.to_owned()));
                    let owner = Some(Self::owner(&v.owner));
                    match &v.object {
                        Some(meta) => versions.push(ObjectVersion {
                            key: Some(enc.name(&v.key)),
                            version_id,
                            is_latest: Some(v.is_latest),
                            size: Some(i64::try_from(meta.size).unwrap_or(i64::MAX)),
                            e_tag: Some(ETag::Strong(meta.etag.clone())),
                            last_modified: Some(timestamp(v.last_modified_nanos)),
                            owner,
                            storage_class: Some(ObjectVersionStorageClass::from_static(ObjectVersionStorageClass::STANDARD)),
                            ..Default::default()
                        }),
                        None => markers.push(DeleteMarkerEntry {
                            key: Some(enc.name(&v.key)),
                            version_id,
                            is_latest: Some(v.is_latest),
                            last_modified: Some(timestamp(v.last_modified_nanos)),
                            owner,
                        }),
                    }
                }
                VersionListEntry::CommonPrefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(enc.name(p)),
                }),
            }
        }
        // The next page starts after the last entry: a version (key + id) or a prefix (key only).
        let (next_key, next_version) = match page.entries.last().filter(|_| page.truncated) {
            Some(VersionListEntry::Version(v)) => (
                Some(v.key.clone()),
                Some(v.version_id.clone().unwrap_or_else(|| NULL_VERSION_ID.to_owned())),
            ),
            Some(VersionListEntry::CommonPrefix(p)) => (Some(p.clone()), None),
            None => (None, None),
        };
        let mut res = S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: Some(enc.name(&prefix)),
            key_marker: Some(enc.opt(input.key_marker).unwrap_or_default()),
            version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
            max_keys: Some(input.max_keys.unwrap_or(MAX_KEYS)),
            is_truncated: Some(page.truncated),
            next_key_marker: enc.opt(next_key),
            next_version_id_marker: next_version,
            versions: Some(versions),
            delete_markers: Some(markers),
            common_prefixes: Some(prefixes),
            delimiter: enc.opt(delimiter),
            encoding_type: input.encoding_type,
            ..Default::default()
        });
        // s3s writes markers and versions as two runs; the frontend interleaves them in this order.
        res.extensions.insert(crate::version_order::VersionOrder(order));
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_any_key() {
        for k in ["", "a/b", "ünï cødé/+%", "x\u{1F600}"] {
            assert_eq!(decode_token(&encode_token(k)).unwrap(), k);
        }
        assert!(decode_token("!!!").is_err());
    }
}
