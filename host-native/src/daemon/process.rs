//! What the daemon's neighbours may learn about a process named by `daemon.pid` before they trust or
//! signal it (Linux: from `/proc`; elsewhere the pid file is trusted).

/// Whether process `pid` has `path` open (Linux: its `/proc/<pid>/fd` links, compared by device and inode).
/// Where the links may not be read (a hardened `/proc`), its command line must at least be a sync daemon's.
/// Elsewhere the pid file is trusted.
pub(super) fn has_open(pid: u32, path: &std::path::Path) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    use std::os::unix::fs::MetadataExt;
    let Ok(wanted) = std::fs::metadata(path) else { return false };
    match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(descriptors) => descriptors
            .flatten()
            .filter_map(|fd| std::fs::metadata(fd.path()).ok())
            .any(|open| open.dev() == wanted.dev() && open.ino() == wanted.ino()),
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| is_daemon_command_line(&cmdline))
        }
        Err(_) => false,
    }
}

/// Whether a `/proc/<pid>/cmdline` (arguments separated by NUL) runs `sync daemon`.
fn is_daemon_command_line(cmdline: &[u8]) -> bool {
    let arguments: Vec<&[u8]> = cmdline.split(|b| *b == 0).skip(1).collect();
    arguments.windows(2).any(|pair| pair[0] == b"sync" && pair[1] == b"daemon")
}

/// Whether process `pid` is on its way out: SIGKILL pending, or exiting already. Such a process still holds
/// its files, and so the daemon lock, for a moment (longer while it waits for a disk): `sync start` right
/// after `kill -9` must wait for it rather than report it as the running daemon.
pub(super) fn is_dying(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    dying_by_proc(&stat, &status)
}

/// The flag the kernel sets on a task as it begins to exit (`PF_EXITING` in `include/linux/sched.h`).
const PF_EXITING: u64 = 0x4;
/// SIGKILL (9) in the pending masks of `/proc/<pid>/status`.
const SIGKILL_MASK: u64 = 1 << (9 - 1);

/// [`is_dying`] from the texts of `/proc/<pid>/stat` and `/proc/<pid>/status`.
fn dying_by_proc(stat: &str, status: &str) -> bool {
    // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": the comm may hold spaces and parentheses.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let exiting = matches!(fields.first(), Some(&"Z" | &"X" | &"x"))
        || fields.get(6).and_then(|flags| flags.parse::<u64>().ok()).is_some_and(|flags| flags & PF_EXITING != 0);
    let killed = status.lines().any(|line| {
        let mask = line.strip_prefix("SigPnd:").or_else(|| line.strip_prefix("ShdPnd:"));
        mask.and_then(|m| u64::from_str_radix(m.trim(), 16).ok()).is_some_and(|m| m & SIGKILL_MASK != 0)
    });
    exiting || killed
}

#[cfg(test)]
mod tests {
    use super::{dying_by_proc, is_daemon_command_line};

    #[test]
    fn only_sync_daemon_is_a_daemon_command_line() {
        assert!(is_daemon_command_line(b"/usr/bin/spec-kitty\0sync\0daemon\0"));
        assert!(!is_daemon_command_line(b"/usr/bin/spec-kitty\0sync\0now\0"));
        assert!(!is_daemon_command_line(b"sleep\0forever\0"));
        assert!(!is_daemon_command_line(b"/opt/sync\0daemon-like\0"));
        assert!(!is_daemon_command_line(b""));
    }

    const RUNNING: &str = "4242 (spec-kitty) S 1 4242 4242 0 -1 4194560 300 0 0 0 1 0 0 0 20 0 2 0 77 0";
    const STATUS: &str = "Name:\tspec-kitty\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n";

    #[test]
    fn a_running_daemon_is_not_dying() {
        assert!(!dying_by_proc(RUNNING, STATUS));
    }

    #[test]
    fn sigkill_pending_exiting_or_a_zombie_is_dying() {
        let killed = STATUS.replace("ShdPnd:\t0000000000000000", "ShdPnd:\t0000000000000100");
        assert!(dying_by_proc(RUNNING, &killed));
        let exiting = RUNNING.replace(" 4194560 ", " 4194564 ");
        assert!(dying_by_proc(&exiting, STATUS));
        let zombie = RUNNING.replace(") S ", ") Z ");
        assert!(dying_by_proc(&zombie, STATUS));
        // Another pending signal, or a process name with a parenthesis and spaces, is not.
        let terminated = STATUS.replace("SigPnd:\t0000000000000000", "SigPnd:\t0000000000004000");
        assert!(!dying_by_proc(RUNNING, &terminated));
        let odd_name = RUNNING.replace("(spec-kitty)", "(a) Z (b)");
        assert!(!dying_by_proc(&odd_name, STATUS));
    }
}
