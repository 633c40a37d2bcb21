//! The encryption `mc` and madmin-go put around admin request and response bodies that carry
//! secrets (new users' secret keys, user listings): madmin's `EncryptData`/`DecryptData`.
//!
//! Layout: `salt (32) | AEAD id (1) | nonce (8) | sio-go stream`. The key is Argon2id(password =
//! the signer's secret key, salt; t=1, m=64 MiB, p=4) for ids 0 (AES-256-GCM) and 1
//! (ChaCha20-Poly1305), PBKDF2-SHA256 (8192 rounds) for id 2 (AES-256-GCM, madmin's FIPS mode).
//! The sio-go stream cuts the plaintext into 16 KiB fragments, each sealed with the nonce
//! `nonce ‖ seq (u32 LE, from 1)` and the associated data `flag ‖ tag`, where `flag` is 0x80 on
//! the last fragment and `tag` is the AEAD's tag of an empty message under sequence number 0 —
//! so fragments cannot be reordered, dropped or cut off. Verified against vectors made by
//! Debian's madmin-go 2.0.7 (`testdata/madmin-vectors.json`).

use std::num::NonZeroU32;

use ring::aead::{AES_256_GCM, Aad, Algorithm, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 8;
const HEADER_LEN: usize = SALT_LEN + 1 + NONCE_LEN;
const FRAGMENT: usize = 16 * 1024;
const TAG_LEN: usize = 16;
const FINAL: u8 = 0x80;

const ARGON2ID_AES_GCM: u8 = 0x00;
const ARGON2ID_CHACHA20_POLY1305: u8 = 0x01;
const PBKDF2_AES_GCM: u8 = 0x02;

/// Why a body could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealedBodyError {
    #[error("the body is too short to be encrypted admin data")]
    TooShort,
    #[error("unknown encryption algorithm id {0}")]
    UnknownAlgorithm(u8),
    #[error("the body was not encrypted with the signer's secret key, or it was altered")]
    NotAuthentic,
}

/// madmin's `DecryptData`: the plaintext of a body sealed under `password`.
pub fn open(password: &str, sealed: &[u8]) -> Result<Vec<u8>, SealedBodyError> {
    if sealed.len() < HEADER_LEN + TAG_LEN {
        return Err(SealedBodyError::TooShort);
    }
    let (salt, rest) = sealed.split_at(SALT_LEN);
    let (id, rest) = (rest[0], &rest[1..]);
    let (nonce, mut body) = rest.split_at(NONCE_LEN);
    let key = stream_key(id, password, salt)?;
    let stream = Stream::new(&key, nonce);
    let mut plain = Vec::with_capacity(body.len());
    let mut seq = 1u32;
    loop {
        let last = body.len() <= FRAGMENT + TAG_LEN;
        let (fragment, more) = body.split_at(if last { body.len() } else { FRAGMENT + TAG_LEN });
        let mut buf = fragment.to_vec();
        let opened = stream.open(seq, last, &mut buf)?;
        plain.extend_from_slice(opened);
        if last {
            return Ok(plain);
        }
        body = more;
        seq = seq.checked_add(1).ok_or(SealedBodyError::NotAuthentic)?;
    }
}

/// madmin's `EncryptData` (Argon2id + AES-256-GCM): `plain` sealed under `password`.
pub fn seal(password: &str, plain: &[u8]) -> Vec<u8> {
    let rng = SystemRandom::new();
    let mut header = [0u8; HEADER_LEN];
    // The system RNG failing leaves nothing sensible to do; ring never fails on Linux.
    rng.fill(&mut header).expect("system random number generator");
    header[SALT_LEN] = ARGON2ID_AES_GCM;
    let key = stream_key(ARGON2ID_AES_GCM, password, &header[..SALT_LEN]).expect("known algorithm");
    let stream = Stream::new(&key, &header[SALT_LEN + 1..]);
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN * (plain.len() / FRAGMENT + 1));
    out.extend_from_slice(&header);
    // Full fragments first; the last one holds the rest (a full one when the length is a
    // multiple of the fragment size, an empty one for an empty body), as sio-go writes them.
    let full = plain.len().saturating_sub(1) / FRAGMENT;
    let mut seq = 1u32;
    for chunk in plain[..full * FRAGMENT].chunks(FRAGMENT) {
        out.extend_from_slice(&stream.seal(seq, false, chunk));
        seq += 1;
    }
    out.extend_from_slice(&stream.seal(seq, true, &plain[full * FRAGMENT..]));
    out
}

