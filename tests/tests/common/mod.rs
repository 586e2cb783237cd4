//! Shared helpers of the CLI tests (`cli_*.rs`, `sync_*.rs`, `demo.rs`): the real `spec-kitty` binary, run in a
//! temporary git repository holding a copy of the 028 fixture feature, with a temporary `SPEC_KITTY_HOME`.
//!
//! - [`build`]: the binary, built once per test executable (`SPEC_KITTY_BIN` runs another one);
//! - [`run`]: what one run of it did ([`Run`]), and runs under a watchdog;
//! - [`repo`]: the temporary repository ([`TestRepo`]) and git;
//! - [`queue`]: the queued events, read from queue.db directly and validated;
//! - [`assertions`]: the reference schema and the checks on events and WP files;
//! - [`unprivileged`]: runs that file modes bind, as root too.
//!
//! Every name is re-exported here, so a test writes `common::TestRepo` or `use common::*`.

// Each test executable uses a part of the helpers and of their re-exports.
#![allow(dead_code, unused_imports)]

pub mod assertions;
pub mod build;
pub mod queue;
pub mod repo;
pub mod run;
pub mod unprivileged;

pub use assertions::*;
pub use build::*;
pub use queue::*;
pub use repo::*;
pub use run::*;
pub use unprivileged::*;
