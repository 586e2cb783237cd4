//! The workflow model: lanes, tasks.md and WP files, the dependency graph, feature completion.
//!
//! Everything here works on text the host read and returns text for the host to write; nothing
//! touches a file. Errors name the place: the file label the caller passed, the line, the WP id
//! and the field.

pub mod feature;
pub mod frontmatter;
pub mod graph;
pub mod lane;
mod markdown;
pub mod plans;
pub mod tasks_md;
pub mod views;

#[cfg(test)]
mod tests;

pub use feature::{
    DependencyMismatch, FeatureError, FeatureLoadError, FeatureMeta, FeatureMetaError, FeaturePlan, FeatureWp,
    Finalization, FinalizedWp, GraphScope, LoadedWpFile,
};
pub use frontmatter::{FrontmatterError, WpFile, activity_line};
pub use graph::{DependencyGraph, GraphError};
pub use lane::{Lane, LaneError};
pub use tasks_md::{
    PlannedWp, RuleReading, Subtask, SubtaskChange, TasksError, TasksPlan, parse_tasks_md, read_dependencies,
    set_subtask_done,
};
