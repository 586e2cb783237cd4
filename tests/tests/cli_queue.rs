//! The offline queue and the Lamport clock under load, through the real binary: many processes at
//! once, and the 10,000-event cap.

mod common;

use common::*;
use rusqlite::{Connection, params};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

const PROCESSES: usize = 8;
const EVENTS_PER_PROCESS: usize = 200;

/// 8 processes emit 200 events each at once into one state folder: 1,600 rows, 1,600 distinct
/// clock values (in commit order, since the tick and the commit happen under one lock), an intact
/// database. Each process is a loop of real `agent tasks add-history` commands in its own
/// repository, all sharing one `SPEC_KITTY_HOME`.
#[test]
fn eight_processes_emitting_at_once_never_share_a_clock_value() {
    let shared = TestRepo::new();
    let home = shared.home.clone();
    let repos: Vec<Arc<TestRepo>> = (0..PROCESSES)
        .map(|_| {
            let repo = TestRepo::new().with_home(&home);
            // The project identity first, so that the loops only emit.
            repo.run(&["init"]).ok();
            Arc::new(repo)
        })
        .collect();
    let start = Arc::new(Barrier::new(PROCESSES));
    let workers: Vec<_> = repos
        .iter()
        .enumerate()
        .map(|(p, repo)| {
            let repo = Arc::clone(repo);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let wp = WPS[p % WPS.len()];
                start.wait();
                for i in 0..EVENTS_PER_PROCESS {
                    let note = format!("process {p} note {i}");
                    let run = repo.run(&["agent", "tasks", "add-history", wp, "--note", &note]).ok();
                    assert!(run.warnings().is_empty(), "no emission warning: {run:#?}");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker failed");
    }

    let db = home.join("queue.db");
    let conn = Connection::open(&db).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);

    let events = shared.events(); // validates every one against the reference schema
    assert_eq!(events.len(), PROCESSES * EVENTS_PER_PROCESS);
    let values = clocks(&events);
    let distinct: BTreeSet<u64> = values.iter().copied().collect();
    assert_eq!(distinct.len(), PROCESSES * EVENTS_PER_PROCESS, "distinct Lamport values");
    assert_strictly_increasing(&values);
    let ids: BTreeSet<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "distinct event ids");
    // Every note made it, once.
    let notes: BTreeSet<&str> = events.iter().map(|e| e["payload"]["entry_content"].as_str().unwrap()).collect();
    assert_eq!(notes.len(), events.len());
    let clock: Value = serde_json::from_str(&std::fs::read_to_string(home.join("clock.json")).unwrap()).unwrap();
    assert_eq!(clock["value"].as_u64(), values.last().copied());
}

/// Fills the queue to `target` rows with valid copies of its first event (new ids, higher clocks),
/// as that many real emissions would leave it, in one transaction.
fn fill_queue(repo: &TestRepo, target: usize) {
    let first = repo.events().into_iter().next().expect("a first real event");
    let mut conn = Connection::open(repo.queue_db()).unwrap();
    let tx = conn.transaction().unwrap();
    let len: i64 = tx.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get(0)).unwrap();
    let high: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'lamport_clock'", [], |r| r.get(0)).unwrap();
    let timestamp: i64 = tx.query_row("SELECT timestamp FROM queue ORDER BY id LIMIT 1", [], |r| r.get(0)).unwrap();
    let mut clock = high;
    {
        let mut insert =
            tx.prepare("INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?1, ?2, ?3, ?4)").unwrap();
        for n in len as usize..target {
            clock += 1;
            let mut event = first.clone();
            let id = ulid_from(n as u128);
            event["event_id"] = Value::from(id.clone());
            event["lamport_clock"] = Value::from(clock);
            event["payload"]["entry_content"] = Value::from(format!("filler {n}"));
            insert.execute(params![id, event["event_type"].as_str().unwrap(), event.to_string(), timestamp]).unwrap();
        }
    }
    tx.execute("UPDATE meta SET value = ?1 WHERE key = 'lamport_clock'", [clock]).unwrap();
    tx.commit().unwrap();
}

fn last_row_id(repo: &TestRepo) -> i64 {
    let conn = Connection::open(repo.queue_db()).unwrap();
    conn.query_row("SELECT MAX(id) FROM queue", [], |r| r.get(0)).unwrap()
}

#[test]
fn at_ten_thousand_events_new_ones_are_refused_with_a_warning_and_the_command_succeeds() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "the first"]).ok();
    fill_queue(&repo, 9_999);
    assert_eq!(repo.queue_len(), 9_999);

    // Room for one more.
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "the 10,000th"]).ok();
    assert!(run.warnings().is_empty(), "{run:#?}");
    assert_eq!(repo.queue_len(), 10_000);
    let last = last_row_id(&repo);

    // Full: refused, said so on one line, and the note is still written.
    let run = repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "one too many", "--json"]).ok();
    assert_eq!(run.json()["ok"], true, "stdout is still the one JSON report");
    assert_eq!(run.warnings().len(), 1, "{run:#?}");
    let warning = run.warnings()[0];
    assert!(
        warning.contains("queue full") && warning.contains("10000") && warning.contains("1 event(s) refused"),
        "{warning}"
    );
    assert!(repo.wp_text("WP02").trim_end().ends_with("one too many"), "the action happened");
    assert_eq!(repo.queue_len(), 10_000);
    assert_eq!(last_row_id(&repo), last, "nothing replaced");

    // A command with 8 events: all 8 refused, counted.
    let run = repo.run(&["agent", "feature", "finalize-tasks"]).ok();
    assert_eq!(run.warnings().len(), 1, "{run:#?}");
    assert!(run.warnings()[0].contains("8 event(s) refused"), "{run:#?}");

    let status = repo.run(&["sync", "status", "--json"]).ok().json();
    assert_eq!(status["queue_size"], 10_000);
    assert_eq!(status["refused_total"], 9);
    let human = repo.run(&["sync", "status"]).ok();
    assert!(human.stdout.contains("9 event(s) were refused"), "{}", human.stdout);

    // Every one of the 10,000 rows is still there and valid; the clock kept going.
    let events = repo.events();
    assert_eq!(events.len(), 10_000);
    assert_strictly_increasing(&clocks(&events));
    assert_eq!(events.last().unwrap()["payload"]["entry_content"], "the 10,000th");
}

#[test]
fn a_batch_that_does_not_fit_is_queued_up_to_the_cap_and_the_rest_refused() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "the first"]).ok();
    fill_queue(&repo, 9_997);
    let before = repo.events();
    let run = repo.run(&["agent", "feature", "finalize-tasks"]).ok();
    assert_eq!(run.warnings().len(), 1, "{run:#?}");
    assert!(run.warnings()[0].contains("5 event(s) refused"), "{run:#?}");
    let after = repo.events();
    assert_eq!(after.len(), 10_000);
    assert_eq!(after[..before.len()], before[..], "nothing already queued changed");
    // The oldest first: FeatureCreated, WP01, WP02.
    let kept: Vec<&str> = after[before.len()..].iter().map(|e| e["aggregate_id"].as_str().unwrap()).collect();
    assert_eq!(kept, [FEATURE, "WP01", "WP02"]);
    assert_eq!(repo.run(&["sync", "status", "--json"]).ok().json()["refused_total"], 5);
}
