//! `orchestrate`: agents implement and review a feature's work packages in dependency order.
//!
//! The decisions are all here, free of I/O, so the native CLI and a Node tool drive the same logic:
//! - [`config`]: `.kittify/agents.yaml` (upstream's format, plus each agent's `command`), parsed from text;
//! - [`roster`]: the agents of one run, in fallback order, and which agent takes a try (an agent never
//!   reviews its own work, aliases resolved);
//! - [`machine`]: the scheduler, a sans-IO machine: inputs (resume, skip, lane moved, agent started or
//!   exited, interrupt, tick) in, actions (save state, move lane, start or stop agent, emit, finish) out;
//! - [`state`]: the run as `.kittify/orchestration-state.json` holds it;
//! - [`verdict`], [`prompt`], [`command`]: reading an agent's last line, writing its prompt, its command
//!   line with placeholders; [`waves`]: the plan `--dry-run` prints; [`starter`]: `agent config init`;
//!   [`worktree`]: whether a try's work ended up committed on the WP's branch.
//!
//! Events: WPAssigned when an agent's process started (retry_count = earlier tries of that WP and phase),
//! DependencyResolved for each dependent when a WP this run finished reaches done (one per dependency
//! edge, also while the dependent waits on others; `skipped` for `--skip`), FeatureCompleted once when the
//! run moved the last WP to done, ErrorLogged when a try fails. The lanes' WPStatusChanged come from the
//! workflow commands the host runs for each move.

pub mod agents;
pub mod command;
pub mod config;
pub mod machine;
pub mod prompt;
pub mod roster;
pub mod starter;
pub mod state;
pub mod verdict;
pub mod waves;
pub mod worktree;

pub use agents::{KNOWN_AGENTS, KnownAgent, Phase, agent_identity};
pub use command::{CommandError, CommandTemplate, CommandValues};
pub use config::{AGENTS_FILE, AgentsConfig, ConfigError, FallbackStrategy};
pub use machine::{Action, Input, OrchestrateError, Orchestration, PlannedWork, StartRun};
pub use prompt::{Feedback, PromptRequest};
pub use roster::{AgentChoice, Roster, RosterError};
pub use state::{Announcement, OrchestrationState, RunEvent, RunStatus, STATE_FILE, WpStatus};
pub use verdict::Verdict;
pub use worktree::WorktreeFacts;
