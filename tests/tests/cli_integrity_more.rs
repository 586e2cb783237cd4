//! Issue 7, second round: regression tests of the fixes made after a hostile trial of the integrity
//! work (commit a0ac863): a merge in progress, the user's staged files, roll back and a commit git
//! made before failing, a killed run finished by its retry, clamped waits, waiters that do not stack,
//! the temp-file sweep, file modes and symbolic links, odd queues, the state folder without a HOME,
//! and agent names and errors that stay one printable line.

mod common;

use common::*;
use rusqlite::{Connection, params};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WATCHDOG: Duration = Duration::from_secs(30);

#[track_caller]
fn assert_no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "a panic: {run:#?}");
    assert!(run.code.is_some(), "killed by a signal: {run:#?}");
    assert!(!matches!(run.code, Some(101 | 134)), "exit {:?} is a panic or an abort: {run:#?}", run.code);
}

fn contains_ci(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_string()
}

/// `path` relative to the repository's root, as git names it.
fn relative(repo: &TestRepo, path: &Path) -> String {
    path.strip_prefix(&repo.root).unwrap().to_str().unwrap().to_string()
}

/// Runs git in the repository without asserting success: (success, stdout + stderr).
fn git_try(repo: &TestRepo, args: &[&str]) -> (bool, String) {
    let mut command = Command::new("git");
    command.args(args).current_dir(&repo.root);
    isolate(&mut command, &repo.user_home);
    let output = command.output().expect("cannot run git");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `git status --porcelain` of one path (empty: committed as it is on disk).
fn status_of(repo: &TestRepo, path: &Path) -> String {
    repo.git(&["status", "--porcelain", "--", &relative(repo, path)])
}

/// The frontmatter lane of a WP file as HEAD holds it.
fn head_lane(repo: &TestRepo, wp: &str) -> String {
    frontmatter_lane(&repo.git(&["show", &format!("HEAD:{}", relative(repo, &repo.wp_path(wp)))]))
}

/// Rewrites the frontmatter's top-level `lane:` of a WP file on disk (what a run killed between its
/// write and its commit leaves behind).
fn set_lane_by_hand(repo: &TestRepo, wp: &str, lane: &str) {
    let path = repo.wp_path(wp);
    let text = repo.wp_text(wp);
    let old = format!("lane: \"{}\"\n", repo.lane(wp));
    assert!(text.contains(&old), "{wp}'s lane line {old:?}");
    std::fs::write(&path, text.replacen(&old, &format!("lane: \"{lane}\"\n"), 1)).unwrap();
    assert_eq!(repo.lane(wp), lane);
}

fn wp_bytes(repo: &TestRepo) -> Vec<(String, Vec<u8>)> {
    WPS.iter().map(|wp| (wp.to_string(), std::fs::read(repo.wp_path(wp)).unwrap())).collect()
}

/// Every file under `dir` (recursively, hidden ones too) whose name ends in `.tmp`.
fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(tmp_files(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path);
        }
    }
    found
}

/// The activity log's entry lines of a WP file (`- <time> – ... – lane=... – <note>`).
fn activity_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|line| line.starts_with("- ") && line.contains(" – lane=")).collect()
}

