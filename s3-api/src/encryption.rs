//! Server-side encryption as S3 speaks it: reading the SSE request headers (SSE-S3, SSE-KMS,
//! SSE-C and the copy source's SSE-C key), choosing how a new object is sealed (the request, else
//! the bucket's default encryption), checking the key a read brings, and the SSE headers of
//! responses. The sealing itself is the store's (`lagoa_store::sealing`).

use base64::Engine;
use lagoa_store::sealing::{Encryption, Key, NewSealing, SseKind};
use md5::{Digest, Md5};
use s3s::dto::ServerSideEncryption;
use s3s::{S3Error, S3Result, s3_error};

use crate::errors::custom;

/// The SSE fields of one request, as s3s parsed them from headers (or a POST form).
#[derive(Debug, Default, Clone, Copy)]
pub struct SseFields<'a> {
    pub algorithm: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    pub kms_context: Option<&'a str>,
    pub bucket_key_enabled: Option<bool>,
    pub customer: CustomerKeyFields<'a>,
}

/// The three SSE-C fields (of the object, or of a copy source).
#[derive(Debug, Default, Clone, Copy)]
pub struct CustomerKeyFields<'a> {
    pub algorithm: Option<&'a str>,
    pub key: Option<&'a str>,
    pub key_md5: Option<&'a str>,
}

/// The SSE-C key of a request's `x-amz-server-side-encryption-customer-*` headers (for Lagoa's
/// own endpoints, which s3s does not parse): S3's errors for incomplete or bad key headers.
pub fn customer_key_of(headers: &http::HeaderMap) -> S3Result<Option<Key>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let fields = CustomerKeyFields {
        algorithm: header("x-amz-server-side-encryption-customer-algorithm"),
        key: header("x-amz-server-side-encryption-customer-key"),
        key_md5: header("x-amz-server-side-encryption-customer-key-md5"),
    };
    Ok(fields.key()?.map(|(key, _)| key))
}

/// Builds [`SseFields`] from an s3s input that has the write-side SSE fields.
macro_rules! sse_fields_of {
    ($input:expr) => {
        $crate::encryption::SseFields {
            algorithm: $input.server_side_encryption.as_ref().map(|a| a.as_str()),
            kms_key_id: $input.ssekms_key_id.as_deref(),
            kms_context: $input.ssekms_encryption_context.as_deref(),
            bucket_key_enabled: $input.bucket_key_enabled,
            customer: $crate::encryption::customer_fields_of!($input),
        }
    };
}
pub(crate) use sse_fields_of;

/// Builds [`CustomerKeyFields`] from an s3s input's `sse_customer_*` fields.
macro_rules! customer_fields_of {
    ($input:expr) => {
        $crate::encryption::CustomerKeyFields {
            algorithm: $input.sse_customer_algorithm.as_deref(),
            key: $input.sse_customer_key.as_deref(),
            key_md5: $input.sse_customer_key_md5.as_deref(),
        }
    };
}
pub(crate) use customer_fields_of;

/// What a write asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseRequest {
    None,
    /// SSE-S3 (`AES256`).
    S3,
    /// SSE-KMS with the named key (`None`: the server's default key).
    Kms(Option<String>),
    /// SSE-C with the customer's key and its base64 MD5.
    Customer(Key, String),
}

fn invalid_argument(message: &str) -> S3Error {
    s3_error!(InvalidArgument, "{message}")
}

const KMS_HEADER_REQUIRED: &str =
    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms";

impl CustomerKeyFields<'_> {
    fn is_empty(&self) -> bool {
        self.algorithm.is_none() && self.key.is_none() && self.key_md5.is_none()
    }

    /// The customer's key, checked as S3 checks it (algorithm, key, MD5 of the key, length);
    /// `None` when no SSE-C field was sent.
    pub fn key(&self) -> S3Result<Option<(Key, String)>> {
        if self.is_empty() {
            return Ok(None);
        }
        let prefix = "Requests specifying Server Side Encryption with Customer provided keys must provide";
        let algorithm = self
            .algorithm
            .ok_or_else(|| invalid_argument(&format!("{prefix} a valid encryption algorithm.")))?;
        let key = self
            .key
            .ok_or_else(|| invalid_argument(&format!("{prefix} an appropriate secret key.")))?;
        let key_md5 = self
            .key_md5
            .ok_or_else(|| invalid_argument(&format!("{prefix} the client calculated MD5 of the secret key.")))?;
        if algorithm != "AES256" {
            return Err(custom(
                "InvalidEncryptionAlgorithmError",
                http::StatusCode::BAD_REQUEST,
                "The Encryption request you specified is not valid. Supported value: AES256.",
            ));
        }
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes = engine
            .decode(key.trim())
            .map_err(|_| invalid_argument("The secret key was invalid for the specified algorithm."))?;
        if engine.encode(Md5::digest(&bytes)) != key_md5.trim() {
            return Err(invalid_argument(
                "The calculated MD5 hash of the key did not match the hash that was provided.",
            ));
        }
        let key =
            Key::from_slice(&bytes).ok_or_else(|| invalid_argument("The secret key was invalid for the specified algorithm."))?;
        Ok(Some((key, key_md5.trim().to_owned())))
    }
}

