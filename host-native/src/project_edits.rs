//! A command's changes to the project's files, as one unit with their commit.
//!
//! A command that writes a file and then fails to commit it (another program holds git's
//! `index.lock`, the disk is full) must not leave the change on disk: the retry would read the new
//! lane, refuse the move as already made, and the event would never be emitted. So every file is
//! written through [`ProjectEdits`], which remembers what it replaced and puts it back unless the
//! edits were committed (or explicitly kept, for commands that do not commit).

use crate::git;
use crate::state::write_atomically;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct ProjectEdits<'a> {
    root: &'a Path,
    /// Each file written, with its bytes before the first write (`None`: it did not exist).
    originals: Vec<(PathBuf, Option<Vec<u8>>)>,
    settled: bool,
}

impl<'a> ProjectEdits<'a> {
    pub fn new(root: &'a Path) -> ProjectEdits<'a> {
        ProjectEdits { root, originals: Vec::new(), settled: false }
    }

    /// Writes `contents` to `path` atomically, remembering what was there first.
    pub fn write(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        if !self.originals.iter().any(|(written, _)| written == path) {
            let original = match std::fs::read(path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            self.originals.push((path.to_path_buf(), original));
        }
        write_atomically(path, contents)
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.originals.iter().map(|(path, _)| path.clone()).collect()
    }

    /// Commits the files written; when that fails they are put back as they were and the error is
    /// returned. Returns whether a commit was made (nothing changed: none).
    pub fn commit(mut self, message: &str) -> Result<bool> {
        let paths = self.paths();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let committed = git::commit_paths(self.root, &refs, message)?;
        self.settled = true;
        Ok(committed)
    }

    /// Keeps the files written, uncommitted (the commands that only edit, like add-history).
    pub fn keep(mut self) {
        self.settled = true;
    }

    fn roll_back(&self) {
        for (path, original) in self.originals.iter().rev() {
            let _ = match original {
                Some(bytes) => write_atomically(path, bytes),
                None => std::fs::remove_file(path).map_err(Into::into),
            };
        }
        // A failed commit may have staged the new contents already; unstage them (best effort: the
        // index may be locked, which is often why the commit failed).
        let rendered: Vec<String> = self.originals.iter().map(|(path, _)| path.display().to_string()).collect();
        if !rendered.is_empty() {
            let mut reset = vec!["reset", "--quiet", "--"];
            reset.extend(rendered.iter().map(String::as_str));
            let _ = git::run(self.root, &reset);
        }
    }
}

impl Drop for ProjectEdits<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.roll_back();
        }
    }
}
