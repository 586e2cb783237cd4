//! The sync service: everything a sync daemon does (and a long command running the same service in process),
//! as one sans-IO machine. The host feeds what happened ([`ServiceInput`], with the time and a random value)
//! and carries out the returned [`ServiceAction`]s in order; results of actions that need an answer (opening
//! the WebSocket, reading the queue, running the batch drain) come back as inputs. The host keeps one timer:
//! when [`SyncService::wake_at_ms`] passes, it feeds [`ServiceInput::Timer`] (an early or extra timer is
//! harmless).
//!
//! What it decides, beyond the [`ConnectionMachine`] it wraps (reconnect delays, batch mode after 10 failures,
//! the periodic sync):
//! - While connected, queued events go live, oldest first, at most `window` unacknowledged at a time; the
//!   window is refilled when half of it is acknowledged, so the host reads the queue once per half-window,
//!   not once per ack.
//! - A row leaves the queue only on the hub's ack (`accepted` or `duplicate`, also after its wait ran out).
//!   An acknowledged event that a later read still returns (the host could not delete it: disk full, a
//!   read-only queue) is not sent again before `ack_timeout_ms`, so a failing store cannot make the service
//!   resend as fast as the hub answers.
//! - An ack that does not come within `ack_timeout_ms` means the connection does not deliver (a stopped or
//!   stuck hub, a dead NAT mapping: TCP can stay quiet for many minutes before it says so): the connection
//!   is dropped and reconnected, and the queue goes by batch meanwhile (contract §5: "an event whose ack does
//!   not come stays in the queue and goes by batch later"). Resending on the same connection would never end
//!   if it is dead. The event stays queued, which is safe because the hub deduplicates by `event_id`.
//! - An `error` frame naming an event: not retryable (the hub refuses the event) counts one failure, and the
//!   fifth moves it to the dead letter ([`MAX_RETRIES`]); retryable leaves it untouched. Either way the event
//!   rests for `ack_timeout_ms` before it goes again, so a refusing hub cannot make a hot loop and a rejected
//!   event cannot hold the others back.
//! - Not connected: batches (through [`super::drain`]) when the connection machine asks for a queue sync, and
//!   in batch mode also when the queue grows, at most one drain per `min_batch_interval_ms`. In batch mode each
//!   periodic sync also tries the WebSocket again, so a hub that is back gets it.
//! - Stopping: live events in flight and the rest of the queue get `flush_on_stop_ms` to go, live when
//!   connected, otherwise by one last drain bounded by the same time; then the connection is closed and the
//!   service finishes. A drain under way is let finish (the host's clock stops its waits).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::answer::{EventFailure, MAX_RETRIES};
use super::connection::{ConnectionAction, ConnectionConfig, ConnectionInput, ConnectionMachine, ConnectionState};
use super::drain::{DrainConfig, DrainReport, QueuedEvent};
use super::rate_limit::MIN_BATCH_INTERVAL_MS;
use super::wire::{AckStatus, ServerFrame};

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

/// The service's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceConfig {
    pub connection: ConnectionConfig,
    /// The most live events sent and not yet acknowledged.
    pub window: usize,
    /// How long a live event waits for its ack before its slot is freed (and how long a refused event rests).
    pub ack_timeout_ms: u64,
    /// The least time between two batch drains.
    pub min_batch_interval_ms: u64,
    /// How long one background drain may run before it gives up its waits.
    pub drain_budget_ms: u64,
    /// On stop: how long what is in flight and queued may take to go.
    pub flush_on_stop_ms: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            connection: ConnectionConfig::default(),
            window: 256,
            ack_timeout_ms: 10_000,
            min_batch_interval_ms: MIN_BATCH_INTERVAL_MS,
            drain_budget_ms: 30_000,
            flush_on_stop_ms: 2_000,
        }
    }
}

