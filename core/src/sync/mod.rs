//! Sync decisions, as pure functions and sans-IO state machines.
//!
//! - [`routing`]: where a new event goes (live, queue, hold, refuse), and which team it carries.
//! - [`queue_policy`]: the offline queue's cap, how many of an emission it takes, what "held" means.
//! - [`shown_state`]: the connection state a command shows, from the login and the daemon's report.
//! - [`batch`]: cutting the queue into batches within the count and byte caps.
//! - [`answer`] and [`batch_response`]: reading the server's answer to a batch and reacting to it.
//! - [`backoff`]: the retry delay, jittered with a random value the host passes in.
//! - [`rate_limit`]: one batch per 5 s; the background sync period.
//! - [`drain`]: the batch-sync loop over the host's queue store, transport and clock traits.
//! - [`service`]: the sync daemon's whole job (live sends, acks, batches, stop) as one machine over
//!   [`connection`].
//! - [`connection`]: the connection-state machine (`Connected`, `Reconnecting`, `Offline`,
//!   `Offline - Batch Mode`), driven by inputs and answering with actions as data.
//!
//! Time is always Unix milliseconds (`u64`) passed in; randomness is a `u64` passed in. Every type is
//! `Serialize + Deserialize` (snake_case, enums tagged by `kind`), so a host can pass them as JSON.

pub mod answer;
pub mod backoff;
pub mod batch;
pub mod batch_response;
pub mod connection;
pub mod drain;
pub mod queue_policy;
pub mod rate_limit;
pub mod routing;
pub mod service;
pub mod shown_state;
pub mod wire;

pub use answer::{
    AnswerContext, AuthStop, BatchAnswer, BatchOutcome, EventError, EventFailure, EventResult, NextStep, SentEvent,
    react_to_answer,
};
pub use backoff::BackoffSchedule;
pub use batch::{BatchPlan, QueuedItem, ZeroBatchCap, plan_batches, plan_batches_checked};
pub use batch_response::parse_retry_after_ms;
pub use connection::{ConnectionAction, ConnectionInput, ConnectionMachine, ConnectionState};
pub use drain::{
    BatchTransport, DrainConfig, DrainProgress, DrainReport, DrainStop, QueueStore, QueuedEvent, SyncClock, drain,
};
pub use queue_policy::{Admission, HELD_TEAM, QUEUE_CAP, TEAM_JSON_PATH, admit, is_held};
pub use rate_limit::{BatchRateLimit, WaitUntil};
pub use routing::{HoldReason, RefuseReason, Route, RouteContext, route, team_for_new_events};
pub use service::{ServiceAction, ServiceConfig, ServiceInput, SyncService};
pub use shown_state::{SyncFacts, queued_notice, shown_connection};