impl SseFields<'_> {
    /// Validates the fields into one request, with S3's errors for contradictory ones.
    pub fn request(&self) -> S3Result<SseRequest> {
        if let Some(customer) = self.customer.key()? {
            if self.algorithm.is_some() || self.kms_key_id.is_some() {
                return Err(invalid_argument(
                    "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
                ));
            }
            return Ok(SseRequest::Customer(customer.0, customer.1));
        }
        if self.bucket_key_enabled == Some(true) {
            return Err(s3_error!(
                NotImplemented,
                "S3 Bucket Keys are not implemented by this server; the request was not executed"
            ));
        }
        if self.kms_context.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "An SSE-KMS encryption context is not implemented by this server; the request was not executed"
            ));
        }
        match (self.algorithm, self.kms_key_id) {
            (None, None) => Ok(SseRequest::None),
            (Some("AES256"), None) => Ok(SseRequest::S3),
            (Some("aws:kms"), id) => Ok(SseRequest::Kms(id.map(kms_key_name))),
            (Some("aws:kms:dsse"), _) => Err(s3_error!(
                NotImplemented,
                "Dual-layer SSE-KMS is not implemented by this server; the request was not executed"
            )),
            (_, Some(_)) => Err(invalid_argument(KMS_HEADER_REQUIRED)),
            (Some(_), None) => Err(invalid_argument("The encryption method specified is not supported")),
        }
    }
}

/// A KMS key id as Lagoa names it: the name itself, or the last part of an ARN
/// (`arn:aws:kms:…:key/<name>` or MinIO's `arn:aws:kms:<name>`).
fn kms_key_name(id: &str) -> String {
    let id = id.trim();
    if let Some(rest) = id.strip_prefix("arn:aws:kms:") {
        return rest.rsplit_once("key/").map_or(rest, |(_, name)| name).to_owned();
    }
    id.to_owned()
}

/// A bucket's default encryption (PutBucketEncryption): the store's, shared with the compute
/// engine, which seals query output by it too.
pub use lagoa_store::sealing::DefaultEncryption;

/// The bucket config document that holds [`DefaultEncryption`].
pub const DEFAULT_ENCRYPTION_DOC: &str = lagoa_store::sealing::DEFAULT_ENCRYPTION_CONFIG;

/// What a bucket's default asks of a write that asked for nothing.
pub fn default_request(default: &DefaultEncryption) -> SseRequest {
    match default.algorithm.as_str() {
        "aws:kms" => SseRequest::Kms(default.kms_key_id.clone()),
        _ => SseRequest::S3,
    }
}

/// Turns a write's request into the new object's sealing (`None`: stored in plaintext).
pub fn new_sealing(request: &SseRequest, keyring: &lagoa_store::sealing::Keyring) -> S3Result<Option<NewSealing>> {
    let kms_missing = || {
        s3_error!(
            NotImplemented,
            "Server side encryption specified but KMS is not configured (set LAGOA_KMS_SECRET_KEY or --kms-key-file)"
        )
    };
    let sealing = match request {
        SseRequest::None => return Ok(None),
        SseRequest::Customer(key, md5) => NewSealing::with_customer_key(key, md5),
        SseRequest::S3 => {
            let master = keyring.default_key().ok_or_else(kms_missing)?;
            NewSealing::with_master_key(SseKind::S3, keyring, master).map_err(crate::errors::to_s3)?
        }
        SseRequest::Kms(name) => {
            let master = match name {
                Some(name) if keyring.has(name) => name.as_str(),
                Some(name) => {
                    return Err(custom(
                        "KMS.NotFoundException",
                        http::StatusCode::BAD_REQUEST,
                        format!("Invalid keyId '{name}'"),
                    ));
                }
                None => keyring.default_key().ok_or_else(kms_missing)?,
            };
            NewSealing::with_master_key(SseKind::Kms, keyring, master).map_err(crate::errors::to_s3)?
        }
    };
    Ok(Some(sealing))
}

