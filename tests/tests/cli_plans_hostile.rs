//! Issue 11, attacked: the workflow commands carried out from the core's plans, against a hostile
//! clone, odd git states and commands killed half-way.
//!
//! - Nothing outside the repository is read or written: a `.worktrees` or `.kittify` folder that
//!   links outside, a link into `.git`; a named pipe or a huge file does not hang or exhaust the
//!   command; a feature folder whose name git would read as an option never reaches git.
//! - A command killed with SIGKILL at its commit (just before, just after) loses nothing and repeats
//!   nothing: the next command finishes it from the outbox and queues its events exactly once; one
//!   killed before its first edit is forgotten; a file changed since is never overwritten.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// A path beside the repository, in the test's temp folder: outside the repository.
fn outside(repo: &TestRepo, name: &str) -> PathBuf {
    repo.root.parent().unwrap().join(name)
}

fn relative(repo: &TestRepo, path: &Path) -> String {
    path.strip_prefix(&repo.root).unwrap().to_str().unwrap().to_string()
}

/// The names in a folder, sorted (empty when it does not exist).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn branches(repo: &TestRepo) -> Vec<String> {
    repo.git(&["branch", "--format=%(refname:short)"]).lines().map(str::to_string).collect()
}

/// A `.worktrees` that links outside the repository: implement would have git check the WP's
/// worktree out there. Refused before any git step, naming the link; nothing is made outside.
#[test]
fn a_worktrees_folder_linking_outside_the_repository_is_refused() {
    let repo = TestRepo::new();
    let elsewhere = outside(&repo, "worktrees-elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.root.join(".worktrees")).unwrap();
    let run = repo.run_within(LIMIT, &[], &["implement", "WP01", "--json"]);
    assert_refused_naming(&run, &[".worktrees", "symbolic link"]);
    assert_eq!(run.json()["ok"], false, "{run:#?}");
    assert_eq!(names_in(&elsewhere), Vec::<String>::new(), "a worktree was made outside the repository");
    assert_eq!(branches(&repo), ["main"], "no branch either");
    assert_eq!(repo.lane("WP01"), "planned");

    // A `.worktrees` that is a file: one line naming it, not git's complaint.
    std::fs::remove_file(repo.root.join(".worktrees")).unwrap();
    std::fs::write(repo.root.join(".worktrees"), "not a folder").unwrap();
    let run = repo.run_within(LIMIT, &[], &["implement", "WP01"]);
    assert_refused_naming(&run, &[".worktrees", "not a folder"]);
    assert_eq!(branches(&repo), ["main"]);
}

/// A `.kittify` that links outside the repository: the project identity is neither written nor
/// read there, and the sweep of leftover temp files does not reach it; the command itself goes on
/// (its events carry no identity, with a warning naming the link).
#[test]
fn a_kittify_folder_linking_outside_the_repository_is_never_written_or_swept() {
    let repo = TestRepo::new();
    let elsewhere = outside(&repo, "kittify-elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // A temp file of a dead process, as the sweep removes inside the repository.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    std::fs::write(elsewhere.join("config.yaml"), "# not ours\n").unwrap();
    let leftover = format!(".config.yaml.{}.tmp", child.id());
    std::fs::write(elsewhere.join(&leftover), "not ours to sweep").unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.root.join(".kittify")).unwrap();

    let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]).ok();
    assert!(
        run.warnings().iter().any(|w| w.contains(".kittify") && w.contains("symbolic link")),
        "a warning names the link: {run:#?}"
    );
    assert_eq!(names_in(&elsewhere), [leftover.as_str(), "config.yaml"], "a file outside was made or removed");
    assert_eq!(std::fs::read_to_string(elsewhere.join("config.yaml")).unwrap(), "# not ours\n", "written outside");
    let events = repo.events();
    assert!(events.iter().all(|e| e.get("project_uuid").is_none()), "no identity read from outside: {events:#?}");
}

