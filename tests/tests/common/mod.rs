//! Shared helpers of the CLI tests (`cli_*.rs`): the real `spec-kitty` binary, run in a temporary
//! git repository holding a copy of the 028 fixture feature, with a temporary `SPEC_KITTY_HOME`.
//!
//! The binary is the workspace's own `target/<profile>/spec-kitty`, next to the test executable's
//! `deps/` folder; `cargo build -p spec-kitty` runs once per test executable first, so the tests
//! never run a stale binary (cargo does nothing when it is up to date). `SPEC_KITTY_BIN` overrides
//! the path (and skips the build), for running the tests against an installed binary.
//!
//! Every queued event a test reads through [`TestRepo::events`] is validated against the reference
//! schema (`tests/fixtures/reference-events.schema.json`, formats checked).

#![allow(dead_code)]

// Loaded by both harnesses; a test that uses both compiles it twice, harmlessly.
#[allow(clippy::duplicate_mod)]
#[path = "../workspace_bin/mod.rs"]
mod workspace_bin;

use rusqlite::Connection;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use tempfile::TempDir;

pub const FEATURE: &str = "028-cli-event-emission-sync";
pub const WPS: [&str; 7] = ["WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07"];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `spec-kitty` binary, built once per test executable.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin::build("spec-kitty", "spec-kitty", "SPEC_KITTY_BIN"))
}

/// The reference schema of the events, compiled once.
pub fn reference_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = manifest_dir().join("fixtures/reference-events.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the reference schema"))
            .expect("the reference schema is JSON");
        jsonschema::options().should_validate_formats(true).build(&schema).expect("the reference schema compiles")
    })
}

/// Panics unless `event` validates against the reference schema.
pub fn assert_valid_event(event: &Value) {
    let errors: Vec<String> = reference_validator().iter_errors(event).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "event does not validate against the reference schema: {errors:?}\n{event:#}");
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(args: &[&str], output: Output) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "`spec-kitty {}` failed:\n{self:#?}", self.args.join(" "));
        self
    }

    /// Asserts a non-zero exit code and returns self.
    #[track_caller]
    pub fn failed(self) -> Run {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "`spec-kitty {}` should have failed:\n{self:#?}",
            self.args.join(" ")
        );
        self
    }

    /// stdout parsed whole as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout of `spec-kitty {}` is not one JSON document ({e}):\n{self:#?}", self.args.join(" "))
        })
    }

    /// The `warning: ...` lines on stderr.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("warning:")).collect()
    }

    /// The `error: ...` lines on stderr.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("error:")).collect()
    }

    /// stderr without the `[Offline]` indicator lines.
    pub fn stderr_lines_besides_offline(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.starts_with("[Offline]")).collect()
    }
}

