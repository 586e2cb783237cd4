//! The connection machine, driven with plain data and simulated time.

use super::*;
use proptest::prelude::*;

use ConnectionAction as A;
use ConnectionInput as I;
use ConnectionState as S;

const T0: u64 = 1_700_000_000_000;

fn connected_machine() -> ConnectionMachine {
    let mut m = ConnectionMachine::default();
    m.handle(I::GoOnline { now_ms: T0 });
    m.handle(I::Connected { now_ms: T0 });
    m
}

/// The single wake-up deadline among `actions`.
fn wake_at(actions: &[ConnectionAction]) -> Option<u64> {
    actions.iter().find_map(|a| match a {
        A::WakeAt { at_ms } => Some(*at_ms),
        _ => None,
    })
}

#[test]
fn labels_are_the_contracts_words() {
    let labels: Vec<String> = [S::Connected, S::Reconnecting { attempt: 4 }, S::Offline, S::OfflineBatchMode]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(labels, ["Connected", "Reconnecting", "Offline", "Offline - Batch Mode"]);
}

#[test]
fn going_online_opens_at_once_and_connecting_syncs() {
    let mut m = ConnectionMachine::default();
    assert_eq!(m.state(), S::Offline);
    assert_eq!(
        m.handle(I::GoOnline { now_ms: T0 }),
        vec![A::ShowState { state: S::Reconnecting { attempt: 1 } }, A::OpenConnection { attempt: 1 },]
    );
    assert_eq!(
        m.handle(I::Connected { now_ms: T0 + 10 }),
        vec![
            A::ShowState { state: S::Connected },
            A::SyncQueue,
            A::WakeAt { at_ms: T0 + 10 + BACKGROUND_SYNC_INTERVAL_MS },
        ]
    );
}

#[test]
fn background_sync_runs_every_interval_while_connected() {
    let mut m = connected_machine();
    let due = T0 + BACKGROUND_SYNC_INTERVAL_MS;
    // An early timer only re-arms.
    assert_eq!(m.handle(I::WakeUp { now_ms: due - 1 }), vec![A::WakeAt { at_ms: due }]);
    assert_eq!(
        m.handle(I::WakeUp { now_ms: due }),
        vec![A::SyncQueue, A::WakeAt { at_ms: due + BACKGROUND_SYNC_INTERVAL_MS }]
    );
}

/// Contract §5: a background sync every 5 minutes by default (written out, not the constant, so that a
/// changed default fails here).
#[test]
fn the_default_background_sync_comes_every_five_minutes() {
    let five_minutes = 5 * 60 * 1000;
    let mut m = connected_machine();
    assert_eq!(m.handle(I::WakeUp { now_ms: T0 + five_minutes - 1 }), vec![A::WakeAt { at_ms: T0 + five_minutes }]);
    assert_eq!(
        m.handle(I::WakeUp { now_ms: T0 + five_minutes }),
        vec![A::SyncQueue, A::WakeAt { at_ms: T0 + 2 * five_minutes }]
    );
}

#[test]
fn a_lost_connection_reconnects_after_the_backoff() {
    let mut m = connected_machine();
    let actions = m.handle(I::ConnectionLost { now_ms: T0, random: 0 });
    assert_eq!(actions, vec![A::ShowState { state: S::Reconnecting { attempt: 1 } }, A::WakeAt { at_ms: T0 + 250 },]);
    // Not yet due: nothing is opened.
    assert_eq!(m.handle(I::WakeUp { now_ms: T0 + 249 }), vec![A::WakeAt { at_ms: T0 + 250 }]);
    assert_eq!(m.handle(I::WakeUp { now_ms: T0 + 250 }), vec![A::OpenConnection { attempt: 1 }]);
    // A second wake-up while the attempt is in flight does nothing.
    assert!(m.handle(I::WakeUp { now_ms: T0 + 260 }).is_empty());
    let actions = m.handle(I::ReconnectFailed { now_ms: T0 + 300, random: u64::MAX });
    assert_eq!(
        actions,
        vec![A::ShowState { state: S::Reconnecting { attempt: 2 } }, A::WakeAt { at_ms: T0 + 300 + 1000 },]
    );
}

#[test]
fn reconnecting_then_connected_resets_the_attempts() {
    let mut m = connected_machine();
    m.handle(I::ConnectionLost { now_ms: T0, random: 0 });
    m.handle(I::WakeUp { now_ms: T0 + 500 });
    m.handle(I::Connected { now_ms: T0 + 600 });
    assert_eq!(m.state(), S::Connected);
    let actions = m.handle(I::ConnectionLost { now_ms: T0 + 700, random: 0 });
    assert_eq!(m.state(), S::Reconnecting { attempt: 1 });
    assert_eq!(wake_at(&actions), Some(T0 + 700 + 250));
}

