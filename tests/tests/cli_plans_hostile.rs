//! Issue 11, attacked: the workflow commands carried out from the core's plans, against a hostile
//! clone, odd git states and commands killed half-way.
//!
//! - Nothing outside the repository is read or written: a `.worktrees` or `.kittify` folder that
//!   links outside, a link into `.git`; a named pipe or a huge file does not hang or exhaust the
//!   command; a feature folder whose name git would read as an option never reaches git.
//! - A command killed with SIGKILL at its commit (just before, just after) loses nothing and repeats
//!   nothing: the next command finishes it and queues its events exactly once.

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

#[track_caller]
fn assert_refused_naming(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{run:#?}");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "one error line: {run:#?}");
    for needle in needles {
        assert!(errors[0].contains(needle), "the error names `{needle}`: {run:#?}");
    }
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
