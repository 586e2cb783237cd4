//! `sync start` and `sync stop`: the daemon detached with its output in `daemon.log`, and stopped with
//! SIGTERM (only once the pid is checked to be the lock's holder), each with a bounded wait.

use super::claim::{LockHolder, checked_running_pid, daemon_to_signal, lock_holder, log_file, running_pid};
use super::flush_on_stop;
use super::process::is_dying;
use crate::hub_session::HubSession;
use crate::state::StateDir;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::time::{Duration, Instant};

/// `spec-kitty sync start`: the daemon in the background, its output in `daemon.log`.
pub fn start() -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let state = StateDir::locate();
    state.ensure()?;
    if let Some(pid) = checked_running_pid(&state) {
        if !is_dying(pid) {
            return Ok(pid);
        }
        wait_for_exit(&state, pid)?;
    }
    // Said here, not only in the daemon's log.
    HubSession::open(StateDir::locate())?;
    let log_path = log_file(&state);
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let log_before = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut command = std::process::Command::new(exe);
    command
        .args(["sync", "daemon"])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .env("SPEC_KITTY_HOME", state.root());
    // SAFETY: setsid only detaches the child from the terminal's session; it is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn().context("cannot start the daemon")?;
    // Bounded wait until a daemon holds the lock: this one, or another started at the same moment
    // (whose pid is the one to report). A child that exits first lost the race or failed: its log says.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Some(pid) = checked_running_pid(&state) {
            return Ok(pid);
        }
        // Exited with the lock free: it failed. With the lock held, another daemon won the race: wait for
        // its pid.
        if let Ok(Some(status)) = child.try_wait()
            && matches!(lock_holder(&state), LockHolder::Nobody)
        {
            std::thread::sleep(Duration::from_millis(50));
            if let Some(pid) = checked_running_pid(&state) {
                return Ok(pid);
            }
            bail!("the daemon did not start: {}", why_it_exited(&log_path, log_before, status));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the daemon did not start; see {}", log_path.display())
}

/// Waits (bounded) until a daemon killed a moment ago lets go of the lock.
fn wait_for_exit(state: &StateDir, pid: u32) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(5);
    while !matches!(lock_holder(state), LockHolder::Nobody) {
        if Instant::now() >= until {
            bail!("the daemon (pid {pid}) is exiting but still holds {}; try again", state.root().display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Why a daemon exited at once: the last line it logged, or, when it could not log, what that suggests.
fn why_it_exited(log_path: &std::path::Path, log_before: u64, status: std::process::ExitStatus) -> String {
    let text = std::fs::read(log_path).unwrap_or_default();
    let written = String::from_utf8_lossy(text.get(log_before as usize..).unwrap_or_default()).into_owned();
    match written.lines().rev().find(|line| !line.trim().is_empty()) {
        Some(line) => format!("{} (see {})", line.trim().trim_start_matches("error: "), log_path.display()),
        None => format!(
            "it exited ({status}) without a word in {}: is the state folder full or read-only?",
            log_path.display()
        ),
    }
}

/// `spec-kitty sync stop`: SIGTERM, then a bounded wait. Returns the pid stopped, if any.
pub fn stop() -> Result<Option<u32>> {
    let state = StateDir::locate();
    let Some(pid) = daemon_to_signal(&state)? else { return Ok(None) };
    let Ok(raw) = libc::pid_t::try_from(pid) else { bail!("daemon.pid holds an impossible pid {pid}") };
    // SAFETY: signals the process that holds the daemon lock (checked above). SIGCONT wakes a daemon
    // stopped with SIGSTOP or Ctrl-Z, which would otherwise never see the SIGTERM.
    unsafe {
        libc::kill(raw, libc::SIGTERM);
        libc::kill(raw, libc::SIGCONT);
    }
    let until = Instant::now() + flush_on_stop() + Duration::from_secs(3);
    while Instant::now() < until {
        if running_pid(&state).is_none() {
            return Ok(Some(pid));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the daemon (pid {pid}) did not stop within 5 s")
}
