//! The workflow commands through the real binary, on a copy of the 028 feature: each does its job
//! in the repository and queues exactly the events of the contract (§4), each valid against the
//! reference schema.

mod common;

use common::*;
use serde_json::{Value, json};

fn status_change<'a>(event: &'a Value, wp: &str, from: &str, to: &str) -> &'a Value {
    assert_eq!(event["event_type"], "WPStatusChanged", "{event:#}");
    assert_eq!(event["aggregate_type"], "WorkPackage");
    assert_eq!(event["aggregate_id"], wp);
    let payload = &event["payload"];
    assert_eq!(payload["wp_id"], wp, "{event:#}");
    assert_eq!(payload["previous_status"], from, "{event:#}");
    assert_eq!(payload["new_status"], to, "{event:#}");
    assert_eq!(payload["feature_slug"], FEATURE, "{event:#}");
    payload
}

fn worktree(repo: &TestRepo, wp: &str) -> std::path::PathBuf {
    repo.root.join(".worktrees").join(format!("{FEATURE}-{wp}"))
}

fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    let mut command = std::process::Command::new("git");
    command.args(["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")]).current_dir(&repo.root);
    isolate(&mut command, &repo.user_home);
    command.output().unwrap().status.success()
}

#[test]
fn finalize_tasks_queues_the_feature_and_its_seven_wps_with_one_cause() {
    let repo = TestRepo::new();
    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks", "--json"]);
    let report = run.ok().json();
    assert_eq!(report["ok"], true);
    assert_eq!(events.len(), 8, "1 FeatureCreated + 7 WPCreated: {events:#?}");

    let created = &events[0];
    assert_eq!(created["event_type"], "FeatureCreated");
    assert_eq!(created["aggregate_type"], "Feature");
    assert_eq!(created["aggregate_id"], FEATURE);
    assert_eq!(created["payload"]["feature_slug"], FEATURE);
    assert_eq!(created["payload"]["feature_number"], "028");
    assert_eq!(created["payload"]["target_branch"], "2.x");
    assert_eq!(created["payload"]["wp_count"], 7);

    let expected_dependencies: [(&str, &[&str]); 7] = [
        ("WP01", &[]),
        ("WP02", &["WP01"]),
        ("WP03", &["WP01"]),
        ("WP04", &["WP01"]),
        ("WP05", &["WP01"]),
        ("WP06", &["WP05"]),
        ("WP07", &["WP06"]),
    ];
    let wp_created = of_type(&events, "WPCreated");
    assert_eq!(wp_created.len(), 7);
    for (event, (wp, dependencies)) in wp_created.iter().zip(expected_dependencies) {
        assert_eq!(event["aggregate_type"], "WorkPackage");
        assert_eq!(event["aggregate_id"], wp);
        assert_eq!(event["payload"]["wp_id"], wp);
        assert_eq!(event["payload"]["feature_slug"], FEATURE);
        assert_eq!(event["payload"]["dependencies"], json!(dependencies), "dependencies of {wp}");
        assert!(!event["payload"]["title"].as_str().unwrap().is_empty(), "{wp} has a title");
    }
    assert_eq!(wp_created[0]["payload"]["title"], "Event Factory Module");

    // One shared causation_id, a ULID, the one the command reports.
    let cause = created["causation_id"].as_str().expect("a causation_id");
    assert_eq!(cause.len(), 26);
    assert!(events.iter().all(|e| e["causation_id"] == cause), "one causation_id for all 8");
    assert_eq!(report["causation_id"], cause);
    assert_strictly_increasing(&clocks(&events));

    // The WP files carry the dependencies tasks.md declares.
    assert!(repo.wp_text("WP07").contains("dependencies: [WP06]") || repo.wp_text("WP07").contains("- WP06"));
    // The working tree is clean: whatever finalize-tasks wrote, it committed.
    assert_eq!(repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "");
}

#[test]
fn finalize_tasks_writes_missing_dependencies_into_the_wp_files_and_commits_them() {
    let repo = TestRepo::new();
    // WP06's file lost its dependencies; tasks.md still says "Depends on WP05".
    let path = repo.wp_path("WP06");
    let text = repo.wp_text("WP06").replacen("dependencies: [WP05]", "dependencies: []", 1);
    std::fs::write(&path, text).unwrap();
    repo.git(&["commit", "--quiet", "-am", "drop WP06's dependencies"]);
    let head = repo.git(&["rev-parse", "HEAD"]);

    let (run, events) = repo.new_events(&["agent", "feature", "finalize-tasks"]);
    run.ok();
    assert_eq!(of_type(&events, "WPCreated")[5]["payload"]["dependencies"], json!(["WP05"]));
    let frontmatter = repo.wp_text("WP06");
    let frontmatter = frontmatter.split("\n---").next().unwrap();
    assert!(frontmatter.contains("WP05"), "WP06's dependencies written back:\n{frontmatter}");
    assert_ne!(repo.git(&["rev-parse", "HEAD"]), head, "finalize-tasks committed");
    assert_eq!(repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "");
}

