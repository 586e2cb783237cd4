//! Durability: kill -9 during a 20,000-event ingest from 4 clients, restart on the same data folder,
//! resend everything. Every event answered `success` before the kill is there after the restart, and
//! after the resend every event is stored exactly once.

mod hub_support;

use hub_support::{Endpoint, Hub, event_id};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const USERS: [&str; 4] = ["a1", "a2", "a3", "a4"];

/// What one client saw: (event_id, status) of every answered event, and the error that ended it early.
type Outcome = (Vec<(String, String)>, Option<String>);

/// Sends `batches` in order; stops at the first request without an answer (the hub is gone). A 429
/// waits its Retry-After and tries again. Returns (event_id, status) of every answered event.
fn send_all(endpoint: &Endpoint, access: &str, batches: &[Vec<Value>], answered: &AtomicUsize) -> Outcome {
    let auth = format!("Bearer {access}");
    let headers =
        [("Authorization", auth.as_str()), ("Content-Type", "application/json"), ("Content-Encoding", "gzip")];
    let mut results = Vec::new();
    for batch in batches {
        let body = hub_support::gzip(&hub_support::batch_body(batch));
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 100, "a batch was refused 100 times");
            let answer = match endpoint.request("POST", "/api/v1/events/batch/", &headers, &body) {
                Ok(answer) => answer,
                Err(e) => return (results, Some(e.to_string())),
            };
            match answer.status {
                200 => {
                    results.extend(hub_support::results_of(&answer.json(), batch));
                    answered.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                429 => {
                    let seconds: u64 = answer.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or(1);
                    std::thread::sleep(Duration::from_secs(seconds.clamp(1, 5)));
                }
                other => panic!("a batch answered {other}: {}", answer.text()),
            }
        }
    }
    (results, None)
}

/// The 4 clients' batches: each client owns 5,000 events in batches of 500.
fn plan(events: &[Value]) -> Vec<Vec<Vec<Value>>> {
    events.chunks(5000).map(|own| own.chunks(500).map(<[Value]>::to_vec).collect()).collect()
}

/// Runs the 4 clients at once; returns each client's answers and how it ended.
fn ingest(
    endpoint: &Endpoint,
    tokens: &[String],
    plan: &[Vec<Vec<Value>>],
    answered: &Arc<AtomicUsize>,
) -> Vec<std::thread::JoinHandle<Outcome>> {
    plan.iter()
        .zip(tokens)
        .map(|(batches, access)| {
            let (endpoint, access, batches, answered) =
                (endpoint.clone(), access.clone(), batches.clone(), Arc::clone(answered));
            std::thread::spawn(move || send_all(&endpoint, &access, &batches, &answered))
        })
        .collect()
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_event_and_a_resend_stores_each_once() {
    let mut hub = Hub::builder()
        .user("alpha", USERS[0])
        .user("alpha", USERS[1])
        .user("alpha", USERS[2])
        .user("alpha", USERS[3])
        .args(&["--rate-limit", "1000"])
        .start();
    let events = hub_support::many_events("alpha", 20_000);
    let plan = plan(&events);
    let tokens: Vec<String> = USERS.iter().map(|u| hub.login(u).access).collect();

    // Ingest; kill -9 once 8 of the 40 batches are answered (or when all is done, should the ingest
    // outrun the kill).
    let answered = Arc::new(AtomicUsize::new(0));
    let clients = ingest(&hub.endpoint, &tokens, &plan, &answered);
    let deadline = Instant::now() + Duration::from_secs(600);
    while answered.load(Ordering::SeqCst) < 8 && !clients.iter().all(|c| c.is_finished()) {
        assert!(Instant::now() < deadline, "fewer than 8 batches answered in 600 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    hub.kill9();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut cut_short = 0;
    for client in clients {
        let (results, ended) = client.join().expect("a client thread panicked");
        if ended.is_some() {
            cut_short += 1;
        }
        for (id, status) in results {
            assert!(status == "success", "event {id} answered {status} on its first send");
            acknowledged.insert(id);
        }
    }
    eprintln!("before the kill: {} events acknowledged, {} of 4 clients cut short", acknowledged.len(), cut_short);
    assert!(!acknowledged.is_empty(), "nothing was acknowledged before the kill");

    // Restart on the same data folder: every acknowledged event is there, none twice.
    hub.restart();
    let access = hub.login(USERS[0]).access;
    let stored: Vec<String> = hub.all_events(&access).iter().map(|(_, e)| event_id(e)).collect();
    let present: HashSet<&String> = stored.iter().collect();
    assert_eq!(present.len(), stored.len(), "an event is stored twice after the restart");
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !present.contains(id)).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost by kill -9, e.g. {:?}", lost.len(), lost.first());
    let known: HashSet<String> = events.iter().map(event_id).collect();
    assert!(stored.iter().all(|id| known.contains(id)), "an unknown event is stored");

    // Resend everything from the 4 clients: each event answers success or duplicate, and every event
    // acknowledged before the kill answers duplicate.
    let tokens: Vec<String> = USERS.iter().map(|u| hub.login(u).access).collect();
    let answered = Arc::new(AtomicUsize::new(0));
    let clients = ingest(&hub.endpoint, &tokens, &plan, &answered);
    let mut answers: HashMap<String, String> = HashMap::new();
    for client in clients {
        let (results, ended) = client.join().expect("a client thread panicked");
        assert_eq!(ended, None, "a client lost the restarted hub");
        for (id, status) in results {
            assert!(status == "success" || status == "duplicate", "event {id} answered {status} on the resend");
            if acknowledged.contains(&id) || present.contains(&id) {
                assert_eq!(status, "duplicate", "event {id}, already stored, answered {status}");
            }
            assert!(answers.insert(id, status).is_none(), "an event answered twice");
        }
    }
    assert_eq!(answers.len(), 20_000);

    let stored: Vec<String> = hub.all_events(&access).iter().map(|(_, e)| event_id(e)).collect();
    assert_eq!(stored.len(), 20_000, "after the resend");
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), 20_000, "an event is stored twice after the resend");
    assert!(known.iter().all(|id| unique.contains(id)), "an event is missing after the resend");
}
