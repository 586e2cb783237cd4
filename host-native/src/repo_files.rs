//! The repository's files through a capability: the root is opened once as a `cap_std::fs::Dir`
//! (the only use of ambient authority), and every read and edit of a feature's files goes through
//! it with a path relative to the root. Whatever a feature slug, a WP file's name or a symbolic
//! link in a cloned repository says, no path can lead outside: cap-std refuses `..` past the root,
//! absolute paths and links that leave it (or are absolute), and the error names the link.
//!
//! Inside the root, two more places are refused: `.git` (git's own data is not the working tree; its
//! text could otherwise reach a synced event through a link), and anything that is not a regular
//! file of a sane size (a named pipe would block the command, and every other behind the project
//! lock, forever; a clone can carry gigabytes of zeros in a few compressed megabytes).

use anyhow::{Context, Result, anyhow};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The most a file spec-kitty reads may hold: WP files and tasks.md are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// git's own folder at the root.
const GIT_DIR: &str = ".git";

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
        match self.read_regular(relative).and_then(into_text) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound && !self.is_dangling_escape(relative) => Ok(None),
            Err(e) => Err(self.explain(relative, e, "read")),
        }
    }

    pub fn read(&self, relative: &str) -> Result<String> {
        self.read_regular(relative).and_then(into_text).map_err(|e| self.explain(relative, e, "read"))
    }

    /// The bytes of a regular file of at most [`MAX_FILE_BYTES`], outside `.git`. Opened without
    /// blocking, so a named pipe is refused rather than waited on.
    fn read_regular(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        self.refuse_git_data(relative)?;
        let mut options = OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use cap_std::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK);
        }
        let mut file = self.dir.open_with(relative, &options)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("it is not a regular file (a folder, a named pipe or a device)"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(std::io::Error::other(format!(
                "it is too large ({} bytes; spec-kitty reads files of at most {MAX_FILE_BYTES} bytes)",
                meta.len()
            )));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.by_ref().take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(std::io::Error::other("it grew too large while being read"));
        }
        Ok(bytes)
    }

    /// Refuses a path that resolves into `.git` (through a link: no path of a plan names it).
    fn refuse_git_data(&self, relative: &str) -> std::io::Result<()> {
        let resolved = self.dir.canonicalize(relative);
        let first = resolved.as_ref().ok().and_then(|path| path.components().next());
        if first.is_some_and(|part| part.as_os_str() == GIT_DIR) {
            return Err(std::io::Error::other(
                "a symbolic link leads it into .git, git's own folder; spec-kitty reads and edits only the working tree",
            ));
        }
        Ok(())
    }

    /// The names of the entries of a folder, sorted; `None` when it does not exist.
    pub fn list(&self, relative: &str) -> Result<Option<Vec<String>>> {
        self.refuse_git_data(relative).map_err(|e| self.explain(relative, e, "read"))?;
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
        self.read_regular(relative).map_err(|e| self.explain(relative, e, "read"))
    }

    /// Makes sure `relative` is a real folder inside the repository (made when missing): not a
    /// link, which another program (git) would follow wherever it leads, and not a file.
    pub fn ensure_real_dir(&self, relative: &str) -> Result<()> {
        let label = self.label(relative);
        match self.dir.symlink_metadata(relative) {
            Ok(meta) if meta.file_type().is_symlink() => Err(anyhow!(
                "{label} is a symbolic link; spec-kitty makes its folders only as real folders inside the repository"
            )),
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(anyhow!("{label} is not a folder; move it away so spec-kitty can make its folder there")),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.dir.create_dir(relative).with_context(|| format!("cannot create {label}"))
            }
            Err(e) => Err(self.explain(relative, e, "read")),
        }
    }

    /// Writes a file atomically, as [`crate::state::write_atomically`] does (a temp file beside it,
    /// fsync, rename; the old file's permissions kept), inside the repository only.
    pub fn write_atomically(&self, relative: &str, contents: &[u8]) -> Result<()> {
        use std::io::Write;
        self.refuse_git_data(relative).map_err(|e| self.explain(relative, e, "write"))?;
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
        if is_link_loop(&error) {
            return anyhow!("cannot {verb} {label}: symbolic links along it lead in a loop");
        }
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

fn into_text(bytes: Vec<u8>) -> std::io::Result<String> {
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

fn is_link_loop(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    return error.raw_os_error() == Some(libc::ELOOP);
    #[cfg(not(unix))]
    return false;
}

/// `.{name}.{suffix}` in the folder of `relative`: the temp names the sweep of leftover files knows.
pub fn sibling(relative: &str, suffix: &str) -> String {
    match relative.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/.{name}.{suffix}"),
        None => format!(".{relative}.{suffix}"),
    }
}
