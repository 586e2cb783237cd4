//! The `spec-kitty` command-line host of spec-kitty-core: files, SQLite queue, git, terminal.
//!
//! A library as well as a binary so benchmarks and tests can drive the emitter directly.

pub mod app;
pub mod cli;
pub mod clock_store;
pub mod commands;
pub mod credentials;
pub mod daemon;
pub mod emitter;
pub mod feature;
pub mod file_lock;
pub mod git;
pub mod hub_client;
pub mod hub_session;
pub mod live;
pub mod orchestrate;
pub mod output;
pub mod project;
pub mod project_edits;
pub mod queue;
pub mod repo_files;
pub mod state;
pub mod sync_store;
