//! Issue 10, acceptance: faults between `sync now` and the hub. A proxy of the test's own answers 500,
//! 429 with `Retry-After`, 401, cuts a connection halfway through a batch, or forwards a batch and drops
//! the answer; the hub is killed and restarted; access tokens expire. After each, a last `sync now`
//! without faults leaves every event on the hub exactly once and the queue empty. A refresh token the hub
//! refuses stops with "log in again" and keeps the events queued.

mod common;
mod hub_support;
mod sync_support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;
use sync_support::*;

/// Three batches: 1000, 1000, 100.
const EVENTS: usize = 2_100;

/// A logged-in (no daemon) environment behind the proxy with [`EVENTS`] queued events; their ids.
fn queued_env(hub_args: &[&str]) -> (SyncEnv, BTreeSet<String>) {
    let env = SyncEnv::new(hub_args, true);
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "the first"]).ok();
    fill_queue(&env.repo.queue_db(), EVENTS - 1, |_, _| {});
    env.login(false).ok();
    let ids = env.queued_ids();
    assert_eq!(ids.len(), EVENTS);
    (env, ids)
}

/// The last `sync now`, without faults: nothing left to send, every event on the hub once, the queue
/// empty, the hub's count of accepted events the number of distinct events.
#[track_caller]
fn assert_settled(env: &SyncEnv, ids: &BTreeSet<String>) {
    let (run, report) = env.sync_now();
    run.ok();
    assert_eq!(report["still_queued"], 0, "{report}");
    assert_eq!(env.repo.queue_len(), 0, "the queue is empty");
    env.assert_hub_holds_exactly(ids);
    assert_eq!(env.hub.metric("spec_kitty_hub_events_accepted_total"), ids.len() as f64);
    env.check_secrets();
}

/// Runs one `sync now` with `faults` planned on the batches; it must recover within the run.
fn sync_through(env: &SyncEnv, faults: &[Fault]) -> serde_json::Value {
    env.proxy().plan(faults);
    let (run, report) = env.sync_now();
    let run = run.ok();
    assert_eq!(report["ok"], true, "{run:#?}");
    assert_eq!(report["still_queued"], 0, "{report}");
    assert_eq!(env.proxy().plan_left(), 0, "every planned fault was met");
    report
}

#[test]
fn a_500_is_retried_and_every_event_lands_once() {
    let (env, ids) = queued_env(&[]);
    let report = sync_through(&env, &[Fault::Forward, Fault::Status500]);
    assert_eq!(report["accepted"], EVENTS, "{report}");
    let batches = env.proxy().batch_records();
    assert_eq!(batches.len(), 4, "three batches and one resend: {batches:?}");
    assert_eq!(batches[1].status, Some(500));
    assert_eq!(batches[2].batch_events, batches[1].batch_events, "the same batch again");
    assert_settled(&env, &ids);
}

#[test]
fn a_429_is_waited_out_as_retry_after_says() {
    let (env, ids) = queued_env(&[]);
    let report = sync_through(&env, &[Fault::Forward, Fault::Status429 { retry_after_secs: 1 }]);
    assert_eq!(report["accepted"], EVENTS, "{report}");
    let batches = env.proxy().batch_records();
    assert_eq!(batches[1].status, Some(429));
    // A correctness bound, not speed: the resend did not come before Retry-After said.
    let waited = batches[2].at.duration_since(batches[1].at);
    assert!(waited >= Duration::from_millis(950), "resent {waited:?} after a 429 with Retry-After: 1");
    assert_settled(&env, &ids);
}

#[test]
fn a_connection_cut_mid_batch_is_retried() {
    let (env, ids) = queued_env(&[]);
    let report = sync_through(&env, &[Fault::Forward, Fault::CutMidRequest]);
    assert_eq!(report["accepted"], EVENTS, "{report}");
    let batches = env.proxy().batch_records();
    assert_eq!(batches[1].fault, Fault::CutMidRequest);
    assert_eq!(batches[1].status, None);
    assert_settled(&env, &ids);
}

/// The hub stores the batch but its answer never arrives: the resend is answered `duplicate` and the
/// events are still on the hub once.
#[test]
fn an_answer_lost_after_the_hub_committed_ends_as_duplicates_not_copies() {
    let (env, ids) = queued_env(&[]);
    let report = sync_through(&env, &[Fault::Forward, Fault::CutAfterForward]);
    let batches = env.proxy().batch_records();
    let lost = batches[1].batch_events.unwrap();
    assert_eq!(report["duplicates"], lost, "the lost batch comes back as duplicates: {report}");
    assert_eq!(report["accepted"], EVENTS - lost, "{report}");
    assert_eq!(env.hub.metric("spec_kitty_hub_events_duplicate_total"), lost as f64);
    assert_settled(&env, &ids);
}

