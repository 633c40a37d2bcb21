//! Receiving a body: streamed into `tmp/` while MD5 (and any checksum the client asked for) is
//! computed, then fsynced and renamed into `objects/`. Small bodies never touch the disk here:
//! they stay in memory (bounded by the inline threshold) and are committed inline in RocksDB's
//! write batch. Larger bodies are gathered into 1 MiB units on the async side; each full unit is
//! written on a blocking thread (only once its bytes have arrived, so no thread ever waits on a
//! client) while the shared MD5 thread hashes it together with other uploads' units (see
//! `md5_lanes`).

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;

use crate::error::{IoContext, StoreError, StoreResult};
use crate::layout::{FileId, Layout, fsync_dir};
use crate::md5_lanes::BodyMd5;
use crate::space::Space;
use crate::store::StoreConfig;
use crate::unit::{DIRECT_IO_ALIGN, UNIT, UnitBuf};

/// Observes every byte of a body as it is written; s3-api plugs the `x-amz-checksum-*` hashers in
/// here so that checksums are computed in the same pass as MD5, off the async runtime.
pub trait BodyHasher: Send + 'static {
    /// Feeds the next chunk of the body.
    fn update(&mut self, data: &[u8]);
}

impl BodyHasher for () {
    fn update(&mut self, _data: &[u8]) {}
}

/// Where a received body ended up.
#[derive(Debug)]
pub enum StagedData {
    /// Small enough to be stored inline in the metadata database.
    Inline(Bytes),
    /// A durable data file in `objects/`, not yet referenced by any record.
    File(FileId),
}

/// A fully received, durable body that no record references yet. Dropping it without committing
/// deletes its data file, so an aborted or rejected write leaves nothing behind.
#[derive(Debug)]
pub struct StagedBody<H> {
    pub size: u64,
    pub md5: [u8; 16],
    /// The hasher passed to [`BodyWriter::new`], after seeing every byte.
    pub hasher: H,
    pub(crate) data: Option<StagedData>,
    pub(crate) layout: Layout,
}

impl<H> StagedBody<H> {
    /// Hex MD5 of the body (the ETag of a single-part object).
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }

    /// Takes the data out for committing; the caller becomes responsible for it.
    pub(crate) fn take_data(&mut self) -> Option<StagedData> {
        self.data.take()
    }

    /// Splits the hasher off without dropping the data (checksums are verified before commit).
    pub fn hasher_mut(&mut self) -> &mut H {
        &mut self.hasher
    }
}

impl<H> Drop for StagedBody<H> {
    fn drop(&mut self) {
        if let Some(StagedData::File(id)) = self.data.take() {
            let path = self.layout.data_path(id);
            remove_in_background(path);
        }
    }
}

/// Removes a file without blocking the async runtime (best effort: start-up GC catches leftovers).
pub(crate) fn remove_in_background(path: PathBuf) {
    let remove = move || {
        if let Err(err) = fs::remove_file(&path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %err, "could not remove unreferenced data file; start-up GC will retry");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn_blocking(remove);
        }
        Err(_) => remove(),
    }
}

/// When and how a body goes to a file.
#[derive(Clone)]
struct Spill {
    inline_max: usize,
    direct_io: bool,
    /// Checked before each write: a full volume refuses the body early and cleanly.
    space: Space,
    /// Whether the body's MD5 is computed (not for sealed bodies, see [`BodyMd5`]).
    md5: bool,
}

/// Streams a body to durable storage. A body that stays within the inline threshold is kept
/// right here and never touches a thread or a file. A larger one is gathered into 1 MiB units
/// on the async side; each full unit is written and hashed on a blocking thread while the next
/// one fills. No thread ever waits for the client's network: a body whose client stalls holds a
/// staging file and at most one partial unit, never a thread (see [`BodyWriter::flush_stalled`]).
pub struct BodyWriter<H: BodyHasher> {
    layout: Layout,
    spill: Spill,
    stage: Stage<H>,
    written: u64,
    /// Body bytes held in memory, as counted in [`HELD_BYTES`].
    held: usize,
}

impl<H: BodyHasher> Drop for BodyWriter<H> {
    fn drop(&mut self) {
        HELD_BYTES.fetch_sub(self.held, Ordering::Relaxed);
    }
}

