//! The user's state folder, `SPEC_KITTY_HOME` (default `~/.spec-kitty`): clock, queue, credentials.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Locates the folder without touching the disk, so read-only commands never create it.
    pub fn locate() -> StateDir {
        let root = match std::env::var_os("SPEC_KITTY_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => home_dir().join(".spec-kitty"),
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

    /// Present (and recent) when an emission gave up waiting for the clock lock or the queue.
    pub fn stuck_marker(&self) -> PathBuf {
        self.root.join("emission.stuck")
    }

    pub fn config_toml(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    pub fn credentials(&self) -> PathBuf {
        self.root.join("credentials")
    }
}

/// `$HOME`, else the password database's home (never the current folder, which may be a repository
/// whose `git add -A` would then pick the state up).
fn home_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    match password_entry() {
        Some(entry) if !entry.home.as_os_str().is_empty() => entry.home,
        _ => std::env::temp_dir(),
    }
}

/// This user's entry in the password database: the login name (how upstream's Python reads it when
/// no variable names the user) and the home folder.
pub struct PasswordEntry {
    pub name: String,
    pub home: PathBuf,
}

#[cfg(unix)]
pub fn password_entry() -> Option<PasswordEntry> {
    use std::os::unix::ffi::OsStrExt;
    let mut entry = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buffer = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes the entry into `entry` and its strings into `buffer`, both alive and
    // sized as given; `found` is null unless the entry was filled in, and its strings are checked.
    unsafe {
        let code = libc::getpwuid_r(libc::getuid(), entry.as_mut_ptr(), buffer.as_mut_ptr(), buffer.len(), &mut found);
        if code != 0 || found.is_null() || (*found).pw_name.is_null() || (*found).pw_dir.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr((*found).pw_name).to_string_lossy().into_owned();
        let dir = std::ffi::CStr::from_ptr((*found).pw_dir).to_bytes();
        Some(PasswordEntry { name, home: PathBuf::from(std::ffi::OsStr::from_bytes(dir)) })
    }
}

#[cfg(not(unix))]
pub fn password_entry() -> Option<PasswordEntry> {
    None
}

/// Writes a file atomically: a temp file in the same folder, fsync, then rename over the target.
/// A reader sees the old content or the new, never half of either.
///
/// The temp file is `.{name}.{pid}.tmp`. A process killed between create and rename leaves it
/// behind; [`remove_leftover_temp_files`] clears such files, called by the next command while it
/// holds the lock that every writer of that folder holds. The new file keeps the old one's
/// permissions (an executable or private file stays so).
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let permissions = std::fs::metadata(path).ok().map(|meta| meta.permissions());
    write_via_temp(path, contents, permissions, Durability::Synced)
}

/// As [`write_atomically`] without the fsync: for a file that is only a cache of something durable
/// elsewhere (`clock.json`, whose value the queue also records). A crash or power cut can leave the old
/// content, or on some file systems an empty file; a reader of such a file must recover, never trust it.
pub fn write_atomically_unsynced(path: &Path, contents: &[u8]) -> Result<()> {
    let permissions = std::fs::metadata(path).ok().map(|meta| meta.permissions());
    write_via_temp(path, contents, permissions, Durability::RenameOnly)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// fsync the new content before the rename: after a power cut the file is the old or the new.
    Synced,
    /// Only the rename: readers never see half a file while the machine runs.
    RenameOnly,
}

/// Writes a file only its owner can read or write (credentials), atomically: the temp file is created
/// with mode 0600, so the secret is never readable by others, not even for a moment.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    #[cfg(unix)]
    let private = Some(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    #[cfg(not(unix))]
    let private = None;
    write_via_temp(path, contents, private, Durability::Synced)
}

fn write_via_temp(
    path: &Path,
    contents: &[u8],
    permissions: Option<std::fs::Permissions>,
    durability: Durability,
) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut options = std::fs::File::options();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(mode) = permissions.as_ref().map(std::os::unix::fs::PermissionsExt::mode) {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode & 0o777);
        }
        let mut file = options.open(&temp)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.write_all(contents)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The file and the process of a temp file of [`write_atomically`] (`.{name}.{pid}.tmp`) or of a
/// project edit's backup (`.{name}.orig.{pid}.tmp`).
fn temp_file_parts(name: &str) -> Option<(&str, u32)> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, pid) = inner.rsplit_once('.')?;
    let pid: u32 = pid.parse().ok().filter(|_| pid.bytes().all(|b| b.is_ascii_digit()))?;
    let target = target.strip_suffix(".orig").unwrap_or(target);
    (!target.is_empty()).then_some((target, pid))
}

/// Whether process `pid` is gone (so its temp files are leftovers).
fn process_is_gone(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
        // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
        let result = unsafe { libc::kill(pid, 0) };
        result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
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
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        let Some((target, pid)) = temp_file_parts(&name) else { continue };
        // Only beside a file it could have been written for, and only when its writer is gone: a
        // user's own `.notes.20250101.tmp` is not ours to remove.
        if wanted(&name) && dir.join(target).exists() && process_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::temp_file_parts;

    fn is_our_temp_file(name: &str) -> bool {
        temp_file_parts(name).is_some()
    }

    #[test]
    fn recognises_only_its_own_temp_names() {
        assert!(is_our_temp_file(".WP01-factory.md.4242.tmp"));
        assert!(is_our_temp_file(".clock.json.1.tmp"));
        assert!(is_our_temp_file(".WP01-factory.md.orig.4242.tmp"));
        for other in [".WP01.md.tmp", "WP01.md.42.tmp", ".clock.json.4x2.tmp", "..42.tmp", ".notes.tmp"] {
            assert!(!is_our_temp_file(other), "{other}");
        }
    }
}
