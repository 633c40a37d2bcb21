//! Site documents sealed at rest: the admin API's users document holds secret keys, so when the
//! server has a master key it is stored sealed under the keyring's default key, as MinIO seals
//! its IAM data under its KMS. Without a keyring documents stay plain (as MinIO's without a KMS),
//! and a plain document is still read after a key is configured: the next write seals it.

use ring::aead::{Aad, Nonce};
use serde::{Deserialize, Serialize};

use super::keys::{Key, Keyring};
use crate::error::{StoreError, StoreResult};

/// What a sealed document starts with; a plain one (JSON) never does.
const MAGIC: &[u8] = b"lagoa-sealed-document/1\n";

/// The context a document's data key is sealed under, so it cannot pass for an object's.
const DOCUMENT_KEY_CONTEXT: &[u8] = b"lagoa site document key";

/// The stored form after [`MAGIC`].
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The master key that seals `sealed_key`.
    master_key: String,
    /// The document's fresh data key, sealed (hex).
    sealed_key: String,
    /// The document under the data key, AES-256-GCM with the document's name as AAD (hex).
    body: String,
}

/// `plain` as it is to be stored: sealed under the keyring's default key if there is one.
pub fn seal_document(keyring: &Keyring, name: &str, plain: Vec<u8>) -> StoreResult<Vec<u8>> {
    let Some(master) = keyring.default_key() else {
        return Ok(plain);
    };
    let data_key = Key::random();
    let sealed_key = keyring.get(master)?.seal(&data_key, DOCUMENT_KEY_CONTEXT);
    let mut body = plain;
    // A fresh key per document, so the all-zero nonce is never used twice under one key.
    data_key
        .aes_gcm()
        .seal_in_place_append_tag(Nonce::assume_unique_for_key([0; 12]), Aad::from(name.as_bytes()), &mut body)
        .map_err(|_| StoreError::Internal("sealing a site document failed".into()))?;
    let envelope = Envelope {
        master_key: master.to_owned(),
        sealed_key: hex::encode(sealed_key),
        body: hex::encode(body),
    };
    let json = serde_json::to_vec(&envelope).map_err(|e| StoreError::Internal(format!("encoding a sealed document: {e}")))?;
    Ok([MAGIC, &json].concat())
}

/// The document `stored` holds: opened with the keyring if sealed, as is if plain.
pub fn open_document(keyring: &Keyring, name: &str, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
    let Some(json) = stored.strip_prefix(MAGIC) else {
        return Ok(stored);
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("the sealed site document {name:?}: {what}"));
    let envelope: Envelope = serde_json::from_slice(json).map_err(|e| corrupt(&e.to_string()))?;
    let sealed_key = hex::decode(&envelope.sealed_key).map_err(|_| corrupt("sealed key is not hex"))?;
    let mut body = hex::decode(&envelope.body).map_err(|_| corrupt("body is not hex"))?;
    let data_key = keyring
        .get(&envelope.master_key)?
        .unseal(&sealed_key, DOCUMENT_KEY_CONTEXT)
        .ok_or_else(|| {
            StoreError::Tampered(format!(
                "the site document {name:?}: its key does not open under {:?}",
                envelope.master_key
            ))
        })?;
    let plain = data_key
        .aes_gcm()
        .open_in_place(Nonce::assume_unique_for_key([0; 12]), Aad::from(name.as_bytes()), &mut body)
        .map_err(|_| StoreError::Tampered(format!("the site document {name:?} failed authentication")))?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(key: u8) -> Keyring {
        Keyring::parse(&format!("site:{}", base64_key(key))).unwrap()
    }

    fn base64_key(byte: u8) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    #[test]
    fn a_document_is_sealed_under_the_default_key_and_opens_only_with_it() {
        let plain = br#"{"users":{"u":{"secret_key":"very-secret-key"}}}"#.to_vec();
        let stored = seal_document(&keyring(1), "iam", plain.clone()).unwrap();
        assert!(!stored.windows(15).any(|w| w == b"very-secret-key"));
        assert_eq!(open_document(&keyring(1), "iam", stored.clone()).unwrap(), plain);
        // Another key of the same name, another document name, no keyring: refused.
        assert!(matches!(
            open_document(&keyring(2), "iam", stored.clone()),
            Err(StoreError::Tampered(_))
        ));
        assert!(matches!(
            open_document(&keyring(1), "other", stored.clone()),
            Err(StoreError::Tampered(_))
        ));
        assert!(matches!(
            open_document(&Keyring::default(), "iam", stored),
            Err(StoreError::KeyUnavailable(_))
        ));
    }

    #[test]
    fn without_a_keyring_documents_stay_plain_and_plain_ones_still_open() {
        let plain = b"{}".to_vec();
        assert_eq!(seal_document(&Keyring::default(), "iam", plain.clone()).unwrap(), plain);
        assert_eq!(open_document(&keyring(1), "iam", plain.clone()).unwrap(), plain);
    }
}
