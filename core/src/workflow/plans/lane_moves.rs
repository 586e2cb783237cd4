//! Moving WPs between lanes in their files, and the events that announce it.

use super::{EventDraft, FeatureFolder, FileEdit, Occasion, PlanError};
use crate::events::{Payload, WpStatusChanged};
use crate::ids::WpId;
use crate::time::rfc3339_seconds;
use crate::workflow::{Lane, activity_line};

/// The WPStatusChanged of a move, by `actor` ("user" or an agent).
pub(super) fn status_changed(feature: &FeatureFolder, wp: &WpId, from: Lane, to: Lane, actor: &str) -> EventDraft {
    let mut change = WpStatusChanged::new(wp.clone(), from, to);
    change.changed_by = actor.to_string();
    change.feature_slug = Some(feature.slug.clone());
    EventDraft::alone(Payload::WpStatusChanged(change))
}

/// Each WP's file with its lane set to `to`, `shell_pid` and `scalars` set, and an activity line
/// by the user noting `note`.
pub(super) fn lane_edits(
    feature: &FeatureFolder,
    wps: &[WpId],
    to: Lane,
    note: &str,
    scalars: &[(&str, &str)],
    occasion: &Occasion,
) -> Result<Vec<FileEdit>, PlanError> {
    let stamp = rfc3339_seconds(occasion.now_ms);
    let pid = occasion.shell_pid.as_str();
    wps.iter()
        .map(|wp| {
            let (path, file) = feature.wp_file(wp)?;
            let mut file = file.clone();
            file.set_lane(to)?;
            file.set_scalar("shell_pid", pid)?;
            for (key, value) in scalars {
                file.set_scalar(key, value)?;
            }
            file.append_activity(&activity_line(&stamp, "user", Some(pid), to, note));
            Ok(FileEdit { path, text: file.to_text() })
        })
        .collect()
}

/// `WP01, WP03`.
pub(super) fn join(wps: &[WpId]) -> String {
    wps.iter().map(WpId::as_str).collect::<Vec<_>>().join(", ")
}
