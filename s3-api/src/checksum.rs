//! `x-amz-checksum-*`: which algorithms a request asks for, computing them in the store's write
//! pass, and verifying what the client sent (as headers or as aws-chunked trailers).

use http::HeaderMap;
use lagoa_store::{BodyHasher, Checksums};
use s3s::S3Result;
use s3s::checksum::ChecksumHasher;
use s3s::dto::Checksum;
use s3s::s3_error;

/// The s3s hasher, fed by the store's disk thread (or by the intake, for a sealed body). The
/// default computes nothing.
#[derive(Default)]
pub struct RequestedChecksums(pub ChecksumHasher);

impl BodyHasher for RequestedChecksums {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// The algorithm names Lagoa stores checksums under, with their header names.
pub const ALGORITHMS: [(&str, &str); 5] = [
    ("CRC32", "x-amz-checksum-crc32"),
    ("CRC32C", "x-amz-checksum-crc32c"),
    ("CRC64NVME", "x-amz-checksum-crc64nvme"),
    ("SHA1", "x-amz-checksum-sha1"),
    ("SHA256", "x-amz-checksum-sha256"),
];

/// Checksum values as an algorithm → value map.
pub fn to_map(c: &Checksum) -> Checksums {
    let mut out = Checksums::new();
    for (alg, value) in [
        ("CRC32", &c.checksum_crc32),
        ("CRC32C", &c.checksum_crc32c),
        ("CRC64NVME", &c.checksum_crc64nvme),
        ("SHA1", &c.checksum_sha1),
        ("SHA256", &c.checksum_sha256),
    ] {
        if let Some(v) = value {
            out.insert(alg.to_owned(), v.clone());
        }
    }
    out
}

/// The `x-amz-checksum-*` values of any s3s DTO that carries the five checksum fields (request
/// inputs, listed parts), as an algorithm → value map: one place instead of a copy per type.
macro_rules! checksums_of {
    ($dto:expr) => {
        $crate::checksum::to_map(&s3s::dto::Checksum {
            checksum_crc32: $dto.checksum_crc32.clone(),
            checksum_crc32c: $dto.checksum_crc32c.clone(),
            checksum_crc64nvme: $dto.checksum_crc64nvme.clone(),
            checksum_sha1: $dto.checksum_sha1.clone(),
            checksum_sha256: $dto.checksum_sha256.clone(),
            ..Default::default()
        })
    };
}
pub(crate) use checksums_of;

/// The inverse of [`to_map`], for responses.
pub fn from_map(m: &Checksums) -> Checksum {
    Checksum {
        checksum_crc32: m.get("CRC32").cloned(),
        checksum_crc32c: m.get("CRC32C").cloned(),
        checksum_crc64nvme: m.get("CRC64NVME").cloned(),
        checksum_sha1: m.get("SHA1").cloned(),
        checksum_sha256: m.get("SHA256").cloned(),
        ..Default::default()
    }
}

/// Builds the hasher for every algorithm the request names: a value header, the SDK's algorithm
/// header, or a trailer announced in `x-amz-trailer`.
pub fn hasher_for(expected: &Checksums, algorithm: Option<&str>, headers: &HeaderMap) -> S3Result<RequestedChecksums> {
    let mut wanted: Vec<String> = expected.keys().cloned().collect();
    if let Some(alg) = algorithm {
        wanted.push(alg.to_ascii_uppercase());
    }
    if let Some(trailer) = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok()) {
        for name in trailer.split(',').map(str::trim) {
            if let Some((alg, _)) = ALGORITHMS.iter().find(|(_, h)| h.eq_ignore_ascii_case(name)) {
                wanted.push((*alg).to_owned());
            }
        }
    }
    let mut h = ChecksumHasher::default();
    for alg in wanted {
        match alg.as_str() {
            "CRC32" => h.crc32 = Some(Default::default()),
            "CRC32C" => h.crc32c = Some(Default::default()),
            "CRC64NVME" => h.crc64nvme = Some(Default::default()),
            "SHA1" => h.sha1 = Some(Default::default()),
            "SHA256" => h.sha256 = Some(Default::default()),
            other => return Err(s3_error!(InvalidRequest, "Unsupported checksum algorithm {other}")),
        }
    }
    Ok(RequestedChecksums(h))
}

/// `h` computing `alg` as well (unknown names are ignored: they were validated where they came
/// from).
pub fn with_algorithm(h: RequestedChecksums, alg: &str) -> RequestedChecksums {
    let mut inner = h.0;
    match alg {
        "CRC32" => inner.crc32 = inner.crc32.or_else(|| Some(Default::default())),
        "CRC32C" => inner.crc32c = inner.crc32c.or_else(|| Some(Default::default())),
        "CRC64NVME" => inner.crc64nvme = inner.crc64nvme.or_else(|| Some(Default::default())),
        "SHA1" => inner.sha1 = inner.sha1.or_else(|| Some(Default::default())),
        "SHA256" => inner.sha256 = inner.sha256.or_else(|| Some(Default::default())),
        _ => {}
    }
    RequestedChecksums(inner)
}

/// The `x-amz-checksum-*` values the client sent as headers.
pub fn expected_from_headers(headers: &HeaderMap) -> Checksums {
    ALGORITHMS
        .iter()
        .filter_map(|(alg, header)| {
            let v = headers.get(*header)?.to_str().ok()?;
            Some(((*alg).to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Adds checksum values that arrived as aws-chunked trailers.
pub fn merge_trailers(expected: &mut Checksums, trailers: Option<&s3s::TrailingHeaders>) {
    let Some(trailers) = trailers.and_then(|t| t.take()) else {
        return;
    };
    for (alg, header) in ALGORITHMS {
        if let Some(v) = trailers.get(header).and_then(|v| v.to_str().ok()) {
            expected.insert(alg.to_owned(), v.trim().to_owned());
        }
    }
}

/// Compares what the client announced with what was computed; returns what to store.
pub fn verify(expected: &Checksums, computed: Checksum) -> S3Result<Checksums> {
    let computed = to_map(&computed);
    for (alg, value) in expected {
        match computed.get(alg) {
            Some(c) if c == value => {}
            Some(c) => {
                return Err(s3_error!(
                    BadDigest,
                    "The {alg} you specified did not match the calculated checksum (expected {value}, calculated {c})."
                ));
            }
            None => return Err(s3_error!(InvalidRequest, "Checksum {alg} was sent but not announced")),
        }
    }
    Ok(computed)
}

/// Validates `Content-MD5` (base64 of 16 bytes) and returns the raw digest.
pub fn parse_content_md5(value: &str) -> S3Result<[u8; 16]> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))?;
    raw.try_into()
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))
}
