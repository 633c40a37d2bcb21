//! CopyObject and UploadPartCopy: the source is streamed through the store's write path, so the
//! copy is durable and checksummed like any upload and memory stays bounded.

use lagoa_store::sealing::Key;
use lagoa_store::{NewObject, ObjectHandle, WriteCondition};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body::{Intake, Plaintext};
use crate::checksum::{self, RequestedChecksums};
use crate::conditions::ReadConditions;
use crate::encryption::{self, SseRequest};
use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, attributes, content_headers, parse_tagging_header, timestamp};
use crate::ops::object_lock::{lock_headers_of, lock_settings};
use crate::ops::versioning::{shown_version, version_param, written_version};

/// The copy source's SSE-C key fields (`x-amz-copy-source-server-side-encryption-customer-*`).
macro_rules! copy_source_customer_fields {
    ($input:expr) => {
        encryption::CustomerKeyFields {
            algorithm: $input.copy_source_sse_customer_algorithm.as_deref(),
            key: $input.copy_source_sse_customer_key.as_deref(),
            key_md5: $input.copy_source_sse_customer_key_md5.as_deref(),
        }
    };
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against the source size.
fn copy_range(range: &str, size: u64) -> S3Result<(u64, u64)> {
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let spec = range.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
    let first: u64 = a.trim().parse().map_err(|_| invalid())?;
    let last: u64 = b.trim().parse().map_err(|_| invalid())?;
    if first > last {
        return Err(invalid());
    }
    if last >= size {
        return Err(s3_error!(InvalidRange, "The requested range is not satisfiable"));
    }
    Ok((first, last + 1))
}

/// A resolved copy source.
struct Source {
    bucket: String,
    key: String,
    /// The request named a version (copying a version onto its own key restores it).
    named_version: bool,
    /// `x-amz-copy-source-version-id`.
    shown_version: Option<String>,
    handle: ObjectHandle,
}

impl Lagoa {
    /// Resolves a copy source (the access gate checked the caller may read it), checking its
    /// `x-amz-copy-source-if-*` conditions.
    async fn copy_source(&self, source: &CopySource, conditions: ReadConditions<'_>) -> S3Result<Source> {
        let CopySource::Bucket { bucket, key, version_id } = source else {
            return Err(s3_error!(NotImplemented, "Access point copy sources are not supported"));
        };
        let version = version_param(version_id.as_deref())?;
        let bucket_meta = self.existing_bucket(bucket).await?;
        let handle = self
            .store
            .open_object_version(bucket, key, version)
            .await
            .map_err(|e| match e {
                // S3 refuses a delete marker as a copy source with 400 InvalidRequest when it
                // was named, and as a missing key when it is the newest version.
                lagoa_store::StoreError::DeleteMarker { requested: true, .. } => s3_error!(
                    InvalidRequest,
                    "The source of a copy request may not specifically refer to a delete marker by version id."
                ),
                other => crate::errors::to_s3(other),
            })?;
        conditions.check_copy_source(&handle.meta)?;
        Ok(Source {
            bucket: bucket.to_string(),
            key: key.to_string(),
            named_version: version.is_some(),
            shown_version: shown_version(&bucket_meta, handle.meta.version_id.as_deref()),
            handle,
        })
    }

    pub(crate) async fn do_copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let caller = self.writer(&req, &bucket);
        // A copy gets the ACL its request names, never the source's (as S3).
        let acl = self
            .new_object_acl(&req.input.bucket, &req.headers, req.input.acl.as_ref(), &caller)
            .await?;
        // The copy's lock comes from this request (or the bucket's default), never the source's.
        let lock = lock_settings(&bucket, lock_headers_of!(req.input))?;
        let sse = encryption::sse_fields_of!(req.input).request()?;
        let input = &req.input;
        let source = self
            .copy_source(
                &input.copy_source,
                ReadConditions {
                    if_match: input.copy_source_if_match.as_ref(),
                    if_none_match: input.copy_source_if_none_match.as_ref(),
                    if_modified_since: input.copy_source_if_modified_since.as_ref(),
                    if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
                },
            )
            .await?;
        let Source {
            bucket: src_bucket,
            key: src_key,
            named_version,
            shown_version: source_version,
            handle: src_handle,
        } = source;
        let src = src_handle.meta.clone();
        let replace_meta = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let replace_tags = input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let source_key = encryption::read_key(src.encryption.as_ref(), copy_source_customer_fields!(input))?;
        let changes_encryption = sse != SseRequest::None;
        if src_bucket == input.bucket
            && src_key == input.key
            && !replace_meta
            && !replace_tags
            && !named_version
            && !changes_encryption
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let mut attrs = if replace_meta {
            let headers = content_headers(
                input.content_type.clone(),
                input.content_encoding.clone(),
                input.content_disposition.clone(),
                input.content_language.clone(),
                input.cache_control.clone(),
                input.expires.as_ref(),
            );
            attributes(headers, input.metadata.clone(), None)?
        } else {
            let mut a = src.attributes.clone();
            a.tags = Vec::new();
            a
        };
        attrs.acl = acl;
        attrs.tags = if replace_tags {
            input
                .tagging
                .as_deref()
                .map(parse_tagging_header)
                .transpose()?
                .unwrap_or_default()
        } else {
            src.attributes.tags.clone()
        };
        // Keep the source's checksum algorithms (recomputed over the copied bytes).
        let expected = lagoa_store::Checksums::new();
        let mut hasher = checksum::hasher_for(
            &expected,
            input.checksum_algorithm.as_ref().map(|a| a.as_str()),
            &http::HeaderMap::new(),
        )?;
        for alg in src.checksums.keys() {
            hasher = checksum::with_algorithm(hasher, alg);
        }
        let sealing = self.sealing_for_write(&input.bucket, sse).await?;
        let sealer = sealing.as_ref().map(|s| s.data_key.clone());
        let (mut staged, plain) = self
            .copy_bytes(src_handle, 0, src.size, hasher, source_key.as_ref(), sealer)
            .await?;
        let computed = std::mem::take(&mut staged.hasher_mut().0).finalize();
        let checksums = checksum::to_map(&computed);
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
                    condition: WriteCondition::default(),
                    lock,
                    encryption: sealing.map(|s| s.record),
                    etag,
                },
            )
            .await
            .s3()?;
        let c = checksum::from_map(&meta.checksums);
        let mut out = CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(meta.etag)),
                last_modified: Some(timestamp(meta.last_modified_nanos)),
                checksum_crc32: c.checksum_crc32,
                checksum_crc32c: c.checksum_crc32c,
                checksum_crc64nvme: c.checksum_crc64nvme,
                checksum_sha1: c.checksum_sha1,
                checksum_sha256: c.checksum_sha256,
                ..Default::default()
            }),
            copy_source_version_id: source_version,
            version_id: written_version(meta.version_id.as_deref()),
            ..Default::default()
        };
        encryption::set_sse_view!(out, encryption::view(meta.encryption.as_ref()));
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = &req.input;
        let number = super::multipart::part_number(input.part_number)?;
        let (upload, part_key) = self
            .upload_with_part_key(
                &input.bucket,
                &input.key,
                &input.upload_id,
                number,
                encryption::customer_fields_of!(input),
            )
            .await?;
        let source = self
            .copy_source(
                &input.copy_source,
                ReadConditions {
                    if_match: input.copy_source_if_match.as_ref(),
                    if_none_match: input.copy_source_if_none_match.as_ref(),
                    if_modified_since: input.copy_source_if_modified_since.as_ref(),
                    if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
                },
            )
            .await?;
        let (source_version, src_handle) = (source.shown_version, source.handle);
        let source_key = encryption::read_key(src_handle.meta.encryption.as_ref(), copy_source_customer_fields!(input))?;
        let size = src_handle.meta.size;
        let (start, end) = match input.copy_source_range.as_deref() {
            Some(r) => copy_range(r, size)?,
            None => (0, size),
        };
        // The upload's checksum algorithm is computed for copied parts too: completion derives
        // the object's checksum from every part's.
        let hasher = checksum::hasher_for(
            &lagoa_store::Checksums::new(),
            upload.checksum_algorithm.as_deref(),
            &http::HeaderMap::new(),
        )?;
        let sealer = part_key.as_ref().map(|(k, _)| k.clone());
        let (mut staged, plain) = self
            .copy_bytes(src_handle, start, end, hasher, source_key.as_ref(), sealer)
            .await?;
        let checksums = checksum::to_map(&std::mem::take(&mut staged.hasher_mut().0).finalize());
        let new_part = encryption::sealed_part(upload.encryption.as_ref(), part_key, &plain, checksums);
        let part = self
            .store
            .put_part(&input.bucket, &input.key, &input.upload_id, number, staged, new_part)
            .await
            .s3()?;
        let mut out = UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(ETag::Strong(part.extent.md5)),
                last_modified: Some(timestamp(part.last_modified_nanos)),
                ..Default::default()
            }),
            copy_source_version_id: source_version,
            ..Default::default()
        };
        encryption::set_sse_view!(out, encryption::view(upload.encryption.as_ref()));
        Ok(S3Response::new(out))
    }

    /// Streams plaintext `[start, end)` of `src` (opened with `source_key` if it is SSE-C) into a
    /// new staged body, sealed under `seal_with` if given.
    async fn copy_bytes(
        &self,
        src: ObjectHandle,
        start: u64,
        end: u64,
        hasher: RequestedChecksums,
        source_key: Option<&Key>,
        seal_with: Option<Key>,
    ) -> S3Result<(lagoa_store::StagedBody<RequestedChecksums>, Plaintext)> {
        use futures::StreamExt;
        let mut stream = src.read_with_key(start, end, source_key).await.s3()?;
        let mut intake = Intake::new(&self.store, hasher, seal_with);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| s3_error!(InternalError, "reading the copy source failed: {e}"))?;
            intake.write(chunk).await.s3()?;
        }
        intake.finish().await.s3()
    }
}

#[cfg(test)]
mod tests {
    use super::copy_range;

    #[test]
    fn copy_range_forms() {
        assert_eq!(copy_range("bytes=0-9", 100).unwrap(), (0, 10));
        assert!(copy_range("bytes=5-4", 100).is_err());
        assert!(copy_range("bytes=0-100", 100).is_err());
        assert!(copy_range("0-1", 100).is_err());
    }
}
