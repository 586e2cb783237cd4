//! Issue 7, items 1-3: many `spec-kitty` processes at once on one repository and one state folder.
//! Every change a command reports is on disk, committed where the command commits, and queued
//! exactly once; the project lock (`.git/spec-kitty.lock`) makes them wait for each other, never
//! fail on each other, and its wait is bounded.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const PROCESSES: usize = 8;
const COMMANDS_PER_PROCESS: usize = 50;

/// Runs `work(p)` on `PROCESSES` threads started together; returns what each returned, by `p`.
fn in_parallel<T: Send + 'static>(processes: usize, work: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(processes));
    let threads: Vec<_> = (0..processes)
        .map(|p| {
            let work = Arc::clone(&work);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                work(p)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a process thread failed")).collect()
}

#[track_caller]
fn assert_distinct_ids_and_clocks(events: &[Value]) {
    let ids: BTreeSet<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "an event_id was queued twice");
    let values: BTreeSet<u64> = clocks(events).into_iter().collect();
    assert_eq!(values.len(), events.len(), "a Lamport value was handed out twice");
}

/// Item 1: 8 processes × 50 `add-history` on the same WP: every reported note is in the file once
/// and queued once.
#[test]
fn item_01_parallel_add_history_loses_no_note_and_queues_each_once() {
    let repo = Arc::new(TestRepo::new());
    // The project identity first, so that the processes only append and emit.
    repo.run(&["init"]).ok();
    let shared = Arc::clone(&repo);
    let reported: Vec<Vec<String>> = in_parallel(PROCESSES, move |p| {
        (0..COMMANDS_PER_PROCESS)
            .map(|j| {
                let note = format!("p{p}-n{j}");
                shared.run(&["agent", "tasks", "add-history", "WP01", "--note", &note]).ok();
                note
            })
            .collect()
    });
    let reported: Vec<String> = reported.into_iter().flatten().collect();
    assert_eq!(reported.len(), PROCESSES * COMMANDS_PER_PROCESS);

    // The file: each note exactly once.
    let text = repo.wp_text("WP01");
    let mut in_file: BTreeMap<&str, usize> = BTreeMap::new();
    for note in activity_notes(&text) {
        *in_file.entry(note).or_default() += 1;
    }
    let lost: Vec<&String> = reported.iter().filter(|n| !in_file.contains_key(n.as_str())).collect();
    assert!(lost.is_empty(), "{} of {} notes lost from WP01's file: {lost:?}", lost.len(), reported.len());
    for note in &reported {
        assert_eq!(in_file[note.as_str()], 1, "note {note} in WP01's file once");
    }

    // The queue: exactly one HistoryAdded per note.
    let events = repo.events();
    assert_distinct_ids_and_clocks(&events);
    let history = of_type(&events, "HistoryAdded");
    assert_eq!(history.len(), reported.len(), "one HistoryAdded per command");
    let mut queued: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &history {
        assert_eq!(event["payload"]["wp_id"], "WP01");
        *queued.entry(event["payload"]["entry_content"].as_str().unwrap()).or_default() += 1;
    }
    for note in &reported {
        assert_eq!(queued.get(note.as_str()), Some(&1), "note {note} queued once");
    }
}

/// The subtasks of tasks.md and the WP owning each, in file order.
fn subtask_owners(tasks: &str) -> Vec<(String, String)> {
    let mut wp = None;
    let mut owners = Vec::new();
    for line in tasks.lines() {
        if let Some(rest) = line.strip_prefix("## Work Package ") {
            wp = Some(rest.split(':').next().unwrap().to_string());
        } else if line.starts_with("## ") {
            wp = None;
        } else if let (Some(wp), Some(rest)) = (&wp, line.strip_prefix("- [ ] ").or(line.strip_prefix("- [x] "))) {
            let id = rest.split_whitespace().next().unwrap();
            if id.starts_with('T') {
                owners.push((id.to_string(), wp.clone()));
            }
        }
    }
    owners
}

/// The checkbox state of each subtask in tasks.md: true when ticked.
fn checkboxes(tasks: &str) -> BTreeMap<String, bool> {
    let mut state = BTreeMap::new();
    for line in tasks.lines() {
        let (done, rest) = match (line.strip_prefix("- [x] "), line.strip_prefix("- [ ] ")) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let id = rest.split_whitespace().next().unwrap_or("");
        if id.len() == 4 && id.starts_with('T') {
            assert!(state.insert(id.to_string(), done).is_none(), "{id} has two checkboxes");
        }
    }
    state
}

