//! `clock.json` under a file lock, so that concurrent processes never hand out the same value.

use crate::file_lock;
use crate::state::{StateDir, remove_leftover_temp_files, write_atomically_unsynced};
use anyhow::Result;
use spec_kitty_core::clock::{RecoveredClock, StoredClock, recover_clock};
use spec_kitty_core::{ClockFile, LamportClock, NodeId};
use std::fs::File;
use std::time::Instant;

/// The clock, held under an exclusive lock on `clock.lock` until dropped.
pub struct LockedClock<'a> {
    lock: &'a File,
    /// What clock.json held when the lock was taken.
    pub stored: StoredClock,
    /// The clock to tick: the file's value until [`LockedClock::recover`] raises it.
    pub clock: LamportClock,
}

impl<'a> LockedClock<'a> {
    /// Locks `clock.lock` (waiting until `deadline` at most) and reads `clock.json`: a value, missing,
    /// or unusable (empty, corrupt or unreadable, with the problem in one line naming the file).
    pub fn acquire(state: &StateDir, lock: &'a File, deadline: Instant) -> Result<LockedClock<'a>> {
        file_lock::lock_until(lock, &state.clock_lock(), deadline)?;
        // Every writer of clock.json holds this lock: a temp file of it now is a killed writer's.
        remove_leftover_temp_files(state.root(), Some("clock.json"));
        let path = state.clock_file();
        let stored = match std::fs::read_to_string(&path) {
            Ok(text) => match ClockFile::parse(&path.display().to_string(), &text) {
                Ok(file) => StoredClock::Value { value: file.value },
                Err(e) => StoredClock::Unreadable { problem: e.to_string() },
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoredClock::Missing,
            Err(e) => StoredClock::Unreadable { problem: format!("cannot read {}: {e}", path.display()) },
        };
        let clock = LamportClock::new(stored.value());
        Ok(LockedClock { lock, stored, clock })
    }

    /// Continues from the core's recovery rule over the file and the queue's highest value.
    pub fn recover(&mut self, queue_max: u64) -> RecoveredClock {
        let recovered = recover_clock(&self.stored, queue_max);
        self.clock = recovered.clock;
        recovered
    }

    pub fn save(&self, state: &StateDir, node_id: &NodeId, now_ms: u64) -> Result<()> {
        let file = ClockFile::new(self.clock, node_id.clone(), now_ms);
        // Not synced: the queue's commit records the same value durably, and the recovery rule takes the
        // higher of the two, so a clock file lost to a power cut never hands out a value twice.
        write_atomically_unsynced(&state.clock_file(), file.to_json().as_bytes())
    }
}

impl Drop for LockedClock<'_> {
    fn drop(&mut self) {
        // Closing the file would release the lock too, but the emitter keeps it open for the next emission.
        let _ = self.lock.unlock();
    }
}
