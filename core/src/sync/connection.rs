//! The connection-state machine, sans-IO: the host feeds it what happened ([`ConnectionInput`], each carrying
//! the time and any random value it needs) and carries out the [`ConnectionAction`]s it returns. It owns one
//! wake-up deadline: the host keeps a single timer for the latest [`ConnectionAction::WakeAt`] and sends
//! [`ConnectionInput::WakeUp`] when it fires; a stale or early wake-up is harmless.
//!
//! ```text
//! Offline --GoOnline--> Reconnecting{1} --WakeUp(due)--> OpenConnection{k}
//!   Reconnecting{k} --ReconnectFailed--> Reconnecting{k+1} (after the backoff), or after the 10th failure
//!   --> Offline - Batch Mode (events go by HTTP batch every background interval)
//! any --Connected--> Connected (sync the queue now, then every background interval)
//! Connected --ConnectionLost--> Reconnecting{1};  any --UserGoOffline--> Offline
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::backoff::BackoffSchedule;
use super::rate_limit::BACKGROUND_SYNC_INTERVAL_MS;

/// Failed reconnects before giving up on the live connection (contract §5).
pub const MAX_RECONNECT_ATTEMPTS: u32 = 10;

/// The state shown to the user; [`fmt::Display`] gives the contract's exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
    /// Waiting for, or making, reconnect attempt number `attempt` (1-based).
    Reconnecting {
        attempt: u32,
    },
    /// Not connected and not trying (the user asked for it, or nothing started yet).
    #[default]
    Offline,
    /// The live connection gave up after too many failed reconnects; events go by HTTP batch.
    OfflineBatchMode,
}

impl ConnectionState {
    /// `Connected`, `Reconnecting`, `Offline` or `Offline - Batch Mode`.
    pub fn label(&self) -> &'static str {
        match self {
            ConnectionState::Connected => "Connected",
            ConnectionState::Reconnecting { .. } => "Reconnecting",
            ConnectionState::Offline => "Offline",
            ConnectionState::OfflineBatchMode => "Offline - Batch Mode",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The machine's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionConfig {
    /// The delay before each reconnect attempt (attempt `k` waits `delay_ms(k - 1, random)`).
    pub schedule: BackoffSchedule,
    pub max_reconnect_attempts: u32,
    /// The period of the background batch sync while connected or in batch mode.
    pub background_sync_interval_ms: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            schedule: BackoffSchedule::DEFAULT,
            max_reconnect_attempts: MAX_RECONNECT_ATTEMPTS,
            background_sync_interval_ms: BACKGROUND_SYNC_INTERVAL_MS,
        }
    }
}

/// What happened, as the host saw it. Times are Unix milliseconds; `random` is any random `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionInput {
    /// Start connecting (after login, at start-up, or when the user asks to go online again).
    GoOnline { now_ms: u64 },
    /// The WebSocket is open.
    Connected { now_ms: u64 },
    /// The open WebSocket dropped.
    ConnectionLost { now_ms: u64, random: u64 },
    /// The attempt asked for by [`ConnectionAction::OpenConnection`] failed.
    ReconnectFailed { now_ms: u64, random: u64 },
    /// The timer of the latest [`ConnectionAction::WakeAt`] fired.
    WakeUp { now_ms: u64 },
    /// The user asked to work offline.
    UserGoOffline,
}

/// What the host is to do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionAction {
    /// The state changed: show it.
    ShowState { state: ConnectionState },
    /// Try to open the WebSocket now; report [`ConnectionInput::Connected`] or
    /// [`ConnectionInput::ReconnectFailed`].
    OpenConnection { attempt: u32 },
    /// Close the WebSocket, or abandon an attempt in flight.
    CloseConnection,
    /// Send [`ConnectionInput::WakeUp`] at `at_ms`; this replaces any earlier wake-up.
    WakeAt { at_ms: u64 },
    /// Stop using the live connection: events go by HTTP batch from now on.
    SwitchToBatchMode,
    /// Run a batch sync of the queue now (within the batch rate limit).
    SyncQueue,
}

/// The connection-state machine. Starts `Offline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ConnectionMachine {
    config: ConnectionConfig,
    state: ConnectionState,
    /// When the machine wants its next [`ConnectionInput::WakeUp`]. In `Reconnecting`, `None` means the
    /// attempt is in flight.
    wake_at_ms: Option<u64>,
}

