//! The sync daemon: one per state folder. It holds the hub's WebSocket while logged in, sends each
//! event as soon as a command commits it (the command nudges it with a datagram on `daemon.sock` and
//! exits), removes an event from the queue only on the hub's ack, and falls back to batches.
//!
//! Every decision is the core's: the connection machine (reconnect delays, batch mode after 10
//! failures, the periodic sync), `drain` for batches, the answer rules for failures. This loop only
//! feeds inputs and carries out the actions.

use crate::file_lock;
use crate::hub_session::{HubSession, SystemClock};
use crate::live::{Incoming, LiveConnection};
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use anyhow::{Context, Result, bail};
use spec_kitty_core::sync::answer::MAX_RETRIES;
use spec_kitty_core::sync::connection::{ConnectionAction, ConnectionConfig, ConnectionInput, ConnectionMachine};
use spec_kitty_core::sync::drain::{DrainConfig, QueueStore, drain};
use spec_kitty_core::sync::wire::{AckStatus, ServerFrame};
use spec_kitty_core::sync::{ConnectionState, EventFailure};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the loop waits for a frame or a nudge before looking at its timers.
const POLL: Duration = Duration::from_millis(20);
/// An event sent live whose ack does not come within this goes by batch later.
const ACK_TIMEOUT_MS: u64 = 10_000;
/// At most this many events in flight on the WebSocket.
const IN_FLIGHT: usize = 256;
/// On SIGTERM: what can be flushed within this is.
const FLUSH_ON_STOP: Duration = Duration::from_secs(2);

