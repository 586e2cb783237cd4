//! `POST /api/v1/events/batch/`: per-event results in order, plain and gzip bodies, every documented
//! refusal (size, count, malformed JSON, broken gzip, rate limit), teams (`local`, another team) and
//! the cursor of `GET /api/v1/events/`.

mod hub_support;

use hub_support::{Hub, event_id, gzip, results_of};
use serde_json::{Value, json};
use std::time::Duration;

const BATCH: &str = "/api/v1/events/batch/";

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(event_id).collect()
}

fn stored_ids(hub: &Hub, access: &str) -> Vec<String> {
    hub.all_events(access).iter().map(|(_, e)| event_id(e)).collect()
}

#[test]
fn batch_answers_success_duplicate_and_rejected_per_event_in_order_plain_and_gzip() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let first = hub_support::wp_created("alpha", "WP01", "First");
    let second = hub_support::wp_status("alpha", "WP01", "planned", "doing");
    let mut empty_title = hub_support::wp_created("alpha", "WP02", "x");
    empty_title["payload"]["title"] = json!("");
    let mut bad_wp = hub_support::history("alpha", "WP03", "note");
    bad_wp["payload"]["wp_id"] = json!("WP3");
    bad_wp["aggregate_id"] = json!("WP3");
    let mut wrong_type = hub_support::history("alpha", "WP03", "note");
    wrong_type["lamport_clock"] = json!("seven");

    // Plain: a valid event, a rejected one, a valid one, and the first again in the same batch.
    let answer = hub.batch(&access, &[first.clone(), empty_title.clone(), second.clone(), first.clone()]);
    answer.expect_status(200);
    let body = answer.json();
    let statuses = results_of(&body, &[first.clone(), empty_title.clone(), second.clone(), first.clone()]);
    let kinds: Vec<&str> = statuses.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(kinds, ["success", "rejected", "success", "duplicate"], "{body}");
    for (index, result) in body["results"].as_array().expect("results").iter().enumerate() {
        let keys: Vec<&str> = result.as_object().expect("a result object").keys().map(String::as_str).collect();
        if index == 1 {
            let error = result["error"].as_str().unwrap_or_else(|| panic!("no error text: {result}"));
            assert!(error.starts_with("/payload/title"), "the error does not name the field first: {error}");
        } else {
            assert_eq!(keys, ["event_id", "status"], "{result}");
        }
    }

    // Gzip: the second again, a new valid one, and two more rejected ones.
    let third = hub_support::history("alpha", "WP01", "a note");
    let sent = [second.clone(), bad_wp, third.clone(), wrong_type];
    let answer = hub.batch_gzip(&access, &sent);
    answer.expect_status(200);
    let body = answer.json();
    let kinds: Vec<String> = results_of(&body, &sent).into_iter().map(|(_, s)| s).collect();
    assert_eq!(kinds, ["duplicate", "rejected", "success", "rejected"], "{body}");
    let wp_error = body["results"][1]["error"].as_str().expect("an error text");
    assert!(wp_error.starts_with("/payload/wp_id"), "the error does not name the field first: {wp_error}");
    let clock_error = body["results"][3]["error"].as_str().expect("an error text");
    assert!(
        clock_error.trim_start_matches('/').starts_with("lamport_clock"),
        "the error does not name the field first: {clock_error}"
    );

    // Stored: the three accepted events, once each, in arrival order, as sent.
    let stored = hub.all_events(&access);
    let events: Vec<Value> = stored.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(events, vec![first, second, third]);
}

#[test]
fn batch_holds_at_most_1000_events() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let events = hub_support::many_events("alpha", 1001);
    let answer = hub.batch_gzip(&access, &events);
    answer.expect_error_line(400);
    assert_eq!(answer.json(), json!({"error": "a batch holds at most 1000 events (got 1001)"}));
    let answer = hub.batch(&access, &events);
    answer.expect_error_line(400);
    assert!(stored_ids(&hub, &access).is_empty(), "a refused batch stored events");

    let statuses = hub.batch_statuses(&access, &events[..1000]);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");
    assert_eq!(stored_ids(&hub, &access), ids(&events[..1000]));
}

#[test]
fn batch_body_over_the_cap_is_413_before_and_after_decompression() {
    let hub = Hub::builder().user("alpha", "a1").args(&["--max-body-bytes", "100000"]).start();
    let access = hub.login("a1").access;

    // Plain, over the cap.
    let big = hub_support::history("alpha", "WP01", &"x".repeat(150_000));
    let body = hub_support::batch_body(std::slice::from_ref(&big));
    assert!(body.len() > 100_000);
    let answer = hub.post_bytes(BATCH, Some(&access), &body, false);
    answer.expect_error_line(413);

    // Gzip, small on the wire, over the cap once expanded (a gzip bomb: 20 MB of one byte).
    let mut bomb = b"{\"events\": [], \"padding\": \"".to_vec();
    bomb.resize(bomb.len() + 20_000_000, b'0');
    bomb.extend_from_slice(b"\"}");
    let compressed = gzip(&bomb);
    assert!(compressed.len() < 100_000, "the bomb is {} bytes compressed", compressed.len());
    let answer = hub.post_bytes(BATCH, Some(&access), &compressed, true);
    answer.expect_error_line(413);

    // The same event gzipped is under the cap on the wire but not expanded.
    let answer = hub.post_bytes(BATCH, Some(&access), &gzip(&body), true);
    answer.expect_error_line(413);

    // Under the cap both ways: accepted; nothing of the refused bodies was stored.
    let small = hub_support::history("alpha", "WP01", "small");
    let statuses = hub.batch_statuses(&access, std::slice::from_ref(&small));
    assert_eq!(statuses[0].1, "success");
    assert_eq!(stored_ids(&hub, &access), vec![event_id(&small)]);
    hub.get("/health/", None).expect_status(200);
}

