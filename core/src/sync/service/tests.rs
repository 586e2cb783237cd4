use super::*;
use crate::sync::connection::MAX_RECONNECT_ATTEMPTS;

const T0: u64 = 1_700_000_000_000;

fn queued(id: &str, retry_count: u32) -> QueuedEvent {
    QueuedEvent { event_id: id.to_string(), data: format!(r#"{{"event_id":"{id}"}}"#), retry_count }
}

fn ack(id: &str) -> ServiceInput {
    ServiceInput::Frame { text: format!(r#"{{"type":"ack","event_id":"{id}","status":"accepted"}}"#) }
}

fn sends(actions: &[ServiceAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            ServiceAction::Send { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn read_limit(actions: &[ServiceAction]) -> Option<usize> {
    actions.iter().find_map(|a| match a {
        ServiceAction::ReadQueue { limit } => Some(*limit),
        _ => None,
    })
}

/// A service that is connected and has asked for its first queue read.
fn connected(config: ServiceConfig) -> SyncService {
    let mut service = SyncService::new(config);
    let started = service.handle(T0, 0, ServiceInput::Start);
    assert!(started.contains(&ServiceAction::Open { attempt: 1 }), "{started:?}");
    let opened = service.handle(T0, 0, ServiceInput::Opened);
    assert!(opened.contains(&ServiceAction::ShowState { state: ConnectionState::Connected }), "{opened:?}");
    assert_eq!(read_limit(&opened), Some(service.config.window));
    service
}

#[test]
fn connected_sends_each_queued_event_once_as_an_event_frame_and_removes_it_on_its_ack() {
    let mut service = connected(ServiceConfig::default());
    let actions = service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("b", 0)] });
    assert_eq!(
        sends(&actions),
        vec![r#"{"type":"event","event_id":"a"}"#.to_string(), r#"{"type":"event","event_id":"b"}"#.to_string()]
    );
    // Read again while both wait for their acks: nothing goes twice.
    service.handle(T0 + 1, 0, ServiceInput::QueueChanged);
    let again = service.handle(T0 + 1, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("b", 0)] });
    assert!(sends(&again).is_empty(), "{again:?}");
    let acked = service.handle(T0 + 2, 0, ack("a"));
    assert_eq!(acked[0], ServiceAction::Remove { event_ids: vec!["a".into()] });
    assert!(acked.contains(&ServiceAction::RecordSync { count: 1 }));
    assert_eq!(service.in_flight(), 1);
}

#[test]
fn the_window_caps_events_in_flight_and_is_refilled_at_half() {
    let config = ServiceConfig { window: 8, ..ServiceConfig::default() };
    let mut service = connected(config);
    let events: Vec<_> = (0..20).map(|i| queued(&format!("e{i:02}"), 0)).collect();
    let actions = service.handle(T0, 0, ServiceInput::Queued { events });
    assert_eq!(sends(&actions).len(), 8);
    for i in 0..3 {
        let acked = service.handle(T0 + 1, 0, ack(&format!("e{i:02}")));
        assert_eq!(read_limit(&acked), None, "read again after {} acks", i + 1);
    }
    let fourth = service.handle(T0 + 1, 0, ack("e03"));
    assert_eq!(read_limit(&fourth), Some(8 + 4), "half the window is free: refill");
}

/// A hub that takes the WebSocket but does not answer (stopped, stuck, a dead NAT mapping, a middlebox):
/// once an ack is overdue the connection is dropped and reconnected, and the queue goes by batch meanwhile
/// (contract §5: an event whose ack does not come goes by batch later). The event never leaves the queue
/// without an answer.
#[test]
fn an_ack_that_does_not_come_drops_the_connection_and_the_queue_goes_by_batch() {
    let mut service = connected(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    assert_eq!(service.wake_at_ms(), Some(T0 + 10_000));
    let early = service.handle(T0 + 9_999, 0, ServiceInput::Timer);
    assert!(early.is_empty(), "{early:?}");
    let due = service.handle(T0 + 10_000, 0, ServiceInput::Timer);
    assert!(!due.iter().any(|a| matches!(a, ServiceAction::Remove { .. })), "an unacked event never leaves the queue");
    assert!(due.contains(&ServiceAction::Close), "the silent connection is dropped: {due:?}");
    assert!(due.iter().any(|a| matches!(a, ServiceAction::Drain { .. })), "the queue goes by batch: {due:?}");
    assert!(matches!(service.state(), ConnectionState::Reconnecting { .. }), "{:?}", service.state());
    assert_eq!(service.in_flight(), 0);
    service.handle(T0 + 10_100, 0, ServiceInput::DrainEnded { report: None });
    // The next connection sends what the batch left.
    let reopen = service.wake_at_ms().expect("a reconnect is scheduled");
    assert!(service.handle(reopen, 0, ServiceInput::Timer).iter().any(|a| matches!(a, ServiceAction::Open { .. })));
    let opened = service.handle(reopen + 1, 0, ServiceInput::Opened);
    assert!(read_limit(&opened).is_some(), "{opened:?}");
    let resent = service.handle(reopen + 2, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    assert_eq!(sends(&resent).len(), 1);
    let acked = service.handle(reopen + 3, 0, ack("a"));
    assert_eq!(acked[0], ServiceAction::Remove { event_ids: vec!["a".into()] });
}

/// The host could not delete an acknowledged row (disk full, read-only queue, a lock held too long): the
/// queue still returns it. It is not sent again at once, or each duplicate ack would bring the next read and
/// the next send as fast as the hub answers; it goes again after the ack timeout, and its ack asks for the
/// removal again.
#[test]
fn an_acknowledged_event_the_queue_still_holds_is_not_sent_again_at_once() {
    let config = ServiceConfig { window: 2, ..ServiceConfig::default() };
    let mut service = connected(config);
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    let acked = service.handle(T0 + 1, 0, ack("a"));
    assert_eq!(acked[0], ServiceAction::Remove { event_ids: vec!["a".into()] });
    assert!(read_limit(&acked).is_some(), "the window has room: read again");
    // The removal failed: the read still returns it, next to a new event.
    let again = service.handle(T0 + 2, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("b", 0)] });
    assert_eq!(sends(&again), vec![r#"{"type":"event","event_id":"b"}"#.to_string()], "only the new event goes");
    service.handle(T0 + 3, 0, ack("b"));
    let still = service.handle(T0 + 4, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    assert!(sends(&still).is_empty(), "{still:?}");
    // After the ack timeout it may go again, and its (duplicate) ack asks for the removal again.
    service.handle(T0 + 10_001, 0, ServiceInput::QueueChanged);
    let later = service.handle(T0 + 10_002, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    assert_eq!(sends(&later).len(), 1, "{later:?}");
    let duplicate = ServiceInput::Frame { text: r#"{"type":"ack","event_id":"a","status":"duplicate"}"#.into() };
    assert_eq!(service.handle(T0 + 10_003, 0, duplicate)[0], ServiceAction::Remove { event_ids: vec!["a".into()] });
}

#[test]
fn a_refused_event_counts_one_failure_rests_and_is_dead_lettered_at_its_fifth() {
    let mut service = connected(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("z", MAX_RETRIES - 1)] });
    let refuse = |id: &str| ServiceInput::Frame {
        text: format!(r#"{{"type":"error","event_id":"{id}","error":"bad lane","retryable":false}}"#),
    };
    let first = service.handle(T0 + 1, 0, refuse("a"));
    assert_eq!(
        first,
        vec![ServiceAction::RecordFailures {
            failures: vec![EventFailure { event_id: "a".into(), reason: "bad lane".into() }]
        }]
    );
    let last = service.handle(T0 + 1, 0, refuse("z"));
    assert!(matches!(&last[0], ServiceAction::DeadLetter { failures } if failures[0].event_id == "z"), "{last:?}");
    // A second error for the same send counts nothing more.
    assert!(service.handle(T0 + 2, 0, refuse("a")).is_empty());
    // Resting: not sent again on the next read, sent again once the rest is over.
    service.handle(T0 + 3, 0, ServiceInput::QueueChanged);
    let rested = service.handle(T0 + 3, 0, ServiceInput::Queued { events: vec![queued("a", 1)] });
    assert!(sends(&rested).is_empty());
    let over = service.handle(T0 + 10_001, 0, ServiceInput::Timer);
    assert!(read_limit(&over).is_some());
    let again = service.handle(T0 + 10_001, 0, ServiceInput::Queued { events: vec![queued("a", 1)] });
    assert_eq!(sends(&again).len(), 1);
}

#[test]
fn a_retryable_error_leaves_the_event_untouched() {
    let mut service = connected(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    let busy = service.handle(
        T0 + 1,
        0,
        ServiceInput::Frame { text: r#"{"type":"error","event_id":"a","error":"busy","retryable":true}"#.into() },
    );
    assert!(busy.is_empty(), "{busy:?}");
    assert_eq!(service.in_flight(), 0);
}

#[test]
fn a_ping_is_answered_with_its_timestamp() {
    let mut service = connected(ServiceConfig::default());
    let actions = service.handle(T0, 0, ServiceInput::Frame { text: r#"{"type":"ping","timestamp":42}"#.into() });
    assert_eq!(actions, vec![ServiceAction::Send { text: r#"{"type":"pong","timestamp":42}"#.into() }]);
}

#[test]
fn a_lost_connection_frees_every_slot_and_reconnects() {
    let mut service = connected(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    let lost = service.handle(T0 + 5, 0, ServiceInput::ConnectionLost { reason: "reset".into() });
    assert!(lost.contains(&ServiceAction::ShowState { state: ConnectionState::Reconnecting { attempt: 1 } }));
    assert_eq!(service.in_flight(), 0);
    // Reads and acks that arrive after the loss change nothing.
    assert!(sends(&service.handle(T0 + 6, 0, ServiceInput::Queued { events: vec![queued("b", 0)] })).is_empty());
}

/// Fails every connect attempt until batch mode.
fn in_batch_mode(service: &mut SyncService) -> u64 {
    let mut now = T0;
    service.handle(now, 0, ServiceInput::Start);
    for _ in 0..MAX_RECONNECT_ATTEMPTS {
        let failed = service.handle(now, 0, ServiceInput::OpenFailed { reason: "refused".into() });
        if failed.iter().any(|a| matches!(a, ServiceAction::Drain { .. })) {
            return now;
        }
        now = service.wake_at_ms().expect("a reconnect is scheduled");
        let woke = service.handle(now, 0, ServiceInput::Timer);
        assert!(woke.iter().any(|a| matches!(a, ServiceAction::Open { .. })), "{woke:?}");
    }
    panic!("no batch mode after {MAX_RECONNECT_ATTEMPTS} failures");
}

#[test]
fn batch_mode_drains_at_most_once_per_interval_and_tries_the_websocket_again_after_each_periodic_sync() {
    let mut service = SyncService::new(ServiceConfig::default());
    let now = in_batch_mode(&mut service);
    assert_eq!(service.state(), ConnectionState::OfflineBatchMode);
    service.handle(now + 100, 0, ServiceInput::DrainEnded { report: None });
    let nudged = service.handle(now + 200, 0, ServiceInput::QueueChanged);
    assert!(nudged.is_empty(), "within 5 s of the last drain: {nudged:?}");
    assert_eq!(service.wake_at_ms(), Some(now + 5_000));
    let due = service.handle(now + 5_000, 0, ServiceInput::Timer);
    assert!(due.iter().any(|a| matches!(a, ServiceAction::Drain { config } if config.min_interval_ms == 5_000)));
    service.handle(now + 5_100, 0, ServiceInput::DrainEnded { report: None });
    let periodic = service.wake_at_ms().expect("the periodic sync");
    assert_eq!(periodic, now + 300_000);
    let woke = service.handle(periodic, 0, ServiceInput::Timer);
    assert!(woke.iter().any(|a| matches!(a, ServiceAction::Drain { .. })), "{woke:?}");
    assert!(woke.contains(&ServiceAction::Open { attempt: 1 }), "{woke:?}");
}

#[test]
fn stop_flushes_what_is_in_flight_then_finishes_and_gives_up_at_the_deadline() {
    let mut service = connected(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("b", 0)] });
    let stopping = service.handle(T0 + 1, 0, ServiceInput::Stop);
    assert!(!stopping.contains(&ServiceAction::Finish));
    service.handle(T0 + 2, 0, ServiceInput::Queued { events: vec![queued("a", 0), queued("b", 0)] });
    assert!(!service.handle(T0 + 3, 0, ack("a")).contains(&ServiceAction::Finish));
    let last = service.handle(T0 + 4, 0, ack("b"));
    assert!(!last.contains(&ServiceAction::Finish), "reads the queue once more first: {last:?}");
    let empty = service.handle(T0 + 5, 0, ServiceInput::Queued { events: vec![] });
    assert_eq!(empty, vec![ServiceAction::Close, ServiceAction::Finish]);
    assert!(service.is_finished());

    let mut stuck = connected(ServiceConfig::default());
    stuck.handle(T0, 0, ServiceInput::Queued { events: vec![queued("a", 0)] });
    stuck.handle(T0 + 1, 0, ServiceInput::Stop);
    assert_eq!(stuck.wake_at_ms(), Some(T0 + 2_001));
    assert_eq!(stuck.handle(T0 + 2_001, 0, ServiceInput::Timer), vec![ServiceAction::Close, ServiceAction::Finish]);
}

#[test]
fn stop_during_a_drain_finishes_when_the_drain_ends() {
    let mut service = SyncService::new(ServiceConfig::default());
    let now = in_batch_mode(&mut service);
    assert!(!service.handle(now + 1, 0, ServiceInput::Stop).contains(&ServiceAction::Finish));
    assert!(!service.handle(now + 9_000, 0, ServiceInput::Timer).contains(&ServiceAction::Finish));
    let ended = service.handle(now + 9_001, 0, ServiceInput::DrainEnded { report: None });
    assert_eq!(ended.last(), Some(&ServiceAction::Finish));
}

#[test]
fn stop_while_not_connected_sends_what_a_batch_can_within_the_flush_time_then_finishes() {
    let mut service = SyncService::new(ServiceConfig::default());
    service.handle(T0, 0, ServiceInput::Start);
    service.handle(T0, 0, ServiceInput::OpenFailed { reason: "refused".into() });
    let stopping = service.handle(T0 + 10, 0, ServiceInput::Stop);
    assert_eq!(
        stopping,
        vec![ServiceAction::Drain { config: DrainConfig { stop_at_ms: Some(T0 + 2_010), ..DrainConfig::default() } }]
    );
    let ended = service.handle(T0 + 500, 0, ServiceInput::DrainEnded { report: None });
    assert_eq!(ended, vec![ServiceAction::Finish]);
}

#[test]
fn inputs_and_actions_are_plain_json_for_other_hosts() {
    let input: ServiceInput = serde_json::from_str(r#"{"kind":"frame","text":"{}"}"#).unwrap();
    assert_eq!(input, ServiceInput::Frame { text: "{}".into() });
    let action = serde_json::to_string(&ServiceAction::ReadQueue { limit: 3 }).unwrap();
    assert_eq!(action, r#"{"kind":"read_queue","limit":3}"#);
}