#[test]
fn implement_queues_one_status_change_and_creates_the_worktree_and_branch_once() {
    let repo = TestRepo::new();
    let (run, events) = repo.new_events(&["implement", "WP01", "--json"]);
    let report = run.ok().json();
    assert_eq!(events.len(), 1, "{events:#?}");
    let payload = status_change(&events[0], "WP01", "planned", "doing");
    assert_eq!(payload["changed_by"], "user");

    let branch = format!("{FEATURE}-WP01");
    let tree = worktree(&repo, "WP01");
    assert!(tree.join(".git").exists(), "a worktree at {}", tree.display());
    assert!(branch_exists(&repo, &branch));
    assert_eq!(git_in(&tree, &repo.user_home, &["rev-parse", "--abbrev-ref", "HEAD"]), branch);
    assert!(repo.git(&["worktree", "list", "--porcelain"]).contains(&format!("branch refs/heads/{branch}")));
    assert_eq!(report["branch"], branch.as_str());
    assert_eq!(repo.lane("WP01"), "doing");
    assert!(repo.wp_text("WP01").trim_end().lines().last().unwrap().contains("lane=doing"));
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "WP01: planned -> doing");

    // Again: nothing happens, nothing is queued.
    let (again, events) = repo.new_events(&["implement", "WP01", "--json"]);
    assert_eq!(again.ok().json()["already_started"], true);
    assert!(events.is_empty(), "a second implement emits nothing: {events:#?}");
}

#[test]
fn implement_starts_a_dependent_from_its_unfinished_dependency_branch() {
    let repo = TestRepo::new();
    repo.run(&["implement", "WP05"]).ok();
    let (run, events) = repo.new_events(&["implement", "WP06", "--json"]);
    assert_eq!(run.ok().json()["base"], format!("{FEATURE}-WP05"));
    assert_eq!(events.len(), 1);
    status_change(&events[0], "WP06", "planned", "doing");
    assert!(worktree(&repo, "WP06").is_dir());
}

#[test]
fn move_task_reports_the_real_previous_lane_and_who_moved_it() {
    let repo = TestRepo::new();
    let (run, events) = repo.new_events(&["agent", "tasks", "move-task", "WP02", "--to", "doing", "--agent", "codex"]);
    run.ok();
    assert_eq!(events.len(), 1);
    assert_eq!(status_change(&events[0], "WP02", "planned", "doing")["changed_by"], "codex");
    assert_eq!(repo.lane("WP02"), "doing");
    let last = repo.wp_text("WP02").trim_end().lines().last().unwrap().to_string();
    assert!(last.contains("codex") && last.contains("lane=doing") && last.contains("Moved to doing"), "{last}");

    let (run, events) = repo.new_events(&[
        "agent",
        "tasks",
        "move-task",
        "WP02",
        "--to",
        "for_review",
        "--note",
        "Ready for review",
        "--json",
    ]);
    let report = run.ok().json();
    assert_eq!(report["previous_lane"], "doing");
    assert_eq!(report["lane"], "for_review");
    assert_eq!(events.len(), 1);
    assert_eq!(status_change(&events[0], "WP02", "doing", "for_review")["changed_by"], "user");
    assert!(repo.wp_text("WP02").trim_end().ends_with("lane=for_review – Ready for review"));

    // planned -> done is not a workflow move: refused, nothing changes, only the error is logged.
    let before = repo.wp_text("WP03");
    let (refused, events) =
        repo.new_events(&["agent", "tasks", "move-task", "WP03", "--to", "done", "--agent", "claude"]);
    refused.failed();
    assert_eq!(repo.wp_text("WP03"), before);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["event_type"], "ErrorLogged");
    assert_eq!(events[0]["payload"]["error_type"], "validation");
    assert_eq!(events[0]["payload"]["wp_id"], "WP03");
    assert_eq!(events[0]["payload"]["agent_id"], "claude");

    // With --force it is allowed.
    let (forced, events) =
        repo.new_events(&["agent", "tasks", "move-task", "WP03", "--to", "done", "--agent", "claude", "--force"]);
    forced.ok();
    assert_eq!(events.len(), 1);
    assert_eq!(status_change(&events[0], "WP03", "planned", "done")["changed_by"], "claude");
    assert_eq!(repo.lane("WP03"), "done");
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "WP03: planned -> done");
}