/// The ETag of a body sealed under `key` (an object's data key, or a part's key): SSE-S3
/// answers with the plaintext's MD5, as S3 does; SSE-C and SSE-KMS ETags are not MD5s of the
/// data in S3, so they get a keyed hash of it. `None` for a plaintext body (its stored MD5).
pub fn sealed_etag(kind: Option<SseKind>, key: Option<&Key>, plain: &crate::body::Plaintext) -> Option<String> {
    match (kind?, key?) {
        (SseKind::S3, _) => Some(plain.md5_hex()),
        (SseKind::Kms | SseKind::Customer, key) => Some(key.opaque_etag(&plain.md5)),
    }
}

/// What a part carries to the store besides its bytes: its checksums, and for a part of an
/// encrypted upload its ETag (see [`sealed_etag`]) and key salt (see [`part_key`]).
pub fn sealed_part(
    upload: Option<&Encryption>,
    part_key: Option<(Key, String)>,
    plain: &crate::body::Plaintext,
    checksums: lagoa_store::Checksums,
) -> lagoa_store::NewPart {
    let (key, key_salt) = part_key.unzip();
    lagoa_store::NewPart {
        checksums,
        etag: sealed_etag(upload.map(|e| e.kind), key.as_ref(), plain),
        key_salt,
    }
}

/// The key a read of an object must use, checked against how the object was written: an SSE-C
/// object needs its key (400 without, 403 with another); other objects take no SSE-C key.
pub fn read_key(encryption: Option<&Encryption>, fields: CustomerKeyFields<'_>) -> S3Result<Option<Key>> {
    let given = fields.key()?;
    match (encryption, given) {
        (Some(e), Some((key, _))) if e.kind == SseKind::Customer => {
            if e.customer_key_matches(&key) {
                Ok(Some(key))
            } else {
                Err(s3_error!(
                    AccessDenied,
                    "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
                ))
            }
        }
        (Some(e), None) if e.kind == SseKind::Customer => Err(s3_error!(
            InvalidRequest,
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
        )),
        (_, Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The encryption parameters are not applicable to this object."
        )),
        (_, None) => Ok(None),
    }
}

/// The key a part of an encrypted multipart upload is sealed with, fresh for this upload of the
/// part, and its salt to store with the part (`None`: plaintext upload). SSE-C uploads need the
/// customer's key with every part, the same key as at creation.
pub fn part_key(
    upload: Option<&Encryption>,
    fields: CustomerKeyFields<'_>,
    keyring: &lagoa_store::sealing::Keyring,
    part: u32,
) -> S3Result<Option<(Key, String)>> {
    let given = fields.key()?;
    let Some(upload) = upload else {
        return match given {
            Some(_) => Err(s3_error!(
                InvalidRequest,
                "The encryption parameters are not applicable to this object."
            )),
            None => Ok(None),
        };
    };
    let customer = match (upload.kind, given) {
        (SseKind::Customer, None) => {
            return Err(s3_error!(
                InvalidRequest,
                "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
            ));
        }
        (SseKind::Customer, Some((key, _))) if !upload.customer_key_matches(&key) => {
            return Err(s3_error!(
                InvalidRequest,
                "The provided encryption parameters did not match the ones used originally."
            ));
        }
        (SseKind::Customer, Some((key, _))) => Some(key),
        (_, Some(_)) => {
            return Err(s3_error!(
                InvalidRequest,
                "The encryption parameters are not applicable to this object."
            ));
        }
        (_, None) => None,
    };
    let data_key = upload.data_key(keyring, customer.as_ref()).map_err(crate::errors::to_s3)?;
    Ok(Some(data_key.new_part_key(part)))
}

/// The SSE headers of a response about an object (or an upload) sealed as `encryption`.
#[derive(Debug, Default)]
pub struct SseView {
    pub server_side_encryption: Option<ServerSideEncryption>,
    pub kms_key_id: Option<String>,
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
}

