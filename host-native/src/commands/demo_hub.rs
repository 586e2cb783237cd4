//! The demo's second half: the team's hub on loopback, a login, live and batch sync, and the board
//! as the hub folds it.

use super::demo::Demo;
use crate::hub_client::HubClient;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TEAM: &str = "demo-team";
const USER: &str = "demo";

/// `spec-kitty-hub` beside this binary (both built by cargo into one folder), else
/// `SPEC_KITTY_HUB_BIN`, else on PATH.
fn hub_binary(exe: &std::path::Path) -> PathBuf {
    if let Some(path) = std::env::var_os("SPEC_KITTY_HUB_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let beside = exe.with_file_name(format!("spec-kitty-hub{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() { beside } else { PathBuf::from("spec-kitty-hub") }
}

/// The hub process, stopped (SIGTERM, bounded wait, then kill) when dropped.
struct RunningHub {
    child: Child,
    url: String,
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own child process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_hub(demo: &Demo, password: &str) -> Result<RunningHub> {
    let hub = hub_binary(&demo.exe);
    let data = demo.home.join("hub-data");
    let not_found = || format!("cannot run {} (build it: cargo build --release -p spec-kitty-hub)", hub.display());
    let mut add = Command::new(&hub)
        .args(["user", "add", "--team", TEAM, "--username", USER, "--data"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(not_found)?;
    if let Some(mut stdin) = add.stdin.take() {
        let _ = writeln!(stdin, "{password}");
    }
    if !add.wait()?.success() {
        bail!("spec-kitty-hub user add failed");
    }
    let mut child = Command::new(&hub)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("SPEC_KITTY_HUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(not_found)?;
    let stdout = child.stdout.take().context("the hub's stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).context("the hub's first line")?;
    let url = line.split_whitespace().last().unwrap_or_default().to_string();
    if !url.starts_with("http") {
        let _ = child.kill();
        bail!("the hub did not say where it listens");
    }
    Ok(RunningHub { child, url })
}

/// Runs the sync half of the demo; returns how many events the hub holds for the team.
pub(super) fn sync_to_a_hub(demo: &Demo) -> Result<usize> {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::outln!("\n# The team's hub: spec-kitty-hub on loopback, user `{USER}` in team `{TEAM}`");
    let hub = start_hub(demo, &password)?;
    crate::outln!("(spec-kitty-hub listening on {})", hub.url);
    let login = ["auth", "login", "--server", hub.url.as_str(), "--username", USER, "--password-stdin"];
    let result = (|| -> Result<usize> {
        demo.step_with_input("Log in: held events join the team, and the sync daemon starts", &login, Some(&password))?;
        demo.step(
            "A command with the daemon running: its event goes out live",
            &["agent", "tasks", "add-history", "WP02", "--note", "Starting soon", "--agent", "codex"],
        )?;
        demo.step("Send whatever is still queued, in batches", &["sync", "now"])?;
        demo.step("The sync state", &["sync", "status"])?;
        let client = HubClient::new(&hub.url)?;
        let token = client.login(USER, &password).map_err(|e| anyhow::anyhow!("{e}"))?;
        let board = client.get_json("/api/v1/board/", &token.access)?;
        crate::outln!("\n## The team's board, as the hub folds it (GET /api/v1/board/)");
        for card in board["work_packages"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let text = |key: &str| card[key].as_str().unwrap_or("").to_string();
            crate::outln!("{:<5} {:<11} {}", text("wp_id"), text("lane"), text("title"));
        }
        let events = client.get_json("/api/v1/events/?limit=1000", &token.access)?;
        Ok(events["events"].as_array().map_or(0, Vec::len))
    })();
    let _ = demo.step("Stop the sync daemon", &["sync", "stop"]);
    drop(hub);
    result
}