/// Item 2: 8 processes tick (then untick, in alternating rounds) disjoint subtasks of one tasks.md,
/// one subtask per command: after each round every checkbox is as the commands reported, and each
/// reported change has its one HistoryAdded.
#[test]
fn item_02_parallel_mark_status_loses_no_checkbox_and_queues_each_change_once() {
    const ROUNDS: usize = 10;
    let repo = Arc::new(TestRepo::new());
    repo.run(&["init"]).ok();
    let owners = subtask_owners(&std::fs::read_to_string(repo.tasks_path()).unwrap());
    assert_eq!(owners.len(), 43, "the 028 fixture has T001..T043: {owners:?}");
    let owner_of: BTreeMap<String, String> = owners.iter().cloned().collect();
    // Process p owns subtasks p, p+8, p+16, ...: 5 or 6 each, so 10 rounds give each ≥ 50 commands.
    let mine: Arc<Vec<Vec<String>>> = Arc::new(
        (0..PROCESSES).map(|p| owners.iter().skip(p).step_by(PROCESSES).map(|(id, _)| id.clone()).collect()).collect(),
    );
    assert!(mine.iter().all(|ids| ids.len() * ROUNDS >= COMMANDS_PER_PROCESS));

    let mut commands = 0;
    for round in 0..ROUNDS {
        let status = if round % 2 == 0 { "done" } else { "pending" };
        let before = repo.events().len();
        let (shared, mine) = (Arc::clone(&repo), Arc::clone(&mine));
        // What each command reported it changed: (subtask, wp).
        let reported: Vec<Vec<(String, String)>> = in_parallel(PROCESSES, move |p| {
            let mut changed = Vec::new();
            for id in &mine[p] {
                let run = shared.run(&["agent", "tasks", "mark-status", id, "--status", status, "--json"]).ok();
                let report = run.json();
                let changes = report["changes"].as_array().expect("the changes").clone();
                assert_eq!(changes.len(), 1, "one subtask requested: {report:#}");
                assert_eq!(changes[0]["subtask"], id.as_str());
                // Nobody else touches this subtask: it must have changed.
                assert_eq!(changes[0]["was_done"], status == "pending", "{id} was in the other state: {report:#}");
                changed.push((id.clone(), changes[0]["wp"].as_str().unwrap().to_string()));
            }
            changed
        });
        let reported: Vec<(String, String)> = reported.into_iter().flatten().collect();
        commands += reported.len();
        assert_eq!(reported.len(), owners.len());

        // tasks.md: every checkbox as reported.
        let state = checkboxes(&std::fs::read_to_string(repo.tasks_path()).unwrap());
        assert_eq!(state.len(), owners.len());
        let wrong: Vec<&String> =
            state.iter().filter(|(_, done)| **done != (status == "done")).map(|(id, _)| id).collect();
        assert!(wrong.is_empty(), "round {round} ({status}): {} checkbox change(s) lost: {wrong:?}", wrong.len());

        // The queue: one HistoryAdded per command (one subtask, so one WP), for that subtask and WP.
        let events = repo.events();
        let new = &events[before..];
        assert_eq!(new.len(), reported.len(), "round {round}: one event per changing command");
        let mut queued: BTreeMap<(String, String), usize> = BTreeMap::new();
        for event in new {
            assert_eq!(event["event_type"], "HistoryAdded", "{event:#}");
            let content = event["payload"]["entry_content"].as_str().unwrap();
            assert!(content.ends_with(&format!("as {status}")), "{content}");
            let id = content.trim_start_matches("Marked ").split(' ').next().unwrap().trim_end_matches(',');
            let wp = event["payload"]["wp_id"].as_str().unwrap();
            assert_eq!(owner_of[id], wp, "{content} queued for {wp}");
            *queued.entry((id.to_string(), wp.to_string())).or_default() += 1;
        }
        for change in &reported {
            assert_eq!(queued.get(change), Some(&1), "round {round}: the change {change:?} queued once");
        }
    }
    assert!(commands >= PROCESSES * COMMANDS_PER_PROCESS);
    assert_distinct_ids_and_clocks(&repo.events());
}

/// The lane a move to `from` goes to next in item 3's cycle, and whether it needs --force:
/// planned -> doing -> for_review -> doing -> for_review ... and every fifth move from for_review
/// back to planned with --force.
fn next_move(from: &str, k: usize) -> (&'static str, bool) {
    match from {
        "planned" => ("doing", false),
        "doing" => ("for_review", false),
        "for_review" if k % 5 == 4 => ("planned", true),
        "for_review" => ("doing", false),
        other => panic!("no move from {other}"),
    }
}