/// What S3 reports about an object's encryption.
pub fn view(encryption: Option<&Encryption>) -> SseView {
    let Some(e) = encryption else {
        return SseView::default();
    };
    match e.kind {
        SseKind::S3 => SseView {
            server_side_encryption: Some(ServerSideEncryption::from_static(ServerSideEncryption::AES256)),
            ..Default::default()
        },
        SseKind::Kms => SseView {
            server_side_encryption: Some(ServerSideEncryption::from_static(ServerSideEncryption::AWS_KMS)),
            kms_key_id: e.master_key.as_ref().map(|k| format!("arn:aws:kms:{k}")),
            ..Default::default()
        },
        SseKind::Customer => SseView {
            customer_algorithm: Some("AES256".to_owned()),
            customer_key_md5: e.customer_key_md5.clone(),
            ..Default::default()
        },
    }
}

/// Fills an s3s output's SSE fields from a [`SseView`].
macro_rules! set_sse_view {
    ($out:expr, $view:expr) => {{
        let v = $view;
        $out.server_side_encryption = v.server_side_encryption;
        $out.ssekms_key_id = v.kms_key_id;
        $out.sse_customer_algorithm = v.customer_algorithm;
        $out.sse_customer_key_md5 = v.customer_key_md5;
    }};
}
pub(crate) use set_sse_view;

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(key: &[u8]) -> (String, String) {
        let e = base64::engine::general_purpose::STANDARD;
        (e.encode(key), e.encode(Md5::digest(key)))
    }

    fn code(r: S3Result<SseRequest>) -> String {
        r.unwrap_err().code().as_str().to_owned()
    }

    #[test]
    fn requests_parse_and_contradictions_are_refused() {
        let f = |alg, kms| SseFields {
            algorithm: alg,
            kms_key_id: kms,
            ..Default::default()
        };
        assert_eq!(f(None, None).request().unwrap(), SseRequest::None);
        assert_eq!(f(Some("AES256"), None).request().unwrap(), SseRequest::S3);
        assert_eq!(f(Some("aws:kms"), None).request().unwrap(), SseRequest::Kms(None));
        assert_eq!(
            f(Some("aws:kms"), Some("arn:aws:kms:us-east-1:1:key/k1")).request().unwrap(),
            SseRequest::Kms(Some("k1".into()))
        );
        assert_eq!(code(f(Some("AES128"), None).request()), "InvalidArgument");
        assert_eq!(code(f(Some("AES256"), Some("k1")).request()), "InvalidArgument");
        assert_eq!(code(f(Some("aws:kms:dsse"), None).request()), "NotImplemented");
        let (key, md5) = customer(&[3u8; 32]);
        let c = |alg: Option<&'static str>, key: Option<&str>, md5: Option<&str>| {
            SseFields {
                customer: CustomerKeyFields {
                    algorithm: alg,
                    key,
                    key_md5: md5,
                },
                ..Default::default()
            }
            .request()
        };
        assert!(matches!(
            c(Some("AES256"), Some(&key), Some(&md5)).unwrap(),
            SseRequest::Customer(..)
        ));
        assert_eq!(
            code(c(Some("AES128"), Some(&key), Some(&md5))),
            "InvalidEncryptionAlgorithmError"
        );
        assert_eq!(code(c(None, Some(&key), Some(&md5))), "InvalidArgument");
        assert_eq!(code(c(Some("AES256"), None, None)), "InvalidArgument");
        assert_eq!(code(c(Some("AES256"), Some(&key), Some("AAAA"))), "InvalidArgument");
        let (short, short_md5) = customer(&[3u8; 16]);
        assert_eq!(code(c(Some("AES256"), Some(&short), Some(&short_md5))), "InvalidArgument");
    }

    #[test]
    fn reads_need_the_right_customer_key() {
        let raw = [5u8; 32];
        let key = Key::from_slice(&raw).unwrap();
        let record = NewSealing::with_customer_key(&key, "md5").record;
        let (k, m) = customer(&raw);
        let fields = CustomerKeyFields {
            algorithm: Some("AES256"),
            key: Some(&k),
            key_md5: Some(&m),
        };
        assert_eq!(read_key(Some(&record), fields).unwrap(), Some(key.clone()));
        let err = read_key(Some(&record), CustomerKeyFields::default()).unwrap_err();
        assert_eq!(err.code().as_str(), "InvalidRequest");
        let (other, other_md5) = customer(&[9u8; 32]);
        let wrong = CustomerKeyFields {
            algorithm: Some("AES256"),
            key: Some(&other),
            key_md5: Some(&other_md5),
        };
        assert_eq!(read_key(Some(&record), wrong).unwrap_err().code().as_str(), "AccessDenied");
        assert_eq!(read_key(None, fields).unwrap_err().code().as_str(), "InvalidRequest");
        assert_eq!(read_key(None, CustomerKeyFields::default()).unwrap(), None);
    }
}
