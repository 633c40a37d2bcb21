//! Receiving a body: streamed into `tmp/` on a blocking thread while MD5 (and any checksum the
//! client asked for) is computed, then fsynced and renamed into `objects/`. Small bodies never touch
//! the disk here: they stay in memory (bounded by the inline threshold) and are committed inline in
//! RocksDB's write batch. Larger bodies are gathered into 1 MiB units, each written to the file
//! while the shared MD5 thread hashes it together with other uploads' units (see `md5_lanes`).

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{IoContext, StoreError, StoreResult};
use crate::layout::{FileId, Layout, fsync_dir};
use crate::md5_lanes::BodyMd5;
use crate::store::StoreConfig;
use crate::unit::{UNIT, UnitBuf};

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
#[derive(Clone, Copy)]
struct Spill {
    inline_max: usize,
    direct_io: bool,
}

enum Msg {
    Data(Bytes),
    Finish,
}

/// Streams a body to durable storage. A body that stays within the inline threshold is kept
/// right here and never touches a thread or a file; once it outgrows it, its chunks go through a
/// small bounded queue to a blocking thread, so memory use is bounded whatever the body size and
/// the runtime never blocks on disk.
pub struct BodyWriter<H: BodyHasher> {
    stage: Stage<H>,
    written: u64,
}

enum Stage<H: BodyHasher> {
    /// Small so far: the bytes are gathered here (hashing waits for the end, when the body's fate
    /// is known, so a body that spills is hashed exactly once, on the disk thread).
    Memory {
        layout: Layout,
        spill: Spill,
        hasher: H,
        inline: BytesMut,
    },
    /// Spilled: the disk thread receives the chunks.
    Thread {
        tx: Option<mpsc::Sender<Msg>>,
        task: JoinHandle<StoreResult<StagedBody<H>>>,
    },
    /// Finished (or between the two, for an instant).
    Gone,
}

/// How many chunks may wait for the disk thread; with hyper's chunk sizes this bounds a body's
/// in-flight memory to a few hundred KiB.
const QUEUE_DEPTH: usize = 8;

impl<H: BodyHasher> BodyWriter<H> {
    /// Starts receiving a body. Bodies up to `inline_max_bytes` (at most one 1 MiB unit) stay in
    /// memory and are stored inline; larger ones spill to a staging file.
    pub(crate) fn new(layout: Layout, config: &StoreConfig, hasher: H) -> Self {
        let spill = Spill {
            inline_max: config.inline_max_bytes.min(UNIT),
            direct_io: config.direct_io,
        };
        Self {
            stage: Stage::Memory {
                layout,
                spill,
                hasher,
                inline: BytesMut::new(),
            },
            written: 0,
        }
    }

