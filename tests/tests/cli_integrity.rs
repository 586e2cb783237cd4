//! Issue 7, items 4-6 and 8-16: a command is one unit (its file change, its commit and its event),
//! it never aborts and never waits unbounded, and the state it leaves says what happened.
//! (Item 7, meta.json values, is tested elsewhere.)

mod common;

use common::*;
use rusqlite::{Connection, OpenFlags, params};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WATCHDOG: Duration = Duration::from_secs(30);

/// A repository whose queue already holds two events.
fn repo_with_two_events() -> TestRepo {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "one"]).ok();
    repo.run(&["agent", "tasks", "move-task", "WP05", "--to", "doing"]).ok();
    assert_eq!(repo.events().len(), 2);
    repo
}

fn worktree(repo: &TestRepo, wp: &str) -> PathBuf {
    repo.root.join(".worktrees").join(format!("{FEATURE}-{wp}"))
}

fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    let mut command = Command::new("git");
    command.args(["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")]).current_dir(&repo.root);
    isolate(&mut command, &repo.user_home);
    command.output().unwrap().status.success()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_string()
}

fn contains_ci(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// Item 4: a git step that fails (git's own index.lock is taken) leaves the WP file as it was and
/// queues nothing; once the lock is gone the retry does the move and queues it once.
#[test]
fn item_04_index_lock_leaves_files_and_retry_emits_once() {
    let repo = TestRepo::new();
    repo.run(&["init"]).ok();
    let index_lock = repo.root.join(".git").join("index.lock");
    // A bound on any wait the command might add: the failure is git's, not a lock of ours.
    let env = [("SPEC_KITTY_LOCK_TIMEOUT_MS", "2000")];

    // move-task
    let before = std::fs::read(repo.wp_path("WP03")).unwrap();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let queued = repo.events().len();
    std::fs::write(&index_lock, "").unwrap();
    let run = repo.run_within(WATCHDOG, &env, &["agent", "tasks", "move-task", "WP03", "--to", "doing"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(std::fs::read(repo.wp_path("WP03")).unwrap() == before, "WP03's file is byte-identical");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    assert_no_status_change(&events_since(&repo, queued));
    std::fs::remove_file(&index_lock).unwrap();
    let queued = repo.events().len();
    repo.run_within(WATCHDOG, &env, &["agent", "tasks", "move-task", "WP03", "--to", "doing"]).ok();
    assert_one_status_change(&events_since(&repo, queued), "WP03", "planned", "doing");
    assert_eq!(repo.lane("WP03"), "doing");
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "WP03: planned -> doing");

    // implement
    let before = std::fs::read(repo.wp_path("WP01")).unwrap();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let queued = repo.events().len();
    std::fs::write(&index_lock, "").unwrap();
    let run = repo.run_within(WATCHDOG, &env, &["implement", "WP01"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(std::fs::read(repo.wp_path("WP01")).unwrap() == before, "WP01's file is byte-identical");
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed");
    assert_no_status_change(&events_since(&repo, queued));
    std::fs::remove_file(&index_lock).unwrap();
    let queued = repo.events().len();
    repo.run_within(WATCHDOG, &env, &["implement", "WP01"]).ok();
    assert_one_status_change(&events_since(&repo, queued), "WP01", "planned", "doing");
    assert!(worktree(&repo, "WP01").is_dir(), "the worktree {}", worktree(&repo, "WP01").display());
    assert_eq!(repo.lane("WP01"), "doing");
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "WP01: planned -> doing");
}

/// Item 5: on a detached HEAD, `implement` and `move-task` refuse clearly and change nothing.
#[test]
fn item_05_detached_head_is_refused_by_implement_and_move_task() {
    let repo = TestRepo::new();
    repo.run(&["init"]).ok();
    repo.git(&["checkout", "--quiet", "--detach"]);
    let head = repo.git(&["rev-parse", "HEAD"]);

    for (wp, args) in
        [("WP01", &["implement", "WP01"][..]), ("WP02", &["agent", "tasks", "move-task", "WP02", "--to", "doing"])]
    {
        let before = std::fs::read(repo.wp_path(wp)).unwrap();
        let queued = repo.events().len();
        let run = repo.run(args);
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert!(run.errors().iter().any(|line| contains_ci(line, "detached")), "says the HEAD is detached: {run:#?}");
        assert!(std::fs::read(repo.wp_path(wp)).unwrap() == before, "{wp}'s file is unchanged");
        assert_no_status_change(&events_since(&repo, queued));
        assert_eq!(repo.git(&["rev-parse", "HEAD"]), head, "nothing committed on the detached HEAD");
        assert_eq!(repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "HEAD", "still detached");
        assert!(!worktree(&repo, wp).exists(), "no worktree for {wp}");
        assert!(!branch_exists(&repo, &format!("{FEATURE}-{wp}")), "no branch for {wp}");
    }
}

/// Item 6: an invalid project.uuid is named by `init` (which fails) and by every command (which
/// warns); the events are queued without the project identity.
#[test]
fn item_06_invalid_project_uuid_is_named_and_events_are_still_queued() {
    let repo = TestRepo::new();
    let config = repo.root.join(".kittify").join("config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let text = "project:\n  uuid: not-a-uuid\n  slug: demo\n";
    std::fs::write(&config, text).unwrap();

    let run = repo.run(&["init"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.errors().iter().any(|line| line.contains("project.uuid")), "init names the field: {run:#?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "init leaves the file as it is");

    let queued = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x"]).ok();
    assert!(run.warnings().iter().any(|line| line.contains("project.uuid")), "a warning names the field: {run:#?}");
    let new = events_since(&repo, queued);
    let history = of_type(&new, "HistoryAdded");
    assert_eq!(history.len(), 1, "the note is queued: {run:#?}");
    assert!(history[0].get("project_uuid").is_none_or(Value::is_null), "no project_uuid: {:#}", history[0]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "config.yaml is left as it is");
}

/// Fills the queue to `target` rows with valid copies of its first event (new ids, higher clocks).
fn fill_queue(repo: &TestRepo, target: usize) {
    let first = repo.events().into_iter().next().expect("a first real event");
    let mut conn = Connection::open(repo.queue_db()).unwrap();
    let tx = conn.transaction().unwrap();
    let len: i64 = tx.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get(0)).unwrap();
    let high: i64 = tx.query_row("SELECT value FROM meta WHERE key = 'lamport_clock'", [], |r| r.get(0)).unwrap();
    let timestamp: i64 = tx.query_row("SELECT timestamp FROM queue ORDER BY id LIMIT 1", [], |r| r.get(0)).unwrap();
    let mut clock = high;
    {
        let mut insert =
            tx.prepare("INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?1, ?2, ?3, ?4)").unwrap();
        for n in len as usize..target {
            clock += 1;
            let mut event = first.clone();
            let id = ulid_from(n as u128);
            event["event_id"] = Value::from(id.clone());
            event["lamport_clock"] = Value::from(clock);
            event["payload"]["entry_content"] = Value::from(format!("filler {n}"));
            insert.execute(params![id, event["event_type"].as_str().unwrap(), event.to_string(), timestamp]).unwrap();
        }
    }
    tx.execute("UPDATE meta SET value = ?1 WHERE key = 'lamport_clock'", [clock]).unwrap();
    tx.commit().unwrap();
}

fn dev_full() -> Stdio {
    Stdio::from(std::fs::File::options().write(true).open("/dev/full").expect("/dev/full"))
}

#[track_caller]
fn assert_no_panic(code: Option<i32>, stderr: &str) {
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert!(code.is_some(), "killed by a signal: {stderr}");
    assert!(!matches!(code, Some(101 | 134)), "exit {code:?} is a panic or an abort: {stderr}");
}

/// Item 8: a closed or full stdout/stderr ends the command quietly with the action's own status.
#[test]
fn item_08_closed_pipe_and_full_device_never_panic_and_keep_the_real_status() {
    use std::io::{BufRead, BufReader, Read};
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "the first"]).ok();
    // More lines than a pipe holds, so that the writer meets the closed pipe.
    fill_queue(&repo, 3000);

    // `sync queue | head -1`
    let mut child =
        repo.command_in(&repo.root, &["sync", "queue"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(!line.trim().is_empty(), "a first line of the queue");
    } // the pipe is closed here
    let status = wait_within(child, WATCHDOG, "spec-kitty sync queue | head -1").status;
    let stderr = stderr_reader.join().unwrap();
    assert_no_panic(status.code(), &stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // stdout on a full device: the event is queued once, exit 0.
    let before = repo.queue_len();
    let output = repo
        .command_in(&repo.root, &["agent", "tasks", "add-history", "WP01", "--note", "stdout full"])
        .stdout(dev_full())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_no_panic(output.status.code(), &stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(repo.queue_len(), before + 1, "exactly one new event");
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"stdout full"));

    // stderr on a full device.
    let before = repo.queue_len();
    let output = repo
        .command_in(&repo.root, &["agent", "tasks", "add-history", "WP01", "--note", "stderr full"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(repo.queue_len(), before + 1, "exactly one new event");
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"stderr full"));

    // A failing command with stderr on a full device: its own status, 1.
    let output = repo
        .command_in(&repo.root, &["agent", "tasks", "move-task", "WP99", "--to", "doing"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stdout));
}

/// Item 9: a held clock.lock or a locked queue makes the emission give up within its timeout (the
/// command succeeds with a warning); parallel commands do not wait for each other's timeouts.
#[test]
fn item_09_emission_wait_is_bounded_by_the_queue_busy_timeout() {
    let repo = repo_with_two_events();
    let queued = repo.queue_len();

    // clock.lock held by someone else.
    let clock_lock =
        std::fs::File::options().write(true).create(true).truncate(false).open(repo.home.join("clock.lock")).unwrap();
    clock_lock.lock().unwrap();
    let run = repo.run_within(
        WATCHDOG,
        &[("SPEC_KITTY_QUEUE_BUSY_TIMEOUT_MS", "500")],
        &["agent", "tasks", "add-history", "WP02", "--note", "clock locked"],
    );
    let run = run.ok();
    assert!(run.warnings().iter().any(|w| contains_ci(w, "not queued")), "the not-queued warning: {run:#?}");
    assert_eq!(activity_notes(&repo.wp_text("WP02")).last(), Some(&"clock locked"), "the action happened");
    clock_lock.unlock().unwrap();
    drop(clock_lock);
    assert_eq!(repo.queue_len(), queued);

    // The queue locked by a writer: 4 commands at once, each gives up after its own timeout.
    let mut holder = Connection::open(repo.queue_db()).unwrap();
    let lock = holder.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
    let repo = std::sync::Arc::new(repo);
    let start = std::sync::Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = ["WP01", "WP02", "WP03", "WP04"]
        .into_iter()
        .map(|wp| {
            let (repo, start) = (std::sync::Arc::clone(&repo), std::sync::Arc::clone(&start));
            std::thread::spawn(move || {
                let note = format!("queue locked {wp}");
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
    lock.rollback().unwrap();
    drop(holder);
    for (wp, note, run, elapsed) in results {
        let run = run.ok();
        assert!(run.warnings().iter().any(|w| contains_ci(w, "not queued")), "the not-queued warning: {run:#?}");
        assert!(
            elapsed < Duration::from_millis(4000),
            "{wp}: {elapsed:?} behind a 1000 ms timeout: the commands waited for each other"
        );
        assert_eq!(activity_notes(&repo.wp_text(wp)).last(), Some(&note.as_str()), "the action happened");
    }
    assert_eq!(repo.queue_len(), queued);
}

/// Item 10: a frontmatter nested 100,000 deep, or 2 MiB large, fails fast with the file named.
#[test]
fn item_10_deep_or_huge_frontmatter_fails_fast_naming_the_file() {
    let repo = TestRepo::new();
    let path = repo.wp_path("WP01");
    let name = file_name(&path);
    let original = repo.wp_text("WP01");
    let after_opening = original.strip_prefix("---\n").expect("a frontmatter");

    let deep = format!("---\ndeep: {}{}\n{after_opening}", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(&path, &deep).unwrap();
    let run = repo.run_within(WATCHDOG, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(!run.stderr.contains("panicked") && !run.stderr.contains("overflow"), "{run:#?}");
    assert!(
        run.errors().iter().any(|e| e.contains(&name) && (contains_ci(e, "deep") || contains_ci(e, "nest"))),
        "an error naming {name} and its nesting: {}",
        run.stderr
    );
    assert!(std::fs::read_to_string(&path).unwrap() == deep, "the file is left as it is");

    let huge = format!("---\nbig: \"{}\"\n{after_opening}", "a".repeat(2 * 1024 * 1024));
    std::fs::write(&path, &huge).unwrap();
    let run = repo.run_within(WATCHDOG, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.errors().iter().any(|e| e.contains(&name) && contains_ci(e, "too large")),
        "an error naming {name} and its size: {}",
        run.stderr.chars().take(2000).collect::<String>()
    );
    assert!(std::fs::read_to_string(&path).unwrap() == huge, "the file is left as it is");
}

/// Item 11: the clock stops at i64::MAX (what the queue can store): beyond it, the exhausted
/// warning and nothing queued, also after clock.json is deleted; no value is handed out twice.
#[test]
fn item_11_clock_at_i64_max_is_exhausted_and_never_repeats() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "first"]).ok();
    let node_id = repo.events()[0]["node_id"].as_str().unwrap().to_string();
    let clock = format!(
        "{{\"value\": 9223372036854775806, \"node_id\": \"{node_id}\", \"updated_at\": \"2026-01-01T00:00:00Z\"}}"
    );
    std::fs::write(repo.clock_json(), clock).unwrap();

    let before = repo.events().len();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "the last value"]).ok();
    let new = events_since(&repo, before);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["lamport_clock"].as_u64(), Some(i64::MAX as u64));

    let before = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "beyond"]).ok();
    assert!(run.warnings().iter().any(|w| contains_ci(w, "exhausted")), "the exhausted warning: {run:#?}");
    assert_eq!(repo.events().len(), before, "nothing queued beyond i64::MAX");
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"beyond"), "the action happened");

    std::fs::remove_file(repo.clock_json()).unwrap();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "without clock.json"]).ok();
    assert!(run.warnings().iter().any(|w| contains_ci(w, "exhausted")), "the exhausted warning: {run:#?}");
    assert_eq!(repo.events().len(), before, "nothing queued: the queue remembers the clock");

    let values = clocks(&repo.events());
    let distinct: std::collections::BTreeSet<u64> = values.iter().copied().collect();
    assert_eq!(distinct.len(), values.len(), "a Lamport value repeated: {values:?}");
    assert!(values.iter().all(|v| *v <= i64::MAX as u64), "{values:?}");
}

