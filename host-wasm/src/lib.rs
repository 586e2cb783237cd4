//! `@spec-kitty/core`: the wasm-bindgen face of `spec-kitty-core` for Node, browsers and editor
//! extensions.
//!
//! A thin binding: every function converts its JS arguments into the core's types, calls the core and
//! converts the answer back; the decisions are all the core's, so the WASM build gives the same bytes
//! as the native one (proved by `tests/tests/wasm_parity.rs`). The host-side parts are only the two
//! readings of the world a JS caller may leave out: the time (`Date.now()`) and entropy
//! (`crypto.getRandomValues`).
//!
//! Conventions (also in the TypeScript declarations):
//! - domain objects keep the wire's snake_case keys (`wp_id`, `previous_status`); the binding's own
//!   arguments are camelCase (`nodeId`, `nowMs`);
//! - a wrong input throws a JS `Error` whose one-line message starts with the field at fault;
//!   `validateEvent` alone never throws and returns the list of failed rules instead;
//! - times are Unix milliseconds, integers up to `Number.MAX_SAFE_INTEGER`;
//! - every argument is taken as a `JsValue` and checked here: wasm-bindgen's glue does not check the
//!   type of a `&str` argument in a release build, and a non-string there corrupts the module's memory.

mod board;
mod clock;
mod convert;
mod events;
mod sync;
pub mod views;
mod workflow;

// Pure Rust (no JS types), public so that the parity test computes natively what the package answers.
pub use events::payload_from_json;

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");
