//! The sealed-stream format: a body cut into 64 KiB packages, each sealed on its own with
//! AES-256-GCM (like MinIO's DARE). A range read opens only the packages it touches, and every
//! package is authenticated: a flipped, swapped, dropped or appended package fails to open.
//!
//! Package `i` of a stream is sealed with nonce `final_flag (4 bytes) ‖ i (8 bytes, big-endian)`
//! under the stream's own key (one per object, one per part of a multipart object), so packages
//! cannot move within or between streams, and a stream cut at a package boundary is detected
//! because its new last package was not sealed as final. An empty body is one empty package.

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag};

use super::keys::Key;
use crate::error::{StoreError, StoreResult};

/// Plaintext bytes per package.
pub const PACKAGE: u64 = 64 * 1024;
/// Bytes an AES-GCM tag adds to each package.
pub const TAG: u64 = 16;
/// Bytes one full package takes sealed.
pub const SEALED_PACKAGE: u64 = PACKAGE + TAG;

/// Packages a body of `plain` bytes is cut into (never zero: an empty body is one empty package).
pub fn package_count(plain: u64) -> u64 {
    plain.div_ceil(PACKAGE).max(1)
}

/// Size on disk of a sealed body of `plain` bytes.
pub fn sealed_len(plain: u64) -> u64 {
    plain + TAG * package_count(plain)
}

/// The plaintext size of a sealed stream of `sealed` bytes; `None` if no body seals to that size.
pub fn plain_len(sealed: u64) -> Option<u64> {
    let packages = sealed.div_ceil(SEALED_PACKAGE).max(1);
    let plain = sealed.checked_sub(TAG * packages)?;
    (sealed_len(plain) == sealed).then_some(plain)
}

fn nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3] = u8::from(last);
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// Seals a body as it arrives. The last package is only known at [`Sealer::finish`], so up to
/// one full package waits here; everything before it leaves sealed.
pub struct Sealer {
    cipher: LessSafeKey,
    next: u64,
    pending: BytesMut,
}

impl Sealer {
    /// A sealer for one stream under `key`.
    pub fn new(key: &Key) -> Self {
        Self {
            cipher: key.aes_gcm(),
            next: 0,
            pending: BytesMut::new(),
        }
    }

    /// Adds plaintext; returns the sealed packages it completed (empty while none did).
    pub fn push(&mut self, mut data: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        while !data.is_empty() {
            if self.pending.len() as u64 == PACKAGE {
                // More follows, so the full package waiting here is not the last one.
                self.seal_pending(false, &mut out);
            }
            let room = PACKAGE as usize - self.pending.len();
            let take = room.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        out.freeze()
    }

    /// Seals what is left as the final package.
    pub fn finish(mut self) -> Bytes {
        let mut out = BytesMut::new();
        self.seal_pending(true, &mut out);
        out.freeze()
    }

    fn seal_pending(&mut self, last: bool, out: &mut BytesMut) {
        let mut package = std::mem::take(&mut self.pending);
        package.reserve(TAG as usize);
        let tag = self
            .cipher
            .seal_in_place_separate_tag(nonce(self.next, last), Aad::empty(), &mut package)
            .expect("AES-GCM seals any package under 64 GiB");
        package.extend_from_slice(tag.as_ref());
        out.extend_from_slice(&package);
        self.next += 1;
    }
}

/// A [`Sealer`] that also computes the plaintext's MD5 (the ETag and `Content-MD5` of a sealed
/// body describe the plaintext). Hashing here, in the store, keeps the generic MD5 and AES code
/// compiled with the store's optimisation level.
pub struct HashingSealer {
    sealer: Sealer,
    md5: Md5,
}

impl HashingSealer {
    /// A hashing sealer for one stream under `key`.
    pub fn new(key: &Key) -> Self {
        Self {
            sealer: Sealer::new(key),
            md5: Md5::new(),
        }
    }

    /// Hashes and seals the next plaintext (see [`Sealer::push`]).
    pub fn push(&mut self, data: &[u8]) -> Bytes {
        self.md5.update(data);
        self.sealer.push(data)
    }

    /// The last sealed package and the plaintext's MD5.
    pub fn finish(self) -> (Bytes, [u8; 16]) {
        (self.sealer.finish(), self.md5.finalize().into())
    }
}

/// Opens the packages of one sealed stream.
pub struct Opener {
    cipher: LessSafeKey,
    /// Packages in the whole stream: the last one must have been sealed as final.
    packages: u64,
}

impl Opener {
    /// An opener for a stream of `sealed_len` bytes under `key`.
    pub fn new(key: &Key, sealed_len: u64) -> StoreResult<Self> {
        let plain = plain_len(sealed_len)
            .ok_or_else(|| StoreError::Corrupt(format!("{sealed_len} bytes is not the size of a sealed stream")))?;
        Ok(Self {
            cipher: key.aes_gcm(),
            packages: package_count(plain),
        })
    }

