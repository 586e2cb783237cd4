//! Issue 10, acceptance: `sync now` of 5,000 queued events in batches of at most 1000, with a few events
//! the hub rejects: those stay queued with their retry count, never hold the others back, reach the dead
//! letter after 5 tries (`sync queue --dead` says the hub's reason, `sync status` counts them) and
//! `sync retry-dead` puts them back. The real CLI, through a recording proxy, into the real hub.

mod common;
mod hub_support;
mod sync_support;

use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeSet;
use sync_support::*;

const VALID: usize = 5_000;
/// Where, among the filler events, the invalid ones go.
const INVALID_AT: [usize; 4] = [7, 1_500, 2_999, 4_321];

fn retry_counts(env: &SyncEnv) -> Vec<(String, i64, Option<String>)> {
    let conn = Connection::open(env.repo.queue_db()).unwrap();
    let mut stmt = conn.prepare("SELECT event_id, retry_count, last_error FROM queue ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn five_thousand_events_go_in_batches_and_rejected_ones_reach_the_dead_letter_after_five_tries() {
    let env = SyncEnv::new(&[], true);
    // Two real events, then copies of them written straight into the queue (team local, held).
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "real one"]).ok();
    env.run(&["agent", "tasks", "add-history", "WP02", "--note", "real two"]).ok();
    let filler = VALID - 2 + INVALID_AT.len();
    let ids = fill_queue(&env.repo.queue_db(), filler, |n, event| {
        let k = n + 1;
        if INVALID_AT.contains(&k) {
            // The 028 schema allows note, review, error, comment only.
            event["payload"]["entry_type"] = Value::from("shout");
        }
    });
    let invalid: BTreeSet<String> = INVALID_AT.iter().map(|k| ids[k - 1].clone()).collect();
    let valid: BTreeSet<String> =
        env.queued_ids().into_iter().filter(|id| !invalid.contains(id)).collect::<BTreeSet<_>>();
    assert_eq!(valid.len(), VALID);
    assert_eq!(env.repo.queue_len(), VALID + invalid.len());

    env.login(false).ok();
    let (run, report) = env.sync_now();
    assert_eq!(run.code, Some(1), "rejected events make sync now exit 1: {run:#?}");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["accepted"], VALID, "{report}");
    assert_eq!(report["rejected"], invalid.len(), "{report}");
    assert_eq!(report["dead_lettered"], 0, "{report}");
    assert_eq!(report["still_queued"], invalid.len(), "{report}");
    assert_eq!(report["sent"], VALID + invalid.len(), "{report}");
    assert!(report["stopped"].is_null(), "{report}");

    // Batches of at most 1000 events, at least five of them, each event sent once in this run.
    let batches = env.proxy().batch_records();
    assert!(batches.len() >= 5, "{} batch requests", batches.len());
    assert_eq!(report["batches"], batches.len(), "{report}");
    let sizes: Vec<usize> = batches.iter().map(|b| b.batch_events.expect("a readable batch body")).collect();
    assert!(sizes.iter().all(|n| (1..=1000).contains(n)), "batch sizes {sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), VALID + invalid.len(), "batch sizes {sizes:?}");
    assert!(env.hub.metric("spec_kitty_hub_batch_seconds_count") >= 5.0);
    assert_eq!(env.hub.metric("spec_kitty_hub_events_accepted_total"), VALID as f64);
    assert_eq!(env.hub.metric("spec_kitty_hub_events_rejected_total"), invalid.len() as f64);

    // Every valid event on the hub once; the invalid ones wait with retry_count 1 and the hub's reason.
    env.assert_hub_holds_exactly(&valid);
    let rows = retry_counts(&env);
    assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<BTreeSet<_>>(), invalid);
    for (id, retries, error) in &rows {
        assert_eq!(*retries, 1, "{id}");
        let error = error.as_deref().unwrap_or("");
        assert!(error.contains("/payload/entry_type"), "the hub's reason is kept: {error:?}");
    }

    // Tries 2 to 4: rejected again, still queued, one more retry each; only they are sent.
    for attempt in 2..=4 {
        let before = env.proxy().batch_records().len();
        let (run, report) = env.sync_now();
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert_eq!(report["rejected"], invalid.len(), "try {attempt}: {report}");
        assert_eq!(report["sent"], invalid.len(), "try {attempt}: {report}");
        assert_eq!(report["dead_lettered"], 0, "try {attempt}: {report}");
        let batches = env.proxy().batch_records();
        let sent: usize = batches[before..].iter().map(|b| b.batch_events.unwrap()).sum();
        assert_eq!(sent, invalid.len());
        let rows = retry_counts(&env);
        assert_eq!(rows.iter().map(|r| r.0.clone()).collect::<BTreeSet<_>>(), invalid, "try {attempt}: they wait");
        assert!(rows.iter().all(|r| r.1 == attempt), "{rows:?}");
    }
    // Try 5: dead-lettered.
    let (run, report) = env.sync_now();
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(report["dead_lettered"], invalid.len(), "{report}");
    assert_eq!(report["still_queued"], 0, "{report}");
    assert_eq!(env.repo.queue_len(), 0);
    assert_eq!(env.dead_ids(), invalid);

    let dead = env.run(&["sync", "queue", "--dead", "--json"]).ok().json();
    let dead = dead.as_array().unwrap_or_else(|| panic!("not a list: {dead}"));
    assert_eq!(dead.len(), invalid.len());
    for letter in dead {
        let id = letter["event_id"].as_str().unwrap();
        assert!(invalid.contains(id), "{letter}");
        let reason = letter["reason"].as_str().unwrap_or("");
        assert!(reason.starts_with("/payload/entry_type"), "the hub's reason, field first: {reason:?}");
        assert_eq!(letter["retry_count"], 5, "{letter}");
        assert_eq!(letter["event"]["event_id"], id, "{letter}");
    }
    let human = env.run(&["sync", "queue", "--dead"]).ok();
    assert!(invalid.iter().all(|id| human.stdout.contains(id.as_str())), "{human:#?}");
    let status = env.sync_status();
    assert_eq!(status["dead_letters"], invalid.len(), "{status}");
    assert_eq!(status["queue_size"], 0, "{status}");

    // A sync now with only dead letters sends nothing and succeeds.
    let (run, report) = env.sync_now();
    run.ok();
    assert_eq!(report["sent"], 0);

    // retry-dead puts them back with a fresh count; the summary of a human sync now names the refusals.
    let retried = env.run(&["sync", "retry-dead", "--json"]).ok().json();
    assert_eq!(retried["requeued"], invalid.len(), "{retried}");
    assert_eq!(env.queued_ids(), invalid);
    assert!(env.dead_ids().is_empty());
    assert!(retry_counts(&env).iter().all(|r| r.1 == 0));
    let status = env.sync_status();
    assert_eq!(status["dead_letters"], 0, "{status}");
    assert_eq!(status["queue_size"], invalid.len(), "{status}");
    let human = env.run(&["sync", "now"]);
    assert_eq!(human.code, Some(1), "{human:#?}");
    let text = format!("{}{}", human.stdout, human.stderr);
    assert!(text.contains("4 rejected"), "a summary: {human:#?}");
    assert!(text.contains("4 still queued"), "a summary: {human:#?}");

    // Still exactly the valid ones on the hub.
    env.assert_hub_holds_exactly(&valid);
    env.check_secrets();
}
