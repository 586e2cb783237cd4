//! A temporary git repository holding a copy of the 028 feature, and the binary run in it.

use super::build::{binary, manifest_dir};
use super::run::{Run, wait_within};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

pub const FEATURE: &str = "028-cli-event-emission-sync";
pub const WPS: [&str; 7] = ["WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07"];

/// A temporary git repository holding a copy of the 028 feature (lanes reset to planned, subtasks
/// unticked), committed on `main`, and a temporary, not yet existing, `SPEC_KITTY_HOME`.
pub struct TestRepo {
    temp: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    /// The HOME of the spawned processes (keeps the user's git config and state out).
    pub user_home: PathBuf,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::Builder::new().prefix("spec-kitty-cli-").tempdir().expect("a temp dir");
        let root = dir.path().join("repo");
        let home = dir.path().join("state");
        let user_home = dir.path().join("user-home");
        std::fs::create_dir_all(&user_home).unwrap();
        let repo = TestRepo { temp: dir, root, home, user_home };
        let specs = repo.root.join("kitty-specs");
        std::fs::create_dir_all(&specs).unwrap();
        copy_dir(&manifest_dir().join("fixtures/kitty-specs").join(FEATURE), &repo.feature_dir());
        // Every WP of the fixture is done: reset them to planned and untick the subtasks.
        for wp in WPS {
            let path = repo.wp_path(wp);
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, reset_lane(&text)).unwrap();
        }
        let tasks = std::fs::read_to_string(repo.tasks_path()).unwrap();
        std::fs::write(repo.tasks_path(), tasks.replace("- [x] T", "- [ ] T")).unwrap();
        repo.git(&["init", "--quiet", "-b", "main"]);
        repo.git(&["config", "user.name", "Spec Kitty Tests"]);
        repo.git(&["config", "user.email", "tests@spec-kitty.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "--quiet", "-m", "The 028 feature, planned"]);
        repo
    }

    /// The same repository, with its commands pointed at another state folder (shared by several
    /// repositories in the concurrency test).
    pub fn with_home(mut self, home: &Path) -> TestRepo {
        self.home = home.to_path_buf();
        self
    }

    /// The temporary folder holding the repository, the state folder and the user's HOME.
    pub fn top(&self) -> &Path {
        self.temp.path()
    }

    pub fn feature_dir(&self) -> PathBuf {
        self.root.join("kitty-specs").join(FEATURE)
    }

    pub fn tasks_path(&self) -> PathBuf {
        self.feature_dir().join("tasks.md")
    }

    /// The file of a WP, e.g. `tasks/WP01-event-factory.md`.
    pub fn wp_path(&self, wp: &str) -> PathBuf {
        let dir = self.feature_dir().join("tasks");
        let mut matches: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{wp}-"))))
            .collect();
        assert_eq!(matches.len(), 1, "one file for {wp} in {}", dir.display());
        matches.remove(0)
    }

    pub fn wp_text(&self, wp: &str) -> String {
        std::fs::read_to_string(self.wp_path(wp)).unwrap()
    }

    /// The `lane:` of a WP's frontmatter, unquoted.
    pub fn lane(&self, wp: &str) -> String {
        frontmatter_lane(&self.wp_text(wp))
    }

    pub fn queue_db(&self) -> PathBuf {
        self.home.join("queue.db")
    }

    pub fn clock_json(&self) -> PathBuf {
        self.home.join("clock.json")
    }

    /// Runs git in the repository; panics on failure; returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.root, &self.user_home, args)
    }

    /// A `spec-kitty` command, ready to run in `cwd` with this repo's state folder.
    pub fn command_in(&self, cwd: &Path, args: &[&str]) -> Command {
        self.command_of(binary(), cwd, args)
    }

    /// `bin ARGS` in `cwd` with this repo's state folder and the user's environment kept out.
    pub fn command_of(&self, bin: &Path, cwd: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(bin);
        command.args(args).current_dir(cwd).env("SPEC_KITTY_HOME", &self.home).stdin(Stdio::null());
        isolate(&mut command, &self.user_home);
        command
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = self.command_in(cwd, args).output().expect("cannot run spec-kitty");
        Run::from_process(args, output)
    }

    /// Runs `spec-kitty ARGS` at the repository's root.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(&self.root, args)
    }

    /// Runs with extra environment variables.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command_in(&self.root, args);
        for (key, value) in env {
            command.env(key, value);
        }
        Run::from_process(args, command.output().expect("cannot run spec-kitty"))
    }

    /// Runs `spec-kitty ARGS` at the root with extra environment variables under a watchdog of `limit`.
    pub fn run_within(&self, limit: Duration, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command_in(&self.root, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("cannot run spec-kitty");
        Run::from_process(args, wait_within(child, limit, &format!("spec-kitty {}", args.join(" "))))
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps the user's own git configuration and environment out of the spawned processes.
pub fn isolate(command: &mut Command, user_home: &Path) {
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES", "GIT_COMMON_DIR"] {
        command.env_remove(var);
    }
    command.env("HOME", user_home).env("GIT_CONFIG_NOSYSTEM", "1").env("LC_ALL", "C");
}

pub fn git_in(dir: &Path, user_home: &Path, args: &[&str]) -> String {
    let mut command = Command::new("git");
    command.args(args).current_dir(dir);
    isolate(&mut command, user_home);
    let output = command.output().expect("cannot run git");
    assert!(
        output.status.success(),
        "git {} failed in {}: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            // The contents only: the fixtures are read-only, the copies must be writable.
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// Sets the frontmatter's top-level `lane:` to planned (history entries keep theirs).
fn reset_lane(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_frontmatter = false;
    let mut done = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            in_frontmatter = i == 0;
        }
        if in_frontmatter && !done && line.starts_with("lane:") {
            out.push_str("lane: \"planned\"\n");
            done = true;
        } else {
            out.push_str(line);
        }
    }
    assert!(done, "no lane in the frontmatter");
    out
}

/// The frontmatter's top-level `lane:`, unquoted.
pub fn frontmatter_lane(text: &str) -> String {
    let frontmatter = text.split("\n---").next().unwrap_or("");
    let line = frontmatter.lines().find(|l| l.starts_with("lane:")).expect("a lane in the frontmatter");
    line["lane:".len()..].trim().trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// The notes of a WP file's activity log: the last field of each `- <time> – ... – <note>` line.
pub fn activity_notes(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("- ") && line.contains(" – lane="))
        .filter_map(|line| line.rsplit(" – ").next())
        .collect()
}
