//! The machine's laws, over random dependency graphs, agent outcomes, orders of exits and crashes:
//! dependency order, at most max_parallel agents, every WP done, no event twice, and a resume from any
//! saved state that repeats no completed WP and none of its events.

use super::PlannedWork;
use super::sim::*;
use crate::orchestrate::agents::Phase;
use crate::orchestrate::state::{RunEvent, RunStatus};
use crate::workflow::Lane;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// An acyclic feature: each WP depends on some of the WPs before it.
fn feature() -> impl Strategy<Value = Vec<PlannedWork>> {
    (1usize..9).prop_flat_map(|count| {
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), 8), count).prop_map(move |edges| {
            (0..count)
                .map(|i| PlannedWork {
                    wp: wp(&format!("WP{:02}", i + 1)),
                    dependencies: (0..i)
                        .filter(|&j| edges[i][j] && (i - j) <= 3)
                        .map(|j| wp(&format!("WP{:02}", j + 1)))
                        .collect(),
                    lane: Lane::Planned,
                })
                .collect()
        })
    })
}

/// Agents that fail the first try of some WPs and reject the first review of others: within
/// max_retries, so every WP gets done.
fn script(flaky: BTreeSet<usize>, rejecting: BTreeSet<usize>) -> Script {
    Box::new(move |wp, phase, attempt, _| {
        let index: usize = wp.as_str()[2..].parse().unwrap_or(0);
        match phase {
            Phase::Implementation if attempt == 0 && flaky.contains(&index) => (Some(2), None),
            Phase::Implementation => (Some(0), Some("{\"is_error\": false}".into())),
            Phase::Review if attempt == 0 && rejecting.contains(&index) => {
                (Some(0), Some("VERDICT: rejected more tests".into()))
            }
            Phase::Review => (Some(0), Some("VERDICT: approved".into())),
        }
    })
}

fn seeded(seed: u64) -> Box<dyn FnMut(usize) -> usize> {
    let mut state = seed | 1;
    Box::new(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as usize
    })
}

fn check_laws(world: &World, work: &[PlannedWork], no_failures: bool) -> Result<(), TestCaseError> {
    prop_assert!(world.violations.is_empty(), "violations: {:?}", world.violations);
    prop_assert_eq!(world.finished, Some(RunStatus::Completed));
    prop_assert!(world.lanes.values().all(|lane| *lane == Lane::Done));
    // No event twice: one assignment per (WP, phase, try), one resolution per edge, one completion.
    let mut assignments = BTreeSet::new();
    let mut resolutions = BTreeSet::new();
    let mut completions = 0;
    for event in world.events() {
        match event {
            RunEvent::Assigned { wp, phase, retry_count, .. } => {
                prop_assert!(assignments.insert((wp.clone(), *phase, *retry_count)), "assigned twice: {event:?}");
            }
            RunEvent::DependencyResolved { wp, dependency, .. } => {
                prop_assert!(resolutions.insert((wp.clone(), dependency.clone())), "resolved twice: {event:?}");
            }
            RunEvent::FeatureCompleted { total_wps, .. } => {
                completions += 1;
                prop_assert_eq!(*total_wps as usize, work.len());
            }
            RunEvent::Error { .. } => {}
        }
    }
    prop_assert_eq!(completions, 1);
    let edges: usize = work.iter().map(|w| w.dependencies.len()).sum();
    prop_assert_eq!(resolutions.len(), edges, "one resolution per dependency edge");
    // No WP worked on after it was done.
    let mut done = BTreeSet::new();
    for seen in &world.seen {
        match seen {
            Seen::Lane { wp, to: Lane::Done, .. } => {
                prop_assert!(done.insert(wp.clone()), "{wp} done twice");
            }
            Seen::Started { wp, .. } | Seen::Lane { wp, .. } => {
                prop_assert!(!done.contains(wp), "{wp} worked on after done")
            }
            Seen::Event(_) => {}
        }
    }
    if no_failures {
        prop_assert_eq!(assignments.len(), work.len() * 2, "one implementation and one review each");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_wp_is_done_in_dependency_order_within_max_parallel(
        work in feature(),
        max_parallel in 1u32..5,
        seed in any::<u64>(),
    ) {
        let mut world = World::new(&work, max_parallel as usize, always_succeeds(), seeded(seed));
        world.run(start(work.clone(), TWO_AGENTS, max_parallel));
        check_laws(&world, &work, true)?;
    }

    #[test]
    fn failures_and_rejections_within_max_retries_still_finish(
        work in feature(),
        max_parallel in 1u32..5,
        flaky in proptest::collection::btree_set(1usize..9, 0..4),
        rejecting in proptest::collection::btree_set(1usize..9, 0..4),
        seed in any::<u64>(),
    ) {
        let mut world = World::new(&work, max_parallel as usize, script(flaky, rejecting), seeded(seed));
        world.run(start(work.clone(), TWO_AGENTS, max_parallel));
        check_laws(&world, &work, false)?;
    }

    #[test]
    fn a_crash_at_any_action_resumes_without_repeating_work_or_events(
        work in feature(),
        max_parallel in 1u32..5,
        crashes in proptest::collection::vec(0u32..40, 1..4),
        flaky in proptest::collection::btree_set(1usize..9, 0..3),
        rejecting in proptest::collection::btree_set(1usize..9, 0..3),
        seed in any::<u64>(),
    ) {
        let mut world = World::new(&work, max_parallel as usize, script(flaky, rejecting), seeded(seed));
        world.crash_in = VecDeque::from(crashes);
        world.run(start(work.clone(), TWO_AGENTS, max_parallel));
        check_laws(&world, &work, false)?;
    }
}

#[test]
fn resuming_from_every_saved_state_of_a_run_completes_it() {
    // Record every state a clean run saved, with the lanes and queue at that moment; resume from each.
    let work = feature_028();
    let mut reference = World::new(&work, 4, always_succeeds(), seeded(7));
    reference.run(start(work.clone(), TWO_AGENTS, 4));
    let total_actions = 400u32;
    let mut resumed_runs = 0;
    for crash_at in 0..total_actions {
        let mut world = World::new(&work, 4, always_succeeds(), seeded(7));
        world.crash_in = VecDeque::from([crash_at]);
        world.run(start(work.clone(), TWO_AGENTS, 4));
        if world.crashes == 0 {
            break; // the run ended before this many actions
        }
        resumed_runs += 1;
        assert!(world.violations.is_empty(), "crash at {crash_at}: {:?}", world.violations);
        assert_eq!(world.finished, Some(RunStatus::Completed), "crash at {crash_at}");
        let mut keys = BTreeMap::new();
        for event in world.events() {
            let key = match event {
                RunEvent::Assigned { wp, phase, retry_count, .. } => format!("assigned {wp} {phase} {retry_count}"),
                RunEvent::DependencyResolved { wp, dependency, .. } => format!("resolved {wp} {dependency}"),
                RunEvent::FeatureCompleted { .. } => "completed".to_string(),
                RunEvent::Error { message, .. } => message.clone(),
            };
            *keys.entry(key).or_insert(0) += 1;
        }
        assert!(keys.values().all(|count| *count == 1), "crash at {crash_at}: {keys:#?}");
    }
    assert!(resumed_runs > 50, "the run has many crash points ({resumed_runs})");
}