/// Behaviour 1: A merge in progress (the user's, conflict resolved, another file staged) is refused by every
/// command that commits or merges, and left exactly as it was.
#[test]
fn merge_in_progress_is_refused_and_left_as_it_is() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "--quiet", "-b", "theirs"]);
    std::fs::write(repo.root.join("x.txt"), "their x\n").unwrap();
    repo.git(&["add", "x.txt"]);
    repo.git(&["commit", "--quiet", "-m", "their x"]);
    repo.git(&["checkout", "--quiet", "main"]);
    std::fs::write(repo.root.join("x.txt"), "our x\n").unwrap();
    repo.git(&["add", "x.txt"]);
    repo.git(&["commit", "--quiet", "-m", "our x"]);
    let (merged, output) = git_try(&repo, &["merge", "theirs"]);
    assert!(!merged, "the merge stops with a conflict: {output}");
    let merge_head = repo.root.join(".git").join("MERGE_HEAD");
    assert!(merge_head.exists(), "a merge in progress: {output}");
    // The user resolves x.txt and stages a new file of their own.
    std::fs::write(repo.root.join("x.txt"), "the user's resolution\n").unwrap();
    repo.git(&["add", "x.txt"]);
    std::fs::write(repo.root.join("y.txt"), "the user's new file\n").unwrap();
    repo.git(&["add", "y.txt"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let merge_head_text = std::fs::read_to_string(&merge_head).unwrap();
    let queued = repo.events().len();

    let commands: [&[&str]; 4] = [
        &["merge"],
        &["agent", "tasks", "move-task", "WP02", "--to", "doing"],
        &["implement", "WP01"],
        &["agent", "feature", "finalize-tasks"],
    ];
    for args in commands {
        let run = repo.run_within(WATCHDOG, &[], args);
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert!(
            run.errors().iter().any(|e| e.contains("merge is in progress")),
            "the error says a merge is in progress: {run:#?}"
        );
    }

    assert!(merge_head.exists(), "MERGE_HEAD is gone: the merge was concluded or aborted");
    assert_eq!(std::fs::read_to_string(&merge_head).unwrap(), merge_head_text);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    assert_eq!(std::fs::read_to_string(repo.root.join("y.txt")).unwrap(), "the user's new file\n");
    let staged = repo.git(&["diff", "--cached", "--name-only"]);
    assert!(staged.lines().any(|line| line == "y.txt"), "y.txt is still staged: {staged:?}");
    assert_eq!(std::fs::read_to_string(repo.root.join("x.txt")).unwrap(), "the user's resolution\n");
    assert_eq!(repo.git(&["diff", "--name-only", "--", "x.txt"]), "", "x.txt's resolution is still staged");
    assert_no_status_change(&events_since(&repo, queued));
    assert_eq!(repo.lane("WP01"), "planned");
    assert_eq!(repo.lane("WP02"), "planned");
}

/// Behaviour 2: finalize-tasks with nothing to write commits nothing, and never the user's staged files.
#[test]
fn finalize_tasks_never_commits_the_users_staged_files() {
    let repo = TestRepo::new();
    repo.run(&["agent", "feature", "finalize-tasks"]).ok();
    assert_eq!(
        repo.git(&["status", "--porcelain", "--", "kitty-specs"]),
        "",
        "the first finalize committed its changes"
    );
    let head = repo.git(&["rev-parse", "HEAD"]);
    std::fs::write(repo.root.join("draft.txt"), "the user's draft\n").unwrap();
    repo.git(&["add", "draft.txt"]);

    repo.run_within(WATCHDOG, &[], &["agent", "feature", "finalize-tasks"]).ok();
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "finalize-tasks made a commit");
    let staged = repo.git(&["diff", "--cached", "--name-only"]);
    assert!(staged.lines().any(|line| line == "draft.txt"), "draft.txt is still staged: {staged:?}");
    assert_eq!(repo.git(&["status", "--porcelain", "--", "draft.txt"]), "A  draft.txt");
    let (in_head, _) = git_try(&repo, &["cat-file", "-e", "HEAD:draft.txt"]);
    assert!(!in_head, "draft.txt was committed");
}

