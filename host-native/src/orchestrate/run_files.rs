//! Where a run keeps its things: the state file, agents.yaml, logs and prompts under `.kittify/`, and
//! the lock that says a run is active (in the git folder, like the project lock, so it is never
//! committed and the kernel drops it when the run dies).

use crate::file_lock;
use crate::project::Project;
use anyhow::{Context, Result};
use spec_kitty_core::orchestrate::{AGENTS_FILE, OrchestrationState, STATE_FILE};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The most agents.yaml may hold: far more than any configuration needs, and a file that is not one
/// (a link to /dev/zero, a log pasted by mistake) is refused before it is read into memory.
pub const MAX_AGENTS_BYTES: u64 = 1024 * 1024;

/// The most a saved run may hold (its tries' records grow with the run).
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// A text file of at most `limit` bytes; `None` when it does not exist. Anything but a regular file
/// (a FIFO would block the read, a device never ends) is refused, as is a larger file or one that is
/// not UTF-8, each naming the file.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if !meta.is_file() {
        anyhow::bail!("{} is not a regular file", path.display());
    }
    let too_large = || anyhow::anyhow!("{} is larger than {} KiB: not what it should be", path.display(), limit / 1024);
    if meta.len() > limit {
        return Err(too_large());
    }
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes).map(Some).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

pub struct RunFiles {
    pub root: PathBuf,
    git_dir: PathBuf,
}

/// Held by the process running an orchestration, for the whole run.
pub struct RunLock {
    _file: File,
}

impl RunFiles {
    pub fn new(project: &Project) -> RunFiles {
        RunFiles { root: project.root.clone(), git_dir: project.git_dir.clone() }
    }

    pub fn state_path(&self) -> PathBuf {
        self.root.join(STATE_FILE)
    }

    pub fn agents_path(&self) -> PathBuf {
        self.root.join(AGENTS_FILE)
    }

    /// `.kittify/logs/<feature>/`: one log per WP, phase and try, and the run's own messages.
    pub fn logs_dir(&self, slug: &str) -> PathBuf {
        self.root.join(".kittify").join("logs").join(slug)
    }

    /// `.kittify/prompts/<feature>/`: the prompt each try was given.
    pub fn prompts_dir(&self, slug: &str) -> PathBuf {
        self.root.join(".kittify").join("prompts").join(slug)
    }

    /// A path as messages and the state show it: relative to the repository root.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    /// The saved run, if there is one.
    pub fn read_state(&self) -> Result<Option<OrchestrationState>> {
        let path = self.state_path();
        let Some(text) = read_bounded(&path, MAX_STATE_BYTES)? else { return Ok(None) };
        OrchestrationState::from_json(&path.display().to_string(), &text).map(Some).map_err(|message| {
            anyhow::anyhow!("{message} (`spec-kitty orchestrate --abort` sets it aside so a new run can start)")
        })
    }

    /// Sets an unreadable state aside (renamed, kept for a look), so a new run can start.
    pub fn set_state_aside(&self) -> Result<PathBuf> {
        let path = self.state_path();
        self.exclude_from_git();
        let aside = path.with_extension(format!("json.unreadable-{}", crate::emitter::now_ms()));
        std::fs::rename(&path, &aside)
            .with_context(|| format!("cannot rename {} to {}", path.display(), aside.display()))?;
        Ok(aside)
    }

    /// Writes the state atomically (temp file, fsync, rename): a reader, `--status` or a resume after
    /// kill -9, sees the old state or the new, never half of one.
    pub fn write_state(&self, state: &OrchestrationState) -> Result<()> {
        let path = self.state_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        crate::state::write_atomically(&path, state.to_json().as_bytes())
    }

    fn lock_path(&self) -> PathBuf {
        self.git_dir.join("spec-kitty-orchestrate.lock")
    }

    /// Takes the run lock without waiting; `None` when another process holds it (a run is active).
    pub fn try_lock(&self) -> Result<Option<RunLock>> {
        let path = self.lock_path();
        let file = file_lock::open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
    }

    /// Whether a run is active now (without taking the lock for long).
    pub fn run_is_active(&self) -> bool {
        matches!(self.try_lock(), Ok(None))
    }

    /// Keeps the run's files out of `git status` and `git add -A` (in the repository's own exclude
    /// file, as the worktrees are).
    pub fn exclude_from_git(&self) {
        for pattern in [
            "/.kittify/logs/",
            "/.kittify/prompts/",
            "/.kittify/orchestration-state.json",
            "/.kittify/.orchestration-state.json.*.tmp",
            "/.kittify/orchestration-state.json.unreadable-*",
        ] {
            if let Err(e) = crate::git::exclude_locally(&self.root, pattern) {
                crate::errln!("warning: {e:#}");
                return;
            }
        }
    }
}
