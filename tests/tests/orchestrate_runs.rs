//! `spec-kitty orchestrate` through the real binary, with scripted agents on a copy of the 028 feature:
//! dependency order and parallelism, the fallback agent, review rejections and missing verdicts,
//! timeouts, Ctrl-C, and `--status` during a run.

mod common;
mod orchestrate_support;

use common::*;
use orchestrate_support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// WP02..WP05 wait at a barrier until all four implementations run at once (bounded: 60 s).
const BARRIER: &str = r#"
case "$SPEC_KITTY_WP:$SPEC_KITTY_PHASE" in
  WP02:implementation|WP03:implementation|WP04:implementation|WP05:implementation)
    touch "@TOP@/barrier-$SPEC_KITTY_WP"
    waited=0
    while [ "$(ls "@TOP@" | grep -c '^barrier-')" -lt 4 ]; do
      waited=$((waited + 1))
      [ "$waited" -gt 1200 ] && { echo "not four at once"; exit 9; }
      sleep 0.05
    done;;
esac
work
"#;

#[test]
fn the_028_feature_runs_in_dependency_order_four_at_a_time_and_every_lane_ends_done() {
    let orchestra = Orchestra::new();
    let body = BARRIER.replace("@TOP@", &orchestra.repo.top().display().to_string());
    orchestra.two_agents(&body, &body, "");
    let run = orchestra.orchestrate(&["--max-parallel", "4", "--json"]).ok();
    let report = run.json();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["status"], "completed");
    for wp in WPS {
        assert_eq!(orchestra.repo.lane(wp), "done", "{wp}");
    }
    let events = orchestra.events();
    assert_no_event_twice(&events);
    // Unlike upstream's, every assignment and resolution names the feature.
    for event_type in ["WPAssigned", "DependencyResolved"] {
        let sent = payloads(&events, event_type);
        assert!(!sent.is_empty(), "no {event_type}");
        for payload in sent {
            assert_eq!(payload["feature_slug"], FEATURE, "{event_type} {payload}");
        }
    }

    // 7 implementation and 7 review assignments, no retries, never reviewed by the implementer.
    let assigned = assignments(&events);
    let implementations: Vec<_> = assigned.iter().filter(|a| a.1 == "implementation").collect();
    let reviews: Vec<_> = assigned.iter().filter(|a| a.1 == "review").collect();
    assert_eq!((implementations.len(), reviews.len()), (7, 7), "{assigned:#?}");
    assert!(assigned.iter().all(|a| a.2 == 0), "{assigned:#?}");
    for review in &reviews {
        let implementer = implementations.iter().find(|i| i.0 == review.0).map(|i| &i.3);
        assert_ne!(Some(&review.3), implementer, "{} reviewed by its implementer", review.0);
    }

    // One DependencyResolved per dependency edge, each after its dependency is done and before the
    // dependent starts; one FeatureCompleted, last.
    let resolved: BTreeSet<(String, String)> = payloads(&events, "DependencyResolved")
        .iter()
        .map(|p| {
            assert_eq!(p["resolution_type"], "completed");
            (p["wp_id"].as_str().unwrap().to_string(), p["dependency_wp_id"].as_str().unwrap().to_string())
        })
        .collect();
    let edges: BTreeSet<(String, String)> =
        [("WP02", "WP01"), ("WP03", "WP01"), ("WP04", "WP01"), ("WP05", "WP01"), ("WP06", "WP05"), ("WP07", "WP06")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(resolved, edges);
    assert_eq!(payloads(&events, "DependencyResolved").len(), 6);
    for (dependent, dependency) in &edges {
        let done = clock_of(&events, "dependency done", |e| is_move(e, dependency, "for_review", "done"));
        let resolution = clock_of(&events, "resolution", |e| {
            e["event_type"] == "DependencyResolved"
                && e["payload"]["wp_id"] == dependent.as_str()
                && e["payload"]["dependency_wp_id"] == dependency.as_str()
        });
        let started = clock_of(&events, "dependent started", |e| is_move(e, dependent, "planned", "doing"));
        let assigned = clock_of(&events, "dependent assigned", |e| is_assigned(e, dependent, "implementation"));
        assert!(done < resolution && resolution < started && started < assigned, "{dependency} -> {dependent}");
    }
    let completed = payloads(&events, "FeatureCompleted");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["total_wps"], 7);
    assert_eq!(events.last().unwrap()["event_type"], "FeatureCompleted");
    // Every lane move of every WP, once each.
    for wp in WPS {
        for (from, to) in [("planned", "doing"), ("doing", "for_review"), ("for_review", "done")] {
            assert_eq!(events.iter().filter(|e| is_move(e, wp, from, to)).count(), 1, "{wp} {from} -> {to}");
        }
    }

    // The four ran at once (their barrier let them through), and nothing ran twice.
    let barrier: Vec<_> =
        ["WP02", "WP03", "WP04", "WP05"].iter().map(|wp| orchestra.path(&format!("barrier-{wp}"))).collect();
    assert!(barrier.iter().all(|path| path.exists()));
    assert_eq!(orchestra.runs().len(), 14, "{:#?}", orchestra.runs());

    // WP06 started from WP05's branch, WP07 from WP06's: their work is there.
    let wp07 = orchestra.repo.root.join(".worktrees").join(format!("{FEATURE}-WP07"));
    for wp in ["WP01", "WP05", "WP06", "WP07"] {
        assert!(wp07.join(format!("work-{wp}.txt")).exists(), "{wp}'s work in WP07's worktree");
    }
    assert!(!wp07.join("work-WP02.txt").exists());
    // One log per WP, phase and try; every lane change committed; the state says completed.
    let logs = orchestra.repo.root.join(".kittify/logs").join(FEATURE);
    assert!(logs.join("WP03-implementation-1.log").is_file() && logs.join("WP03-review-1.log").is_file());
    assert_eq!(orchestra.repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "");
    assert_eq!(orchestra.state()["status"], "completed");
    assert!(!orchestra.repo.git(&["status", "--porcelain"]).contains("orchestration-state"), "kept out of git");
}