/// A named pipe where a feature's file should be: reading it would block the command (and every
/// other, behind the project lock) forever. Refused at once, naming the file.
#[test]
fn a_named_pipe_in_the_feature_folder_is_refused_not_waited_on() {
    for name in ["meta.json", "tasks.md"] {
        let repo = TestRepo::new();
        let path = repo.feature_dir().join(name);
        std::fs::remove_file(&path).unwrap();
        make_fifo(&path);
        let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "move-task", "WP01", "--to", "doing", "--json"]);
        assert_refused_naming(&run, &[&relative(&repo, &path), "not a regular file"]);
        assert_eq!(run.json()["ok"], false);
        assert_eq!(repo.lane("WP01"), "planned");
    }
}

fn make_fifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo only creates the pipe named by a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// A huge file in the feature folder (a clone can carry gigabytes of zeros in a few compressed
/// megabytes): refused by its size, naming the file, instead of read whole into memory.
#[test]
fn a_huge_file_in_the_feature_folder_is_refused_by_its_size() {
    let repo = TestRepo::new();
    let tasks = repo.tasks_path();
    // Sparse: costs no disk.
    std::fs::OpenOptions::new().write(true).open(&tasks).unwrap().set_len(256 << 20).unwrap();
    let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_refused_naming(&run, &[&relative(&repo, &tasks), "too large"]);
    assert_eq!(repo.lane("WP01"), "planned");
}

/// A WP file or tasks folder that links into `.git`: git's own data is not the working tree, and a
/// command must neither read it (its text could end up in a synced event) nor write it.
#[test]
fn a_link_into_the_git_folder_is_refused() {
    let repo = TestRepo::new();
    let wp01 = repo.wp_path("WP01");
    std::fs::remove_file(&wp01).unwrap();
    std::os::unix::fs::symlink("../../../.git/config", &wp01).unwrap();
    let config = std::fs::read(repo.root.join(".git/config")).unwrap();
    for args in [
        &["agent", "tasks", "add-history", "WP02", "--note", "x"][..],
        &["agent", "tasks", "move-task", "WP01", "--to", "doing"],
    ] {
        let run = repo.run_within(LIMIT, &[], args);
        assert_refused_naming(&run, &[&relative(&repo, &wp01), ".git"]);
    }
    assert_eq!(std::fs::read(repo.root.join(".git/config")).unwrap(), config);

    // A tasks folder that is `.git/refs` seen through a link.
    let repo = TestRepo::new();
    let tasks = repo.feature_dir().join("tasks");
    std::fs::rename(&tasks, repo.root.join("tasks-moved")).unwrap();
    std::os::unix::fs::symlink("../../.git/refs", &tasks).unwrap();
    let run = repo.run_within(LIMIT, &[], &["agent", "feature", "finalize-tasks"]);
    assert_refused_naming(&run, &[&relative(&repo, &tasks), ".git"]);
}

/// A link that leads to itself is a loop, not an escape: the error says which.
#[test]
fn a_link_loop_is_named_as_a_loop() {
    let repo = TestRepo::new();
    let meta = repo.feature_dir().join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    std::os::unix::fs::symlink("meta.json", &meta).unwrap();
    let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "move-task", "WP01", "--to", "doing"]);
    assert_refused_naming(&run, &[&relative(&repo, &meta), "loop"]);
    assert!(!run.errors()[0].contains("outside"), "a loop is not an escape: {run:#?}");
}

