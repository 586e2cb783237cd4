//! The `spec-kitty` command-line host of spec-kitty-core: files, SQLite queue, git, terminal.
//!
//! A library as well as a binary so benchmarks and tests can drive the emitter directly.

pub mod app;
pub mod cli;
pub mod clock_store;
pub mod commands;
pub mod credentials;
pub mod emitter;
pub mod feature;
pub mod git;
pub mod project;
pub mod queue;
pub mod state;
