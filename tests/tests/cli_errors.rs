//! Failures through the real binary: broken state files, bad input, an unwritable state folder.
//! Each gives one clear line naming the file or field; a bad input fails the command (and is
//! logged as ErrorLogged), a failed emission does not; nothing already queued is lost.

mod common;

use common::*;
use rusqlite::Connection;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The one line of stderr besides the [Offline] indicator.
#[track_caller]
fn one_line(run: &Run) -> &str {
    let lines = run.stderr_lines_besides_offline();
    assert_eq!(lines.len(), 1, "one message line on stderr: {run:#?}");
    lines[0]
}

/// A repository whose queue already holds two events.
fn repo_with_two_events() -> (TestRepo, Vec<Value>) {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "one"]).ok();
    repo.run(&["agent", "tasks", "move-task", "WP01", "--to", "doing"]).ok();
    let events = repo.events();
    assert_eq!(events.len(), 2);
    (repo, events)
}

#[track_caller]
fn assert_kept(repo: &TestRepo, before: &[Value]) -> Vec<Value> {
    let after = repo.events();
    assert!(after.len() >= before.len(), "events lost: {} before, {} after", before.len(), after.len());
    assert_eq!(after[..before.len()], before[..], "the events already queued are unchanged");
    after[before.len()..].to_vec()
}

#[track_caller]
fn error_logged<'a>(event: &'a Value, error_type: &str) -> &'a Value {
    assert_eq!(event["event_type"], "ErrorLogged", "{event:#}");
    assert_eq!(event["payload"]["error_type"], error_type, "{event:#}");
    assert!(!event["payload"]["error_message"].as_str().unwrap().is_empty());
    &event["payload"]
}

#[test]
fn a_corrupt_or_empty_clock_json_is_reported_and_the_clock_goes_on_from_the_queue() {
    let (repo, mut before) = repo_with_two_events();
    for (contents, says) in [("{\"value\": oops", "corrupt"), ("", "empty"), ("{\"value\": -3}", "corrupt")] {
        std::fs::write(repo.clock_json(), contents).unwrap();
        let run = repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "after the clock broke"]).ok();
        let line = one_line(&run);
        assert!(line.starts_with("warning:") && line.contains("clock.json") && line.contains(says), "{line}");
        let new = assert_kept(&repo, &before);
        assert_eq!(new.len(), 1, "the event is queued all the same");
        let high = clocks(&before).into_iter().max().unwrap();
        assert!(clocks(&new)[0] > high, "no Lamport value handed out twice");
        // clock.json is whole again and holds the last value.
        let clock: Value = serde_json::from_str(&std::fs::read_to_string(repo.clock_json()).unwrap()).unwrap();
        assert_eq!(clock["value"].as_u64(), Some(clocks(&new)[0]));
        before.extend(new);
    }
    assert_strictly_increasing(&clocks(&before));
}

#[test]
fn a_locked_queue_db_is_waited_for_then_reported_and_the_command_succeeds() {
    let (repo, before) = repo_with_two_events();
    let mut holder = Connection::open(repo.queue_db()).unwrap();
    let lock = holder.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive).unwrap();
    let run = repo.run_with_env(
        &[("SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS", "300")],
        &["agent", "tasks", "add-history", "WP02", "--note", "while locked", "--json"],
    );
    let run = run.ok();
    assert_eq!(run.json()["ok"], true);
    let line = one_line(&run);
    assert!(line.starts_with("warning:") && line.contains("queue.db") && line.contains("locked"), "{line}");
    assert!(line.contains("300 ms"), "says how long it waited: {line}");
    assert!(repo.wp_text("WP02").trim_end().ends_with("while locked"), "the action happened");
    lock.rollback().unwrap();
    drop(holder);
    assert!(assert_kept(&repo, &before).is_empty());
    // Unlocked: the next command queues again.
    repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "unlocked"]).ok();
    assert_eq!(assert_kept(&repo, &before).len(), 1);
}

#[test]
fn a_writer_waits_for_a_locked_queue_and_goes_through_when_it_is_released() {
    let (repo, before) = repo_with_two_events();
    let mut holder = Connection::open(repo.queue_db()).unwrap();
    let lock = holder.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive).unwrap();
    // The default busy timeout (10 s): the child waits for the lock rather than failing at once.
    let child = repo
        .command_in(&repo.root, &["agent", "tasks", "add-history", "WP03", "--note", "waited"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The child holds clock.lock from before it touches the queue until its commit: once it is
    // taken, the child is on its way to the queue, and the queue can be released.
    let clock_lock =
        std::fs::File::options().write(true).create(true).truncate(false).open(repo.home.join("clock.lock"));
    let clock_lock = clock_lock.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clock_lock.try_lock().is_ok() {
        clock_lock.unlock().unwrap();
        assert!(Instant::now() < deadline, "the child never took clock.lock");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Keep the queue locked a while longer, so that the child reaches its write and must wait
    // there (well within its 10 s): a writer that gives up at once instead would fail here.
    std::thread::sleep(Duration::from_millis(500));
    lock.rollback().unwrap();
    drop(holder);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("warning:"), "the event went in after the wait: {stderr}");
    let new = assert_kept(&repo, &before);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["payload"]["entry_content"], "waited");
}