#[test]
fn an_implementer_that_fails_once_is_followed_by_the_fallback_agent_with_retry_count_one() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let alpha = r#"
case "$SPEC_KITTY_PHASE" in
  implementation) echo "alpha cannot"; exit 3;;
esac
work"#;
    // The fallback also writes a note with spec-kitty itself while it works: the project lock is free
    // during agent runs (a held lock would fail the note after 2 s, and with it the try).
    let beta = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then
  "$SPEC_KITTY_TEST_BIN" agent tasks add-history "$SPEC_KITTY_WP" --note "beta is at it" --agent beta || exit 11
fi
work"#;
    orchestra.two_agents(alpha, beta, "");
    let bin = binary().display().to_string();
    let env = [("SPEC_KITTY_TEST_BIN", bin.as_str()), ("SPEC_KITTY_LOCK_TIMEOUT_MS", "2000")];
    let run = orchestra.orchestrate_with_env(&env, &[]).ok();
    assert!(run.stdout.contains("completed, 7/7 work packages done"), "{run:#?}");
    assert!(activity_notes(&orchestra.repo.wp_text("WP01")).contains(&"beta is at it"));
    let events = orchestra.events();
    assert_no_event_twice(&events);
    let assigned = assignments(&events);
    assert_eq!(
        assigned,
        [
            ("WP01".to_string(), "implementation".to_string(), 0, "alpha".to_string()),
            ("WP01".to_string(), "implementation".to_string(), 1, "beta".to_string()),
            ("WP01".to_string(), "review".to_string(), 0, "alpha".to_string()),
        ],
        "the fallback implements; the other agent reviews"
    );
    let errors = payloads(&events, "ErrorLogged");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["wp_id"], "WP01");
    assert_eq!(errors[0]["agent_id"], "alpha");
    let message = errors[0]["error_message"].as_str().unwrap();
    assert!(message.contains("implementation try 1 by alpha failed: exited with status 3"), "{message}");
    assert!(message.contains("WP01-implementation-1.log"), "{message}");
    // The failure was reported after the try started and before the fallback started.
    let failed = clock_of(&events, "error", |e| e["event_type"] == "ErrorLogged");
    let first = clock_of(&events, "try 1", |e| is_assigned(e, "WP01", "implementation"));
    let fallback =
        clock_of(&events, "try 2", |e| is_assigned(e, "WP01", "implementation") && e["payload"]["retry_count"] == 1);
    assert!(first < failed && failed < fallback);
    let log = std::fs::read_to_string(
        orchestra.repo.root.join(".kittify/logs").join(FEATURE).join("WP01-implementation-1.log"),
    )
    .unwrap();
    assert!(log.contains("alpha cannot"), "{log}");
    assert_eq!(orchestra.repo.lane("WP01"), "done");
}

