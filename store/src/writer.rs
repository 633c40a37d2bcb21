//! Receiving a body: streamed into `tmp/` on a blocking thread while MD5 (and any checksum the
//! client asked for) is computed, then fsynced and renamed into `objects/`. Small bodies never touch
//! the disk here: they stay in memory (bounded by the inline threshold) and are committed inline in
//! RocksDB's write batch. Larger bodies are gathered into 1 MiB units, each written to the file
//! while the shared MD5 thread hashes it together with other uploads' units (see `md5_lanes`).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{IoContext, StoreError, StoreResult};
use crate::layout::{FileId, Layout, fsync_dir};
use crate::md5_lanes::{BodyMd5, UNIT};

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

enum Msg {
    Data(Bytes),
    Finish,
}

/// Streams a body to durable storage. Chunks go through a small bounded queue to a blocking
/// thread, so memory use is bounded whatever the body size and the runtime never blocks on disk.
pub struct BodyWriter<H: BodyHasher> {
    tx: Option<mpsc::Sender<Msg>>,
    task: JoinHandle<StoreResult<StagedBody<H>>>,
    written: u64,
}

/// How many chunks may wait for the disk thread; with hyper's chunk sizes this bounds a body's
/// in-flight memory to a few hundred KiB.
const QUEUE_DEPTH: usize = 8;

impl<H: BodyHasher> BodyWriter<H> {
    /// Starts receiving a body. Bodies up to `inline_max` bytes (at most one 1 MiB unit) stay in
    /// memory and are stored inline; larger ones spill to a staging file.
    pub(crate) fn new(layout: Layout, inline_max: usize, hasher: H) -> Self {
        let inline_max = inline_max.min(UNIT);
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let task = tokio::task::spawn_blocking(move || receive(layout, inline_max, hasher, rx));
        Self {
            tx: Some(tx),
            task,
            written: 0,
        }
    }

    /// Queues the next chunk; waits while the disk thread is behind.
    pub async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.written += chunk.len() as u64;
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| StoreError::BodyStream("writer already finished".into()))?;
        if tx.send(Msg::Data(chunk)).await.is_err() {
            // The disk thread stopped early: its result carries the reason.
            let tx = self.tx.take();
            drop(tx);
            return Err(self
                .join()
                .await
                .err()
                .unwrap_or_else(|| StoreError::BodyStream("disk writer stopped".into())));
        }
        Ok(())
    }

    /// Bytes queued so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes, fsyncs and moves the body into `objects/`; returns it ready to commit.
    pub async fn finish(mut self) -> StoreResult<StagedBody<H>> {
        if let Some(tx) = self.tx.take() {
            // A send error means the thread already ended; join() reports why.
            let _ = tx.send(Msg::Finish).await;
        }
        self.join().await
    }

    async fn join(&mut self) -> StoreResult<StagedBody<H>> {
        (&mut self.task)
            .await
            .map_err(|e| StoreError::BodyStream(format!("disk writer panicked or was cancelled: {e}")))?
    }
}

/// A staging file that deletes itself unless it was moved into place.
struct StagingFile {
    path: PathBuf,
    file: fs::File,
}

impl StagingFile {
    fn create(layout: &Layout) -> StoreResult<Self> {
        let path = layout.staging_path();
        let file = fs::File::create(&path).ctx(|| format!("creating staging file {}", path.display()))?;
        Ok(Self { path, file })
    }

    fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        self.file.write_all(data).ctx(|| format!("writing {}", self.path.display()))
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
    inline_max: usize,
    mut hasher: H,
    mut rx: mpsc::Receiver<Msg>,
) -> StoreResult<StagedBody<H>> {
    let mut md5 = BodyMd5::new();
    let mut size = 0u64;
    // The inline body, or the bytes of the current unit once the body spilled to a file.
    let mut pending = BytesMut::new();
    let mut staging: Option<StagingFile> = None;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(chunk)) => {
                hasher.update(&chunk);
                size += chunk.len() as u64;
                if staging.is_none() && pending.len() + chunk.len() > inline_max {
                    staging = Some(StagingFile::create(&layout)?);
                    pending.reserve(UNIT.saturating_sub(pending.len()));
                }
                let Some(f) = staging.as_mut() else {
                    pending.extend_from_slice(&chunk);
                    continue;
                };
                let mut rest = &chunk[..];
                while !rest.is_empty() {
                    let take = UNIT.saturating_sub(pending.len()).min(rest.len());
                    pending.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    if pending.len() >= UNIT {
                        let unit = std::mem::take(&mut pending);
                        let (written, buffer) = md5.update_unit_while(unit, |bytes| f.write(bytes));
                        written?;
                        pending = buffer;
                    }
                }
            }
            Some(Msg::Finish) => break,
            // The sender went away without finishing: the client disconnected or the request
            // failed. Returning drops the staging file.
            None => return Err(StoreError::BodyStream("body not finished".into())),
        }
    }
    md5.update(&pending);
    let data = match staging {
        None => StagedData::Inline(pending.freeze()),
        Some(mut f) => {
            f.write(&pending)?;
            StagedData::File(commit_staging_file(&layout, f)?)
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