/// What happened, as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceInput {
    /// Begin: go online.
    Start,
    /// A command committed events to the queue (the nudge).
    QueueChanged,
    /// The timer of [`SyncService::wake_at_ms`] fired.
    Timer,
    /// The WebSocket asked for by [`ServiceAction::Open`] is open.
    Opened,
    /// The attempt asked for by [`ServiceAction::Open`] failed.
    OpenFailed { reason: String },
    /// The open WebSocket dropped, or a send on it failed.
    ConnectionLost { reason: String },
    /// A text frame from the hub.
    Frame { text: String },
    /// The answer to [`ServiceAction::ReadQueue`]: the oldest queued events (dead letters not included).
    Queued { events: Vec<QueuedEvent> },
    /// The drain asked for by [`ServiceAction::Drain`] ended (`None` when it could not run, for example
    /// because a `sync now` holds the drain).
    DrainEnded { report: Option<DrainReport> },
    /// Stop (SIGTERM, Ctrl-C, the command that ran the service in process is done).
    Stop,
}

/// What the host is to do, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceAction {
    /// The connection state changed: show it (and report it to `sync status`).
    ShowState { state: ConnectionState },
    /// A line for the service's log.
    Log { line: String },
    /// Open the WebSocket (ws-token, connect); answer [`ServiceInput::Opened`] or [`ServiceInput::OpenFailed`].
    Open { attempt: u32 },
    /// Close the WebSocket.
    Close,
    /// Read the oldest `limit` queued events; answer [`ServiceInput::Queued`].
    ReadQueue { limit: usize },
    /// Send this text frame on the WebSocket; a failed send is [`ServiceInput::ConnectionLost`].
    Send { text: String },
    /// The hub has these events: delete them from the queue.
    Remove { event_ids: Vec<String> },
    /// Failed, kept: `retry_count + 1` and the reason.
    RecordFailures { failures: Vec<EventFailure> },
    /// Failed for the last time: move to the dead letter with the reason.
    DeadLetter { failures: Vec<EventFailure> },
    /// Persist the last successful sync: now, and how many events the hub acknowledged.
    RecordSync { count: usize },
    /// Run the batch drain with this configuration; answer [`ServiceInput::DrainEnded`].
    Drain { config: DrainConfig },
    /// The service is done: the host's loop ends.
    Finish,
}

/// A live event sent and not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    sent_at_ms: u64,
    retry_count: u32,
}

/// The sync service machine. See the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncService {
    config: ServiceConfig,
    connection: ConnectionMachine,
    /// Whether the WebSocket is open (the connection machine is `Connected`).
    live: bool,
    in_flight: HashMap<String, InFlight>,
    /// Events refused or left by the hub, not to be sent live again before the time given.
    resting: BTreeMap<String, u64>,
    /// Events the hub acknowledged lately, oldest first, with the time until which they are not sent again
    /// (their removal may have failed); `acknowledged_ids` holds the same ids for lookups.
    acknowledged: VecDeque<(u64, String)>,
    acknowledged_ids: HashSet<String>,
    /// A queue read is asked for and not answered yet.
    reading: bool,
    draining: bool,
    /// When the last drain began.
    last_drain_ms: Option<u64>,
    /// A drain is wanted once the rate limit allows (at this time) or the current drain ends.
    drain_wanted_at_ms: Option<u64>,
    /// Stopping: finish at this time at the latest.
    stop_at_ms: Option<u64>,
    finished: bool,
}

