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
///
/// The temp file is `.{name}.{pid}.tmp`. A process killed between create and rename leaves it
/// behind; [`remove_leftover_temp_files`] clears such files, called by the next command while it
/// holds the lock that every writer of that folder holds.
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

/// Whether `name` is a temp file of [`write_atomically`]: `.{name}.{pid}.tmp`.
fn is_our_temp_file(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else { return false };
    match inner.rsplit_once('.') {
        Some((target, pid)) => !target.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// Removes the temp files a killed [`write_atomically`] left in `dir` (only those of the file named
/// `only_for`, when given). Call it only while holding the lock every writer of those files takes,
/// so no live write's temp file is removed. Best effort: a file that cannot be removed is left for
/// the next command.
pub fn remove_leftover_temp_files(dir: &Path, only_for: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let wanted = |name: &str| match only_for {
        Some(target) => name.strip_prefix('.').is_some_and(|rest| rest.starts_with(&format!("{target}."))),
        None => true,
    };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(|name| is_our_temp_file(name) && wanted(name)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_our_temp_file;

    #[test]
    fn recognises_only_its_own_temp_names() {
        assert!(is_our_temp_file(".WP01-factory.md.4242.tmp"));
        assert!(is_our_temp_file(".clock.json.1.tmp"));
        for other in [".WP01.md.tmp", "WP01.md.42.tmp", ".clock.json.4x2.tmp", "..42.tmp", ".notes.tmp"] {
            assert!(!is_our_temp_file(other), "{other}");
        }
    }
}