/// Item 12: when clock.json cannot be written after the queue commit, the warning says the event
/// was queued and the clock file not updated.
#[test]
fn item_12_clock_write_failure_after_commit_says_queued() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "first"]).ok();
    let high = clocks(&repo.events())[0];
    // A non-empty folder where clock.json was: the rename over it fails.
    std::fs::remove_file(repo.clock_json()).unwrap();
    std::fs::create_dir(repo.clock_json()).unwrap();
    std::fs::write(repo.clock_json().join("keep"), "x").unwrap();

    let before = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "clock unwritable"]).ok();
    let new = events_since(&repo, before);
    assert_eq!(new.len(), 1, "the event is queued: {run:#?}");
    assert_eq!(new[0]["payload"]["entry_content"], "clock unwritable");
    assert!(clocks(&new)[0] > high);
    let warnings = run.warnings();
    assert!(
        warnings.iter().any(|w| contains_ci(w, "queued") && w.contains("clock.json")),
        "a warning that the event is queued and clock.json not updated: {run:#?}"
    );
    assert!(!warnings.iter().any(|w| contains_ci(w, "not queued")), "no false not-queued: {run:#?}");
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

/// Item 13: temp files left by kill -9 are cleaned up by the next command, and never committed.
#[test]
fn item_13_temp_files_left_by_kill_are_cleaned_up() {
    let repo = TestRepo::new();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "first"]).ok();
    let wp = repo.wp_path("WP01");
    let wp_tmp = wp.with_file_name(format!(".{}.99999.tmp", file_name(&wp)));
    let clock_tmp = repo.home.join(".clock.json.99999.tmp");
    std::fs::write(&wp_tmp, "half a WP file").unwrap();
    std::fs::write(&clock_tmp, "{\"value\": 1").unwrap();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "after a crash"]).ok();
    assert!(!wp_tmp.exists(), "{} is left", wp_tmp.display());
    assert!(!clock_tmp.exists(), "{} is left", clock_tmp.display());

    // Real kills at varying moments of a command.
    for round in 0..30u64 {
        let note = format!("killed {round}");
        let mut child = repo
            .command_in(&repo.root, &["agent", "tasks", "add-history", "WP01", "--note", &note])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 7 % 16));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "after the kills"]).ok();
    let left: Vec<PathBuf> =
        tmp_files(&repo.root.join("kitty-specs")).into_iter().chain(tmp_files(&repo.home)).collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains(".tmp"), "git sees temp files:\n{status}");
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("cannot run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Sets modes and puts the old ones back when dropped (also when the test fails).
struct Modes(Vec<(PathBuf, u32)>);

impl Modes {
    fn set(&mut self, path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let old = std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        self.0.push((path.to_path_buf(), old));
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

impl Drop for Modes {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        for (path, mode) in self.0.iter().rev() {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode));
        }
    }
}

