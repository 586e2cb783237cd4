//! Issue 11: the workflow commands carried out from the core's plans.
//!
//! - The whole 028 flow (every workflow command, refusals included) leaves exactly the queue, reports,
//!   messages, commits and file changes it left before the commands became plans: compared with
//!   `tests/fixtures/plans/028-flow.json`, ids, times, process ids and commit hashes aside.
//!   `SPEC_KITTY_BLESS=1` rewrites that file (run it with `SPEC_KITTY_BIN` pointing at a reference build).
//! - File edits cannot leave the repository: a WP file that links outside, a tasks folder that does,
//!   and a `--feature` that climbs out are refused with one line naming the path, and nothing outside
//!   is read or written.

mod common;

use common::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const GOLDEN: &str = "fixtures/plans/028-flow.json";

/// Rewrites what differs from run to run (ULIDs, times, process ids, hashes, the temp folder) into
/// stable placeholders; ULIDs keep their identity (`<ulid-3>` is the same id wherever it appears).
struct Normalizer {
    root: String,
    ulids: BTreeMap<String, usize>,
}

impl Normalizer {
    fn new(repo: &TestRepo) -> Normalizer {
        Normalizer { root: repo.root.display().to_string(), ulids: BTreeMap::new() }
    }

    fn value(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(text)),
            Value::Array(items) => Value::Array(items.iter().map(|item| self.value(item)).collect()),
            Value::Object(fields) => {
                let mut out = Map::new();
                for (key, field) in fields {
                    let normalized = match key.as_str() {
                        "node_id" | "project_uuid" | "timestamp" | "total_duration" => {
                            json!(format!("<{key}>"))
                        }
                        _ => self.value(field),
                    };
                    out.insert(key.clone(), normalized);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn text(&mut self, text: &str) -> String {
        let text = text.replace(&self.root, "<repo>");
        let text = replace_after(&text, "shell_pid=", |c| c.is_ascii_digit(), "<pid>");
        let text = replace_after(&text, "shell_pid: \"", |c| c.is_ascii_digit(), "<pid>");
        let mut out = String::with_capacity(text.len());
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let token_end = (i..chars.len()).find(|&j| !chars[j].is_ascii_alphanumeric()).unwrap_or(chars.len());
            let starts_token = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
            if let Some(len) = timestamp_at(&chars[i..]).filter(|_| starts_token) {
                out.push_str("<time>");
                i += len;
            } else if starts_token && token_end > i {
                let token: String = chars[i..token_end].iter().collect();
                out.push_str(&self.token(&token));
                i = token_end;
            } else {
                out.push(chars[i]);
                i += 1;
            }
        }
        out
    }

    fn token(&mut self, token: &str) -> String {
        let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
        if token.len() == 26 && token.chars().all(crockford) && token.chars().any(|c| c.is_ascii_uppercase()) {
            let next = self.ulids.len();
            return format!("<ulid-{}>", self.ulids.entry(token.to_string()).or_insert(next));
        }
        if token.len() >= 7 && token.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            return if token.len() == 40 { "<sha>".into() } else { "<hex>".into() };
        }
        token.to_string()
    }
}

/// The length of an RFC 3339 UTC time (`2026-02-04T10:46:03Z`, with optional `.mmm`) at the start.
fn timestamp_at(chars: &[char]) -> Option<usize> {
    let shape = "dddd-dd-ddTdd:dd:dd";
    if chars.len() < shape.len() + 1 {
        return None;
    }
    let fits = shape.chars().zip(chars).all(|(s, c)| if s == 'd' { c.is_ascii_digit() } else { s == *c });
    if !fits {
        return None;
    }
    let mut at = shape.len();
    if chars[at] == '.' {
        at += 1;
        while at < chars.len() && chars[at].is_ascii_digit() {
            at += 1;
        }
    }
    (chars.get(at) == Some(&'Z')).then_some(at + 1)
}

