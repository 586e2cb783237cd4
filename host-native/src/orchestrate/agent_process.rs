//! One agent try as a process: started in the WP's worktree in a process group of its own, the prompt
//! on stdin, its stdout copied into its log file by a thread that keeps the output's end (the verdict
//! is the last line of what the agent printed on stdout: a warning on stderr at exit does not hide it),
//! its stderr straight into the log; stopped with SIGTERM to the group, then SIGKILL after a grace
//! period. What an agent leaves running in its group when it ends gets SIGTERM then, and SIGKILL after
//! the grace ([`LeftBehind`]). On Linux an agent also dies with the run (PR_SET_PDEATHSIG), so kill -9
//! of `orchestrate` leaves no agent working behind a resumed run's back; a resume also stops what is
//! left of a crashed run's process groups.

use anyhow::{Context, Result};
use spec_kitty_core::orchestrate::verdict::last_line;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an agent has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long after an agent ended its output may still come through (from what it left running with its
/// stdout open) before its last line is taken as it is.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// How much of the end of an agent's stdout is kept for its last line (a JSON result line can be long).
const TAIL_BYTES: usize = 1024 * 1024;

pub struct AgentLaunch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub worktree: &'a Path,
    pub prompt_file: &'a Path,
    pub log_file: &'a Path,
    pub env: &'a [(&'static str, String)],
    /// Written at the top of the try's part of the log, before the agent's output.
    pub header: &'a str,
}

pub struct AgentProcess {
    child: Child,
    pub pid: u32,
    output: Arc<Mutex<OutputTail>>,
    /// The exit code (`None`: a signal) and when the exit was seen.
    exited: Option<(Option<i32>, Instant)>,
    stop_sent_at: Option<Instant>,
    killed: bool,
}

/// How an agent's process ended.
pub struct AgentExit {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    /// The last non-empty line the agent printed on stdout.
    pub last_line: Option<String>,
}

/// The end of an agent's stdout, and whether all of it was read.
#[derive(Default)]
struct OutputTail {
    bytes: Vec<u8>,
    ended: bool,
}

impl OutputTail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * TAIL_BYTES {
            self.bytes.drain(..self.bytes.len() - TAIL_BYTES);
        }
    }

    fn last_line(&self) -> Option<String> {
        last_line(&String::from_utf8_lossy(&self.bytes)).map(str::to_string)
    }
}

impl AgentProcess {
    pub fn spawn(launch: &AgentLaunch) -> Result<AgentProcess> {
        // Appended to: the log of a try with this name from an earlier run stays (an ErrorLogged event
        // of that run points at it).
        let mut log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(launch.log_file)
            .with_context(|| format!("cannot create {}", launch.log_file.display()))?;
        let earlier = log.metadata().map(|meta| meta.len()).unwrap_or(0);
        let separator = if earlier > 0 { "\n\n" } else { "" };
        log.write_all(format!("{separator}{}", launch.header).as_bytes())
            .with_context(|| format!("cannot write {}", launch.log_file.display()))?;
        let prompt = std::fs::File::open(launch.prompt_file)
            .with_context(|| format!("cannot read {}", launch.prompt_file.display()))?;
        let stdout_log = log.try_clone().with_context(|| format!("cannot write {}", launch.log_file.display()))?;
        let mut command = Command::new(launch.program);
        command
            .args(launch.args)
            .current_dir(launch.worktree)
            .stdin(Stdio::from(prompt))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (name, value) in launch.env {
            command.env(name, value);
        }
        own_process_group(&mut command);
        let mut child = command.spawn().with_context(|| format!("cannot run {}", launch.program.display()))?;
        let output = Arc::new(Mutex::new(OutputTail::default()));
        match child.stdout.take() {
            Some(stdout) => {
                let tail = Arc::clone(&output);
                let copier = std::thread::Builder::new()
                    .name("agent-output".into())
                    .spawn(move || copy_output(stdout, stdout_log, &tail));
                if copier.is_err() {
                    // Without the copier the agent would block on a full pipe: stop it, the try fails.
                    signal_group(child.id(), Signal::Kill);
                    let _ = child.wait();
                    anyhow::bail!("cannot start the thread that reads the agent's output");
                }
            }
            None => lock(&output).ended = true,
        }
        Ok(AgentProcess { pid: child.id(), child, output, exited: None, stop_sent_at: None, killed: false })
    }

    /// The exit, when the agent has ended and its output is read (or has had [`OUTPUT_GRACE`] to be);
    /// what it left running in its group is asked to stop then.
    pub fn try_exit(&mut self) -> Option<AgentExit> {
        if self.exited.is_none() {
            let code = match self.child.try_wait() {
                Ok(Some(status)) => status.code(),
                Ok(None) => return None,
                Err(_) => None,
            };
            // What it left running in its group is asked to stop too (a git command cleans up its locks).
            signal_group(self.pid, Signal::Term);
            self.exited = Some((code, Instant::now()));
        }
        let (code, exited_at) = self.exited?;
        let output = lock(&self.output);
        if !output.ended && exited_at.elapsed() < OUTPUT_GRACE {
            return None;
        }
        Some(AgentExit { code, last_line: output.last_line() })
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

    /// What the agent left running in its group after it ended, to be killed after the grace.
    pub fn left_behind(&self) -> Option<LeftBehind> {
        group_alive(self.pid).then(|| LeftBehind { pgid: self.pid, since: Instant::now() })
    }
}

/// Processes an agent left in its group when it ended: they got SIGTERM then; SIGKILL follows after
/// [`STOP_GRACE`], so nothing the agent started keeps changing its worktree during the review or after
/// the run.
pub struct LeftBehind {
    pgid: u32,
    since: Instant,
}

impl LeftBehind {
    /// SIGKILL to the group once the grace is over (or at once with `now`); true when it is dealt with.
    pub fn kill_when_due(&self, now: bool) -> bool {
        if !group_alive(self.pgid) {
            return true;
        }
        if now || self.since.elapsed() >= STOP_GRACE {
            signal_group(self.pgid, Signal::Kill);
            return true;
        }
        false
    }
}

fn lock(output: &Mutex<OutputTail>) -> std::sync::MutexGuard<'_, OutputTail> {
    output.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies an agent's stdout into its log, keeping the end of it, until the last writer closes it.
fn copy_output(mut stdout: ChildStdout, mut log: std::fs::File, tail: &Mutex<OutputTail>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match stdout.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                // A log that cannot be written (disk full) must not stop the agent: the output still
                // counts for the verdict.
                let _ = log.write_all(&buffer[..read]);
                lock(tail).push(&buffer[..read]);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lock(tail).ended = true;
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

/// Whether any process is left in the process group `pgid`.
fn group_alive(pgid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
        // SAFETY: signal 0 only asks whether the group has a process this one may signal.
        unsafe { libc::kill(-pgid, 0) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
        false
    }
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