#[test]
fn batch_body_of_50_mb_is_413_with_the_default_cap() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let mut body = b"{\"events\": [], \"padding\": \"".to_vec();
    body.resize(body.len() + 50 * 1024 * 1024, b'a');
    body.extend_from_slice(b"\"}");
    let answer = hub.post_bytes(BATCH, Some(&access), &body, false);
    answer.expect_error_line(413);
    hub.get("/health/", None).expect_status(200);
    let answer = hub.batch(&access, &[]);
    answer.expect_status(200);
}

#[test]
fn batch_malformed_json_and_wrong_shapes_are_400_with_a_one_line_error() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let bodies: [&[u8]; 9] = [
        b"{\"events\": [",
        b"not json",
        b"",
        b"[]",
        b"{}",
        b"{\"evts\": []}",
        b"{\"events\": 5}",
        b"{\"events\": {\"event_id\": \"x\"}}",
        b"\xff\xfe{\"events\": []}",
    ];
    for body in bodies {
        let answer = hub.post_bytes(BATCH, Some(&access), body, false);
        assert_eq!(answer.status, 400, "for {:?}: {}", String::from_utf8_lossy(body), answer.text());
        answer.expect_error_line(400);
        // The same inside a valid gzip stream.
        let answer = hub.post_bytes(BATCH, Some(&access), &gzip(body), true);
        assert_eq!(answer.status, 400, "for gzip of {:?}: {}", String::from_utf8_lossy(body), answer.text());
        answer.expect_error_line(400);
    }
    hub.get("/health/", None).expect_status(200);
}

#[test]
fn batch_broken_gzip_is_400() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let good = gzip(&hub_support::batch_body(&hub_support::many_events("alpha", 50)));
    let truncated = good[..good.len() / 2].to_vec();
    let mut corrupted = good.clone();
    let middle = corrupted.len() / 2;
    for byte in &mut corrupted[middle..middle + 16] {
        *byte ^= 0x5A;
    }
    let not_gzip = hub_support::batch_body(&[]);
    for (what, body) in [
        ("truncated", truncated),
        ("corrupted", corrupted),
        ("plain JSON labelled gzip", not_gzip),
        ("random bytes", b"\x1f\x8b\x08\x00garbage garbage garbage".to_vec()),
    ] {
        let answer = hub.post_bytes(BATCH, Some(&access), &body, true);
        assert_eq!(answer.status, 400, "{what}: {}", answer.text());
        answer.expect_error_line(400);
    }
    assert!(stored_ids(&hub, &access).is_empty(), "a broken body stored events");
    hub.get("/health/", None).expect_status(200);
}

#[test]
fn batch_with_an_empty_events_list_is_200_with_empty_results() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let answer = hub.batch(&access, &[]);
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"results": []}));
    let answer = hub.batch_gzip(&access, &[]);
    answer.expect_status(200);
    assert_eq!(answer.json(), json!({"results": []}));
}

#[test]
fn batch_events_of_team_local_are_stored_under_the_callers_team() {
    let hub = Hub::builder().user("alpha", "a1").user("beta", "b1").start();
    let alpha = hub.login("a1").access;
    let beta = hub.login("b1").access;
    let queued =
        [hub_support::wp_created("local", "WP01", "Queued before login"), hub_support::history("local", "WP01", "n")];
    let statuses = hub.batch_statuses(&alpha, &queued);
    assert!(statuses.iter().all(|(_, s)| s == "success"), "{statuses:?}");
    assert_eq!(stored_ids(&hub, &alpha), ids(&queued));
    assert!(stored_ids(&hub, &beta).is_empty(), "alpha's local events reached beta");
    // Sent again by the same team: duplicates of what is stored under alpha.
    let statuses = hub.batch_statuses(&alpha, &queued);
    assert!(statuses.iter().all(|(_, s)| s == "duplicate"), "{statuses:?}");
}

