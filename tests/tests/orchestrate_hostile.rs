//! `spec-kitty orchestrate` against what a hostile user, or a misbehaving agent, does to it, through
//! the real binary with scripted agents: an agents.yaml that is no small file, a verdict followed by a
//! warning on stderr, processes an agent leaves running, an agent that removes its worktree, switches its
//! branch or leaves its work uncommitted, a moment of a locked index, `--abort` of a finished run and
//! twice, an unreadable state file, and the logs of an earlier run.

mod common;
mod orchestrate_support;

use common::*;
use orchestrate_support::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A bound on a refused run: anything but a quick refusal (a hang on a FIFO) fails the test.
const REFUSAL_LIMIT: Duration = Duration::from_secs(60);

/// Whether process `pid` still runs (a zombie waiting for its parent to reap it has ended).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string)))
        .is_some_and(|state| state != "Z" && state != "X")
}

fn worktree_of(orchestra: &Orchestra, wp: &str) -> std::path::PathBuf {
    orchestra.repo.root.join(".worktrees").join(format!("{FEATURE}-{wp}"))
}

fn error_messages(orchestra: &Orchestra) -> Vec<String> {
    payloads(&orchestra.events(), "ErrorLogged")
        .iter()
        .map(|p| p["error_message"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn an_agents_yaml_that_is_no_small_regular_file_is_refused_at_once() {
    let orchestra = Orchestra::new();
    let path = orchestra.repo.root.join(".kittify/agents.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let refused = |expected: &str| {
        let mut all = vec!["orchestrate", "--feature", FEATURE, "--json"];
        let run = orchestra.repo.run_within(REFUSAL_LIMIT, &[], &all);
        assert_eq!(run.code, Some(2), "{run:#?}");
        let message = run.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(".kittify/agents.yaml") && message.contains(expected), "{message}");
        assert_eq!(run.errors().len(), 1, "{run:#?}");
        all.push("--dry-run");
        assert_eq!(orchestra.repo.run_within(REFUSAL_LIMIT, &[], &all).code, Some(2));
    };
    // A link to a device that never ends: refused before it is read into memory.
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    refused("is not a regular file");
    // A FIFO nobody writes: refused, not waited on.
    std::fs::remove_file(&path).unwrap();
    let fifo = std::ffi::CString::new(path.display().to_string()).unwrap();
    // SAFETY: mkfifo only creates the named FIFO in the test's own folder.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    refused("is not a regular file");
    // 10 MB of agents: refused by its size, not parsed for minutes.
    std::fs::remove_file(&path).unwrap();
    let entries: String = (0..400_000).map(|i| format!("  a{i}: {{command: /bin/true}}\n")).collect();
    std::fs::write(&path, format!("agents:\n{entries}")).unwrap();
    refused("is larger than 1024 KiB");
    // Under the size, thousands of agents are refused by their number.
    let entries: String = (0..5_000).map(|i| format!("  a{i}: {{command: /bin/true}}\n")).collect();
    std::fs::write(&path, format!("agents:\n{entries}")).unwrap();
    refused("5000 agents: at most 256");
    assert!(orchestra.events().iter().all(|e| e["event_type"] == "ErrorLogged"));
    assert!(!orchestra.repo.root.join(".kittify/orchestration-state.json").exists());
}

#[test]
fn a_verdict_on_stdout_is_not_hidden_by_a_warning_on_stderr_after_it() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let beta = r#"
if [ "$SPEC_KITTY_PHASE" = review ]; then echo "VERDICT: approved"; echo "warning: 3 tokens left" >&2; exit 0; fi
work"#;
    orchestra.two_agents("work", beta, "max_retries: 0\n");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP01"), "done");
    let log =
        std::fs::read_to_string(orchestra.repo.root.join(".kittify/logs").join(FEATURE).join("WP01-review-1.log"))
            .unwrap();
    assert!(log.contains("VERDICT: approved") && log.contains("warning: 3 tokens left"), "both in the log: {log}");
    assert!(error_messages(&orchestra).is_empty());
}

#[test]
fn what_an_agent_leaves_running_in_its_group_is_killed_even_when_it_ignores_sigterm() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let top = orchestra.repo.top().display().to_string();
    // The implementer leaves a child that ignores SIGTERM and keeps writing in the worktree (bounded: 120 s).
    let alpha = format!(
        r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then
  ( trap '' TERM; exec >/dev/null 2>&1; i=0; while [ $i -lt 1200 ]; do date >> lingering.txt; sleep 0.1; i=$((i + 1)); done ) &
  echo $! > "{top}/left-pid"
fi
work"#
    );
    orchestra.two_agents(&alpha, "work", "");
    orchestra.orchestrate(&[]).ok();
    let pid: u32 = std::fs::read_to_string(orchestra.path("left-pid")).unwrap().trim().parse().unwrap();
    let gone = Instant::now() + Duration::from_secs(30);
    while running(pid) && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = running(pid);
    if still {
        // SAFETY: kill only ends the test's own leftover process.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    assert!(!still, "the process the implementer left was not killed");
    assert_eq!(orchestra.repo.lane("WP01"), "done");
}

#[test]
fn a_worktree_removed_by_its_implementer_comes_back_from_its_branch_for_the_review() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    let alpha = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then work; cd /; rm -rf "$SPEC_KITTY_WORKTREE"; exit 0; fi
work"#;
    let beta = r#"
if [ "$SPEC_KITTY_PHASE" = review ]; then [ -f work-WP01.txt ] || { echo "the work is not here"; exit 5; }; fi
work"#;
    orchestra.two_agents(alpha, beta, "max_retries: 0\n");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP01"), "done");
    assert!(worktree_of(&orchestra, "WP01").join("work-WP01.txt").is_file());
    assert!(error_messages(&orchestra).is_empty(), "{:#?}", error_messages(&orchestra));
}