/// A temporary git repository holding a copy of the 028 feature (lanes reset to planned, subtasks
/// unticked), committed on `main`, and a temporary, not yet existing, `SPEC_KITTY_HOME`.
pub struct TestRepo {
    _dir: TempDir,
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
        let repo = TestRepo { _dir: dir, root, home, user_home };
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
        let mut command = Command::new(binary());
        command.args(args).current_dir(cwd).env("SPEC_KITTY_HOME", &self.home).stdin(Stdio::null());
        isolate(&mut command, &self.user_home);
        command
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = self.command_in(cwd, args).output().expect("cannot run spec-kitty");
        Run::from_output(args, output)
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
        Run::from_output(args, command.output().expect("cannot run spec-kitty"))
    }

    /// The queued events, in queue order, read from queue.db directly; each one is checked against
    /// the reference schema, and its row's `event_id`/`event_type` columns against the envelope.
    pub fn events(&self) -> Vec<Value> {
        if !self.queue_db().exists() {
            return Vec::new();
        }
        let rows = queue_rows(&self.queue_db());
        rows.into_iter()
            .map(|row| {
                let event: Value = serde_json::from_str(&row.data).expect("a queued envelope is JSON");
                assert_valid_event(&event);
                assert_eq!(event["event_id"], row.event_id.as_str(), "event_id column");
                assert_eq!(event["event_type"], row.event_type.as_str(), "event_type column");
                event
            })
            .collect()
    }

    /// Number of rows in the queue table (0 when there is no queue yet).
    pub fn queue_len(&self) -> usize {
        if !self.queue_db().exists() {
            return 0;
        }
        let conn = Connection::open(self.queue_db()).unwrap();
        conn.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    }

    /// Runs the command and returns the events it added to the queue (validated).
    #[track_caller]
    pub fn new_events(&self, args: &[&str]) -> (Run, Vec<Value>) {
        let before = self.events().len();
        let run = self.run(args);
        let events = self.events();
        assert!(events.len() >= before, "the queue lost events during `spec-kitty {}`", args.join(" "));
        (run, events[before..].to_vec())
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

pub struct QueueRow {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub data: String,
    pub timestamp: i64,
}

/// The rows of the `queue` table in insertion order.
pub fn queue_rows(db: &Path) -> Vec<QueueRow> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id, event_id, event_type, data, timestamp FROM queue ORDER BY id").unwrap();
    stmt.query_map([], |r| {
        Ok(QueueRow {
            id: r.get(0)?,
            event_id: r.get(1)?,
            event_type: r.get(2)?,
            data: r.get(3)?,
            timestamp: r.get(4)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
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

/// Filters events by type.
pub fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == event_type).collect()
}

/// The Lamport values of events, in the order given.
pub fn clocks(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["lamport_clock"].as_u64().expect("an integer lamport_clock")).collect()
}

#[track_caller]
pub fn assert_strictly_increasing(values: &[u64]) {
    for pair in values.windows(2) {
        assert!(
            pair[0] < pair[1],
            "Lamport values not strictly increasing: {} then {} in {values:?}",
            pair[0],
            pair[1]
        );
    }
}

/// A valid ULID made from a number (for rows a test writes into the queue directly).
pub fn ulid_from(n: u128) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    // 48 bits of time (2026) then 80 bits from `n`: sorts after the real ids of the same moment.
    let value: u128 = (0x019C_0000_0000u128 << 80) | (n & ((1u128 << 80) - 1));
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}

// Helpers of the fault and concurrency tests (issue 7): runs with a watchdog, the activity log's notes.

impl Run {
    /// A run made from the output of a command prepared by hand (other stdio, another user).
    pub fn from_process(args: &[&str], output: Output) -> Run {
        Run::from_output(args, output)
    }
}

/// Waits for a spawned child, reading its piped stdout/stderr; a child still running after `limit`
/// is killed and the test fails (a bound on hanging, not a speed check).
pub fn wait_within(mut child: std::process::Child, limit: std::time::Duration, what: &str) -> Output {
    use std::io::Read;
    fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for the child") {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` was still running after {limit:?}: killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

impl TestRepo {
    /// Runs `spec-kitty ARGS` at the root with extra environment variables under a watchdog of `limit`.
    pub fn run_within(&self, limit: std::time::Duration, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut command = self.command_in(&self.root, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("cannot run spec-kitty");
        Run::from_output(args, wait_within(child, limit, &format!("spec-kitty {}", args.join(" "))))
    }
}

/// The notes of a WP file's activity log: the last field of each `- <time> – ... – <note>` line.
pub fn activity_notes(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("- ") && line.contains(" – lane="))
        .filter_map(|line| line.rsplit(" – ").next())
        .collect()
}

/// The events queued since the queue held `before` of them.
pub fn events_since(repo: &TestRepo, before: usize) -> Vec<Value> {
    let events = repo.events();
    assert!(events.len() >= before, "the queue lost events");
    events[before..].to_vec()
}

#[track_caller]
pub fn assert_no_status_change(events: &[Value]) {
    assert!(of_type(events, "WPStatusChanged").is_empty(), "no WPStatusChanged: {events:#?}");
}

#[track_caller]
pub fn assert_one_status_change(events: &[Value], wp: &str, from: &str, to: &str) {
    let changes = of_type(events, "WPStatusChanged");
    assert_eq!(changes.len(), 1, "exactly one WPStatusChanged: {events:#?}");
    assert_eq!(changes[0]["payload"]["wp_id"], wp);
    assert_eq!(changes[0]["payload"]["previous_status"], from);
    assert_eq!(changes[0]["payload"]["new_status"], to);
}
