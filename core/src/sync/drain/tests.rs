//! The drain's rules, one test each, against scripted answers.

use std::collections::HashSet;

use super::fakes::{MemStore, SimClock, SimTime, StoreOp, event};
use super::*;
use crate::sync::answer::{EventResult, MAX_RETRIES, PAYLOAD_TOO_LARGE_REASON};

const T0: u64 = 1_700_000_000_000;

/// A transport that answers with a closure and counts what it saw.
struct Scripted<F: FnMut(&[QueuedEvent]) -> BatchAnswer> {
    answer: F,
    refresh: Result<(), String>,
    batches: Vec<Vec<String>>,
    sent_at: Vec<u64>,
    refreshes: usize,
    time: SimTime,
}

fn scripted<F: FnMut(&[QueuedEvent]) -> BatchAnswer>(time: &SimTime, answer: F) -> Scripted<F> {
    Scripted { answer, refresh: Ok(()), batches: Vec::new(), sent_at: Vec::new(), refreshes: 0, time: time.clone() }
}

impl<F: FnMut(&[QueuedEvent]) -> BatchAnswer> BatchTransport for Scripted<F> {
    fn send_batch(&mut self, events: &[QueuedEvent]) -> BatchAnswer {
        assert!(self.batches.len() < 10_000, "the drain spins");
        self.batches.push(events.iter().map(|e| e.event_id.clone()).collect());
        self.sent_at.push(self.time.get());
        (self.answer)(events)
    }

    fn refresh_token(&mut self) -> Result<(), String> {
        self.refreshes += 1;
        self.refresh.clone()
    }
}

fn result(id: &str, status: &str) -> EventResult {
    EventResult { event_id: id.into(), status: status.into(), error: None, error_message: None }
}

fn all_success(events: &[QueuedEvent]) -> BatchAnswer {
    BatchAnswer::Results { results: events.iter().map(|e| result(&e.event_id, "success")).collect() }
}

fn setup(n: usize) -> (SimTime, MemStore, SimClock) {
    let time: SimTime = SimTime::new(T0.into());
    let mut store = MemStore::with_events((0..n).map(|i| event(&format!("e{i:05}"), 200, false)));
    store.time = time.clone();
    let clock = SimClock::new(time.clone(), 7);
    (time, store, clock)
}

fn run(
    store: &mut MemStore,
    transport: &mut impl BatchTransport,
    clock: &mut SimClock,
    config: &DrainConfig,
) -> DrainReport {
    store.start_drain();
    drain(store, transport, clock, config, &mut |_| {})
}

#[test]
fn empty_queue_sends_nothing() {
    let (time, mut store, mut clock) = setup(0);
    let mut hub = scripted(&time, all_success);
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!(report, DrainReport::default());
    assert!(hub.batches.is_empty());
}

