//! The `spec-kitty` binary under test.
//!
//! The binary is the workspace's own `target/<profile>/spec-kitty`, next to the test executable's
//! `deps/` folder; `cargo build -p spec-kitty` runs once per test executable first, so the tests
//! never run a stale binary (cargo does nothing when it is up to date). `SPEC_KITTY_BIN` overrides
//! the path (and skips the build), for running the tests against an installed binary.

// Loaded by both harnesses; a test that uses both compiles it twice, harmlessly.
#[allow(clippy::duplicate_mod)]
#[path = "../workspace_bin/mod.rs"]
mod workspace_bin;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The `tests/` folder (fixtures live under it).
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `spec-kitty` binary, built once per test executable.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin::build("spec-kitty", "spec-kitty", "SPEC_KITTY_BIN"))
}