impl SyncService {
    pub fn new(config: ServiceConfig) -> Self {
        SyncService {
            connection: ConnectionMachine::new(config.connection),
            config,
            live: false,
            in_flight: HashMap::new(),
            resting: BTreeMap::new(),
            acknowledged: VecDeque::new(),
            acknowledged_ids: HashSet::new(),
            reading: false,
            draining: false,
            last_drain_ms: None,
            drain_wanted_at_ms: None,
            stop_at_ms: None,
            finished: false,
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.connection.state()
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// How many live events wait for their ack.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// When the host is to feed [`ServiceInput::Timer`] next (`None`: only when something happens).
    pub fn wake_at_ms(&self) -> Option<u64> {
        if self.finished {
            return None;
        }
        let ack_deadline =
            self.in_flight.values().map(|f| f.sent_at_ms.saturating_add(self.config.ack_timeout_ms)).min();
        let rest_over = if self.live { self.resting.values().min().copied() } else { None };
        let drain_due = if self.draining { None } else { self.drain_wanted_at_ms };
        [self.connection.wake_at_ms(), ack_deadline, rest_over, drain_due, self.stop_at_ms].into_iter().flatten().min()
    }

    /// Takes in what happened at `now_ms` (`random`: any random value, for the reconnect jitter) and returns
    /// what to do.
    pub fn handle(&mut self, now_ms: u64, random: u64, input: ServiceInput) -> Vec<ServiceAction> {
        let mut actions = Vec::new();
        if self.finished {
            return actions;
        }
        match input {
            ServiceInput::Start => self.connection_input(ConnectionInput::GoOnline { now_ms }, now_ms, &mut actions),
            ServiceInput::QueueChanged => {
                if self.live {
                    self.read_queue(&mut actions);
                } else if self.state() == ConnectionState::OfflineBatchMode {
                    self.want_drain(now_ms, &mut actions);
                }
            }
            ServiceInput::Timer => self.on_timer(now_ms, random, &mut actions),
            ServiceInput::Opened => {
                self.in_flight.clear();
                // The WebSocket sends the queue from now on: a batch drain waiting for its turn is not needed,
                // and one running beside live sends could count a failure against a stale retry count.
                self.drain_wanted_at_ms = None;
                self.connection_input(ConnectionInput::Connected { now_ms }, now_ms, &mut actions);
                self.live = self.state() == ConnectionState::Connected;
            }
            ServiceInput::OpenFailed { reason } => {
                actions.push(ServiceAction::Log { line: format!("connect attempt failed: {reason}") });
                self.connection_input(ConnectionInput::ReconnectFailed { now_ms, random }, now_ms, &mut actions);
            }
            ServiceInput::ConnectionLost { reason } => {
                if self.live {
                    actions.push(ServiceAction::Log { line: format!("connection lost: {reason}") });
                    self.drop_live();
                    self.connection_input(ConnectionInput::ConnectionLost { now_ms, random }, now_ms, &mut actions);
                }
            }
            ServiceInput::Frame { text } => self.on_frame(now_ms, &text, &mut actions),
            ServiceInput::Queued { events } => self.on_queued(now_ms, events, &mut actions),
            ServiceInput::DrainEnded { report } => self.on_drain_ended(now_ms, report, &mut actions),
            ServiceInput::Stop => {
                let deadline = now_ms.saturating_add(self.config.flush_on_stop_ms);
                self.stop_at_ms = Some(deadline);
                self.drain_wanted_at_ms = None;
                if self.live {
                    self.read_queue(&mut actions);
                } else if !self.draining {
                    // Not connected: what a batch can take within the flush time goes that way.
                    self.draining = true;
                    let config = DrainConfig { stop_at_ms: Some(deadline), ..DrainConfig::default() };
                    actions.push(ServiceAction::Drain { config });
                }
            }
        }
        self.finish_if_stopped(now_ms, &mut actions);
        actions
    }

    fn on_timer(&mut self, now_ms: u64, random: u64, actions: &mut Vec<ServiceAction>) {
        if self.connection.wake_at_ms().is_some_and(|at| now_ms >= at) {
            let periodic_in_batch_mode = self.state() == ConnectionState::OfflineBatchMode;
            self.connection_input(ConnectionInput::WakeUp { now_ms }, now_ms, actions);
            if periodic_in_batch_mode && self.stop_at_ms.is_none() {
                self.connection_input(ConnectionInput::GoOnline { now_ms }, now_ms, actions);
            }
        }
        // An overdue ack: this connection does not deliver. Drop it (the machine reconnects), and let the
        // queue go by batch meanwhile; the events stay queued.
        let timeout = self.config.ack_timeout_ms;
        let overdue = self.in_flight.values().filter(|sent| now_ms >= sent.sent_at_ms.saturating_add(timeout)).count();
        if overdue > 0 && self.live {
            actions.push(ServiceAction::Log {
                line: format!(
                    "{overdue} live event(s) not acknowledged within {timeout} ms: reconnecting; the queue goes by batch meanwhile"
                ),
            });
            self.drop_live();
            actions.push(ServiceAction::Close);
            self.connection_input(ConnectionInput::ConnectionLost { now_ms, random }, now_ms, actions);
            self.want_drain(now_ms, actions);
        }
        let rested = self.resting.len();
        self.resting.retain(|_, until| now_ms < *until);
        if self.live && self.resting.len() < rested {
            self.read_queue(actions);
        }
        if !self.draining && self.drain_wanted_at_ms.is_some_and(|at| now_ms >= at) {
            self.want_drain(now_ms, actions);
        }
    }

    fn on_frame(&mut self, now_ms: u64, text: &str, actions: &mut Vec<ServiceAction>) {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else { return };
        match frame {
            ServerFrame::Ack { event_id, status: AckStatus::Accepted | AckStatus::Duplicate } => {
                self.in_flight.remove(&event_id);
                self.resting.remove(&event_id);
                if self.acknowledged_ids.insert(event_id.clone()) {
                    self.acknowledged.push_back((now_ms.saturating_add(self.config.ack_timeout_ms), event_id.clone()));
                }
                actions.push(ServiceAction::Remove { event_ids: vec![event_id] });
                actions.push(ServiceAction::RecordSync { count: 1 });
                if self.live && self.in_flight.len() <= self.config.window / 2 {
                    self.read_queue(actions);
                }
            }
            ServerFrame::Error { event_id: Some(event_id), error, retryable } => {
                let Some(sent) = self.in_flight.remove(&event_id) else { return };
                self.resting.insert(event_id.clone(), now_ms.saturating_add(self.config.ack_timeout_ms));
                if retryable {
                    return;
                }
                let failures = vec![EventFailure { event_id, reason: error }];
                if sent.retry_count.saturating_add(1) >= MAX_RETRIES {
                    let line = format!(
                        "event {} refused {MAX_RETRIES} times, moved to the dead letter: {}",
                        failures[0].event_id,
                        failures[0].reason.chars().take(200).collect::<String>()
                    );
                    actions.push(ServiceAction::DeadLetter { failures });
                    actions.push(ServiceAction::Log { line });
                } else {
                    actions.push(ServiceAction::RecordFailures { failures });
                }
            }
            ServerFrame::Ping { timestamp } => {
                actions.push(ServiceAction::Send { text: format!("{{\"type\":\"pong\",\"timestamp\":{timestamp}}}") });
            }
            _ => {}
        }
    }

    fn on_queued(&mut self, now_ms: u64, events: Vec<QueuedEvent>, actions: &mut Vec<ServiceAction>) {
        self.reading = false;
        if !self.live {
            return;
        }
        while self.acknowledged.front().is_some_and(|(until, _)| now_ms >= *until) {
            if let Some((_, id)) = self.acknowledged.pop_front() {
                self.acknowledged_ids.remove(&id);
            }
        }
        for event in events {
            if self.in_flight.len() >= self.config.window {
                break;
            }
            if self.in_flight.contains_key(&event.event_id)
                || self.resting.contains_key(&event.event_id)
                || self.acknowledged_ids.contains(&event.event_id)
            {
                continue;
            }
            // The stored envelope with the frame's type in front: `{"type":"event", ...envelope}`.
            let Some(rest) = event.data.strip_prefix('{') else { continue };
            let separator = if rest.trim_start().starts_with('}') { "" } else { "," };
            actions.push(ServiceAction::Send { text: format!("{{\"type\":\"event\"{separator}{rest}") });
            self.in_flight.insert(event.event_id, InFlight { sent_at_ms: now_ms, retry_count: event.retry_count });
        }
    }

    fn on_drain_ended(&mut self, now_ms: u64, report: Option<DrainReport>, actions: &mut Vec<ServiceAction>) {
        self.draining = false;
        if let Some(report) = report {
            let acknowledged = report.accepted + report.duplicates;
            if acknowledged > 0 {
                actions.push(ServiceAction::RecordSync { count: acknowledged });
            }
            actions.push(ServiceAction::Log {
                line: format!(
                    "batch sync: {} accepted, {} duplicate(s), {} rejected, {} still queued",
                    report.accepted, report.duplicates, report.rejected, report.remaining
                ),
            });
        }
        if self.drain_wanted_at_ms.is_some() && self.stop_at_ms.is_none() {
            self.want_drain(now_ms, actions);
        }
    }

    /// Feeds the connection machine and carries its actions into the service's.
    fn connection_input(&mut self, input: ConnectionInput, now_ms: u64, actions: &mut Vec<ServiceAction>) {
        for action in self.connection.handle(input) {
            match action {
                ConnectionAction::ShowState { state } => actions.push(ServiceAction::ShowState { state }),
                ConnectionAction::OpenConnection { attempt } => actions.push(ServiceAction::Open { attempt }),
                ConnectionAction::CloseConnection => {
                    self.drop_live();
                    actions.push(ServiceAction::Close);
                }
                ConnectionAction::SwitchToBatchMode => actions
                    .push(ServiceAction::Log { line: "batch mode: the hub's WebSocket is not reachable".to_string() }),
                // Connected: the WebSocket sends the queue; otherwise batches.
                ConnectionAction::SyncQueue if self.state() == ConnectionState::Connected => {
                    self.live = true;
                    self.read_queue(actions);
                }
                ConnectionAction::SyncQueue => self.want_drain(now_ms, actions),
                ConnectionAction::WakeAt { .. } => {}
            }
        }
    }

    fn drop_live(&mut self) {
        self.live = false;
        self.in_flight.clear();
        self.reading = false;
    }

    fn read_queue(&mut self, actions: &mut Vec<ServiceAction>) {
        if self.reading || self.in_flight.len() >= self.config.window {
            return;
        }
        self.reading = true;
        // Events in flight and resting are in the queue too, ahead of the new ones.
        let limit = self.config.window + self.in_flight.len() + self.resting.len();
        actions.push(ServiceAction::ReadQueue { limit });
    }

    /// A drain now, or as soon as the rate limit and the drain under way allow.
    fn want_drain(&mut self, now_ms: u64, actions: &mut Vec<ServiceAction>) {
        if self.stop_at_ms.is_some() {
            return;
        }
        let allowed_at = self.last_drain_ms.map_or(0, |last| last.saturating_add(self.config.min_batch_interval_ms));
        if self.draining || now_ms < allowed_at {
            self.drain_wanted_at_ms = Some(self.drain_wanted_at_ms.map_or(allowed_at, |at| at.min(allowed_at)));
            return;
        }
        self.draining = true;
        self.drain_wanted_at_ms = None;
        self.last_drain_ms = Some(now_ms);
        let config = DrainConfig {
            min_interval_ms: self.config.min_batch_interval_ms,
            stop_at_ms: Some(now_ms.saturating_add(self.config.drain_budget_ms)),
            ..DrainConfig::default()
        };
        actions.push(ServiceAction::Drain { config });
    }

    /// Stopping ends when nothing is left to flush (or at the deadline) and no drain is under way.
    fn finish_if_stopped(&mut self, now_ms: u64, actions: &mut Vec<ServiceAction>) {
        let Some(deadline) = self.stop_at_ms else { return };
        let flushed = !self.live || (self.in_flight.is_empty() && !self.reading);
        if self.draining || !(flushed || now_ms >= deadline) {
            return;
        }
        if self.live {
            self.drop_live();
            actions.push(ServiceAction::Close);
        }
        self.connection.handle(ConnectionInput::UserGoOffline);
        self.finished = true;
        actions.push(ServiceAction::Finish);
    }
}