/// Item 14: the reading commands work on a read-only state folder.
#[test]
fn item_14_read_only_state_folder_serves_sync_status_and_queue() {
    use std::os::unix::process::CommandExt;
    let repo = repo_with_two_events();
    let ids: Vec<Value> = repo.events().iter().map(|e| e["event_id"].clone()).collect();
    let db_bytes = std::fs::read(repo.queue_db()).unwrap();
    // As root modes stop nothing: the commands run as nobody, who can read and traverse only.
    let as_nobody = running_as_root();
    let as_user = |command: &mut Command| {
        if as_nobody {
            command.uid(65534).gid(65534);
        }
    };
    let mut modes = Modes(Vec::new());
    let top = repo.home.parent().unwrap().to_path_buf();
    modes.set(&top, 0o755);
    modes.set(&repo.root, 0o755);
    modes.set(&repo.user_home, 0o755);
    for entry in std::fs::read_dir(&repo.home).unwrap() {
        let path = entry.unwrap().path();
        modes.set(&path, if path.is_dir() { 0o555 } else { 0o444 });
    }
    modes.set(&repo.home, 0o555);

    // Sanity: that user really cannot write there.
    let probe = repo.home.join("probe");
    let mut touch = Command::new("touch");
    touch.arg(&probe).stdout(Stdio::null()).stderr(Stdio::null());
    as_user(&mut touch);
    assert!(!touch.status().unwrap().success() && !probe.exists(), "the state folder is writable after all");

    // The binary may sit under a folder nobody cannot traverse (a clone in a 0700 temp dir): run a copy.
    let copied = top.join("spec-kitty");
    std::fs::copy(binary(), &copied).unwrap();
    modes.set(&copied, 0o755);
    let run_read_only = |args: &[&str]| {
        let mut command = Command::new(&copied);
        command.args(args).current_dir(&repo.root).env("SPEC_KITTY_HOME", &repo.home).stdin(Stdio::null());
        isolate(&mut command, &repo.user_home);
        as_user(&mut command);
        let output = output_of_fresh_executable(&mut command);
        Run::from_process(args, output)
    };
    let run = run_read_only(&["sync", "status"]).ok();
    assert!(run.stdout.contains("2 event(s) waiting"), "{run:#?}");
    let run = run_read_only(&["sync", "status", "--json"]).ok();
    assert_eq!(run.json()["queue_size"], 2, "{run:#?}");
    let run = run_read_only(&["sync", "queue", "--json"]).ok();
    let listed: Vec<Value> = run.json().as_array().expect("an array").iter().map(|e| e["event_id"].clone()).collect();
    assert_eq!(listed, ids, "the two events, oldest first");
    drop(modes);
    assert!(std::fs::read(repo.queue_db()).unwrap() == db_bytes, "queue.db is unchanged");
}