#[test]
fn a_corrupt_queue_db_is_left_byte_identical_and_reported() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(&repo.home).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(repo.queue_db(), &garbage).unwrap();

    // The action succeeds; the emission is reported on one line naming the file.
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "queue broken"]).ok();
    let line = one_line(&run);
    assert!(line.starts_with("warning:") && line.contains("queue.db") && line.contains("corrupt"), "{line}");
    assert!(repo.wp_text("WP01").trim_end().ends_with("queue broken"));

    // A failing command: fails for its own reason; its ErrorLogged cannot be queued either.
    let run = repo.run(&["agent", "tasks", "move-task", "WP01", "--to", "done"]).failed();
    assert_eq!(run.errors().len(), 1, "{run:#?}");
    assert!(run.errors()[0].contains("illegal move"), "{run:#?}");

    // Reading commands fail and say which file.
    for args in [&["sync", "status"][..], &["sync", "queue"]] {
        let run = repo.run(args).failed();
        assert!(one_line(&run).starts_with("error:") && one_line(&run).contains("queue.db"), "{run:#?}");
    }
    let mut json_args = vec!["sync", "status", "--json"];
    let run = repo.run(&json_args).failed();
    assert_eq!(run.json()["ok"], false);
    json_args[1] = "queue";
    assert!(repo.run(&json_args).failed().json()["error"].as_str().unwrap().contains("queue.db"));

    assert_eq!(std::fs::read(repo.queue_db()).unwrap(), garbage, "queue.db is byte-identical");
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(!repo.home.join(format!("queue.db{suffix}")).exists(), "no queue.db{suffix} beside it");
    }
}

#[test]
fn a_refused_tasks_md_or_meta_json_fails_the_command_naming_the_file_and_is_logged() {
    // tasks.md is read as upstream reads it: a heading it does not understand is no error, but a
    // dependency on a WP no section defines is refused, naming both WPs.
    let (repo, before) = repo_with_two_events();
    let tasks = std::fs::read_to_string(repo.tasks_path()).unwrap();
    let broken = tasks.replacen(
        "## Work Package WP01: Event Factory Module (Priority: P0)",
        "## Work Package Summary\n\n## Work Package WP01: Event Factory Module (Priority: P0)\nDepends on WP09\n",
        1,
    );
    assert_ne!(broken, tasks);
    std::fs::write(repo.tasks_path(), &broken).unwrap();
    let head = repo.git(&["rev-parse", "HEAD"]);

    let run = repo.run(&["agent", "feature", "finalize-tasks", "--json"]).failed();
    let error = run.json()["error"].as_str().unwrap().to_string();
    let line = one_line(&run);
    assert!(
        line.starts_with("error:") && line.contains("tasks.md:") && line.contains("WP01 depends on WP09"),
        "{line}"
    );
    assert!(error.contains("tasks.md:") && error.contains("WP09"), "{error}");
    let new = assert_kept(&repo, &before);
    assert_eq!(new.len(), 1, "only the ErrorLogged: {new:#?}");
    let payload = error_logged(&new[0], "validation");
    assert!(payload["error_message"].as_str().unwrap().contains("WP09"));
    assert_eq!(new[0]["aggregate_id"], "error");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    assert_eq!(std::fs::read_to_string(repo.tasks_path()).unwrap(), broken, "tasks.md untouched");

    // A meta.json value of the wrong shape fails every command, naming the file and the field,
    // and is logged with the WP and agent the command was given.
    let meta_path = repo.feature_dir().join("meta.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    std::fs::write(&meta_path, meta.replacen("\"feature_number\": \"028\"", "\"feature_number\": \"28\"", 1)).unwrap();
    let run = repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "x", "--agent", "codex"]).failed();
    assert!(one_line(&run).contains("meta.json") && one_line(&run).contains("feature_number"), "{run:#?}");
    let new = assert_kept(&repo, &before);
    let payload = error_logged(&new[1], "validation");
    assert_eq!(payload["wp_id"], "WP02");
    assert_eq!(payload["agent_id"], "codex");
    assert_eq!(new[1]["aggregate_id"], "WP02");
}

