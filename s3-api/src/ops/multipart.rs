//! Multipart uploads: create, upload part, list parts/uploads, complete, abort.

use lagoa_store::{Completion, UploadListEntry, UploadSettings, WriteCondition};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::body;
use crate::checksum;
use crate::encryption;
use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, attributes, content_headers, timestamp, url_encode};
use crate::multipart_checksum::{self, ChecksumKind, PartChecksum};
use crate::ops::object::condition_text;
use crate::ops::object_lock::{lock_headers_of, lock_settings};

/// What a CompleteMultipartUpload claims about the whole object (`x-amz-checksum-*`,
/// `x-amz-checksum-type`, `x-amz-mp-object-size`).
struct ObjectChecksumClaims {
    values: lagoa_store::Checksums,
    kind: Option<String>,
    /// `x-amz-mp-object-size`: the object's size in bytes, checked against the parts.
    object_size: Option<i64>,
}

/// Validates a part number (1..=10000).
pub(crate) fn part_number(n: i32) -> S3Result<u32> {
    u32::try_from(n).ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| {
        s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        )
    })
}

/// A page of parts (ListParts, GetObjectAttributes): `max-parts` (at most 1000, the default)
/// and `part-number-marker`, validated as S3 does.
pub(crate) fn parts_page(max_parts: Option<i32>, marker: Option<i32>) -> S3Result<(usize, u32)> {
    let max = match max_parts {
        None => 1000,
        Some(n) if n < 0 => return Err(s3_error!(InvalidArgument, "max-parts cannot be negative")),
        Some(n) => n.min(1000) as usize,
    };
    let marker = match marker {
        None => 0,
        Some(m) => u32::try_from(m).map_err(|_| s3_error!(InvalidArgument, "Invalid part-number-marker"))?,
    };
    Ok((max, marker))
}

impl Lagoa {
    /// An upload's record and the key a new upload of part `number` is sealed with (`None` for
    /// an unencrypted upload): UploadPart and UploadPartCopy, before any byte is read.
    pub(crate) async fn upload_with_part_key(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        customer: encryption::CustomerKeyFields<'_>,
    ) -> S3Result<(lagoa_store::UploadMeta, Option<(lagoa_store::sealing::Key, String)>)> {
        let upload = self.store.upload(bucket, key, upload_id).await.s3()?;
        let part_key = encryption::part_key(upload.encryption.as_ref(), customer, self.store.keyring(), number)?;
        Ok((upload, part_key))
    }

