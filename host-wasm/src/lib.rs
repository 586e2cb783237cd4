//! `@spec-kitty/core`: the WebAssembly faces of `spec-kitty-core`, for Node, browsers and editor
//! extensions (wasm-bindgen, feature `js`, the default) and for any WASM runtime through a plain C ABI
//! (`host-wasm/abi`, which uses this crate without `js`).
//!
//! A thin binding: every operation reads its host's arguments into the core's types, calls the core
//! and hands the answer back; the decisions are all the core's, so the WASM builds give the same bytes
//! as the native one (proved by `tests/tests/wasm_parity.rs` under Node and
//! `tests/tests/wasmtime_parity.rs` under wasmtime). The host-side parts are only the two readings of
//! the world a caller may leave out: the time (`Date.now()`) and entropy (`crypto.getRandomValues`).
//!
//! Layout: the host-neutral modules ([`args`], [`events`], [`clock`], [`workflow`], [`plans`],
//! [`orchestrate`], [`sync`], [`board`], [`ops`]) are written once against [`args::Arg`], which both a
//! `JsValue` and a parsed `serde_json::Value` implement; `js` holds only the wasm-bindgen exports over them.
//!
//! Conventions of the JS face (also in the TypeScript declarations):
//! - domain objects keep the wire's snake_case keys (`wp_id`, `previous_status`); the binding's own
//!   arguments are camelCase (`nodeId`, `nowMs`);
//! - a wrong input throws a JS `Error` whose one-line message starts with the field at fault;
//!   `validateEvent` alone never throws and returns the list of failed rules instead;
//! - times are Unix milliseconds, integers up to `Number.MAX_SAFE_INTEGER`;
//! - every argument is taken as a `JsValue` and checked here: wasm-bindgen's glue does not check the
//!   type of a `&str` argument in a release build, and a non-string there corrupts the module's memory.

pub mod args;
pub mod board;
pub mod clock;
pub mod events;
#[cfg(feature = "js")]
mod js;
pub mod ops;
pub mod orchestrate;
pub mod plans;
pub mod sync;
pub mod workflow;

pub use events::payload_from_json;
