//! One agent try as a process: started in the WP's worktree in a process group of its own, the prompt
//! on stdin, stdout and stderr into its log file; stopped with SIGTERM to the group, then SIGKILL after
//! a grace period. On Linux an agent also dies with the run (PR_SET_PDEATHSIG), so kill -9 of
//! `orchestrate` leaves no agent working behind a resumed run's back; a resume also stops what is left
//! of a crashed run's process groups.

use anyhow::{Context, Result};
use spec_kitty_core::orchestrate::verdict::last_line;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an agent has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How much of the end of a log is read for the last line.
const TAIL_BYTES: u64 = 64 * 1024;

pub struct AgentLaunch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub worktree: &'a Path,
    pub prompt_file: &'a Path,
    pub log_file: &'a Path,
    pub env: &'a [(&'static str, String)],
    /// Written at the top of the log, before the agent's output.
    pub header: &'a str,
}

pub struct AgentProcess {
    child: Child,
    pub pid: u32,
    log_file: PathBuf,
    /// Where the agent's own output starts in the log (after the header).
    output_from: u64,
    stop_sent_at: Option<Instant>,
    killed: bool,
}

/// How an agent's process ended.
pub struct AgentExit {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub last_line: Option<String>,
}

impl AgentProcess {
    pub fn spawn(launch: &AgentLaunch) -> Result<AgentProcess> {
        let mut log = std::fs::File::options()
            .create(true)
            .write(true)
            .truncate(true)
            .open(launch.log_file)
            .with_context(|| format!("cannot create {}", launch.log_file.display()))?;
        log.write_all(launch.header.as_bytes())
            .with_context(|| format!("cannot write {}", launch.log_file.display()))?;
        let output_from = launch.header.len() as u64;
        let prompt = std::fs::File::open(launch.prompt_file)
            .with_context(|| format!("cannot read {}", launch.prompt_file.display()))?;
        let mut command = Command::new(launch.program);
        command
            .args(launch.args)
            .current_dir(launch.worktree)
            .stdin(Stdio::from(prompt))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        for (name, value) in launch.env {
            command.env(name, value);
        }
        own_process_group(&mut command);
        let child = command.spawn().with_context(|| format!("cannot run {}", launch.program.display()))?;
        Ok(AgentProcess {
            pid: child.id(),
            child,
            log_file: launch.log_file.to_path_buf(),
            output_from,
            stop_sent_at: None,
            killed: false,
        })
    }

    /// The exit, when the agent has ended; what it left running in its group is stopped then.
    pub fn try_exit(&mut self) -> Option<AgentExit> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            Err(_) => return Some(AgentExit { code: None, last_line: None }),
        };
        // What it left running in its group is asked to stop too (a git command cleans up its locks).
        signal_group(self.pid, Signal::Term);
        Some(AgentExit { code: status.code(), last_line: self.read_last_line() })
    }

    /// Asks the agent (and its group) to stop: SIGTERM now, SIGKILL after [`STOP_GRACE`] (see [`Self::escalate`]).
    pub fn request_stop(&mut self) {
        if self.stop_sent_at.is_none() {
            self.stop_sent_at = Some(Instant::now());
            signal_group(self.pid, Signal::Term);
        }
    }

    /// SIGKILL once the grace period after SIGTERM is over (or at once with `now`).
    pub fn escalate(&mut self, now: bool) {
        let due = self.stop_sent_at.is_some_and(|at| at.elapsed() >= STOP_GRACE);
        if !self.killed && (now || due) {
            self.killed = true;
            signal_group(self.pid, Signal::Kill);
        }
    }

    fn read_last_line(&self) -> Option<String> {
        let mut file = std::fs::File::open(&self.log_file).ok()?;
        let length = file.metadata().ok()?.len();
        let from = self.output_from.max(length.saturating_sub(TAIL_BYTES));
        file.seek(SeekFrom::Start(from)).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        last_line(&String::from_utf8_lossy(&bytes)).map(str::to_string)
    }
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    #[cfg(target_os = "linux")]
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls between fork and exec: setpgid, prctl, getppid, _exit.
    unsafe {
        command.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The run died before the call above took effect: do not outlive it.
                if libc::getppid() as u32 != parent {
                    libc::_exit(137);
                }
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn own_process_group(_command: &mut Command) {}

#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

/// Sends a signal to the process group led by `pid` (ignored when it is gone).
fn signal_group(pid: u32, signal: Signal) {
    #[cfg(unix)]
    {
        let Ok(pgid) = libc::pid_t::try_from(pid) else { return };
        let signal = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        // SAFETY: kill only sends a signal; a negative pid addresses the group the agent leads.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
    #[cfg(not(unix))]
    let _ = (pid, signal);
}

/// Stops what a crashed run left of an agent's process group: only when a process of that group still
/// works inside `worktree` (so a reused process id is never signalled). SIGTERM first, so a git command
/// among them removes its lock files, then SIGKILL after [`STOP_GRACE`]. Linux only; elsewhere the
/// agents of a killed run end on their own.
pub fn stop_leftover_group(pid: u32, worktree: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        if !group_has_member(pid, Some(worktree)) {
            return false;
        }
        signal_group(pid, Signal::Term);
        let until = Instant::now() + STOP_GRACE;
        while group_has_member(pid, None) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(pid, Signal::Kill);
        true
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pid, worktree);
        false
    }
}

/// Whether a process of group `pgid` is alive (working inside `inside`, when given).
#[cfg(target_os = "linux")]
fn group_has_member(pgid: u32, inside: Option<&Path>) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|entry| {
        let Some(other) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { return false };
        let in_group = std::fs::read_to_string(format!("/proc/{other}/stat"))
            .ok()
            .and_then(|stat| process_group_of(&stat))
            .is_some_and(|group| group == pgid);
        in_group
            && inside.is_none_or(|dir| {
                std::fs::read_link(format!("/proc/{other}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
            })
    })
}

/// The process group field of `/proc/<pid>/stat` (the fifth, after the parenthesised command name).
#[cfg(target_os = "linux")]
fn process_group_of(stat: &str) -> Option<u32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
}
