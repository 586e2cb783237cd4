use super::sim::*;
use super::*;
use crate::orchestrate::state::{RunEvent, TryOutcome};

fn first() -> Box<dyn FnMut(usize) -> usize> {
    Box::new(|_| 0)
}

fn assigned(world: &World) -> Vec<(String, Phase, u32, String)> {
    world
        .events()
        .into_iter()
        .filter_map(|event| match event {
            RunEvent::Assigned { wp, agent, phase, retry_count } => {
                Some((wp.to_string(), *phase, *retry_count, agent.clone()))
            }
            _ => None,
        })
        .collect()
}

fn count(world: &World, matches: impl Fn(&RunEvent) -> bool) -> usize {
    world.events().into_iter().filter(|event| matches(event)).count()
}

fn moment(ms: u64) -> Moment {
    Moment { unix_ms: ms, entropy: u128::from(ms) }
}

#[test]
fn the_028_feature_completes_in_dependency_order_with_four_in_parallel() {
    let mut world = World::new(&feature_028(), 4, always_succeeds(), first());
    let machine = world.run(start(feature_028(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Completed));
    assert!(world.violations.is_empty(), "{:#?}", world.violations);
    assert!(world.lanes.values().all(|lane| *lane == Lane::Done));
    assert_eq!(world.most_running, 4, "WP02..WP05 ran at once");
    let assignments = assigned(&world);
    assert_eq!(assignments.iter().filter(|a| a.1 == Phase::Implementation).count(), 7);
    assert_eq!(assignments.iter().filter(|a| a.1 == Phase::Review).count(), 7);
    assert!(assignments.iter().all(|a| a.2 == 0), "no retries: {assignments:?}");
    // Never the implementer as reviewer.
    for (wp, phase, _, agent) in &assignments {
        if *phase == Phase::Review {
            let implementer = assignments.iter().find(|a| &a.0 == wp && a.1 == Phase::Implementation).map(|a| &a.3);
            assert_ne!(Some(agent), implementer, "{wp} reviewed by its implementer");
        }
    }
    assert_eq!(count(&world, |e| matches!(e, RunEvent::DependencyResolved { skipped: false, .. })), 6, "one per edge");
    assert_eq!(count(&world, |e| matches!(e, RunEvent::FeatureCompleted { total_wps: 7, .. })), 1);
    assert!(machine.state().outbox.is_empty());
    assert_eq!(machine.next_wakeup(), None);
}

#[test]
fn a_resolution_comes_after_its_dependency_is_done_and_before_the_dependent_starts() {
    let mut world = World::new(&feature_028(), 4, always_succeeds(), first());
    world.run(start(feature_028(), TWO_AGENTS, 4));
    let position = |target: &Seen| world.seen.iter().position(|seen| seen == target).expect("seen");
    for (dependent, dependency) in [("WP02", "WP01"), ("WP06", "WP05"), ("WP07", "WP06")] {
        let done = position(&Seen::Lane { wp: wp(dependency), from: Lane::ForReview, to: Lane::Done });
        let resolved = position(&Seen::Event(RunEvent::DependencyResolved {
            wp: wp(dependent),
            dependency: wp(dependency),
            skipped: false,
        }));
        let started = world
            .seen
            .iter()
            .position(|seen| matches!(seen, Seen::Lane { wp: w, to: Lane::Doing, .. } if *w == wp(dependent)))
            .expect("the dependent started");
        assert!(
            done < resolved && resolved < started,
            "{dependency} done {done}, resolved {resolved}, {dependent} started {started}"
        );
    }
}

#[test]
fn a_failed_implementation_goes_to_the_fallback_agent_with_retry_count_one() {
    let script: Script = Box::new(|wp, phase, attempt, _| match (wp.as_str(), phase, attempt) {
        ("WP01", Phase::Implementation, 0) => (Some(3), Some("boom".into())),
        (_, Phase::Review, _) => (Some(0), Some("VERDICT: approved".into())),
        _ => (Some(0), None),
    });
    let mut world = World::new(&feature_028(), 4, script, first());
    let machine = world.run(start(feature_028(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Completed));
    let wp01: Vec<_> = assigned(&world).into_iter().filter(|a| a.0 == "WP01").collect();
    assert_eq!(wp01[0], ("WP01".into(), Phase::Implementation, 0, "a".into()));
    assert_eq!(wp01[1], ("WP01".into(), Phase::Implementation, 1, "b".into()), "the fallback agent");
    assert_eq!(wp01[2].1, Phase::Review);
    assert_eq!(wp01[2].3, "a", "reviewed by the other agent than its implementer b");
    let errors: Vec<_> = world
        .events()
        .into_iter()
        .filter_map(|e| match e {
            RunEvent::Error { wp, agent, message } => Some((wp.clone(), agent.clone(), message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].1.as_deref(), Some("a"));
    assert!(errors[0].2.contains("implementation try 1 by a failed: exited with status 3"), "{}", errors[0].2);
    assert_eq!(machine.state().work_packages[&wp("WP01")].implementation.tries, 2);
}

#[test]
fn a_rejection_sends_the_wp_back_to_doing_with_the_feedback_then_it_passes() {
    let script: Script = Box::new(|wp, phase, attempt, _| match (wp.as_str(), phase, attempt) {
        ("WP03", Phase::Review, 0) => (Some(0), Some("VERDICT: rejected add tests for the parser".into())),
        (_, Phase::Review, _) => (Some(0), Some("VERDICT: approved".into())),
        _ => (Some(0), None),
    });
    let mut world = World::new(&feature_028(), 4, script, first());
    let machine = world.run(start(feature_028(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Completed));
    let wp03: Vec<_> = assigned(&world).into_iter().filter(|a| a.0 == "WP03").map(|a| (a.1, a.2)).collect();
    assert_eq!(wp03, [(Phase::Implementation, 0), (Phase::Review, 0), (Phase::Implementation, 1), (Phase::Review, 1)]);
    assert!(world.seen.contains(&Seen::Lane { wp: wp("WP03"), from: Lane::ForReview, to: Lane::Doing }));
    let run = &machine.state().work_packages[&wp("WP03")];
    assert_eq!(run.feedback.as_ref().map(|f| f.reason.as_str()), Some("add tests for the parser"));
    assert!(matches!(run.tries[1].outcome, TryOutcome::Rejected { .. }));
    assert_eq!(count(&world, |e| matches!(e, RunEvent::Error { .. })), 0, "a rejection is no error");
}

#[test]
fn the_rework_try_carries_the_feedback_and_the_reason_goes_into_the_lane_note() {
    let (mut machine, _) = Orchestration::start(moment(1), start(feature_028()[..1].to_vec(), TWO_AGENTS, 1)).unwrap();
    let step = |machine: &mut Orchestration, input| machine.handle(moment(2), input).expect("accepted");
    let w = wp("WP01");
    step(&mut machine, Input::LaneMoved { wp: w.clone(), lane: Lane::Doing });
    step(
        &mut machine,
        Input::AgentStarted {
            wp: w.clone(),
            phase: Phase::Implementation,
            attempt: 0,
            pid: None,
            log_file: "i".into(),
        },
    );
    step(
        &mut machine,
        Input::AgentExited {
            wp: w.clone(),
            phase: Phase::Implementation,
            attempt: 0,
            exit_code: Some(0),
            last_line: None,
        },
    );
    step(&mut machine, Input::LaneMoved { wp: w.clone(), lane: Lane::ForReview });
    step(
        &mut machine,
        Input::AgentStarted { wp: w.clone(), phase: Phase::Review, attempt: 0, pid: None, log_file: "r.log".into() },
    );
    let actions = step(
        &mut machine,
        Input::AgentExited {
            wp: w.clone(),
            phase: Phase::Review,
            attempt: 0,
            exit_code: Some(0),
            last_line: Some("VERDICT: rejected no tests".into()),
        },
    );
    let note = actions.iter().find_map(|a| match a {
        Action::MoveLane { from: Lane::ForReview, to: Lane::Doing, note, agent, .. } => {
            Some((note.clone(), agent.clone()))
        }
        _ => None,
    });
    assert_eq!(note, Some(("Review rejected by b: no tests".to_string(), Some("b".to_string()))));
    let actions = step(&mut machine, Input::LaneMoved { wp: w.clone(), lane: Lane::Doing });
    let feedback = actions.iter().find_map(|a| match a {
        Action::StartAgent { phase: Phase::Implementation, attempt: 1, feedback, agent, .. } => {
            Some((feedback.clone(), agent.clone()))
        }
        _ => None,
    });
    let (feedback, agent) = feedback.expect("the rework starts");
    assert_eq!(agent, "a", "the implementer reworks its own work");
    let feedback = feedback.expect("with the feedback");
    assert_eq!(
        (feedback.reviewer.as_str(), feedback.reason.as_str(), feedback.log_file.as_deref()),
        ("b", "no tests", Some("r.log"))
    );
}

#[test]
fn a_review_without_a_verdict_line_fails_the_try_and_never_approves() {
    let script: Script = Box::new(|wp, phase, attempt, _| match (wp.as_str(), phase, attempt) {
        ("WP01", Phase::Review, 0) => (Some(0), Some("Looks approved to me".into())),
        (_, Phase::Review, _) => (Some(0), Some("VERDICT: approved".into())),
        _ => (Some(0), None),
    });
    let mut world = World::new(&feature_028(), 4, script, first());
    world.run(start(feature_028(), TWO_AGENTS, 4));
    let first_review_exit = world.seen.iter().position(
        |s| matches!(s, Seen::Started { wp: w, phase: Phase::Review, attempt: 1, .. } if w.as_str() == "WP01"),
    );
    let done =
        world.seen.iter().position(|s| matches!(s, Seen::Lane { wp: w, to: Lane::Done, .. } if w.as_str() == "WP01"));
    assert!(first_review_exit.is_some() && first_review_exit < done, "WP01 needed a second review to be done");
    let error = world.events().into_iter().find_map(|e| match e {
        RunEvent::Error { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(error.is_some_and(|m| m.contains("review try 1 by b failed: no verdict")));
}

#[test]
fn exhausted_agents_fail_the_wp_and_block_its_dependents_then_a_resume_retries_it() {
    let failing: Script = Box::new(|wp, phase, _, _| match (wp.as_str(), phase) {
        ("WP05", Phase::Implementation) => (Some(1), None),
        (_, Phase::Review) => (Some(0), Some("VERDICT: approved".into())),
        _ => (Some(0), None),
    });
    let mut world = World::new(&feature_028(), 4, failing, first());
    let machine = world.run(start(feature_028(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Failed));
    let state = machine.state();
    assert_eq!(state.work_packages[&wp("WP05")].status, WpStatus::Failed);
    assert_eq!(state.work_packages[&wp("WP05")].implementation.tries, 4, "1 + max_retries 3");
    assert_eq!(state.work_packages[&wp("WP06")].status, WpStatus::Pending);
    assert!(state.blocked_by_failure(&wp("WP07")));
    assert_eq!(world.lanes[&wp("WP06")], Lane::Planned);
    assert_eq!(count(&world, |e| matches!(e, RunEvent::FeatureCompleted { .. })), 0);

    // Fixed agents, then --resume: WP05 gets new tries (retry_count goes on), the rest follows.
    let mut machine = Orchestration::restore(state.clone());
    let actions = machine
        .handle(
            moment(world.now + 10),
            Input::Resume { lanes: world.lanes.clone(), roster: None, max_parallel: None, orchestrator_pid: None },
        )
        .expect("a failed run resumes");
    let retry = actions.iter().find_map(|a| match a {
        Action::MoveLane { wp: w, from, to, .. } if w.as_str() == "WP05" => Some((*from, *to)),
        _ => None,
    });
    assert_eq!(retry, Some((Lane::Doing, Lane::Doing)), "back into its worktree");
    assert_eq!(machine.state().work_packages[&wp("WP05")].status, WpStatus::InProgress);
}

#[test]
fn an_interrupt_stops_the_agents_and_a_resume_takes_the_tries_up_again() {
    let (mut machine, _) = Orchestration::start(moment(1), start(feature_028(), TWO_AGENTS, 4)).unwrap();
    let w = wp("WP01");
    machine.handle(moment(2), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    machine
        .handle(
            moment(3),
            Input::AgentStarted {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                pid: Some(9),
                log_file: "l".into(),
            },
        )
        .unwrap();
    let actions = machine.handle(moment(4), Input::Interrupt).unwrap();
    assert!(actions.contains(&Action::StopAgent { wp: w.clone(), phase: Phase::Implementation, attempt: 0 }));
    assert_eq!(machine.state().status, RunStatus::Stopping);
    let actions = machine
        .handle(
            moment(5),
            Input::AgentExited {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                exit_code: None,
                last_line: None,
            },
        )
        .unwrap();
    assert!(actions.contains(&Action::Finish { status: RunStatus::Stopped }));
    let run = &machine.state().work_packages[&w];
    assert_eq!(run.tries[0].outcome, TryOutcome::Interrupted);
    assert_eq!(run.implementation.failures, 0, "an interruption is not the agent's failure");

    let lanes = BTreeMap::from_iter(
        feature_028().into_iter().map(|p| (p.wp, if p.dependencies.is_empty() { Lane::Doing } else { Lane::Planned })),
    );
    let mut resumed = Orchestration::restore(machine.state().clone());
    let actions = resumed
        .handle(moment(6), Input::Resume { lanes, roster: None, max_parallel: None, orchestrator_pid: None })
        .unwrap();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::MoveLane { wp: x, from: Lane::Doing, to: Lane::Doing, .. } if *x == w))
    );
    let actions = resumed.handle(moment(7), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    assert!(
        actions.iter().any(|a| matches!(a, Action::StartAgent { attempt: 1, .. })),
        "the next try counts the interrupted one"
    );
}

#[test]
fn an_agent_past_its_timeout_is_stopped_and_its_try_fails() {
    let yaml = "defaults:\n  implementation: [a, b]\n  review: [b, a]\nagents:\n  a:\n    command: x\n    timeout_seconds: 5\n  b:\n    command: y\n";
    let work = feature_028()[..1].to_vec();
    let (mut machine, _) = Orchestration::start(moment(1_000), start(work, yaml, 1)).unwrap();
    let w = wp("WP01");
    machine.handle(moment(1_000), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    machine
        .handle(
            moment(1_000),
            Input::AgentStarted {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                pid: None,
                log_file: "l".into(),
            },
        )
        .unwrap();
    assert_eq!(machine.next_wakeup(), Some(6_000));
    assert!(!machine.handle(moment(5_999), Input::Tick).unwrap().iter().any(|a| matches!(a, Action::StopAgent { .. })));
    let actions = machine.handle(moment(6_000), Input::Tick).unwrap();
    assert!(actions.contains(&Action::StopAgent { wp: w.clone(), phase: Phase::Implementation, attempt: 0 }));
    let actions = machine
        .handle(
            moment(6_100),
            Input::AgentExited {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                exit_code: None,
                last_line: None,
            },
        )
        .unwrap();
    let emitted = actions.iter().find_map(|a| match a {
        Action::Emit { events } => Some(events.clone()),
        _ => None,
    });
    assert!(
        matches!(&emitted.expect("an error event")[0].event, RunEvent::Error { message, .. } if message.contains("timed out after 5 s"))
    );
    assert!(actions.iter().any(|a| matches!(a, Action::StartAgent { agent, attempt: 1, .. } if agent == "b")));
}

#[test]
fn the_global_timeout_stops_the_run() {
    let yaml = "global_timeout: 60\nagents:\n  a:\n    command: x\n  b:\n    command: y\n";
    let (mut machine, _) = Orchestration::start(moment(0), start(feature_028(), yaml, 2)).unwrap();
    assert_eq!(machine.next_wakeup(), Some(60_000));
    let w = wp("WP01");
    machine.handle(moment(10), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    machine
        .handle(
            moment(20),
            Input::AgentStarted {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                pid: None,
                log_file: "l".into(),
            },
        )
        .unwrap();
    let actions = machine.handle(moment(60_000), Input::Tick).unwrap();
    assert!(actions.contains(&Action::StopAgent { wp: w.clone(), phase: Phase::Implementation, attempt: 0 }));
    assert_eq!(machine.state().stop_reason, Some(crate::orchestrate::state::StopReason::GlobalTimeout));
    let actions = machine
        .handle(
            moment(60_100),
            Input::AgentExited { wp: w, phase: Phase::Implementation, attempt: 0, exit_code: Some(0), last_line: None },
        )
        .unwrap();
    assert!(actions.contains(&Action::Finish { status: RunStatus::Stopped }), "{actions:?}");
}

#[test]
fn skip_resolves_the_dependents_as_skipped_and_the_run_ends_incomplete() {
    let failing: Script = Box::new(|wp, phase, _, _| match (wp.as_str(), phase) {
        ("WP06", Phase::Implementation) => (Some(1), None),
        (_, Phase::Review) => (Some(0), Some("VERDICT: approved".into())),
        _ => (Some(0), None),
    });
    let mut world = World::new(&feature_028(), 4, failing, first());
    let machine = world.run(start(feature_028(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Failed));
    let mut skipping = Orchestration::restore(machine.state().clone());
    let err = skipping.handle(moment(world.now), Input::Skip { wp: wp("WP09") }).expect_err("unknown WP");
    assert_eq!(err.to_string(), "unknown work package WP09 (the run has WP01, WP02, WP03, WP04, WP05, WP06, WP07)");
    assert!(matches!(
        skipping.handle(moment(world.now), Input::Skip { wp: wp("WP01") }),
        Err(OrchestrateError::AlreadyDone { .. })
    ));
    let actions = skipping.handle(moment(world.now), Input::Skip { wp: wp("WP06") }).unwrap();
    let resolved: Vec<_> = actions
        .iter()
        .flat_map(|a| match a {
            Action::Emit { events } => events.iter().map(|e| e.event.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(resolved, [RunEvent::DependencyResolved { wp: wp("WP07"), dependency: wp("WP06"), skipped: true }]);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::MoveLane { .. } | Action::StartAgent { .. })),
        "a skip only records"
    );

    let mut resumed = Orchestration::restore(skipping.state().clone());
    let actions = resumed
        .handle(
            moment(world.now + 1),
            Input::Resume { lanes: world.lanes.clone(), roster: None, max_parallel: None, orchestrator_pid: None },
        )
        .unwrap();
    assert!(actions.iter().any(|a| matches!(a, Action::MoveLane { wp: w, base_candidates, .. } if w.as_str() == "WP07" && base_candidates.is_empty())),
        "WP07 starts, not on the skipped WP06's branch");
}

#[test]
fn done_wps_are_not_run_and_a_complete_feature_announces_nothing() {
    let mut work = feature_028();
    work[0].lane = Lane::Done;
    let mut world = World::new(&work, 4, always_succeeds(), first());
    world.run(start(work.clone(), TWO_AGENTS, 4));
    assert_eq!(world.finished, Some(RunStatus::Completed));
    assert!(!world.seen.iter().any(|s| matches!(s, Seen::Started { wp: w, .. } if w.as_str() == "WP01")));
    assert_eq!(
        count(
            &world,
            |e| matches!(e, RunEvent::DependencyResolved { dependency, .. } if dependency.as_str() == "WP01")
        ),
        0
    );
    assert_eq!(count(&world, |e| matches!(e, RunEvent::FeatureCompleted { .. })), 1, "this run finished the feature");

    for planned in &mut work {
        planned.lane = Lane::Done;
    }
    let (_, actions) = Orchestration::start(moment(1), start(work, TWO_AGENTS, 4)).unwrap();
    assert_eq!(actions, [Action::SaveState, Action::Finish { status: RunStatus::Completed }]);
}

#[test]
fn a_cycle_or_no_work_packages_refuse_to_start() {
    let mut work = feature_028();
    work[0].dependencies = vec![wp("WP07")];
    let err = Orchestration::start(moment(1), start(work, TWO_AGENTS, 4)).expect_err("a cycle");
    assert!(
        err.to_string().starts_with("feature 028-cli-event-emission-sync: dependency cycle: WP01 -> WP07"),
        "{err}"
    );
    assert!(Orchestration::start(moment(1), start(Vec::new(), TWO_AGENTS, 4)).is_err());
}

#[test]
fn a_start_that_fails_falls_back_and_stale_inputs_are_refused() {
    let (mut machine, _) = Orchestration::start(moment(1), start(feature_028()[..1].to_vec(), TWO_AGENTS, 1)).unwrap();
    let w = wp("WP01");
    machine.handle(moment(2), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    let actions = machine
        .handle(
            moment(3),
            Input::AgentStartFailed {
                wp: w.clone(),
                phase: Phase::Implementation,
                attempt: 0,
                error: "no such file".into(),
            },
        )
        .unwrap();
    assert!(actions.iter().any(|a| matches!(a, Action::StartAgent { agent, attempt: 1, .. } if agent == "b")));
    let stale = machine.handle(
        moment(4),
        Input::AgentExited {
            wp: w.clone(),
            phase: Phase::Implementation,
            attempt: 0,
            exit_code: Some(0),
            last_line: None,
        },
    );
    assert!(matches!(stale, Err(OrchestrateError::Unexpected(_))));
    assert!(machine.handle(moment(5), Input::LaneMoved { wp: w, lane: Lane::Done }).is_err());
}

#[test]
fn the_state_round_trips_through_json_and_refuses_other_versions() {
    let (machine, _) = Orchestration::start(moment(1), start(feature_028(), TWO_AGENTS, 4)).unwrap();
    let json = machine.state().to_json();
    let back = OrchestrationState::from_json("s.json", &json).expect("reads back");
    assert_eq!(&back, machine.state());
    let newer = json.replacen("\"version\": 1", "\"version\": 2", 1);
    assert!(OrchestrationState::from_json("s.json", &newer).unwrap_err().contains("state version 2"));
    assert!(
        OrchestrationState::from_json("s.json", "{").unwrap_err().starts_with("s.json: not a saved orchestration run")
    );
}

#[test]
fn per_agent_places_limit_who_runs() {
    let yaml = "defaults:\n  implementation: [a]\n  review: [b]\nagents:\n  a:\n    command: x\n    max_concurrent: 1\n  b:\n    command: y\n";
    let mut world = World::new(&feature_028(), 4, always_succeeds(), first());
    world.run(start(feature_028(), yaml, 4));
    assert_eq!(world.finished, Some(RunStatus::Completed));
    assert!(world.violations.is_empty());
    // a alone implements, one at a time: never two implementations at once.
    let mut running = 0i32;
    for seen in &world.seen {
        if let Seen::Started { phase: Phase::Implementation, .. } = seen {
            running += 1;
        }
        if let Seen::Lane { from: Lane::Doing, to: Lane::ForReview, .. } = seen {
            running -= 1;
        }
        assert!(running <= 1);
    }
}

/// WP01 alone, its implementation started by agent `a`.
fn wp01_implementing() -> Orchestration {
    let (mut machine, _) = Orchestration::start(moment(1), start(feature_028()[..1].to_vec(), TWO_AGENTS, 1)).unwrap();
    let w = wp("WP01");
    machine.handle(moment(2), Input::LaneMoved { wp: w.clone(), lane: Lane::Doing }).unwrap();
    let started =
        Input::AgentStarted { wp: w, phase: Phase::Implementation, attempt: 0, pid: Some(9), log_file: "l".into() };
    machine.handle(moment(3), started).unwrap();
    machine
}

fn exited_in(worktree: crate::orchestrate::WorktreeFacts) -> Input {
    Input::AgentExitedInWorktree {
        wp: wp("WP01"),
        phase: Phase::Implementation,
        attempt: 0,
        exit_code: Some(0),
        last_line: None,
        worktree,
    }
}

#[test]
fn an_exit_0_whose_work_is_not_on_the_wp_branch_fails_the_try() {
    let branch = "028-cli-event-emission-sync-WP01".to_string();
    let mut machine = wp01_implementing();
    let rogue = crate::orchestrate::WorktreeFacts { present: true, branch: Some("rogue".into()), uncommitted: vec![] };
    let actions = machine.handle(moment(4), exited_in(rogue)).unwrap();
    assert!(actions.iter().any(|a| matches!(a, Action::StartAgent { agent, attempt: 1, .. } if agent == "b")));
    let run = &machine.state().work_packages[&wp("WP01")];
    let error = run.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("exited with status 0 but left its worktree on branch `rogue`"), "{error}");
    assert_eq!(run.lane, Lane::Doing, "never moved to for_review");

    let mut machine = wp01_implementing();
    let dirty = crate::orchestrate::WorktreeFacts {
        present: true,
        branch: Some(branch.clone()),
        uncommitted: vec!["src/lib.rs".into()],
    };
    machine.handle(moment(4), exited_in(dirty)).unwrap();
    let error = machine.state().work_packages[&wp("WP01")].last_error.clone().unwrap_or_default();
    assert!(error.contains("uncommitted (src/lib.rs)"), "{error}");

    let mut machine = wp01_implementing();
    let clean = crate::orchestrate::WorktreeFacts { present: true, branch: Some(branch), uncommitted: vec![] };
    let actions = machine.handle(moment(4), exited_in(clean)).unwrap();
    assert!(actions.iter().any(|a| matches!(a, Action::MoveLane { to: Lane::ForReview, .. })));
}

#[test]
fn an_abort_keeps_a_completed_run_and_a_second_abort_changes_nothing() {
    let mut world = World::new(&feature_028(), 4, always_succeeds(), first());
    let completed = world.run(start(feature_028(), TWO_AGENTS, 4));
    let mut machine = Orchestration::restore(completed.state().clone());
    let refused = machine.handle(moment(10_000), Input::Abort).expect_err("a completed run");
    assert!(refused.to_string().contains("the run is completed"), "{refused}");
    assert_eq!(machine.state().status, RunStatus::Completed);

    let mut machine = wp01_implementing();
    machine.handle(moment(5), Input::Abort).unwrap();
    let aborted = machine.state().clone();
    assert_eq!((aborted.status, aborted.finished_at_ms), (RunStatus::Aborted, Some(5)));
    let again = machine.handle(moment(6), Input::Abort).unwrap();
    assert_eq!(again, [Action::SaveState, Action::Finish { status: RunStatus::Aborted }]);
    assert_eq!(machine.state().finished_at_ms, Some(5), "when it was aborted stays");
}