/// Item 15: `--agent` folds newlines like notes do; an empty one is a usage error; a deleted
/// clock.json is reported.
#[test]
fn item_15_agent_newlines_fold_empty_agent_refused_missing_clock_warned() {
    let repo = TestRepo::new();
    let before = repo.wp_text("WP01");
    let queued = repo.events().len();
    repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x", "--agent", "codex\nrm -rf"]).ok();
    let after = repo.wp_text("WP01");
    assert_eq!(after.lines().count(), before.lines().count() + 1, "one line more:\n{after}");
    let added: Vec<&str> = after.lines().filter(|line| !before.lines().any(|old| old == *line)).collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].contains("codex rm -rf"), "{}", added[0]);
    let new = events_since(&repo, queued);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["payload"]["author"], "codex rm -rf");

    let text = repo.wp_text("WP01");
    let queued = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "y", "--agent", ""]);
    assert_eq!(run.code, Some(2), "a usage error: {run:#?}");
    assert_eq!(repo.wp_text("WP01"), text, "nothing written");
    assert_eq!(repo.events().len(), queued, "nothing queued");

    let high = clocks(&repo.events()).into_iter().max().unwrap();
    std::fs::remove_file(repo.clock_json()).unwrap();
    let queued = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "clock gone"]).ok();
    assert!(run.warnings().iter().any(|w| w.contains("clock.json")), "a warning names clock.json: {run:#?}");
    let new = events_since(&repo, queued);
    assert_eq!(new.len(), 1, "queued all the same");
    assert!(clocks(&new)[0] > high, "no Lamport value handed out twice");
}

