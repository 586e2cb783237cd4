//! The login session in `SPEC_KITTY_HOME/credentials` (TOML, mode 0600, contract §3). Tokens are read
//! only where sync needs them and never printed: `Debug` hides them.
//!
//! Refresh tokens rotate (each one works once), so two processes refreshing at the same time (the
//! daemon and a `sync now`) would log each other out. Every change happens under `credentials.lock`,
//! and a process that waited for it reads the file again: if another process refreshed meanwhile,
//! it takes that token instead of spending the old one.

use crate::file_lock;
use crate::state::StateDir;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::time::{Duration, Instant};

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub tokens: Tokens,
    pub user: UserSection,
    pub server: ServerSection,
}

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// Unix seconds.
    pub access_expires_at: u64,
    pub refresh_expires_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserSection {
    pub username: String,
    pub team_slug: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerSection {
    pub url: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("server", &self.server).finish_non_exhaustive()
    }
}

pub struct Session {
    pub username: Option<String>,
    pub team_slug: String,
}

/// The session, when the user has logged in; a missing or unreadable file means "not logged in".
pub fn read_session(state: &StateDir) -> Option<Session> {
    let credentials = read(state).ok().flatten()?;
    Some(Session { username: Some(credentials.user.username), team_slug: credentials.user.team_slug })
}

/// The credentials, `None` when not logged in; an error names the file when it cannot be read.
pub fn read(state: &StateDir) -> Result<Option<Credentials>> {
    let path = state.credentials();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    // The parser's message could quote the file, tokens included: say only where it broke.
    let credentials: Credentials = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| format!(" at byte {}", s.start)).unwrap_or_default();
        anyhow::anyhow!("{} is not a valid credentials file{at}: log in again", path.display())
    })?;
    for (name, token) in [("access", &credentials.tokens.access), ("refresh", &credentials.tokens.refresh)] {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            anyhow::bail!("{}: the {name} token is not valid: log in again", path.display());
        }
    }
    keep_private(&path);
    Ok(Some(credentials))
}

/// A credentials file readable by others (copied, or restored from a backup) is made private again.
fn keep_private(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            crate::errln!("warning: {} was readable by others; made it private (0600)", path.display());
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// Held while credentials are read, refreshed and written.
pub struct CredentialsLock {
    _file: File,
}

pub fn lock(state: &StateDir) -> Result<CredentialsLock> {
    state.ensure()?;
    let path = state.root().join("credentials.lock");
    let file = file_lock::open(&path)?;
    file_lock::lock_until(&file, &path, Instant::now() + Duration::from_secs(30))?;
    Ok(CredentialsLock { _file: file })
}

/// Writes the credentials (mode 0600, atomically). Call it holding [`lock`].
pub fn write(state: &StateDir, credentials: &Credentials, _lock: &CredentialsLock) -> Result<()> {
    let text = toml::to_string(credentials).context("cannot encode the credentials")?;
    crate::state::write_private(&state.credentials(), text.as_bytes())
}

/// Forgets the login. Returns whether there was one.
pub fn remove(state: &StateDir, _lock: &CredentialsLock) -> Result<bool> {
    match std::fs::remove_file(state.credentials()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", state.credentials().display())),
    }
}
