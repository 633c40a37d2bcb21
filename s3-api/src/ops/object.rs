//! Single-object operations: PUT (streamed, verified, conditional), GET/HEAD (ranges, parts,
//! preconditions, response overrides), DELETE and DeleteObjects.

use lagoa_store::{NewObject, ObjectMeta, WriteCondition};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body;
use crate::checksum;
use crate::conditions::ReadConditions;
use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, attributes, content_headers, parse_http_date, timestamp};

/// The byte range a GET/HEAD answers with, and how to describe it.
struct Selection {
    start: u64,
    end: u64,
    /// `Content-Range` when the answer is partial (206).
    content_range: Option<String>,
}

/// Chooses the bytes for `Range` or `partNumber` (both at once is an S3 error).
fn select(meta: &ObjectMeta, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Selection> {
    let whole = Selection {
        start: 0,
        end: meta.size,
        content_range: None,
    };
    match (range, part_number) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        )),
        (Some(range), None) => {
            let r = range
                .check(meta.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            let content_range = format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), meta.size);
            Ok(Selection {
                start: r.start,
                end: r.end,
                content_range: Some(content_range),
            })
        }
        (None, Some(n)) => {
            let count = if meta.multipart { meta.extents.len() } else { 1 };
            let index = usize::try_from(n).ok().filter(|n| (1..=count).contains(n)).ok_or_else(|| {
                crate::errors::custom(
                    "InvalidPartNumber",
                    http::StatusCode::RANGE_NOT_SATISFIABLE,
                    "The requested partnumber is not satisfiable",
                )
            })?;
            if !meta.multipart {
                return Ok(whole);
            }
            let start: u64 = meta.extents[..index - 1].iter().map(|e| e.size).sum();
            let end = start + meta.extents[index - 1].size;
            let content_range = format!("bytes {}-{}/{}", start, end.saturating_sub(1), meta.size);
            Ok(Selection {
                start,
                end,
                content_range: Some(content_range),
            })
        }
        (None, None) => Ok(whole),
    }
}

