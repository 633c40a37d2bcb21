//! The checksum of a multipart object, as S3 defines it: the upload announces an algorithm
//! (`x-amz-checksum-algorithm`) and a type (`x-amz-checksum-type`) at creation, every part is
//! checksummed with that algorithm, and completion derives the object's checksum from the parts'.
//!
//! - COMPOSITE (CRC32, CRC32C, SHA1, SHA256; the default): the algorithm over the concatenated
//!   raw part checksums, written `base64-N` for N parts.
//! - FULL_OBJECT (CRC32, CRC32C, CRC64NVME; the only type of CRC64NVME): the CRC of the whole
//!   object, combined from the part CRCs and sizes without reading the bytes again.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use s3s::checksum::ChecksumHasher;
use s3s::{S3Result, s3_error};

use crate::checksum;

/// COMPOSITE or FULL_OBJECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumKind {
    Composite,
    FullObject,
}

impl ChecksumKind {
    /// The `x-amz-checksum-type` / `<ChecksumType>` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Composite => "COMPOSITE",
            Self::FullObject => "FULL_OBJECT",
        }
    }

    /// Parses a stored or sent type name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "COMPOSITE" => Some(Self::Composite),
            "FULL_OBJECT" => Some(Self::FullObject),
            _ => None,
        }
    }
}

/// Validates CreateMultipartUpload's algorithm and type as S3 does (400 InvalidRequest) and
/// returns the upper-case algorithm with the type that applies.
pub fn for_create(algorithm: Option<&str>, kind: Option<&str>) -> S3Result<Option<(String, ChecksumKind)>> {
    let Some(algorithm) = algorithm.map(str::to_ascii_uppercase) else {
        if kind.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        return Ok(None);
    };
    if !checksum::ALGORITHMS.iter().any(|(a, _)| *a == algorithm) {
        return Err(s3_error!(InvalidRequest, "Checksum algorithm {algorithm} is not supported"));
    }
    let kind = match kind {
        None if algorithm == "CRC64NVME" => ChecksumKind::FullObject,
        None => ChecksumKind::Composite,
        Some(k) => {
            ChecksumKind::parse(k).ok_or_else(|| s3_error!(InvalidRequest, "Value for x-amz-checksum-type header is invalid."))?
        }
    };
    let allowed = match kind {
        ChecksumKind::Composite => algorithm != "CRC64NVME",
        ChecksumKind::FullObject => matches!(algorithm.as_str(), "CRC32" | "CRC32C" | "CRC64NVME"),
    };
    if !allowed {
        return Err(s3_error!(
            InvalidRequest,
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            kind.as_str(),
            algorithm.to_ascii_lowercase()
        ));
    }
    Ok(Some((algorithm, kind)))
}

/// One part's stored checksum (base64) and size, in object order.
pub struct PartChecksum<'a> {
    pub value: &'a str,
    pub size: u64,
}

fn decode(value: &str) -> S3Result<Vec<u8>> {
    B64.decode(value.trim())
        .map_err(|_| s3_error!(InvalidRequest, "A stored part checksum is not valid base64"))
}

/// The object's checksum from its parts'.
pub fn combine(algorithm: &str, kind: ChecksumKind, parts: &[PartChecksum<'_>]) -> S3Result<String> {
    match kind {
        ChecksumKind::Composite => {
            let mut hasher = checksum::hasher_for(&Default::default(), Some(algorithm), &http::HeaderMap::new())?.0;
            for part in parts {
                hasher.update(&decode(part.value)?);
            }
            let digest = finalize_one(hasher, algorithm)?;
            Ok(format!("{digest}-{}", parts.len()))
        }
        ChecksumKind::FullObject => {
            let (crc, width) = match algorithm {
                "CRC32" => (crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
                "CRC32C" => (crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
                "CRC64NVME" => (crc_fast::CrcAlgorithm::Crc64Nvme, 8),
                other => return Err(s3_error!(InvalidRequest, "{other} has no full-object checksum")),
            };
            let mut total: Option<u64> = None;
            for part in parts {
                let raw = decode(part.value)?;
                if raw.len() != width {
                    return Err(s3_error!(InvalidRequest, "A stored part checksum has the wrong length"));
                }
                let value = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                total = Some(match total {
                    None => value,
                    Some(t) => crc_fast::checksum_combine(crc, t, value, part.size),
                });
            }
            let value = total.unwrap_or(0);
            let bytes = value.to_be_bytes();
            Ok(B64.encode(&bytes[8 - width..]))
        }
    }
}

fn finalize_one(hasher: ChecksumHasher, algorithm: &str) -> S3Result<String> {
    checksum::to_map(&hasher.finalize())
        .remove(algorithm)
        .ok_or_else(|| s3_error!(InternalError, "no {algorithm} was computed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64_crc(alg: crc_fast::CrcAlgorithm, data: &[u8], width: usize) -> String {
        let v = crc_fast::checksum(alg, data).to_be_bytes();
        B64.encode(&v[8 - width..])
    }

    #[test]
    fn full_object_crc_equals_the_crc_of_the_whole() {
        let (a, b) = (b"hello, ".as_slice(), b"multipart world".as_slice());
        let whole = [a, b].concat();
        for (name, alg, width) in [
            ("CRC32", crc_fast::CrcAlgorithm::Crc32IsoHdlc, 4),
            ("CRC32C", crc_fast::CrcAlgorithm::Crc32Iscsi, 4),
            ("CRC64NVME", crc_fast::CrcAlgorithm::Crc64Nvme, 8),
        ] {
            let (pa, pb) = (b64_crc(alg, a, width), b64_crc(alg, b, width));
            let parts = [
                PartChecksum {
                    value: &pa,
                    size: a.len() as u64,
                },
                PartChecksum {
                    value: &pb,
                    size: b.len() as u64,
                },
            ];
            assert_eq!(
                combine(name, ChecksumKind::FullObject, &parts).unwrap(),
                b64_crc(alg, &whole, width),
                "{name}"
            );
        }
    }

    #[test]
    fn composite_is_the_checksum_of_checksums_with_a_part_count() {
        let pa = b64_crc(crc_fast::CrcAlgorithm::Crc32IsoHdlc, b"a", 4);
        let pb = b64_crc(crc_fast::CrcAlgorithm::Crc32IsoHdlc, b"b", 4);
        let raw = [B64.decode(&pa).unwrap(), B64.decode(&pb).unwrap()].concat();
        let expected = format!("{}-2", b64_crc(crc_fast::CrcAlgorithm::Crc32IsoHdlc, &raw, 4));
        let parts = [PartChecksum { value: &pa, size: 1 }, PartChecksum { value: &pb, size: 1 }];
        assert_eq!(combine("CRC32", ChecksumKind::Composite, &parts).unwrap(), expected);
    }

    #[test]
    fn creation_rules_follow_s3() {
        assert_eq!(for_create(None, None).unwrap(), None);
        assert!(for_create(None, Some("COMPOSITE")).is_err());
        assert_eq!(
            for_create(Some("crc32"), None).unwrap(),
            Some(("CRC32".into(), ChecksumKind::Composite))
        );
        assert_eq!(
            for_create(Some("CRC64NVME"), None).unwrap(),
            Some(("CRC64NVME".into(), ChecksumKind::FullObject))
        );
        assert!(for_create(Some("SHA256"), Some("FULL_OBJECT")).is_err());
        assert!(for_create(Some("CRC64NVME"), Some("COMPOSITE")).is_err());
        assert!(for_create(Some("CRC32"), Some("bogus")).is_err());
    }
}