#[test]
fn default_config_is_as_documented() {
    let config = DrainConfig::default();
    assert_eq!((config.max_events, config.max_bytes, config.min_interval_ms), (1000, 5 * 1024 * 1024, 0));
    assert_eq!((config.max_failed_sends, config.stop_at_ms), (6, None));
    let parsed: DrainConfig = serde_json::from_str(r#"{"min_interval_ms":5000}"#).expect("partial config");
    assert_eq!(parsed, DrainConfig { min_interval_ms: 5000, ..DrainConfig::default() });
}

#[test]
fn report_counts_each_kind_of_answer() {
    let (time, _, mut clock) = setup(0);
    let mut store = MemStore::with_events([
        event("a", 100, false),
        event("b", 100, false),
        event("c", 100, true),
        QueuedEvent { retry_count: MAX_RETRIES - 1, ..event("d", 100, true) },
        event("e", 100, false),
    ]);
    store.time = time.clone();
    let mut hub = scripted(&time, |_| BatchAnswer::Results {
        results: vec![
            result("a", "success"),
            result("b", "duplicate"),
            EventResult { error: Some("invalid lane".into()), ..result("c", "rejected") },
            EventResult { error_message: Some("bad".into()), ..result("d", "error") },
            // "e" left out of the results.
        ],
    });
    let mut progress = Vec::new();
    store.start_drain();
    let report = drain(&mut store, &mut hub, &mut clock, &DrainConfig::default(), &mut |p| progress.push(p));
    assert_eq!(
        report,
        DrainReport {
            batches: 1,
            sent: 5,
            accepted: 1,
            duplicates: 1,
            rejected: 1,
            dead_lettered: 1,
            remaining: 2,
            stopped: None
        }
    );
    // The rejected and the left-out event went once: neither is sent again in the same run.
    assert_eq!(hub.batches.len(), 1);
    assert_eq!(store.retry_count("c"), Some(1));
    assert_eq!(store.reasons["c"], "invalid lane");
    assert_eq!(store.retry_count("e"), Some(0));
    assert_eq!(store.dead, vec![(QueuedEvent { retry_count: MAX_RETRIES - 1, ..event("d", 100, true) }, "bad".into())]);
    assert_eq!(progress, vec![DrainProgress { done: 5, total_at_start: 5 }]);
}

#[test]
fn batches_follow_the_count_and_byte_caps_and_progress_is_reported_per_batch() {
    let (time, mut store, mut clock) = setup(2500);
    let mut hub = scripted(&time, all_success);
    let mut progress = Vec::new();
    store.start_drain();
    let report = drain(&mut store, &mut hub, &mut clock, &DrainConfig::default(), &mut |p| progress.push(p.done));
    let lens: Vec<usize> = hub.batches.iter().map(Vec::len).collect();
    assert_eq!(lens, vec![1000, 1000, 500]);
    assert_eq!(progress, vec![1000, 2000, 2500]);
    assert_eq!((report.sent, report.accepted, report.remaining, report.stopped), (2500, 2500, 0, None));

    // 200-byte events under a 2 KiB body: 10 a batch (13 + 10 * 200 + 9 = 2022 bytes).
    let (time, mut store, mut clock) = setup(25);
    let mut hub = scripted(&time, all_success);
    let config = DrainConfig { max_bytes: 2048, ..DrainConfig::default() };
    run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!(hub.batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
}

#[test]
fn min_interval_is_respected_through_the_clock() {
    let (time, mut store, mut clock) = setup(2500);
    let mut hub = scripted(&time, all_success);
    let config = DrainConfig { min_interval_ms: 5000, ..DrainConfig::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!(report.batches, 3);
    assert_eq!(hub.sent_at, vec![T0, T0 + 5000, T0 + 10_000]);
    assert_eq!(clock.sleeps, vec![T0 + 5000, T0 + 10_000]);
}

#[test]
fn a_rejected_event_does_not_hold_the_others_back() {
    let (time, _, mut clock) = setup(0);
    let mut store = MemStore::with_events((0..20).map(|i| event(&format!("e{i:02}"), 100, i == 0)));
    store.time = time.clone();
    let mut hub = scripted(&time, |events| BatchAnswer::Results {
        results: events
            .iter()
            .map(|e| result(&e.event_id, if e.data.contains("reject") { "rejected" } else { "success" }))
            .collect(),
    });
    let config = DrainConfig { max_events: 5, ..DrainConfig::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!((report.accepted, report.rejected, report.remaining, report.batches), (19, 1, 1, 4));
    assert_eq!(hub.batches.iter().flatten().filter(|id| *id == "e00").count(), 1);
    // Each later run tries it once more, and the fifth failure dead-letters it.
    for run_number in 2..=MAX_RETRIES {
        let report = run(&mut store, &mut hub, &mut clock, &config);
        let last = run_number == MAX_RETRIES;
        assert_eq!((report.rejected, report.dead_lettered), if last { (0, 1) } else { (1, 0) });
    }
    assert_eq!(store.dead_ids(), vec!["e00"]);
    assert!(store.queue.is_empty());
}

#[test]
fn unauthorized_refreshes_once_and_goes_on() {
    let (time, mut store, mut clock) = setup(3);
    let mut calls = 0;
    let mut hub = scripted(&time, |events| {
        calls += 1;
        if calls == 1 { BatchAnswer::Unauthorized } else { all_success(events) }
    });
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!((report.batches, report.sent, report.accepted, report.stopped), (2, 3, 3, None));
    assert_eq!(hub.refreshes, 1);
}

#[test]
fn unauthorized_right_after_a_refresh_stops_with_login_required() {
    let (time, mut store, mut clock) = setup(3);
    let mut hub = scripted(&time, |_| BatchAnswer::Unauthorized);
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert!(matches!(report.stopped, Some(DrainStop::LoginRequired { .. })), "{report:?}");
    assert_eq!((hub.batches.len(), hub.refreshes, report.remaining, report.sent), (2, 1, 3, 3));
    assert!(store.queue.iter().all(|e| e.retry_count == 0));
}

#[test]
fn a_failed_refresh_stops_with_its_reason() {
    let (time, mut store, mut clock) = setup(3);
    let mut hub = scripted(&time, |_| BatchAnswer::Unauthorized);
    hub.refresh = Err("the refresh token expired".into());
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!(report.stopped, Some(DrainStop::LoginRequired { reason: "the refresh token expired".into() }));
    assert_eq!((hub.batches.len(), report.remaining), (1, 3));
}

#[test]
fn another_team_stops_and_keeps_the_events() {
    let (time, mut store, mut clock) = setup(3);
    let mut hub = scripted(&time, |_| BatchAnswer::Forbidden);
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!(report.stopped, Some(DrainStop::OtherTeam));
    assert_eq!((hub.batches.len(), report.remaining, report.rejected), (1, 3, 0));
    assert!(store.queue.iter().all(|e| e.retry_count == 0) && store.dead.is_empty());
}

#[test]
fn server_errors_back_off_then_give_up_after_max_failed_sends() {
    let (time, mut store, mut clock) = setup(3);
    let mut hub = scripted(&time, |_| BatchAnswer::ServerError { status: 503 });
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    let Some(DrainStop::GaveUp { reason }) = &report.stopped else { panic!("{report:?}") };
    assert!(reason.contains("6 failed sends in a row") && reason.contains("503"), "{reason}");
    assert_eq!((hub.batches.len(), report.remaining), (6, 3));
    // Five waits, growing as the backoff says (0.5 s, 1 s, 2 s, 4 s, 8 s nominal, equal jitter).
    let waits: Vec<u64> = hub.sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    for (attempt, wait) in waits.iter().enumerate() {
        let ceiling = 500u64 << attempt;
        assert!((ceiling / 2..=ceiling).contains(wait), "attempt {attempt}: waited {wait}");
    }
    assert!(store.queue.iter().all(|e| e.retry_count == 0));
}

#[test]
fn a_network_error_is_retried_and_then_succeeds() {
    let (time, mut store, mut clock) = setup(4);
    let mut calls = 0;
    let mut hub = scripted(&time, |events| {
        calls += 1;
        if calls <= 2 { BatchAnswer::NetworkError { message: "connection reset".into() } } else { all_success(events) }
    });
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!((report.batches, report.sent, report.accepted, report.stopped), (3, 4, 4, None));
}

#[test]
fn retry_after_is_honoured_and_stop_at_gives_up_a_longer_wait() {
    let (time, mut store, mut clock) = setup(2);
    let mut calls = 0;
    let mut hub = scripted(&time, |events| {
        calls += 1;
        if calls == 1 { BatchAnswer::TooManyRequests { retry_after_ms: Some(7000) } } else { all_success(events) }
    });
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!(hub.sent_at, vec![T0, T0 + 7000]);
    assert_eq!((report.accepted, report.stopped), (2, None));

    let (time, mut store, mut clock) = setup(2);
    let mut hub = scripted(&time, |_| BatchAnswer::TooManyRequests { retry_after_ms: Some(60_000) });
    let config = DrainConfig { stop_at_ms: Some(T0 + 10_000), ..DrainConfig::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert!(matches!(report.stopped, Some(DrainStop::GaveUp { .. })), "{report:?}");
    assert_eq!((hub.batches.len(), report.remaining), (1, 2));
    assert!(clock.sleeps.is_empty());
}

#[test]
fn stop_at_ends_a_drain_that_is_still_sending() {
    let (time, mut store, mut clock) = setup(30);
    let mut hub = scripted(&time, all_success);
    let config =
        DrainConfig { max_events: 10, min_interval_ms: 5000, stop_at_ms: Some(T0 + 6000), ..Default::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!((report.batches, report.accepted, report.remaining), (2, 20, 10));
    assert!(matches!(report.stopped, Some(DrainStop::GaveUp { .. })));
}

#[test]
fn payload_too_large_splits_until_the_hub_takes_it_then_batches_are_full_again() {
    let (time, mut store, mut clock) = setup(0);
    let mut events: Vec<QueuedEvent> = (0..20).map(|i| event(&format!("e{i:02}"), 100, false)).collect();
    events[12] = event("big", 5000, false);
    store.queue = events;
    // The hub takes at most 3 events and 2000 bytes a body.
    let mut hub = scripted(&time, |events| {
        let bytes: usize = events.iter().map(|e| e.data.len()).sum();
        if events.len() > 3 || bytes > 2000 { BatchAnswer::PayloadTooLarge } else { all_success(events) }
    });
    let config = DrainConfig { max_events: 8, ..DrainConfig::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!((report.accepted, report.dead_lettered, report.remaining, report.stopped), (19, 1, 0, None));
    assert_eq!(store.dead, vec![(event("big", 5000, false), PAYLOAD_TOO_LARGE_REASON.to_string())]);
    let lens: Vec<usize> = hub.batches.iter().map(Vec::len).collect();
    // 8 -> 4 -> the 8 in 2s; then a full batch again, split again; "big" ends alone and dead-lettered.
    assert_eq!(lens[..7], [8, 4, 2, 2, 2, 2, 8], "{lens:?}");
    assert!(hub.batches.iter().any(|b| b == &["big".to_string()]));
    let on_hub: HashSet<&String> = hub.batches.iter().flatten().collect();
    assert_eq!(on_hub.len(), 20);
}

#[test]
fn a_bad_request_fails_the_named_events_and_resends_the_others() {
    let (time, mut store, mut clock) = setup(4);
    let mut hub = scripted(&time, |events| {
        if events.iter().any(|e| e.event_id == "e00002") {
            BatchAnswer::BadRequest {
                error: Some("invalid".into()),
                details: vec![crate::sync::answer::EventError { event_id: "e00002".into(), error: "no".into() }],
            }
        } else {
            all_success(events)
        }
    });
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!((report.batches, report.accepted, report.rejected, report.remaining), (2, 3, 1, 1));
    assert_eq!(hub.batches[1], vec!["e00000", "e00001", "e00003"]);
}

#[test]
fn a_store_failure_stops_and_the_events_stay() {
    let (time, mut store, mut clock) = setup(3);
    store.fail = Some((StoreOp::Remove, 1));
    let mut hub = scripted(&time, all_success);
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert!(matches!(report.stopped, Some(DrainStop::Store { .. })), "{report:?}");
    assert_eq!((report.accepted, report.remaining), (0, 3));
    // The next drain sends them again (the hub answers duplicate in real life) and empties the queue.
    let report = run(&mut store, &mut hub, &mut clock, &DrainConfig::default());
    assert_eq!((report.accepted, report.remaining, report.stopped), (3, 0, None));
}

#[test]
fn events_queued_during_the_drain_go_too() {
    let (time, mut store, mut clock) = setup(5);
    store.arrivals.push_back((T0 + 4000, event("late", 100, false)));
    let mut hub = scripted(&time, all_success);
    let config = DrainConfig { max_events: 2, min_interval_ms: 2000, ..DrainConfig::default() };
    let report = run(&mut store, &mut hub, &mut clock, &config);
    assert_eq!((report.sent, report.accepted, report.remaining), (6, 6, 0));
    assert_eq!(hub.batches.last().map(Vec::as_slice), Some(&["late".to_string()][..]));
}

#[test]
fn report_and_stop_serialise_tagged_by_kind() {
    let stop = DrainStop::LoginRequired { reason: "x".into() };
    assert_eq!(serde_json::to_string(&stop).ok().as_deref(), Some(r#"{"kind":"login_required","reason":"x"}"#));
    assert_eq!(serde_json::to_string(&DrainStop::OtherTeam).ok().as_deref(), Some(r#"{"kind":"other_team"}"#));
}
