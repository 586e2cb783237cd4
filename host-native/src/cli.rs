//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "spec-kitty",
    version,
    about = "Spec-driven development: move work packages through lanes; every action becomes an event."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone, Default)]
pub struct Common {
    /// The feature (e.g. 028-cli-event-emission-sync); default: from the branch, the folder, or the only one.
    #[arg(long, global = true)]
    pub feature: Option<String>,
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create .kittify/config.yaml with the project identity if it is missing.
    Init(Common),
    /// Start a work package: worktree and branch, lane planned -> doing.
    Implement {
        /// The work package, like WP01.
        wp: String,
        #[command(flatten)]
        common: Common,
    },
    /// Merge the WP branches in `doing` into the target branch (--no-ff); they move to for_review.
    Merge(Common),
    /// Accept the work packages in for_review: they move to done; the feature completes with its last.
    Accept(Common),
    /// Agent-facing commands.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// The offline queue and sync to the team's hub.
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
    },
    /// Log in to the team's hub, log out, see the login.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Run agents on a feature's work packages in dependency order: implement, review, done.
    Orchestrate(OrchestrateArgs),
    /// Run the whole workflow on an embedded example feature in a temporary repository.
    Demo {
        /// Keep the demo repository and state folder instead of deleting them.
        #[arg(long)]
        keep: bool,
    },
}

#[derive(Subcommand)]
pub enum AgentCommand {
    Feature {
        #[command(subcommand)]
        command: FeatureCommand,
    },
    Tasks {
        #[command(subcommand)]
        command: TasksCommand,
    },
    /// The agents `orchestrate` runs (.kittify/agents.yaml).
    Config {
        #[command(subcommand)]
        command: AgentConfigCommand,
    },
}

#[derive(Subcommand)]
pub enum AgentConfigCommand {
    /// Write a commented starter .kittify/agents.yaml listing the agent CLIs found on PATH.
    Init {
        /// Overwrite an existing agents.yaml.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
}

/// `orchestrate`: one mode at a time (a run, --status, --resume, --abort, --skip).
#[derive(Args, Clone, Default)]
#[command(group(clap::ArgGroup::new("mode").args(["status", "resume", "abort", "skip", "dry_run"]).multiple(false)))]
pub struct OrchestrateArgs {
    /// The feature (e.g. 028-cli-event-emission-sync); default: from the branch, the folder, or the only one.
    #[arg(long, short = 'f')]
    pub feature: Option<String>,
    /// The implementing agent (an id of .kittify/agents.yaml), instead of defaults.implementation.
    #[arg(long, value_name = "ID", conflicts_with_all = ["status", "abort", "skip"])]
    pub impl_agent: Option<String>,
    /// The reviewing agent (never the implementer), instead of defaults.review.
    #[arg(long, value_name = "ID", conflicts_with_all = ["status", "abort", "skip"])]
    pub review_agent: Option<String>,
    /// Work packages in progress at once (default: global_concurrency of agents.yaml).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with_all = ["status", "abort", "skip"])]
    pub max_parallel: Option<u32>,
    /// Print the waves of work packages and who would run them; run nothing, emit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    /// Show the saved run (at any time, also while it runs).
    #[arg(long)]
    pub status: bool,
    /// Continue a stopped, failed or killed run.
    #[arg(long)]
    pub resume: bool,
    /// Abandon the run (stopping it if it is active).
    #[arg(long)]
    pub abort: bool,
    /// With --abort: also remove the run's worktrees (their branches stay).
    #[arg(long, requires = "abort")]
    pub cleanup: bool,
    /// Let the dependents of a work package go on without it (then --resume).
    #[arg(long, value_name = "WP")]
    pub skip: Option<String>,
}

#[derive(Subcommand)]
pub enum FeatureCommand {
    /// Check tasks.md, write dependencies into the WP files, commit, and announce the feature.
    FinalizeTasks(Common),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SubtaskStatus {
    Done,
    Pending,
}

#[derive(Subcommand)]
pub enum TasksCommand {
    /// Move a work package to another lane.
    MoveTask {
        wp: String,
        /// planned, doing, for_review or done.
        #[arg(long)]
        to: String,
        /// Who acts (e.g. claude, codex); default: user.
        #[arg(long, value_parser = agent_name)]
        agent: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Allow any move, not only the workflow's.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Tick or untick subtasks in tasks.md.
    MarkStatus {
        #[arg(required = true)]
        subtasks: Vec<String>,
        #[arg(long, value_enum)]
        status: SubtaskStatus,
        /// Who acts (e.g. claude, codex); default: user.
        #[arg(long, value_parser = agent_name)]
        agent: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Append a note to a work package's activity log.
    AddHistory {
        wp: String,
        #[arg(long)]
        note: String,
        /// Who acts (e.g. claude, codex); default: user.
        #[arg(long, value_parser = agent_name)]
        agent: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Queue size, connection state, last sync, login.
    Status(Common),
    /// The queued events, oldest first (with --json: the envelopes exactly as they will be sent).
    Queue {
        /// The dead letters instead: events the hub refused 5 times, with its reason.
        #[arg(long)]
        dead: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Send the whole queue to the hub now, in batches.
    Now(Common),
    /// Put the dead letters back in the queue.
    RetryDead(Common),
    /// Run the sync daemon in the foreground (live WebSocket, batches as a fallback).
    Daemon(Common),
    /// Start the sync daemon in the background (pid and log in SPEC_KITTY_HOME).
    Start(Common),
    /// Stop the background sync daemon (it flushes what it can within 2 s).
    Stop(Common),
}

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Log in to the hub (the password from the terminal, or the first line of stdin).
    Login {
        /// The hub, like https://hub.example:8765 (http only on loopback); default: [sync] server_url of config.toml.
        #[arg(long)]
        server: Option<String>,
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Do not start the sync daemon.
        #[arg(long)]
        no_daemon: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Forget the login (queued events stay).
    Logout(Common),
    /// Who is logged in, to which hub, until when.
    Status(Common),
}

/// An agent's name as it goes into the activity log and the events: one line of printable text (line
/// breaks and control characters fold to spaces, as in notes, so a name can neither split a log line
/// nor colour a terminal), without the log's field separator ` – ` (so it cannot forge a field), and
/// not empty.
fn agent_name(text: &str) -> Result<String, String> {
    let printable: String = text
        .chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if c == '–' {
                '-'
            } else {
                c
            }
        })
        .collect();
    let folded = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() { Err("the agent name is empty".into()) } else { Ok(folded) }
}

#[cfg(test)]
mod tests {
    use super::agent_name;

    #[test]
    fn agent_names_are_one_non_empty_line() {
        assert_eq!(agent_name("codex\nrm -rf").unwrap(), "codex rm -rf");
        assert_eq!(agent_name(" claude ").unwrap(), "claude");
        assert!(agent_name("").is_err());
        assert!(agent_name(" \r\n ").is_err());
        assert_eq!(agent_name("\u{1}\u{1b}[31mcodex").unwrap(), "[31mcodex");
        assert_eq!(agent_name("a – lane=done – fake").unwrap(), "a - lane=done - fake");
    }
}