#[test]
fn an_unknown_wp_fails_with_the_known_ones_and_is_logged_as_validation() {
    let (repo, before) = repo_with_two_events();
    let commands: [&[&str]; 3] = [
        &["agent", "tasks", "move-task", "WP09", "--to", "doing", "--agent", "codex"],
        &["agent", "tasks", "add-history", "WP09", "--note", "x", "--agent", "codex"],
        &["implement", "WP09"],
    ];
    let mut logged = 0;
    for args in commands {
        let run = repo.run(args).failed();
        let line = one_line(&run);
        assert!(
            line.starts_with("error:") && line.contains("unknown work package WP09") && line.contains("WP07"),
            "{line}"
        );
        let new = assert_kept(&repo, &before);
        assert_eq!(new.len(), logged + 1);
        let payload = error_logged(&new[logged], "validation");
        assert_eq!(payload["wp_id"], "WP09");
        if args.contains(&"--agent") {
            assert_eq!(payload["agent_id"], "codex");
        }
        logged += 1;
    }
    // A malformed id, and an unknown subtask.
    let run = repo.run(&["agent", "tasks", "move-task", "WP1", "--to", "doing"]).failed();
    assert!(one_line(&run).contains("WP1"), "{run:#?}");
    let run = repo.run(&["agent", "tasks", "mark-status", "T999", "--status", "done"]).failed();
    assert!(one_line(&run).contains("T999") && one_line(&run).contains("tasks.md"), "{run:#?}");
    let new = assert_kept(&repo, &before);
    assert_eq!(new.len(), logged + 2);
    for event in &new[logged..] {
        error_logged(event, "validation");
    }
    // An unknown feature.
    let run = repo.run(&["agent", "feature", "finalize-tasks", "--feature", "999-nope"]).failed();
    assert!(one_line(&run).contains("999-nope") && one_line(&run).contains(FEATURE), "{run:#?}");
    error_logged(assert_kept(&repo, &before).last().unwrap(), "validation");
}

#[test]
fn an_illegal_lane_move_is_refused_without_force_and_changes_nothing() {
    let (repo, before) = repo_with_two_events();
    let file = repo.wp_text("WP04");
    let head = repo.git(&["rev-parse", "HEAD"]);
    for to in ["for_review", "done"] {
        let run =
            repo.run(&["agent", "tasks", "move-task", "WP04", "--to", to, "--agent", "claude", "--json"]).failed();
        let error = run.json()["error"].as_str().unwrap().to_string();
        assert!(
            error.contains("WP04") && error.contains(&format!("planned -> {to}")) && error.contains("--force"),
            "{error}"
        );
        one_line(&run);
    }
    assert_eq!(repo.wp_text("WP04"), file, "the WP file is untouched");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    let new = assert_kept(&repo, &before);
    assert_eq!(new.len(), 2, "two ErrorLogged, no status change: {new:#?}");
    for event in &new {
        let payload = error_logged(event, "validation");
        assert_eq!(payload["wp_id"], "WP04");
        assert_eq!(payload["agent_id"], "claude");
    }
    // An unknown lane too.
    let run = repo.run(&["agent", "tasks", "move-task", "WP04", "--to", "archived"]).failed();
    assert!(one_line(&run).contains("archived"), "{run:#?}");
    // Moving to the lane it is in is not a move, even with --force.
    let run = repo.run(&["agent", "tasks", "move-task", "WP04", "--to", "planned", "--force"]).failed();
    one_line(&run);
    assert_eq!(assert_kept(&repo, &before).len(), 4);
    assert_eq!(repo.lane("WP04"), "planned");
}

#[test]
fn a_failing_git_step_is_logged_as_runtime_with_the_wp() {
    let (repo, before) = repo_with_two_events();
    // Something already sits where the worktree should go.
    std::fs::create_dir_all(repo.root.join(".worktrees")).unwrap();
    std::fs::write(repo.root.join(".worktrees").join(format!("{FEATURE}-WP02")), "in the way").unwrap();
    let run = repo.run(&["implement", "WP02"]).failed();
    let line = one_line(&run);
    assert!(line.starts_with("error:") && line.contains("already exists"), "git's own reason: {line}");
    assert_eq!(repo.lane("WP02"), "planned");
    let new = assert_kept(&repo, &before);
    assert_eq!(new.len(), 1);
    assert_eq!(error_logged(&new[0], "runtime")["wp_id"], "WP02");
}

