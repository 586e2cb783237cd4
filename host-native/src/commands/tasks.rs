//! `agent tasks move-task | mark-status | add-history`.

use crate::app::{App, FailureContext, Report, invalid};
use crate::emitter::Draft;
use crate::git;
use crate::project::Project;
use crate::project_edits::ProjectEdits;
use anyhow::Result;
use serde_json::json;
use spec_kitty_core::events::{HistoryAdded, HistoryEntryType, WpStatusChanged};
use spec_kitty_core::workflow::frontmatter::WpFile;
use spec_kitty_core::workflow::{activity_line, set_subtask_done};
use spec_kitty_core::{Lane, Payload, WpId, time::rfc3339_seconds};
use std::collections::BTreeMap;
use std::path::Path;

pub fn parse_wp(text: &str) -> Result<WpId> {
    text.parse::<WpId>().map_err(|e| invalid(e.to_string()))
}

pub fn shell_pid() -> String {
    #[cfg(unix)]
    return std::os::unix::process::parent_id().to_string();
    #[cfg(not(unix))]
    return std::process::id().to_string();
}

/// The lane HEAD holds for a WP file whose lane on disk is `on_disk` and differs from it: a lane change
/// written by a run that died before its commit. `None` when they agree or HEAD has no such file.
pub fn uncommitted_move(project: &Project, path: &Path, on_disk: Lane) -> Option<Lane> {
    let relative = path.strip_prefix(&project.root).ok()?.to_str()?.to_string();
    let committed = git::run(&project.root, &["show", &format!("HEAD:{relative}")]).ok()?;
    let lane = WpFile::parse(&relative, &committed).ok()?.lane();
    (lane != on_disk).then_some(lane)
}

pub struct MoveTask<'a> {
    pub wp: &'a str,
    pub to: &'a str,
    pub agent: Option<&'a str>,
    pub note: Option<&'a str>,
    pub force: bool,
}

pub fn move_task(app: &App, args: MoveTask, failure: &mut FailureContext) -> Result<Report> {
    failure.agent = args.agent.map(str::to_string);
    let wp = parse_wp(args.wp)?;
    failure.wp = Some(wp.clone());
    let to: Lane = args.to.parse().map_err(|e: spec_kitty_core::workflow::LaneError| invalid(e.to_string()))?;
    let project = app.project()?;
    let _lock = project.lock()?;
    project.require_branch("move-task")?;
    project.require_no_merge_in_progress("move-task")?;
    let feature = app.load_feature(&project)?;
    let (path, mut file) = feature.wp_file(&wp)?;
    let actor = args.agent.unwrap_or("user");
    if let Some(committed) = uncommitted_move(&project, &path, file.lane()).filter(|_| file.lane() == to) {
        // The same move, written but never committed by a run that was killed: finish that one.
        git::commit_paths(&project.root, &[&path], &format!("{wp}: {committed} -> {to}"))?;
        let mut change = WpStatusChanged::new(wp.clone(), committed, to);
        change.changed_by = actor.to_string();
        change.feature_slug = Some(feature.slug.clone());
        app.emitter(&project).emit(vec![Draft::new(Payload::WpStatusChanged(change))]);
        return Ok(Report {
            human: format!("{wp}: {committed} -> {to} (completing an earlier run that did not commit it)"),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "previous_lane": committed, "lane": to, "completed_earlier_run": true}),
        });
    }
    let previous = file.lane();
    previous.check_move(to, args.force).map_err(|e| invalid(format!("{wp}: {e}")))?;
    file.set_lane(to)?;
    if let Some(agent) = args.agent {
        file.set_scalar("agent", agent)?;
    }
    let pid = shell_pid();
    file.set_scalar("shell_pid", &pid)?;
    let note = args.note.map(str::to_string).unwrap_or_else(|| format!("Moved to {to}"));
    let now = crate::emitter::now_ms();
    file.append_activity(&activity_line(&rfc3339_seconds(now), actor, Some(&pid), to, &note));
    let mut edits = ProjectEdits::new(&project.root);
    edits.write(&path, file.to_text().as_bytes())?;
    edits.commit(&format!("{wp}: {previous} -> {to}"))?;

    let mut emitter = app.emitter(&project);
    let mut change = WpStatusChanged::new(wp.clone(), previous, to);
    change.changed_by = actor.to_string();
    change.feature_slug = Some(feature.slug.clone());
    emitter.emit(vec![Draft::new(Payload::WpStatusChanged(change))]);
    Ok(Report {
        human: format!("{wp}: {previous} -> {to}"),
        json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "previous_lane": previous, "lane": to}),
    })
}

