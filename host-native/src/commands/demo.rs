//! `demo`: the whole workflow on an embedded example feature, in a throwaway repository and state
//! folder, by running this same binary as a user would.

use crate::app::Report;
use crate::git;
use anyhow::{Context, Result, bail};
use spec_kitty_core::board::Board;
use spec_kitty_core::workflow::WpFile;
use spec_kitty_core::{Event, Lane};
use std::path::{Path, PathBuf};
use std::process::Command;

const SLUG: &str = "028-cli-event-emission-sync";

macro_rules! fixture {
    ($file:literal) => {
        ($file, include_str!(concat!("../../../tests/fixtures/kitty-specs/028-cli-event-emission-sync/", $file)))
    };
}

/// The example feature: upstream's own "CLI Event Emission + Sync", 7 work packages.
const FEATURE_FILES: [(&str, &str); 9] = [
    fixture!("meta.json"),
    fixture!("tasks.md"),
    fixture!("tasks/WP01-event-factory.md"),
    fixture!("tasks/WP02-workflow-commands.md"),
    fixture!("tasks/WP03-task-commands.md"),
    fixture!("tasks/WP04-finalize-tasks.md"),
    fixture!("tasks/WP05-orchestrate.md"),
    fixture!("tasks/WP06-background-sync.md"),
    fixture!("tasks/WP07-tests.md"),
];

pub(super) struct Demo {
    pub repo: PathBuf,
    pub home: PathBuf,
    pub exe: PathBuf,
}

impl Demo {
    pub(super) fn step(&self, title: &str, args: &[&str]) -> Result<String> {
        self.step_with_input(title, args, None)
    }

    /// A step whose stdin is `input` (shown masked in the transcript: it is a password).
    pub(super) fn step_with_input(&self, title: &str, args: &[&str], input: Option<&str>) -> Result<String> {
        use std::io::Write;
        let shown: Vec<String> =
            args.iter().map(|a| if a.contains(' ') { format!("\"{a}\"") } else { a.to_string() }).collect();
        let piped = if input.is_some() { "echo ******** | " } else { "" };
        crate::outln!("\n## {title}\n$ {piped}spec-kitty {}", shown.join(" "));
        let mut child = Command::new(&self.exe)
            .args(args)
            .current_dir(&self.repo)
            .env("SPEC_KITTY_HOME", &self.home)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        if let (Some(mut stdin), Some(text)) = (child.stdin.take(), input) {
            let _ = writeln!(stdin, "{text}");
        }
        let output = child.wait_with_output().with_context(|| format!("cannot run {}", self.exe.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        crate::out!("{stdout}");
        // The demo is a transcript: what the command wrote to stderr belongs in it too.
        crate::out!("{}", String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            bail!("demo step `spec-kitty {}` failed", args.join(" "));
        }
        Ok(stdout)
    }
}

fn write_feature(repo: &Path) -> Result<()> {
    let dir = repo.join("kitty-specs").join(SLUG);
    for (name, text) in FEATURE_FILES {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir))?;
        // The example comes finished; start it over with every WP planned.
        let text = if name.starts_with("tasks/") {
            let mut file = WpFile::parse(name, text)?;
            file.set_lane(Lane::Planned)?;
            file.to_text()
        } else if name == "tasks.md" {
            text.replace("- [x] ", "- [ ] ")
        } else {
            text.to_string()
        };
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn run(keep: bool) -> Result<Report> {
    let stamp = crate::emitter::now_ms();
    let base = std::env::temp_dir().join(format!("spec-kitty-demo-{}-{stamp}", std::process::id()));
    let demo = Demo {
        repo: base.join("example-project"),
        home: base.join("spec-kitty-home"),
        exe: std::env::current_exe().context("cannot find the spec-kitty binary")?,
    };
    std::fs::create_dir_all(&demo.repo).with_context(|| format!("cannot create {}", demo.repo.display()))?;
    let result = run_steps(&demo);
    if keep || result.is_err() {
        crate::outln!("\nThe demo repository is {} and its state folder {}", demo.repo.display(), demo.home.display());
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    result
}

fn run_steps(demo: &Demo) -> Result<Report> {
    crate::outln!("# spec-kitty demo: feature {SLUG} in a new git repository");
    let repo = &demo.repo;
    git::run(repo, &["init", "--quiet", "--initial-branch", "main"])?;
    git::run(repo, &["config", "user.name", "Demo User"])?;
    git::run(repo, &["config", "user.email", "demo@example.invalid"])?;
    write_feature(repo)?;
    git::run(repo, &["add", "-A"])?;
    git::run(repo, &["commit", "--quiet", "-m", "Plan feature 028"])?;

    demo.step("Give the project its identity", &["init"])?;
    demo.step("Check the plan and announce the feature", &["agent", "feature", "finalize-tasks"])?;
    demo.step("Start WP01 in its own worktree", &["implement", "WP01"])?;
    let worktree = repo.join(".worktrees").join(format!("{SLUG}-WP01"));
    std::fs::write(worktree.join("event_factory.rs"), "// the event factory\n")?;
    git::run(&worktree, &["add", "event_factory.rs"])?;
    git::run(&worktree, &["commit", "--quiet", "-m", "WP01: event factory"])?;
    crate::outln!("\n(an agent commits its work on branch {SLUG}-WP01)");
    demo.step("Tick WP01's subtasks", &["agent", "tasks", "mark-status", "T001", "T002", "T003", "--status", "done"])?;
    demo.step(
        "Leave a note",
        &["agent", "tasks", "add-history", "WP01", "--note", "Factory done", "--agent", "claude"],
    )?;
    demo.step("Merge the work into main", &["merge"])?;
    demo.step("Accept it", &["accept"])?;
    demo.step(
        "An illegal move is refused (and logged as an ErrorLogged event)",
        &["agent", "tasks", "move-task", "WP02", "--to", "done"],
    )
    .err()
    .context("the illegal move was accepted")?;
    demo.step("What waits to be synced", &["sync", "status"])?;
    demo.step("The queue, oldest first", &["sync", "queue"])?;
    let json = demo_queue_json(demo)?;
    let events: Vec<Event> = serde_json::from_str(&json).context("reading the queue")?;
    let board = Board::from_events(&events);
    crate::outln!("\n## The board, folded from those events by the core");
    for card in board.work_packages.values() {
        let title = card.title.as_deref().unwrap_or("");
        crate::outln!("{:<5} {:<11} {title}", card.wp_id.as_str(), card.lane.as_str());
    }
    let synced = super::demo_hub::sync_to_a_hub(demo)?;
    Ok(Report {
        human: format!(
            "\ndemo finished: {} events made, {synced} on the team's hub, Lamport clock at {}",
            events.len() + 1,
            board.max_lamport_clock
        ),
        json: serde_json::json!({"events": events.len() + 1, "on_hub": synced}),
    })
}

fn demo_queue_json(demo: &Demo) -> Result<String> {
    let output = Command::new(&demo.exe)
        .args(["sync", "queue", "--json"])
        .current_dir(&demo.repo)
        .env("SPEC_KITTY_HOME", &demo.home)
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