#[test]
fn batch_event_naming_another_team_is_rejected_naming_team_slug() {
    let hub = Hub::builder().user("alpha", "a1").user("beta", "b1").start();
    let alpha = hub.login("a1").access;
    let beta = hub.login("b1").access;
    let own = hub_support::history("alpha", "WP01", "ours");
    let theirs = hub_support::history("beta", "WP01", "pretending to be beta");
    let unknown = hub_support::history("gamma", "WP01", "a team that does not exist");
    let sent = [theirs, own.clone(), unknown];
    let answer = hub.batch(&alpha, &sent);
    answer.expect_status(200);
    let body = answer.json();
    let kinds: Vec<String> = results_of(&body, &sent).into_iter().map(|(_, s)| s).collect();
    assert_eq!(kinds, ["rejected", "success", "rejected"], "{body}");
    for index in [0, 2] {
        let error = body["results"][index]["error"].as_str().expect("an error text");
        assert!(error.starts_with("team_slug"), "the error does not name team_slug first: {error}");
    }
    assert_eq!(stored_ids(&hub, &alpha), vec![event_id(&own)]);
    assert!(stored_ids(&hub, &beta).is_empty(), "an event naming beta, sent by alpha, reached beta");
}

#[test]
fn batch_flooding_is_429_with_retry_after_per_user() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").args(&["--rate-limit", "2"]).start();
    let flooder = hub.login("a1").access;
    let other = hub.login("a2").access;
    let mut limited = None;
    let mut accepted = 0;
    for _ in 0..200 {
        let answer = hub.batch(&flooder, &[]);
        match answer.status {
            200 => accepted += 1,
            429 => {
                limited = Some(answer);
                break;
            }
            other => panic!("a flood answer of {other}: {}", answer.text()),
        }
    }
    let limited = limited.expect("200 batch requests in a row at --rate-limit 2 were never answered 429");
    assert!(accepted >= 1, "the first request of a fresh user was refused");
    limited.expect_error_line(429);
    let retry_after = limited.header("retry-after").expect("a 429 without Retry-After");
    let seconds: u64 =
        retry_after.parse().unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {retry_after}"));
    assert!(seconds >= 1, "Retry-After: {seconds}");
    assert!(seconds <= 60, "Retry-After: {seconds}");

    // Per user: the other user of the team is not limited.
    hub.batch(&other, &[]).expect_status(200);
    // After waiting as told, the flooder is let in again.
    std::thread::sleep(Duration::from_secs(seconds));
    hub.batch(&flooder, &[]).expect_status(200);
}

#[test]
fn events_list_pages_with_after_limit_has_more_and_next_after() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let events = hub_support::many_events("alpha", 250);
    assert!(hub.batch_statuses(&access, &events).iter().all(|(_, s)| s == "success"));

    let answer = hub.get("/api/v1/events/", Some(&access));
    answer.expect_status(200);
    let page = answer.json();
    let items = page["events"].as_array().expect("events");
    assert_eq!(items.len(), 100, "the default limit is 100");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["next_after"], items[99]["seq"]);
    let first_ids: Vec<String> = items.iter().map(|i| event_id(&i["event"])).collect();
    assert_eq!(first_ids, ids(&events[..100]));

    let after = page["next_after"].as_u64().expect("next_after");
    let answer = hub.get(&format!("/api/v1/events/?after={after}&limit=120"), Some(&access));
    answer.expect_status(200);
    let page = answer.json();
    let items = page["events"].as_array().expect("events");
    assert_eq!(items.len(), 120);
    assert_eq!(page["has_more"], true);
    let next: Vec<String> = items.iter().map(|i| event_id(&i["event"])).collect();
    assert_eq!(next, ids(&events[100..220]));

    let after = page["next_after"].as_u64().expect("next_after");
    let answer = hub.get(&format!("/api/v1/events/?after={after}&limit=1000"), Some(&access));
    let page = answer.json();
    let items = page["events"].as_array().expect("events");
    assert_eq!(items.len(), 30);
    assert_eq!(page["has_more"], false);
    assert_eq!(page["next_after"], items[29]["seq"]);

    // A limit above the maximum is held to 1000 events.
    let more = hub_support::many_events("alpha", 900);
    assert!(hub.batch_statuses(&access, &more).iter().all(|(_, s)| s == "success"));
    let answer = hub.get("/api/v1/events/?after=0&limit=5000", Some(&access));
    answer.expect_status(200);
    let page = answer.json();
    assert_eq!(page["events"].as_array().expect("events").len(), 1000);
    assert_eq!(page["has_more"], true);
    assert_eq!(hub.all_events(&access).len(), 1150);
}

#[test]
fn batch_accepts_the_2x_dialect_of_upstream_clients() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let mut event = hub_support::envelope(
        "alpha",
        "WPStatusChanged",
        "WP01",
        "WorkPackage",
        json!({"wp_id": "WP01", "from_lane": "planned", "to_lane": "claimed", "actor": "user",
               "feature_slug": hub_support::FEATURE}),
    );
    event["event_id"] = json!("3f2a9c1e-7b4d-4e5f-9a8b-1c2d3e4f5a6b");
    let statuses = hub.batch_statuses(&access, std::slice::from_ref(&event));
    assert_eq!(statuses[0].1, "success", "{statuses:?}");
    let stored = hub.all_events(&access);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, event);
}
