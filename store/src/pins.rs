//! Data files a started GET still needs. A multipart object's later parts are opened only when
//! the stream reaches them (an object of 10,000 parts must not hold 10,000 descriptors), so an
//! overwrite or delete committed mid-read would unlink them under the reader: the client would
//! get a 200 with a full Content-Length and then a cut connection. Instead, a reader pins the
//! files of its object before its headers are sent; a file dereferenced while pinned is unlinked
//! by its last reader. A crash in between leaves an unreferenced file, which start-up GC removes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::layout::{FileId, Layout};

/// The pinned files of one store.
#[derive(Default)]
pub(crate) struct FilePins {
    pinned: Mutex<HashMap<FileId, Pin>>,
}

#[derive(Default)]
struct Pin {
    readers: usize,
    /// Dereferenced while pinned: the last reader unlinks it.
    doomed: bool,
}

impl FilePins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FileId, Pin>> {
        self.pinned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pins `ids` until the guard is dropped.
    pub(crate) fn pin(self: &Arc<Self>, ids: Vec<FileId>, layout: Layout) -> PinGuard {
        let mut pinned = self.lock();
        for id in &ids {
            pinned.entry(*id).or_default().readers += 1;
        }
        PinGuard {
            pins: self.clone(),
            ids,
            layout,
        }
    }

    /// Of dereferenced files, those that may be unlinked now; the pinned ones are left to their
    /// last reader.
    pub(crate) fn removable(&self, ids: Vec<FileId>) -> Vec<FileId> {
        let mut pinned = self.lock();
        if pinned.is_empty() {
            return ids;
        }
        ids.into_iter()
            .filter(|id| match pinned.get_mut(id) {
                Some(pin) => {
                    pin.doomed = true;
                    false
                }
                None => true,
            })
            .collect()
    }
}

/// Files pinned by one reader.
pub(crate) struct PinGuard {
    pins: Arc<FilePins>,
    ids: Vec<FileId>,
    layout: Layout,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut doomed = Vec::new();
        {
            let mut pinned = self.pins.lock();
            for id in &self.ids {
                if let Some(pin) = pinned.get_mut(id) {
                    pin.readers -= 1;
                    if pin.readers == 0 {
                        if pin.doomed {
                            doomed.push(*id);
                        }
                        pinned.remove(id);
                    }
                }
            }
        }
        for id in doomed {
            crate::writer::remove_in_background(self.layout.data_path(id));
        }
    }
}