/// The stream key for an algorithm id.
fn stream_key(id: u8, password: &str, salt: &[u8]) -> Result<LessSafeKey, SealedBodyError> {
    let mut key = [0u8; 32];
    let algorithm: &'static Algorithm = match id {
        ARGON2ID_AES_GCM | ARGON2ID_CHACHA20_POLY1305 => {
            // madmin's fixed cost: t=1, m=64 MiB, p=4.
            let params = argon2::Params::new(64 * 1024, 1, 4, Some(32)).expect("valid Argon2 parameters");
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password.as_bytes(), salt, &mut key)
                .map_err(|_| SealedBodyError::NotAuthentic)?;
            if id == ARGON2ID_AES_GCM {
                &AES_256_GCM
            } else {
                &CHACHA20_POLY1305
            }
        }
        PBKDF2_AES_GCM => {
            let rounds = NonZeroU32::new(8192).expect("non-zero");
            ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, password.as_bytes(), &mut key);
            &AES_256_GCM
        }
        other => return Err(SealedBodyError::UnknownAlgorithm(other)),
    };
    let unbound = UnboundKey::new(algorithm, &key).expect("32-byte key");
    Ok(LessSafeKey::new(unbound))
}

/// One sio-go stream: its key, nonce prefix and the tag that binds every fragment to it.
struct Stream<'k> {
    key: &'k LessSafeKey,
    nonce: [u8; NONCE_LEN],
    header_tag: [u8; TAG_LEN],
}

impl<'k> Stream<'k> {
    fn new(key: &'k LessSafeKey, nonce: &[u8]) -> Self {
        let mut prefix = [0u8; NONCE_LEN];
        prefix.copy_from_slice(nonce);
        let tag = key
            .seal_in_place_separate_tag(fragment_nonce(&prefix, 0), Aad::empty(), &mut [])
            .expect("sealing an empty message");
        let mut header_tag = [0u8; TAG_LEN];
        header_tag.copy_from_slice(tag.as_ref());
        Self {
            key,
            nonce: prefix,
            header_tag,
        }
    }

    fn aad(&self, last: bool) -> [u8; 1 + TAG_LEN] {
        let mut aad = [0u8; 1 + TAG_LEN];
        aad[0] = if last { FINAL } else { 0 };
        aad[1..].copy_from_slice(&self.header_tag);
        aad
    }

    fn seal(&self, seq: u32, last: bool, plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        let aad = self.aad(last);
        self.key
            .seal_in_place_append_tag(fragment_nonce(&self.nonce, seq), Aad::from(&aad[..]), &mut buf)
            .expect("fragment within AEAD limits");
        buf
    }

    fn open<'b>(&self, seq: u32, last: bool, buf: &'b mut [u8]) -> Result<&'b [u8], SealedBodyError> {
        let aad = self.aad(last);
        self.key
            .open_in_place(fragment_nonce(&self.nonce, seq), Aad::from(&aad[..]), buf)
            .map(|plain| &*plain)
            .map_err(|_| SealedBodyError::NotAuthentic)
    }
}

fn fragment_nonce(prefix: &[u8; NONCE_LEN], seq: u32) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_LEN].copy_from_slice(prefix);
    nonce[NONCE_LEN..].copy_from_slice(&seq.to_le_bytes());
    Nonce::assume_unique_for_key(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        password: String,
        plaintext: String,
        ciphertext: String,
    }

    fn plaintext(spec: &str) -> Vec<u8> {
        match spec.strip_prefix("x*") {
            Some(n) => vec![b'x'; n.parse().unwrap()],
            None => hex::decode(spec).unwrap(),
        }
    }

    #[test]
    fn opens_what_madmin_go_sealed() {
        let vectors: Vec<Vector> = serde_json::from_str(include_str!("testdata/madmin-vectors.json")).unwrap();
        assert!(vectors.len() >= 5);
        for v in &vectors {
            let sealed = hex::decode(&v.ciphertext).unwrap();
            assert_eq!(
                open(&v.password, &sealed).unwrap(),
                plaintext(&v.plaintext),
                "{}",
                v.plaintext
            );
            assert_eq!(open("another-secret", &sealed), Err(SealedBodyError::NotAuthentic));
        }
        // A fragment cut off at the boundary is detected (the new last one was not final).
        let boundary = vectors.iter().find(|v| v.plaintext == "x*16385").unwrap();
        let sealed = hex::decode(&boundary.ciphertext).unwrap();
        assert_eq!(
            open(&boundary.password, &sealed[..HEADER_LEN + FRAGMENT + TAG_LEN]),
            Err(SealedBodyError::NotAuthentic)
        );
    }

    #[test]
    fn seals_in_the_layout_madmin_go_opens() {
        for len in [0, 1, FRAGMENT - 1, FRAGMENT, FRAGMENT + 1, 3 * FRAGMENT] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = seal("pw-12345678", &plain);
            let fragments = len.max(1).div_ceil(FRAGMENT);
            assert_eq!(sealed.len(), HEADER_LEN + len + fragments * TAG_LEN, "{len}");
            assert_eq!(open("pw-12345678", &sealed).unwrap(), plain);
            let mut flipped = sealed.clone();
            *flipped.last_mut().unwrap() ^= 1;
            assert_eq!(open("pw-12345678", &flipped), Err(SealedBodyError::NotAuthentic));
        }
        assert_eq!(open("pw", &[0u8; 20]), Err(SealedBodyError::TooShort));
        let mut unknown = seal("pw", b"x");
        unknown[SALT_LEN] = 9;
        assert_eq!(open("pw", &unknown), Err(SealedBodyError::UnknownAlgorithm(9)));
    }
}
