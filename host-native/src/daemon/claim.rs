//! The daemon's claim on a state folder: `daemon.lock` held exclusively while it runs, `daemon.pid` naming
//! it, `daemon.sock` for the commands' nudges and `daemon.state` for `sync status`; and how other processes
//! look at it (always shared, so lookers never take each other for a daemon) and check a pid before they
//! signal it.

use super::process::has_open;
use super::{LOCK_SETTLE, POLL};
use crate::file_lock;
use crate::state::StateDir;
use anyhow::{Context, Result, bail};
use spec_kitty_core::sync::ConnectionState;
use std::fs::{File, TryLockError};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

pub(super) fn pid_file(state: &StateDir) -> std::path::PathBuf {
    state.root().join("daemon.pid")
}

fn socket_path(state: &StateDir) -> std::path::PathBuf {
    state.root().join("daemon.sock")
}

fn state_file(state: &StateDir) -> std::path::PathBuf {
    state.root().join("daemon.state")
}

pub fn log_file(state: &StateDir) -> std::path::PathBuf {
    state.root().join("daemon.log")
}

pub(super) fn lock_path(state: &StateDir) -> std::path::PathBuf {
    state.root().join("daemon.lock")
}

/// Tells a running daemon that the queue has new events. Never blocks and never fails a command:
/// without a daemon there is no socket, and a full socket buffer means it is awake already.
pub fn nudge(state: &StateDir) {
    let path = socket_path(state);
    if !path.exists() {
        return;
    }
    if let Ok(socket) = UnixDatagram::unbound() {
        let _ = socket.set_nonblocking(true);
        let _ = socket.send_to(b"q", &path);
    }
}

/// The daemon's pid, when one runs for this state folder (its lock is held exclusively).
///
/// The look takes the lock shared: every emitting command and `sync status` looks, and with an exclusive
/// try two lookers at the same instant would each take the other for a daemon and trust whatever
/// `daemon.pid` says (a pid a SIGKILLed daemon left, since reused by another process).
pub fn running_pid(state: &StateDir) -> Option<u32> {
    match lock_holder(state) {
        LockHolder::Named(pid) => Some(pid),
        LockHolder::Nobody | LockHolder::Unnamed => None,
    }
}

/// Who holds the daemon lock, as far as `daemon.pid` says (unchecked).
pub(super) enum LockHolder {
    Nobody,
    Named(u32),
    /// Held, and `daemon.pid` is missing or unreadable (a daemon starting, or one that could not write it).
    Unnamed,
}

pub(super) fn lock_holder(state: &StateDir) -> LockHolder {
    let Ok(file) = File::open(lock_path(state)) else { return LockHolder::Nobody };
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => std::fs::read_to_string(pid_file(state))
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .map_or(LockHolder::Unnamed, LockHolder::Named),
        Ok(()) | Err(TryLockError::Error(_)) => LockHolder::Nobody,
    }
}

/// Takes the daemon lock exclusively unless a daemon holds it; commands looking at it (shared, for an
/// instant) are waited out for [`LOCK_SETTLE`] at most.
fn take_daemon_lock(lock: &File) -> bool {
    let until = Instant::now() + LOCK_SETTLE;
    loop {
        match lock.try_lock() {
            Ok(()) => return true,
            Err(TryLockError::Error(_)) => return false,
            Err(TryLockError::WouldBlock) => {}
        }
        // Held exclusively: a daemon. Shared only: lookers.
        match lock.try_lock_shared() {
            Ok(()) => {
                let _ = lock.unlock();
            }
            Err(_) => return false,
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The pid to signal: the running daemon's, checked to be the process that holds the daemon lock.
/// `daemon.pid` is written just after the lock is taken, so it names another process for an instant (a
/// daemon starting) or for good (a daemon killed with SIGKILL whose pid was reused).
pub(super) fn daemon_to_signal(state: &StateDir) -> Result<Option<u32>> {
    let until = Instant::now() + LOCK_SETTLE;
    loop {
        let named = match lock_holder(state) {
            LockHolder::Nobody => return Ok(None),
            LockHolder::Named(pid) if has_open(pid, &lock_path(state)) => return Ok(Some(pid)),
            LockHolder::Named(pid) => Some(pid),
            LockHolder::Unnamed => None,
        };
        if Instant::now() >= until {
            let lock = lock_path(state);
            match named {
                Some(pid) => bail!(
                    "{} is held, but daemon.pid names pid {pid}, which does not hold it: not signalling that process",
                    lock.display()
                ),
                None => bail!("{} is held, but daemon.pid does not say by which process", lock.display()),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The running daemon's pid when `daemon.pid` names the process that holds the lock (not yet, while a
/// daemon is starting; never, when it names a process that reused a killed daemon's pid).
pub(super) fn checked_running_pid(state: &StateDir) -> Option<u32> {
    running_pid(state).filter(|pid| has_open(*pid, &lock_path(state)))
}

/// The connection state a running daemon reported.
pub fn reported_state(state: &StateDir) -> Option<ConnectionState> {
    running_pid(state)?;
    let text = std::fs::read_to_string(state_file(state)).ok()?;
    Some(match text.trim() {
        "connected" => ConnectionState::Connected,
        "batch" => ConnectionState::OfflineBatchMode,
        "reconnecting" => ConnectionState::Reconnecting { attempt: 1 },
        _ => ConnectionState::Offline,
    })
}

/// Writes the state `sync status` shows; whether it could (a full or read-only folder cannot take it).
pub(super) fn report_state(state: &StateDir, connection: ConnectionState) -> bool {
    let word = match connection {
        ConnectionState::Connected => "connected",
        ConnectionState::OfflineBatchMode => "batch",
        ConnectionState::Reconnecting { .. } => "reconnecting",
        ConnectionState::Offline => "offline",
    };
    crate::state::write_atomically(&state_file(state), word.as_bytes()).is_ok()
}

/// What a service holds while it runs: the state folder's daemon lock, its pid file and its socket.
pub(super) struct Claim {
    pub(super) state: StateDir,
    lock: File,
    pub(super) nudges: UnixDatagram,
}

impl Claim {
    /// The daemon lock of this state folder, without waiting; `None` when a daemon (or a command's
    /// in-process service) already runs for it.
    pub(super) fn take(state: &StateDir) -> Result<Option<Claim>> {
        state.ensure()?;
        let lock = file_lock::open(&lock_path(state))?;
        if !take_daemon_lock(&lock) {
            return Ok(None);
        }
        std::fs::write(pid_file(state), std::process::id().to_string()).context("cannot write daemon.pid")?;
        let path = socket_path(state);
        // Under the lock no other daemon owns the socket: a file there is a dead daemon's.
        let _ = std::fs::remove_file(&path);
        let nudges = UnixDatagram::bind(&path).with_context(|| format!("cannot bind {}", path.display()))?;
        nudges.set_read_timeout(Some(POLL))?;
        Ok(Some(Claim { state: state.clone(), lock, nudges }))
    }

    pub(super) fn release(self) {
        remove_claim_files(&self.state);
        drop(self.lock);
    }
}

pub(super) fn remove_claim_files(state: &StateDir) {
    let _ = std::fs::remove_file(socket_path(state));
    let _ = std::fs::remove_file(state_file(state));
    let _ = std::fs::remove_file(pid_file(state));
}
