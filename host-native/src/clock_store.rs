//! `clock.json` under a file lock, so that concurrent processes never hand out the same value.

use crate::state::{StateDir, write_atomically};
use anyhow::{Context, Result};
use spec_kitty_core::{ClockFile, LamportClock, NodeId};
use std::fs::File;

/// Opens `clock.lock`, once per process: an emitter keeps it and locks it for each emission.
pub fn open_lock(state: &StateDir) -> Result<File> {
    let lock_path = state.clock_lock();
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))
}

/// The clock, held under an exclusive lock on `clock.lock` until dropped.
pub struct LockedClock<'a> {
    lock: &'a File,
    pub clock: LamportClock,
    /// A problem met while reading the file (missing is not one), for the caller to report once.
    pub warning: Option<String>,
}

impl<'a> LockedClock<'a> {
    /// Locks `clock.lock` and reads `clock.json`. Missing starts at 0; empty or corrupt starts at 0
    /// too, with a warning, and the caller raises the value to what the queue has already seen.
    pub fn acquire(state: &StateDir, lock: &'a File) -> Result<LockedClock<'a>> {
        lock.lock().with_context(|| format!("cannot lock {}", state.clock_lock().display()))?;
        let path = state.clock_file();
        let (clock, warning) = match std::fs::read_to_string(&path) {
            Ok(text) => match ClockFile::parse(&path.display().to_string(), &text) {
                Ok(file) => (file.clock(), None),
                Err(e) => {
                    (LamportClock::default(), Some(format!("{e}; starting again from the queue's highest value")))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (LamportClock::default(), None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(LockedClock { lock, clock, warning })
    }

    pub fn save(&self, state: &StateDir, node_id: &NodeId, now_ms: u64) -> Result<()> {
        let file = ClockFile::new(self.clock, node_id.clone(), now_ms);
        write_atomically(&state.clock_file(), file.to_json().as_bytes())
    }
}

impl Drop for LockedClock<'_> {
    fn drop(&mut self) {
        // Closing the file would release the lock too, but the emitter keeps it open for the next emission.
        let _ = self.lock.unlock();
    }
}