    /// Opens package `index` (its sealed bytes, tag last) in place, leaving the plaintext.
    pub fn open(&self, index: u64, package: &mut BytesMut) -> StoreResult<()> {
        let tampered = || StoreError::Tampered(format!("package {index} of a sealed stream failed authentication"));
        let split = package.len().checked_sub(TAG as usize).ok_or_else(tampered)?;
        let tag = Tag::try_from(&package[split..]).map_err(|_| tampered())?;
        package.truncate(split);
        let last = index + 1 == self.packages;
        self.cipher
            .open_in_place_separate_tag(nonce(index, last), Aad::empty(), tag, package, 0..)
            .map(|_| ())
            .map_err(|_| tampered())
    }
}

/// The part of one sealed stream a plaintext range needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSpan {
    /// Which stream (extent) of the object.
    pub extent: usize,
    /// First package to open, and where it starts in the stream.
    pub first_package: u64,
    pub sealed_offset: u64,
    /// Sealed bytes to read: whole packages only.
    pub sealed_len: u64,
    /// Plaintext bytes to drop from the first package, then to keep.
    pub skip: u64,
    pub take: u64,
}

/// The packages that hold plaintext `[start, end)` of an object made of sealed streams of the
/// given sizes (one per extent).
pub fn plan(sealed_sizes: &[u64], start: u64, end: u64) -> StoreResult<Vec<SealedSpan>> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    for (extent, &sealed) in sealed_sizes.iter().enumerate() {
        let plain =
            plain_len(sealed).ok_or_else(|| StoreError::Corrupt(format!("{sealed} bytes is not the size of a sealed stream")))?;
        let (s, e) = (start.max(pos), end.min(pos + plain));
        if s < e {
            let (from, to) = (s - pos, e - pos);
            let first_package = from / PACKAGE;
            let last_package = (to - 1) / PACKAGE;
            let sealed_offset = first_package * SEALED_PACKAGE;
            let sealed_end = ((last_package + 1) * SEALED_PACKAGE).min(sealed);
            out.push(SealedSpan {
                extent,
                first_package,
                sealed_offset,
                sealed_len: sealed_end - sealed_offset,
                skip: from - first_package * PACKAGE,
                take: to - from,
            });
        }
        pos += plain;
    }
    Ok(out)
}

/// Opens consecutive packages of one span as their sealed bytes arrive in chunks of any size,
/// and trims the plaintext to the span.
pub struct SpanOpener {
    opener: Opener,
    next: u64,
    buffer: BytesMut,
    skip: u64,
    remaining: u64,
}

impl SpanOpener {
    /// Opens `span` of a stream of `stream_len` sealed bytes under `key`.
    pub fn new(key: &Key, stream_len: u64, span: &SealedSpan) -> StoreResult<Self> {
        Ok(Self {
            opener: Opener::new(key, stream_len)?,
            next: span.first_package,
            buffer: BytesMut::new(),
            skip: span.skip,
            remaining: span.take,
        })
    }

    /// Adds sealed bytes; returns the plaintext of the packages they completed (one piece per
    /// package, opened in place: no copy on the way out).
    pub fn push(&mut self, data: &[u8]) -> StoreResult<Vec<Bytes>> {
        self.buffer.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buffer.len() as u64 >= SEALED_PACKAGE {
            let package = self.buffer.split_to(SEALED_PACKAGE as usize);
            self.emit(package, &mut out)?;
        }
        Ok(out)
    }

    /// Opens the shorter last package, if one is left, and checks nothing is missing.
    pub fn finish(mut self) -> StoreResult<Vec<Bytes>> {
        let mut out = Vec::new();
        if !self.buffer.is_empty() {
            let package = std::mem::take(&mut self.buffer);
            self.emit(package, &mut out)?;
        }
        if self.remaining > 0 {
            return Err(StoreError::Corrupt(
                "a sealed stream ended before the range it was read for".into(),
            ));
        }
        Ok(out)
    }