/// A 401 (say the hub restarted with a new key): one refresh, then the batch goes again.
#[test]
fn a_401_refreshes_once_and_resends() {
    let (env, ids) = queued_env(&[]);
    let (_, refresh_before) = env.credentials_tokens().unwrap();
    let report = sync_through(&env, &[Fault::Status401]);
    assert_eq!(report["accepted"], EVENTS, "{report}");
    let records = env.proxy().records();
    let refreshes: Vec<_> = records.iter().filter(|r| r.path.starts_with("/api/v1/token/refresh/")).collect();
    assert_eq!(refreshes.len(), 1, "{records:?}");
    assert_eq!(refreshes[0].status, Some(200));
    let (_, refresh_after) = env.credentials_tokens().unwrap();
    assert_ne!(refresh_before, refresh_after, "the rotated refresh token is stored");
    assert_settled(&env, &ids);
}

/// The hub is down when `sync now` starts (SIGKILL), and comes back (same data, a new port behind the
/// proxy) while the drain backs off: the same run delivers everything.
#[test]
fn the_hub_killed_and_restarted_during_a_sync() {
    let (mut env, ids) = queued_env(&[]);
    // First a part of the queue goes through, then the hub dies.
    env.proxy().plan(&[Fault::Forward]);
    env.hub.kill9();
    let mut command = env.repo.command_in(&env.repo.root, &["sync", "now", "--json"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("spawn sync now");
    let failed = wait_until(Duration::from_secs(30), || env.proxy().batch_records().iter().any(|r| r.status.is_none()));
    assert!(failed, "no failed batch while the hub was down: {:?}", env.proxy().records());
    env.hub.restart();
    env.proxy().set_upstream(env.hub.endpoint.addr);
    let output = common::wait_within(child, COMMAND_LIMIT, "sync now");
    let run = common::Run::from_process(&["sync", "now", "--json"], output);
    env.transcript.record(&run);
    let run = run.ok();
    let report = run.json();
    assert_eq!(report["still_queued"], 0, "{report}");
    assert_eq!(report["accepted"], EVENTS, "{report}");
    assert_settled(&env, &ids);
}

/// The hub is down for a whole `sync now`: it gives up with exit 1 and keeps every event; after the
/// restart the next one sends them.
#[test]
fn a_sync_while_the_hub_is_down_keeps_everything_for_the_next_one() {
    let (mut env, ids) = queued_env(&[]);
    env.hub.kill9();
    let (run, report) = env.sync_now();
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(report["still_queued"], EVENTS, "{report}");
    assert!(report["stopped"].is_string(), "{report}");
    assert_eq!(env.queued_ids(), ids);
    env.hub.restart();
    env.proxy().set_upstream(env.hub.endpoint.addr);
    assert_settled(&env, &ids);
}

/// Access tokens that live one second: each `sync now` refreshes (the refresh token rotates) and sends.
#[test]
fn an_expired_access_token_is_refreshed() {
    let (env, ids) = queued_env(&["--access-ttl", "1"]);
    std::thread::sleep(Duration::from_millis(2_100));
    let (_, refresh_before) = env.credentials_tokens().unwrap();
    let report = sync_through(&env, &[]);
    assert_eq!(report["accepted"], EVENTS, "{report}");
    let refreshes = env.proxy().records().iter().filter(|r| r.path.starts_with("/api/v1/token/refresh/")).count();
    assert!(refreshes >= 1, "no refresh: {:?}", env.proxy().records());
    let (_, refresh_after) = env.credentials_tokens().unwrap();
    assert_ne!(refresh_before, refresh_after);
    // Later events, after another expiry.
    std::thread::sleep(Duration::from_millis(2_100));
    env.run(&["agent", "tasks", "add-history", "WP03", "--note", "after expiry"]).ok();
    let mut ids = ids;
    ids.extend(env.queued_ids());
    assert_eq!(ids.len(), EVENTS + 1);
    let report = sync_through(&env, &[]);
    assert_eq!(report["accepted"], 1, "{report}");
    assert_settled(&env, &ids);
}

/// The user is removed and added again under the same name: the old refresh token is refused; sync
/// now stops with "log in again", exit 1, and every event stays queued. A new login sends them.
#[test]
fn a_refused_refresh_token_stops_with_log_in_again_and_keeps_the_events() {
    let (mut env, ids) = queued_env(&["--access-ttl", "1"]);
    env.hub.user_remove(USER);
    env.hub.user_add(TEAM, USER);
    std::thread::sleep(Duration::from_millis(1_100));
    let (run, report) = env.sync_now();
    assert_eq!(run.code, Some(1), "{run:#?}");
    let stopped = report["stopped"].as_str().unwrap_or_else(|| panic!("no stop reason: {report}"));
    assert!(stopped.contains("log in again"), "{report}");
    assert_eq!(report["still_queued"], EVENTS, "{report}");
    assert_eq!(report["accepted"], 0, "{report}");
    assert_eq!(env.queued_ids(), ids, "the events stay queued");
    assert!(env.hub_events().is_empty(), "nothing reached the hub");
    // The human form says it too.
    let human = env.run(&["sync", "now"]);
    assert_eq!(human.code, Some(1), "{human:#?}");
    assert!(format!("{}{}", human.stdout, human.stderr).contains("log in again"), "{human:#?}");
    assert_eq!(env.queued_ids(), ids);
    // Logging in again sends them.
    env.login(false).ok();
    assert_settled(&env, &ids);
}
