//! A minimal AWS Signature V4 signer for raw-HTTP tests: header signing, `aws-chunked` chunk
//! signatures (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, what hadoop-aws and minio-go send over plain
//! HTTP) and unsigned trailers. SDKs do not expose chunk signing, so tests that must send exact
//! byte sequences use this.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Percent-encodes everything but unreserved characters (SigV4 query encoding).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Signing identity and time.
pub struct Signer {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// `YYYYMMDDTHHMMSSZ`
    pub amz_date: String,
}

impl Signer {
    /// A signer for now.
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: "us-east-1".into(),
            amz_date: now.format(&fmt).expect("formatting a date"),
        }
    }

    fn date(&self) -> &str {
        &self.amz_date[..8]
    }

    /// `date/region/s3/aws4_request`
    pub fn scope(&self) -> String {
        format!("{}/{}/s3/aws4_request", self.date(), self.region)
    }

    fn signing_key(&self) -> Vec<u8> {
        let k = hmac(format!("AWS4{}", self.secret_key).as_bytes(), self.date().as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, b"s3");
        hmac(&k, b"aws4_request")
    }

    /// Signs a request. `path` is the encoded path as sent; `query` the raw pairs; `headers` must
    /// include `host`, `x-amz-date` and `x-amz-content-sha256`. Returns (Authorization, signature).
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        payload_hash: &str,
    ) -> (String, String) {
        let mut q: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
            .collect();
        q.sort();
        let canonical_query = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let mut h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        h.sort();
        let canonical_headers: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed_headers = h.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
        let canonical = format!("{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{}\n{}",
            self.amz_date,
            self.scope(),
            sha256_hex(canonical.as_bytes())
        );
        let signature = hex::encode(hmac(&self.signing_key(), to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key,
            self.scope()
        );
        (auth, signature)
    }

    /// The signature of one aws-chunked chunk, chained from the previous one.
    pub fn chunk_signature(&self, previous: &str, chunk: &[u8]) -> String {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{}\n{}",
            self.amz_date,
            self.scope(),
            sha256_hex(b""),
            sha256_hex(chunk)
        );
        hex::encode(hmac(&self.signing_key(), to_sign.as_bytes()))
    }

    /// Encodes `data` as a signed aws-chunked body with `chunk_size` chunks, seeded by the
    /// request signature.
    pub fn signed_chunked_body(&self, seed: &str, data: &[u8], chunk_size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut previous = seed.to_owned();
        let mut chunks: Vec<&[u8]> = data.chunks(chunk_size).collect();
        chunks.push(&[]);
        for chunk in chunks {
            let sig = self.chunk_signature(&previous, chunk);
            out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            previous = sig;
        }
        out
    }
}

/// Length of a signed aws-chunked encoding of `len` bytes in `chunk_size` chunks.
pub fn signed_chunked_len(len: usize, chunk_size: usize) -> usize {
    let sig_line = |n: usize| format!("{n:x}").len() + ";chunk-signature=".len() + 64 + 2 + n + 2;
    let full = len / chunk_size;
    let rest = len % chunk_size;
    full * sig_line(chunk_size) + if rest > 0 { sig_line(rest) } else { 0 } + sig_line(0)
}

/// Encodes `data` as an unsigned aws-chunked body with a trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
pub fn unsigned_chunked_body_with_trailer(data: &[u8], chunk_size: usize, trailer: (&str, &str)) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(chunk_size) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("0\r\n{}:{}\r\n\r\n", trailer.0, trailer.1).as_bytes());
    out
}
