//! The unit in which large bodies are hashed and written: 1 MiB in a buffer aligned for direct
//! I/O, so it can go from the writer's memory to the disk without a copy into the page cache,
//! and be hashed at the same time on the shared MD5 thread.

use aligned_vec::{AVec, ConstAlign};

/// Bytes per unit. Every unit of a body starts at a multiple of it, which keeps the MD5 lanes of
/// concurrent bodies in lockstep and direct-I/O writes aligned.
pub(crate) const UNIT: usize = 1 << 20;

/// The alignment direct I/O asks of buffers, file offsets and lengths (the disk's physical block
/// size on every Linux block device we run on; a multiple of the 512-byte logical one).
pub(crate) const DIRECT_IO_ALIGN: usize = 4096;

/// One unit of a body, at most [`UNIT`] bytes, in memory aligned to [`DIRECT_IO_ALIGN`].
pub(crate) struct UnitBuf(AVec<u8, ConstAlign<DIRECT_IO_ALIGN>>);

impl UnitBuf {
    pub(crate) fn new() -> Self {
        Self(AVec::with_capacity(DIRECT_IO_ALIGN, UNIT))
    }

    /// A small buffer (the few bytes a stalled body keeps after writing out its aligned part).
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self(AVec::with_capacity(DIRECT_IO_ALIGN, bytes))
    }

    /// Bytes the buffer holds without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// A placeholder without memory (while the real buffer is away being written and hashed).
    pub(crate) fn empty() -> Self {
        Self(AVec::new(DIRECT_IO_ALIGN))
    }

    /// Appends as much of `data` as fits; returns how many bytes were taken.
    pub(crate) fn fill_from(&mut self, data: &[u8]) -> usize {
        let take = (UNIT - self.0.len()).min(data.len());
        self.0.extend_from_slice(&data[..take]);
        take
    }

    pub(crate) fn is_full(&self) -> bool {
        self.0.len() == UNIT
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The bytes zero-padded to the next multiple of [`DIRECT_IO_ALIGN`] (a direct write of a
    /// body's last unit; the file is truncated to the body's size afterwards).
    pub(crate) fn padded(&mut self) -> &[u8] {
        let padded = self.0.len().next_multiple_of(DIRECT_IO_ALIGN);
        let len = self.0.len();
        self.0.resize(padded, 0);
        let out_len = self.0.len();
        debug_assert!(out_len >= len);
        &self.0[..out_len]
    }
}

impl std::ops::Deref for UnitBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_to_one_unit_aligned_and_pads_to_the_block_size() {
        let mut unit = UnitBuf::new();
        assert_eq!(unit.as_ptr() as usize % DIRECT_IO_ALIGN, 0);
        assert_eq!(unit.fill_from(&[7u8; 1000]), 1000);
        assert_eq!(unit.padded().len(), DIRECT_IO_ALIGN);
        assert_eq!(&unit[..1000], &[7u8; 1000][..]);
        assert!(unit[1000..].iter().all(|b| *b == 0));
        unit.clear();
        let big = vec![1u8; UNIT + 5];
        assert_eq!(unit.fill_from(&big), UNIT);
        assert!(unit.is_full());
        assert_eq!(unit.fill_from(&big), 0);
        assert_eq!(unit.as_ptr() as usize % DIRECT_IO_ALIGN, 0);
    }
}
