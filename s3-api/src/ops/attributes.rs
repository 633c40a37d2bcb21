//! GetObjectAttributes: an object's ETag, checksum, parts, size and storage class in one call
//! (what clients use to verify a multipart upload's parts without reading the object).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use crate::checksum;
use crate::encryption;
use crate::errors::StoreResultExt;
use crate::lagoa::{Lagoa, timestamp};
use crate::ops::versioning::{shown_version, version_param};

/// The attributes a request asked for (`x-amz-object-attributes`), validated as S3 does.
struct Wanted {
    etag: bool,
    checksum: bool,
    parts: bool,
    size: bool,
    storage_class: bool,
}

fn wanted(list: &ObjectAttributesList) -> S3Result<Wanted> {
    let mut w = Wanted {
        etag: false,
        checksum: false,
        parts: false,
        size: false,
        storage_class: false,
    };
    for name in list.iter().flat_map(|a| a.as_str().split(',')).map(str::trim) {
        match name {
            ObjectAttributes::ETAG => w.etag = true,
            ObjectAttributes::CHECKSUM => w.checksum = true,
            ObjectAttributes::OBJECT_PARTS => w.parts = true,
            ObjectAttributes::OBJECT_SIZE => w.size = true,
            ObjectAttributes::STORAGE_CLASS => w.storage_class = true,
            _ => return Err(s3_error!(InvalidArgument, "Invalid attribute name specified.")),
        }
    }
    if !(w.etag || w.checksum || w.parts || w.size || w.storage_class) {
        return Err(s3_error!(
            InvalidArgument,
            "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty"
        ));
    }
    Ok(w)
}

impl Lagoa {
    pub(crate) async fn do_get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let bucket = self.existing_bucket(&req.input.bucket).await?;
        let input = req.input;
        let want = wanted(&input.object_attributes)?;
        let version = version_param(input.version_id.as_deref())?;
        let meta = self.store.object_version(&input.bucket, &input.key, version).await.s3()?;
        encryption::read_key(meta.encryption.as_ref(), encryption::customer_fields_of!(input))?;
        let object_parts = if want.parts && meta.multipart {
            let (max, marker) = crate::ops::multipart::parts_page(input.max_parts, input.part_number_marker)?;
            let all: Vec<ObjectPart> = meta
                .extents
                .iter()
                .enumerate()
                .map(|(i, extent)| {
                    let c = meta.part_checksums.get(i).map(checksum::from_map).unwrap_or_default();
                    ObjectPart {
                        part_number: meta.part_numbers.get(i).map(|n| *n as i32),
                        size: Some(i64::try_from(meta.extent_plain_size(extent)).unwrap_or(i64::MAX)),
                        checksum_crc32: c.checksum_crc32,
                        checksum_crc32c: c.checksum_crc32c,
                        checksum_crc64nvme: c.checksum_crc64nvme,
                        checksum_sha1: c.checksum_sha1,
                        checksum_sha256: c.checksum_sha256,
                    }
                })
                .collect();
            let after: Vec<ObjectPart> = all
                .iter()
                .filter(|p| p.part_number.is_some_and(|n| n as u32 > marker))
                .cloned()
                .collect();
            let truncated = after.len() > max;
            let page: Vec<ObjectPart> = after.into_iter().take(max).collect();
            Some(GetObjectAttributesParts {
                is_truncated: Some(truncated),
                max_parts: Some(max as i32),
                next_part_number_marker: page.last().and_then(|p| p.part_number),
                part_number_marker: Some(marker as i32),
                total_parts_count: Some(i32::try_from(all.len()).unwrap_or(i32::MAX)),
                parts: Some(page),
            })
        } else {
            None
        };
        let checksum = (want.checksum && !meta.checksums.is_empty()).then(|| {
            let c = checksum::from_map(&meta.checksums);
            Checksum {
                checksum_type: Some(ChecksumType::from(
                    meta.checksum_type
                        .clone()
                        .unwrap_or_else(|| ChecksumType::FULL_OBJECT.to_owned()),
                )),
                ..c
            }
        });
        Ok(S3Response::new(GetObjectAttributesOutput {
            checksum,
            e_tag: want.etag.then(|| ETag::Strong(meta.etag.clone())),
            last_modified: Some(timestamp(meta.last_modified_nanos)),
            object_parts,
            object_size: want.size.then(|| i64::try_from(meta.size).unwrap_or(i64::MAX)),
            storage_class: want.storage_class.then(|| StorageClass::from_static(StorageClass::STANDARD)),
            version_id: shown_version(&bucket, meta.version_id.as_deref()),
            ..Default::default()
        }))
    }
}
