//! The workflow model: lanes, tasks.md and WP files, the dependency graph, feature completion.

pub mod lane;

pub use lane::{Lane, LaneError};
