//! MD5 of many bodies at once. Every PUT must compute the MD5 of its body (it is the ETag that
//! s3a, rclone and the SDKs check), and MD5 is serial within one body: ~770 MiB/s per core at
//! best, which makes it most of a large PUT's server CPU. Independent bodies, though, can share
//! one core's SIMD lanes (8 with AVX2, 16 with AVX-512 — MinIO's md5-simd does the same in Go).
//!
//! Body writers hand whole [`crate::unit::UNIT`]s of their body to one hashing thread, which gathers
//! the units waiting from concurrent uploads into one multi-lane pass. A lone body is hashed with
//! the scalar code, on that thread, while its writer goes on writing. Whatever goes wrong on the
//! hashing thread, the writer hashes the unit itself: the digest is never wrong and never waits
//! for a thread that is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use md5_many::{Md5Many, Md5State};

use crate::unit::UnitBuf;

/// The most units hashed in one pass (AVX-512's lane count).
const MAX_BATCH: usize = 16;

/// How long the hashing thread waits for the units of other bodies being received before it
/// hashes a smaller batch. Writers spend this time writing their unit to the file anyway, so the
/// wait is mostly hidden, and a fuller batch costs the same as a lone unit.
const GATHER: Duration = Duration::from_micros(300);

/// Bodies that have handed units to the hashing thread and are not finished yet.
static ACTIVE_BODIES: AtomicUsize = AtomicUsize::new(0);

/// The MD5 of one body being received.
pub(crate) struct BodyMd5 {
    state: Md5State,
    /// Counted in [`ACTIVE_BODIES`].
    active: bool,
    /// `false` for sealed bodies: their MD5 is the plaintext's, computed before sealing, so
    /// hashing the sealed bytes would be wasted work (the digest is then all zeros).
    enabled: bool,
}

