//! The user's state folder, `SPEC_KITTY_HOME` (default `~/.spec-kitty`): clock, queue, credentials.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Locates the folder without touching the disk, so read-only commands never create it.
    pub fn locate() -> StateDir {
        let root = match std::env::var_os("SPEC_KITTY_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
                home.join(".spec-kitty")
            }
        };
        StateDir { root }
    }

    /// A state folder at an explicit place (benchmarks, embedding).
    pub fn at(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the folder (mode 0700: it holds credentials) when an emission first needs it.
    pub fn ensure(&self) -> Result<()> {
        if self.root.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.root).with_context(|| format!("cannot create {}", self.root.display()))
    }

    pub fn clock_file(&self) -> PathBuf {
        self.root.join("clock.json")
    }

    pub fn clock_lock(&self) -> PathBuf {
        self.root.join("clock.lock")
    }

    pub fn queue_db(&self) -> PathBuf {
        self.root.join("queue.db")
    }

    pub fn credentials(&self) -> PathBuf {
        self.root.join("credentials")
    }
}

/// Writes a file atomically: a temp file in the same folder, fsync, then rename over the target.
/// A reader sees the old content or the new, never half of either.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