fn replace_after(text: &str, marker: &str, keep: impl Fn(char) -> bool, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at + marker.len()]);
        rest = &rest[at + marker.len()..];
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        if end > 0 {
            out.push_str(with);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn worktree(repo: &TestRepo, wp: &str) -> std::path::PathBuf {
    repo.root.join(".worktrees").join(format!("{FEATURE}-{wp}"))
}

fn commit_work(repo: &TestRepo, wp: &str, file: &str) {
    let tree = worktree(repo, wp);
    std::fs::write(tree.join(file), format!("// the work of {wp}\n")).unwrap();
    git_in(&tree, &repo.user_home, &["add", file]);
    git_in(&tree, &repo.user_home, &["commit", "--quiet", "-m", &format!("{wp}: work")]);
}

/// Every workflow command on the 028 feature, with refusals, as one record of what each did.
fn run_the_028_flow(repo: &TestRepo) -> Value {
    let initial = repo.git(&["rev-parse", "HEAD"]);
    let steps: &[&[&str]] = &[
        &["agent", "feature", "finalize-tasks", "--json"],
        &["implement", "WP01", "--json"],
        &["implement", "WP01", "--json"],
        &["agent", "tasks", "add-history", "WP01", "--note", "started", "--agent", "claude", "--json"],
        &["agent", "tasks", "mark-status", "T001", "T002", "T009", "--status", "done", "--agent", "claude", "--json"],
        &["agent", "tasks", "mark-status", "T001", "--status", "done", "--json"],
        &["agent", "tasks", "mark-status", "T002", "--status", "pending", "--json"],
        &["agent", "tasks", "move-task", "WP02", "--to", "doing", "--agent", "codex", "--note", "by hand", "--json"],
        &["agent", "tasks", "move-task", "WP03", "--to", "done", "--json"],
        &["agent", "tasks", "move-task", "WP03", "--to", "done", "--force", "--json"],
        &["agent", "tasks", "move-task", "WP09", "--to", "doing", "--json"],
        &["implement", "WP02", "--json"],
        &["implement", "WP05", "--json"],
        &["implement", "WP06", "--json"],
        &["merge", "--json"],
        &["accept", "--json"],
        &["merge", "--json"],
        &["accept", "--json"],
        &["agent", "tasks", "move-task", "WP02", "--to", "for_review", "--json"],
        &["agent", "tasks", "move-task", "WP04", "--to", "doing", "--json"],
        &["agent", "tasks", "move-task", "WP04", "--to", "for_review", "--json"],
        &["agent", "tasks", "move-task", "WP05", "--to", "for_review", "--json"],
        &["accept", "--json"],
        &["agent", "tasks", "move-task", "WP06", "--to", "for_review", "--json"],
        &["agent", "tasks", "move-task", "WP07", "--to", "doing", "--json"],
        &["agent", "tasks", "move-task", "WP07", "--to", "for_review", "--json"],
        &["agent", "tasks", "move-task", "WP03", "--to", "for_review", "--force", "--json"],
        &["accept", "--json"],
        &["accept", "--json"],
    ];
    let mut runs = Vec::new();
    for step in steps {
        if step[0] == "merge" && runs.len() < 16 {
            // Real work on WP01's branch; WP05's and WP06's branches have none.
            commit_work(repo, "WP01", "factory.rs");
        }
        let before = repo.events().len();
        let run = repo.run(step);
        let mut stdout: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::String(run.stdout.clone()));
        // Each report names the events it queued (new with the plans: kept out of the comparison).
        if let Some(emitted) = stdout.as_object_mut().and_then(|report| report.remove("emitted")) {
            let queued: Vec<Value> = events_since(repo, before).iter().map(|e| e["event_id"].clone()).collect();
            assert_eq!(emitted["queued"], Value::Array(queued), "`{}` reports the events it queued", step.join(" "));
            assert_eq!(emitted["warnings"], json!([]), "`{}`", step.join(" "));
        } else if run.code == Some(0) {
            assert!(std::env::var_os("SPEC_KITTY_BLESS").is_some(), "`{}` reports no `emitted`", step.join(" "));
        }
        runs.push(json!({"args": step.join(" "), "code": run.code, "stdout": stdout, "stderr": run.stderr}));
    }
    let queue = repo.run(&["sync", "queue", "--json"]).ok().json();
    let log = repo.git(&["log", "--graph", "--format=%s", "main"]);
    let mut branches = repo.git(&["branch", "--format=%(refname:short)"]);
    branches = branches.lines().collect::<Vec<_>>().join(" ");
    let diff = repo.git(&["diff", "--no-ext-diff", "-U1", &initial, "--", "kitty-specs"]);
    let diff: Vec<&str> = diff.lines().filter(|line| !line.starts_with("index ")).collect();
    let status = repo.git(&["status", "--porcelain", "--", "kitty-specs"]);
    json!({"runs": runs, "queue": queue, "log": log, "branches": branches, "diff": diff, "status": status})
}

