//! The npm package's TypeScript declarations follow the Rust types.
//!
//! `host-wasm/src/types.d.ts` has two parts: the binding's own types, written by hand (argument objects
//! and contexts in camelCase, the payloads as builders take them), then, after the [`MARKER`] line,
//! what [`spec_kitty_core::typescript::declarations`] generates from the core's `ts_rs::TS` derives
//! (envelope, payloads, lanes, plans, board, sync answers, orchestrate). `tests/types_d_ts.rs` fails when
//! the committed file differs from what the Rust types generate, and rewrites the generated part with
//! `SPEC_KITTY_BLESS_TYPES=1 cargo test -p spec-kitty-wasm-types`.

/// The line after which `types.d.ts` is generated.
pub const MARKER: &str = "// @generated from the Rust types (spec-kitty-wasm-types: SPEC_KITTY_BLESS_TYPES=1 to rewrite): do not edit below.";

/// The whole file: the hand-written part (everything before the marker in `current`) and the
/// generated one; `None` when `current` has no marker line.
pub fn with_generated_part(current: &str) -> Option<String> {
    let at = current.find(MARKER)?;
    Some(format!("{}{MARKER}\n{}", &current[..at], spec_kitty_core::typescript::declarations()))
}
