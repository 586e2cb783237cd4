//! The eight payloads, with the contract's key order, defaults and omitted optionals.

use crate::ids::WpId;
use crate::workflow::Lane;
use serde::{Deserialize, Serialize};

fn user() -> String {
    "user".to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "WpStatusChangedPayload"))]
pub struct WpStatusChanged {
    pub wp_id: WpId,
    pub previous_status: Lane,
    pub new_status: Lane,
    /// "user", or the agent that made the change.
    #[serde(default = "user")]
    pub changed_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_slug: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "WpCreatedPayload"))]
pub struct WpCreated {
    pub wp_id: WpId,
    pub title: String,
    #[serde(default)]
    pub dependencies: Vec<WpId>,
    pub feature_slug: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentPhase {
    Implementation,
    Review,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "WpAssignedPayload"))]
pub struct WpAssigned {
    pub wp_id: WpId,
    pub agent_id: String,
    pub phase: AssignmentPhase,
    #[serde(default)]
    pub retry_count: u32,
    /// The feature the WP belongs to; optional (upstream's payload lacks it), so old events still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_slug: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FeatureCreatedPayload"))]
pub struct FeatureCreated {
    pub feature_slug: String,
    pub feature_number: String,
    pub target_branch: String,
    pub wp_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FeatureCompletedPayload"))]
pub struct FeatureCompleted {
    pub feature_slug: String,
    pub total_wps: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_duration: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HistoryEntryType {
    Note,
    Review,
    Error,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "HistoryAddedPayload"))]
pub struct HistoryAdded {
    pub wp_id: WpId,
    pub entry_type: HistoryEntryType,
    pub entry_content: String,
    #[serde(default = "user")]
    pub author: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    Validation,
    Runtime,
    Network,
    Auth,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ErrorLoggedPayload"))]
pub struct ErrorLogged {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wp_id: Option<WpId>,
    pub error_type: ErrorType,
    pub error_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ResolutionType {
    Completed,
    Skipped,
    Merged,
}

/// One dependency of `wp_id` resolved: `dependency_wp_id` completed (or was skipped, or merged).
/// It is sent per dependency edge, when that dependency is resolved, also while other dependencies of
/// `wp_id` are still open: it says the edge no longer blocks, not that the WP may start (`orchestrate`
/// sends one for each dependent of a WP it finishes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DependencyResolvedPayload"))]
pub struct DependencyResolved {
    /// The dependent work package, which the resolution unblocks.
    pub wp_id: WpId,
    pub dependency_wp_id: WpId,
    pub resolution_type: ResolutionType,
    /// The feature of both WPs; optional (upstream's payload lacks it), so old events still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_slug: Option<String>,
}

impl WpStatusChanged {
    pub fn new(wp_id: WpId, previous_status: Lane, new_status: Lane) -> Self {
        Self { wp_id, previous_status, new_status, changed_by: user(), feature_slug: None }
    }
}

impl HistoryAdded {
    pub fn note(wp_id: WpId, entry_content: impl Into<String>) -> Self {
        Self { wp_id, entry_type: HistoryEntryType::Note, entry_content: entry_content.into(), author: user() }
    }
}
