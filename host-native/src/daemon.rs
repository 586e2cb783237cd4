//! The sync daemon: one per state folder. It holds the hub's WebSocket while logged in, sends each
//! event as soon as a command commits it (the command nudges it with a datagram on `daemon.sock` and
//! exits), removes an event from the queue only on the hub's ack, and falls back to batches.
//!
//! Every decision is the core's [`SyncService`] (live window, acks, refusals, reconnect delays, batch
//! mode, the periodic sync, the flush on stop) and its `drain` for batches. This loop only feeds it what
//! happened (frames, nudges, the timer, the stop signal, the answers of what it asked for) and carries out
//! the actions it returns. A long command runs the same loop on a thread ([`InProcessSync`]) when no daemon
//! runs.

use crate::hub_session::{HubSession, SystemClock};
use crate::live::{Incoming, LiveConnection};
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use crate::{credentials, file_lock};
use anyhow::{Context, Result, bail};
use spec_kitty_core::sync::ConnectionState;
use spec_kitty_core::sync::connection::ConnectionConfig;
use spec_kitty_core::sync::drain::{DrainConfig, DrainReport, QueueStore, drain};
use spec_kitty_core::sync::service::{ServiceAction, ServiceConfig, ServiceInput, SyncService};
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the loop waits for a frame or a nudge before looking at its timers.
const POLL: Duration = Duration::from_millis(20);

/// On SIGTERM the service flushes for this long (its own setting); the host's waits are bounded by it.
fn flush_on_stop() -> Duration {
    Duration::from_millis(ServiceConfig::default().flush_on_stop_ms)
}

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

/// Where the service's log lines go: stderr for the daemon (its stderr is `daemon.log` when detached), the
/// log file for a service running inside a long command (whose stderr is the user's).
enum LogSink {
    Stderr,
    File(File),
}

struct Daemon {
    state: StateDir,
    session: HubSession,
    queue: OfflineQueue,
    service: SyncService,
    live: Option<LiveConnection>,
    nudges: UnixDatagram,
    stop: Arc<AtomicBool>,
    /// Answers of carried-out actions, fed back to the service in order.
    inputs: VecDeque<ServiceInput>,
    log_sink: LogSink,
}

/// What a service holds while it runs: the state folder's daemon lock, its pid file and its socket.
struct Claim {
    state: StateDir,
    lock: File,
    nudges: UnixDatagram,
}

