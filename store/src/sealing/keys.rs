//! Keys: every object gets a random data key, stored only sealed (AES-256-GCM) under a master key
//! from the keyring (SSE-S3, SSE-KMS) or under the customer's key (SSE-C, which is never stored:
//! a salted HMAC of it is, to tell a wrong key from a damaged record).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;

use crate::error::{StoreError, StoreResult};

/// A 256-bit key. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A fresh key from the OS's random source.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Self(k)
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The key's bytes: to hand an SSE-C key on to the compute sidecar with a forwarded
    /// S3 Select (never stored).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// This key as an AES-256-GCM key (ring's: BoringSSL's AES-NI/CLMUL/AVX code).
    pub(crate) fn aes_gcm(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("AES-256 takes a 32-byte key"))
    }

    /// The key of one upload of one part of a multipart object: derived from the part number
    /// and a random salt of that upload, so a part uploaded again (a retry, a correction) is
    /// sealed under a new key — nonces restart at 0 in every stream and must never meet the same
    /// key twice.
    pub fn for_part(&self, part: u32, salt: &[u8]) -> Key {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"lagoa part key");
        mac.update(&part.to_be_bytes());
        mac.update(salt);
        Key(mac.finalize().into_bytes().into())
    }

    /// A fresh part key (see [`Key::for_part`]) and its salt (hex), to be stored with the part.
    pub fn new_part_key(&self, part: u32) -> (Key, String) {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        (self.for_part(part, &salt), hex::encode(salt))
    }

    /// Seals `data_key` under this key, bound to `context` (what the data key is for).
    pub fn seal(&self, data_key: &Key, context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = data_key.0.to_vec();
        self.aes_gcm()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
            .expect("AES-GCM seals 32 bytes");
        [nonce.as_slice(), &sealed].concat()
    }

    /// Opens a data key sealed by [`Key::seal`] under this key; `None` if this is not its key.
    pub fn unseal(&self, sealed: &[u8], context: &[u8]) -> Option<Key> {
        let (nonce, body) = sealed.split_at_checked(12)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self.aes_gcm().open_in_place(nonce, Aad::from(context), &mut body).ok()?;
        Key::from_slice(plain)
    }

    /// An ETag for a body sealed under this key whose plaintext has MD5 `md5`: S3 does not
    /// give SSE-C and SSE-KMS objects their plaintext's MD5 (it would identify known content),
    /// so they get this keyed hash of it instead — stable for the object, meaningless without
    /// the key.
    pub fn opaque_etag(&self, md5: &[u8; 16]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"lagoa etag");
        mac.update(md5);
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A check value for this key: HMAC-SHA256 under the key of a random salt, stored as
    /// `salt ‖ mac` so a later request's key can be compared without storing the key.
    pub fn check_value(&self) -> Vec<u8> {
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        [salt.as_slice(), &self.check_mac(&salt).finalize().into_bytes()].concat()
    }

    /// Whether this key produced `check` (see [`Key::check_value`]); constant-time.
    pub fn matches_check(&self, check: &[u8]) -> bool {
        let Some((salt, expected)) = check.split_at_checked(32) else {
            return false;
        };
        self.check_mac(salt).verify_slice(expected).is_ok()
    }

    fn check_mac(&self, salt: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"lagoa customer key check");
        mac.update(salt);
        mac
    }
}

/// The server's master keys by name. The first one configured is the default: SSE-S3 seals
/// with it; SSE-KMS names one.
#[derive(Clone, Default, Debug)]
pub struct Keyring {
    keys: Arc<BTreeMap<String, Key>>,
    default: Option<String>,
}

/// The name of a master key given without one (`LAGOA_KMS_SECRET_KEY=<base64>`).
pub const DEFAULT_KEY_NAME: &str = "lagoa-default-key";

impl Keyring {
    /// Parses keys written as MinIO's `MINIO_KMS_SECRET_KEY` is, `name:base64`, or as a bare
    /// base64 key (named [`DEFAULT_KEY_NAME`]); one per line, `#` comments and blanks skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        let mut default = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, encoded) = match line.rsplit_once(':') {
                Some((name, encoded)) => (name.trim(), encoded.trim()),
                None => (DEFAULT_KEY_NAME, line),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                return Err(format!("line {}: key name {name:?} must be letters, digits, - _ . /", n + 1));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("line {}: key {name:?} is not base64: {e}", n + 1))?;
            let key = Key::from_slice(&bytes)
                .ok_or_else(|| format!("line {}: key {name:?} is {} bytes, not 32", n + 1, bytes.len()))?;
            if keys.insert(name.to_owned(), key).is_some() {
                return Err(format!("line {}: key {name:?} is given twice", n + 1));
            }
            default.get_or_insert_with(|| name.to_owned());
        }
        Ok(Self {
            keys: Arc::new(keys),
            default,
        })
    }

    /// The default master key's name (SSE-S3's key), if any key is configured.
    pub fn default_key(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Whether a master key of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.keys.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> StoreResult<&Key> {
        self.keys
            .get(name)
            .ok_or_else(|| StoreError::KeyUnavailable(format!("the master key {name:?} is not in this server's keyring")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_open_only_under_their_key_and_context() {
        let (master, data) = (Key::random(), Key::random());
        let sealed = master.seal(&data, b"object");
        assert_eq!(master.unseal(&sealed, b"object"), Some(data));
        assert_eq!(master.unseal(&sealed, b"other"), None);
        assert_eq!(Key::random().unseal(&sealed, b"object"), None);
        assert_eq!(master.unseal(&sealed[..20], b"object"), None);
    }

    #[test]
    fn check_values_tell_keys_apart() {
        let key = Key::random();
        let check = key.check_value();
        assert!(key.matches_check(&check));
        assert!(!Key::random().matches_check(&check));
        assert_ne!(check, key.check_value(), "salted");
        assert!(!key.matches_check(&check[..40]));
    }

    #[test]
    fn part_keys_differ_by_part_and_by_upload() {
        let key = Key::random();
        assert_ne!(key.for_part(1, b"s"), key.for_part(2, b"s"));
        assert_eq!(key.for_part(1, b"s"), key.for_part(1, b"s"));
        let (a, salt_a) = key.new_part_key(1);
        let (b, salt_b) = key.new_part_key(1);
        assert_ne!(a, b, "the same part uploaded twice gets two keys");
        assert_ne!(salt_a, salt_b);
        assert_eq!(a, key.for_part(1, &hex::decode(salt_a).unwrap()));
    }

    #[test]
    fn keyrings_parse_minio_and_bare_forms() {
        let k = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let ring = Keyring::parse(&format!("# keys\nfirst:{k}\n\nsecond-key:{k}\n")).unwrap();
        assert_eq!(ring.default_key(), Some("first"));
        assert!(ring.has("second-key") && !ring.has("third"));
        let bare = Keyring::parse(&k).unwrap();
        assert_eq!(bare.default_key(), Some(DEFAULT_KEY_NAME));
        assert!(Keyring::parse("x:AAAA").unwrap_err().contains("not 32"));
        assert!(Keyring::parse("x:!!").unwrap_err().contains("base64"));
        assert!(Keyring::parse(&format!("a:{k}\na:{k}")).unwrap_err().contains("twice"));
        assert!(Keyring::parse(&format!("bad name:{k}")).is_err());
        assert_eq!(Keyring::parse("").unwrap().default_key(), None);
    }
}
