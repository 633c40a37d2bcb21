//! The machine's own limits, measured in the same run as the servers: what a durable write, a
//! page-cache read and a loopback connection can do here, plus the per-core cost of the hashes a
//! PUT computes. Every server figure is compared against these.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use crate::driver::MIB;

/// The measured limits (MiB/s unless named otherwise). The I/O limits of a virtual machine swing
/// from one minute to the next (the flush speed of this disk went from 360 to 1,500 MiB/s between
/// two runs), so they are sampled several times — before the scenarios and again after them — and
/// the median of all samples is what ratios are computed against.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Sequential write of 64 MiB files, each fdatasync'd (what a durable 64 MiB PUT must do).
    pub fsync_write: Samples,
    /// Reading those files back from the page cache.
    pub page_cache_read: Samples,
    /// One TCP connection over loopback.
    pub loopback: Samples,
    /// "temp file + fsync + rename + directory fsync" per 4 KiB object, 16 threads (ops/s): the
    /// ceiling of a file-per-object durable small write.
    pub file_per_object_16: f64,
    /// The same with one thread.
    pub file_per_object_1: f64,
    /// Hashes on one core.
    pub md5_mib: f64,
    pub sha256_mib: f64,
    pub crc32c_mib: f64,
}

/// Repeated measurements of one limit.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// The median sample (0 when nothing was measured).
    pub fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }

    fn range(&self) -> String {
        let min = self.0.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.0.iter().copied().fold(0.0, f64::max);
        format!("{:.0} MiB/s (median of {}: {min:.0}–{max:.0})", self.median(), self.0.len())
    }
}

/// How many I/O samples [`Limits::sample_io`] takes per call.
const IO_ROUNDS: usize = 3;

impl Limits {
    /// Measures everything once, with [`IO_ROUNDS`] samples of the I/O limits.
    pub fn measure(dir: &Path, quick: bool) -> anyhow::Result<Self> {
        let mut limits = Self::default();
        limits.sample_io(dir, quick)?;
        let work = tempfile::tempdir_in(dir)?;
        limits.file_per_object_1 = small_durable_writes(work.path(), 1, Duration::from_secs(2))?;
        limits.file_per_object_16 = small_durable_writes(work.path(), 16, Duration::from_secs(2))?;
        let buf = vec![0x5au8; 64 * MIB];
        let hash = |f: &dyn Fn(&[u8])| {
            let t0 = Instant::now();
            f(&buf);
            64.0 / t0.elapsed().as_secs_f64()
        };
        limits.md5_mib = hash(&|b| {
            std::hint::black_box(Md5::digest(b));
        });
        limits.sha256_mib = hash(&|b| {
            std::hint::black_box(sha2::Sha256::digest(b));
        });
        limits.crc32c_mib = hash(&|b| {
            std::hint::black_box(crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b));
        });
        Ok(limits)
    }

    /// Adds [`IO_ROUNDS`] samples of the disk and loopback limits (called before and after the
    /// scenarios, so the ratios rest on the disk's speed over the whole run).
    pub fn sample_io(&mut self, dir: &Path, quick: bool) -> anyhow::Result<()> {
        let work = tempfile::tempdir_in(dir)?;
        let files = if quick { 2 } else { 16 };
        for _ in 0..IO_ROUNDS {
            let (write, read) = disk(work.path(), files)?;
            self.fsync_write.0.push(write);
            self.page_cache_read.0.push(read);
            self.loopback.0.push(loopback(if quick { 512 } else { 4096 })?);
        }
        Ok(())
    }

    /// The medians of the sampled limits (MiB/s): fsync'd write, page-cache read, loopback.
    pub fn fsync_write_mib(&self) -> f64 {
        self.fsync_write.median()
    }

    /// What a GET can be served at: the slower of the page cache and loopback.
    pub fn read_path_mib(&self) -> f64 {
        self.loopback.median().min(self.page_cache_read.median())
    }

    pub fn table(&self) -> String {
        format!(
            "| limit | value |\n|---|---|\n\
             | fsync'd sequential write (16 × 64 MiB files, fdatasync each) | {} |\n\
             | page-cache read | {} |\n\
             | loopback TCP, one connection | {} |\n\
             | durable 4 KiB file-per-object (tmp+fsync+rename+dir fsync), 1 thread | {:.0} /s |\n\
             | the same, 16 threads | {:.0} /s |\n\
             | MD5 / SHA-256 / CRC32C, one core | {:.0} / {:.0} / {:.0} MiB/s |\n",
            self.fsync_write.range(),
            self.page_cache_read.range(),
            self.loopback.range(),
            self.file_per_object_1,
            self.file_per_object_16,
            self.md5_mib,
            self.sha256_mib,
            self.crc32c_mib
        )
    }
}

/// Writes `files` × 64 MiB (1 MiB writes, fdatasync per file), then reads them back.
fn disk(dir: &Path, files: usize) -> anyhow::Result<(f64, f64)> {
    let block = vec![0xa5u8; MIB];
    let t0 = Instant::now();
    for i in 0..files {
        let mut f = File::create(dir.join(format!("seq-{i}")))?;
        for _ in 0..64 {
            f.write_all(&block)?;
        }
        f.sync_data()?;
    }
    let write = (files * 64) as f64 / t0.elapsed().as_secs_f64();
    let mut buf = vec![0u8; MIB];
    let t0 = Instant::now();
    for i in 0..files {
        let mut f = File::open(dir.join(format!("seq-{i}")))?;
        while f.read(&mut buf)? > 0 {}
    }
    let read = (files * 64) as f64 / t0.elapsed().as_secs_f64();
    for i in 0..files {
        std::fs::remove_file(dir.join(format!("seq-{i}")))?;
    }
    Ok((write, read))
}

/// Durable 4 KiB writes the file-per-object way, `threads` at a time, for `time`; ops/s.
fn small_durable_writes(dir: &Path, threads: usize, time: Duration) -> anyhow::Result<f64> {
    let objects = dir.join(format!("objects-{threads}"));
    std::fs::create_dir_all(&objects)?;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let objects = objects.clone();
            std::thread::spawn(move || -> std::io::Result<usize> {
                let body = [0x3cu8; 4096];
                let mut n = 0;
                while start.elapsed() < time {
                    let tmp = objects.join(format!("tmp-{t}-{n}"));
                    let mut f = File::create(&tmp)?;
                    f.write_all(&body)?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, objects.join(format!("obj-{t}-{n}")))?;
                    File::open(&objects)?.sync_all()?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&objects)?;
    Ok(rate)
}

/// Sends `mib` MiB over one loopback TCP connection in 1 MiB writes; MiB/s.
fn loopback(mib: usize) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> std::io::Result<usize> {
        let (mut conn, _) = listener.accept()?;
        let mut buf = vec![0u8; MIB];
        let mut total = 0;
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    });
    let block = vec![0x11u8; MIB];
    let t0 = Instant::now();
    let mut conn = TcpStream::connect(addr)?;
    for _ in 0..mib {
        conn.write_all(&block)?;
    }
    drop(conn);
    let received = reader.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
    anyhow::ensure!(received == mib * MIB, "loopback lost bytes");
    Ok(mib as f64 / t0.elapsed().as_secs_f64())
}
