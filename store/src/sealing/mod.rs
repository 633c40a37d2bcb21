//! Encryption at rest. A sealed object's bytes are stored as authenticated 64 KiB packages
//! ([`format`]) under a random per-object data key, itself stored only sealed under a master key
//! or the customer's key ([`keys`]). Sealing happens before the store sees the bytes (the S3 layer
//! must hash the plaintext for the ETag and checksums); opening happens here, so every reader — S3
//! GETs and the compute engine's scans — gets plaintext through the same code.

pub mod document;
pub mod format;
pub mod keys;

use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
pub use format::{HashingSealer, Opener, SealedSpan, Sealer, SpanOpener, plain_len, sealed_len};
pub use keys::{DEFAULT_KEY_NAME, Key, Keyring};

/// The bucket config document of a bucket's default encryption (PutBucketEncryption): every
/// writer (the S3 layer, the compute engine) seals new objects as it says.
pub const DEFAULT_ENCRYPTION_CONFIG: &str = "encryption";

/// A bucket's default encryption, as its [`DEFAULT_ENCRYPTION_CONFIG`] document holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultEncryption {
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    /// The keyring key of `aws:kms` (`None`: the default key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl DefaultEncryption {
    /// The stored document.
    pub fn decode(doc: &[u8]) -> StoreResult<Self> {
        serde_json::from_slice(doc).map_err(|e| StoreError::Corrupt(format!("a bucket's default encryption does not parse: {e}")))
    }

    /// The document to store.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Which encryption objects written under this default get.
    pub fn kind(&self) -> SseKind {
        if self.algorithm == "aws:kms" {
            SseKind::Kms
        } else {
            SseKind::S3
        }
    }

    /// A new object's sealing under this default, for writers that ask for nothing else
    /// (the compute engine's query output); `KeyUnavailable` when the keyring lacks the key.
    pub fn new_sealing(&self, keyring: &Keyring) -> StoreResult<NewSealing> {
        let master = match (self.kind(), &self.kms_key_id) {
            (SseKind::Kms, Some(name)) => name.clone(),
            _ => keyring
                .default_key()
                .ok_or_else(|| StoreError::KeyUnavailable("no default master key (LAGOA_KMS_SECRET_KEY)".into()))?
                .to_owned(),
        };
        NewSealing::with_master_key(self.kind(), keyring, &master)
    }

    /// The ETag of an object sealed under it (the S3 layer's rule: SSE-S3 answers the
    /// plaintext's MD5, SSE-KMS a keyed hash of it, as S3's are not MD5s of the data).
    pub fn etag(&self, data_key: &Key, plaintext_md5: &[u8; 16]) -> String {
        match self.kind() {
            SseKind::Kms => data_key.opaque_etag(plaintext_md5),
            _ => hex::encode(plaintext_md5),
        }
    }
}

/// What the sealed data key of an object is bound to: a data key cannot be moved to another use.
const DATA_KEY_CONTEXT: &[u8] = b"lagoa object data key";

/// Which S3 encryption an object was written with (what GET/HEAD report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SseKind {
    /// SSE-S3 (`AES256`): sealed under the keyring's default key.
    S3,
    /// SSE-KMS (`aws:kms`): sealed under a named key of the keyring.
    Kms,
    /// SSE-C: sealed under the customer's key, which is never stored.
    Customer,
}

/// How an object's (or an upload's) bytes are sealed; stored in its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub kind: SseKind,
    /// The master key that sealed the data key (SSE-S3, SSE-KMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
    /// The data key, sealed (hex).
    pub sealed_key: String,
    /// SSE-C: salted HMAC of the customer's key (hex), to refuse a wrong key up front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
    /// SSE-C: base64 MD5 of the customer's key, echoed on responses as S3 does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_key_md5: Option<String>,
}

/// A new object's data key and the record that keeps it.
pub struct NewSealing {
    pub data_key: Key,
    pub record: Encryption,
}

impl NewSealing {
    /// SSE-S3 or SSE-KMS: a fresh data key sealed under the keyring's key `master`.
    pub fn with_master_key(kind: SseKind, keyring: &Keyring, master: &str) -> StoreResult<Self> {
        let data_key = Key::random();
        let sealed = keyring.get(master)?.seal(&data_key, DATA_KEY_CONTEXT);
        Ok(Self {
            data_key,
            record: Encryption {
                kind,
                master_key: Some(master.to_owned()),
                sealed_key: hex::encode(sealed),
                key_check: None,
                customer_key_md5: None,
            },
        })
    }

    /// SSE-C: a fresh data key sealed under the customer's key.
    pub fn with_customer_key(customer: &Key, key_md5: &str) -> Self {
        let data_key = Key::random();
        Self {
            record: Encryption {
                kind: SseKind::Customer,
                master_key: None,
                sealed_key: hex::encode(customer.seal(&data_key, DATA_KEY_CONTEXT)),
                key_check: Some(hex::encode(customer.check_value())),
                customer_key_md5: Some(key_md5.to_owned()),
            },
            data_key,
        }
    }
}

impl Encryption {
    /// Whether `customer` is the key this SSE-C object was written with.
    pub fn customer_key_matches(&self, customer: &Key) -> bool {
        self.key_check
            .as_deref()
            .and_then(|c| hex::decode(c).ok())
            .is_some_and(|check| customer.matches_check(&check))
    }

    /// The object's data key: unsealed with the keyring (SSE-S3, SSE-KMS) or the customer's key.
    pub fn data_key(&self, keyring: &Keyring, customer: Option<&Key>) -> StoreResult<Key> {
        let sealed = hex::decode(&self.sealed_key).map_err(|_| StoreError::Corrupt("sealed data key is not hex".into()))?;
        let sealer = match (self.kind, customer) {
            (SseKind::Customer, Some(key)) if self.customer_key_matches(key) => key,
            (SseKind::Customer, _) => return Err(StoreError::CustomerKey),
            (SseKind::S3 | SseKind::Kms, _) => {
                let name = self
                    .master_key
                    .as_deref()
                    .ok_or_else(|| StoreError::Corrupt("sealed object without a master key name".into()))?;
                keyring.get(name)?
            }
        };
        sealer
            .unseal(&sealed, DATA_KEY_CONTEXT)
            .ok_or_else(|| StoreError::Tampered("the object's data key does not open under its key".into()))
    }
}

/// The key of one sealed stream of an object: the data key itself, or for a multipart object
/// the key of the part upload that extent came from (part number + the extent's salt).
pub(crate) fn stream_key(data_key: &Key, meta: &crate::meta::ObjectMeta, extent: usize) -> StoreResult<Key> {
    if !meta.multipart {
        return Ok(data_key.clone());
    }
    let part = meta
        .part_numbers
        .get(extent)
        .ok_or_else(|| StoreError::Corrupt("a sealed multipart object lacks its part numbers".into()))?;
    let salt = meta.extents[extent]
        .key_salt
        .as_deref()
        .map(hex::decode)
        .transpose()
        .map_err(|_| StoreError::Corrupt("a sealed part's key salt is not hex".into()))?
        .ok_or_else(|| StoreError::Corrupt("a sealed part has no key salt".into()))?;
    Ok(data_key.for_part(*part, &salt))
}
