//! `accept`: the WPs in for_review move to done; the feature is complete with its last WP done,
//! and then FeatureCompleted follows their status changes.

use serde::Serialize;
use serde_json::json;

use super::lane_moves::{join, lane_edits, status_changed};
use super::{Changes, EventDraft, FeatureFolder, FileEdit, Occasion, PlanError};
use crate::events::{FeatureCompleted, Payload};
use crate::ids::WpId;
use crate::time::{duration_text, parse_rfc3339_ms, rfc3339_seconds};
use crate::workflow::Lane;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AcceptPlan {
    /// The WPs accepted now (none: nothing changes).
    pub accepted: Vec<WpId>,
    /// Whether every WP of the feature is done once these are.
    pub feature_complete: bool,
    pub changes: Changes,
}

pub fn plan(feature: &FeatureFolder, occasion: &Occasion) -> Result<AcceptPlan, PlanError> {
    let accepted: Vec<WpId> =
        feature.plan.work_packages.iter().filter(|wp| wp.lane() == Lane::ForReview).map(|wp| wp.id().clone()).collect();
    if accepted.is_empty() {
        let feature_complete = feature.plan.is_complete();
        return Ok(AcceptPlan { accepted, feature_complete, changes: Changes::default() });
    }
    let mut edits = lane_edits(feature, &accepted, Lane::Done, "Accepted", &[], occasion)?;
    let mut lanes = feature.plan.lanes();
    for wp in &accepted {
        lanes.insert(wp.clone(), Lane::Done);
    }
    let complete = feature.plan.graph.feature_complete(&lanes);
    let now = occasion.now_ms;
    let mut meta = feature.meta.clone();
    meta.set_other("accepted_at", json!(rfc3339_seconds(now)));
    if complete {
        meta.set_other("completed_at", json!(rfc3339_seconds(now)));
    }
    edits.push(FileEdit { path: feature.meta_path(), text: meta.to_json_pretty() });

    let mut events: Vec<EventDraft> =
        accepted.iter().map(|wp| status_changed(feature, wp, Lane::ForReview, Lane::Done, "user")).collect();
    if complete {
        let started = meta.created_at.as_deref().and_then(parse_rfc3339_ms);
        events.push(EventDraft::alone(Payload::FeatureCompleted(FeatureCompleted {
            feature_slug: feature.slug.clone(),
            total_wps: feature.plan.work_packages.len() as u32,
            completed_at: Some(rfc3339_seconds(now)),
            total_duration: started.map(|start| duration_text(now.saturating_sub(start))),
        })));
    }
    let changes =
        Changes { git_steps: Vec::new(), edits, commit_message: Some(format!("Accept {}", join(&accepted))), events };
    Ok(AcceptPlan { accepted, feature_complete: complete, changes })
}