#[test]
fn an_unwritable_state_folder_is_reported_and_the_command_succeeds() {
    use std::os::unix::fs::PermissionsExt;
    let (repo, before) = repo_with_two_events();
    // A folder its owner cannot write (run as nobody when the tests run as root, whom modes do not
    // bind): the queue in it stays as it was.
    let user = ModeBoundUser::new(&repo);
    std::fs::set_permissions(&repo.home, std::fs::Permissions::from_mode(0o500)).unwrap();
    assert!(!user.can_create_in(&repo.home), "mode 0500 does not stop the user from writing the state folder");
    let run = user.run(&repo, &["agent", "tasks", "add-history", "WP02", "--note", "read-only state", "--json"]);
    std::fs::set_permissions(&repo.home, std::fs::Permissions::from_mode(0o700)).unwrap();
    drop(user);
    let run = run.ok();
    assert_eq!(run.json()["ok"], true);
    let line = one_line(&run);
    assert!(line.starts_with("warning:") && line.contains(&repo.home.display().to_string()), "{line}");
    assert!(repo.wp_text("WP02").trim_end().ends_with("read-only state"));
    assert!(assert_kept(&repo, &before).is_empty());

    // A state folder under a regular file, which stops root too.
    let scratch = repo.home.parent().unwrap().join("scratch");
    let blocker = scratch.join("a-file");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(&blocker, "not a folder").unwrap();
    let home = blocker.join("home");
    let home_text = home.display().to_string();
    let run = repo
        .run_with_env(
            &[("SPEC_KITTY_HOME", home_text.as_str())],
            &["agent", "tasks", "add-history", "WP03", "--note", "no state folder", "--json"],
        )
        .ok();
    assert_eq!(run.json()["ok"], true);
    let line = one_line(&run);
    assert!(line.starts_with("warning:") && line.contains(&home_text), "names the folder: {line}");
    assert!(repo.wp_text("WP03").trim_end().ends_with("no state folder"), "the action happened");
    // A failing command there: its own error, and a warning that its ErrorLogged was not queued.
    let run = repo
        .run_with_env(
            &[("SPEC_KITTY_HOME", home_text.as_str())],
            &["agent", "tasks", "move-task", "WP03", "--to", "done"],
        )
        .failed();
    assert_eq!(run.errors().len(), 1, "{run:#?}");
    assert_eq!(run.warnings().len(), 1, "one warning, for the ErrorLogged: {run:#?}");
    assert!(run.warnings()[0].contains(&home_text), "{run:#?}");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "not a folder");
    // The real state folder was not touched.
    assert!(assert_kept(&repo, &before).is_empty());
}

/// `--json` prints exactly one JSON document on stdout, whatever happens.
#[test]
fn json_output_is_one_document_for_every_command_success_or_failure() {
    let repo = TestRepo::new();
    let succeed: &[&[&str]] = &[
        &["init", "--json"],
        &["init", "--json"],
        &["sync", "status", "--json"],
        &["sync", "queue", "--json"],
        &["agent", "feature", "finalize-tasks", "--json"],
        &["implement", "WP01", "--json"],
        &["implement", "WP01", "--json"],
        &["agent", "tasks", "move-task", "WP02", "--to", "doing", "--note", "go", "--json"],
        &["agent", "tasks", "mark-status", "T001", "T002", "--status", "done", "--json"],
        &["agent", "tasks", "add-history", "WP01", "--note", "a note", "--json"],
        &["merge", "--json"],
        &["accept", "--json"],
        &["accept", "--json"],
        &["sync", "status", "--json"],
        &["sync", "queue", "--json"],
    ];
    for args in succeed {
        let run = repo.run(args).ok();
        let document = run.json();
        assert_ne!(document.get("ok"), Some(&Value::Bool(false)), "{run:#?}");
        assert!(document.is_object() || document.is_array());
    }
    let fail: &[&[&str]] = &[
        &["implement", "WP09", "--json"],
        &["implement", "WP02", "--json"], // in doing, not planned
        &["agent", "tasks", "move-task", "WP03", "--to", "done", "--json"],
        &["agent", "tasks", "move-task", "WP03", "--to", "bogus", "--json"],
        &["agent", "tasks", "mark-status", "T999", "--status", "done", "--json"],
        &["agent", "tasks", "add-history", "WP01", "--note", " ", "--json"],
        &["agent", "feature", "finalize-tasks", "--feature", "nope", "--json"],
        // Usage errors that clap itself reports.
        &["agent", "tasks", "mark-status", "T001", "--status", "bogus", "--json"],
        &["agent", "tasks", "add-history", "WP01", "--json"],
        &["agent", "tasks", "move-task", "WP01", "--to", "doing", "--no-such-flag", "--json"],
    ];
    for args in fail {
        let run = repo.run(args).failed();
        let document = run.json();
        assert_eq!(document["ok"], false, "{run:#?}");
        assert!(!document["error"].as_str().unwrap_or("").is_empty(), "{run:#?}");
    }
    // Outside any git repository.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = repo.run_in(elsewhere.path(), &["init", "--json"]).failed();
    assert!(run.json()["error"].as_str().unwrap().contains("not inside a git repository"), "{run:#?}");
    let run =
        repo.run_in(elsewhere.path(), &["agent", "tasks", "add-history", "WP01", "--note", "x", "--json"]).failed();
    assert_eq!(run.json()["ok"], false);
    // Every event queued on the way is valid (checked by events()).
    assert!(!repo.events().is_empty());
}
