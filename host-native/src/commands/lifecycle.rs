//! `agent feature finalize-tasks`, `implement`, `merge`, `accept`: the feature's life cycle.
//!
//! Each command gathers facts, asks the core for its plan (`spec_kitty_core::workflow::plans`),
//! carries it out and emits; the report says what the plan did.

use crate::app::{App, FailureContext, Report};
use crate::commands::carry_out::{Announced, apply};
use crate::commands::tasks::parse_wp;
use crate::commands::{facts, outbox};
use crate::git;
use crate::repo_files::RepoFiles;
use anyhow::Result;
use serde_json::json;
use spec_kitty_core::WpId;
use spec_kitty_core::workflow::plans::implement::Start;
use spec_kitty_core::workflow::plans::{accept, finalize_tasks as finalize, implement as start, merge as merging};

pub fn finalize_tasks(app: &App) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    project.require_branch("finalize-tasks")?;
    project.require_no_merge_in_progress("finalize-tasks")?;
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let slug = crate::feature::resolve_slug(&files, &app.cwd, app.feature.as_deref())?;
    let texts = crate::feature::read_texts(&files, &slug)?;
    let plan = finalize::plan(&texts)?;
    let applied = apply(&project, &files, "finalize-tasks", &plan.changes)?;
    let written = applied.written.clone();
    let finalization = &plan.finalization;
    for warning in &finalization.warnings {
        crate::errln!("warning: {warning}");
    }
    for note in &finalization.notes {
        crate::errln!("note: {note}");
    }
    if let Some(why) = &plan.no_feature_created {
        crate::errln!("warning: {why}");
    }
    let announced = applied.announce(app, &project);
    let wps: Vec<_> = finalization
        .work_packages
        .iter()
        .map(|wp| json!({"wp_id": wp.id, "title": wp.title, "dependencies": wp.dependencies, "lane": wp.lane}))
        .collect();
    Ok(Report {
        human: format!(
            "{slug}: {} work packages, dependencies checked{}",
            wps.len(),
            if written.is_empty() { String::new() } else { format!(", {} WP file(s) updated", written.len()) }
        ),
        json: json!({
            "ok": true, "feature": slug, "work_packages": wps, "updated_files": written,
            "feature_created": plan.announces_feature(), "notes": finalization.notes,
            "warnings": finalization.warnings, "causation_id": announced.cause, "emitted": announced.to_json(),
        }),
    })
}

pub fn implement(app: &App, wp: &str, failure: &mut FailureContext) -> Result<Report> {
    let wp = parse_wp(wp)?;
    failure.wp = Some(wp.clone());
    let project = app.project()?;
    let _lock = project.lock()?;
    let current = project.require_branch("implement")?;
    project.require_no_merge_in_progress("implement")?;
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature(&files)?;
    let head_text = feature.wp_file(&wp).ok().and_then(|(path, _)| facts::committed_text(&project, &path));
    let repository = facts::repository(&project, current)?;
    let plan = start::plan(&feature, &wp, &repository, head_text.as_deref(), &facts::occasion())?;
    let announced = apply(&project, &files, "implement", &plan.changes)?.announce(app, &project);
    for note in &plan.notes {
        crate::errln!("note: {note}");
    }
    let worktree = files.path(&plan.worktree);
    let (branch, emitted) = (&plan.branch, announced.to_json());
    Ok(match &plan.start {
        Start::AlreadyStarted => Report {
            human: format!("{wp} is already in progress in {}", worktree.display()),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "worktree": worktree, "branch": branch, "already_started": true, "emitted": emitted}),
        },
        Start::From { base } => Report {
            human: format!("{wp}: planned -> doing; worktree {} on branch {branch} (from {base})", worktree.display()),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "worktree": worktree, "branch": branch, "base": base, "emitted": emitted}),
        },
    })
}

pub fn merge(app: &App, failure_context: &mut FailureContext) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    let current = project.require_branch("merge")?;
    project.require_no_merge_in_progress("merge")?;
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature(&files)?;
    let mut repository = facts::repository(&project, current.clone())?;
    repository.merged_into_target = facts::merged_into(&project, &feature.target_branch(&repository));
    let plan = merging::plan(&feature, &repository)?;
    let target = &plan.target;
    let mut merged = Vec::new();
    let mut failure = None;
    for step in &plan.merges {
        let branch = &step.branch;
        match git::run(&project.root, &["merge", "--no-ff", "--no-edit", "-m", &step.message, branch]) {
            Ok(_) => merged.push(step.wp.clone()),
            Err(e) => {
                failure_context.wp = Some(step.wp.clone());
                let conflicted = git::unmerged_paths(&project.root);
                let _ = git::run(&project.root, &["merge", "--abort"]);
                failure = Some(if conflicted.is_empty() {
                    e.context(format!("merging {branch}"))
                } else {
                    anyhow::anyhow!(
                        "merging {branch} into {target} conflicted in {}; the merge was aborted and {target} is as it was: merge {branch} by hand and resolve, or rebase it on {target}, then run merge again",
                        conflicted.join(", ")
                    )
                });
                break;
            }
        }
    }
    // What moves depends on what is merged now (by this run, or earlier by hand).
    let mut after = facts::repository(&project, current)?;
    after.merged_into_target = facts::merged_into(&project, target);
    let moves = merging::moves(&feature, target, &after, &facts::occasion())?;
    // Work packages merged before a failure did move: record and announce them all the same.
    let announced: Announced = apply(&project, &files, "merge", &moves.changes)?.announce(app, &project);
    if let Some(error) = failure {
        // The failure is the command's answer; the emitter printed its own warnings already.
        let _report = announced;
        return Err(error);
    }
    let moved = &moves.moved;
    Ok(Report {
        human: match (merged.is_empty(), moved.is_empty()) {
            (true, true) => "nothing to merge: no work package branch has work the target lacks".into(),
            _ => format!(
                "merged into {target}: {}; moved to for_review: {}",
                names_or_none(&merged),
                names_or_none(moved)
            ),
        },
        json: json!({"ok": true, "feature": feature.slug, "target_branch": target, "merged": merged, "moved_to_for_review": moved, "emitted": announced.to_json()}),
    })
}

fn names_or_none(wps: &[WpId]) -> String {
    if wps.is_empty() { "none".into() } else { wps.iter().map(WpId::to_string).collect::<Vec<_>>().join(", ") }
}

pub fn accept(app: &App) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    project.require_branch("accept")?;
    project.require_no_merge_in_progress("accept")?;
    let files = RepoFiles::open(&project.root)?;
    outbox::finish_earlier(app, &project, &files)?;
    let feature = app.load_feature(&files)?;
    let plan = accept::plan(&feature, &facts::occasion())?;
    if plan.accepted.is_empty() {
        return Ok(Report {
            human: "nothing to accept: no work package is in for_review".into(),
            json: json!({"ok": true, "feature": feature.slug, "accepted": [], "feature_complete": plan.feature_complete, "emitted": {"queued": [], "warnings": []}}),
        });
    }
    let announced = apply(&project, &files, "accept", &plan.changes)?.announce(app, &project);
    let names: Vec<String> = plan.accepted.iter().map(WpId::to_string).collect();
    let complete = plan.feature_complete;
    Ok(Report {
        human: format!("accepted {}{}", names.join(", "), if complete { "; the feature is complete" } else { "" }),
        json: json!({"ok": true, "feature": feature.slug, "accepted": plan.accepted, "feature_complete": complete, "emitted": announced.to_json()}),
    })
}
