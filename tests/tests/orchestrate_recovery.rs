//! `spec-kitty orchestrate` when things go wrong, through the real binary with scripted agents:
//! kill -9 at seeded points then `--resume`, refused starts (a missing program, a cycle, no
//! agents.yaml), `--skip`, `--dry-run`, `--abort`, and `agent config init`.

mod common;
mod orchestrate_support;

use common::*;
use orchestrate_support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The events that claim work happened.
const WORK_EVENTS: [&str; 4] = ["WPAssigned", "WPStatusChanged", "DependencyResolved", "FeatureCompleted"];

fn claims_work(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| WORK_EVENTS.contains(&e["event_type"].as_str().unwrap_or(""))).collect()
}

/// Seeded kill points: after how many queued events the run is killed (the whole run queues 42).
fn kill_points(seed: u64, count: usize) -> Vec<usize> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            2 + (state % 38) as usize
        })
        .collect()
}

/// Rows in the queue, 0 while the run has not created it yet.
fn queued(repo: &TestRepo) -> usize {
    let Ok(connection) = rusqlite::Connection::open(repo.queue_db()) else { return 0 };
    connection.query_row("SELECT COUNT(*) FROM queue", [], |row| row.get::<_, i64>(0)).map_or(0, |n| n as usize)
}

/// Runs the whole feature, kills `orchestrate` with SIGKILL once `point` events are queued, resumes,
/// and checks the feature completes with no event repeated and no WP run again after it was done.
fn kill_at_and_resume(point: usize) {
    let orchestra = Orchestra::new();
    orchestra.two_agents("work", "work", "");
    let mut command =
        orchestra.repo.command_in(&orchestra.repo.root, &["orchestrate", "--feature", FEATURE, "--max-parallel", "4"]);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    // A process group of its own, so the test can tell when the git commands it started are over.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("orchestrate starts");
    let until = Instant::now() + Duration::from_secs(120);
    while queued(&orchestra.repo) < point {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before {point} events");
        assert!(Instant::now() < until, "{point} events were not queued in time");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill -9");
    child.wait().unwrap();
    // A git command the run had started finishes on its own (as after a real crash, before anyone
    // resumes): wait until the run's process group is empty (bounded).
    let group = child.id() as libc::pid_t;
    let until = Instant::now() + Duration::from_secs(30);
    // SAFETY: signal 0 only asks whether the test's own child's process group still has members.
    while unsafe { libc::kill(-group, 0) } == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let done_at_kill: BTreeSet<&str> = WPS.iter().copied().filter(|wp| orchestra.repo.lane(wp) == "done").collect();
    let runs_at_kill = orchestra.runs().len();

    let run = orchestra.orchestrate(&["--resume"]);
    assert_eq!(run.code, Some(0), "killed at {point} events, the resume completes: {run:#?}");
    for wp in WPS {
        assert_eq!(orchestra.repo.lane(wp), "done", "killed at {point}: {wp}");
    }
    let events = orchestra.events();
    assert_no_event_twice(&events);
    assert_eq!(payloads(&events, "FeatureCompleted").len(), 1, "killed at {point}");
    let resolved: Vec<_> = payloads(&events, "DependencyResolved");
    assert_eq!(resolved.len(), 6, "one per edge, killed at {point}: {resolved:#?}");
    for wp in WPS {
        for phase in ["implementation", "review"] {
            assert!(events.iter().any(|e| is_assigned(e, wp, phase)), "killed at {point}: {wp} {phase} assigned");
        }
        assert!(events.iter().filter(|e| is_move(e, wp, "for_review", "done")).count() <= 1);
    }
    let after: Vec<String> = orchestra.runs()[runs_at_kill..].to_vec();
    for line in &after {
        let wp = line.split(' ').next().unwrap_or("");
        assert!(!done_at_kill.contains(wp), "killed at {point}: {wp} ran again after it was done: {after:#?}");
    }
    let state = orchestra.state();
    assert_eq!(state["status"], "completed");
    assert_eq!(state["outbox"], Value::Array(Vec::new()));
}

#[test]
fn kill_9_at_seeded_points_then_resume_completes_without_repeating_anything_a() {
    for point in kill_points(0x5EED_0001, 3) {
        kill_at_and_resume(point);
    }
}

#[test]
fn kill_9_at_seeded_points_then_resume_completes_without_repeating_anything_b() {
    for point in kill_points(0x5EED_0002, 2) {
        kill_at_and_resume(point);
    }
}

#[test]
fn an_agent_killing_the_run_mid_review_is_stopped_with_it_and_the_resume_completes() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP05", "WP06", "WP07"]);
    // WP06's reviewer kills the run (kill -9 of its parent) once the run has saved that it started,
    // then would approve much later.
    let beta = r#"
if [ "$SPEC_KITTY_WP:$SPEC_KITTY_PHASE:$SPEC_KITTY_TRY" = "WP06:review:1" ]; then
  i=0
  until grep -q "WP06-review-1.log" "@TOP@/repo/.kittify/orchestration-state.json"; do
    i=$((i + 1)); [ $i -gt 1200 ] && exit 9; sleep 0.05
  done
  kill -9 "$PPID"
  sleep 30
  echo "VERDICT: approved"
  exit 0
fi
work"#;
    let beta = beta.replace("@TOP@", &orchestra.repo.top().display().to_string());
    orchestra.two_agents("work", &beta, "");
    let killed = orchestra.orchestrate(&[]);
    assert_eq!(killed.code, None, "killed by a signal: {killed:#?}");
    assert_eq!(orchestra.repo.lane("WP05"), "done");
    assert_eq!(orchestra.repo.lane("WP06"), "for_review");
    let run = orchestra.orchestrate(&["--resume"]).ok();
    assert!(run.stdout.contains("completed"), "{run:#?}");
    let events = orchestra.events();
    assert_no_event_twice(&events);
    let wp06: Vec<(String, u64)> =
        assignments(&events).into_iter().filter(|a| a.0 == "WP06").map(|a| (a.1, a.2)).collect();
    assert_eq!(wp06, [("implementation".into(), 0), ("review".into(), 0), ("review".into(), 1)]);
    let runs = orchestra.runs();
    assert_eq!(runs.iter().filter(|r| r.starts_with("WP05 ")).count(), 2, "WP05 not run again: {runs:#?}");
    assert_eq!(payloads(&events, "FeatureCompleted").len(), 1);
}

