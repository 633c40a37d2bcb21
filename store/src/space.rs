//! The free-space reserve. A volume that fills up completely takes RocksDB down with it (its
//! WAL cannot grow, and it stays read-only until it recovers) and leaves no room for the deletes
//! that would free space. So, like MinIO (which fills a drive to 99% at most), writes that add
//! data are refused once the volume's free space would drop under a reserve — with `507
//! XMinioStorageFull`, which clients do not retry blindly — while reads and deletes go on.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{StoreError, StoreResult};

/// How much of the volume is kept free.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeSpaceReserve {
    /// At least this many bytes.
    Bytes(u64),
    /// At least this percentage of the volume's size.
    Percent(f64),
}

impl Default for FreeSpaceReserve {
    /// MinIO's `diskFillFraction` (0.99): 1% of the volume stays free.
    fn default() -> Self {
        FreeSpaceReserve::Percent(1.0)
    }
}

impl std::str::FromStr for FreeSpaceReserve {
    type Err = String;

    /// `5%`, `512MiB`, `2GiB`, `1048576` (bytes); `0` turns the reserve off.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            let p: f64 = percent.trim().parse().map_err(|_| format!("{text:?} is not a percentage"))?;
            if !(0.0..100.0).contains(&p) {
                return Err(format!("{text:?}: a reserve is between 0% and 100%"));
            }
            return Ok(FreeSpaceReserve::Percent(p));
        }
        parse_size(text).map(FreeSpaceReserve::Bytes)
    }
}

/// A size as operators write it: `512MiB`, `2GiB`, `64k`, `1048576` (bytes); binary units.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use KiB, MiB, GiB or TiB)")),
    };
    let n: u64 = digits.trim().parse().map_err(|_| format!("{text:?} is not a size"))?;
    n.checked_mul(scale).ok_or_else(|| format!("{text:?} is too large"))
}

/// Fewer free inodes than this is a full volume too (MinIO's `diskMinInodes`).
const MIN_FREE_INODES: u64 = 1000;

/// Checks the volume's free space against the reserve; cheap (one `statvfs`), so it runs before
/// every write that adds data.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    root: PathBuf,
    reserve: FreeSpaceReserve,
}

impl Space {
    pub(crate) fn new(root: &Path, reserve: FreeSpaceReserve) -> Self {
        Self {
            root: root.to_path_buf(),
            reserve,
        }
    }

    /// `Ok` if `incoming` more bytes leave the reserve free. A volume whose free space cannot
    /// be read is treated as having room: the write itself then reports ENOSPC, if any.
    pub(crate) fn ensure(&self, incoming: u64) -> StoreResult<()> {
        let Some(stats) = statvfs(&self.root) else {
            return Ok(());
        };
        let reserve = match self.reserve {
            FreeSpaceReserve::Bytes(b) => b,
            FreeSpaceReserve::Percent(p) => (stats.total as f64 * p / 100.0) as u64,
        };
        let short_of_inodes = stats.files > 0 && stats.free_files < MIN_FREE_INODES;
        if stats.available < incoming.saturating_add(reserve) || short_of_inodes {
            return Err(StoreError::StorageFull {
                available: stats.available,
                reserve,
            });
        }
        Ok(())
    }
}

/// The data volume's size and what is left of it (`mc admin info`).
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// The data directory.
    pub path: PathBuf,
    pub total: u64,
    pub available: u64,
}

impl Space {
    /// The volume's size and free space now; `None` when the file system cannot tell.
    pub(crate) fn usage(&self) -> Option<VolumeUsage> {
        statvfs(&self.root).map(|stats| VolumeUsage {
            path: self.root.clone(),
            total: stats.total,
            available: stats.available,
        })
    }
}

struct VolumeStats {
    total: u64,
    available: u64,
    files: u64,
    free_files: u64,
}

fn statvfs(path: &Path) -> Option<VolumeStats> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct passed and reads the NUL-terminated path.
    let mut raw: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut raw) } != 0 {
        return None;
    }
    let block = raw.f_frsize as u64;
    Some(VolumeStats {
        total: raw.f_blocks as u64 * block,
        available: raw.f_bavail as u64 * block,
        files: raw.f_files as u64,
        free_files: raw.f_favail as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentages_and_sizes() {
        assert_eq!("5%".parse(), Ok(FreeSpaceReserve::Percent(5.0)));
        assert_eq!("512MiB".parse(), Ok(FreeSpaceReserve::Bytes(512 << 20)));
        assert_eq!("2G".parse(), Ok(FreeSpaceReserve::Bytes(2 << 30)));
        assert_eq!("4096".parse(), Ok(FreeSpaceReserve::Bytes(4096)));
        assert!("100%".parse::<FreeSpaceReserve>().is_err());
        assert!("12 parsecs".parse::<FreeSpaceReserve>().is_err());
    }

    #[test]
    fn a_reserve_larger_than_the_volume_refuses_and_zero_accepts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Space::new(dir.path(), FreeSpaceReserve::Bytes(0)).ensure(1).is_ok());
        let full = Space::new(dir.path(), FreeSpaceReserve::Bytes(u64::MAX / 2)).ensure(0);
        assert!(matches!(full, Err(StoreError::StorageFull { .. })), "{full:?}");
    }
}