#[test]
fn an_implementer_that_leaves_its_work_off_the_wp_branch_fails_its_try() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP02", "WP03"]);
    // alpha's first tries: WP02's work committed on another branch, WP03's left uncommitted in a
    // tracked file. beta, the fallback, commits what it finds and does the work.
    let alpha = r#"
case "$SPEC_KITTY_WP:$SPEC_KITTY_PHASE:$SPEC_KITTY_TRY" in
  WP02:implementation:1) git checkout -q -b rogue-WP02; work; exit 0;;
  WP03:implementation:1) echo "half done" >> "$(git ls-files | grep 'tasks.md$' | head -1)"; exit 0;;
esac
work"#;
    let beta = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then git commit -q -am "Take over the uncommitted work" || true; fi
work"#;
    orchestra.two_agents(alpha, beta, "");
    let run = orchestra.orchestrate(&["--max-parallel", "2"]).ok();
    for wp in ["WP02", "WP03"] {
        assert_eq!(orchestra.repo.lane(wp), "done", "{wp}");
    }
    let errors = error_messages(&orchestra);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let switched = errors.iter().find(|m| m.starts_with("WP02")).expect("WP02's try failed");
    assert!(
        switched.contains(
            "implementation try 1 by alpha failed: exited with status 0 but left its worktree on branch `rogue-WP02`"
        ),
        "{switched}"
    );
    let uncommitted = errors.iter().find(|m| m.starts_with("WP03")).expect("WP03's try failed");
    assert!(uncommitted.contains("left changes to tracked files uncommitted"), "{uncommitted}");
    assert!(run.stdout.contains("left its worktree on branch `rogue-WP02`"), "said where the user watches: {run:#?}");
    // The fallback worked on the WP's branch; the review saw that branch.
    let wp02_branch = format!("{FEATURE}-WP02");
    let wp02 = worktree_of(&orchestra, "WP02");
    assert_eq!(git_in(&wp02, &orchestra.repo.user_home, &["rev-parse", "--abbrev-ref", "HEAD"]), wp02_branch);
    let log = orchestra.repo.git(&["log", "--format=%s", &wp02_branch]);
    assert!(log.contains("WP02: work (try 2)"), "{log}");
    let assigned: Vec<(String, String, u64, String)> = assignments(&orchestra.events());
    assert!(assigned.contains(&("WP02".into(), "implementation".into(), 1, "beta".into())), "{assigned:#?}");
    assert_no_event_twice(&orchestra.events());
}

#[test]
fn a_lane_move_waits_out_a_moment_of_a_locked_index() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    // The implementer leaves the main repository's index locked for a moment (as a commit there
    // would), by a process outside its group that unlocks it a second later.
    let alpha = r#"