enum Stage<H: BodyHasher> {
    /// Small so far: the bytes are gathered here (hashing waits for the end, when the body's fate
    /// is known, so a body that spills is hashed exactly once, on a blocking thread).
    Memory { hasher: H, inline: BytesMut },
    /// Spilled: units fill here and go to the disk side one at a time.
    Spilled(Box<Spilled<H>>),
    /// Finished (or failed).
    Gone,
}

/// Bytes of spilled bodies held in memory (the units being filled), all uploads together.
static HELD_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Above this, a body whose client pauses writes out what it holds at once instead of after a
/// pause (see [`BodyWriter::memory_is_short`]): many slow or stalled uploads together hold at
/// most about this much.
const HELD_BUDGET: usize = 16 << 20;

struct Spilled<H: BodyHasher> {
    /// The unit being filled.
    filling: UnitBuf,
    /// A unit's worth of memory to fill next, returned by the disk side when it has written one.
    spare: Option<UnitBuf>,
    disk: DiskSide<H>,
}

/// The part of a spilled body that does blocking work: the staging file and the hashes.
enum DiskSide<H: BodyHasher> {
    Idle(Box<Disk<H>>),
    /// Writing a unit on a blocking thread.
    Busy(JoinHandle<(Box<Disk<H>>, StoreResult<()>, UnitBuf)>),
    /// Between the two, for an instant (or after a failure).
    Gone,
}

/// Everything a unit write needs; moved to the blocking thread and back with each unit.
struct Disk<H> {
    layout: Layout,
    spill: Spill,
    hasher: H,
    md5: BodyMd5,
    /// Created by the first write, on a blocking thread.
    file: Option<StagingFile>,
    /// Bytes in the file so far (always a multiple of [`DIRECT_IO_ALIGN`]).
    size: u64,
}

impl<H: BodyHasher> Disk<H> {
    /// The staging file, created on first use, once the volume has room for `incoming` bytes.
    fn file(&mut self, incoming: usize) -> StoreResult<&mut StagingFile> {
        self.spill.space.ensure(incoming as u64)?;
        if self.file.is_none() {
            self.file = Some(StagingFile::create(&self.layout, self.spill.direct_io)?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| StoreError::Internal("staging file vanished".into()))
    }

    /// Hashes and writes a full unit; returns its buffer, emptied.
    fn write_unit(&mut self, unit: UnitBuf) -> (StoreResult<()>, UnitBuf) {
        self.hasher.update(&unit);
        if let Err(err) = self.file(unit.len()) {
            return (Err(err), unit);
        }
        let Some(file) = self.file.as_mut() else {
            return (Err(StoreError::Internal("staging file vanished".into())), unit);
        };
        let (written, emptied) = self.md5.update_unit_while(unit, |bytes| file.write_unit(bytes));
        if written.is_ok() {
            self.size += UNIT as u64;
        }
        (written, emptied)
    }

    /// Hashes and writes the first `len` bytes of a partial unit (`len` block-aligned).
    fn write_prefix(&mut self, unit: &UnitBuf, len: usize) -> StoreResult<()> {
        debug_assert_eq!(len % DIRECT_IO_ALIGN, 0);
        let bytes = &unit[..len];
        self.hasher.update(bytes);
        self.md5.update(bytes);
        self.md5.pause();
        self.file(len)?.write_unit(bytes)?;
        self.size += len as u64;
        Ok(())
    }

    /// Writes the last, partial unit, then makes the file durable under its final name.
    fn finish(mut self, mut unit: UnitBuf) -> StoreResult<StagedBody<H>> {
        self.hasher.update(&unit);
        self.md5.update(&unit);
        let size = self.size + unit.len() as u64;
        self.file(unit.len())?;
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Internal("staging file vanished".into()))?;
        file.write_last(&mut unit, size)?;
        let id = commit_staging_file(&self.layout, file)?;
        Ok(StagedBody {
            size,
            md5: self.md5.finalize(),
            hasher: self.hasher,
            data: Some(StagedData::File(id)),
            layout: self.layout,
        })
    }
}