/// Item 3: 7 processes move their own WP 50 times each while an 8th adds 50 notes across the
/// WPs: every command succeeds, one commit and one WPStatusChanged per move, the right lanes.
#[test]
fn item_03_parallel_move_task_on_seven_wps_commits_and_queues_every_move_once() {
    let repo = Arc::new(TestRepo::new());
    repo.run(&["init"]).ok();
    let commits_before: usize = repo.git(&["rev-list", "--count", "HEAD"]).parse().unwrap();
    let shared = Arc::clone(&repo);
    // For the movers, the (from, to) of each move; for the 8th, its notes as (wp, note).
    let done: Vec<Vec<(String, String)>> = in_parallel(PROCESSES, move |p| {
        let mut log = Vec::new();
        if p == WPS.len() {
            for j in 0..COMMANDS_PER_PROCESS {
                let (wp, note) = (WPS[j % WPS.len()], format!("h-{j}"));
                shared.run(&["agent", "tasks", "add-history", wp, "--note", &note]).ok();
                log.push((wp.to_string(), note));
            }
            return log;
        }
        let wp = WPS[p];
        let mut lane = "planned";
        for k in 0..COMMANDS_PER_PROCESS {
            let (to, force) = next_move(lane, k);
            let mut args = vec!["agent", "tasks", "move-task", wp, "--to", to, "--json"];
            if force {
                args.push("--force");
            }
            let report = shared.run(&args).ok().json();
            assert_eq!(report["previous_lane"], lane, "{wp}: {report:#}");
            assert_eq!(report["lane"], to, "{wp}: {report:#}");
            log.push((lane.to_string(), to.to_string()));
            lane = to;
        }
        log
    });
    let moves = &done[..WPS.len()];
    let notes = &done[WPS.len()];
    let total: usize = done.iter().map(Vec::len).sum();
    assert!(total >= PROCESSES * COMMANDS_PER_PROCESS);

    // Lanes: each WP ends where its last move took it.
    for (wp, moves) in WPS.iter().zip(moves) {
        assert_eq!(repo.lane(wp), moves.last().unwrap().1, "{wp}'s lane");
    }
    // git: one commit per move, in each WP's order.
    let commits: usize = repo.git(&["rev-list", "--count", "HEAD"]).parse().unwrap();
    let all_moves: usize = moves.iter().map(Vec::len).sum();
    assert_eq!(commits - commits_before, all_moves, "one commit per move");
    let subjects = repo.git(&["log", "--reverse", "--format=%s"]);
    for (wp, moves) in WPS.iter().zip(moves) {
        let committed: Vec<&str> = subjects.lines().filter(|s| s.starts_with(&format!("{wp}: "))).collect();
        let expected: Vec<String> = moves.iter().map(|(from, to)| format!("{wp}: {from} -> {to}")).collect();
        assert_eq!(committed, expected, "{wp}'s commits");
    }
    // The committed files hold the lanes too (no move left uncommitted or overwritten in git).
    for (wp, moves) in WPS.iter().zip(moves) {
        let path = repo.wp_path(wp);
        let relative = path.strip_prefix(&repo.root).unwrap().to_str().unwrap().to_string();
        let committed = repo.git(&["show", &format!("HEAD:{relative}")]);
        assert_eq!(frontmatter_lane(&committed), moves.last().unwrap().1, "{wp}'s lane in HEAD");
    }

    // The queue: exactly one WPStatusChanged per move, with its lanes, in each WP's order.
    let events = repo.events();
    assert_distinct_ids_and_clocks(&events);
    let changes = of_type(&events, "WPStatusChanged");
    assert_eq!(changes.len(), all_moves, "one WPStatusChanged per move");
    for (wp, moves) in WPS.iter().zip(moves) {
        let queued: Vec<(String, String)> = changes
            .iter()
            .filter(|e| e["payload"]["wp_id"] == *wp)
            .map(|e| {
                let lane = |k: &str| e["payload"][k].as_str().unwrap().to_string();
                (lane("previous_status"), lane("new_status"))
            })
            .collect();
        assert_eq!(&queued, moves, "{wp}'s WPStatusChanged events");
    }
    // The notes written between the moves are all there, once, and queued once.
    let history = of_type(&events, "HistoryAdded");
    assert_eq!(history.len(), notes.len());
    for (wp, note) in notes {
        let text = repo.wp_text(wp);
        let count = activity_notes(&text).iter().filter(|n| **n == note.as_str()).count();
        assert_eq!(count, 1, "note {note} in {wp}'s file once");
        let queued = history.iter().filter(|e| e["payload"]["entry_content"] == note.as_str()).count();
        assert_eq!(queued, 1, "note {note} queued once");
    }
}

/// Items 1-3: the project lock's wait is bounded by SPEC_KITTY_LOCK_TIMEOUT_MS; a command that
/// cannot take it fails with the lock file named and changes nothing.
#[test]
fn items_01_to_03_a_held_project_lock_fails_the_command_after_its_timeout() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "before"]).ok();
    let before = repo.wp_text("WP01");
    let events_before = repo.events();
    let lock_path = repo.root.join(".git").join("spec-kitty.lock");
    let holder = std::fs::File::options().write(true).create(true).truncate(false).open(&lock_path).unwrap();
    holder.lock().unwrap();

    let run = repo.run_within(
        Duration::from_secs(30),
        &[("SPEC_KITTY_LOCK_TIMEOUT_MS", "300")],
        &["agent", "tasks", "add-history", "WP01", "--note", "while the lock is held"],
    );
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "one error line: {run:#?}");
    assert!(errors[0].contains("spec-kitty.lock"), "names the lock file: {}", errors[0]);
    assert_eq!(repo.wp_text("WP01"), before, "the WP file is unchanged");
    let events = repo.events();
    assert!(of_type(&events[events_before.len()..], "HistoryAdded").is_empty(), "no note queued");

    // Released: the same command goes through.
    holder.unlock().unwrap();
    drop(holder);
    repo.run_within(
        Duration::from_secs(30),
        &[("SPEC_KITTY_LOCK_TIMEOUT_MS", "300")],
        &["agent", "tasks", "add-history", "WP01", "--note", "after the lock"],
    )
    .ok();
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"after the lock"));
}