/// Commits `file` with `contents` in `dir` (a worktree or the main checkout).
fn commit_file(repo: &TestRepo, dir: &Path, file: &str, contents: &str) {
    std::fs::write(dir.join(file), contents).unwrap();
    git_in(dir, &repo.user_home, &["add", file]);
    git_in(dir, &repo.user_home, &["commit", "--quiet", "-m", &format!("{file}: {contents}")]);
}

#[track_caller]
fn assert_not_mid_merge(repo: &TestRepo) {
    assert!(!repo.root.join(".git").join("MERGE_HEAD").exists(), "left mid-merge");
    assert_eq!(repo.git(&["diff", "--name-only", "--diff-filter=U"]), "", "unmerged paths left");
}

/// Item 16 (a): a merge conflict names itself and its files, is undone, and is logged with the WP.
#[test]
fn item_16a_merge_conflict_names_the_file_and_logs_the_wp() {
    let repo = TestRepo::new();
    repo.run(&["implement", "WP01"]).ok();
    commit_file(&repo, &worktree(&repo, "WP01"), "conflict.txt", "WP01's version\n");
    commit_file(&repo, &repo.root, "conflict.txt", "main's version\n");
    let queued = repo.events().len();

    let run = repo.run(&["merge"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.errors()
            .iter()
            .any(|e| contains_ci(&e.replace("conflict.txt", ""), "conflict") && e.contains("conflict.txt")),
        "the error says it conflicted, in conflict.txt: {run:#?}"
    );
    assert_not_mid_merge(&repo);
    assert_eq!(std::fs::read_to_string(repo.root.join("conflict.txt")).unwrap(), "main's version\n");
    let new = events_since(&repo, queued);
    let logged = of_type(&new, "ErrorLogged");
    assert!(logged.iter().any(|e| e["payload"]["wp_id"] == "WP01"), "an ErrorLogged for WP01: {new:#?}");
}

/// Item 16 (b): a merge blocked by an untracked file names the file.
#[test]
fn item_16b_merge_blocked_by_untracked_file_names_it() {
    let repo = TestRepo::new();
    repo.run(&["implement", "WP01"]).ok();
    commit_file(&repo, &worktree(&repo, "WP01"), "new.txt", "WP01's new file\n");
    std::fs::write(repo.root.join("new.txt"), "the user's own, untracked\n").unwrap();

    let run = repo.run(&["merge"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.errors().iter().any(|e| e.contains("new.txt")), "the error names new.txt: {run:#?}");
    assert_not_mid_merge(&repo);
    assert_eq!(std::fs::read_to_string(repo.root.join("new.txt")).unwrap(), "the user's own, untracked\n");
}

/// Item 16 (c): a queue.db we did not create (a foreign `queue` table) is reported in one line and
/// left byte-identical, not switched to WAL.
#[test]
fn item_16c_foreign_queue_db_is_reported_in_one_line_and_left_untouched() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(&repo.home).unwrap();
    {
        let conn = Connection::open(repo.queue_db()).unwrap();
        conn.execute_batch("CREATE TABLE queue(x TEXT); INSERT INTO queue VALUES ('not yours');").unwrap();
    }
    let bytes = std::fs::read(repo.queue_db()).unwrap();

    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x"]).ok();
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "one warning line: {run:#?}");
    assert!(warnings[0].contains("queue.db"), "it names queue.db: {run:#?}");
    assert!(!run.stderr.lines().any(|line| line.contains("CREATE")), "no SQL dump: {run:#?}");
    assert_eq!(activity_notes(&repo.wp_text("WP01")).last(), Some(&"x"), "the action happened");

    assert!(std::fs::read(repo.queue_db()).unwrap() == bytes, "queue.db is byte-identical");
    assert!(!repo.home.join("queue.db-wal").exists(), "no queue.db-wal");
    let conn = Connection::open_with_flags(repo.queue_db(), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_ne!(mode.to_lowercase(), "wal", "queue.db was switched to WAL");
    let rows: String = conn.query_row("SELECT x FROM queue", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, "not yours");
}