impl<H: BodyHasher> DiskSide<H> {
    /// Waits for the unit being written, if any; returns its emptied buffer.
    async fn settle(&mut self) -> StoreResult<Option<UnitBuf>> {
        match std::mem::replace(self, DiskSide::Gone) {
            DiskSide::Idle(disk) => {
                *self = DiskSide::Idle(disk);
                Ok(None)
            }
            DiskSide::Busy(task) => {
                let (disk, written, emptied) = task
                    .await
                    .map_err(|e| StoreError::Internal(format!("disk writer panicked: {e}")))?;
                written?;
                *self = DiskSide::Idle(disk);
                Ok(Some(emptied))
            }
            DiskSide::Gone => Err(StoreError::Internal("disk writer failed earlier".into())),
        }
    }

    /// The idle disk side (after [`DiskSide::settle`]).
    fn take(&mut self) -> StoreResult<Box<Disk<H>>> {
        match std::mem::replace(self, DiskSide::Gone) {
            DiskSide::Idle(disk) => Ok(disk),
            _ => Err(StoreError::Internal("disk writer busy".into())),
        }
    }
}

impl<H: BodyHasher> BodyWriter<H> {
    /// Starts receiving a body. Bodies up to `inline_max_bytes` (at most one 1 MiB unit) stay in
    /// memory and are stored inline; larger ones spill to a staging file.
    pub(crate) fn new(layout: Layout, config: &StoreConfig, space: Space, hasher: H, md5: bool) -> Self {
        let spill = Spill {
            inline_max: config.inline_max_bytes.min(UNIT),
            direct_io: config.direct_io,
            space,
            md5,
        };
        Self {
            layout,
            spill,
            stage: Stage::Memory {
                hasher,
                inline: BytesMut::new(),
            },
            written: 0,
            held: 0,
        }
    }