/// Issue 11's acceptance: the CLI's behaviour and events are the same on the 028 flow as before the plans.
#[test]
fn the_028_flow_does_and_queues_exactly_what_it_did_before_the_plans() {
    let repo = TestRepo::new();
    let record = run_the_028_flow(&repo);
    let mut normalizer = Normalizer::new(&repo);
    // The queue first, so ULID placeholders number the events in queue order.
    let queue = normalizer.value(&record["queue"]);
    let rest = normalizer.value(&record);
    let mut actual = rest.as_object().unwrap().clone();
    actual.insert("queue".into(), queue);
    let actual = Value::Object(actual);

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("SPEC_KITTY_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!("{}: {e} (SPEC_KITTY_BLESS=1 with a reference build writes it)", golden.display())
        }))
        .unwrap();
    for (key, expected_part) in expected.as_object().unwrap() {
        if key == "runs" {
            for (index, expected_run) in expected_part.as_array().unwrap().iter().enumerate() {
                assert_eq!(&actual["runs"][index], expected_run, "run {index} differs");
            }
        }
        assert_eq!(&actual[key], expected_part, "`{key}` differs from {}", golden.display());
    }
    assert_eq!(actual, expected);
}

/// A file outside the repository, beside it in the test's temp folder.
fn outside(repo: &TestRepo, name: &str) -> std::path::PathBuf {
    repo.root.parent().unwrap().join(name)
}

