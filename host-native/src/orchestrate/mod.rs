//! The native host of `spec_kitty_core::orchestrate`: it gathers the feature, agents.yaml and the
//! programs ([`setup`]), then runs the core's scheduler ([`run`]): lane moves through the workflow
//! commands ([`lanes`]), agent processes with logs, timeouts and stops ([`agent_process`]), events
//! through the emitter, the state file and the run lock ([`run_files`]), and what the user sees ([`view`]).

pub mod agent_process;
pub mod lanes;
pub mod programs;
pub mod run;
pub mod run_files;
pub mod setup;
pub mod view;
