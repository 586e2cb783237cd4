//! `agent tasks move-task WP --to LANE`: one WP to another lane, as the workflow allows (any other
//! with `force`), with an activity line and its status change announced.

use serde::{Deserialize, Serialize};

use super::implement::uncommitted_move;
use super::lane_moves::status_changed;
use super::{Changes, FeatureFolder, FileEdit, GitStep, Occasion, PlanError};
use crate::ids::WpId;
use crate::time::rfc3339_seconds;
use crate::workflow::{Lane, activity_line};

/// What was asked. In its serde form only `wp` and `to` are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct MoveRequest {
    pub wp: WpId,
    pub to: Lane,
    /// The agent making the move (recorded in the file and the event); the user when none.
    #[serde(default)]
    pub agent: Option<String>,
    /// The activity line's note; `Moved to {lane}` when none.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MoveTaskPlan {
    pub previous: Lane,
    /// The same move was written by an earlier run that was killed before its commit: this one
    /// only commits and announces it.
    pub completes_earlier_run: bool,
    pub changes: Changes,
}

/// Plans the move. `head_text` is the WP file as the checked-out commit holds it.
pub fn plan(
    feature: &FeatureFolder,
    request: &MoveRequest,
    head_text: Option<&str>,
    occasion: &Occasion,
) -> Result<MoveTaskPlan, PlanError> {
    let MoveRequest { wp, to, .. } = request;
    let to = *to;
    let (path, file) = feature.wp_file(wp)?;
    let actor = request.agent.as_deref().unwrap_or("user");
    let on_disk = file.lane();
    if let Some(committed) = uncommitted_move(&path, head_text, on_disk).filter(|_| on_disk == to) {
        let changes = Changes {
            git_steps: vec![GitStep::CommitPaths { paths: vec![path], message: format!("{wp}: {committed} -> {to}") }],
            events: vec![status_changed(feature, wp, committed, to, actor)],
            ..Changes::default()
        };
        return Ok(MoveTaskPlan { previous: committed, completes_earlier_run: true, changes });
    }
    on_disk.check_move(to, request.force).map_err(|error| PlanError::IllegalMove { wp: wp.clone(), error })?;
    let mut file = file.clone();
    file.set_lane(to)?;
    if let Some(agent) = &request.agent {
        file.set_scalar("agent", agent)?;
    }
    let pid = occasion.shell_pid.as_str();
    file.set_scalar("shell_pid", pid)?;
    let note = request.note.clone().unwrap_or_else(|| format!("Moved to {to}"));
    file.append_activity(&activity_line(&rfc3339_seconds(occasion.now_ms), actor, Some(pid), to, &note));
    let changes = Changes {
        git_steps: Vec::new(),
        edits: vec![FileEdit { path, text: file.to_text() }],
        commit_message: Some(format!("{wp}: {on_disk} -> {to}")),
        events: vec![status_changed(feature, wp, on_disk, to, actor)],
    };
    Ok(MoveTaskPlan { previous: on_disk, completes_earlier_run: false, changes })
}