/// Behaviour 3: finalize-tasks whose commit fails puts every WP file back byte for byte; the retry writes and
/// commits them.
#[test]
fn finalize_tasks_rolls_back_on_a_failed_commit_and_the_retry_commits() {
    let repo = TestRepo::new();
    for wp in WPS {
        let text = repo.wp_text(wp);
        let (frontmatter, rest) = text[4..].split_once("\n---").unwrap();
        let kept: Vec<&str> = frontmatter.lines().filter(|line| !line.starts_with("dependencies:")).collect();
        assert!(kept.len() < frontmatter.lines().count(), "{wp} had a dependencies line");
        std::fs::write(repo.wp_path(wp), format!("---\n{}\n---{rest}", kept.join("\n"))).unwrap();
    }
    repo.git(&["commit", "--quiet", "-am", "the WP files lose their dependencies"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let before = wp_bytes(&repo);
    let queued = repo.events().len();

    let index_lock = repo.root.join(".git").join("index.lock");
    std::fs::write(&index_lock, "").unwrap();
    let run =
        repo.run_within(WATCHDOG, &[("SPEC_KITTY_LOCK_TIMEOUT_MS", "2000")], &["agent", "feature", "finalize-tasks"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.errors().iter().any(|e| e.contains("index.lock")), "the commit failed on git's index.lock: {run:#?}");
    let new = events_since(&repo, queued);
    let created = [of_type(&new, "FeatureCreated"), of_type(&new, "WPCreated")].concat();
    assert!(created.is_empty(), "created events queued for a change that was rolled back: {new:#?}");
    for ((wp, old), (_, new)) in before.iter().zip(wp_bytes(&repo)) {
        assert!(
            *old == new,
            "{wp}'s file is not byte-identical after the rollback:\n{}",
            String::from_utf8_lossy(&new)
        );
    }
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    let left = tmp_files(&repo.feature_dir());
    assert!(left.is_empty(), "temp or backup files left: {left:?}");
    std::fs::remove_file(&index_lock).unwrap();
    assert_eq!(repo.git(&["status", "--porcelain"]), "", "nothing changed, nothing staged");

    let run = repo.run_within(WATCHDOG, &[], &["agent", "feature", "finalize-tasks"]).ok();
    assert_ne!(repo.git(&["rev-parse", "HEAD"]), head, "the retry committed: {run:#?}");
    let changed = wp_bytes(&repo).iter().zip(&before).filter(|((_, new), (_, old))| new != old).count();
    assert!(changed > 0, "the retry wrote the dependencies into the WP files");
    for wp in WPS {
        assert_eq!(status_of(&repo, &repo.wp_path(wp)), "", "{wp}'s file is committed");
    }
    assert!(repo.wp_text("WP07").split("\n---").next().unwrap().contains("WP06"), "WP07 depends on WP06");
}

/// Behaviour 4: A commit that git made and then reported as failed (killed by a signal from its post-commit
/// hook) stands: the file is not reverted under the commit.
///
/// Observed: git makes the commit, its post-commit hook sends SIGTERM to it, `git commit` dies by the
/// signal; spec-kitty sees HEAD already holds what it wrote, notes that the commit stands and exits 0
/// with one WPStatusChanged.
#[test]
fn a_commit_git_made_before_failing_stands() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    let hook = repo.root.join(".git").join("hooks").join("post-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        "#!/bin/sh\ntouch \"$(git rev-parse --git-dir)/post-commit-ran\"\nkill -TERM $PPID\nexit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let queued = repo.events().len();

    let run = repo.run_within(WATCHDOG, &[], &["agent", "tasks", "move-task", "WP01", "--to", "doing"]);
    assert_no_panic(&run);
    assert!(repo.root.join(".git").join("post-commit-ran").exists(), "the hook ran (the case under test): {run:#?}");
    let new = events_since(&repo, queued);
    assert_ne!(repo.git(&["rev-parse", "HEAD"]), head, "git made the commit: {run:#?}");
    assert_eq!(head_lane(&repo, "WP01"), "doing", "HEAD holds the move");
    assert_eq!(repo.lane("WP01"), head_lane(&repo, "WP01"), "the file was reverted under a made commit: {run:#?}");
    assert_eq!(status_of(&repo, &repo.wp_path("WP01")), "", "the file is as committed");
    if run.code == Some(0) {
        assert_one_status_change(&new, "WP01", "planned", "doing");
    }
}

/// Behaviour 5: A lane change a killed run wrote but never committed is finished by the same command again:
/// committed and emitted once (move-task and implement).
#[test]
fn a_killed_runs_uncommitted_lane_change_is_finished_by_the_retry() {
    let repo = TestRepo::new();

    set_lane_by_hand(&repo, "WP03", "doing");
    let queued = repo.events().len();
    let run = repo.run_within(WATCHDOG, &[], &["agent", "tasks", "move-task", "WP03", "--to", "doing"]).ok();
    assert_one_status_change(&events_since(&repo, queued), "WP03", "planned", "doing");
    assert_eq!(status_of(&repo, &repo.wp_path("WP03")), "", "WP03's file is committed: {run:#?}");
    assert_eq!(head_lane(&repo, "WP03"), "doing");

    set_lane_by_hand(&repo, "WP01", "doing");
    let branch = format!("{FEATURE}-WP01");
    repo.git(&["worktree", "add", "--quiet", "-b", &branch, &format!(".worktrees/{branch}")]);
    let queued = repo.events().len();
    let run = repo.run_within(WATCHDOG, &[], &["implement", "WP01"]).ok();
    assert_one_status_change(&events_since(&repo, queued), "WP01", "planned", "doing");
    assert_eq!(status_of(&repo, &repo.wp_path("WP01")), "", "WP01's file is committed: {run:#?}");
    assert_eq!(head_lane(&repo, "WP01"), "doing");
}

/// Behaviour 6: A busy timeout beyond what SQLite holds is clamped, not a panic.
#[test]
fn a_huge_queue_busy_timeout_is_clamped() {
    let repo = TestRepo::new();
    let env = [("SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS", "4294967296")];
    let run = repo.run_within(WATCHDOG, &env, &["agent", "tasks", "add-history", "WP01", "--note", "huge wait"]);
    assert_no_panic(&run);
    let run = run.ok();
    assert!(run.warnings().is_empty(), "no warning: {run:#?}");
    let history = of_type(&repo.events(), "HistoryAdded").into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(history.len(), 1, "the event is queued: {run:#?}");
    assert_eq!(history[0]["payload"]["entry_content"], "huge wait");

    let run = repo.run_within(WATCHDOG, &env, &["sync", "status", "--json"]);
    assert_no_panic(&run);
    let run = run.ok();
    assert_eq!(run.json()["queue_size"], 1, "{run:#?}");
    let run = repo.run_within(WATCHDOG, &env, &["sync", "status"]);
    assert_no_panic(&run);
    run.ok();
}

/// Behaviour 7: Commands waiting behind one held clock.lock give up together, not one timeout after another.
#[test]
fn waiters_behind_a_held_clock_lock_do_not_stack() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP07", "--note", "the state folder exists"]).ok();
    let queued = repo.queue_len();
    let clock_lock =
        std::fs::File::options().write(true).create(true).truncate(false).open(repo.home.join("clock.lock")).unwrap();
    clock_lock.lock().unwrap();

    let repo = std::sync::Arc::new(repo);
    let wps = ["WP01", "WP02", "WP03", "WP04", "WP05", "WP06"];
    let start = std::sync::Arc::new(std::sync::Barrier::new(wps.len()));
    let threads: Vec<_> = wps
        .into_iter()
        .map(|wp| {
            let (repo, start) = (std::sync::Arc::clone(&repo), std::sync::Arc::clone(&start));
            std::thread::spawn(move || {
                let note = format!("behind the clock lock {wp}");
                start.wait();
                let began = Instant::now();
                let run = repo.run_within(
                    WATCHDOG,
                    &[("SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS", "1000")],
                    &["agent", "tasks", "add-history", wp, "--note", &note],
                );
                (wp, note, run, began.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    clock_lock.unlock().unwrap();
    drop(clock_lock);

    let slowest = results.iter().map(|(_, _, _, elapsed)| *elapsed).max().unwrap();
    for (wp, note, run, _) in results {
        let run = run.ok();
        assert!(run.warnings().iter().any(|w| contains_ci(w, "not queued")), "{wp}: the not-queued warning: {run:#?}");
        assert_eq!(activity_notes(&repo.wp_text(wp)).last(), Some(&note.as_str()), "{wp}: the note is written");
    }
    assert!(
        slowest < Duration::from_millis(3500),
        "the slowest of 6 commands behind a 1000 ms timeout took {slowest:?}: the waits stacked"
    );
    assert_eq!(repo.queue_len(), queued, "nothing queued while the clock lock was held");
}

/// Behaviour 8: The sweep of leftover temp files removes only ours, of a process that is gone, beside the file
/// they were written for.
#[test]
fn the_sweep_keeps_temp_files_that_are_not_ours() {
    let repo = TestRepo::new();
    let wp = repo.wp_path("WP01");
    let users = repo.feature_dir().join(".draft.20250101.tmp");
    let alive = wp.with_file_name(format!(".{}.{}.tmp", file_name(&wp), std::process::id()));
    let dead_pid = 99999u32;
    assert!(!Path::new(&format!("/proc/{dead_pid}")).exists(), "process {dead_pid} exists: the test needs it gone");
    let dead = wp.with_file_name(format!(".{}.{dead_pid}.tmp", file_name(&wp)));
    for path in [&users, &alive, &dead] {
        std::fs::write(path, "a temp file").unwrap();
    }

    repo.run_within(WATCHDOG, &[], &["agent", "tasks", "add-history", "WP02", "--note", "sweep"]).ok();
    assert!(users.exists(), "the user's {} was removed", users.display());
    assert!(alive.exists(), "{} of a live process was removed", alive.display());
    assert!(!dead.exists(), "{} of a dead process is left", dead.display());
}

/// Behaviour 9: A rewritten WP file keeps its mode; a WP file that is a symbolic link is refused and stays one.
#[test]
fn file_modes_are_kept_and_symlinked_wp_files_refused() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    let wp01 = repo.wp_path("WP01");
    std::fs::set_permissions(&wp01, std::fs::Permissions::from_mode(0o755)).unwrap();
    repo.git(&["commit", "--quiet", "-am", "WP01 executable"]);
    assert_eq!(repo.git(&["ls-files", "-s", "--", &relative(&repo, &wp01)]).split(' ').next(), Some("100755"));

    repo.run_within(WATCHDOG, &[], &["agent", "tasks", "add-history", "WP01", "--note", "keep my mode"]).ok();
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"keep my mode"));
    let mode = std::fs::metadata(&wp01).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "the mode became {mode:o}");
    let diff = repo.git(&["diff", "--", &relative(&repo, &wp01)]);
    assert!(!diff.is_empty(), "the note is an uncommitted change");
    assert!(!diff.contains("old mode") && !diff.contains("new mode"), "a mode change:\n{diff}");

    // WP02's file becomes a link to a file elsewhere in the repository.
    let wp02 = repo.wp_path("WP02");
    let target = repo.root.join("wp02-elsewhere.md");
    std::fs::rename(&wp02, &target).unwrap();
    std::os::unix::fs::symlink(&target, &wp02).unwrap();
    let target_bytes = std::fs::read(&target).unwrap();
    let run = repo.run_within(WATCHDOG, &[], &["agent", "tasks", "add-history", "WP02", "--note", "through a link"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.errors().iter().any(|e| e.contains("symbolic link")), "the error says symbolic link: {run:#?}");
    assert!(std::fs::symlink_metadata(&wp02).unwrap().file_type().is_symlink(), "WP02's file is no longer a link");
    assert_eq!(std::fs::read_link(&wp02).unwrap(), target);
    assert!(std::fs::read(&target).unwrap() == target_bytes, "the link's target was changed");
}

/// Behaviour 10: Odd queues: an empty queue.db file is an empty queue; a row that is not JSON is counted by
/// `sync status` and skipped by `sync queue` with a warning naming queue.db.
#[test]
fn an_empty_queue_file_and_a_non_json_row_are_read_without_failing() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(&repo.home).unwrap();
    std::fs::write(repo.queue_db(), b"").unwrap();
    let run = repo.run_within(WATCHDOG, &[], &["sync", "status", "--json"]).ok();
    assert_eq!(run.json()["queue_size"], 0, "{run:#?}");
    let run = repo.run_within(WATCHDOG, &[], &["sync", "queue", "--json"]).ok();
    assert_eq!(run.json(), serde_json::json!([]), "{run:#?}");

    // A real queue, then a row of someone else's that is not JSON.
    std::fs::remove_file(repo.queue_db()).unwrap();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "one"]).ok();
    repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "two"]).ok();
    let ids: Vec<Value> = repo.events().iter().map(|e| e["event_id"].clone()).collect();
    assert_eq!(ids.len(), 2);
    {
        let conn = Connection::open(repo.queue_db()).unwrap();
        let timestamp: i64 = conn.query_row("SELECT MAX(timestamp) FROM queue", [], |r| r.get(0)).unwrap();
        conn.execute(
            "INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?1, ?2, ?3, ?4)",
            params![ulid_from(7), "HistoryAdded", "this is not { JSON", timestamp],
        )
        .unwrap();
    }

    let run = repo.run_within(WATCHDOG, &[], &["sync", "status", "--json"]).ok();
    assert_eq!(run.json()["queue_size"], 3, "the odd row is counted: {run:#?}");
    repo.run_within(WATCHDOG, &[], &["sync", "status"]).ok();
    let run = repo.run_within(WATCHDOG, &[], &["sync", "queue", "--json"]).ok();
    let listed: Vec<Value> = run.json().as_array().expect("an array").iter().map(|e| e["event_id"].clone()).collect();
    assert_eq!(listed, ids, "the two real events: {run:#?}");
    assert!(
        run.warnings().iter().any(|w| w.contains(&repo.queue_db().display().to_string())),
        "a warning line naming queue.db: {run:#?}"
    );
}