#[test]
fn mark_status_ticks_subtasks_and_queues_history_for_the_owning_wps() {
    let repo = TestRepo::new();
    let (run, events) =
        repo.new_events(&["agent", "tasks", "mark-status", "T001", "T002", "T008", "--status", "done", "--json"]);
    run.ok().json();
    assert_eq!(events.len(), 2, "one HistoryAdded per owning WP: {events:#?}");
    let by_wp: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["event_type"], "HistoryAdded");
            assert_eq!(e["aggregate_id"], e["payload"]["wp_id"]);
            assert_eq!(e["payload"]["entry_type"], "note");
            (e["payload"]["wp_id"].as_str().unwrap(), e["payload"]["entry_content"].as_str().unwrap())
        })
        .collect();
    assert_eq!(by_wp[0].0, "WP01");
    assert!(by_wp[0].1.contains("T001") && by_wp[0].1.contains("T002") && !by_wp[0].1.contains("T008"));
    assert_eq!(by_wp[1].0, "WP02");
    assert!(by_wp[1].1.contains("T008"));

    let tasks = std::fs::read_to_string(repo.tasks_path()).unwrap();
    for done in ["T001", "T002", "T008"] {
        assert!(tasks.contains(&format!("- [x] {done} ")), "{done} ticked");
    }
    assert!(tasks.contains("- [ ] T003 "), "T003 untouched");

    // Already done: no change, no event.
    let (run, events) = repo.new_events(&["agent", "tasks", "mark-status", "T001", "--status", "done"]);
    run.ok();
    assert!(events.is_empty(), "{events:#?}");

    // Back to pending, by an agent.
    let (run, events) =
        repo.new_events(&["agent", "tasks", "mark-status", "T008", "--status", "pending", "--agent", "codex"]);
    run.ok();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["payload"]["wp_id"], "WP02");
    assert_eq!(events[0]["payload"]["author"], "codex");
    assert!(std::fs::read_to_string(repo.tasks_path()).unwrap().contains("- [ ] T008 "));
}

#[test]
fn add_history_appends_an_activity_line_and_queues_a_note() {
    let repo = TestRepo::new();
    let before = repo.wp_text("WP03");
    let (run, events) = repo.new_events(&[
        "agent",
        "tasks",
        "add-history",
        "WP03",
        "--note",
        "Looked at the queue",
        "--agent",
        "claude",
    ]);
    run.ok();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["event_type"], "HistoryAdded");
    assert_eq!(event["aggregate_type"], "WorkPackage");
    assert_eq!(event["aggregate_id"], "WP03");
    assert_eq!(
        event["payload"],
        json!({"wp_id": "WP03", "entry_type": "note", "entry_content": "Looked at the queue", "author": "claude"})
    );
    let after = repo.wp_text("WP03");
    assert!(after.starts_with(before.trim_end()), "only appended");
    let last = after.trim_end().lines().last().unwrap();
    assert!(last.starts_with("- 20"), "{last}");
    assert!(
        last.contains("– claude – ") && last.contains("lane=planned") && last.ends_with("Looked at the queue"),
        "{last}"
    );
    assert_eq!(repo.lane("WP03"), "planned");
}

#[test]
fn merge_takes_work_moved_to_review_by_hand_and_leaves_branches_without_work() {
    let repo = TestRepo::new();
    repo.run(&["agent", "feature", "finalize-tasks"]).ok();
    repo.run(&["implement", "WP01"]).ok();
    repo.run(&["implement", "WP03"]).ok();
    let tree = worktree(&repo, "WP01");
    std::fs::write(tree.join("factory.rs"), "// the factory\n").unwrap();
    git_in(&tree, &repo.user_home, &["add", "factory.rs"]);
    git_in(&tree, &repo.user_home, &["commit", "--quiet", "-m", "WP01: the factory"]);
    // The agent sent WP01 to review itself before anyone merged; WP03 has no work yet.
    repo.run(&["agent", "tasks", "move-task", "WP01", "--to", "for_review"]).ok();

    let (run, events) = repo.new_events(&["merge", "--json"]);
    let report = run.ok().json();
    assert_eq!(report["merged"], json!(["WP01"]), "{report:#}");
    assert_eq!(report["moved_to_for_review"], json!([]), "{report:#}");
    assert!(events.is_empty(), "nothing changed lane: {events:#?}");
    assert_eq!(std::fs::read_to_string(repo.root.join("factory.rs")).unwrap(), "// the factory\n");
    assert_eq!(repo.lane("WP03"), "doing", "a branch without work is not sent to review");
    // The worktrees never show up as untracked files of the main repository.
    assert!(!repo.git(&["status", "--porcelain"]).contains(".worktrees"));
}

