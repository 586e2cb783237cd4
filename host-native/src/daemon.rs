//! The sync daemon: one per state folder. It holds the hub's WebSocket while logged in, sends each
//! event as soon as a command commits it (the command nudges it with a datagram on `daemon.sock` and
//! exits), removes an event from the queue only on the hub's ack, and falls back to batches.
//!
//! Every decision is the core's [`SyncService`] (live window, acks, refusals, reconnect delays, batch
//! mode, the periodic sync, the flush on stop) and its `drain` for batches. This loop only feeds it what
//! happened (frames, nudges, the timer, the stop signal, the answers of what it asked for) and carries out
//! the actions it returns. A long command runs the same loop on a thread ([`InProcessSync`]) when no daemon
//! runs.
//!
//! What the host itself guarantees, because no service decision can: a hub that never stops sending cannot
//! hold the loop ([`FRAMES_PER_TURN`]); a stop ends the process within the flush time even while a call to
//! the hub blocks ([`stop_watchdog`]); a new login (another user, team or server) is taken up before the
//! next send, and a logout stops the daemon. The lock, the pid file and who may signal whom are in
//! [`claim`]; `sync start` and `sync stop` in [`control`].

mod claim;
mod control;
mod process;

pub use claim::{log_file, nudge, reported_state, running_pid};
pub use control::{start, stop};

use crate::hub_client::TokenError;
use crate::hub_session::{HubSession, SystemClock};
use crate::live::{Incoming, LiveConnection};
use crate::queue::OfflineQueue;
use crate::state::StateDir;
use crate::{credentials, file_lock};
use anyhow::{Context, Result, bail};
use claim::{Claim, pid_file, remove_claim_files, report_state};
use spec_kitty_core::sync::connection::ConnectionConfig;
use spec_kitty_core::sync::drain::{DrainConfig, DrainReport, QueueStore, drain};
use spec_kitty_core::sync::service::{ServiceAction, ServiceConfig, ServiceInput, SyncService};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the loop waits for a frame or a nudge before looking at its timers.
const POLL: Duration = Duration::from_millis(20);

/// The most frames taken in one turn of the loop: a hub that never stops sending must not keep the loop
/// from the nudges, the timers and a stop.
const FRAMES_PER_TURN: usize = 256;

/// How long a daemon starting waits for its lock while commands look at it (each holds it shared for an
/// instant), and how long `sync stop` waits for a starting daemon to write its pid.
const LOCK_SETTLE: Duration = Duration::from_secs(1);

/// After a stop, what the flush time leaves a call to the hub that has not returned (see [`stop_watchdog`]).
const STOP_MARGIN: Duration = Duration::from_millis(500);

/// On SIGTERM the service flushes for this long (its own setting); the host's waits are bounded by it.
fn flush_on_stop() -> Duration {
    Duration::from_millis(ServiceConfig::default().flush_on_stop_ms)
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
    /// The last connection state could not be written for `sync status` (the folder was full): written
    /// again when a command nudges, as the folder has taken its event by then.
    state_unreported: bool,
}

/// Ends the daemon's process once a stop signal has come and the flush time (plus [`STOP_MARGIN`]) has
/// passed without the loop finishing: a call to the hub (ws-token, the WebSocket handshake, a batch) can
/// block for its whole timeout, up to a minute, and a stop must not wait for it. Nothing is lost: rows leave
/// the queue only on the hub's answer, and SQLite rolls back a write cut short.
fn stop_watchdog(state: StateDir, mut signals: UnixStream) {
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        loop {
            match signals.read(&mut byte) {
                Ok(0) => return,
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
        std::thread::sleep(flush_on_stop() + STOP_MARGIN);
        write_log(
            &mut LogSink::Stderr,
            "stopped: a call to the hub did not return within the flush time; what it carried stays queued",
        );
        remove_claim_files(&state);
        std::process::exit(0);
    });
}

