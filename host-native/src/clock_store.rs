//! `clock.json` under a file lock, so that concurrent processes never hand out the same value.

use crate::state::{StateDir, write_atomically};
use anyhow::{Context, Result};
use spec_kitty_core::{ClockFile, LamportClock, NodeId};
use std::fs::File;

/// The clock, held under an exclusive lock until dropped.
pub struct LockedClock {
    _lock: File,
    pub clock: LamportClock,
    /// A problem met while reading the file (missing is not one), for the caller to report once.
    pub warning: Option<String>,
}

impl LockedClock {
    /// Locks `clock.lock` and reads `clock.json`. Missing starts at 0; empty or corrupt starts at 0
    /// too, with a warning, and the caller raises the value to what the queue has already seen.
    pub fn acquire(state: &StateDir) -> Result<LockedClock> {
        let lock_path = state.clock_lock();
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
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
        Ok(LockedClock { _lock: lock, clock, warning })
    }

    pub fn save(&self, state: &StateDir, node_id: &NodeId, now_ms: u64) -> Result<()> {
        let file = ClockFile::new(self.clock, node_id.clone(), now_ms);
        write_atomically(&state.clock_file(), file.to_json().as_bytes())
    }
}
