//! Issue 10, from a hostile trial: a corrupt queue row never takes the valid events down with it;
//! `auth logout` stops the daemon; a server URL with a path or query is refused without echoing it.

mod common;
mod hub_support;
mod sync_support;

use std::collections::BTreeSet;
use sync_support::*;

#[test]
fn a_corrupt_queue_row_goes_to_the_dead_letter_alone() {
    let env = SyncEnv::new(&[], false);
    env.run(&["agent", "feature", "finalize-tasks"]).ok();
    let valid = env.queued_ids();
    assert!(valid.len() >= 8, "finalize queued its events");
    let conn = rusqlite::Connection::open(env.repo.queue_db()).unwrap();
    conn.execute(
        "INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('NOTJSON', 'WPCreated', '{not json', 0)",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('OTHERID', 'WPCreated', '{\"event_id\":\"X\"}', 0)",
        [],
    )
    .unwrap();
    drop(conn);
    env.login(false).ok();
    let (run, report) = env.sync_now();
    run.ok();
    assert_eq!(report["accepted"].as_u64(), Some(valid.len() as u64), "{report}");
    assert_eq!(report["still_queued"].as_u64(), Some(0), "{report}");
    env.assert_hub_holds_exactly(&valid);
    let dead: BTreeSet<String> = env.dead_ids();
    assert_eq!(dead, BTreeSet::from(["NOTJSON".to_string(), "OTHERID".to_string()]), "only the bad rows are dead");
}

#[test]
fn logout_stops_the_daemon_and_events_wait_for_the_next_login() {
    let env = SyncEnv::new(&[], false);
    let guard = DaemonGuard::new(&env.repo.home);
    env.login(true).ok();
    let pid = guard.adopt();
    assert!(pid_alive(pid));
    env.run(&["auth", "logout"]).ok();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pid_alive(pid) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!pid_alive(pid), "the daemon stopped with the logout");
    env.run(&["agent", "tasks", "add-history", "WP01", "--note", "after logout"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(env.repo.queue_len(), 1, "the event waits in the queue");
    assert!(env.hub_events().is_empty(), "nothing reached the hub after the logout");
}

#[test]
fn a_server_url_with_a_path_or_query_is_refused_without_echoing_it() {
    let env = SyncEnv::new(&[], false);
    let url = format!("{}/some/path?secret=s3cr3t", env.server_url());
    let run = env.run_with(&["auth", "login", "--server", &url, "--username", "ana", "--password-stdin"], Some("x"));
    let run = run.failed();
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{run:#?}");
    assert!(errors[0].contains("nothing after it") && !run.stderr.contains("s3cr3t"), "{run:#?}");
}