/// Behaviour 11: Without HOME and SPEC_KITTY_HOME the state folder is never put in the current folder (the
/// repository, where `git add -A` would pick it up).
///
/// As root the command runs as nobody (home /nonexistent), so the test does not write into root's
/// real state folder; the repository is made writable for it.
#[test]
fn without_home_the_state_folder_is_not_in_the_repository() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let repo = TestRepo::new();
    let as_nobody = running_as_root();
    if as_nobody {
        let top = repo.root.parent().unwrap().to_path_buf();
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o777)).unwrap();
        make_world_writable(&repo.root);
    }
    let args = ["agent", "tasks", "add-history", "WP01", "--note", "no home"];
    let mut command = repo.command_in(&repo.root, &args);
    if as_nobody {
        // The binary may sit under a folder nobody cannot traverse (a clone in a 0700 temp dir): a copy.
        let copied = repo.root.parent().unwrap().join("spec-kitty");
        std::fs::copy(binary(), &copied).unwrap();
        std::fs::set_permissions(&copied, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut copy = std::process::Command::new(&copied);
        copy.args(args).current_dir(&repo.root).env("SPEC_KITTY_HOME", &repo.home).stdin(std::process::Stdio::null());
        isolate(&mut copy, &repo.user_home);
        command = copy;
    }
    command.env_remove("HOME").env_remove("SPEC_KITTY_HOME");
    // git refuses a repository of another owner unless told it is safe (command-line scope).
    command.env("GIT_CONFIG_COUNT", "1").env("GIT_CONFIG_KEY_0", "safe.directory").env("GIT_CONFIG_VALUE_0", "*");
    if as_nobody {
        command.uid(65534).gid(65534);
    }
    let run = Run::from_process(&args, output_of_fresh_executable(&mut command));
    let run = run.ok();
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"no home"), "the note is written: {run:#?}");
    assert!(!repo.root.join(".spec-kitty").exists(), "a .spec-kitty folder in the repository: {run:#?}");
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains(".spec-kitty"), "git sees the state folder:\n{status}");
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("cannot run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

fn make_world_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            make_world_writable(&path);
        } else if meta.is_file() {
            let mode = meta.permissions().mode() | 0o666;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// Behaviour 12: Agent names go into the log and the events as printable text without the log's field
/// separator; an error quoting a newline is one line.
#[test]
fn agent_names_are_printable_and_cannot_forge_fields_and_errors_are_one_line() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "normal", "--agent", "codex"]).ok();
    let text = repo.wp_text("WP01");
    let normal = *activity_lines(&text).last().unwrap();
    assert!(normal.ends_with("normal"), "{normal}");
    let separators = normal.matches(" – ").count();

    let queued = repo.events().len();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "coloured", "--agent", "\u{1}\u{1b}[31mx"]).ok();
    let text = repo.wp_text("WP01");
    let line = *activity_lines(&text).last().unwrap();
    assert!(line.ends_with("coloured"), "{line}");
    assert!(!line.chars().any(char::is_control), "a control character in the log: {line:?}");
    let new = events_since(&repo, queued);
    assert_eq!(new.len(), 1);
    let author = new[0]["payload"]["author"].as_str().expect("an author");
    assert!(!author.is_empty() && !author.chars().any(char::is_control), "a control character: {author:?}");
    assert!(author.contains('x'), "{author:?}");

    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "forged", "--agent", "a – lane=done – fake"]).ok();
    let text = repo.wp_text("WP01");
    let line = *activity_lines(&text).last().unwrap();
    assert!(line.ends_with("forged"), "{line}");
    assert_eq!(line.matches(" – ").count(), separators, "a forged field: {line:?} against {normal:?}");
    // Read as the log is read (split at the separator), the fields are the real ones.
    let fields: Vec<&str> = line.split(" – ").collect();
    assert_eq!(fields[3], "lane=planned", "the lane field: {line:?}");
    assert_eq!(fields.iter().filter(|f| f.starts_with("lane=")).count(), 1, "one lane field: {line:?}");

    let run = repo.run(&["agent", "tasks", "move-task", "WP01", "--to", "doing\nx"]);
    assert!(run.code.is_some_and(|c| c != 0), "{run:#?}");
    assert_no_panic(&run);
    let lines = run.stderr_lines_besides_offline();
    assert_eq!(lines.len(), 1, "the error on exactly one line: {run:#?}");
    assert!(lines[0].starts_with("error:"), "{run:#?}");
    assert_eq!(repo.lane("WP01"), "planned");
}