impl Claim {
    /// The daemon lock of this state folder, without waiting; `None` when a daemon (or a command's
    /// in-process service) already runs for it.
    fn take(state: &StateDir) -> Result<Option<Claim>> {
        state.ensure()?;
        let lock = file_lock::open(&lock_path(state))?;
        if lock.try_lock().is_err() {
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

    fn release(self) {
        let _ = std::fs::remove_file(socket_path(&self.state));
        let _ = std::fs::remove_file(state_file(&self.state));
        let _ = std::fs::remove_file(pid_file(&self.state));
        drop(self.lock);
    }
}

/// `spec-kitty sync daemon`: runs until SIGTERM or Ctrl-C.
pub fn run_foreground() -> Result<()> {
    let state = StateDir::locate();
    let Some(claim) = Claim::take(&state)? else {
        let pid = std::fs::read_to_string(pid_file(&state)).unwrap_or_default();
        bail!("a sync daemon already runs for {} (pid {})", state.root().display(), pid.trim());
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }
    let result = Daemon::new(&claim, stop, LogSink::Stderr).and_then(|mut daemon| daemon.run());
    claim.release();
    result
}

/// The sync service running inside a long command (`orchestrate`) when no daemon runs: the same service,
/// on a thread, logging to `daemon.log`. Stop it with [`InProcessSync::finish`].
pub struct InProcessSync {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl InProcessSync {
    /// Starts the service when logged in and no daemon runs for this state folder; `None` otherwise (a
    /// daemon already sends what the command queues, or there is nowhere to send).
    pub fn start_if_no_daemon() -> Option<InProcessSync> {
        let state = StateDir::locate();
        credentials::read(&state).ok().flatten()?;
        let claim = Claim::take(&state).ok().flatten()?;
        let log = File::options().create(true).append(true).open(log_file(&state)).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let mut spare_log = LogSink::File(log.try_clone().ok()?);
        let thread = std::thread::spawn(move || {
            match Daemon::new(&claim, stop_flag, LogSink::File(log)) {
                Ok(mut daemon) => {
                    if let Err(error) = daemon.run() {
                        daemon.log(&format!("the in-process sync stopped: {error:#}"));
                    }
                }
                Err(error) => write_log(&mut spare_log, &format!("the in-process sync did not start: {error:#}")),
            }
            claim.release();
        });
        Some(InProcessSync { stop, thread })
    }

    /// Flushes what it can within the stop's flush time, then stops.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn write_log(sink: &mut LogSink, line: &str) {
    let stamped = format!("{} {line}", spec_kitty_core::time::rfc3339_seconds(crate::emitter::now_ms()));
    match sink {
        LogSink::Stderr => crate::errln!("{stamped}"),
        LogSink::File(file) => {
            use std::io::Write;
            let _ = writeln!(file, "{stamped}");
        }
    }
}

fn random() -> u64 {
    use spec_kitty_core::sync::drain::SyncClock;
    SystemClock.random()
}

impl Daemon {
    fn new(claim: &Claim, stop: Arc<AtomicBool>, log_sink: LogSink) -> Result<Daemon> {
        let state = claim.state.clone();
        let session = HubSession::open(state.clone())?;
        let queue = OfflineQueue::open(&state.queue_db(), crate::queue::busy_timeout())?;
        let connection =
            ConnectionConfig { background_sync_interval_ms: background_interval_ms(&state), ..Default::default() };
        let service = SyncService::new(ServiceConfig { connection, ..ServiceConfig::default() });
        Ok(Daemon {
            state,
            session,
            queue,
            service,
            live: None,
            nudges: claim.nudges.try_clone().context("cannot use daemon.sock")?,
            stop,
            inputs: VecDeque::new(),
            log_sink,
        })
    }

    fn log(&mut self, line: &str) {
        write_log(&mut self.log_sink, line);
    }

    /// The host's whole loop: feed what happened (frames, nudges, the timer, the stop signal) and carry out
    /// what the service returns, until it finishes.
    fn run(&mut self) -> Result<()> {
        let started =
            format!("started for {} (server {})", self.state.root().display(), self.session.credentials.server.url);
        self.log(&started);
        self.feed(ServiceInput::Start);
        // After a stop the service finishes within its flush time; this bound only guards against a host bug.
        let mut give_up_at: Option<Instant> = None;
        while !self.service.is_finished() {
            if give_up_at.is_none() && self.stop.load(Ordering::Relaxed) {
                give_up_at = Some(Instant::now() + flush_on_stop() + Duration::from_secs(1));
                self.feed(ServiceInput::Stop);
            }
            if give_up_at.is_some_and(|at| Instant::now() >= at) {
                break;
            }
            self.read_frames();
            if self.wait_for_nudge() {
                self.feed(ServiceInput::QueueChanged);
            }
            if self.service.wake_at_ms().is_some_and(|at| crate::emitter::now_ms() >= at) {
                self.feed(ServiceInput::Timer);
            }
        }
        if let Some(live) = self.live.take() {
            live.close();
        }
        self.log("stopped");
        Ok(())
    }

    /// Every frame that has come in (waiting at most the poll interval for the first).
    fn read_frames(&mut self) {
        while let Some(live) = self.live.as_mut() {
            match live.receive() {
                Ok(Incoming::Nothing) => return,
                Ok(Incoming::Text(text)) => self.feed(ServiceInput::Frame { text }),
                Ok(Incoming::Closed) => self.lost("closed by the hub".to_string()),
                Err(error) => self.lost(format!("{error:#}")),
            }
        }
    }

    /// Whether a command nudged (waiting at most the poll interval); several nudges count as one.
    fn wait_for_nudge(&mut self) -> bool {
        let mut buffer = [0u8; 16];
        if self.nudges.recv(&mut buffer).is_err() {
            return false;
        }
        if self.nudges.set_nonblocking(true).is_ok() {
            while self.nudges.recv(&mut buffer).is_ok() {}
            let _ = self.nudges.set_nonblocking(false);
        }
        true
    }

    fn lost(&mut self, reason: String) {
        self.live = None;
        self.feed(ServiceInput::ConnectionLost { reason });
    }

    fn feed(&mut self, input: ServiceInput) {
        self.inputs.push_back(input);
        while let Some(input) = self.inputs.pop_front() {
            for action in self.service.handle(crate::emitter::now_ms(), random(), input) {
                self.carry_out(action);
            }
        }
    }

    fn carry_out(&mut self, action: ServiceAction) {
        match action {
            ServiceAction::ShowState { state } => {
                self.log(&format!("connection: {state}"));
                report_state(&self.state, state);
            }
            ServiceAction::Log { line } => self.log(&line),
            ServiceAction::Open { attempt } => {
                let answer = match self.open() {
                    Ok(live) => {
                        self.live = Some(live);
                        ServiceInput::Opened
                    }
                    Err(error) => ServiceInput::OpenFailed { reason: format!("attempt {attempt}: {error:#}") },
                };
                self.inputs.push_back(answer);
            }
            ServiceAction::Close => {
                if let Some(live) = self.live.take() {
                    live.close();
                }
            }
            ServiceAction::ReadQueue { limit } => {
                let events = self.queue.oldest(limit).unwrap_or_else(|error| {
                    write_log(&mut self.log_sink, &format!("cannot read the queue: {error}"));
                    Vec::new()
                });
                self.inputs.push_back(ServiceInput::Queued { events });
            }
            ServiceAction::Send { text } => {
                if let Some(live) = self.live.as_mut()
                    && let Err(error) = live.send_text(text)
                {
                    self.live = None;
                    self.inputs.push_back(ServiceInput::ConnectionLost { reason: format!("{error:#}") });
                }
            }
            ServiceAction::Remove { event_ids } => self.store("remove", |q| q.remove(&event_ids)),
            ServiceAction::RecordFailures { failures } => {
                self.store("record failures", |q| q.record_failures(&failures))
            }
            ServiceAction::DeadLetter { failures } => self.store("dead-letter", |q| q.dead_letter(&failures)),
            ServiceAction::RecordSync { count } => {
                let at = (crate::emitter::now_ms() / 1000) as i64;
                self.store("record the sync", |q| q.record_sync(at, count).map_err(|e| format!("{e:#}")));
            }
            ServiceAction::Drain { config } => {
                let report = self.drain(&config);
                self.inputs.push_back(ServiceInput::DrainEnded { report });
            }
            ServiceAction::Finish => {}
        }
    }

    /// A queue write the service asked for; a failure is logged (the rows stay as they were and go again).
    fn store(&mut self, what: &str, write: impl FnOnce(&mut OfflineQueue) -> Result<(), String>) {
        if let Err(error) = write(&mut self.queue) {
            self.log(&format!("cannot {what} in the queue: {error}"));
        }
    }

    fn open(&mut self) -> Result<LiveConnection> {
        let access = self.session.access().map_err(anyhow::Error::msg)?;
        let token = self.session.client.ws_token(&access).map_err(|e| anyhow::anyhow!("{e}"))?;
        LiveConnection::connect(&self.session.credentials.server.url, &token, POLL)
    }

    /// The batch drain, unless a `sync now` holds it (then that one sends the queue).
    fn drain(&mut self, config: &DrainConfig) -> Option<DrainReport> {
        let _sync = sync_lock_now(&self.state).ok()?;
        let mut clock = StoppableClock { stop: Arc::clone(&self.stop) };
        Some(drain(&mut self.queue, &mut self.session, &mut clock, config, &mut |_| {}))
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
    let until = Instant::now() + flush_on_stop() + Duration::from_secs(3);
    while Instant::now() < until {
        if running_pid(&state).is_none() {
            return Ok(Some(pid));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the daemon (pid {pid}) did not stop within 5 s")
}