fn metadata_of(meta: &ObjectMeta) -> Option<Metadata> {
    let m = &meta.attributes.user_metadata;
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn parts_count(meta: &ObjectMeta) -> Option<i32> {
    meta.multipart.then(|| i32::try_from(meta.extents.len()).unwrap_or(i32::MAX))
}

impl Lagoa {
    pub(crate) async fn do_put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let caller = self.caller(&req)?;
        self.authorize_bucket(&req, &req.input.bucket).await?;
        // Browser POST uploads arrive here through s3s's default `post_object`, with `${filename}`
        // already substituted (post_filename.rs). It is left only when that was impossible (no
        // file name, or form fields beyond the read-ahead); storing the literal would be wrong.
        if req.method == http::Method::POST && req.input.key.contains("${filename}") {
            return Err(s3_error!(
                NotImplemented,
                "${{filename}} could not be substituted: the file part has no file name, or the form fields before it exceed 1 MiB"
            ));
        }
        let input = req.input;
        let condition = WriteCondition {
            if_none_match_any: match &input.if_none_match {
                Some(ETagCondition::Any) => true,
                Some(ETagCondition::ETag(_)) => {
                    return Err(s3_error!(NotImplemented, "If-None-Match on PUT supports only *"));
                }
                None => false,
            },
            if_match: input.if_match.as_ref().map(|c| match c {
                ETagCondition::Any => "*".to_owned(),
                ETagCondition::ETag(e) => e.value().to_owned(),
            }),
        };
        // Fail fast before receiving the body; the check is repeated atomically at commit.
        if condition.if_none_match_any
            && let Ok(_) = self.store.object(&input.bucket, &input.key).await
        {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        let headers = content_headers(
            input.content_type.clone(),
            input.content_encoding.clone().filter(|e| e != "aws-chunked"),
            input.content_disposition.clone(),
            input.content_language.clone(),
            input.cache_control.clone(),
            input.expires.as_ref(),
        );
        let attrs = attributes(headers, input.metadata.clone(), input.tagging.as_deref())?;
        let claims = body::BodyClaims {
            headers: &req.headers,
            trailers: req.trailing_headers.as_ref(),
            content_length: input.content_length,
            content_md5: input.content_md5.as_deref(),
            algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str()),
        };
        let (staged, checksums) = body::receive_verified(&self.store, input.body, claims).await?;
        let meta = self
            .store
            .put_object(
                &input.bucket,
                &input.key,
                staged,
                NewObject {
                    attributes: attrs,
                    checksums,
                    owner: caller,
                    condition,
                },
            )
            .await
            .s3()?;
        let c = checksum::from_map(&meta.checksums);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(meta.etag)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            ..Default::default()
        }))
    }

    pub(crate) async fn do_get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        let input = req.input;
        let handle = self.store.open_object(&input.bucket, &input.key).await.s3()?;
        let meta = handle.meta.clone();
        ReadConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check_read(&meta)?;
        let sel = select(&meta, input.range.as_ref(), input.part_number)?;
        let stream = handle.read(sel.start, sel.end).await.s3()?;
        let len = sel.end - sel.start;
        let full = sel.content_range.is_none();
        let c = if full
            && input
                .checksum_mode
                .as_ref()
                .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
        {
            checksum::from_map(&meta.checksums)
        } else {
            Checksum::default()
        };
        let h = &meta.attributes.headers;
        let out = GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(i64::try_from(len).unwrap_or(i64::MAX)),
            content_range: sel.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(timestamp(meta.last_modified_nanos)),
            content_type: input.response_content_type.or_else(|| h.content_type.clone()),
            content_encoding: input.response_content_encoding.or_else(|| h.content_encoding.clone()),
            content_disposition: input.response_content_disposition.or_else(|| h.content_disposition.clone()),
            content_language: input.response_content_language.or_else(|| h.content_language.clone()),
            cache_control: input.response_cache_control.or_else(|| h.cache_control.clone()),
            expires: input
                .response_expires
                .or_else(|| h.expires.as_deref().and_then(parse_http_date)),
            metadata: metadata_of(&meta),
            parts_count: parts_count(&meta),
            tag_count: (!meta.attributes.tags.is_empty()).then(|| i32::try_from(meta.attributes.tags.len()).unwrap_or(0)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            ..Default::default()
        };
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        let input = req.input;
        let meta = self.store.object(&input.bucket, &input.key).await.s3()?;
        ReadConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check_read(&meta)?;
        let sel = select(&meta, input.range.as_ref(), input.part_number)?;
        let full = sel.content_range.is_none();
        let c = if full
            && input
                .checksum_mode
                .as_ref()
                .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
        {
            checksum::from_map(&meta.checksums)
        } else {
            Checksum::default()
        };
        let h = &meta.attributes.headers;
        let out = HeadObjectOutput {
            content_length: Some(i64::try_from(sel.end - sel.start).unwrap_or(i64::MAX)),
            content_range: sel.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(timestamp(meta.last_modified_nanos)),
            content_type: input.response_content_type.or_else(|| h.content_type.clone()),
            content_encoding: input.response_content_encoding.or_else(|| h.content_encoding.clone()),
            content_disposition: input.response_content_disposition.or_else(|| h.content_disposition.clone()),
            content_language: input.response_content_language.or_else(|| h.content_language.clone()),
            cache_control: input.response_cache_control.or_else(|| h.cache_control.clone()),
            expires: input
                .response_expires
                .or_else(|| h.expires.as_deref().and_then(parse_http_date)),
            metadata: metadata_of(&meta),
            parts_count: parts_count(&meta),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            ..Default::default()
        };
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        if let Some(v) = req.input.version_id.as_deref().filter(|v| *v != "null") {
            return Err(s3_error!(InvalidArgument, "Invalid version id specified: {v}"));
        }
        self.store.delete_object(&req.input.bucket, &req.input.key).await.s3()?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    pub(crate) async fn do_delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.authorize_bucket(&req, &req.input.bucket).await?;
        let input = req.input;
        let objects = input.delete.objects;
        if objects.is_empty() || objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema (1 to 1000 objects)"
            ));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        let mut to_delete = Vec::new();
        for obj in objects {
            if obj.key.is_empty() || obj.key.len() > 1024 {
                errors.push(Error {
                    code: Some("InvalidArgument".into()),
                    key: Some(obj.key),
                    message: Some("Invalid key".into()),
                    version_id: obj.version_id,
                });
            } else if let Some(v) = obj.version_id.as_deref().filter(|v| *v != "null") {
                errors.push(Error {
                    code: Some("NoSuchVersion".into()),
                    key: Some(obj.key.clone()),
                    message: Some(format!("The specified version {v} does not exist.")),
                    version_id: obj.version_id.clone(),
                });
            } else {
                to_delete.push(obj);
            }
        }
        let keys: Vec<String> = to_delete.iter().map(|o| o.key.clone()).collect();
        if !keys.is_empty() {
            self.store.delete_objects(&input.bucket, keys).await.s3()?;
        }
        if !quiet {
            deleted = to_delete
                .into_iter()
                .map(|o| DeletedObject {
                    key: Some(o.key),
                    version_id: o.version_id,
                    ..Default::default()
                })
                .collect();
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }
}