pub fn mark_status(
    app: &App,
    subtasks: &[String],
    done: bool,
    agent: Option<&str>,
    failure: &mut FailureContext,
) -> Result<Report> {
    failure.agent = agent.map(str::to_string);
    let project = app.project()?;
    let _lock = project.lock()?;
    let feature = app.load_feature(&project)?;
    let path = feature.tasks_path();
    let ids: Vec<&str> = subtasks.iter().map(String::as_str).collect();
    let (text, changes) = set_subtask_done(&path.display().to_string(), &feature.tasks_text, &ids, done)?;
    if let [first, ..] = changes.as_slice() {
        failure.wp = Some(first.wp.clone());
    }
    let changed: Vec<_> = changes.iter().filter(|c| c.was_done != done).collect();
    if !changed.is_empty() {
        let mut edits = ProjectEdits::new(&project.root);
        edits.write(&path, text.as_bytes())?;
        edits.keep();
    }
    // One HistoryAdded per WP that owns a changed subtask; upstream used a fake WP id here.
    let mut by_wp: BTreeMap<WpId, Vec<&str>> = BTreeMap::new();
    for change in &changed {
        by_wp.entry(change.wp.clone()).or_default().push(&change.subtask);
    }
    let status = if done { "done" } else { "pending" };
    let drafts = by_wp
        .iter()
        .map(|(wp, ids)| {
            let mut entry = HistoryAdded::note(wp.clone(), format!("Marked {} as {status}", ids.join(", ")));
            entry.author = agent.unwrap_or("user").to_string();
            Draft::new(Payload::HistoryAdded(entry))
        })
        .collect();
    app.emitter(&project).emit(drafts);
    let unchanged = changes.len() - changed.len();
    Ok(Report {
        human: format!(
            "{} subtask(s) marked {status}{}",
            changed.len(),
            if unchanged > 0 { format!(" ({unchanged} already were)") } else { String::new() }
        ),
        json: json!({"ok": true, "feature": feature.slug, "status": status, "changes": changes}),
    })
}

pub fn add_history(
    app: &App,
    wp: &str,
    note: &str,
    agent: Option<&str>,
    failure: &mut FailureContext,
) -> Result<Report> {
    failure.agent = agent.map(str::to_string);
    let wp = parse_wp(wp)?;
    failure.wp = Some(wp.clone());
    if note.trim().is_empty() {
        return Err(invalid("--note: the note is empty"));
    }
    let project = app.project()?;
    let _lock = project.lock()?;
    let feature = app.load_feature(&project)?;
    let (path, mut file) = feature.wp_file(&wp)?;
    let actor = agent.unwrap_or("user");
    let now = crate::emitter::now_ms();
    file.append_activity(&activity_line(&rfc3339_seconds(now), actor, Some(&shell_pid()), file.lane(), note));
    let mut edits = ProjectEdits::new(&project.root);
    edits.write(&path, file.to_text().as_bytes())?;
    edits.keep();
    let mut entry = HistoryAdded::note(wp.clone(), note);
    entry.entry_type = HistoryEntryType::Note;
    entry.author = actor.to_string();
    app.emitter(&project).emit(vec![Draft::new(Payload::HistoryAdded(entry))]);
    Ok(Report {
        human: format!("{wp}: note added to the activity log"),
        json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "note": note}),
    })
}
