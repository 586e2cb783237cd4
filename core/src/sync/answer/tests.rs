//! The reactions of contract §5, one test each, and the bucket property.

use super::*;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000_000;

fn sent(ids: &[&str]) -> Vec<SentEvent> {
    ids.iter().map(|id| SentEvent { event_id: (*id).to_string(), retry_count: 0 }).collect()
}

fn result(id: &str, status: &str, error: Option<&str>) -> EventResult {
    EventResult { event_id: id.into(), status: status.into(), error: error.map(Into::into), error_message: None }
}

fn ctx() -> AnswerContext {
    AnswerContext { now_ms: NOW, ..AnswerContext::default() }
}

fn failure(id: &str, reason: &str) -> EventFailure {
    EventFailure { event_id: id.into(), reason: reason.into() }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn success_and_duplicate_are_removed() {
    let answer = BatchAnswer::Results { results: vec![result("a", "success", None), result("b", "duplicate", None)] };
    let out = react_to_answer(&answer, &sent(&["a", "b"]), &ctx());
    assert_eq!(out.remove, ids(&["a", "b"]));
    assert!(out.retry.is_empty() && out.dead_letter.is_empty() && out.untouched.is_empty());
    assert_eq!(out.next, NextStep::Continue);
}

#[test]
fn rejected_is_retried_then_dead_lettered_on_the_fifth_failure() {
    let answer = BatchAnswer::Results { results: vec![result("a", "rejected", Some("invalid lane"))] };
    for retry_count in 0..MAX_RETRIES - 1 {
        let events = [SentEvent { event_id: "a".into(), retry_count }];
        let out = react_to_answer(&answer, &events, &ctx());
        assert_eq!(out.retry, vec![failure("a", "invalid lane")], "try {retry_count}");
        assert!(out.dead_letter.is_empty());
    }
    let fifth = [SentEvent { event_id: "a".into(), retry_count: MAX_RETRIES - 1 }];
    let out = react_to_answer(&answer, &fifth, &ctx());
    assert!(out.retry.is_empty());
    assert_eq!(out.dead_letter, vec![failure("a", "invalid lane")]);
    assert_eq!(out.next, NextStep::Continue);
}

#[test]
fn older_error_status_is_a_failure_read_from_error_message() {
    let old = EventResult { error_message: Some("schema mismatch".into()), ..result("a", "error", None) };
    let out = react_to_answer(&BatchAnswer::Results { results: vec![old] }, &sent(&["a"]), &ctx());
    assert_eq!(out.retry, vec![failure("a", "schema mismatch")]);
}

#[test]
fn any_other_status_fails_and_names_itself_without_a_reason() {
    let answer = BatchAnswer::Results { results: vec![result("a", "accepted", Some("  ")), result("b", "", None)] };
    let out = react_to_answer(&answer, &sent(&["a", "b"]), &ctx());
    assert_eq!(out.retry, vec![failure("a", "status \"accepted\""), failure("b", "status \"\"")]);
}

#[test]
fn events_missing_from_results_stay_untouched() {
    let answer = BatchAnswer::Results { results: vec![result("b", "success", None), result("zz", "success", None)] };
    let out = react_to_answer(&answer, &sent(&["a", "b", "c"]), &ctx());
    assert_eq!(out.remove, ids(&["b"]));
    assert_eq!(out.untouched, ids(&["a", "c"]));
}

#[test]
fn bad_request_fails_the_named_events_and_leaves_the_rest() {
    let answer = BatchAnswer::BadRequest {
        error: Some("Validation failed".into()),
        details: vec![EventError { event_id: "b".into(), error: "missing wp_id".into() }],
    };
    let out = react_to_answer(&answer, &sent(&["a", "b", "c"]), &ctx());
    assert_eq!(out.retry, vec![failure("b", "missing wp_id")]);
    assert_eq!(out.untouched, ids(&["a", "c"]));
    assert_eq!(out.next, NextStep::Continue);
}

#[test]
fn bad_request_without_details_fails_every_event() {
    let answer = BatchAnswer::BadRequest { error: Some("Malformed body".into()), details: vec![] };
    let out = react_to_answer(&answer, &sent(&["a", "b"]), &ctx());
    assert_eq!(out.retry, vec![failure("a", "Malformed body"), failure("b", "Malformed body")]);
    let bare = BatchAnswer::BadRequest { error: None, details: vec![] };
    assert_eq!(react_to_answer(&bare, &sent(&["a"]), &ctx()).retry, vec![failure("a", "bad request")]);
}

#[test]
fn unauthorized_refreshes_once_then_asks_for_login() {
    let out = react_to_answer(&BatchAnswer::Unauthorized, &sent(&["a"]), &ctx());
    assert_eq!(out.next, NextStep::RefreshTokenThenRetry);
    assert_eq!(out.untouched, ids(&["a"]));
    let again = AnswerContext { token_just_refreshed: true, ..ctx() };
    let out = react_to_answer(&BatchAnswer::Unauthorized, &sent(&["a"]), &again);
    assert_eq!(out.next, NextStep::StopAuth { reason: AuthStop::LoginRequired });
    assert_eq!(out.untouched, ids(&["a"]));
}

#[test]
fn forbidden_stops_and_keeps_the_events() {
    let out = react_to_answer(&BatchAnswer::Forbidden, &sent(&["a", "b"]), &ctx());
    assert_eq!(out.next, NextStep::StopAuth { reason: AuthStop::OtherTeam });
    assert_eq!(out.untouched, ids(&["a", "b"]));
}

#[test]
fn payload_too_large_halves_the_batch() {
    let out = react_to_answer(&BatchAnswer::PayloadTooLarge, &sent(&["a", "b", "c", "d", "e"]), &ctx());
    assert_eq!(out.next, NextStep::SplitAndRetry { max_events: 3 });
    assert_eq!(out.untouched.len(), 5);
}

#[test]
fn payload_too_large_dead_letters_a_single_event() {
    let out = react_to_answer(&BatchAnswer::PayloadTooLarge, &sent(&["a"]), &ctx());
    assert_eq!(out.dead_letter, vec![failure("a", PAYLOAD_TOO_LARGE_REASON)]);
    assert!(out.untouched.is_empty());
    assert_eq!(out.next, NextStep::Continue);
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    let wait =
        |retry_after_ms| react_to_answer(&BatchAnswer::TooManyRequests { retry_after_ms }, &sent(&["a"]), &ctx()).next;
    assert_eq!(wait(Some(7_000)), NextStep::WaitUntil { at_ms: NOW + 7_000 });
    assert_eq!(wait(None), NextStep::WaitUntil { at_ms: NOW + DEFAULT_RETRY_AFTER_MS });
    assert_eq!(wait(Some(u64::MAX)), NextStep::WaitUntil { at_ms: NOW + MAX_RETRY_AFTER_MS });
}

#[test]
fn server_and_network_errors_back_off() {
    let answers = [
        BatchAnswer::ServerError { status: 503 },
        BatchAnswer::NetworkError { message: "connection refused".into() },
        BatchAnswer::UnexpectedResponse { status: 404, message: "not found".into() },
    ];
    let third_failure = AnswerContext { failed_sends: 2, random: 0, ..ctx() };
    for answer in &answers {
        let out = react_to_answer(answer, &sent(&["a"]), &third_failure);
        // Attempt 2: nominal 2 s, equal jitter with random 0 gives 1 s.
        assert_eq!(out.next, NextStep::BackOff { attempt: 2, at_ms: NOW + 1_000 });
        assert_eq!(out.untouched, ids(&["a"]), "{answer:?}");
        assert!(out.retry.is_empty() && out.dead_letter.is_empty());
    }
}

#[test]
fn answers_and_outcomes_are_tagged_json() {
    let answer: BatchAnswer =
        serde_json::from_str(r#"{"kind":"results","results":[{"event_id":"a","status":"success"}]}"#)
            .expect("deserialise");
    let out = react_to_answer(&answer, &sent(&["a"]), &ctx());
    let json = serde_json::to_value(&out).expect("serialise");
    assert_eq!(json["remove"][0], "a");
    assert_eq!(json["next"]["kind"], "continue");
    let back: BatchOutcome = serde_json::from_value(json).expect("round trip");
    assert_eq!(back, out);
}

fn any_answer() -> impl Strategy<Value = BatchAnswer> {
    let id = || "[a-e]";
    let status = prop::sample::select(vec!["success", "duplicate", "rejected", "error", ""]);
    prop_oneof![
        prop::collection::vec((id(), status), 0..8).prop_map(|rs| BatchAnswer::Results {
            results: rs.into_iter().map(|(i, s)| result(&i, s, None)).collect(),
        }),
        prop::collection::vec(id(), 0..4).prop_map(|ds| BatchAnswer::BadRequest {
            error: None,
            details: ds.into_iter().map(|event_id| EventError { event_id, error: "x".into() }).collect(),
        }),
        Just(BatchAnswer::Unauthorized),
        Just(BatchAnswer::Forbidden),
        Just(BatchAnswer::PayloadTooLarge),
        any::<Option<u64>>().prop_map(|retry_after_ms| BatchAnswer::TooManyRequests { retry_after_ms }),
        (500u16..600).prop_map(|status| BatchAnswer::ServerError { status }),
        Just(BatchAnswer::NetworkError { message: "down".into() }),
    ]
}

proptest! {
    #[test]
    fn every_sent_event_lands_in_exactly_one_bucket(
        answer in any_answer(),
        events in prop::collection::btree_map("[a-g]", 0u32..8, 0..7),
        failed_sends in any::<u32>(),
        random in any::<u64>(),
        now_ms in any::<u64>(),
        token_just_refreshed in any::<bool>(),
    ) {
        let events: Vec<SentEvent> = events
            .into_iter()
            .map(|(event_id, retry_count)| SentEvent { event_id, retry_count })
            .collect();
        let ctx = AnswerContext { now_ms, failed_sends, random, token_just_refreshed };
        let out = react_to_answer(&answer, &events, &ctx);
        let mut landed: Vec<String> = out.remove.clone();
        landed.extend(out.untouched.iter().cloned());
        landed.extend(out.retry.iter().map(|f| f.event_id.clone()));
        landed.extend(out.dead_letter.iter().map(|f| f.event_id.clone()));
        landed.sort();
        let mut expected: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        expected.sort();
        prop_assert_eq!(landed, expected);
        for f in &out.retry {
            let e = events.iter().find(|e| e.event_id == f.event_id);
            prop_assert!(e.is_some_and(|e| e.retry_count + 1 < MAX_RETRIES));
        }
    }
}
