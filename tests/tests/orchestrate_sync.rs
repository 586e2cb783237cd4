//! `orchestrate` with a login and no sync daemon: the run carries the sync service itself (the daemon's
//! loop on a thread), so its events reach the team's hub while agents work, and what is left goes when it
//! ends. The real CLI and hub.

mod common;
mod hub_support;
mod orchestrate_support;
mod sync_support;

use common::*;
use orchestrate_support::*;
use std::time::{Duration, Instant};
use sync_support::*;

#[test]
fn a_run_without_a_daemon_syncs_in_process_and_the_hub_has_its_events_when_it_ends() {
    let env = SyncEnv::new(&[], false);
    env.login(false).ok();
    assert!(daemon_pid(&env.repo.home).is_none_or(|pid| !pid_alive(pid)), "no daemon before the run");
    keep_planned(&env.repo, &["WP06", "WP07"]);
    write_two_agents(&env.repo, "work", "work", "");
    let run = env.repo.run_within(RUN_LIMIT, &[], &["orchestrate", "--feature", FEATURE]).ok();
    assert!(run.stdout.contains("completed"), "{run:#?}");
    assert!(daemon_pid(&env.repo.home).is_none(), "the in-process service released the state folder");
    assert!(
        std::fs::read_to_string(env.repo.home.join("daemon.log"))
            .is_ok_and(|log| log.contains("connection: Connected")),
        "the run's own service connected to the hub"
    );

    // Nothing sends after the run: the hub has the events now (the bound only covers the hub's own reads).
    let until = Instant::now() + Duration::from_secs(5);
    let on_hub = loop {
        let events = env.hub_events();
        if events.iter().any(|e| e["event_type"] == "FeatureCompleted") {
            break events;
        }
        assert!(Instant::now() < until, "the run's events did not reach the hub: {events:#?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let types = |t: &str| on_hub.iter().filter(|e| e["event_type"] == t).count();
    assert_eq!(types("WPAssigned"), 4, "two WPs, implementation and review each");
    assert_eq!(types("DependencyResolved"), 1, "WP07 after WP06");
    assert_eq!(types("WPStatusChanged"), 6);
    assert!(on_hub.iter().all(|e| e["team_slug"] == TEAM));
}