impl BodyMd5 {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            state: Md5State::new(),
            active: false,
            enabled,
        }
    }

    /// Hashes bytes on the calling thread (small bodies and the last, partial unit).
    pub(crate) fn update(&mut self, data: &[u8]) {
        if self.enabled {
            self.state.update(data);
        }
    }

    /// Hashes one full unit on the shared thread while `io` runs here with the same bytes (the
    /// write to the data file); returns `io`'s result and the unit's buffer, emptied, for the next
    /// unit (writers reuse one buffer each: no allocation per MiB, a flat memory profile). Bodies
    /// hash whole units from offsets that are multiples of [`crate::unit::DIRECT_IO_ALIGN`] (a
    /// stalled body writes out a partial, block-aligned unit), so the lanes see whole 64-byte
    /// blocks.
    pub(crate) fn update_unit_while<R>(&mut self, unit: UnitBuf, io: impl FnOnce(&[u8]) -> R) -> (R, UnitBuf) {
        debug_assert!(unit.is_full());
        if !self.enabled {
            let out = io(&unit);
            let mut buffer = unit;
            buffer.clear();
            return (out, buffer);
        }
        debug_assert_eq!(self.state.bytes_hashed() % 64, 0);
        let unit = Arc::new(unit);
        if !self.active {
            self.active = true;
            ACTIVE_BODIES.fetch_add(1, Ordering::Relaxed);
        }
        let out = match submit(self.state, unit.clone()) {
            None => {
                self.state.update(&unit);
                io(&unit)
            }
            Some(reply) => {
                let out = io(&unit);
                match reply.recv() {
                    Ok(state) => self.state = state,
                    // The hashing thread is gone (it panicked): hash here, from the state before.
                    Err(_) => self.state.update(&unit),
                }
                out
            }
        };
        // The hashing thread drops its handle before replying, so the buffer is ours again.
        let mut buffer = Arc::try_unwrap(unit).unwrap_or_else(|_| UnitBuf::new());
        buffer.clear();
        (out, buffer)
    }

    /// The body is not sending units for a while (its client stalled): the hashing thread need
    /// not wait for it when gathering a batch.
    pub(crate) fn pause(&mut self) {
        if self.active {
            self.active = false;
            ACTIVE_BODIES.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The 16-byte digest.
    pub(crate) fn finalize(&self) -> [u8; 16] {
        if !self.enabled {
            return [0; 16];
        }
        self.state.finalize()
    }
}

impl Drop for BodyMd5 {
    fn drop(&mut self) {
        if self.active {
            ACTIVE_BODIES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

struct Job {
    state: Md5State,
    data: Arc<UnitBuf>,
    reply: mpsc::SyncSender<Md5State>,
}

/// Queues a unit on the hashing thread (started on first use); `None` if it is not running.
fn submit(state: Md5State, data: Arc<UnitBuf>) -> Option<mpsc::Receiver<Md5State>> {
    static HASHER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = HASHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("lagoa-md5".into())
            .spawn(move || hash_jobs(rx))
            .map_err(|err| tracing::warn!(%err, "no MD5 hashing thread; bodies are hashed by their writers"))
            .ok()
            .map(|_| tx)
    });
    let (reply, answer) = mpsc::sync_channel(1);
    sender.as_ref()?.send(Job { state, data, reply }).ok()?;
    Some(answer)
}

/// The hashing thread: takes every unit waiting (up to [`MAX_BATCH`]) and hashes them in one pass.
fn hash_jobs(rx: mpsc::Receiver<Job>) {
    let engine = Md5Many::new();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let wanted = ACTIVE_BODIES.load(Ordering::Relaxed).clamp(1, MAX_BATCH);
        let deadline = Instant::now() + GATHER;
        while batch.len() < MAX_BATCH {
            let next = match rx.try_recv() {
                Ok(job) => Ok(job),
                Err(_) if batch.len() < wanted => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
                Err(_) => break,
            };
            match next {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        hash_batch(engine, &mut batch);
        for Job { state, data, reply } in batch {
            // Released first, so the writer gets its buffer back unshared.
            drop(data);
            // The writer may have gone (request failed); nothing to do then.
            let _ = reply.send(state);
        }
    }
}

/// Hashes one unit per job. A batch of two or more is padded to a whole SIMD width (8 or 16
/// lanes) with copies of its first job: md5-many's kernels are fast only at those widths (4.7 GB/s
/// at 8 lanes, 7 GB/s at 16 on this machine's AVX-512, but 0.2 GB/s at 5 lanes).
fn hash_batch(engine: Md5Many, batch: &mut [Job]) {
    if let [job] = batch {
        job.state.update(&job.data);
        return;
    }
    let width = if batch.len() <= 8 { 8 } else { MAX_BATCH };
    let mut states: Vec<Md5State> = batch.iter().map(|j| j.state).collect();
    states.resize(width, batch[0].state);
    let mut inputs: Vec<&[u8]> = batch.iter().map(|j| &j.data[..]).collect();
    inputs.resize(width, &batch[0].data[..]);
    engine.update_many(&mut states, &inputs);
    for (job, state) in batch.iter_mut().zip(states) {
        job.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::UNIT;
    use md5::{Digest, Md5};
    use proptest::prelude::*;

    fn body(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// Hashes `data` the way the body writer does: whole units on the shared thread, the rest here.
    fn lane_md5(data: &[u8]) -> [u8; 16] {
        let mut md5 = BodyMd5::new(true);
        let mut chunks = data.chunks_exact(UNIT);
        for unit in &mut chunks {
            let mut buffer = UnitBuf::new();
            buffer.fill_from(unit);
            let (written, buffer) = md5.update_unit_while(buffer, |b| b.len());
            assert_eq!(written, UNIT);
            assert!(buffer.is_empty());
        }
        md5.update(chunks.remainder());
        md5.finalize()
    }

    #[test]
    fn concurrent_bodies_match_the_reference_md5() {
        // Enough concurrent bodies to fill batches of every width, each of a different length.
        let handles: Vec<_> = (0..20u8)
            .map(|i| {
                std::thread::spawn(move || {
                    let data = body(i, (i as usize % 5) * UNIT + i as usize * 977);
                    assert_eq!(lane_md5(&data), <[u8; 16]>::from(Md5::digest(&data)), "body {i}");
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn every_batch_width_matches_the_reference_md5() {
        let engine = Md5Many::new();
        for n in 1..=MAX_BATCH {
            // hash_batch takes any equal, 64-byte-aligned lengths; small ones keep the test fast.
            let datas: Vec<Vec<u8>> = (0..n).map(|i| body(i as u8, 64 * 1024)).collect();
            let mut replies = Vec::new();
            let mut batch: Vec<Job> = datas
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let (reply, answer) = mpsc::sync_channel(1);
                    replies.push(answer);
                    let mut state = Md5State::new();
                    // Lanes at different positions of their bodies.
                    state.update(&body(100 + i as u8, i * 4096));
                    let mut data = UnitBuf::new();
                    data.fill_from(d);
                    Job {
                        state,
                        data: Arc::new(data),
                        reply,
                    }
                })
                .collect();
            hash_batch(engine, &mut batch);
            for (i, job) in batch.iter().enumerate() {
                let mut whole = body(100 + i as u8, i * 4096);
                whole.extend_from_slice(&datas[i]);
                assert_eq!(
                    job.state.finalize(),
                    <[u8; 16]>::from(Md5::digest(&whole)),
                    "width {n}, lane {i}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn any_length_matches_the_reference_md5(len in 0usize..2 * UNIT + 200, seed in any::<u8>()) {
            let data = body(seed, len);
            prop_assert_eq!(lane_md5(&data), <[u8; 16]>::from(Md5::digest(&data)));
        }
    }
}
