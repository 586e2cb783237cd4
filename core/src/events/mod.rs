//! The event model: the envelope, the eight payloads and their builders.

mod envelope;
mod event_types;
mod factory;
mod payload;

#[cfg(feature = "ts")]
pub use envelope::EnvelopeDeclaration;
pub use envelope::{AggregateType, Event, EventType, Payload, PayloadError};
pub use factory::{EventError, EventFactory, Identity, Moment, ProjectIdentity, ProjectIdentityError};
pub use payload::*;

#[cfg(test)]
pub(crate) mod tests;