    pub(crate) async fn do_create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let caller = self.writer(&req, &bucket);
        let acl = self
            .new_object_acl(&req.input.bucket, &req.headers, req.input.acl.as_ref(), &caller)
            .await?;
        let lock = lock_settings(&bucket, lock_headers_of!(req.input))?;
        let sse = encryption::sse_fields_of!(req.input).request()?;
        let input = req.input;
        let sealing = self.sealing_for_write(&input.bucket, sse).await?;
        let record = sealing.map(|s| s.record);
        let view = encryption::view(record.as_ref());
        let headers = content_headers(
            input.content_type,
            crate::lagoa::without_aws_chunked(input.content_encoding.as_deref()),
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires.as_ref(),
        );
        let mut attrs = attributes(headers, input.metadata, input.tagging.as_deref())?;
        attrs.acl = acl;
        let checksum = multipart_checksum::for_create(
            input.checksum_algorithm.as_ref().map(|a| a.as_str()),
            input.checksum_type.as_ref().map(|t| t.as_str()),
        )?;
        let checksum_type = checksum.as_ref().map(|(_, kind)| ChecksumType::from_static(kind.as_str()));
        let upload_id = self
            .store
            .create_upload(
                &input.bucket,
                &input.key,
                attrs,
                &caller,
                UploadSettings {
                    checksum: checksum.map(|(alg, kind)| (alg, kind.as_str().to_owned())),
                    lock,
                    encryption: record,
                },
            )
            .await
            .s3()?;
        let mut out = CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            checksum_algorithm: input.checksum_algorithm,
            checksum_type,
            ..Default::default()
        };
        encryption::set_sse_view!(out, view);
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let number = part_number(input.part_number)?;
        // Reject before reading the body when the upload does not exist.
        let (upload, part_key) = self
            .upload_with_part_key(
                &input.bucket,
                &input.key,
                &input.upload_id,
                number,
                encryption::customer_fields_of!(input),
            )
            .await?;
        let claims = body::BodyClaims {
            headers: &req.headers,
            trailers: req.trailing_headers.as_ref(),
            content_length: input.content_length,
            content_md5: input.content_md5.as_deref(),
            algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str()),
            // The upload's algorithm is computed for every part, whatever else the request asks
            // for: completion derives the object's checksum from the parts'.
            also_compute: upload.checksum_algorithm.as_deref(),
            claimed: Default::default(),
        };
        let sealer = part_key.as_ref().map(|(k, _)| k.clone());
        let (staged, checksums, plain) = body::receive_verified(&self.store, input.body, claims, sealer).await?;
        let new_part = encryption::sealed_part(upload.encryption.as_ref(), part_key, &plain, checksums);
        let part = self
            .store
            .put_part(&input.bucket, &input.key, &input.upload_id, number, staged, new_part)
            .await
            .s3()?;
        let c = checksum::from_map(&part.checksums);
        let mut out = UploadPartOutput {
            e_tag: Some(ETag::Strong(part.extent.md5)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            ..Default::default()
        };
        encryption::set_sse_view!(out, encryption::view(upload.encryption.as_ref()));
        Ok(S3Response::new(out))
    }

    pub(crate) async fn do_list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let (max, marker) = parts_page(input.max_parts, input.part_number_marker)?;
        let (upload, parts, truncated) = self
            .store
            .list_parts(&input.bucket, &input.key, &input.upload_id, marker, max)
            .await
            .s3()?;
        let next = parts.last().map(|p| p.number as i32);
        let parts = parts
            .into_iter()
            .map(|p| {
                let c = checksum::from_map(&p.checksums);
                let size = upload.part_plain_size(&p);
                Part {
                    part_number: Some(p.number as i32),
                    e_tag: Some(ETag::Strong(p.extent.md5)),
                    size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
                    last_modified: Some(timestamp(p.last_modified_nanos)),
                    checksum_crc32: c.checksum_crc32,
                    checksum_crc32c: c.checksum_crc32c,
                    checksum_crc64nvme: c.checksum_crc64nvme,
                    checksum_sha1: c.checksum_sha1,
                    checksum_sha256: c.checksum_sha256,
                }
            })
            .collect();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: Some(marker as i32),
            next_part_number_marker: next,
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            parts: Some(parts),
            owner: Some(Self::owner(&upload.owner)),
            initiator: Some(Initiator {
                id: Some(upload.owner.clone()),
                display_name: Some(upload.owner),
            }),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
            checksum_type: upload.checksum_type.map(ChecksumType::from),
            ..Default::default()
        }))
    }

    pub(crate) async fn do_list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let url = match input.encoding_type.as_ref().map(|e| e.as_str()) {
            None => false,
            Some(e) if e.eq_ignore_ascii_case(EncodingType::URL) => true,
            Some(e) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid Encoding Method specified in Request: {e}"
                ));
            }
        };
        let enc = |s: &str| if url { url_encode(s) } else { s.to_owned() };
        let max = match input.max_uploads {
            None => 1000,
            Some(n) if n < 0 => return Err(s3_error!(InvalidArgument, "max-uploads cannot be negative")),
            Some(n) => n.min(1000) as usize,
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let page = self
            .store
            .list_uploads(
                &input.bucket,
                &prefix,
                delimiter.as_deref(),
                input.key_marker.as_deref().filter(|m| !m.is_empty()),
                input.upload_id_marker.as_deref().filter(|m| !m.is_empty()),
                max,
            )
            .await
            .s3()?;
        let mut uploads = Vec::new();
        let mut prefixes = Vec::new();
        let (mut next_key, mut next_id) = (None, None);
        for entry in page.entries {
            match entry {
                UploadListEntry::Upload { upload_id, meta } => {
                    next_key = Some(meta.key.clone());
                    next_id = Some(upload_id.clone());
                    uploads.push(MultipartUpload {
                        key: Some(enc(&meta.key)),
                        upload_id: Some(upload_id),
                        initiated: Some(timestamp(meta.initiated_nanos)),
                        owner: Some(Self::owner(&meta.owner)),
                        initiator: Some(Initiator {
                            id: Some(meta.owner.clone()),
                            display_name: Some(meta.owner),
                        }),
                        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                        checksum_algorithm: meta.checksum_algorithm.map(ChecksumAlgorithm::from),
                        ..Default::default()
                    });
                }
                UploadListEntry::CommonPrefix(p) => {
                    next_key = Some(p.clone());
                    next_id = None;
                    prefixes.push(CommonPrefix { prefix: Some(enc(&p)) });
                }
            }
        }
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: Some(enc(&prefix)),
            delimiter: delimiter.as_deref().map(&enc),
            key_marker: Some(input.key_marker.as_deref().map(&enc).unwrap_or_default()),
            upload_id_marker: Some(input.upload_id_marker.unwrap_or_default()),
            next_key_marker: page.truncated.then(|| next_key.as_deref().map(&enc)).flatten(),
            next_upload_id_marker: page.truncated.then_some(next_id).flatten(),
            max_uploads: Some(max as i32),
            is_truncated: Some(page.truncated),
            uploads: Some(uploads),
            common_prefixes: Some(prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    pub(crate) async fn do_complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let parts = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        let listed = parts
            .iter()
            .map(|p| {
                let n = p
                    .part_number
                    .ok_or_else(|| s3_error!(MalformedXML, "Each Part needs a PartNumber"))?;
                let etag = p
                    .e_tag
                    .as_ref()
                    .map(|e| e.value().to_owned())
                    .ok_or_else(|| s3_error!(MalformedXML, "Each Part needs an ETag"))?;
                Ok((
                    part_number(n).map_err(|_| s3_error!(InvalidPart, "Invalid part number {n}"))?,
                    etag,
                ))
            })
            .collect::<S3Result<Vec<_>>>()?;
        if listed.is_empty() {
            return Err(s3_error!(MalformedXML, "You must specify at least one part"));
        }
        let condition = WriteCondition {
            if_none_match: input.if_none_match.as_ref().map(condition_text),
            if_match: input.if_match.as_ref().map(condition_text),
        };
        let object_checksum = ObjectChecksumClaims {
            values: checksum::checksums_of!(input),
            kind: input.checksum_type.as_ref().map(|t| t.as_str().to_owned()),
            object_size: input.mpu_object_size,
        };
        let (checksums, checksum_type, derived_from) = self
            .multipart_object_checksum(&input.bucket, &input.key, &input.upload_id, &listed, &parts, object_checksum)
            .await?;
        let meta = self
            .store
            .complete_upload(
                &input.bucket,
                &input.key,
                &input.upload_id,
                Completion {
                    listed,
                    condition,
                    checksums,
                    checksum_type,
                    derived_from,
                },
            )
            .await
            .s3()?;
        let c = checksum::from_map(&meta.checksums);
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            e_tag: Some(ETag::Strong(meta.etag)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_type: meta.checksum_type.map(ChecksumType::from),
            version_id: crate::ops::versioning::written_version(meta.version_id.as_deref()),
            ..Default::default()
        };
        // The SSE-C headers are not part of this answer in S3's model.
        let view = encryption::view(meta.encryption.as_ref());
        out.server_side_encryption = view.server_side_encryption;
        out.ssekms_key_id = view.kms_key_id;
        Ok(S3Response::new(out))
    }

    /// The object checksum of a completing upload that announced one, checked against the parts
    /// listed in the request and against what the client claims about the whole object (as S3
    /// checks them). No checksum for uploads without one, and nothing checked for uploads already
    /// completed (the store then answers with the completed object).
    async fn multipart_object_checksum(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[(u32, String)],
        parts: &[CompletedPart],
        claims: ObjectChecksumClaims,
    ) -> S3Result<(lagoa_store::Checksums, Option<String>, Vec<lagoa_store::Checksums>)> {
        let none = (lagoa_store::Checksums::new(), None, Vec::new());
        let Some((upload, stored)) = self
            .store
            .parts_for_completion(bucket, key, upload_id, listed.to_vec())
            .await
            .s3()?
        else {
            return Ok(none);
        };
        if let Some(size) = claims.object_size {
            let actual: u64 = stored.iter().map(|p| upload.part_plain_size(p)).sum();
            if u64::try_from(size).ok() != Some(actual) {
                return Err(s3_error!(
                    InvalidRequest,
                    "The provided 'x-amz-mp-object-size' header value {size} does not match the object's size, {actual} bytes."
                ));
            }
        }
        let Some(algorithm) = upload.checksum_algorithm.clone() else {
            if !claims.values.is_empty() || claims.kind.is_some() {
                return Err(s3_error!(
                    InvalidRequest,
                    "The upload was created without a checksum algorithm (x-amz-checksum-algorithm), so the complete request cannot name an object checksum."
                ));
            }
            return Ok(none);
        };
        // Uploads created before checksum types were recorded have S3's default type.
        let kind = match upload.checksum_type.as_deref().and_then(ChecksumKind::parse) {
            Some(kind) => kind,
            None => multipart_checksum::for_create(Some(&algorithm), None)?.map_or(ChecksumKind::Composite, |(_, k)| k),
        };
        if let Some(sent) = claims.kind.as_deref()
            && ChecksumKind::parse(sent) != Some(kind)
        {
            return Err(s3_error!(
                InvalidRequest,
                "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                kind.as_str()
            ));
        }
        for (part, listed_part) in stored.iter().zip(parts) {
            let sent = checksum::checksums_of!(listed_part);
            for (alg, value) in &sent {
                if part.checksums.get(alg) != Some(value) {
                    return Err(s3_error!(
                        InvalidPart,
                        "The {alg} checksum listed for part {} does not match the part's.",
                        part.number
                    ));
                }
            }
        }
        let values = stored
            .iter()
            .map(|p| {
                p.checksums.get(&algorithm).map(|v| PartChecksum {
                    value: v,
                    size: upload.part_plain_size(p),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                s3_error!(
                    InvalidRequest,
                    "The upload was created using a {} checksum; a part was stored without it.",
                    algorithm.to_ascii_lowercase()
                )
            })?;
        let value = multipart_checksum::combine(&algorithm, kind, &values)?;
        for (alg, claimed) in &claims.values {
            let matches = *alg == algorithm && (claimed == &value || claimed.split('-').next() == value.split('-').next());
            if !matches {
                return Err(s3_error!(
                    BadDigest,
                    "The {alg} you specified did not match the calculated checksum."
                ));
            }
        }
        let mut checksums = lagoa_store::Checksums::new();
        checksums.insert(algorithm, value);
        let derived_from = stored.into_iter().map(|p| p.checksums).collect();
        Ok((checksums, Some(kind.as_str().to_owned()), derived_from))
    }

    pub(crate) async fn do_abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        self.store
            .abort_upload(&input.bucket, &input.key, &input.upload_id)
            .await
            .s3()?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