    /// Takes the next chunk; waits while the disk is behind by more than one unit.
    pub async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        let taken = self.take(chunk).await;
        self.account();
        taken
    }

    /// Brings [`HELD_BYTES`] in line with the bytes this body holds in memory.
    fn account(&mut self) {
        let now = match &self.stage {
            Stage::Memory { inline, .. } => inline.len(),
            Stage::Spilled(spilled) => spilled.filling.len(),
            Stage::Gone => 0,
        };
        if now >= self.held {
            HELD_BYTES.fetch_add(now - self.held, Ordering::Relaxed);
        } else {
            HELD_BYTES.fetch_sub(self.held - now, Ordering::Relaxed);
        }
        self.held = now;
    }

    async fn take(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.written += chunk.len() as u64;
        if let Stage::Memory { inline, .. } = &mut self.stage {
            if inline.len() + chunk.len() <= self.spill.inline_max {
                inline.extend_from_slice(&chunk);
                return Ok(());
            }
            self.spill_to_disk();
        }
        let Stage::Spilled(spilled) = &mut self.stage else {
            return Err(StoreError::Internal("writer already finished".into()));
        };
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if spilled.filling.capacity() < UNIT && spilled.filling.len() + rest.len() > spilled.filling.capacity() {
                // Released while the client stalled, and now outgrown: a whole unit again (a
                // client that trickles a few bytes keeps the small buffer).
                let mut unit = spilled.spare.take().unwrap_or_else(UnitBuf::new);
                unit.fill_from(&spilled.filling);
                spilled.filling = unit;
            }
            rest = &rest[spilled.filling.fill_from(rest)..];
            if spilled.filling.is_full() {
                Self::submit_unit(spilled).await?;
            }
        }
        Ok(())
    }

    /// Sends the full unit to the disk side once it has finished the previous one.
    async fn submit_unit(spilled: &mut Spilled<H>) -> StoreResult<()> {
        if let Some(emptied) = spilled.disk.settle().await? {
            spilled.spare = Some(emptied);
        }
        let next = spilled.spare.take().unwrap_or_else(UnitBuf::new);
        let full = std::mem::replace(&mut spilled.filling, next);
        let mut disk = spilled.disk.take()?;
        spilled.disk = DiskSide::Busy(tokio::task::spawn_blocking(move || {
            let (written, emptied) = disk.write_unit(full);
            (disk, written, emptied)
        }));
        Ok(())
    }

    /// Moves the body gathered in memory into its first unit.
    fn spill_to_disk(&mut self) {
        let Stage::Memory { hasher, inline } = std::mem::replace(&mut self.stage, Stage::Gone) else {
            return;
        };
        let mut filling = UnitBuf::new();
        // inline_max ≤ UNIT, so the gathered bytes fit in the first unit.
        filling.fill_from(&inline);
        let disk = Disk {
            layout: self.layout.clone(),
            spill: self.spill.clone(),
            hasher,
            md5: BodyMd5::new(self.spill.md5),
            file: None,
            size: 0,
        };
        self.stage = Stage::Spilled(Box::new(Spilled {
            filling,
            spare: None,
            disk: DiskSide::Idle(Box::new(disk)),
        }));
    }

    /// Whether [`BodyWriter::flush_stalled`] would give memory back: a block or more of body
    /// bytes, or a unit's buffer (the one being filled, a spare, or one still with the disk).
    pub fn holds_memory(&self) -> bool {
        match &self.stage {
            Stage::Memory { inline, .. } => inline.len() >= DIRECT_IO_ALIGN,
            Stage::Spilled(spilled) => {
                spilled.filling.capacity() >= UNIT || spilled.spare.is_some() || matches!(spilled.disk, DiskSide::Busy(_))
            }
            Stage::Gone => false,
        }
    }

    /// The client has stopped sending for a while: writes the block-aligned part of what the
    /// body holds in memory to its staging file (a small body that stalls becomes a file-backed
    /// one) and gives the memory back, so that a stalled upload holds at most a few KiB.
    /// Called by the receiver after a pause; costs a smaller write and nothing else.
    pub async fn flush_stalled(&mut self) -> StoreResult<()> {
        if !self.holds_memory() {
            return Ok(());
        }
        if matches!(self.stage, Stage::Memory { .. }) {
            self.spill_to_disk();
        }
        let flushed = self.flush_unit().await;
        self.account();
        flushed
    }

    async fn flush_unit(&mut self) -> StoreResult<()> {
        let Stage::Spilled(spilled) = &mut self.stage else {
            return Ok(());
        };
        // The unit the disk side has written comes back and is dropped with the spare.
        spilled.disk.settle().await?;
        spilled.spare = None;
        let len = spilled.filling.len() / DIRECT_IO_ALIGN * DIRECT_IO_ALIGN;
        let mut unit = std::mem::replace(&mut spilled.filling, UnitBuf::empty());
        if len > 0 {
            let mut disk = spilled.disk.take()?;
            let (back, written) = tokio::task::spawn_blocking(move || {
                let written = disk.write_prefix(&unit, len);
                ((disk, unit), written)
            })
            .await
            .map_err(|e| StoreError::Internal(format!("disk writer panicked: {e}")))?;
            written?;
            spilled.disk = DiskSide::Idle(back.0);
            unit = back.1;
        }
        // The tail (under one block) moves to a buffer of its own; the unit's memory is freed.
        let mut tail = UnitBuf::with_capacity(DIRECT_IO_ALIGN);
        tail.fill_from(&unit[len..]);
        spilled.filling = tail;
        spilled.spare = None;
        Ok(())
    }

    /// Whether the uploads in progress hold so much memory that a body whose client pauses
    /// should write out what it holds at once.
    pub fn memory_is_short() -> bool {
        HELD_BYTES.load(Ordering::Relaxed) > HELD_BUDGET
    }

    /// Bytes taken so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Finishes the body: an inline one is hashed and returned; a spilled one is flushed,
    /// fsynced and moved into `objects/`. Either way it is ready to commit.
    pub async fn finish(mut self) -> StoreResult<StagedBody<H>> {
        let stage = std::mem::replace(&mut self.stage, Stage::Gone);
        self.account();
        match stage {
            Stage::Memory { mut hasher, inline } => {
                hasher.update(&inline);
                let mut md5 = BodyMd5::new(self.spill.md5);
                md5.update(&inline);
                Ok(StagedBody {
                    size: inline.len() as u64,
                    md5: md5.finalize(),
                    hasher,
                    data: Some(StagedData::Inline(inline.freeze())),
                    layout: self.layout.clone(),
                })
            }
            Stage::Spilled(mut spilled) => {
                spilled.disk.settle().await?;
                let disk = spilled.disk.take()?;
                let last = std::mem::replace(&mut spilled.filling, UnitBuf::empty());
                tokio::task::spawn_blocking(move || disk.finish(last))
                    .await
                    .map_err(|e| StoreError::Internal(format!("disk writer panicked: {e}")))?
            }
            Stage::Gone => Err(StoreError::Internal("writer already finished".into())),
        }
    }
}

