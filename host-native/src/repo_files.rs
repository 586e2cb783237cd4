//! The repository's files through a capability: the root is opened once as a `cap_std::fs::Dir`
//! (the only use of ambient authority), and every read and edit of a feature's files goes through
//! it with a path relative to the root. Whatever a feature slug, a WP file's name or a symbolic
//! link in a cloned repository says, no path can lead outside: cap-std refuses `..` past the root,
//! absolute paths and links that leave it (or are absolute), and the error names the link.

use anyhow::{Context, Result, anyhow};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

pub struct RepoFiles {
    root: PathBuf,
    dir: Dir,
}

impl RepoFiles {
    pub fn open(root: &Path) -> Result<RepoFiles> {
        let dir = Dir::open_ambient_dir(root, ambient_authority())
            .with_context(|| format!("cannot open the repository {}", root.display()))?;
        Ok(RepoFiles { root: root.to_path_buf(), dir })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `relative` (a `/`-separated path under the root) outside the capability, for
    /// git's arguments and for messages.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// How messages name `relative`.
    pub fn label(&self, relative: &str) -> String {
        self.path(relative).display().to_string()
    }

    /// The file's text; `None` when it does not exist.
    pub fn read_optional(&self, relative: &str) -> Result<Option<String>> {
        match self.dir.read_to_string(relative) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound && !self.is_dangling_escape(relative) => Ok(None),
            Err(e) => Err(self.explain(relative, e, "read")),
        }
    }

    pub fn read(&self, relative: &str) -> Result<String> {
        self.dir.read_to_string(relative).map_err(|e| self.explain(relative, e, "read"))
    }

    /// The names of the entries of a folder, sorted; `None` when it does not exist.
    pub fn list(&self, relative: &str) -> Result<Option<Vec<String>>> {
        let entries = match self.dir.read_dir(relative) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                if self.is_dangling_escape(relative) {
                    return Err(self.explain(relative, e, "read"));
                }
                return Ok(None);
            }
            Err(e) => return Err(self.explain(relative, e, "read")),
        };
        let mut names: Vec<String> = entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect();
        names.sort();
        Ok(Some(names))
    }

    /// Whether `relative` is a regular file inside the repository (links followed while they stay
    /// inside); a link leading outside is an error naming it.
    pub fn is_file(&self, relative: &str) -> Result<bool> {
        match self.dir.metadata(relative) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound && !self.is_dangling_escape(relative) => Ok(false),
            Err(e) => Err(self.explain(relative, e, "read")),
        }
    }

    /// Whether `relative` is a folder inside the repository; a link leading outside is not.
    pub fn is_dir(&self, relative: &str) -> bool {
        self.dir.is_dir(relative)
    }

    /// The file itself, not what a link leads to.
    pub fn symlink_metadata(&self, relative: &str) -> std::io::Result<Metadata> {
        self.dir.symlink_metadata(relative)
    }

    pub fn hard_link(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.dir.hard_link(from, &self.dir, to)
    }

    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.dir.rename(from, &self.dir, to)
    }

    pub fn remove_file(&self, relative: &str) -> std::io::Result<()> {
        self.dir.remove_file(relative)
    }

    pub fn read_bytes(&self, relative: &str) -> Result<Vec<u8>> {
        self.dir.read(relative).map_err(|e| self.explain(relative, e, "read"))
    }

    /// Writes a file atomically, as [`crate::state::write_atomically`] does (a temp file beside it,
    /// fsync, rename; the old file's permissions kept), inside the repository only.
    pub fn write_atomically(&self, relative: &str, contents: &[u8]) -> Result<()> {
        use std::io::Write;
        let permissions = self.dir.metadata(relative).ok().map(|meta| meta.permissions());
        let temp = sibling(relative, &format!("{}.tmp", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if let Some(permissions) = &permissions {
                use cap_std::fs::{OpenOptionsExt, PermissionsExt};
                options.mode(permissions.mode() & 0o777);
            }
            let mut file = self.dir.open_with(&temp, &options)?;
            if let Some(permissions) = permissions {
                file.set_permissions(permissions)?;
            }
            file.write_all(contents)?;
            file.sync_all()?;
            self.dir.rename(&temp, &self.dir, relative)
        })();
        if let Err(error) = result {
            let _ = self.dir.remove_file(&temp);
            return Err(self.explain(relative, error, "write"));
        }
        Ok(())
    }

    /// Whether a missing file's path passes a link cap-std would not follow (a link into a folder
    /// outside reports "not found" on some systems): that is a refusal, not an absence.
    fn is_dangling_escape(&self, relative: &str) -> bool {
        self.escaping_link(relative).is_some()
    }

    /// The first link along `relative` (a parent folder or the file itself) that leads outside the
    /// repository or is absolute.
    fn escaping_link(&self, relative: &str) -> Option<String> {
        let parts: Vec<&str> = relative.split('/').filter(|part| !part.is_empty()).collect();
        (1..=parts.len()).map(|n| parts[..n].join("/")).find(|prefix| {
            let is_link = self.dir.symlink_metadata(prefix).is_ok_and(|meta| meta.file_type().is_symlink());
            is_link && self.dir.metadata(prefix).is_err_and(|e| e.kind() != ErrorKind::NotFound)
        })
    }

    /// One line naming the path, and the link when a link is why it cannot be reached.
    fn explain(&self, relative: &str, error: std::io::Error, verb: &str) -> anyhow::Error {
        let label = self.label(relative);
        match self.escaping_link(relative) {
            Some(link) if link == relative => anyhow!(
                "{label} is a symbolic link that leads outside the repository (or is absolute); spec-kitty reads and edits only files inside the repository"
            ),
            Some(link) => anyhow!(
                "{label} leads outside the repository through the symbolic link {}; spec-kitty reads and edits only files inside the repository",
                self.label(&link)
            ),
            None => anyhow::Error::new(error).context(format!("cannot {verb} {label}")),
        }
    }
}

/// `.{name}.{suffix}` in the folder of `relative`: the temp names the sweep of leftover files knows.
pub fn sibling(relative: &str, suffix: &str) -> String {
    match relative.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/.{name}.{suffix}"),
        None => format!(".{relative}.{suffix}"),
    }
}
