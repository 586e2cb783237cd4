//! spec-kitty-core: every decision spec-kitty makes, and nothing that touches the world.
//!
//! The core never reads a clock, a random source, a file, an environment variable or a socket.
//! Hosts (the native CLI, the WASM package, the hub) pass time and entropy in as values and carry out
//! what the core returns, so the same inputs give the same outputs on every host. `clippy.toml` refuses the std
//! calls that would (clocks, env, files, sockets, threads, ambient randomness) and `unsafe` is forbidden.
//!
//! Unit tests: a module's tests are its `#[cfg(test)]` child module `tests`, inline while short and in
//! `<module>/tests.rs` once they would take the file past ~400 lines, with test-only fakes, simulations and
//! property tests as further `#[cfg(test)]` child modules beside them (`<module>/fakes.rs`, `sim.rs`, ...).

#![forbid(unsafe_code)]

pub mod board;
pub mod clock;
pub mod error_kind;
pub mod events;
pub mod ids;
pub mod ingest;
pub mod orchestrate;
pub mod sync;
pub mod team_board;
pub mod time;
#[cfg(feature = "ts")]
pub mod typescript;
pub mod validation;
pub mod workflow;

pub use clock::{ClockError, ClockFile, LamportClock};
pub use events::{Event, EventError, EventFactory, EventType, Identity, Moment, Payload, ProjectIdentity};
pub use ids::{IdError, NodeId, UlidGenerator, WpId};
pub use workflow::Lane;
