//! `agent feature finalize-tasks`: dependencies written into the WP files and committed, then the
//! feature and its WPs announced as one action (FeatureCreated, one WPCreated per WP).
//!
//! Upstream's finalize-tasks: the WPs are the WP files, tasks.md only supplies dependencies (see
//! [`Finalization`]).

use serde::Serialize;

use super::layout::wp_file_path;
use super::{Causation, Changes, EventDraft, FeatureTexts, FileEdit, PlanError};
use crate::events::Payload;
use crate::workflow::Finalization;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FinalizePlan {
    pub finalization: Finalization,
    /// Why no FeatureCreated is announced (a warning for the user), when none is.
    pub no_feature_created: Option<String>,
    pub changes: Changes,
}

impl FinalizePlan {
    pub fn announces_feature(&self) -> bool {
        self.no_feature_created.is_none()
    }
}

pub fn plan(texts: &FeatureTexts) -> Result<FinalizePlan, PlanError> {
    let finalization = Finalization::from_texts(texts.tasks(), &texts.wp_files)?;
    let slug = texts.slug.as_str();
    let edits = finalization
        .work_packages
        .iter()
        .filter_map(|wp| {
            wp.new_text.as_ref().map(|text| FileEdit { path: wp_file_path(slug, &wp.file_name), text: text.clone() })
        })
        .collect();

    let wp_count = finalization.work_packages.len() as u32;
    let meta_label = texts.label_of("meta.json");
    let feature_created = match &texts.meta {
        Some(meta) => meta.feature_created(slug, wp_count).map_err(|why| format!("{meta_label}: {why}")),
        None => Err(format!("{meta_label} is missing")),
    };
    let shared = |payload| EventDraft { payload, causation: Causation::Shared };
    let mut events = Vec::new();
    let no_feature_created = match feature_created {
        Ok(created) => {
            events.push(shared(Payload::FeatureCreated(created)));
            None
        }
        Err(why) => Some(format!("no FeatureCreated event: {why}; the {wp_count} WPCreated events go on")),
    };
    events.extend(finalization.wp_created(slug).into_iter().map(|created| shared(Payload::WpCreated(created))));
    let changes =
        Changes { git_steps: Vec::new(), edits, commit_message: Some(format!("Finalize tasks for {slug}")), events };
    Ok(FinalizePlan { finalization, no_feature_created, changes })
}
