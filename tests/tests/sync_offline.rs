//! Issue 10, acceptance: events queued offline reach the hub once after `auth login` and `sync now`,
//! with only their `team_slug` changed; `sync status` persists the last sync; credentials are private
//! and no token or password is ever printed. The real `spec-kitty` against the real `spec-kitty-hub`.

mod common;
mod hub_support;
mod sync_support;

use serde_json::Value;
use std::collections::BTreeSet;
use sync_support::*;

const OFFLINE_EVENTS: usize = 50;

/// 50 events made offline (team `local`), then `auth login --no-daemon` and `sync now`: each event is
/// on the hub exactly once, under the login's team and otherwise as queued; the queue is empty; a
/// second `sync now` sends nothing; the same events sent again by hand answer `duplicate`.
#[test]
fn offline_events_reach_the_hub_once_after_login_and_sync_now() {
    let env = SyncEnv::new(&[], false);
    // Real commands, before any login: notes on every WP and lane moves.
    let mut i = 0;
    while env.repo.queue_len() < OFFLINE_EVENTS {
        let wp = common::WPS[i % common::WPS.len()];
        let run = if i % 10 == 3 {
            env.run(&["agent", "tasks", "move-task", wp, "--to", "doing", "--force"])
        } else {
            env.run(&["agent", "tasks", "add-history", wp, "--note", &format!("offline note {i}")])
        };
        run.ok();
        i += 1;
        assert!(i < 200, "the commands do not fill the queue");
    }
    let queued_before: Vec<common::QueueRow> = common::queue_rows(&env.repo.queue_db());
    let originals: Vec<Value> = env.repo.events(); // schema-checked
    assert!(originals.len() >= OFFLINE_EVENTS);
    for event in &originals {
        assert_eq!(event["team_slug"], "local", "an offline event carries team local: {event}");
    }
    let status = env.sync_status();
    assert_eq!(status["connection"], "Offline");
    assert_eq!(status["held_for_login"], originals.len());

    // Login without the daemon: the held events are adopted by the login's team, only that field.
    let login = env.login(false).ok();
    assert!(!env.repo.home.join("daemon.pid").exists(), "--no-daemon started a daemon");
    assert!(login.stdout.contains(TEAM), "{login:#?}");
    let adopted = common::queue_rows(&env.repo.queue_db());
    assert_eq!(adopted.len(), queued_before.len());
    for (before, after) in queued_before.iter().zip(&adopted) {
        assert_eq!(before.event_id, after.event_id);
        let expected = before.data.replacen("\"team_slug\":\"local\"", &format!("\"team_slug\":\"{TEAM}\""), 1);
        assert_ne!(expected, before.data, "the queued text has no compact team_slug field: {}", before.data);
        assert_eq!(after.data, expected, "login changed more than team_slug in the queued text");
    }
    let status = env.sync_status();
    assert_eq!(status["held_for_login"], 0);
    assert_eq!(status["queue_size"], originals.len());
    assert_eq!(status["authenticated"], true);

    // sync now: everything goes, once.
    let (run, report) = env.sync_now();
    let run = run.ok();
    assert_eq!(report["ok"], true, "{run:#?}");
    assert_eq!(report["accepted"], originals.len(), "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["dead_lettered"], 0, "{report}");
    assert_eq!(report["still_queued"], 0, "{report}");
    assert_eq!(env.repo.queue_len(), 0, "the queue is empty after sync now");

    let on_hub = env.hub_events();
    assert_eq!(on_hub.len(), originals.len(), "each event on the hub once");
    let ids: BTreeSet<String> = originals.iter().map(hub_support::event_id).collect();
    env.assert_hub_holds_exactly(&ids);
    for original in &originals {
        let id = hub_support::event_id(original);
        let stored = on_hub.iter().find(|e| e["event_id"] == id.as_str()).unwrap();
        assert_eq!(stored["team_slug"], TEAM);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<String>>();
        assert_eq!(keys(stored), keys(original), "the stored envelope's keys differ");
        for (key, value) in original.as_object().unwrap() {
            if key != "team_slug" {
                assert_eq!(
                    serde_json::to_string(&stored[key]).unwrap(),
                    serde_json::to_string(value).unwrap(),
                    "{key} changed on the way to the hub"
                );
            }
        }
    }

    // A second sync now has nothing to send.
    let (run, report) = env.sync_now();
    run.ok();
    assert_eq!(report["sent"], 0, "{report}");
    assert_eq!(report["batches"], 0, "{report}");

    // The same events sent again by hand (as queued offline, and as adopted): duplicates.
    let access = env.own_access();
    let statuses = env.hub.batch_statuses(&access, &originals);
    assert!(statuses.iter().all(|(_, s)| s == "duplicate"), "{statuses:?}");
    let adopted_events: Vec<Value> = adopted.iter().map(|r| serde_json::from_str(&r.data).unwrap()).collect();
    let statuses = env.hub.batch_statuses(&access, &adopted_events);
    assert!(statuses.iter().all(|(_, s)| s == "duplicate"), "{statuses:?}");
    assert_eq!(env.hub_events().len(), originals.len());

    env.check_secrets();
}

/// `sync status` says Offline without a daemon, and the last sync (time and count) survives the process
/// that made it; the credentials file is mode 0600.
#[test]
fn sync_status_persists_the_last_sync_and_credentials_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = SyncEnv::new(&[], false);
    for n in 0..3 {
        env.run(&["agent", "tasks", "add-history", "WP01", "--note", &format!("n{n}")]).ok();
    }
    let before = env.sync_status();
    assert!(before["last_sync_at"].is_null(), "{before}");
    assert!(before["last_sync_count"].is_null(), "{before}");
    env.login(false).ok();
    let mode = std::fs::metadata(env.repo.home.join("credentials")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials mode {mode:o}");
    let (run, report) = env.sync_now();
    run.ok();
    assert_eq!(report["accepted"], 3);

    for _ in 0..2 {
        // Separate processes, each reading the state folder.
        let status = env.sync_status();
        assert_eq!(status["connection"], "Offline", "no daemon runs: {status}");
        assert_eq!(status["last_sync_count"], 3, "{status}");
        let at = status["last_sync_at"].as_str().unwrap_or_else(|| panic!("no last_sync_at: {status}"));
        assert!(at.starts_with("20") && at.ends_with('Z'), "last_sync_at {at}");
        assert_eq!(status["queue_size"], 0);
        assert_eq!(status["server"], env.server_url());
    }
    // A sync that sends nothing leaves the last one as it was.
    env.sync_now().0.ok();
    assert_eq!(env.sync_status()["last_sync_count"], 3);

    // auth status never shows a token either.
    let auth = env.run(&["auth", "status", "--json"]).ok().json();
    assert_eq!(auth["authenticated"], true);
    assert_eq!(auth["team_slug"], TEAM);
    env.run(&["auth", "status"]).ok();
    let mode = std::fs::metadata(env.repo.home.join("credentials")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "credentials mode after use {mode:o}");
    env.check_secrets();
}

/// A wrong password: refused with exit 1, nothing written, and the password is not echoed.
#[test]
fn a_wrong_password_is_refused_without_echoing_it() {
    let env = SyncEnv::new(&[], false);
    let url = env.server_url();
    let wrong = "Wr0ng-Passw0rd-Secret";
    let run = env.run_with(
        &["auth", "login", "--server", &url, "--username", USER, "--password-stdin", "--no-daemon"],
        Some(&format!("{wrong}\n")),
    );
    let run = run.failed();
    assert!(!env.repo.home.join("credentials").exists(), "a refused login wrote credentials");
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong), "{run:#?}");
    env.secrets.lock().unwrap().insert(wrong.to_string());
    env.login(false).ok();
    env.check_secrets();
}