    fn emit(&mut self, mut package: BytesMut, out: &mut Vec<Bytes>) -> StoreResult<()> {
        self.opener.open(self.next, &mut package)?;
        self.next += 1;
        let skip = (self.skip as usize).min(package.len());
        self.skip -= skip as u64;
        let take = (package.len() - skip).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        self.remaining -= take as u64;
        if take > 0 {
            out.push(package.freeze().slice(skip..skip + take));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &Key, body: &[u8], chunk: usize) -> Vec<u8> {
        let mut sealer = Sealer::new(key);
        let mut out = Vec::new();
        for piece in body.chunks(chunk.max(1)) {
            out.extend_from_slice(&sealer.push(piece));
        }
        out.extend_from_slice(&sealer.finish());
        out
    }

    fn open_range(key: &Key, sealed: &[u8], start: u64, end: u64, chunk: usize) -> StoreResult<Vec<u8>> {
        let spans = plan(&[sealed.len() as u64], start, end)?;
        let mut out = Vec::new();
        for span in spans {
            let mut opener = SpanOpener::new(key, sealed.len() as u64, &span)?;
            let bytes = &sealed[span.sealed_offset as usize..(span.sealed_offset + span.sealed_len) as usize];
            for piece in bytes.chunks(chunk) {
                opener.push(piece)?.iter().for_each(|b| out.extend_from_slice(b));
            }
            opener.finish()?.iter().for_each(|b| out.extend_from_slice(b));
        }
        Ok(out)
    }

    #[test]
    fn sizes_round_trip() {
        for plain in [0, 1, PACKAGE - 1, PACKAGE, PACKAGE + 1, 3 * PACKAGE, 1 << 30] {
            assert_eq!(plain_len(sealed_len(plain)), Some(plain), "{plain}");
        }
        assert_eq!(sealed_len(0), TAG);
        assert_eq!(plain_len(5), None);
        assert_eq!(plain_len(SEALED_PACKAGE + 3), None);
    }

    #[test]
    fn ranges_open_to_the_plaintext() {
        let key = Key::random();
        let body: Vec<u8> = (0..(3 * PACKAGE + 100) as u32).map(|i| (i % 251) as u8).collect();
        let sealed = seal(&key, &body, 10_000);
        assert_eq!(sealed.len() as u64, sealed_len(body.len() as u64));
        assert!(!sealed.windows(64).any(|w| w == &body[1000..1064]), "plaintext visible");
        let n = body.len() as u64;
        for (s, e) in [
            (0, n),
            (0, 1),
            (PACKAGE - 1, PACKAGE + 1),
            (PACKAGE, 2 * PACKAGE),
            (n - 1, n),
            (5, 3 * PACKAGE + 7),
        ] {
            for chunk in [1, 777, 1 << 20] {
                let got = open_range(&key, &sealed, s, e, chunk).unwrap();
                assert_eq!(got, &body[s as usize..e as usize], "{s}..{e} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn empty_body_is_one_authenticated_package() {
        let key = Key::random();
        let sealed = seal(&key, b"", 1);
        assert_eq!(sealed.len() as u64, TAG);
        let opener = Opener::new(&key, TAG).unwrap();
        opener.open(0, &mut BytesMut::from(&sealed[..])).unwrap();
    }

    #[test]
    fn tampering_is_detected() {
        let key = Key::random();
        let body = vec![7u8; (2 * PACKAGE + 10) as usize];
        let sealed = seal(&key, &body, 4096);
        let n = body.len() as u64;
        // A flipped byte.
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        assert!(open_range(&key, &flipped, 0, n, 4096).is_err());
        // Packages swapped (same length, both full).
        let mut swapped = sealed.clone();
        let p = SEALED_PACKAGE as usize;
        let (a, b) = (sealed[..p].to_vec(), sealed[p..2 * p].to_vec());
        swapped[..p].copy_from_slice(&b);
        swapped[p..2 * p].copy_from_slice(&a);
        assert!(open_range(&key, &swapped, 0, n, 4096).is_err());
        // Cut after two full packages: the new last one was not sealed as final.
        let cut = &sealed[..2 * p];
        assert!(open_range(&key, cut, 0, 2 * PACKAGE, 4096).is_err());
        // Another key.
        assert!(open_range(&Key::random(), &sealed, 0, n, 4096).is_err());
    }
}

#[cfg(test)]
mod throughput {
    use super::*;

    /// Not a test of behaviour: prints sealing/opening speed (run with `--ignored --nocapture`).
    #[test]
    #[ignore]
    fn sealing_throughput() {
        let key = Key::random();
        let body = vec![1u8; 64 << 20];
        let t = std::time::Instant::now();
        let mut s = HashingSealer::new(&key);
        let mut sealed = Vec::with_capacity(body.len() + (1 << 20));
        for c in body.chunks(64 << 10) {
            sealed.extend_from_slice(&s.push(c));
        }
        sealed.extend_from_slice(&s.finish().0);
        let seal = t.elapsed();
        let t = std::time::Instant::now();
        let span = &plan(&[sealed.len() as u64], 0, body.len() as u64).unwrap()[0];
        let mut o = SpanOpener::new(&key, sealed.len() as u64, span).unwrap();
        let mut n = 0;
        for c in sealed.chunks(128 << 10) {
            n += o.push(c).unwrap().iter().map(Bytes::len).sum::<usize>();
        }
        n += o.finish().unwrap().iter().map(Bytes::len).sum::<usize>();
        let open = t.elapsed();
        let t = std::time::Instant::now();
        let mut m = Md5::new();
        m.update(&body);
        let md5 = t.elapsed();
        assert_eq!(n, body.len());
        let mib = |d: std::time::Duration| 64.0 / d.as_secs_f64();
        eprintln!(
            "seal+md5 {:.0} MiB/s, open {:.0} MiB/s, md5 alone {:.0} MiB/s",
            mib(seal),
            mib(open),
            mib(md5)
        );
    }
}
