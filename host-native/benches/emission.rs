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
    let mut peak_kib = 0i64;
    let mut run = || {
        let child = Command::new(exe)
            .args(["agent", "tasks", "add-history", "WP01", "--note", "bench"])
            .current_dir(&repo)
            .env("SPEC_KITTY_HOME", root.join("home"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spec-kitty runs");
        // wait4 gives this one child's own peak memory (the git it runs is a grandchild, not counted).
        let mut status = 0;
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: wait4 fills `status` and `usage` for the child we spawned.
        let usage = unsafe {
            libc::wait4(child.id() as libc::pid_t, &mut status, 0, usage.as_mut_ptr());
            usage.assume_init()
        };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "add-history failed");
        // Already reaped by wait4; forgetting the handle keeps std from waiting a second time.
        std::mem::forget(child);
        peak_kib = peak_kib.max(usage.ru_maxrss);
    };
    c.bench_function("command_agent_tasks_add_history", |b| b.iter(&mut run));
    println!("command_agent_tasks_add_history peak RSS: {:.1} MiB", peak_kib as f64 / 1024.0);
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group!(benches, one_emission, whole_add_history_command);
criterion_main!(benches);
