//! CLI targets: one emission (build, validate, lock, tick, queue commit) <= 0.1 ms at p50 on tmpfs;
//! a whole `agent tasks add-history` command <= 18 ms and <= 7 MiB peak memory.

use criterion::{Criterion, criterion_group, criterion_main};
use spec_kitty::emitter::{Draft, Emitter};
use spec_kitty::state::StateDir;
use spec_kitty_core::events::HistoryAdded;
use spec_kitty_core::{Payload, WpId};
use std::path::{Path, PathBuf};
use std::process::Command;

/// tmpfs when the machine has one, as the target is stated for it.
fn scratch(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    let dir = base.join(format!("spec-kitty-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn note() -> Draft {
    let wp: WpId = "WP01".parse().expect("valid id");
    Draft::new(Payload::HistoryAdded(HistoryAdded::note(wp, "benchmark note")))
}

fn one_emission(c: &mut Criterion) {
    let home = scratch("emission");
    let fresh_emitter = || {
        let _ = std::fs::remove_dir_all(&home);
        let mut emitter = Emitter::new(StateDir::at(&home), None);
        emitter.quiet = true;
        emitter
    };
    let mut emitter = fresh_emitter();
    let mut emitted = 0usize;
    c.bench_function("emit_one_event_build_validate_lock_tick_commit", |b| {
        b.iter(|| {
            // Stay under the queue cap so every iteration really commits.
            if emitted == 9_000 {
                emitter = fresh_emitter();
                emitted = 0;
            }
            emitted += 1;
            emitter.emit(vec![note()])
        })
    });
    let _ = std::fs::remove_dir_all(&home);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").args(args).current_dir(dir).status().expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A repository with the example feature, for whole-command runs.
fn example_repo(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kitty-specs/028-cli-event-emission-sync");
    let target = repo.join("kitty-specs/028-cli-event-emission-sync");
    std::fs::create_dir_all(target.join("tasks")).expect("feature dir");
    for entry in walk(&fixture) {
        let relative = entry.strip_prefix(&fixture).expect("inside");
        std::fs::copy(&entry, target.join(relative)).expect("copy fixture");
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["-c", "user.name=b", "-c", "user.email=b@b", "add", "-A"]);
    git(&repo, &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"]);
    repo
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read fixture").flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

fn whole_add_history_command(c: &mut Criterion) {
    let root = scratch("command");
    let repo = example_repo(&root);
    let exe = Path::new(env!("CARGO_BIN_EXE_spec-kitty"));
    let command = |program: &Path, args: &[&str]| {
        let mut command = Command::new(program);
        command.args(args).current_dir(&repo).env("SPEC_KITTY_HOME", root.join("home"));
        command.stdout(std::process::Stdio::null());
        command
    };
    let args = ["agent", "tasks", "add-history", "WP01", "--note", "bench"];
    c.bench_function("command_agent_tasks_add_history", |b| {
        b.iter(|| assert!(command(exe, &args).status().expect("spec-kitty runs").success()))
    });
    // Peak memory through GNU time: a child spawned from this (large) process would report this
    // process's memory as its own high-water mark, since it starts out sharing it.
    let gnu_time = Path::new("/usr/bin/time");
    if gnu_time.exists() {
        let mut timed_args = vec!["-f", "%M", exe.to_str().expect("utf-8 path")];
        timed_args.extend(args);
        let output = command(gnu_time, &timed_args).output().expect("time runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let kib: f64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(f64::NAN);
        println!("command_agent_tasks_add_history peak RSS: {:.1} MiB", kib / 1024.0);
    } else {
        println!("command_agent_tasks_add_history peak RSS: install GNU time (/usr/bin/time) to measure it");
    }
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group!(benches, one_emission, whole_add_history_command);
criterion_main!(benches);
