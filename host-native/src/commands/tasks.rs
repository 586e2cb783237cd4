//! `agent tasks move-task | mark-status | add-history`.
//!
//! Each command gathers facts, asks the core for its plan (`spec_kitty_core::workflow::plans`),
//! carries it out and emits.

use crate::app::{App, FailureContext, Report, invalid};
use crate::commands::carry_out::apply;
use crate::commands::{facts, outbox};
use crate::repo_files::RepoFiles;
use anyhow::Result;
use serde_json::json;
use spec_kitty_core::workflow::plans::FeatureReading;
use spec_kitty_core::workflow::plans::move_task::MoveRequest;
use spec_kitty_core::workflow::plans::{add_history as history, mark_status as marking, move_task as moving};
use spec_kitty_core::{Lane, WpId};

pub fn parse_wp(text: &str) -> Result<WpId> {
    text.parse::<WpId>().map_err(|e| invalid(e.to_string()))
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
    let files = RepoFiles::open(&project.root)?;
    let earlier = outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature_for(&files, &FeatureReading::OneWp(wp.clone()))?;
    // The move asked for was the one an earlier run, killed before it was done, had under way.
    if let Some((previous, moved_to)) = earlier.as_ref().and_then(|finished| finished.status_change_of(&wp))
        && moved_to == to
    {
        let emitted = earlier.map(|finished| finished.announced.to_json());
        return Ok(Report {
            human: format!("{wp}: {previous} -> {to} (completing an earlier run that did not finish)"),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "previous_lane": previous, "lane": to, "completed_earlier_run": true, "emitted": emitted}),
        });
    }
    let head_text = feature.wp_file(&wp).ok().and_then(|(path, _)| facts::committed_text(&project, &path));
    let request = MoveRequest {
        wp: wp.clone(),
        to,
        agent: args.agent.map(str::to_string),
        note: args.note.map(str::to_string),
        force: args.force,
    };
    let plan = moving::plan(&feature, &request, head_text.as_deref(), &facts::occasion())?;
    let emitted = apply(&project, &files, "move-task", &plan.changes)?.announce(app, &project).to_json();
    let previous = plan.previous;
    Ok(if plan.completes_earlier_run {
        Report {
            human: format!("{wp}: {previous} -> {to} (completing an earlier run that did not commit it)"),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "previous_lane": previous, "lane": to, "completed_earlier_run": true, "emitted": emitted}),
        }
    } else {
        Report {
            human: format!("{wp}: {previous} -> {to}"),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "previous_lane": previous, "lane": to, "emitted": emitted}),
        }
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
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature_for(&files, &FeatureReading::TasksOnly)?;
    let ids: Vec<&str> = subtasks.iter().map(String::as_str).collect();
    let plan = marking::plan(&feature, &ids, done, agent)?;
    if let [first, ..] = plan.subtasks.as_slice() {
        failure.wp = Some(first.wp.clone());
    }
    let emitted = apply(&project, &files, "mark-status", &plan.changes)?.announce(app, &project).to_json();
    let unchanged = plan.subtasks.len() - plan.changed;
    Ok(Report {
        human: format!(
            "{} subtask(s) marked {}{}",
            plan.changed,
            plan.status,
            if unchanged > 0 { format!(" ({unchanged} already were)") } else { String::new() }
        ),
        json: json!({"ok": true, "feature": feature.slug, "status": plan.status, "changes": plan.subtasks, "emitted": emitted}),
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
    history::check_note(note)?;
    let project = app.project()?;
    let _lock = project.lock()?;
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature_for(&files, &FeatureReading::OneWp(wp.clone()))?;
    let changes = history::plan(&feature, &wp, note, agent, &facts::occasion())?;
    let emitted = apply(&project, &files, "add-history", &changes)?.announce(app, &project).to_json();
    Ok(Report {
        human: format!("{wp}: note added to the activity log"),
        json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "note": note, "emitted": emitted}),
    })
}