#[test]
fn merge_moves_only_doing_wps_with_a_branch_and_accept_completes_the_feature_with_its_last_wp() {
    let repo = TestRepo::new();
    repo.run(&["agent", "feature", "finalize-tasks"]).ok();
    repo.run(&["implement", "WP01"]).ok();
    // Real work on WP01's branch.
    let tree = worktree(&repo, "WP01");
    std::fs::write(tree.join("clock.txt"), "a Lamport clock\n").unwrap();
    git_in(&tree, &repo.user_home, &["add", "clock.txt"]);
    git_in(&tree, &repo.user_home, &["commit", "--quiet", "-m", "WP01: the clock"]);
    // WP03 is in doing without a branch; WP04 stays planned.
    repo.run(&["agent", "tasks", "move-task", "WP03", "--to", "doing"]).ok();

    let (run, events) = repo.new_events(&["merge", "--json"]);
    let report = run.ok().json();
    assert_eq!(report["merged"], json!(["WP01"]));
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(status_change(&events[0], "WP01", "doing", "for_review")["changed_by"], "user");
    assert_eq!(repo.lane("WP01"), "for_review");
    assert_eq!(repo.lane("WP03"), "doing");
    // A real --no-ff merge commit on main, with the branch's work.
    let merges = repo.git(&["log", "--merges", "--format=%P|%s", "main"]);
    let merge = merges.lines().find(|l| l.contains(&format!("Merge {FEATURE}-WP01"))).expect("a merge commit");
    assert_eq!(merge.split('|').next().unwrap().split(' ').count(), 2, "two parents: {merge}");
    assert_eq!(std::fs::read_to_string(repo.root.join("clock.txt")).unwrap(), "a Lamport clock\n");
    assert_eq!(repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");

    // Nothing more to merge: nothing queued.
    let (run, events) = repo.new_events(&["merge"]);
    run.ok();
    assert!(events.is_empty(), "{events:#?}");

    // accept: WP01 only; the feature is not complete yet.
    let (run, events) = repo.new_events(&["accept", "--json"]);
    let report = run.ok().json();
    assert_eq!(report["accepted"], json!(["WP01"]));
    assert_eq!(report["feature_complete"], false);
    assert_eq!(events.len(), 1, "{events:#?}");
    status_change(&events[0], "WP01", "for_review", "done");
    assert_eq!(repo.lane("WP01"), "done");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.feature_dir().join("meta.json")).unwrap()).unwrap();
    assert!(meta["accepted_at"].is_string());
    assert!(meta.get("completed_at").is_none());
    assert_eq!(meta["friendly_name"], "CLI Event Emission + Sync", "unknown keys kept");

    // Nothing in for_review: nothing queued.
    let (run, events) = repo.new_events(&["accept"]);
    run.ok();
    assert!(events.is_empty(), "{events:#?}");

    // All but WP07 to for_review, accepted: still not complete.
    for wp in ["WP02", "WP04", "WP05", "WP06"] {
        repo.run(&["agent", "tasks", "move-task", wp, "--to", "doing"]).ok();
    }
    for wp in ["WP02", "WP03", "WP04", "WP05", "WP06"] {
        repo.run(&["agent", "tasks", "move-task", wp, "--to", "for_review"]).ok();
    }
    let (run, events) = repo.new_events(&["accept"]);
    run.ok();
    assert_eq!(events.len(), 5, "{events:#?}");
    assert!(of_type(&events, "FeatureCompleted").is_empty(), "not before the last WP is done");
    for (event, wp) in events.iter().zip(["WP02", "WP03", "WP04", "WP05", "WP06"]) {
        status_change(event, wp, "for_review", "done");
    }

    // The last one: its status change, then FeatureCompleted.
    repo.run(&["agent", "tasks", "move-task", "WP07", "--to", "doing"]).ok();
    repo.run(&["agent", "tasks", "move-task", "WP07", "--to", "for_review"]).ok();
    let (run, events) = repo.new_events(&["accept", "--json"]);
    assert_eq!(run.ok().json()["feature_complete"], true);
    assert_eq!(events.len(), 2, "{events:#?}");
    status_change(&events[0], "WP07", "for_review", "done");
    let completed = &events[1];
    assert_eq!(completed["event_type"], "FeatureCompleted");
    assert_eq!(completed["aggregate_type"], "Feature");
    assert_eq!(completed["aggregate_id"], FEATURE);
    assert_eq!(completed["payload"]["feature_slug"], FEATURE);
    assert_eq!(completed["payload"]["total_wps"], 7);
    assert!(completed["payload"]["total_duration"].as_str().unwrap().ends_with('s'));
    assert!(WPS.iter().all(|wp| repo.lane(wp) == "done"));

    // Exactly one FeatureCompleted in the whole queue; the queue's clocks strictly increase.
    let all = repo.events();
    assert_eq!(of_type(&all, "FeatureCompleted").len(), 1);
    assert_strictly_increasing(&clocks(&all));
    // Accepting again does nothing.
    let (run, events) = repo.new_events(&["accept"]);
    run.ok();
    assert!(events.is_empty(), "{events:#?}");
}