#[test]
fn stale_inputs_change_nothing() {
    let mut m = connected_machine();
    let before = m.clone();
    assert!(m.handle(I::ReconnectFailed { now_ms: T0, random: 1 }).is_empty());
    assert!(m.handle(I::GoOnline { now_ms: T0 }).is_empty());
    assert!(m.handle(I::Connected { now_ms: T0 }).is_empty());
    assert_eq!(m, before);
    // A failure reported while the machine still waits for its wake-up is not an attempt's failure.
    m.handle(I::ConnectionLost { now_ms: T0, random: 0 });
    assert!(m.handle(I::ReconnectFailed { now_ms: T0, random: 0 }).is_empty());
    assert_eq!(m.state(), S::Reconnecting { attempt: 1 });
}

#[test]
fn going_offline_closes_and_stops_waking() {
    let mut m = connected_machine();
    assert_eq!(m.handle(I::UserGoOffline), vec![A::ShowState { state: S::Offline }, A::CloseConnection]);
    assert_eq!(m.wake_at_ms(), None);
    assert!(m.handle(I::WakeUp { now_ms: u64::MAX }).is_empty());
    assert!(m.handle(I::UserGoOffline).is_empty());
    // An attempt that was under way and succeeds anyway is closed.
    assert_eq!(m.handle(I::Connected { now_ms: T0 }), vec![A::CloseConnection]);
    assert_eq!(m.state(), S::Offline);
}

#[test]
fn batch_mode_syncs_by_batch_every_interval_and_can_go_online_again() {
    let config = ConnectionConfig { max_reconnect_attempts: 0, ..ConnectionConfig::default() };
    let mut m = ConnectionMachine::new(config);
    m.handle(I::GoOnline { now_ms: T0 });
    m.handle(I::Connected { now_ms: T0 });
    let actions = m.handle(I::ConnectionLost { now_ms: T0, random: 0 });
    assert_eq!(
        actions,
        vec![
            A::ShowState { state: S::OfflineBatchMode },
            A::SwitchToBatchMode,
            A::SyncQueue,
            A::WakeAt { at_ms: T0 + BACKGROUND_SYNC_INTERVAL_MS },
        ]
    );
    let due = T0 + BACKGROUND_SYNC_INTERVAL_MS;
    assert_eq!(m.handle(I::WakeUp { now_ms: due })[0], A::SyncQueue);
    assert_eq!(m.handle(I::GoOnline { now_ms: due })[1], A::OpenConnection { attempt: 1 });
}

#[test]
fn machine_round_trips_as_json() {
    let m = connected_machine();
    let json = serde_json::to_string(&m).expect("serialise");
    assert!(json.contains(r#""state":{"kind":"connected"}"#), "{json}");
    let back: ConnectionMachine = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, m);
    let input: ConnectionInput =
        serde_json::from_str(r#"{"kind":"connection_lost","now_ms":5,"random":7}"#).expect("input");
    assert_eq!(input, I::ConnectionLost { now_ms: 5, random: 7 });
}

proptest! {
    #[test]
    fn batch_mode_comes_after_exactly_ten_failed_reconnects(
        randoms in prop::collection::vec(any::<u64>(), 11),
        latency in prop::collection::vec(0u64..5_000, 10),
    ) {
        let mut m = connected_machine();
        let mut now = T0;
        let mut actions = m.handle(I::ConnectionLost { now_ms: now, random: randoms[0] });
        for failure in 1..=MAX_RECONNECT_ATTEMPTS {
            let attempt = failure;
            prop_assert_eq!(m.state(), S::Reconnecting { attempt });
            let Some(at) = wake_at(&actions) else {
                return Err(TestCaseError::fail("no wake-up while reconnecting"));
            };
            // The wait is the backoff for this attempt.
            let ceiling = BackoffSchedule::DEFAULT.ceiling_ms(attempt - 1);
            prop_assert!(at >= now + ceiling / 2 && at <= now + ceiling);
            now = at;
            prop_assert_eq!(m.handle(I::WakeUp { now_ms: now }), vec![A::OpenConnection { attempt }]);
            now += latency[failure as usize - 1];
            actions = m.handle(I::ReconnectFailed { now_ms: now, random: randoms[failure as usize] });
            if failure < MAX_RECONNECT_ATTEMPTS {
                prop_assert!(!actions.contains(&A::SwitchToBatchMode));
            }
        }
        prop_assert_eq!(m.state(), S::OfflineBatchMode);
        prop_assert!(actions.contains(&A::SwitchToBatchMode));
        prop_assert_eq!(m.state().to_string(), "Offline - Batch Mode");
    }
}
