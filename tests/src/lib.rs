//! spec-kitty-tests: the cross-crate tests live in `tests/tests/` (end to end through the binaries, the hub,
//! sync); this library is what the two native-vs-WASM parity tests share, compiled once for both.
//!
//! [`harness::generate`] makes the cases from a seed, each with the native core's answer as JSON text
//! ([`support::Case`]); `wasm_parity.rs` has the npm package answer them under Node (`tests/parity/run.cjs`),
//! `wasmtime_parity.rs` the plain-ABI module under wasmtime, and [`harness::assert_identical`] reports the
//! first case whose answers differ.

pub mod events_cases;
pub mod harness;
pub mod orchestrate_cases;
pub mod plans_cases;
pub mod support;
pub mod sync_cases;
pub mod workflow_cases;
