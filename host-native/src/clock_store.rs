//! `clock.json` under a file lock, so that concurrent processes never hand out the same value.

use crate::file_lock;
use crate::state::{StateDir, remove_leftover_temp_files, write_atomically};
use anyhow::Result;
use spec_kitty_core::{ClockFile, LamportClock, NodeId};
use std::fs::File;
use std::time::Instant;

/// The clock, held under an exclusive lock on `clock.lock` until dropped.
pub struct LockedClock<'a> {
    lock: &'a File,
    pub clock: LamportClock,
    /// There was no clock.json (a new state folder, or one deleted): the caller says so when the
    /// queue shows values were handed out before.
    pub missing: bool,
    /// A problem met while reading the file, for the caller to report once.
    pub warning: Option<String>,
}

impl<'a> LockedClock<'a> {
    /// Locks `clock.lock` (waiting until `deadline` at most) and reads `clock.json`. Missing starts
    /// at 0; empty, corrupt or unreadable starts at 0 too, with a warning; the caller raises the value
    /// to what the queue has already seen.
    pub fn acquire(state: &StateDir, lock: &'a File, deadline: Instant) -> Result<LockedClock<'a>> {
        file_lock::lock_until(lock, &state.clock_lock(), deadline)?;
        // Every writer of clock.json holds this lock: a temp file of it now is a killed writer's.
        remove_leftover_temp_files(state.root(), Some("clock.json"));
        let path = state.clock_file();
        let restart = "starting again from the queue's highest value";
        let (clock, missing, warning) = match std::fs::read_to_string(&path) {
            Ok(text) => match ClockFile::parse(&path.display().to_string(), &text) {
                Ok(file) => (file.clock(), false, None),
                Err(e) => (LamportClock::default(), false, Some(format!("{e}; {restart}"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (LamportClock::default(), true, None),
            Err(e) => (LamportClock::default(), false, Some(format!("cannot read {}: {e}; {restart}", path.display()))),
        };
        Ok(LockedClock { lock, clock, missing, warning })
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
