//! `agent tasks add-history WP --note TEXT`: an activity line in the WP file (left uncommitted, as
//! upstream) and a HistoryAdded note.

use super::{Changes, EventDraft, FeatureFolder, FileEdit, Occasion, PlanError};
use crate::events::{HistoryAdded, HistoryEntryType, Payload};
use crate::ids::WpId;
use crate::time::rfc3339_seconds;
use crate::workflow::activity_line;

/// Refuses an empty note; checked before anything is read.
pub fn check_note(note: &str) -> Result<(), PlanError> {
    if note.trim().is_empty() { Err(PlanError::EmptyNote) } else { Ok(()) }
}

pub fn plan(
    feature: &FeatureFolder,
    wp: &WpId,
    note: &str,
    agent: Option<&str>,
    occasion: &Occasion,
) -> Result<Changes, PlanError> {
    check_note(note)?;
    let (path, file) = feature.wp_file(wp)?;
    let actor = agent.unwrap_or("user");
    let mut file = file.clone();
    let line = activity_line(&rfc3339_seconds(occasion.now_ms), actor, Some(&occasion.shell_pid), file.lane(), note);
    file.append_activity(&line);
    let mut entry = HistoryAdded::note(wp.clone(), note);
    entry.entry_type = HistoryEntryType::Note;
    entry.author = actor.to_string();
    Ok(Changes {
        git_steps: Vec::new(),
        edits: vec![FileEdit { path, text: file.to_text() }],
        commit_message: None,
        events: vec![EventDraft::alone(Payload::HistoryAdded(entry))],
    })
}