#[test]
fn a_missing_agent_program_is_refused_before_anything_happens() {
    let orchestra = Orchestra::new();
    let alpha = orchestra.agent("alpha.sh", "work");
    orchestra.agents_yaml(&format!(
        "agents:\n  alpha:\n    command: {}\n  beta:\n    command: definitely-not-an-agent-xyz --go\n",
        alpha.display()
    ));
    let run = orchestra.orchestrate(&[]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert_eq!(
        run.errors(),
        ["error: .kittify/agents.yaml: agents.beta.command: `definitely-not-an-agent-xyz` is not found on PATH"]
    );
    assert!(claims_work(&orchestra.events()).is_empty());
    assert_eq!(orchestra.repo.lane("WP01"), "planned");
    assert!(!orchestra.repo.root.join(".kittify/orchestration-state.json").exists());
    assert!(!orchestra.repo.root.join(".worktrees").exists());
    assert!(orchestra.runs().is_empty());
}

#[test]
fn a_cycle_and_a_missing_agents_yaml_are_refused_with_one_line() {
    let orchestra = Orchestra::new();
    let run = orchestra.orchestrate(&[]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.errors().len(), 1, "{run:#?}");
    assert!(run.errors()[0].contains(".kittify/agents.yaml is missing"), "{run:#?}");
    assert!(run.errors()[0].contains("agent config init"));

    orchestra.two_agents("work", "work", "");
    let path = orchestra.repo.wp_path("WP01");
    let text = std::fs::read_to_string(&path).unwrap().replacen("dependencies: []", "dependencies: [WP07]", 1);
    std::fs::write(&path, text).unwrap();
    orchestra.repo.git(&["commit", "--quiet", "-am", "A cycle"]);
    let run = orchestra.orchestrate(&["--json"]);
    assert_eq!(run.code, Some(2));
    let report = run.json();
    assert_eq!(report["ok"], false);
    let message = report["error"].as_str().unwrap();
    assert!(message.contains("dependency cycle") && message.contains("WP01"), "{message}");
    assert_eq!(run.errors().len(), 1);
    assert!(claims_work(&orchestra.events()).is_empty());
    assert!(orchestra.runs().is_empty());
    // Two modes at once is a usage error too.
    assert_eq!(orchestra.orchestrate(&["--status", "--resume"]).code, Some(2));
}

#[test]
fn skip_lets_the_dependents_go_on_and_the_run_ends_incomplete() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01", "WP02", "WP03"]);
    let failing = "[ \"$SPEC_KITTY_PHASE\" = implementation ] && { echo broken; exit 1; }\nwork";
    orchestra.two_agents(failing, failing, "max_retries: 1\n");
    let run = orchestra.orchestrate(&["--json"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.json()["status"], "failed");
    let before = orchestra.events();
    assert_eq!(payloads(&before, "ErrorLogged").len(), 2, "two failed tries of WP01");
    assert!(payloads(&before, "DependencyResolved").is_empty());

    for (wp, expected) in [("WP09", "unknown work package WP09"), ("banana", "malformed work package id")] {
        let refused = orchestra.orchestrate(&["--skip", wp]);
        assert_eq!(refused.code, Some(2), "{refused:#?}");
        assert_eq!(refused.errors().len(), 1);
        assert!(refused.errors()[0].contains(expected), "{refused:#?}");
    }
    assert_eq!(claims_work(&orchestra.events()).len(), claims_work(&before).len(), "no event for a refused skip");

    let skipped = orchestra.orchestrate(&["--skip", "WP01", "--json"]).ok();
    assert_eq!(skipped.json()["dependents"], serde_json::json!(["WP02", "WP03", "WP04", "WP05"]));
    let events = orchestra.events();
    let resolved: Vec<(String, String)> = payloads(&events, "DependencyResolved")
        .iter()
        .map(|p| (p["wp_id"].as_str().unwrap().into(), p["resolution_type"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        resolved,
        [("WP02".into(), "skipped".into()), ("WP03".into(), "skipped".into())],
        "only the open dependents"
    );

    orchestra.two_agents("work", "work", "");
    let run = orchestra.orchestrate(&["--resume", "--json"]);
    assert_eq!(run.code, Some(1), "the feature is not complete: {run:#?}");
    assert_eq!(run.json()["status"], "incomplete");
    assert_eq!(orchestra.repo.lane("WP02"), "done");
    assert_eq!(orchestra.repo.lane("WP03"), "done");
    assert_eq!(orchestra.repo.lane("WP01"), "doing");
    assert!(payloads(&orchestra.events(), "FeatureCompleted").is_empty());
    assert_no_event_twice(&orchestra.events());
}

#[test]
fn dry_run_prints_the_waves_and_emits_nothing() {
    let orchestra = Orchestra::new();
    orchestra.two_agents("work", "work", "");
    let run = orchestra.orchestrate(&["--dry-run", "--max-parallel", "4"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].contains("4 wave(s), at most 4 work packages at once"), "{lines:#?}");
    assert_eq!(lines[1], "wave 1: WP01 (implement: alpha, review: beta)");
    assert!(lines[2].starts_with("wave 2: WP02 (implement: alpha, review: beta), WP03"), "{lines:#?}");
    assert_eq!(lines[3], "wave 3: WP06 (implement: alpha, review: beta)");
    assert_eq!(lines[4], "wave 4: WP07 (implement: alpha, review: beta)");
    let json = orchestra.orchestrate(&["--dry-run", "--json"]).ok().json();
    let waves: Vec<Vec<&str>> = json["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|wave| wave.as_array().unwrap().iter().map(|w| w["wp_id"].as_str().unwrap()).collect())
        .collect();
    assert_eq!(waves, [vec!["WP01"], vec!["WP02", "WP03", "WP04", "WP05"], vec!["WP06"], vec!["WP07"]]);
    assert_eq!(orchestra.repo.queue_len(), 0, "nothing emitted");
    assert!(orchestra.runs().is_empty());
    assert!(!orchestra.repo.root.join(".kittify/orchestration-state.json").exists());
    assert_eq!(orchestra.repo.lane("WP01"), "planned");
}

#[test]
fn abort_with_cleanup_drops_the_run_and_its_worktrees_and_a_new_run_can_start() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let failing = "[ \"$SPEC_KITTY_PHASE\" = implementation ] && exit 1\nwork";
    orchestra.two_agents(failing, failing, "max_retries: 0\n");
    assert_eq!(orchestra.orchestrate(&[]).code, Some(1));
    let refused = orchestra.orchestrate(&[]);
    assert_eq!(refused.code, Some(2), "an unfinished run blocks a new one: {refused:#?}");
    assert!(refused.errors()[0].contains("--resume"), "{refused:#?}");
    let worktree = orchestra.repo.root.join(".worktrees").join(format!("{FEATURE}-WP01"));
    assert!(worktree.is_dir());
    let run = orchestra.orchestrate(&["--abort", "--cleanup", "--json"]).ok();
    assert_eq!(run.json()["status"], "aborted");
    assert!(!worktree.exists(), "the worktree is removed");
    assert!(!orchestra.repo.git(&["branch", "--list", &format!("{FEATURE}-WP01")]).is_empty(), "its branch stays");
    assert_eq!(orchestra.state()["status"], "aborted");
    assert_eq!(orchestra.orchestrate(&["--resume"]).code, Some(2), "an aborted run does not resume");
    orchestra.two_agents("work", "work", "");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP01"), "done");
}

#[test]
fn agent_config_init_lists_the_agent_clis_on_path() {
    let orchestra = Orchestra::new();
    let bin = orchestra.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for program in ["claude", "codex"] {
        let path = bin.join(program);
        std::fs::write(&path, "#!/bin/sh\necho \"$@\"\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let run = orchestra.repo.run_with_env(&[("PATH", &path)], &["agent", "config", "init"]).ok();
    assert!(run.stdout.contains("claude") && run.stdout.contains("codex"), "{run:#?}");
    let text = std::fs::read_to_string(orchestra.repo.root.join(".kittify/agents.yaml")).unwrap();
    assert!(text.contains(&format!("#   claude ({}/claude)", bin.display())), "{text}");
    assert!(text.contains("implementation: [claude, codex]") && text.contains("review: [codex, claude]"), "{text}");
    assert!(!text.contains("opencode:"), "only what was found");
    let again = orchestra.repo.run_with_env(&[("PATH", &path)], &["agent", "config", "init"]);
    assert!(again.code.is_some_and(|c| c != 0) && again.errors()[0].contains("--force"), "{again:#?}");
    orchestra.repo.run_with_env(&[("PATH", &path)], &["agent", "config", "init", "--force"]).ok();
    // The starter runs as it is, with the programs it found.
    let dry = orchestra.repo.run_with_env(&[("PATH", &path)], &["orchestrate", "--dry-run"]).ok();
    assert!(dry.stdout.contains("wave 1: WP01 (implement: claude, review: codex)"), "{dry:#?}");
}

#[test]
fn abort_stops_an_active_run_and_its_agents() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let slow = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then
  trap 'echo "told to stop"; exit 143' TERM
  i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
fi
work"#;
    orchestra.two_agents(slow, "work", "");
    let mut command = orchestra.repo.command_in(&orchestra.repo.root, &["orchestrate", "--feature", FEATURE]);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let child = command.spawn().expect("orchestrate starts");
    let until = Instant::now() + Duration::from_secs(120);
    while !orchestra.runs().iter().any(|r| r.starts_with("WP01 implementation 1")) {
        assert!(Instant::now() < until, "the implementation did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy = orchestra.orchestrate(&["--skip", "WP01"]);
    assert_eq!(busy.code, Some(1), "a skip waits for the active run to end: {busy:#?}");
    assert!(busy.errors()[0].contains("is active"), "{busy:#?}");
    let abort = orchestra.orchestrate(&["--abort"]).ok();
    assert!(abort.stdout.contains("aborted"), "{abort:#?}");
    let status = wait_within(child, Duration::from_secs(60), "the aborted run").status;
    assert_eq!(status.code(), Some(1), "the stopped run exits 1");
    assert_eq!(orchestra.state()["status"], "aborted");
    let log = std::fs::read_to_string(
        orchestra.repo.root.join(".kittify/logs").join(FEATURE).join("WP01-implementation-1.log"),
    )
    .unwrap();
    assert!(log.contains("told to stop"), "the agent got SIGTERM: {log}");
    let events = orchestra.events();
    assert!(payloads(&events, "FeatureCompleted").is_empty());
    let agent_errors: Vec<_> =
        payloads(&events, "ErrorLogged").into_iter().filter(|p| p.get("agent_id").is_some()).collect();
    assert!(agent_errors.is_empty(), "a stop is no agent failure: {agent_errors:#?}");
    assert_eq!(orchestra.repo.lane("WP01"), "doing");
}