/// `spec-kitty sync daemon`: runs until SIGTERM or Ctrl-C.
pub fn run_foreground() -> Result<()> {
    let state = StateDir::locate();
    // Watched before the claim: a `sync stop` as soon as daemon.pid names this process finds it listening.
    let stop = Arc::new(AtomicBool::new(false));
    let (signalled, signals) = UnixStream::pair().context("cannot watch signals")?;
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
        signal_hook::low_level::pipe::register(signal, signalled.try_clone()?).context("cannot watch signals")?;
    }
    let Some(claim) = Claim::take(&state)? else {
        let pid = std::fs::read_to_string(pid_file(&state)).unwrap_or_default();
        bail!("a sync daemon already runs for {} (pid {})", state.root().display(), pid.trim());
    };
    stop_watchdog(state.clone(), signals);
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

    /// Flushes what it can within the stop's flush time, then stops. A call to the hub that has not
    /// returned by then is left to its thread: the command is ending, and its lock goes with the process.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let until = Instant::now() + flush_on_stop() + STOP_MARGIN;
        while !self.thread.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
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
            state_unreported: false,
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
            let more_frames = self.read_frames();
            if self.wait_for_nudge(!more_frames) {
                self.follow_login();
                self.feed(ServiceInput::QueueChanged);
                if self.state_unreported {
                    self.state_unreported = !report_state(&self.state, self.service.state());
                }
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

    /// The frames that have come in (waiting at most the poll interval for the first), at most
    /// [`FRAMES_PER_TURN`]; whether more may be waiting.
    fn read_frames(&mut self) -> bool {
        for _ in 0..FRAMES_PER_TURN {
            let Some(live) = self.live.as_mut() else { return false };
            match live.receive() {
                Ok(Incoming::Nothing) => return false,
                Ok(Incoming::Text(text)) => self.feed(ServiceInput::Frame { text }),
                Ok(Incoming::Closed) => self.lost("closed by the hub".to_string()),
                Err(error) => self.lost(format!("{error:#}")),
            }
        }
        self.live.is_some()
    }

    /// Whether a command nudged (waiting at most the poll interval when `wait`); several nudges count as one.
    fn wait_for_nudge(&mut self, wait: bool) -> bool {
        let mut buffer = [0u8; 16];
        if wait && self.nudges.recv(&mut buffer).is_err() {
            return false;
        }
        // Every nudge already there, without waiting.
        let mut nudged = wait;
        if self.nudges.set_nonblocking(true).is_ok() {
            while self.nudges.recv(&mut buffer).is_ok() {
                nudged = true;
            }
            let _ = self.nudges.set_nonblocking(false);
        }
        nudged
    }

    /// Takes up a login made since the session opened (another user or team, another server): the events a
    /// command queues now carry the new login's team, and the old login cannot send them. The live
    /// connection, opened with the old login, is dropped and reconnected. Logged out: the daemon stops.
    /// What it asks of the service waits in `inputs` for the next feed.
    fn follow_login(&mut self) {
        let current = match credentials::read(&self.state) {
            Ok(Some(current)) => current,
            Ok(None) => {
                self.log("logged out: stopping");
                if let Some(live) = self.live.take() {
                    live.close();
                    self.inputs.push_back(ServiceInput::ConnectionLost { reason: "logged out".into() });
                }
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
            Err(_) => return,
        };
        let session = &self.session.credentials;
        if current.server.url == session.server.url
            && current.user.username == session.user.username
            && current.user.team_slug == session.user.team_slug
        {
            return;
        }
        match HubSession::open(self.state.clone()) {
            Ok(session) => {
                let line = format!(
                    "the login changed to {} (team {}) on {}: reconnecting with it",
                    session.credentials.user.username,
                    session.credentials.user.team_slug,
                    session.credentials.server.url
                );
                self.session = session;
                self.log(&line);
                if let Some(live) = self.live.take() {
                    live.close();
                    self.inputs.push_back(ServiceInput::ConnectionLost { reason: "the login changed".into() });
                }
            }
            Err(error) => self.log(&format!("the login changed but cannot be used: {error:#}")),
        }
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
                self.state_unreported = !report_state(&self.state, state);
            }
            ServiceAction::Log { line } => self.log(&line),
            ServiceAction::Open { attempt } => {
                self.follow_login();
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

    /// The ws-token, then the WebSocket. A 401 for an access token this machine's clock still counts good
    /// (the hub's clock runs ahead, the hub revoked it) refreshes once, as every 401 does (contract §3).
    fn open(&mut self) -> Result<LiveConnection> {
        let access = self.session.access().map_err(anyhow::Error::msg)?;
        let token = match self.session.client.ws_token(&access) {
            Ok(token) => token,
            Err(TokenError::Refused) => {
                self.session.refresh().map_err(anyhow::Error::msg)?;
                let access = self.session.credentials.tokens.access.clone();
                self.session.client.ws_token(&access).map_err(|e| anyhow::anyhow!("{e}"))?
            }
            Err(error) => bail!("{error}"),
        };
        LiveConnection::connect(&self.session.credentials.server.url, &token, POLL)
    }

    /// The batch drain, unless a `sync now` holds it (then that one sends the queue).
    fn drain(&mut self, config: &DrainConfig) -> Option<DrainReport> {
        let _sync = sync_lock_now(&self.state).ok()?;
        // The last drain of a stop (asked for after the signal) is bounded by its own `stop_at_ms`.
        let stop =
            if self.stop.load(Ordering::Relaxed) { Arc::new(AtomicBool::new(false)) } else { Arc::clone(&self.stop) };
        let mut clock = StoppableClock { stop };
        Some(drain(&mut self.queue, &mut self.session, &mut clock, config, &mut |_| {}))
    }
}

/// The system clock, except that once the daemon is told to stop it says the drain's time is up and
/// sleeps no more, so a SIGTERM during a batch drain ends it at the next step (the service then asks for
/// one last drain, bounded by the flush time, which runs on the plain clock).
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