/// Issue 11: a WP file that is a link to a file outside the repository is refused, with one line
/// naming it, whatever the command; the file outside is neither read nor written.
#[test]
fn a_wp_file_linking_outside_the_repository_is_refused_and_nothing_outside_is_touched() {
    use std::os::unix::fs::symlink;
    let repo = TestRepo::new();
    let wp02 = repo.wp_path("WP02");
    let wp02_relative = wp02.strip_prefix(&repo.root).unwrap().to_str().unwrap().to_string();
    let target = outside(&repo, "WP02-outside.md");
    std::fs::rename(&wp02, &target).unwrap();
    let target_bytes = std::fs::read(&target).unwrap();
    // An absolute link, then a relative one that climbs out.
    for link in [target.clone(), Path::new("../../../../WP02-outside.md").to_path_buf()] {
        let _ = std::fs::remove_file(&wp02);
        symlink(&link, &wp02).unwrap();
        assert_eq!(std::fs::read(&wp02).unwrap(), target_bytes, "the link leads to {}", target.display());
        let before = repo.events().len();
        for args in [
            &["agent", "tasks", "add-history", "WP02", "--note", "through a link"][..],
            &["agent", "tasks", "move-task", "WP02", "--to", "doing"],
            &["agent", "tasks", "move-task", "WP01", "--to", "doing"],
            &["implement", "WP02"],
            &["accept"],
        ] {
            let run = repo.run_within(Duration::from_secs(60), &[], args);
            assert_refused_naming(&run, &[&wp02_relative, "symbolic link", "outside the repository"]);
        }
        assert_eq!(std::fs::read(&target).unwrap(), target_bytes, "the file outside was changed");
        assert!(std::fs::symlink_metadata(&wp02).unwrap().file_type().is_symlink(), "the link stays a link");
        let events = events_since(&repo, before);
        assert!(events.iter().all(|e| e["event_type"] == "ErrorLogged"), "only the failures are logged: {events:#?}");
        assert_eq!(repo.lane("WP01"), "planned", "nothing moved");
    }

    // A link to a named pipe outside: reading it would block, so a command that returns has not read it.
    let fifo = outside(&repo, "WP02-pipe.md");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo only creates the pipe named by a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
    std::fs::remove_file(&wp02).unwrap();
    symlink(&fifo, &wp02).unwrap();
    let run = repo.run_within(Duration::from_secs(60), &[], &["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_refused_naming(&run, &[&wp02_relative, "symbolic link"]);
}

/// Issue 11: a tasks folder that is a link to a folder outside the repository: refused, naming the
/// link; the files outside stay as they were.
#[test]
fn a_tasks_folder_linking_outside_the_repository_is_refused() {
    let repo = TestRepo::new();
    let tasks = repo.feature_dir().join("tasks");
    let elsewhere = outside(&repo, "tasks-elsewhere");
    std::fs::rename(&tasks, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &tasks).unwrap();
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_str().unwrap().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    // A temp file of a dead process, as the sweep of leftovers would remove inside the repository.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let wp01 = std::fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .find(|n| n.to_str().unwrap().starts_with("WP01"));
    let leftover = format!(".{}.{}.tmp", wp01.unwrap().to_str().unwrap(), child.id());
    std::fs::write(elsewhere.join(&leftover), "not ours to sweep").unwrap();
    let before = snapshot(&elsewhere);
    for args in [
        &["agent", "tasks", "move-task", "WP01", "--to", "doing"][..],
        &["agent", "tasks", "add-history", "WP01", "--note", "x"],
        &["agent", "feature", "finalize-tasks"],
    ] {
        let run = repo.run_within(Duration::from_secs(60), &[], args);
        assert_refused_naming(&run, &[&format!("kitty-specs/{FEATURE}/tasks"), "symbolic link"]);
    }
    assert_eq!(snapshot(&elsewhere), before, "the folder outside was changed");
    assert!(elsewhere.join(&leftover).exists(), "the sweep reached outside the repository");
}

/// Issue 11: `--feature` is one folder name under kitty-specs/: `../x` is refused before any path is
/// made of it, with one line naming it, logged as a validation error.
#[test]
fn a_feature_slug_that_climbs_out_of_kitty_specs_is_refused() {
    let repo = TestRepo::new();
    // A feature-looking folder beside kitty-specs and one outside the repository.
    copy_feature(&repo.feature_dir(), &repo.root.join("x"));
    copy_feature(&repo.feature_dir(), &outside(&repo, "y"));
    let outside_before = std::fs::read(outside(&repo, "y/tasks.md")).unwrap();
    for slug in ["../x", "../../y", "/tmp", "."] {
        let before = repo.events().len();
        let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x", "--feature", slug]);
        assert_refused_naming(&run, &[&format!("--feature `{slug}`")]);
        let events = events_since(&repo, before);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["payload"]["error_type"], "validation");
    }
    assert_eq!(std::fs::read(outside(&repo, "y/tasks.md")).unwrap(), outside_before);
    assert!(!repo.wp_text("WP01").contains("– x\n"), "the repository's own feature was not edited either");
}

fn copy_feature(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("tasks")).unwrap();
    std::fs::copy(from.join("tasks.md"), to.join("tasks.md")).unwrap();
    for entry in std::fs::read_dir(from.join("tasks")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("tasks").join(entry.file_name())).unwrap();
    }
}

/// Issue 11 item 3: a core error deep in a command's error chain is logged with its own kind.
#[test]
fn errors_of_the_core_are_logged_with_their_own_error_type() {
    let repo = TestRepo::new();
    // A WP file whose frontmatter is not YAML: the core's FrontmatterError, under the host's context.
    // (The command's own WP: a task command parses only the file it touches.)
    let wp01 = repo.wp_path("WP01");
    let wp01_text = std::fs::read_to_string(&wp01).unwrap();
    std::fs::write(&wp01, "---\nwork_package_id: [\n---\nbody\n").unwrap();
    let before = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let events = events_since(&repo, before);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["payload"]["error_type"], "validation", "{events:#?}");
    // A WP file that cannot be read at all is the machine's failure: runtime.
    std::fs::write(&wp01, wp01_text).unwrap();
    std::fs::write(repo.wp_path("WP04"), [0xff, 0xfe, 0x00]).unwrap();
    let before = repo.events().len();
    let run = repo.run(&["agent", "tasks", "add-history", "WP01", "--note", "x"]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let events = events_since(&repo, before);
    assert_eq!(events[0]["payload"]["error_type"], "runtime", "{events:#?}");
}
