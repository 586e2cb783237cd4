//! The native host of `spec_kitty_core::orchestrate`: it gathers the feature, agents.yaml and the
//! programs ([`setup`]), then runs the core's scheduler ([`run`]): lane moves through the workflow
//! commands ([`lanes`]), agent processes with logs, timeouts and stops ([`agent_process`]), events
//! through the emitter, the state file and the run lock ([`run_files`]), the WP's worktree around each
//! try ([`worktree`]), and what the user sees ([`view`]). The modes without agents are [`inspect`] (`--status`, `--dry-run`) and [`manage`]
//! (`--skip`, `--abort`); [`config_init`] writes a starter agents.yaml.

pub mod agent_process;
pub mod config_init;
pub mod inspect;
pub mod lanes;
pub mod manage;
pub mod programs;
pub mod run;
pub mod run_files;
pub mod setup;
pub mod view;
pub mod worktree;

/// What a mode of `orchestrate` did: words, the JSON document, and the exit code.
pub struct ModeOutcome {
    pub human: String,
    pub json: serde_json::Value,
    pub code: u8,
}
