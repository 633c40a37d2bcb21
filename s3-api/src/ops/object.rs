//! Single-object operations: PUT (streamed, verified, conditional), GET/HEAD (ranges, parts,
//! preconditions, response overrides), DELETE and DeleteObjects.

use lagoa_store::{DeleteCondition, DeleteOutcome, DeleteRequest, Deleted, NewObject, ObjectMeta, WriteCondition};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body;
use crate::checksum;
use crate::conditions::ReadConditions;
use crate::encryption;
use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, attributes, content_headers, parse_http_date, timestamp, timestamp_seconds};
use crate::ops::object_lock::{lock_headers_of, lock_settings, lock_view};
use crate::ops::versioning::{shown_version, version_param, written_version};

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
            // AWS documents 416 InvalidPartNumber for a part number beyond the object's parts
            // (any number above 1 for an object not uploaded in parts); MinIO agrees.
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
            let start: u64 = meta.extents[..index - 1].iter().map(|e| meta.extent_plain_size(e)).sum();
            let end = start + meta.extent_plain_size(&meta.extents[index - 1]);
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

/// The checksums a GET/HEAD with `x-amz-checksum-mode: ENABLED` answers with: the object's
/// (and its type) for a whole read, one part's for a `partNumber` read of a multipart object,
/// none for a range.
fn read_checksums(
    meta: &ObjectMeta,
    sel: &Selection,
    part_number: Option<i32>,
    mode: Option<&ChecksumMode>,
) -> (Checksum, Option<ChecksumType>) {
    if mode.is_none_or(|m| m.as_str() != ChecksumMode::ENABLED) {
        return (Checksum::default(), None);
    }
    if meta.multipart
        && let Some(n) = part_number
    {
        let part = usize::try_from(n)
            .ok()
            .and_then(|n| meta.part_checksums.get(n.checked_sub(1)?));
        return (part.map(checksum::from_map).unwrap_or_default(), None);
    }
    if sel.content_range.is_some() {
        return (Checksum::default(), None);
    }
    let kind = meta.checksum_type.clone().map(ChecksumType::from);
    (checksum::from_map(&meta.checksums), kind)
}

