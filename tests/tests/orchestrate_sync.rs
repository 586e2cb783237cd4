//! `orchestrate` with a login: the sync daemon runs during the run (started by it when it was not
//! running), so the run's events reach the team's hub while agents work. The real CLI, daemon and hub.

mod common;
mod hub_support;
mod orchestrate_support;
mod sync_support;

use common::*;
use orchestrate_support::*;
use std::time::{Duration, Instant};
use sync_support::*;

#[test]
fn the_sync_daemon_runs_during_a_run_and_the_hub_gets_its_events() {
    let env = SyncEnv::new(&[], false);
    env.login(false).ok();
    assert!(daemon_pid(&env.repo.home).is_none_or(|pid| !pid_alive(pid)), "no daemon before the run");
    keep_planned(&env.repo, &["WP06", "WP07"]);
    write_two_agents(&env.repo, "work", "work", "");
    let run = env.repo.run_within(RUN_LIMIT, &[], &["orchestrate", "--feature", FEATURE]).ok();
    assert!(run.stdout.contains("completed"), "{run:#?}");
    let daemon = env.daemons.adopt();
    assert!(pid_alive(daemon), "the run started the sync daemon");

    let until = Instant::now() + Duration::from_secs(60);
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
