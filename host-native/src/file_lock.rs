//! Exclusive file locks with a bounded wait.
//!
//! `flock` itself waits forever, and a process stuck holding a lock (a hung agent, a stopped job)
//! would stall every command behind it. So the lock is tried without blocking, and retried with
//! short growing pauses until a deadline; then the caller reports who it waited for.

use anyhow::{Context, Result, bail};
use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest wait taken from the environment: about 24 days, what SQLite's busy timeout (an `int`
/// of milliseconds) can hold.
const MAX_WAIT: Duration = Duration::from_millis(i32::MAX as u64);

/// Reads a wait in milliseconds from the environment variable `name`, else `default`.
pub fn wait_from_env(name: &str, default: Duration) -> Duration {
    let wait = std::env::var(name).ok().and_then(|ms| ms.trim().parse::<u64>().ok()).map(Duration::from_millis);
    wait.unwrap_or(default).min(MAX_WAIT)
}

/// Opens (creating if needed) the lock file at `path`; the file's content is never used.
pub fn open(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Takes an exclusive lock on `file` (named `path` in errors), waiting until `deadline` at most.
pub fn lock_until(file: &File, path: &Path, deadline: Instant) -> Result<()> {
    let began = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
        let now = Instant::now();
        if now >= deadline {
            bail!("another spec-kitty process holds {} (waited {} ms)", path.display(), began.elapsed().as_millis());
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}