fn metadata_of(meta: &ObjectMeta) -> Option<Metadata> {
    let m = &meta.attributes.user_metadata;
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// `x-amz-mp-parts-count`: S3 sends it only when the request named a `partNumber` and the
/// object was uploaded in parts.
fn parts_count(meta: &ObjectMeta, part_number: Option<i32>) -> Option<i32> {
    (meta.multipart && part_number.is_some()).then(|| i32::try_from(meta.extents.len()).unwrap_or(i32::MAX))
}

/// `x-amz-tagging-count`, on GET and HEAD of a tagged object.
fn tag_count(meta: &ObjectMeta) -> Option<i32> {
    (!meta.attributes.tags.is_empty()).then(|| i32::try_from(meta.attributes.tags.len()).unwrap_or(i32::MAX))
}

/// S3's answer for an object stored without a Content-Type.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// The Content-Type a GET/HEAD answers with: the override, the stored one, or S3's default.
fn content_type(response_override: Option<String>, stored: Option<&String>) -> Option<String> {
    response_override
        .or_else(|| stored.cloned())
        .or_else(|| Some(DEFAULT_CONTENT_TYPE.to_owned()))
}

/// The text of an `If-Match`/`If-None-Match` condition as the store compares it.
pub(crate) fn condition_text(c: &ETagCondition) -> String {
    match c {
        ETagCondition::Any => "*".to_owned(),
        ETagCondition::ETag(e) => e.value().to_owned(),
    }
}

impl Lagoa {
    pub(crate) async fn do_put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let caller = self.writer(&req, &bucket);
        // Browser POST uploads arrive here through s3s's default `post_object`, with `${filename}`
        // already substituted (post_filename.rs). It is left only when that was impossible (no
        // file name, or form fields beyond the read-ahead); storing the literal would be wrong.
        if req.method == http::Method::POST && req.input.key.contains("${filename}") {
            return Err(s3_error!(
                NotImplemented,
                "${{filename}} could not be substituted: the file part has no file name, or the form fields before it exceed 1 MiB"
            ));
        }
        if req.method == http::Method::POST {
            crate::unsupported::reject_post_grants(&req.input)?;
        }
        let acl = self
            .new_object_acl(&req.input.bucket, &req.headers, req.input.acl.as_ref(), &caller)
            .await?;
        let sse = encryption::sse_fields_of!(req.input).request()?;
        // S3 checks the lock headers (and their integrity header) before reading the body.
        let lock = lock_settings(&bucket, lock_headers_of!(req.input))?;
        let input = req.input;
        let condition = WriteCondition {
            if_none_match: input.if_none_match.as_ref().map(condition_text),
            if_match: input.if_match.as_ref().map(condition_text),
        };
        // Fail fast before receiving the body; the check is repeated atomically at commit.
        if let Some(none_match) = &condition.if_none_match
            && let Ok(current) = self.store.object(&input.bucket, &input.key).await
            && lagoa_store::etag_matches(none_match, &current.etag)
        {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        let headers = content_headers(
            input.content_type.clone(),
            crate::lagoa::without_aws_chunked(input.content_encoding.as_deref()),
            input.content_disposition.clone(),
            input.content_language.clone(),
            input.cache_control.clone(),
            input.expires.as_ref(),
        );
        let mut attrs = attributes(headers, input.metadata.clone(), input.tagging.as_deref())?;
        attrs.acl = acl;
        let claims = body::BodyClaims {
            headers: &req.headers,
            trailers: req.trailing_headers.as_ref(),
            content_length: input.content_length,
            content_md5: input.content_md5.as_deref(),
            algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str()),
            also_compute: None,
            // s3s fills these from a browser POST's form fields (headers are read separately).
            claimed: checksum::checksums_of!(input),
        };
        let sealing = self.sealing_for_write(&input.bucket, sse).await?;
        let sealer = sealing.as_ref().map(|s| s.data_key.clone());
        let (staged, checksums, plain) = body::receive_verified(&self.store, input.body, claims, sealer).await?;
        let etag = encryption::sealed_etag(
            sealing.as_ref().map(|s| s.record.kind),
            sealing.as_ref().map(|s| &s.data_key),
            &plain,
        );
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
                    lock,
                    encryption: sealing.map(|s| s.record),
                    etag,
                },
            )
            .await
            .s3()?;
        let expiration = self.expiration_header(&bucket, &input.bucket, &input.key, &meta).await;
        let c = checksum::from_map(&meta.checksums);
        let mut out = PutObjectOutput {
            e_tag: Some(ETag::Strong(meta.etag)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            version_id: written_version(meta.version_id.as_deref()),
            expiration,
            ..Default::default()
        };
        encryption::set_sse_view!(out, encryption::view(meta.encryption.as_ref()));
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        crate::unsupported::reject_sse_on_read(&req.headers)?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        let handle = self
            .store
            .open_object_version(&input.bucket, &input.key, version)
            .await
            .s3()?;
        let meta = handle.meta.clone();
        ReadConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check_read(&meta)?;
        let sel = select(&meta, input.range.as_ref(), input.part_number)?;
        let (c, checksum_type) = read_checksums(&meta, &sel, input.part_number, input.checksum_mode.as_ref());
        let key = encryption::read_key(meta.encryption.as_ref(), encryption::customer_fields_of!(input))?;
        let stream = handle.read_with_key(sel.start, sel.end, key.as_ref()).await.s3()?;
        let len = sel.end - sel.start;
        let h = &meta.attributes.headers;
        let lock = lock_view(&bucket, &meta);
        let out = GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(i64::try_from(len).unwrap_or(i64::MAX)),
            content_range: sel.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(timestamp(meta.last_modified_nanos)),
            content_type: content_type(input.response_content_type, h.content_type.as_ref()),
            content_encoding: input.response_content_encoding.or_else(|| h.content_encoding.clone()),
            content_disposition: input.response_content_disposition.or_else(|| h.content_disposition.clone()),
            content_language: input.response_content_language.or_else(|| h.content_language.clone()),
            cache_control: input.response_cache_control.or_else(|| h.cache_control.clone()),
            expires: input
                .response_expires
                .or_else(|| h.expires.as_deref().and_then(parse_http_date)),
            metadata: metadata_of(&meta),
            parts_count: parts_count(&meta, input.part_number),
            tag_count: tag_count(&meta),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_type,
            version_id: shown_version(&bucket, meta.version_id.as_deref()),
            object_lock_mode: lock.mode,
            object_lock_retain_until_date: lock.until,
            object_lock_legal_hold_status: lock.legal_hold,
            // Only the current version has an expiry (noncurrent ones follow other rules).
            expiration: match version {
                None => self.expiration_header(&bucket, &input.bucket, &input.key, &meta).await,
                Some(_) => None,
            },
            ..Default::default()
        };
        let mut out = out;
        encryption::set_sse_view!(out, encryption::view(meta.encryption.as_ref()));
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        crate::unsupported::reject_sse_on_read(&req.headers)?;
        let input = req.input;
        let version = version_param(input.version_id.as_deref())?;
        let meta = self.store.object_version(&input.bucket, &input.key, version).await.s3()?;
        ReadConditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check_read(&meta)?;
        encryption::read_key(meta.encryption.as_ref(), encryption::customer_fields_of!(input))?;
        let sel = select(&meta, input.range.as_ref(), input.part_number)?;
        let (c, checksum_type) = read_checksums(&meta, &sel, input.part_number, input.checksum_mode.as_ref());
        let h = &meta.attributes.headers;
        let lock = lock_view(&bucket, &meta);
        let mut out = HeadObjectOutput {
            content_length: Some(i64::try_from(sel.end - sel.start).unwrap_or(i64::MAX)),
            content_range: sel.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(ETag::Strong(meta.etag.clone())),
            last_modified: Some(timestamp(meta.last_modified_nanos)),
            content_type: content_type(input.response_content_type, h.content_type.as_ref()),
            content_encoding: input.response_content_encoding.or_else(|| h.content_encoding.clone()),
            content_disposition: input.response_content_disposition.or_else(|| h.content_disposition.clone()),
            content_language: input.response_content_language.or_else(|| h.content_language.clone()),
            cache_control: input.response_cache_control.or_else(|| h.cache_control.clone()),
            expires: input
                .response_expires
                .or_else(|| h.expires.as_deref().and_then(parse_http_date)),
            metadata: metadata_of(&meta),
            parts_count: parts_count(&meta, input.part_number),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_type,
            version_id: shown_version(&bucket, meta.version_id.as_deref()),
            object_lock_mode: lock.mode,
            object_lock_retain_until_date: lock.until,
            object_lock_legal_hold_status: lock.legal_hold,
            // Only the current version has an expiry (noncurrent ones follow other rules).
            expiration: match version {
                None => self.expiration_header(&bucket, &input.bucket, &input.key, &meta).await,
                Some(_) => None,
            },
            ..Default::default()
        };
        encryption::set_sse_view!(out, encryption::view(meta.encryption.as_ref()));
        let mut res = S3Response::new(out);
        // s3s's HeadObjectOutput has no tag count (the AWS model omits it); S3 and MinIO send it.
        if let Some(n) = tag_count(&meta) {
            res.headers.insert("x-amz-tagging-count", http::HeaderValue::from(n));
        }
        Ok(res)
    }

    pub(crate) async fn do_delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let caller = self.writer(&req, &bucket);
        let input = req.input;
        let version_id = version_param(input.version_id.as_deref())?.map(str::to_owned);
        check_bypass(&bucket, input.bypass_governance_retention)?;
        let request = DeleteRequest {
            key: input.key,
            version_id,
            condition: DeleteCondition {
                if_match: input.if_match.as_ref().map(condition_text),
                last_modified_secs: input.if_match_last_modified_time.as_ref().map(timestamp_seconds),
                size: input.if_match_size.map(|n| u64::try_from(n).unwrap_or(u64::MAX)),
            },
            bypass_governance: input.bypass_governance_retention.unwrap_or(false),
        };
        match self.store.delete_object(&input.bucket, request, &caller).await.s3()? {
            DeleteOutcome::Deleted(d) => Ok(S3Response::new(DeleteObjectOutput {
                delete_marker: d.delete_marker.then_some(true),
                version_id: d.version_id,
                ..Default::default()
            })),
            DeleteOutcome::Missing => Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
            DeleteOutcome::PreconditionFailed => Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )),
            DeleteOutcome::Locked(why) => Err(crate::errors::to_s3(lagoa_store::StoreError::ObjectLocked(why))),
        }
    }

    pub(crate) async fn do_delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let caller = self.writer(&req, &bucket);
        let who = self.who(&req);
        let input = req.input;
        let facts = crate::access::Facts::from_parts(&req.headers, &req.uri, &req.extensions);
        check_bypass(&bucket, input.bypass_governance_retention)?;
        let objects = input.delete.objects;
        if objects.is_empty() || objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema (1 to 1000 objects)"
            ));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let bypass_governance = input.bypass_governance_retention.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        let mut requests = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for obj in objects {
            // As S3: an id this server cannot have issued names no version of the key.
            let bad = if obj.key.is_empty() || obj.key.len() > 1024 {
                Some(("InvalidArgument", "Invalid key".to_owned()))
            } else if version_param(obj.version_id.as_deref()).is_err() {
                let v = obj.version_id.as_deref().unwrap_or_default();
                Some(("NoSuchVersion", format!("The specified version {v} does not exist.")))
            } else {
                None
            };
            if let Some((code, message)) = bad {
                errors.push(Error {
                    code: Some(code.into()),
                    key: Some(obj.key),
                    message: Some(message),
                    version_id: obj.version_id,
                });
                continue;
            }
            // The same key and version twice is one delete, reported once (as S3).
            if !seen.insert((obj.key.clone(), obj.version_id.clone())) {
                continue;
            }
            // Each key is authorized on its own, as S3 does: refusals are per-key errors.
            let action = if obj.version_id.is_some() {
                "s3:DeleteObjectVersion"
            } else {
                "s3:DeleteObject"
            };
            let permitted = self
                .access
                .allows(&who, action, &input.bucket, Some(&obj.key), &facts)
                .await?
                && (!bypass_governance
                    || self
                        .access
                        .allows(&who, "s3:BypassGovernanceRetention", &input.bucket, Some(&obj.key), &facts)
                        .await?);
            if !permitted {
                errors.push(Error {
                    code: Some("AccessDenied".into()),
                    key: Some(obj.key),
                    message: Some("Access Denied".into()),
                    version_id: obj.version_id,
                });
                continue;
            }
            requests.push(DeleteRequest {
                key: obj.key,
                version_id: obj.version_id,
                condition: DeleteCondition {
                    if_match: obj.e_tag.as_ref().map(|e| e.value().to_owned()),
                    last_modified_secs: obj.last_modified_time.as_ref().map(timestamp_seconds),
                    size: obj.size.map(|n| u64::try_from(n).unwrap_or(u64::MAX)),
                },
                bypass_governance,
            });
        }
        let outcomes = if requests.is_empty() {
            Vec::new()
        } else {
            self.store
                .delete_objects(&input.bucket, requests.clone(), &caller)
                .await
                .s3()?
        };
        for (request, outcome) in requests.into_iter().zip(outcomes) {
            let (code, message) = match outcome {
                DeleteOutcome::Deleted(d) => {
                    if !quiet {
                        deleted.push(deleted_entry(request, d));
                    }
                    continue;
                }
                DeleteOutcome::Missing => ("NoSuchKey", "The specified key does not exist."),
                DeleteOutcome::PreconditionFailed => (
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                ),
                DeleteOutcome::Locked(_) => ("AccessDenied", "Access Denied because object protected by object lock."),
            };
            errors.push(Error {
                code: Some(code.into()),
                key: Some(request.key),
                message: Some(message.into()),
                version_id: request.version_id,
            });
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }
}

/// `x-amz-bypass-governance-retention: true` means something only in a lock-enabled bucket;
/// elsewhere S3 refuses it rather than ignore it.
fn check_bypass(bucket: &lagoa_store::BucketMeta, bypass: Option<bool>) -> S3Result<()> {
    if bypass == Some(true) && bucket.object_lock.is_none() {
        return Err(s3_error!(
            InvalidArgument,
            "x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets."
        ));
    }
    Ok(())
}

/// A `<Deleted>` entry as S3 writes it: the version asked for; a marker created is named in
/// `DeleteMarkerVersionId`; removing a marker by its id sets `DeleteMarker` and names it in both.
fn deleted_entry(request: DeleteRequest, d: Deleted) -> DeletedObject {
    let marker_id = d.delete_marker.then(|| d.version_id.clone()).flatten();
    DeletedObject {
        key: Some(request.key),
        version_id: request.version_id,
        delete_marker: d.delete_marker.then_some(true),
        delete_marker_version_id: marker_id,
    }
}