#[test]
fn a_rejecting_reviewer_sends_the_wp_back_with_its_feedback_in_the_history_and_the_next_prompt() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP02"]);
    // The rework fails unless its prompt (stdin, and the file) carries the reviewer's reason.
    let alpha = r#"
if [ "$SPEC_KITTY_PHASE:$SPEC_KITTY_TRY" = "implementation:2" ]; then
  grep -q "please add a changelog entry" || { echo "no feedback on stdin"; exit 7; }
  grep -q "please add a changelog entry" "$SPEC_KITTY_PROMPT_FILE" || { echo "no feedback in the file"; exit 8; }
fi
work"#;
    let beta = r#"
case "$SPEC_KITTY_PHASE:$SPEC_KITTY_TRY" in
  review:1) echo "needs more"; echo "VERDICT: rejected please add a changelog entry"; exit 0;;
esac
[ -f "$1" ] || { echo "no prompt file argument"; exit 6; }
work"#;
    orchestra.two_agents(alpha, beta, "");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP02"), "done");
    let events = orchestra.events();
    let phases: Vec<(String, u64)> = assignments(&events).into_iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(
        phases,
        [("implementation".into(), 0), ("review".into(), 0), ("implementation".into(), 1), ("review".into(), 1)]
    );
    let back = events.iter().find(|e| is_move(e, "WP02", "for_review", "doing")).expect("back to doing");
    assert_eq!(back["payload"]["changed_by"], "beta");
    let notes = activity_notes(&orchestra.repo.wp_text("WP02")).iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert!(notes.iter().any(|n| n == "Review rejected by beta: please add a changelog entry"), "{notes:#?}");
    assert!(payloads(&events, "ErrorLogged").is_empty(), "a rejection is no error");
    let worktree = orchestra.repo.root.join(".worktrees").join(format!("{FEATURE}-WP02"));
    assert_eq!(
        std::fs::read_to_string(worktree.join("work-WP02.txt")).unwrap().lines().count(),
        2,
        "two tries of work"
    );
}

#[test]
fn a_review_without_a_verdict_line_fails_its_try_and_never_approves() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let beta = r#"
if [ "$SPEC_KITTY_PHASE" = review ]; then echo "VERDICT: approved"; echo "Looks approved to me, not approved by policy though"; exit 0; fi
work"#;
    orchestra.two_agents("work", beta, "max_retries: 0\n");
    let run = orchestra.orchestrate(&["--json"]).failed();
    assert_eq!(run.code, Some(1));
    let report = run.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(orchestra.repo.lane("WP01"), "for_review", "never approved");
    let events = orchestra.events();
    assert!(!events.iter().any(|e| is_move(e, "WP01", "for_review", "done")));
    assert!(payloads(&events, "FeatureCompleted").is_empty());
    let errors = payloads(&events, "ErrorLogged");
    assert_eq!(errors.len(), 1);
    let message = errors[0]["error_message"].as_str().unwrap();
    assert!(message.contains("review try 1 by beta failed: no verdict"), "{message}");
    assert_eq!(errors[0]["agent_id"], "beta");
}

#[test]
fn an_agent_past_its_timeout_is_stopped_and_the_next_agent_takes_over() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    // alpha hangs (a bounded sleep: it is stopped long before); beta works.
    let alpha = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then echo "thinking"; sleep 120; exit 0; fi
work"#;
    let alpha_path = orchestra.agent("alpha.sh", alpha);
    let beta_path = orchestra.agent("beta.sh", "work");
    orchestra.agents_yaml(&format!(
        "defaults:\n  implementation: [alpha, beta]\n  review: [beta, alpha]\nagents:\n  alpha:\n    command: {}\n    timeout_seconds: 1\n  beta:\n    command: {}\n",
        alpha_path.display(),
        beta_path.display()
    ));
    let began = Instant::now();
    orchestra.orchestrate(&[]).ok();
    assert!(began.elapsed() < Duration::from_secs(100), "alpha's sleep was cut short");
    let events = orchestra.events();
    let message = payloads(&events, "ErrorLogged")[0]["error_message"].as_str().unwrap().to_string();
    assert!(message.contains("implementation try 1 by alpha failed: timed out after 1 s"), "{message}");
    assert_eq!(assignments(&events)[1], ("WP01".into(), "implementation".into(), 1, "beta".into()));
    assert_eq!(orchestra.repo.lane("WP01"), "done");
}

