//! `agent tasks mark-status T001 ... --status done|pending`: ticks or unticks subtasks in tasks.md
//! (left uncommitted, as upstream) and announces one HistoryAdded per WP owning a changed subtask.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Changes, EventDraft, FeatureFolder, FileEdit, PlanError};
use crate::events::{HistoryAdded, Payload};
use crate::ids::WpId;
use crate::workflow::{SubtaskChange, set_subtask_done};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MarkStatusPlan {
    /// `done` or `pending`.
    pub status: &'static str,
    /// One per distinct requested subtask, in request order, changed or not.
    pub subtasks: Vec<SubtaskChange>,
    /// How many of them change.
    pub changed: usize,
    pub changes: Changes,
}

pub fn plan(
    feature: &FeatureFolder,
    subtask_ids: &[&str],
    done: bool,
    agent: Option<&str>,
) -> Result<MarkStatusPlan, PlanError> {
    let (text, subtasks) = set_subtask_done(&feature.tasks_label(), &feature.tasks_text, subtask_ids, done)?;
    let changed: Vec<&SubtaskChange> = subtasks.iter().filter(|c| c.was_done != done).collect();
    let mut changes = Changes::default();
    if !changed.is_empty() {
        changes.edits.push(FileEdit { path: feature.tasks_path(), text });
    }
    // One HistoryAdded per WP that owns a changed subtask; upstream used a fake WP id here.
    let mut by_wp: BTreeMap<&WpId, Vec<&str>> = BTreeMap::new();
    for change in &changed {
        by_wp.entry(&change.wp).or_default().push(&change.subtask);
    }
    let status = if done { "done" } else { "pending" };
    changes.events = by_wp
        .into_iter()
        .map(|(wp, ids)| {
            let mut entry = HistoryAdded::note(wp.clone(), format!("Marked {} as {status}", ids.join(", ")));
            entry.author = agent.unwrap_or("user").to_string();
            EventDraft::alone(Payload::HistoryAdded(entry))
        })
        .collect();
    let changed = changed.len();
    Ok(MarkStatusPlan { status, subtasks, changed, changes })
}