impl ConnectionMachine {
    pub fn new(config: ConnectionConfig) -> Self {
        ConnectionMachine { config, state: ConnectionState::Offline, wake_at_ms: None }
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn wake_at_ms(&self) -> Option<u64> {
        self.wake_at_ms
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Takes in what happened; returns what to do. Inputs that do not apply to the current state (a stale
    /// failure report, a loss while not connected) return nothing and change nothing.
    pub fn handle(&mut self, input: ConnectionInput) -> Vec<ConnectionAction> {
        use ConnectionAction as A;
        use ConnectionState as S;
        match (self.state, input) {
            (S::Offline | S::OfflineBatchMode, ConnectionInput::GoOnline { .. }) => {
                self.wake_at_ms = None;
                let mut actions = self.enter(S::Reconnecting { attempt: 1 });
                actions.push(A::OpenConnection { attempt: 1 });
                actions
            }
            // The user chose offline: an attempt that was already under way and succeeded is closed.
            (S::Offline, ConnectionInput::Connected { .. }) => vec![A::CloseConnection],
            (S::Connected, ConnectionInput::Connected { .. }) => Vec::new(),
            (_, ConnectionInput::Connected { now_ms }) => {
                let mut actions = self.enter(S::Connected);
                actions.push(A::SyncQueue);
                actions.push(self.wake_after(now_ms, self.config.background_sync_interval_ms));
                actions
            }
            (S::Connected, ConnectionInput::ConnectionLost { now_ms, random }) => {
                self.schedule_attempt(1, now_ms, random)
            }
            (S::Reconnecting { attempt }, ConnectionInput::ReconnectFailed { now_ms, random })
                if self.wake_at_ms.is_none() =>
            {
                self.schedule_attempt(attempt.saturating_add(1), now_ms, random)
            }
            (state, ConnectionInput::WakeUp { now_ms }) => match self.wake_at_ms {
                None => Vec::new(),
                Some(at_ms) if now_ms < at_ms => vec![A::WakeAt { at_ms }],
                Some(_) => match state {
                    S::Reconnecting { attempt } => {
                        self.wake_at_ms = None;
                        vec![A::OpenConnection { attempt }]
                    }
                    S::Connected | S::OfflineBatchMode => {
                        vec![A::SyncQueue, self.wake_after(now_ms, self.config.background_sync_interval_ms)]
                    }
                    S::Offline => {
                        self.wake_at_ms = None;
                        Vec::new()
                    }
                },
            },
            (S::Offline, ConnectionInput::UserGoOffline) => Vec::new(),
            (_, ConnectionInput::UserGoOffline) => {
                self.wake_at_ms = None;
                let mut actions = self.enter(S::Offline);
                actions.push(A::CloseConnection);
                actions
            }
            _ => Vec::new(),
        }
    }

    /// Moves to `state`, returning the `ShowState` action if it changed.
    fn enter(&mut self, state: ConnectionState) -> Vec<ConnectionAction> {
        if self.state == state {
            return Vec::new();
        }
        self.state = state;
        vec![ConnectionAction::ShowState { state }]
    }

    fn wake_after(&mut self, now_ms: u64, delay_ms: u64) -> ConnectionAction {
        let at_ms = now_ms.saturating_add(delay_ms);
        self.wake_at_ms = Some(at_ms);
        ConnectionAction::WakeAt { at_ms }
    }

    /// Waits for reconnect attempt `attempt` (1-based), or gives up for batch mode past the maximum.
    fn schedule_attempt(&mut self, attempt: u32, now_ms: u64, random: u64) -> Vec<ConnectionAction> {
        if attempt > self.config.max_reconnect_attempts {
            let mut actions = self.enter(ConnectionState::OfflineBatchMode);
            actions.push(ConnectionAction::SwitchToBatchMode);
            actions.push(ConnectionAction::SyncQueue);
            actions.push(self.wake_after(now_ms, self.config.background_sync_interval_ms));
            return actions;
        }
        let delay = self.config.schedule.delay_ms(attempt.saturating_sub(1), random);
        let mut actions = self.enter(ConnectionState::Reconnecting { attempt });
        actions.push(self.wake_after(now_ms, delay));
        actions
    }
}

#[cfg(test)]
mod tests;