/// A staging file that deletes itself unless it was moved into place. Full units are written with
/// direct I/O where the filesystem allows it: from the unit's buffer straight to the disk, without
/// a copy into the page cache (that copy was the largest cost of a large PUT after MD5) and
/// without filling the cache with data nobody reads back soon — MinIO writes the same way.
struct StagingFile {
    path: PathBuf,
    file: fs::File,
    /// Whether the file is open with `O_DIRECT`.
    direct: bool,
}

impl StagingFile {
    fn create(layout: &Layout, direct_io: bool) -> StoreResult<Self> {
        let path = layout.staging_path();
        let open = |direct: bool| {
            let mut options = fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            if direct {
                options.custom_flags(libc::O_DIRECT);
            }
            options.open(&path)
        };
        let (file, direct) = match open(direct_io) {
            Ok(file) => (Ok(file), direct_io),
            // The filesystem does not do direct I/O (tmpfs, some FUSE mounts): buffered it is.
            Err(err) if direct_io && err.raw_os_error() == Some(libc::EINVAL) => (open(false), false),
            Err(err) => (Err(err), false),
        };
        let file = file.ctx(|| format!("creating staging file {}", path.display()))?;
        Ok(Self { path, file, direct })
    }

    /// Writes a full unit (aligned for direct I/O).
    fn write_unit(&mut self, data: &[u8]) -> StoreResult<()> {
        let mut done = 0;
        while done < data.len() {
            match self.file.write(&data[done..]) {
                Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::WriteZero)).ctx(|| self.writing()),
                Ok(n) => done += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                // Accepted at open, refused at write (a filesystem that checks late, or a short
                // write that left the offset unaligned): go on without direct I/O.
                Err(err) if self.direct && err.raw_os_error() == Some(libc::EINVAL) => self.stop_direct_io()?,
                Err(err) => return Err(err).ctx(|| self.writing()),
            }
        }
        Ok(())
    }

    /// Writes the body's last, partial unit and sets the file to the body's `size`.
    fn write_last(&mut self, unit: &mut UnitBuf, size: u64) -> StoreResult<()> {
        if unit.is_empty() {
            return Ok(());
        }
        if self.direct {
            // Direct writes are whole blocks: write the padded block, then cut the padding off.
            self.write_unit(unit.padded())?;
            return self.file.set_len(size).ctx(|| format!("truncating {}", self.path.display()));
        }
        self.file.write_all(unit).ctx(|| self.writing())
    }

    fn stop_direct_io(&mut self) -> StoreResult<()> {
        let fd = self.file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this struct owns; F_GETFL/F_SETFL touch only its flags.
        let ok = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) == 0
        };
        if !ok {
            return Err(std::io::Error::last_os_error()).ctx(|| format!("turning off O_DIRECT on {}", self.path.display()));
        }
        self.direct = false;
        Ok(())
    }

    fn writing(&self) -> String {
        format!("writing {}", self.path.display())
    }
}

impl Drop for StagingFile {
    fn drop(&mut self) {
        // Still here means the body was not finished: the bytes are garbage.
        let _ = fs::remove_file(&self.path);
    }
}

/// fsync the file, rename it into its shard and fsync the shard directory: after this the bytes
/// survive power loss under their final name.
fn commit_staging_file(layout: &Layout, mut f: StagingFile) -> StoreResult<FileId> {
    f.file.sync_all().ctx(|| format!("fsyncing {}", f.path.display()))?;
    let id = FileId::random();
    let shard = layout.shard_dir(id);
    fs::create_dir_all(&shard).ctx(|| format!("creating {}", shard.display()))?;
    let target = layout.data_path(id);
    fs::rename(&f.path, &target).ctx(|| format!("moving {} to {}", f.path.display(), target.display()))?;
    // Renamed away: nothing for the guard to delete.
    f.path = PathBuf::new();
    fsync_dir(&shard)?;
    Ok(id)
}