#[test]
fn lamport_values_strictly_increase_across_a_sequence_of_commands() {
    let repo = TestRepo::new();
    let steps: &[&[&str]] = &[
        &["agent", "feature", "finalize-tasks"],
        &["implement", "WP01"],
        &["agent", "tasks", "add-history", "WP01", "--note", "started"],
        &["agent", "tasks", "mark-status", "T001", "T009", "--status", "done"],
        &["agent", "tasks", "move-task", "WP02", "--to", "doing", "--agent", "codex"],
        &["agent", "tasks", "move-task", "WP09", "--to", "doing"],
        &["merge"],
        &["accept"],
        &["agent", "tasks", "move-task", "WP02", "--to", "for_review"],
        &["accept"],
    ];
    let mut seen = Vec::new();
    for step in steps {
        if step[0] == "merge" {
            // merge moves a WP whose branch has work in it; give WP01's branch some.
            let tree = worktree(&repo, "WP01");
            std::fs::write(tree.join("factory.rs"), "// work\n").unwrap();
            git_in(&tree, &repo.user_home, &["add", "factory.rs"]);
            git_in(&tree, &repo.user_home, &["commit", "-q", "-m", "WP01 work"]);
        }
        let run = repo.run(step);
        let events = repo.events();
        assert!(events.len() > seen.len(), "`spec-kitty {}` queued an event: {run:#?}", step.join(" "));
        seen = events;
    }
    assert_eq!(seen.len(), 8 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1);
    assert_strictly_increasing(&clocks(&seen));
    let mut ids: Vec<&str> = seen.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.len(), "distinct event ids");
    // clock.json holds the last value handed out.
    let clock: Value = serde_json::from_str(&std::fs::read_to_string(repo.clock_json()).unwrap()).unwrap();
    assert_eq!(clock["value"].as_u64(), clocks(&seen).last().copied());
    // All events share one node and carry the project identity of .kittify/config.yaml.
    let config = std::fs::read_to_string(repo.root.join(".kittify/config.yaml")).unwrap();
    for event in &seen {
        assert_eq!(event["node_id"], seen[0]["node_id"]);
        assert_eq!(event["team_slug"], "local", "held for a login");
        assert!(config.contains(event["project_uuid"].as_str().unwrap()));
        assert_eq!(event["project_slug"], "repo");
    }

    // `sync queue --json` shows exactly the rows, oldest first, as they will be sent.
    let listed = repo.run(&["sync", "queue", "--json"]).ok().json();
    assert_eq!(listed, Value::Array(seen.clone()));
    let status = repo.run(&["sync", "status", "--json"]).ok().json();
    assert_eq!(status["queue_size"], seen.len());
    assert_eq!(status["held_for_login"], seen.len());
    assert_eq!(status["authenticated"], false);
    assert_eq!(status["refused_total"], 0);
}

#[test]
fn the_feature_is_found_from_the_worktree_it_runs_in() {
    let repo = TestRepo::new();
    repo.run(&["implement", "WP01"]).ok();
    let tree = worktree(&repo, "WP01");
    let before = repo.events().len();
    let run = repo.run_in(&tree, &["agent", "tasks", "add-history", "WP01", "--note", "from the worktree", "--json"]);
    assert_eq!(run.ok().json()["feature"], FEATURE);
    let events = repo.events();
    assert_eq!(events.len(), before + 1);
    assert_eq!(events[before]["payload"]["entry_content"], "from the worktree");
    // The main working tree's file is the one updated.
    assert!(repo.wp_text("WP01").trim_end().ends_with("from the worktree"));
}
