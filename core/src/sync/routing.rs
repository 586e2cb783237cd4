//! Where a freshly built event goes: straight over the live connection, into the offline queue, held in the
//! queue until the user logs in, or refused because the queue is full.
//!
//! The queue is the source of truth in every case but a refusal: an event sent live stays queued until the
//! server acknowledges it (by a WebSocket `ack` or a batch `success`/`duplicate`), so a lost connection or a
//! missing ack costs nothing; the batch sync sends it again and the server deduplicates by `event_id`.

use serde::{Deserialize, Serialize};

use super::connection::ConnectionState;
use super::queue_policy::{HELD_TEAM, has_room};

pub use super::queue_policy::QUEUE_CAP;

/// The team new events carry: the logged-in user's, or [`HELD_TEAM`] when nobody is logged in (or the
/// login has no team), which holds them in the queue ([`HoldReason::NoTeam`]) until a login adopts them.
pub fn team_for_new_events(logged_in_team: Option<&str>) -> &str {
    logged_in_team.unwrap_or(HELD_TEAM)
}

/// What the host knows when an event is ready to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteContext {
    /// Logged in, with a team (the events carry its `team_slug`).
    pub has_team: bool,
    /// The project has its identity (`.kittify/config.yaml`: uuid, slug, node id).
    pub has_project_identity: bool,
    /// The live connection's state.
    pub connection: ConnectionState,
    /// Events in the offline queue now.
    pub queue_len: usize,
    /// The queue's cap, normally [`QUEUE_CAP`].
    pub queue_cap: usize,
}

impl RouteContext {
    /// A context with the contract's queue cap.
    pub fn new(has_team: bool, has_project_identity: bool, connection: ConnectionState, queue_len: usize) -> Self {
        RouteContext { has_team, has_project_identity, connection, queue_len, queue_cap: QUEUE_CAP }
    }
}

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// Connected: append it to the queue **and** send it over the WebSocket now. It leaves the queue only when
    /// the server acknowledges it; an event whose ack never comes goes by batch later.
    Live,
    /// Not connected: append it to the queue; the batch sync sends it when connectivity returns.
    Queue,
    /// Append it to the queue but send nothing until the reason is gone (login with a team, project identity).
    Hold { reason: HoldReason },
    /// Do not store it: tell the user why. The command itself still succeeds.
    Refuse { reason: RefuseReason },
}

/// Why an event waits in the queue without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Not logged in, or logged in without a team.
    NoTeam,
    /// The project has no identity yet.
    NoProjectIdentity,
}

/// Why an event is not stored at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefuseReason {
    /// The queue holds `cap` events already.
    QueueFull { cap: usize },
}

impl RefuseReason {
    /// The warning line for `refused` events refused for this reason (the command still succeeds).
    pub fn warning(&self, refused: usize) -> String {
        match self {
            RefuseReason::QueueFull { cap } => {
                format!("queue full ({cap} events waiting to be synced): {refused} event(s) refused and not recorded")
            }
        }
    }
}

/// Decides where an event goes.
///
/// A full queue refuses first: every other route stores the event in the queue (even `Live`), so none of them
/// can take it. Then a missing team, then a missing project identity hold it; otherwise it goes live when
/// connected and to the queue in any other connection state.
pub fn route(ctx: &RouteContext) -> Route {
    if !has_room(ctx.queue_len, ctx.queue_cap) {
        return Route::Refuse { reason: RefuseReason::QueueFull { cap: ctx.queue_cap } };
    }
    if !ctx.has_team {
        return Route::Hold { reason: HoldReason::NoTeam };
    }
    if !ctx.has_project_identity {
        return Route::Hold { reason: HoldReason::NoProjectIdentity };
    }
    match ctx.connection {
        ConnectionState::Connected => Route::Live,
        ConnectionState::Reconnecting { .. } | ConnectionState::Offline | ConnectionState::OfflineBatchMode => {
            Route::Queue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(connection: ConnectionState) -> RouteContext {
        RouteContext::new(true, true, connection, 0)
    }

    #[test]
    fn connected_goes_live() {
        assert_eq!(route(&ready(ConnectionState::Connected)), Route::Live);
    }

    #[test]
    fn not_connected_queues() {
        for state in
            [ConnectionState::Reconnecting { attempt: 3 }, ConnectionState::Offline, ConnectionState::OfflineBatchMode]
        {
            assert_eq!(route(&ready(state)), Route::Queue, "{state}");
        }
    }

    #[test]
    fn no_team_holds_even_when_connected() {
        let ctx = RouteContext { has_team: false, ..ready(ConnectionState::Connected) };
        assert_eq!(route(&ctx), Route::Hold { reason: HoldReason::NoTeam });
    }

    #[test]
    fn no_project_identity_holds() {
        let ctx = RouteContext { has_project_identity: false, ..ready(ConnectionState::Offline) };
        assert_eq!(route(&ctx), Route::Hold { reason: HoldReason::NoProjectIdentity });
    }

    #[test]
    fn full_queue_refuses_before_anything_else() {
        let ctx = RouteContext::new(false, false, ConnectionState::Connected, QUEUE_CAP);
        assert_eq!(route(&ctx), Route::Refuse { reason: RefuseReason::QueueFull { cap: QUEUE_CAP } });
        let below = RouteContext::new(true, true, ConnectionState::Connected, QUEUE_CAP - 1);
        assert_eq!(route(&below), Route::Live);
    }

    #[test]
    fn events_carry_the_login_team_or_wait_under_the_held_team() {
        assert_eq!(team_for_new_events(Some("acme")), "acme");
        assert_eq!(team_for_new_events(None), "local");
        assert!(crate::sync::queue_policy::is_held(&serde_json::json!({ "team_slug": team_for_new_events(None) })));
    }

    #[test]
    fn a_full_queue_warning_names_the_cap_and_the_count() {
        assert_eq!(
            RefuseReason::QueueFull { cap: QUEUE_CAP }.warning(3),
            "queue full (10000 events waiting to be synced): 3 event(s) refused and not recorded"
        );
    }

    #[test]
    fn serialises_as_tagged_snake_case_json() {
        let json = serde_json::to_string(&Route::Hold { reason: HoldReason::NoTeam }).expect("serialise");
        assert_eq!(json, r#"{"kind":"hold","reason":"no_team"}"#);
        let refuse: Route =
            serde_json::from_str(r#"{"kind":"refuse","reason":{"kind":"queue_full","cap":3}}"#).expect("deserialise");
        assert_eq!(refuse, Route::Refuse { reason: RefuseReason::QueueFull { cap: 3 } });
    }
}