/// A feature folder named like an option (`-b`): its WP branches (`-b-WP01`) would reach git as
/// options. implement refuses before any git step, naming the branch; merge refuses such a branch
/// when one exists (made with plumbing).
#[test]
fn a_feature_named_like_an_option_never_reaches_git_as_one() {
    let repo = TestRepo::new();
    std::fs::rename(repo.feature_dir(), repo.root.join("kitty-specs/-b")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "--quiet", "-m", "renamed"]);
    let run = repo.run_within(LIMIT, &[], &["implement", "WP01", "--json"]);
    assert_refused_naming(&run, &["`-b-WP01` cannot be a git branch", "starts with `-`"]);
    assert_eq!(run.json()["ok"], false);
    assert_eq!(branches(&repo), ["main"]);
    assert!(!repo.root.join(".worktrees/-b-WP01").exists());

    // A WP in doing with a branch of that name: merge does not hand it to git.
    let wp01 = repo.root.join("kitty-specs/-b/tasks").join(repo_wp_file_name(&repo, "kitty-specs/-b", "WP01"));
    let text = std::fs::read_to_string(&wp01).unwrap().replacen("lane: \"planned\"", "lane: \"doing\"", 1);
    std::fs::write(&wp01, text).unwrap();
    repo.git(&["commit", "--quiet", "-am", "WP01 doing"]);
    let work = repo.git(&["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "work"]);
    repo.git(&["update-ref", "refs/heads/-b-WP01", &work]);
    let run = repo.run_within(LIMIT, &[], &["merge"]);
    assert_refused_naming(&run, &["`-b-WP01` cannot be a git branch", "starts with `-`"]);
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "WP01 doing", "nothing merged or committed");
}

fn repo_wp_file_name(repo: &TestRepo, feature: &str, wp: &str) -> String {
    names_in(&repo.root.join(feature).join("tasks")).into_iter().find(|n| n.starts_with(wp)).unwrap()
}

/// A cherry-pick, revert or rebase in progress: a command that commits is refused before it does
/// anything (implement used to make the worktree and branch, then fail at its commit).
#[test]
fn a_cherry_pick_in_progress_is_refused_before_anything_is_done() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "--quiet", "-b", "side"]);
    std::fs::write(repo.root.join("notes.txt"), "side\n").unwrap();
    repo.git(&["add", "notes.txt"]);
    repo.git(&["commit", "--quiet", "-m", "side"]);
    repo.git(&["checkout", "--quiet", "main"]);
    std::fs::write(repo.root.join("notes.txt"), "main\n").unwrap();
    repo.git(&["add", "notes.txt"]);
    repo.git(&["commit", "--quiet", "-m", "main"]);
    let mut pick = std::process::Command::new("git");
    pick.args(["cherry-pick", "side"]).current_dir(&repo.root);
    isolate(&mut pick, &repo.user_home);
    assert!(!pick.output().unwrap().status.success(), "the cherry-pick conflicts");
    assert!(repo.root.join(".git/CHERRY_PICK_HEAD").exists());
    for args in [&["implement", "WP01"][..], &["agent", "tasks", "move-task", "WP02", "--to", "doing"], &["accept"]] {
        let run = repo.run_within(LIMIT, &[], args);
        assert_refused_naming(&run, &["cherry-pick", "in progress"]);
    }
    assert_eq!(branches(&repo), ["main", "side"], "no WP branch was made");
    assert!(!repo.root.join(".worktrees").exists(), "no worktree was made");
}

/// Where a command is killed: just before git commits its edits, or just after.
#[derive(Clone, Copy, Debug)]
enum Crash {
    BeforeCommit,
    AfterCommit,
}

/// A `git` in front of the real one that kills its caller (spec-kitty) with SIGKILL when asked to
/// `commit` (before or after the real commit, as `$CRASH` says) or, with `CRASH=BeforeWorktree`, to
/// add a worktree. Returns the PATH to run with.
fn crashing_git(repo: &TestRepo) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let real = std::env::split_paths(&path).map(|dir| dir.join("git")).find(|git| git.is_file()).expect("git on PATH");
    let bin = repo.top().join("crashing-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = commit ] && [ \"$CRASH\" = BeforeCommit ]; then kill -9 $PPID; exit 1; fi\n\
         if [ \"$1\" = worktree ] && [ \"$CRASH\" = BeforeWorktree ]; then kill -9 $PPID; exit 1; fi\n\
         {real} \"$@\"; status=$?\n\
         if [ \"$1\" = commit ] && [ $status = 0 ] && [ \"$CRASH\" = AfterCommit ]; then kill -9 $PPID; fi\n\
         exit $status\n",
        real = real.display()
    );
    let git = bin.join("git");
    std::fs::write(&git, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{path}", bin.display())
}