fn pid_file(state: &StateDir) -> std::path::PathBuf {
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

fn lock_path(state: &StateDir) -> std::path::PathBuf {
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

/// The daemon's pid, when one runs for this state folder (its lock is held).
pub fn running_pid(state: &StateDir) -> Option<u32> {
    let file = File::options().write(true).open(lock_path(state)).ok()?;
    match file.try_lock() {
        Ok(()) => None,
        Err(_) => std::fs::read_to_string(pid_file(state)).ok()?.trim().parse().ok(),
    }
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

fn report_state(state: &StateDir, connection: ConnectionState) {
    let word = match connection {
        ConnectionState::Connected => "connected",
        ConnectionState::OfflineBatchMode => "batch",
        ConnectionState::Reconnecting { .. } => "reconnecting",
        ConnectionState::Offline => "offline",
    };
    let _ = crate::state::write_atomically(&state_file(state), word.as_bytes());
}

/// The `[sync] interval` of config.toml in seconds (default 300).
fn background_interval_ms(state: &StateDir) -> u64 {
    #[derive(serde::Deserialize, Default)]
    struct Config {
        #[serde(default)]
        sync: Sync,
    }
    #[derive(serde::Deserialize, Default)]
    struct Sync {
        interval: Option<u64>,
    }
    let config: Config =
        std::fs::read_to_string(state.config_toml()).ok().and_then(|t| toml::from_str(&t).ok()).unwrap_or_default();
    config.sync.interval.filter(|s| *s > 0).map_or(300_000, |s| s.saturating_mul(1000))
}

struct InFlight {
    sent_at_ms: u64,
    retry_count: u32,
}

struct Daemon {
    state: StateDir,
    session: HubSession,
    queue: OfflineQueue,
    machine: ConnectionMachine,
    live: Option<LiveConnection>,
    in_flight: HashMap<String, InFlight>,
    nudges: UnixDatagram,
    stop: Arc<AtomicBool>,
    last_batch_ms: u64,
}

/// `spec-kitty sync daemon`: runs until SIGTERM or Ctrl-C.
pub fn run_foreground() -> Result<()> {
    let state = StateDir::locate();
    state.ensure()?;
    let lock = file_lock::open(&lock_path(&state))?;
    if lock.try_lock().is_err() {
        let pid = std::fs::read_to_string(pid_file(&state)).unwrap_or_default();
        bail!("a sync daemon already runs for {} (pid {})", state.root().display(), pid.trim());
    }
    let session = HubSession::open(StateDir::locate())?;
    std::fs::write(pid_file(&state), std::process::id().to_string()).context("cannot write daemon.pid")?;
    let path = socket_path(&state);
    // Under the lock no other daemon owns the socket: a file there is a dead daemon's.
    let _ = std::fs::remove_file(&path);
    let nudges = UnixDatagram::bind(&path).with_context(|| format!("cannot bind {}", path.display()))?;
    nudges.set_read_timeout(Some(POLL))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }
    let queue = OfflineQueue::open(&state.queue_db(), crate::queue::busy_timeout())?;
    let config = ConnectionConfig { background_sync_interval_ms: background_interval_ms(&state), ..Default::default() };
    let mut daemon = Daemon {
        state,
        session,
        queue,
        machine: ConnectionMachine::new(config),
        live: None,
        in_flight: HashMap::new(),
        nudges,
        stop,
        last_batch_ms: 0,
    };
    log(&format!("started for {} (server {})", daemon.state.root().display(), daemon.session.credentials.server.url));
    let result = daemon.run();
    let _ = std::fs::remove_file(socket_path(&daemon.state));
    let _ = std::fs::remove_file(state_file(&daemon.state));
    let _ = std::fs::remove_file(pid_file(&daemon.state));
    log("stopped");
    drop(lock);
    result
}

fn log(line: &str) {
    crate::errln!("{} {line}", spec_kitty_core::time::rfc3339_seconds(crate::emitter::now_ms()));
}

fn random() -> u64 {
    use spec_kitty_core::sync::drain::SyncClock;
    SystemClock.random()
}

impl Daemon {
    fn run(&mut self) -> Result<()> {
        let now = crate::emitter::now_ms();
        let actions = self.machine.handle(ConnectionInput::GoOnline { now_ms: now });
        self.carry_out(actions);
        while !self.stop.load(Ordering::Relaxed) {
            let now = crate::emitter::now_ms();
            if self.machine.wake_at_ms().is_some_and(|at| now >= at) {
                let was_batch_mode = self.machine.state() == ConnectionState::OfflineBatchMode;
                let actions = self.machine.handle(ConnectionInput::WakeUp { now_ms: now });
                self.carry_out(actions);
                // Batch mode tries the live connection again after each periodic sync, so a hub that is
                // back gets the WebSocket again.
                if was_batch_mode {
                    let actions = self.machine.handle(ConnectionInput::GoOnline { now_ms: now });
                    self.carry_out(actions);
                }
            }
            if self.live.is_some() {
                self.send_pending();
                self.read_frames();
                self.expire_in_flight();
            }
            // A nudge, or the poll interval: either way the loop goes round.
            let mut buffer = [0u8; 16];
            let woke = self.nudges.recv(&mut buffer).is_ok();
            if woke {
                while self.nudges.set_nonblocking(true).is_ok() && self.nudges.recv(&mut buffer).is_ok() {}
                let _ = self.nudges.set_nonblocking(false);
                if self.live.is_none() && self.machine.state() == ConnectionState::OfflineBatchMode {
                    self.batch(5_000);
                }
            }
        }
        // Stopping: what goes within the flush time goes; the rest stays queued.
        let until = Instant::now() + FLUSH_ON_STOP;
        while self.live.is_some() && Instant::now() < until {
            self.send_pending();
            self.read_frames();
            if self.in_flight.is_empty() && self.queue.len().unwrap_or(0) == 0 {
                break;
            }
        }
        if let Some(live) = self.live.take() {
            live.close();
        }
        Ok(())
    }

    fn carry_out(&mut self, actions: Vec<ConnectionAction>) {
        for action in actions {
            match action {
                ConnectionAction::ShowState { state } => {
                    log(&format!("connection: {state}"));
                    report_state(&self.state, state);
                }
                ConnectionAction::OpenConnection { attempt } => self.open(attempt),
                ConnectionAction::CloseConnection => {
                    if let Some(live) = self.live.take() {
                        live.close();
                    }
                }
                // Connected: the WebSocket sends the queue (256 in flight); otherwise batches, at most one per 5 s.
                ConnectionAction::SyncQueue if self.live.is_some() => {}
                ConnectionAction::SyncQueue => self.batch(5_000),
                ConnectionAction::SwitchToBatchMode => log("batch mode: the hub's WebSocket is not reachable"),
                ConnectionAction::WakeAt { .. } => {}
            }
        }
    }

    fn open(&mut self, attempt: u32) {
        let result = self
            .session
            .access()
            .map_err(anyhow::Error::msg)
            .and_then(|access| self.session.client.ws_token(&access).map_err(|e| anyhow::anyhow!("{e}")))
            .and_then(|token| LiveConnection::connect(&self.session.credentials.server.url, &token, POLL));
        let now = crate::emitter::now_ms();
        match result {
            Ok(live) => {
                self.live = Some(live);
                self.in_flight.clear();
                let actions = self.machine.handle(ConnectionInput::Connected { now_ms: now });
                self.carry_out(actions);
            }
            Err(error) => {
                log(&format!("connect attempt {attempt} failed: {error:#}"));
                let actions = self.machine.handle(ConnectionInput::ReconnectFailed { now_ms: now, random: random() });
                self.carry_out(actions);
            }
        }
    }

    fn lost(&mut self, why: &str) {
        log(&format!("connection lost: {why}"));
        self.live = None;
        self.in_flight.clear();
        let actions =
            self.machine.handle(ConnectionInput::ConnectionLost { now_ms: crate::emitter::now_ms(), random: random() });
        self.carry_out(actions);
    }

    /// Sends what the queue holds, in batches (at most one batch per `min_interval_ms`).
    fn batch(&mut self, min_interval_ms: u64) {
        let now = crate::emitter::now_ms();
        if min_interval_ms > 0 && now < self.last_batch_ms.saturating_add(min_interval_ms) {
            return;
        }
        self.last_batch_ms = now;
        if self.queue.len().unwrap_or(0) == 0 {
            return;
        }
        let Ok(_sync) = sync_lock_now(&self.state) else { return };
        let config = DrainConfig { min_interval_ms, stop_at_ms: Some(now + 30_000), ..DrainConfig::default() };
        let mut clock = StoppableClock { stop: Arc::clone(&self.stop) };
        let report = drain(&mut self.queue, &mut self.session, &mut clock, &config, &mut |_| {});
        let acknowledged = report.accepted + report.duplicates;
        if acknowledged > 0 {
            let _ = self.queue.record_sync((crate::emitter::now_ms() / 1000) as i64, acknowledged);
        }
        log(&format!(
            "batch sync: {} accepted, {} duplicate(s), {} rejected, {} still queued",
            report.accepted, report.duplicates, report.rejected, report.remaining
        ));
    }

    fn send_pending(&mut self) {
        if self.in_flight.len() >= IN_FLIGHT {
            return;
        }
        let Ok(queued) = self.queue.oldest(IN_FLIGHT + self.in_flight.len()) else { return };
        let now = crate::emitter::now_ms();
        for event in queued {
            if self.in_flight.len() >= IN_FLIGHT {
                break;
            }
            if self.in_flight.contains_key(&event.event_id) || !event.data.starts_with('{') {
                continue;
            }
            // The stored envelope with the frame's type in front: `{"type":"event", ...envelope}`.
            let frame = format!("{{\"type\":\"event\",{}", &event.data[1..]);
            let Some(live) = self.live.as_mut() else { return };
            if let Err(error) = live.send_text(frame) {
                self.lost(&format!("{error:#}"));
                return;
            }
            self.in_flight.insert(event.event_id, InFlight { sent_at_ms: now, retry_count: event.retry_count });
        }
    }

    fn read_frames(&mut self) {
        loop {
            let Some(live) = self.live.as_mut() else { return };
            let incoming = match live.receive() {
                Ok(incoming) => incoming,
                Err(error) => return self.lost(&format!("{error:#}")),
            };
            match incoming {
                Incoming::Nothing => return,
                Incoming::Closed => return self.lost("closed by the hub"),
                Incoming::Text(text) => self.on_frame(&text),
            }
        }
    }

    fn on_frame(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else { return };
        match frame {
            // Accepted or duplicate: the hub has it (also when the ack comes after we stopped waiting).
            ServerFrame::Ack { event_id, status: AckStatus::Accepted | AckStatus::Duplicate } => {
                self.in_flight.remove(&event_id);
                let _ = self.queue.remove(std::slice::from_ref(&event_id));
                let _ = self.queue.record_sync((crate::emitter::now_ms() / 1000) as i64, 1);
            }
            ServerFrame::Error { event_id: Some(event_id), error, retryable } => {
                let Some(sent) = self.in_flight.remove(&event_id) else { return };
                if retryable {
                    return; // stays queued untouched; the next round or a batch sends it again
                }
                let failure = EventFailure { event_id, reason: error };
                let failures = std::slice::from_ref(&failure);
                let _ = if sent.retry_count.saturating_add(1) >= MAX_RETRIES {
                    self.queue.dead_letter(failures)
                } else {
                    self.queue.record_failures(failures)
                };
            }
            ServerFrame::Ping { timestamp } => {
                let pong = format!("{{\"type\":\"pong\",\"timestamp\":{timestamp}}}");
                if let Some(live) = self.live.as_mut()
                    && let Err(error) = live.send_text(pong)
                {
                    self.lost(&format!("{error:#}"));
                }
            }
            _ => {}
        }
    }

    fn expire_in_flight(&mut self) {
        let now = crate::emitter::now_ms();
        // Not acked in time: forget it here; it stays queued and goes again (by event_id, safely).
        self.in_flight.retain(|_, sent| now.saturating_sub(sent.sent_at_ms) < ACK_TIMEOUT_MS);
    }
}

/// The system clock, except that once the daemon is told to stop it says the drain's time is up and
/// sleeps no more, so a SIGTERM during a batch drain ends it at the next step.
struct StoppableClock {
    stop: Arc<AtomicBool>,
}

impl spec_kitty_core::sync::drain::SyncClock for StoppableClock {
    fn now_ms(&mut self) -> u64 {
        let now = crate::emitter::now_ms();
        if self.stop.load(Ordering::Relaxed) { now.saturating_add(1 << 40) } else { now }
    }

    fn random(&mut self) -> u64 {
        SystemClock.random()
    }

    fn sleep_until(&mut self, at_ms: u64) {
        // In short steps, so a stop is noticed.
        while !self.stop.load(Ordering::Relaxed) && crate::emitter::now_ms() < at_ms {
            std::thread::sleep(
                Duration::from_millis(20).min(Duration::from_millis(at_ms.saturating_sub(crate::emitter::now_ms()))),
            );
        }
    }
}

/// The drain lock of `sync now`, taken without waiting (the daemon tries again later).
fn sync_lock_now(state: &StateDir) -> Result<File> {
    let path = state.root().join("sync.lock");
    let file = file_lock::open(&path)?;
    file.try_lock().map_err(|_| anyhow::anyhow!("a sync now is running"))?;
    Ok(file)
}

/// `spec-kitty sync start`: the daemon in the background, its output in `daemon.log`.
pub fn start() -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let state = StateDir::locate();
    state.ensure()?;
    if let Some(pid) = running_pid(&state) {
        return Ok(pid);
    }
    // Said here, not only in the daemon's log.
    HubSession::open(StateDir::locate())?;
    let log_path = log_file(&state);
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
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
        if let Some(pid) = running_pid(&state) {
            return Ok(pid);
        }
        if matches!(child.try_wait(), Ok(Some(_))) && running_pid(&state).is_none() {
            std::thread::sleep(Duration::from_millis(50));
            if let Some(pid) = running_pid(&state) {
                return Ok(pid);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the daemon did not start; see {}", log_file(&state).display())
}

/// `spec-kitty sync stop`: SIGTERM, then a bounded wait. Returns the pid stopped, if any.
pub fn stop() -> Result<Option<u32>> {
    let state = StateDir::locate();
    let Some(pid) = running_pid(&state) else { return Ok(None) };
    let Ok(raw) = libc::pid_t::try_from(pid) else { bail!("daemon.pid holds an impossible pid {pid}") };
    // SAFETY: sends SIGTERM to the process named by the daemon's own pid file while its lock is held.
    unsafe { libc::kill(raw, libc::SIGTERM) };
    let until = Instant::now() + FLUSH_ON_STOP + Duration::from_secs(3);
    while Instant::now() < until {
        if running_pid(&state).is_none() {
            return Ok(Some(pid));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the daemon (pid {pid}) did not stop within 5 s")
}
