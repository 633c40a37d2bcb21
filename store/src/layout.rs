//! Where things live on the volume. Data files are named by random ids, never by S3 keys, so no
//! key can ever address a path outside the data directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, StoreError, StoreResult};

/// A data file's random id (128 bits, hex-encoded on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileId(pub u128);

impl FileId {
    /// A fresh random id; collisions are as likely as for UUIDv4.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The on-disk name: 32 lowercase hex digits.
    pub fn file_name(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parses a file name written by [`FileId::file_name`]; anything else is not ours.
    pub fn parse(name: &str) -> Option<Self> {
        if name.len() != 32 {
            return None;
        }
        u128::from_str_radix(name, 16).ok().map(Self)
    }
}

/// The directory tree of one data volume.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Creates the directory tree under `root` if it is missing.
    pub fn create(root: &Path) -> StoreResult<Self> {
        let layout = Self {
            root: root.to_path_buf(),
        };
        for dir in [layout.meta_dir(), layout.objects_dir(), layout.tmp_dir()] {
            fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        Ok(layout)
    }

    /// The tree under `root` as it is, for a reader that must not create anything.
    pub fn existing(root: &Path) -> StoreResult<Self> {
        let meta = root.join("meta");
        if !meta.is_dir() {
            return Err(StoreError::Io {
                context: format!("opening {} (no data volume there yet)", meta.display()),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The RocksDB directory.
    pub fn meta_dir(&self) -> PathBuf {
        self.root.join("meta")
    }

    /// Committed data files (single objects and multipart parts), sharded by the id's first byte.
    pub fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    /// Bodies being received; everything here is garbage after a restart.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The shard directory a data file lives in (256 shards keep directories small at millions
    /// of objects).
    pub fn shard_dir(&self, id: FileId) -> PathBuf {
        self.objects_dir().join(format!("{:02x}", (id.0 >> 120) as u8))
    }

    /// The committed path of a data file.
    pub fn data_path(&self, id: FileId) -> PathBuf {
        self.shard_dir(id).join(id.file_name())
    }

    /// A fresh staging path in `tmp/`.
    pub fn staging_path(&self) -> PathBuf {
        self.tmp_dir().join(format!("{}.part", FileId::random().file_name()))
    }
}

/// Flushes a directory's entries (new names, removed names) to stable storage.
pub fn fsync_dir(dir: &Path) -> StoreResult<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("fsyncing directory {}", dir.display()))
}