    /// Takes the next chunk; waits while the disk thread is behind.
    pub async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.written += chunk.len() as u64;
        if let Stage::Memory { spill, inline, .. } = &mut self.stage {
            if inline.len() + chunk.len() <= spill.inline_max {
                inline.extend_from_slice(&chunk);
                return Ok(());
            }
            self.start_thread();
        }
        self.send(Msg::Data(chunk)).await
    }

    /// Hands the body gathered so far to a new disk thread.
    fn start_thread(&mut self) {
        let Stage::Memory {
            layout,
            spill,
            hasher,
            inline,
        } = std::mem::replace(&mut self.stage, Stage::Gone)
        else {
            return;
        };
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        // The gathered bytes are the first chunk; the queue is empty, so this cannot fail.
        let queued = inline.is_empty() || tx.try_send(Msg::Data(inline.freeze())).is_ok();
        debug_assert!(queued);
        let task = tokio::task::spawn_blocking(move || receive(layout, spill, hasher, rx));
        self.stage = Stage::Thread { tx: Some(tx), task };
    }

    async fn send(&mut self, msg: Msg) -> StoreResult<()> {
        let Stage::Thread { tx, .. } = &mut self.stage else {
            return Err(StoreError::Internal("writer already finished".into()));
        };
        let sender = tx
            .as_ref()
            .ok_or_else(|| StoreError::Internal("writer already finished".into()))?;
        if sender.send(msg).await.is_err() {
            // The disk thread stopped early: its result carries the reason.
            tx.take();
            return Err(self
                .join()
                .await
                .err()
                .unwrap_or_else(|| StoreError::Internal("disk writer stopped".into())));
        }
        Ok(())
    }

    /// Bytes taken so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Finishes the body: an inline one is hashed and returned; a spilled one is flushed,
    /// fsynced and moved into `objects/`. Either way it is ready to commit.
    pub async fn finish(mut self) -> StoreResult<StagedBody<H>> {
        if let Stage::Thread { tx, .. } = &mut self.stage {
            if let Some(tx) = tx.take() {
                // A send error means the thread already ended; join() reports why.
                let _ = tx.send(Msg::Finish).await;
            }
            return self.join().await;
        }
        let Stage::Memory {
            layout,
            mut hasher,
            inline,
            ..
        } = std::mem::replace(&mut self.stage, Stage::Gone)
        else {
            return Err(StoreError::Internal("writer already finished".into()));
        };
        hasher.update(&inline);
        let mut md5 = BodyMd5::new();
        md5.update(&inline);
        Ok(StagedBody {
            size: inline.len() as u64,
            md5: md5.finalize(),
            hasher,
            data: Some(StagedData::Inline(inline.freeze())),
            layout,
        })
    }

    async fn join(&mut self) -> StoreResult<StagedBody<H>> {
        let Stage::Thread { task, .. } = &mut self.stage else {
            return Err(StoreError::Internal("disk writer not running".into()));
        };
        task.await
            .map_err(|e| StoreError::Internal(format!("disk writer panicked or was cancelled: {e}")))?
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

fn receive<H: BodyHasher>(
    layout: Layout,
    spill: Spill,
    mut hasher: H,
    mut rx: mpsc::Receiver<Msg>,
) -> StoreResult<StagedBody<H>> {
    let mut md5 = BodyMd5::new();
    let mut size = 0u64;
    // The body while it may still be inlined.
    let mut inline = BytesMut::new();
    // Once it spilled to a file: the file and the unit being filled.
    let mut staging: Option<(StagingFile, UnitBuf)> = None;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(chunk)) => {
                hasher.update(&chunk);
                size += chunk.len() as u64;
                if staging.is_none() && inline.len() + chunk.len() > spill.inline_max {
                    // inline_max ≤ UNIT, so the inlined bytes fit in the first unit.
                    let mut unit = UnitBuf::new();
                    unit.fill_from(&std::mem::take(&mut inline));
                    staging = Some((StagingFile::create(&layout, spill.direct_io)?, unit));
                }
                let Some((file, unit)) = staging.as_mut() else {
                    inline.extend_from_slice(&chunk);
                    continue;
                };
                let mut rest = &chunk[..];
                loop {
                    rest = &rest[unit.fill_from(rest)..];
                    if !unit.is_full() {
                        break;
                    }
                    let full = std::mem::replace(unit, UnitBuf::empty());
                    let (written, emptied) = md5.update_unit_while(full, |bytes| file.write_unit(bytes));
                    *unit = emptied;
                    written?;
                }
            }
            Some(Msg::Finish) => break,
            // The sender went away without finishing: the client disconnected or the request
            // failed. Returning drops the staging file.
            None => return Err(StoreError::BodyStream("body not finished".into())),
        }
    }
    let data = match staging {
        None => {
            md5.update(&inline);
            StagedData::Inline(inline.freeze())
        }
        Some((mut file, mut unit)) => {
            md5.update(&unit);
            file.write_last(&mut unit, size)?;
            StagedData::File(commit_staging_file(&layout, file)?)
        }
    };
    Ok(StagedBody {
        size,
        md5: md5.finalize(),
        hasher,
        data: Some(data),
        layout,
    })
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