if [ "$SPEC_KITTY_PHASE" = implementation ]; then
  work
  lock="$(git rev-parse --git-common-dir)/index.lock"
  touch "$lock"
  setsid sh -c "sleep 1; rm -f '$lock'" >/dev/null 2>&1 < /dev/null &
  exit 0
fi
work"#;
    orchestra.two_agents(alpha, "work", "max_retries: 0\n");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP01"), "done");
    assert!(error_messages(&orchestra).is_empty(), "{:#?}", error_messages(&orchestra));
    assert_eq!(orchestra.repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "");
}

#[test]
fn abort_keeps_a_completed_run_completed_and_a_second_abort_changes_nothing() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    orchestra.two_agents("work", "work", "");
    orchestra.orchestrate(&[]).ok();
    let refused = orchestra.orchestrate(&["--abort", "--json"]);
    assert_eq!(refused.code, Some(2), "{refused:#?}");
    assert!(refused.json()["error"].as_str().unwrap().contains("is completed: there is nothing to abort"));
    assert_eq!(orchestra.state()["status"], "completed");

    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    orchestra.two_agents("exit 3", "exit 3", "max_retries: 0\n");
    assert_eq!(orchestra.orchestrate(&[]).code, Some(1));
    let first = orchestra.orchestrate(&["--abort", "--json"]).ok().json();
    assert_eq!((first["status"].as_str(), first["already_aborted"].as_bool()), (Some("aborted"), Some(false)));
    let aborted = orchestra.state();
    let second = orchestra.orchestrate(&["--abort", "--json"]).ok().json();
    assert_eq!(second["already_aborted"], true);
    assert_eq!(orchestra.state(), aborted, "the second abort leaves the state as it was");
}

#[test]
fn an_unreadable_state_is_set_aside_by_abort_and_a_new_run_completes() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    orchestra.two_agents("exit 3", "exit 3", "max_retries: 0\n");
    assert_eq!(orchestra.orchestrate(&[]).code, Some(1));
    let state = orchestra.repo.root.join(".kittify/orchestration-state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    std::fs::write(&state, &text[..text.len() / 2]).unwrap();

    for mode in [&["--resume"][..], &[], &["--status"]] {
        let run = orchestra.orchestrate(mode);
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert_eq!(run.errors().len(), 1, "{run:#?}");
        assert!(run.errors()[0].contains("not a saved orchestration run"), "{run:#?}");
        assert!(run.errors()[0].contains("`spec-kitty orchestrate --abort` sets it aside"), "{run:#?}");
    }
    let aborted = orchestra.orchestrate(&["--abort", "--json"]).ok().json();
    let aside = aborted["state_set_aside"].as_str().expect("where it went").to_string();
    assert_eq!(std::fs::read_to_string(orchestra.repo.root.join(&aside)).unwrap(), text[..text.len() / 2]);
    assert!(!state.exists());
    assert!(!orchestra.repo.git(&["status", "--porcelain"]).contains("unreadable"), "kept out of git");

    orchestra.two_agents("work", "work", "");
    orchestra.orchestrate(&[]).ok();
    assert_eq!(orchestra.repo.lane("WP01"), "done");
    assert_eq!(orchestra.state()["status"], "completed");
}

#[test]
fn the_logs_of_an_earlier_run_are_kept_when_a_new_run_tries_again() {
    let orchestra = Orchestra::new();
    orchestra.only_planned(&["WP01"]);
    orchestra.two_agents("echo 'the first run failed here'; exit 3", "exit 3", "max_retries: 0\n");
    assert_eq!(orchestra.orchestrate(&[]).code, Some(1));
    let failed = error_messages(&orchestra);
    assert!(failed[0].contains("WP01-implementation-1.log"), "{failed:#?}");
    orchestra.orchestrate(&["--abort"]).ok();
    orchestra.two_agents("work", "work", "");
    orchestra.orchestrate(&[]).ok();
    let log = logs_dir(&orchestra).join("WP01-implementation-1.log");
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("the first run failed here"), "the log the error points at is kept: {text}");
    assert!(text.contains("implemented WP01"), "and the new try's output follows: {text}");
}

fn logs_dir(orchestra: &Orchestra) -> std::path::PathBuf {
    Path::new(&orchestra.repo.root).join(".kittify/logs").join(FEATURE)
}
