//! Which `ErrorLogged` error_type each core error is, so no host keeps its own list.
//!
//! Every error type of the core implements [`ErrorKind`] next to its definition and is named once
//! in [`core_errors!`] below; [`error_type_of`] then finds the type of any core error in a chain of
//! causes (`anyhow::Error::chain()`, `std::error::Error::source()`). A test of the workspace reads
//! the core's sources and fails when an error type is missing here, so a new one cannot silently
//! be logged as `runtime`.

use crate::events::ErrorType;
use std::error::Error;

/// The `ErrorLogged.error_type` of an error: `validation` when what was asked or read is wrong,
/// `runtime` when the machine or the repository failed.
pub trait ErrorKind {
    fn kind(&self) -> ErrorType;
}

/// Lists the core's error types: [`error_type_of`] downcasts to each, and each must implement
/// [`ErrorKind`] (the list does not compile otherwise).
macro_rules! core_errors {
    ($($error:ty),* $(,)?) => {
        /// The names of the registered error types (as written in the list), for the test that
        /// checks the list is complete.
        pub const REGISTERED: &[&str] = &[$(stringify!($error)),*];

        /// The error_type of `error` when it is one of the core's errors; `None` for any other.
        pub fn error_type_of(error: &(dyn Error + 'static)) -> Option<ErrorType> {
            $(
                if let Some(error) = error.downcast_ref::<$error>() {
                    return Some(ErrorKind::kind(error));
                }
            )*
            None
        }
    };
}

core_errors![
    crate::clock::ClockError,
    crate::events::EventError,
    crate::events::PayloadError,
    crate::events::ProjectIdentityError,
    crate::ids::IdError,
    crate::ingest::Rejection,
    crate::orchestrate::CommandError,
    crate::orchestrate::ConfigError,
    crate::orchestrate::OrchestrateError,
    crate::orchestrate::RosterError,
    crate::sync::wire::FrameError,
    crate::sync::ZeroBatchCap,
    crate::workflow::FeatureError,
    crate::workflow::FeatureLoadError,
    crate::workflow::FeatureMetaError,
    crate::workflow::FrontmatterError,
    crate::workflow::GraphError,
    crate::workflow::LaneError,
    crate::workflow::TasksError,
    crate::workflow::plans::PlanError,
];

/// The first core error type found along `error` and its sources.
pub fn error_type_in_chain(error: &(dyn Error + 'static)) -> Option<ErrorType> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(kind) = error_type_of(error) {
            return Some(kind);
        }
        cause = error.source();
    }
    None
}
