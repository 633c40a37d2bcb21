//! Striped locks that serialise the read-check-commit step of writes to one key (or one upload),
//! which is what makes conditional writes atomic and keeps data-file bookkeeping exact. Bodies are
//! received before the lock is taken, so a slow upload never holds it.

use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

const STRIPES: usize = 1024;

/// A fixed array of mutexes; a name maps to one stripe by hash.
pub(crate) struct StripedLocks {
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl StripedLocks {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }

    fn stripe_of(&self, name: impl Hash) -> usize {
        (self.hasher.hash_one(name) as usize) % STRIPES
    }

    /// Locks the stripe of one name.
    pub(crate) fn lock(&self, name: impl Hash) -> MutexGuard<'_, ()> {
        let i = self.stripe_of(name);
        // A poisoned stripe only means another writer panicked; the data it guards is `()`.
        self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the stripes of many names at once, in stripe order, so that two batches can never
    /// deadlock each other.
    pub(crate) fn lock_many<T: Hash>(&self, names: impl IntoIterator<Item = T>) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = names.into_iter().map(|n| self.stripe_of(n)).collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter()
            .map(|i| self.stripes[i].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }
}
