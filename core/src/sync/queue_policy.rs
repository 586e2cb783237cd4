//! The offline queue's rules, apart from the SQL that carries them out: how many events it holds, how
//! many of a new emission it takes and what a refusal tells the user, and which queued events wait for
//! a login.
//!
//! A host keeps only the storage: it counts the rows inside its write transaction, asks [`admit`] how
//! many of its events go in, and stores that many. Its queries for held events are parameterised by
//! [`TEAM_JSON_PATH`] and [`HELD_TEAM`], so "held" is decided here, once, for every host.

use super::routing::RefuseReason;
use crate::ingest::LOCAL_TEAM;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most events the offline queue holds (contract §3). At the cap a new event is refused with a warning;
/// the command that produced it still succeeds.
pub const QUEUE_CAP: usize = 10_000;

/// Whether a queue holding `queue_len` events takes one more. Every route but a refusal stores the event,
/// so this is the one rule behind both [`admit`] and [`super::routing::route`].
pub fn has_room(queue_len: usize, cap: usize) -> bool {
    queue_len < cap
}

/// What the queue does with the events of one emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// The first `accepted` events (oldest first) are stored.
    pub accepted: usize,
    /// The rest are not stored anywhere.
    pub refused: usize,
    /// The cap the queue was held to.
    pub cap: usize,
}

impl Admission {
    /// The one warning line a refusal deserves, `None` when every event went in.
    pub fn warning(&self) -> Option<String> {
        (self.refused > 0).then(|| RefuseReason::QueueFull { cap: self.cap }.warning(self.refused))
    }
}

/// How many of `incoming` events a queue of `queue_len` takes: oldest first, one at a time while
/// [`has_room`] says so. So an emission is never stored with a gap: an event is refused only when every
/// event after it is refused too, and the Lamport values in the queue stay in the order they were handed
/// out.
pub fn admit(queue_len: usize, incoming: usize, cap: usize) -> Admission {
    let room = (queue_len..queue_len.saturating_add(incoming)).take_while(|&len| has_room(len, cap)).count();
    Admission { accepted: room, refused: incoming - room, cap }
}

/// The team events carry while they wait for a login. The hub's admission gives such an event the
/// caller's team ([`crate::ingest::admit_event`]), and a login adopts them in the queue first.
pub const HELD_TEAM: &str = LOCAL_TEAM;

/// Where an envelope names its team, as a JSON path: what a host's queries pass to SQLite's
/// `json_extract` and `json_set` as a parameter, instead of writing the field into the SQL.
pub const TEAM_JSON_PATH: &str = "$.team_slug";

/// Whether a queued envelope waits for a login: its team is [`HELD_TEAM`]. A host's SQL says the same
/// with `json_extract(data, TEAM_JSON_PATH) = HELD_TEAM`.
pub fn is_held(envelope: &Value) -> bool {
    team_of(envelope) == Some(HELD_TEAM)
}

/// The team an envelope names at [`TEAM_JSON_PATH`].
fn team_of(envelope: &Value) -> Option<&str> {
    let field = TEAM_JSON_PATH.strip_prefix("$.")?;
    envelope.get(field)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::connection::ConnectionState;
    use crate::sync::routing::{Route, RouteContext, route};
    use crate::{EventFactory, Identity, LamportClock, Moment, NodeId, Payload, WpId};
    use proptest::prelude::*;

    #[test]
    fn the_last_place_below_the_cap_is_taken_and_the_cap_refuses() {
        assert_eq!(admit(QUEUE_CAP - 1, 1, QUEUE_CAP), Admission { accepted: 1, refused: 0, cap: QUEUE_CAP });
        assert_eq!(admit(QUEUE_CAP, 1, QUEUE_CAP), Admission { accepted: 0, refused: 1, cap: QUEUE_CAP });
        assert_eq!(admit(QUEUE_CAP - 1, 3, QUEUE_CAP), Admission { accepted: 1, refused: 2, cap: QUEUE_CAP });
        assert_eq!(admit(QUEUE_CAP + 5, 2, QUEUE_CAP), Admission { accepted: 0, refused: 2, cap: QUEUE_CAP });
        assert_eq!(admit(0, 0, QUEUE_CAP), Admission { accepted: 0, refused: 0, cap: QUEUE_CAP });
    }

    /// Contract §3: a queue holds 10,000 events (written out, not the constant, so that a changed default fails
    /// here): the default route stores the 10,000th and refuses the 10,001st.
    #[test]
    fn the_default_route_refuses_the_ten_thousand_and_first_event() {
        let with_queued = |queue_len| route(&RouteContext::new(true, true, ConnectionState::Offline, queue_len));
        assert_eq!(with_queued(9_999), Route::Queue);
        assert_eq!(with_queued(10_000), Route::Refuse { reason: RefuseReason::QueueFull { cap: 10_000 } });
    }

    #[test]
    fn a_refusal_says_how_many_and_the_cap() {
        assert_eq!(
            admit(3, 2, 4).warning().as_deref(),
            Some("queue full (4 events waiting to be synced): 1 event(s) refused and not recorded")
        );
        assert_eq!(admit(2, 2, 4).warning(), None);
    }

    proptest! {
        /// `admit` takes exactly the events `route` would store, one after the other.
        #[test]
        fn admit_agrees_with_route(queue_len in 0usize..40, incoming in 0usize..40, cap in 0usize..40) {
            let admission = admit(queue_len, incoming, cap);
            prop_assert_eq!(admission.accepted + admission.refused, incoming);
            for i in 0..incoming {
                let ctx = RouteContext {
                    queue_cap: cap,
                    ..RouteContext::new(true, true, ConnectionState::Offline, queue_len + i.min(admission.accepted))
                };
                let stored = !matches!(route(&ctx), Route::Refuse { .. });
                prop_assert_eq!(stored, i < admission.accepted, "event {} of {}", i, incoming);
            }
        }
    }

    fn envelope(team: &str) -> Value {
        let mut factory = EventFactory::new(Identity {
            node_id: NodeId::from_host_and_user("host", "user"),
            team_slug: team.into(),
            project: None,
        });
        let payload =
            Payload::HistoryAdded(crate::events::HistoryAdded::note("WP01".parse::<WpId>().unwrap(), "a note"));
        let at = Moment { unix_ms: 1_770_202_123_456, entropy: 7 };
        factory.build(&mut LamportClock::new(0), at, None, payload).expect("a valid event").to_value()
    }

    #[test]
    fn an_event_built_for_the_held_team_is_held_and_one_of_a_team_is_not() {
        assert!(is_held(&envelope(HELD_TEAM)));
        assert!(!is_held(&envelope("acme")));
        assert!(!is_held(&serde_json::json!({"event_id": "x"})));
    }

    #[test]
    fn the_team_path_names_the_envelopes_team_field() {
        let event = envelope("acme");
        let pointer = TEAM_JSON_PATH.replacen("$.", "/", 1);
        assert_eq!(event.pointer(&pointer), Some(&Value::from("acme")));
    }
}