/// Runs `args` killed at `crash`; asserts it was killed.
fn run_killed(repo: &TestRepo, crash: Crash, args: &[&str]) {
    let path = crashing_git(repo);
    let crash = format!("{crash:?}");
    let run = repo.run_within(LIMIT, &[("PATH", &path), ("CRASH", &crash)], args);
    assert_eq!(run.code, None, "`{}` was killed at {crash}: {run:#?}", args.join(" "));
}

/// Every WPStatusChanged queued, as (wp, from, to).
fn status_changes(repo: &TestRepo) -> Vec<(String, String, String)> {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_string();
    repo.events()
        .iter()
        .filter(|event| event["event_type"] == "WPStatusChanged")
        .map(|event| {
            let payload = &event["payload"];
            (text(&payload["wp_id"]), text(&payload["previous_status"]), text(&payload["new_status"]))
        })
        .collect()
}

fn change(wp: &str, from: &str, to: &str) -> (String, String, String) {
    (wp.to_string(), from.to_string(), to.to_string())
}

/// The feature's files as committed and as on disk agree (nothing half-done left behind).
#[track_caller]
fn assert_committed(repo: &TestRepo) {
    assert_eq!(repo.git(&["status", "--porcelain", "--", "kitty-specs"]), "", "uncommitted changes left");
}

/// Issue 11: implement killed at its commit, then run again: the WP is in doing, committed, and
/// its status change is queued exactly once.
#[test]
fn implement_killed_at_its_commit_is_finished_by_the_next_run_exactly_once() {
    for crash in [Crash::BeforeCommit, Crash::AfterCommit] {
        let repo = TestRepo::new();
        run_killed(&repo, crash, &["implement", "WP01"]);
        let run = repo.run_within(LIMIT, &[], &["implement", "WP01", "--json"]).ok();
        assert_eq!(run.json()["ok"], true);
        assert_eq!(repo.lane("WP01"), "doing", "{crash:?}");
        assert_committed(&repo);
        repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "later"]).ok();
        assert_eq!(status_changes(&repo), [change("WP01", "planned", "doing")], "{crash:?}");
    }
}

/// Issue 11: move-task killed at its commit, then asked again: done once, announced once; the
/// answer says it completed the earlier run.
#[test]
fn move_task_killed_at_its_commit_is_finished_by_the_next_run_exactly_once() {
    for crash in [Crash::BeforeCommit, Crash::AfterCommit] {
        let repo = TestRepo::new();
        run_killed(&repo, crash, &["agent", "tasks", "move-task", "WP02", "--to", "doing"]);
        let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "move-task", "WP02", "--to", "doing", "--json"]);
        let report = run.ok().json();
        assert_eq!(report["completed_earlier_run"], true, "{crash:?}: {report:#}");
        assert_eq!(repo.lane("WP02"), "doing");
        assert_committed(&repo);
        repo.run(&["agent", "tasks", "add-history", "WP02", "--note", "later"]).ok();
        assert_eq!(status_changes(&repo), [change("WP02", "planned", "doing")], "{crash:?}");
    }
}

/// Issue 11: accept killed at its commit: the next command (accept again) finishes it; the WP is
/// done, committed, and its status change queued once.
#[test]
fn accept_killed_at_its_commit_is_finished_by_the_next_run_exactly_once() {
    for crash in [Crash::BeforeCommit, Crash::AfterCommit] {
        let repo = TestRepo::new();
        for to in ["doing", "for_review"] {
            repo.run(&["agent", "tasks", "move-task", "WP01", "--to", to]).ok();
        }
        run_killed(&repo, crash, &["accept"]);
        repo.run_within(LIMIT, &[], &["accept", "--json"]).ok();
        assert_eq!(repo.lane("WP01"), "done", "{crash:?}");
        assert_committed(&repo);
        repo.run(&["accept"]).ok();
        let expected = [
            change("WP01", "planned", "doing"),
            change("WP01", "doing", "for_review"),
            change("WP01", "for_review", "done"),
        ];
        assert_eq!(status_changes(&repo), expected, "{crash:?}");
    }
}

