//! A command's changes to the project's files, as one unit with their commit.
//!
//! A command that writes a file and then fails to commit it (another program holds git's
//! `index.lock`, the disk is full) must not leave the change on disk: the retry would read the new
//! lane, refuse the move as already made, and the event would never be emitted. So every file is
//! written through [`ProjectEdits`], which remembers what it replaced and puts it back unless the
//! edits were committed (or explicitly kept, for commands that do not commit).

use crate::git;
use crate::repo_files::{RepoFiles, sibling};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

pub struct ProjectEdits<'a> {
    files: &'a RepoFiles,
    /// Each file written (relative to the root), with what it was before the first write.
    originals: Vec<(String, Original)>,
    settled: bool,
}

/// What a file was before the edits.
enum Original {
    /// It did not exist.
    Absent,
    /// A second name (hard link) of the old file: putting it back is a rename, which needs no free
    /// space (a full disk is a common reason for the commit to fail).
    Linked(String),
    /// Its bytes, where a hard link could not be made.
    Bytes(Vec<u8>),
}

impl<'a> ProjectEdits<'a> {
    /// Edits of files inside the repository `files` opens; none can reach outside it.
    pub fn new(files: &'a RepoFiles) -> ProjectEdits<'a> {
        ProjectEdits { files, originals: Vec::new(), settled: false }
    }

    /// Writes `contents` to `relative` (a path under the root) atomically, remembering what was there
    /// first. A symbolic link is refused: replacing it by a file would change the repository's
    /// structure and leave its target stale.
    pub fn write(&mut self, relative: &str, contents: &[u8]) -> Result<()> {
        if !self.originals.iter().any(|(written, _)| written == relative) {
            let files = self.files;
            let original = match files.symlink_metadata(relative) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    bail!("{} is a symbolic link; spec-kitty rewrites only regular files", files.label(relative))
                }
                Ok(_) => {
                    let backup = backup_name(relative);
                    let _ = files.remove_file(&backup);
                    match files.hard_link(relative, &backup) {
                        Ok(()) => Original::Linked(backup),
                        Err(_) => Original::Bytes(files.read_bytes(relative)?),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Original::Absent,
                // A folder on the way that leads outside: said by the read, naming the link.
                Err(_) => Original::Bytes(files.read_bytes(relative)?),
            };
            self.originals.push((relative.to_string(), original));
        }
        self.files.write_atomically(relative, contents)
    }

    /// The files written, as paths outside the capability (for git and reports).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.originals.iter().map(|(path, _)| self.files.path(path)).collect()
    }

    /// Commits the files written; when that fails they are put back as they were and the error is
    /// returned. Returns whether a commit was made (nothing changed: none).
    pub fn commit(mut self, message: &str) -> Result<bool> {
        let paths = self.paths();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let committed = match git::commit_paths(self.files.root(), &refs, message) {
            Ok(committed) => committed,
            // git can fail after the commit was made (a post-commit hook, a signal): when HEAD already
            // holds exactly what was written, the change is committed and must not be reverted.
            Err(error) if !refs.is_empty() && self.head_holds(&paths) => {
                crate::errln!("note: git reported an error after committing ({error:#}); the commit stands");
                true
            }
            Err(error) => return Err(error),
        };
        self.settle();
        Ok(committed)
    }

    /// Keeps the files written, uncommitted (the commands that only edit, like add-history).
    pub fn keep(mut self) {
        self.settle();
    }

    fn head_holds(&self, paths: &[PathBuf]) -> bool {
        let rendered: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let mut diff = vec!["diff", "--quiet", "HEAD", "--"];
        diff.extend(rendered.iter().map(String::as_str));
        git::run(self.files.root(), &diff).is_ok()
    }

    fn settle(&mut self) {
        self.settled = true;
        for (_, original) in &self.originals {
            if let Original::Linked(backup) = original {
                let _ = self.files.remove_file(backup);
            }
        }
    }

    fn roll_back(&self) {
        for (path, original) in self.originals.iter().rev() {
            let _ = match original {
                Original::Linked(backup) => self.files.rename(backup, path).map_err(Into::into),
                Original::Bytes(bytes) => self.files.write_atomically(path, bytes),
                Original::Absent => self.files.remove_file(path).map_err(Into::into),
            };
        }
        // A failed commit may have staged the new contents already; unstage them (best effort: the
        // index may be locked, which is often why the commit failed).
        let rendered: Vec<String> = self.paths().iter().map(|path| path.display().to_string()).collect();
        if !rendered.is_empty() {
            let mut reset = vec!["reset", "--quiet", "--"];
            reset.extend(rendered.iter().map(String::as_str));
            let _ = git::run(self.files.root(), &reset);
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

/// `.{name}.orig.{pid}.tmp` beside the file: a temp name, so a killed command's backup is swept by
/// the next one like any other temp file.
fn backup_name(relative: &str) -> String {
    sibling(relative, &format!("orig.{}.tmp", std::process::id()))
}