/// Spawns `orchestrate` in the background (stdout and stderr to files).
fn spawn_orchestrate(orchestra: &Orchestra, args: &[&str]) -> std::process::Child {
    let mut all = vec!["orchestrate", "--feature", FEATURE];
    all.extend_from_slice(args);
    let mut command = orchestra.repo.command_in(&orchestra.repo.root, &all);
    command
        .stdout(std::fs::File::create(orchestra.path("out.txt")).unwrap())
        .stderr(std::fs::File::create(orchestra.path("err.txt")).unwrap());
    command.spawn().expect("orchestrate starts")
}

/// Waits (bounded) until `ready` holds.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_stops_the_agents_and_a_resume_completes_the_feature() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01", "WP02"]);
    // WP01's first implementation waits until it is stopped (bounded).
    let alpha = r#"
if [ "$SPEC_KITTY_WP:$SPEC_KITTY_PHASE:$SPEC_KITTY_TRY" = "WP01:implementation:1" ]; then
  trap 'echo "stopped"; exit 143' TERM
  i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  exit 0
fi
work"#;
    orchestra.two_agents(alpha, "work", "");
    let child = spawn_orchestrate(&orchestra, &[]);
    wait_until("WP01's implementation started", || {
        orchestra.runs().iter().any(|r| r.starts_with("WP01 implementation 1"))
    });
    // SAFETY: kill only sends SIGINT to the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = wait_within(child, Duration::from_secs(60), "orchestrate after Ctrl-C").status;
    assert_eq!(status.code(), Some(1), "a stopped run exits 1");
    let state = orchestra.state();
    assert_eq!(state["status"], "stopped");
    let tries = &state["work_packages"]["WP01"]["tries"];
    assert_eq!(tries[0]["outcome"], "interrupted");
    assert_eq!(orchestra.repo.lane("WP01"), "doing");

    let run = orchestra.orchestrate(&["--resume"]).ok();
    assert!(run.stdout.contains("completed"), "{run:#?}");
    let events = orchestra.events();
    assert_no_event_twice(&events);
    let wp01: Vec<(String, u64)> =
        assignments(&events).into_iter().filter(|a| a.0 == "WP01").map(|a| (a.1, a.2)).collect();
    assert_eq!(wp01, [("implementation".into(), 0), ("implementation".into(), 1), ("review".into(), 0)]);
    assert!(payloads(&events, "ErrorLogged").is_empty(), "an interruption is not an agent's failure");
    assert_eq!(payloads(&events, "FeatureCompleted").len(), 1);
    assert_eq!(events.iter().filter(|e| is_move(e, "WP01", "planned", "doing")).count(), 1);
}

#[test]
fn status_json_is_one_valid_document_at_any_time_during_a_run() {
    let orchestra = Orchestra::new();
    let slow = "sleep 0.3\nwork";
    orchestra.two_agents(slow, slow, "");
    let mut child = spawn_orchestrate(&orchestra, &["--max-parallel", "2"]);
    let mut seen_running = 0;
    let mut reads = 0;
    loop {
        let run = orchestra.repo.run(&["orchestrate", "--status", "--json"]);
        let document: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("--status --json is not one JSON document ({e}): {:?}", run.stdout));
        reads += 1;
        if document["ok"] == true && document["active"] == true {
            seen_running += 1;
            assert!(document["state"]["work_packages"]["WP01"].is_object());
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(reads < 5000, "the run did not end");
    }
    assert!(seen_running >= 3, "read while the run was active {seen_running} times");
    let _ = child.wait();
    let run = orchestra.repo.run(&["orchestrate", "--status", "--json"]).ok();
    let document = run.json();
    assert_eq!(document["status"], "completed");
    assert_eq!(document["active"], false);
    let table = orchestra.repo.run(&["orchestrate", "--status"]).ok();
    assert!(table.stdout.contains("WP07  done"), "{}", table.stdout);
}