/// Issue 11: merge killed at the commit of its lane moves (after git merged the branch): the next
/// run finishes the move; the WP is in for_review, committed, announced once.
#[test]
fn merge_killed_at_its_commit_is_finished_by_the_next_run_exactly_once() {
    for crash in [Crash::BeforeCommit, Crash::AfterCommit] {
        let repo = TestRepo::new();
        repo.run(&["implement", "WP01"]).ok();
        let worktree = repo.root.join(".worktrees").join(format!("{FEATURE}-WP01"));
        std::fs::write(worktree.join("factory.rs"), "// work\n").unwrap();
        git_in(&worktree, &repo.user_home, &["add", "factory.rs"]);
        git_in(&worktree, &repo.user_home, &["commit", "--quiet", "-m", "work"]);
        run_killed(&repo, crash, &["merge"]);
        repo.run_within(LIMIT, &[], &["merge", "--json"]).ok();
        assert_eq!(repo.lane("WP01"), "for_review", "{crash:?}");
        assert_committed(&repo);
        repo.run(&["merge"]).ok();
        let expected = [change("WP01", "planned", "doing"), change("WP01", "doing", "for_review")];
        assert_eq!(status_changes(&repo), expected, "{crash:?}");
    }
}

/// Issue 11: a file the killed command had under way and someone changed since is not overwritten:
/// the earlier change is dropped with a warning naming the file, and move-task itself still
/// finishes the lane change written on disk, announcing it once.
#[test]
fn a_file_changed_since_the_killed_command_is_not_overwritten() {
    let repo = TestRepo::new();
    run_killed(&repo, Crash::BeforeCommit, &["agent", "tasks", "move-task", "WP02", "--to", "doing"]);
    let wp02 = repo.wp_path("WP02");
    let edited = std::fs::read_to_string(&wp02).unwrap() + "\nA line of the user's.\n";
    std::fs::write(&wp02, &edited).unwrap();
    let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]).ok();
    assert!(
        run.warnings().iter().any(|w| w.contains(&relative(&repo, &wp02)) && w.contains("changed since")),
        "a warning names the file: {run:#?}"
    );
    assert_eq!(std::fs::read_to_string(&wp02).unwrap(), edited, "the user's change was overwritten");
    assert_eq!(status_changes(&repo), []);
    let report = repo.run(&["agent", "tasks", "move-task", "WP02", "--to", "doing", "--json"]).ok().json();
    assert_eq!(report["completed_earlier_run"], true, "{report:#}");
    assert_eq!(status_changes(&repo), [change("WP02", "planned", "doing")]);
    let committed = repo.git(&["show", &format!("HEAD:{}", relative(&repo, &wp02))]);
    assert!(committed.contains("A line of the user's."), "the file as it is was committed");
}

/// Issue 11: a command killed before its first edit did nothing to finish: the next command
/// forgets it, and a rerun does the whole change, announced once.
#[test]
fn a_command_killed_before_its_first_edit_is_simply_run_again() {
    let repo = TestRepo::new();
    // Killed at its first git step after the outbox: `git worktree add` goes through the wrapper too.
    let path = crashing_git(&repo);
    let run = repo.run_within(LIMIT, &[("PATH", &path), ("CRASH", "BeforeWorktree")], &["implement", "WP01"]);
    assert_eq!(run.code, None, "killed: {run:#?}");
    assert_eq!(repo.lane("WP01"), "planned");
    let run = repo.run_within(LIMIT, &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]).ok();
    assert!(!run.stderr.contains("finished an earlier"), "nothing to finish: {run:#?}");
    repo.run(&["implement", "WP01"]).ok();
    assert_eq!(repo.lane("WP01"), "doing");
    assert_committed(&repo);
    assert_eq!(status_changes(&repo), [change("WP01", "planned", "doing")]);
}
