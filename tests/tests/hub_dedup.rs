//! Deduplication by the store: the same 1,000 events sent twice, and sent at once from 4 clients, are
//! each stored exactly once.

mod hub_support;

use hub_support::{Hub, event_id};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};

fn stored_ids(hub: &Hub, access: &str) -> Vec<String> {
    hub.all_events(access).iter().map(|(_, e)| event_id(e)).collect()
}

#[track_caller]
fn assert_each_once(stored: &[String], events: &[Value]) {
    assert_eq!(stored.len(), events.len(), "stored {} events for {} sent", stored.len(), events.len());
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an event is stored twice");
    for event in events {
        assert!(unique.contains(&event_id(event)), "{} is not stored", event_id(event));
    }
}

#[test]
fn the_same_1000_events_sent_twice_are_stored_once_and_answered_duplicate() {
    let hub = Hub::builder().user("alpha", "a1").start();
    let access = hub.login("a1").access;
    let events = hub_support::many_events("alpha", 1000);

    let first = hub.batch_statuses(&access, &events);
    assert!(first.iter().all(|(_, s)| s == "success"), "first send: {:?}", first.iter().find(|(_, s)| s != "success"));
    let second = hub.batch_statuses(&access, &events);
    assert!(
        second.iter().all(|(_, s)| s == "duplicate"),
        "second send: {:?}",
        second.iter().find(|(_, s)| s != "duplicate")
    );
    // A third time, plain and in smaller batches: still duplicates.
    for chunk in events.chunks(300) {
        let answer = hub.batch(&access, chunk);
        answer.expect_status(200);
        let statuses = hub_support::results_of(&answer.json(), chunk);
        assert!(statuses.iter().all(|(_, s)| s == "duplicate"));
    }
    let stored = stored_ids(&hub, &access);
    assert_each_once(&stored, &events);
    let sent: Vec<String> = events.iter().map(event_id).collect();
    assert_eq!(stored, sent, "stored out of arrival order");
}

#[test]
fn the_same_1000_events_sent_concurrently_from_4_clients_are_stored_once() {
    let hub = Hub::builder().user("alpha", "a1").user("alpha", "a2").user("alpha", "a3").user("alpha", "a4").start();
    let events = Arc::new(hub_support::many_events("alpha", 1000));
    let tokens: Vec<String> = ["a1", "a2", "a3", "a4"].iter().map(|u| hub.login(u).access).collect();
    let barrier = Arc::new(Barrier::new(4));
    let endpoint = hub.endpoint.clone();

    let clients: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(client, access)| {
            let events = Arc::clone(&events);
            let barrier = Arc::clone(&barrier);
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                // Each client sends all 1000, in batches of 250, starting at a different batch and,
                // for half of them, in reverse order, so the clients overlap on every event.
                let mut batches: Vec<Vec<Value>> = events.chunks(250).map(<[Value]>::to_vec).collect();
                batches.rotate_left(client % 4);
                if client % 2 == 1 {
                    for batch in &mut batches {
                        batch.reverse();
                    }
                }
                barrier.wait();
                let mut answers = Vec::new();
                for batch in batches {
                    let body = hub_support::gzip(&hub_support::batch_body(&batch));
                    let auth = format!("Bearer {access}");
                    let headers = [
                        ("Authorization", auth.as_str()),
                        ("Content-Type", "application/json"),
                        ("Content-Encoding", "gzip"),
                    ];
                    let answer = endpoint
                        .request("POST", "/api/v1/events/batch/", &headers, &body)
                        .unwrap_or_else(|e| panic!("client {client}: no answer: {e}"));
                    answer.expect_status(200);
                    answers.extend(hub_support::results_of(&answer.json(), &batch));
                }
                answers
            })
        })
        .collect();

    let mut successes: HashMap<String, usize> = HashMap::new();
    let mut total_successes = 0;
    for client in clients {
        let answers = client.join().expect("a client thread panicked");
        assert_eq!(answers.len(), 1000);
        for (id, status) in answers {
            match status.as_str() {
                "success" => {
                    total_successes += 1;
                    *successes.entry(id).or_default() += 1;
                }
                "duplicate" => {}
                other => panic!("event {id} answered {other}"),
            }
        }
    }
    assert_eq!(total_successes, 1000, "exactly one success per event across the 4 clients");
    assert!(successes.values().all(|&n| n == 1), "an event answered success twice");
    assert_eq!(successes.len(), 1000);

    let access = hub.login("a1").access;
    assert_each_once(&stored_ids(&hub, &access), &events);
}
