//! `agent feature finalize-tasks`, `implement`, `merge`, `accept`: the feature's life cycle.

use crate::app::{App, FailureContext, Report, invalid};
use crate::commands::tasks::{parse_wp, shell_pid};
use crate::emitter::{Draft, now_ms};
use crate::feature::Feature;
use crate::git;
use crate::project_edits::ProjectEdits;
use anyhow::{Context, Result};
use serde_json::json;
use spec_kitty_core::events::{FeatureCompleted, WpStatusChanged};
use spec_kitty_core::time::{duration_text, parse_rfc3339_ms, rfc3339_seconds};
use spec_kitty_core::workflow::activity_line;
use spec_kitty_core::{Lane, Payload, WpId};
use std::path::PathBuf;

fn status_changed(feature: &Feature, wp: &WpId, from: Lane, to: Lane) -> Draft {
    let mut change = WpStatusChanged::new(wp.clone(), from, to);
    change.feature_slug = Some(feature.slug.clone());
    Draft::new(Payload::WpStatusChanged(change))
}

/// Moves WPs to `to` in their files, with an activity line each.
fn move_lanes(edits: &mut ProjectEdits, feature: &Feature, wps: &[WpId], to: Lane, note: &str) -> Result<()> {
    move_lanes_setting(edits, feature, wps, to, note, &[])
}

/// As [`move_lanes`], also setting frontmatter scalars (like `base_commit`).
fn move_lanes_setting(
    edits: &mut ProjectEdits,
    feature: &Feature,
    wps: &[WpId],
    to: Lane,
    note: &str,
    scalars: &[(&str, &str)],
) -> Result<()> {
    let stamp = rfc3339_seconds(now_ms());
    let pid = shell_pid();
    for wp in wps {
        let (path, mut file) = feature.wp_file(wp)?;
        file.set_lane(to)?;
        file.set_scalar("shell_pid", &pid)?;
        for (key, value) in scalars {
            file.set_scalar(key, value)?;
        }
        file.append_activity(&activity_line(&stamp, "user", Some(&pid), to, note));
        edits.write(&path, file.to_text().as_bytes())?;
    }
    Ok(())
}

pub fn finalize_tasks(app: &App) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    project.require_branch("finalize-tasks")?;
    project.require_no_merge_in_progress("finalize-tasks")?;
    // Upstream's finalize-tasks: the WPs are the WP files, tasks.md only supplies dependencies
    // (the core's compatibility rule); see `spec_kitty_core::workflow::feature::finalize`.
    let slug = crate::feature::resolve_slug(&project, &app.cwd, app.feature.as_deref())?;
    let texts = crate::feature::read_texts(&project, &slug)?;
    let finalization = spec_kitty_core::workflow::Finalization::from_texts(texts.tasks(), &texts.wp_files)?;
    let mut edits = ProjectEdits::new(&project.root);
    for wp in &finalization.work_packages {
        if let Some(text) = &wp.new_text {
            edits.write(&PathBuf::from(&wp.file_name), text.as_bytes())?;
        }
    }
    let written = edits.paths();
    edits.commit(&format!("Finalize tasks for {slug}"))?;
    for warning in &finalization.warnings {
        crate::errln!("warning: {warning}");
    }
    for note in &finalization.notes {
        crate::errln!("note: {note}");
    }

    let wp_count = finalization.work_packages.len() as u32;
    let meta_path = texts.dir.join("meta.json");
    let feature_created = match &texts.meta {
        Some(meta) => meta.feature_created(&slug, wp_count).map_err(|why| format!("{}: {why}", meta_path.display())),
        None => Err(format!("{} is missing", meta_path.display())),
    };
    let mut emitter = app.emitter(&project);
    let cause = emitter.causation_id();
    let with_cause = |payload| Draft { payload, causation_id: cause.clone() };
    let mut drafts = Vec::new();
    match &feature_created {
        Ok(created) => drafts.push(with_cause(Payload::FeatureCreated(created.clone()))),
        Err(why) => crate::errln!("warning: no FeatureCreated event: {why}; the {wp_count} WPCreated events go on"),
    }
    drafts.extend(finalization.wp_created(&slug).into_iter().map(|created| with_cause(Payload::WpCreated(created))));
    emitter.emit(drafts);
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
            "feature_created": feature_created.is_ok(), "notes": finalization.notes,
            "warnings": finalization.warnings, "causation_id": cause,
        }),
    })
}

pub fn implement(app: &App, wp: &str, failure: &mut FailureContext) -> Result<Report> {
    let wp = parse_wp(wp)?;
    failure.wp = Some(wp.clone());
    let project = app.project()?;
    let _lock = project.lock()?;
    project.require_branch("implement")?;
    project.require_no_merge_in_progress("implement")?;
    let feature = app.load_feature(&project)?;
    let (_, file) = feature.wp_file(&wp)?;
    let branch = format!("{}-{wp}", feature.slug);
    let worktree = project.root.join(".worktrees").join(&branch);
    let lane = file.lane();
    if lane == Lane::Doing && worktree.is_dir() {
        let (path, _) = feature.wp_file(&wp)?;
        if let Some(committed) = crate::commands::tasks::uncommitted_move(&project, &path, lane) {
            // Started by a run that died before its commit: finish that start.
            git::commit_paths(&project.root, &[&path], &format!("{wp}: {committed} -> doing"))?;
            app.emitter(&project).emit(vec![status_changed(&feature, &wp, committed, Lane::Doing)]);
        }
        return Ok(Report {
            human: format!("{wp} is already in progress in {}", worktree.display()),
            json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "worktree": worktree, "branch": branch, "already_started": true}),
        });
    }
    if lane != Lane::Planned {
        return Err(invalid(format!("{wp} is in lane {lane}; implement starts planned work packages")));
    }
    // Start from the one unfinished dependency's branch when there is one, so its work is there.
    let lanes = feature.plan.lanes();
    let unfinished: Vec<&WpId> =
        feature.plan.graph.dependencies_of(&wp).iter().filter(|d| lanes.get(*d) != Some(&Lane::Done)).collect();
    let base = match unfinished.as_slice() {
        [dependency] if git::branch_exists(&project.root, &format!("{}-{dependency}", feature.slug)) => {
            format!("{}-{dependency}", feature.slug)
        }
        _ => feature.target_branch(&project.root)?,
    };
    git::exclude_locally(&project.root, ".worktrees/")?;
    let worktree_text = worktree.display().to_string();
    if worktree.join(".git").exists() {
        // Left by a start whose lane commit failed: the retry goes on from it.
    } else if git::branch_exists(&project.root, &branch) {
        git::run(&project.root, &["worktree", "add", &worktree_text, &branch])?;
    } else {
        git::run(&project.root, &["worktree", "add", "-b", &branch, &worktree_text, &base])?;
    }
    // Recorded so merge can tell a branch with no work yet from one whose work is already merged.
    let base_commit = git::run(&project.root, &["rev-parse", &branch])?;
    let scalars = [("base_branch", base.as_str()), ("base_commit", base_commit.as_str())];
    let mut edits = ProjectEdits::new(&project.root);
    move_lanes_setting(
        &mut edits,
        &feature,
        std::slice::from_ref(&wp),
        Lane::Doing,
        "Started implementation",
        &scalars,
    )?;
    edits.commit(&format!("{wp}: planned -> doing"))?;
    app.emitter(&project).emit(vec![status_changed(&feature, &wp, Lane::Planned, Lane::Doing)]);
    // Said once it started, so a failed start prints only its error.
    if !unfinished.is_empty() {
        let names: Vec<String> =
            unfinished.iter().map(|d| format!("{d} ({})", lanes.get(*d).copied().unwrap_or(Lane::Planned))).collect();
        crate::errln!("note: {wp} depends on {}, not done yet; its branch starts from {base}", names.join(", "));
    }
    Ok(Report {
        human: format!("{wp}: planned -> doing; worktree {} on branch {branch} (from {base})", worktree.display()),
        json: json!({"ok": true, "feature": feature.slug, "wp_id": wp, "worktree": worktree, "branch": branch, "base": base}),
    })
}

pub fn merge(app: &App, failure_context: &mut FailureContext) -> Result<Report> {
    let project = app.project()?;
    let _lock = project.lock()?;
    let current = project.require_branch("merge")?;
    project.require_no_merge_in_progress("merge")?;
    let feature = app.load_feature(&project)?;
    let target = feature.target_branch(&project.root)?;
    if current != target {
        return Err(invalid(format!(
            "merge runs on the target branch {target}; {} is on {current}",
            project.root.display()
        )));
    }
    // Every WP branch with work the target lacks is merged, whatever its lane (a WP moved to
    // for_review by hand still has to reach the target); only those in doing change lane.
    let lanes = feature.plan.lanes();
    let candidates: Vec<WpId> = feature
        .plan
        .graph
        .topological_order()
        .into_iter()
        .filter(|wp| lanes.get(wp) != Some(&Lane::Planned))
        .filter(|wp| {
            let branch = format!("{}-{wp}", feature.slug);
            git::branch_exists(&project.root, &branch) && !git::is_merged(&project.root, &branch, &target)
        })
        .collect();
    let mut merged = Vec::new();
    let mut failure = None;
    for wp in &candidates {
        let branch = format!("{}-{wp}", feature.slug);
        let message = format!("Merge {branch} into {target}");
        match git::run(&project.root, &["merge", "--no-ff", "--no-edit", "-m", &message, &branch]) {
            Ok(_) => merged.push(wp.clone()),
            Err(e) => {
                failure_context.wp = Some(wp.clone());
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
    // WPs in doing whose work is now in the target (merged by this run or earlier by hand) move on.
    let moved: Vec<WpId> = feature
        .plan
        .graph
        .topological_order()
        .into_iter()
        .filter(|wp| lanes.get(wp) == Some(&Lane::Doing))
        .filter(|wp| {
            let branch = format!("{}-{wp}", feature.slug);
            let has_work = match feature.wp_file(wp).ok().and_then(|(_, file)| file.base_commit()) {
                Some(base) => git::run(&project.root, &["rev-parse", &branch]).is_ok_and(|tip| tip != base),
                None => true,
            };
            has_work && git::branch_exists(&project.root, &branch) && git::is_merged(&project.root, &branch, &target)
        })
        .collect();
    // Work packages merged before a failure did move: record and announce them all the same.
    if !moved.is_empty() {
        let mut edits = ProjectEdits::new(&project.root);
        move_lanes(&mut edits, &feature, &moved, Lane::ForReview, &format!("Merged into {target}"))?;
        let names: Vec<String> = moved.iter().map(WpId::to_string).collect();
        edits.commit(&format!("{}: doing -> for_review", names.join(", ")))?;
        let drafts = moved.iter().map(|wp| status_changed(&feature, wp, Lane::Doing, Lane::ForReview)).collect();
        app.emitter(&project).emit(drafts);
    }
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(Report {
        human: match (merged.is_empty(), moved.is_empty()) {
            (true, true) => "nothing to merge: no work package branch has work the target lacks".into(),
            _ => format!(
                "merged into {target}: {}; moved to for_review: {}",
                names_or_none(&merged),
                names_or_none(&moved)
            ),
        },
        json: json!({"ok": true, "feature": feature.slug, "target_branch": target, "merged": merged, "moved_to_for_review": moved}),
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
    let mut feature = app.load_feature(&project)?;
    let accepted: Vec<WpId> =
        feature.plan.work_packages.iter().filter(|wp| wp.lane() == Lane::ForReview).map(|wp| wp.id().clone()).collect();
    if accepted.is_empty() {
        return Ok(Report {
            human: "nothing to accept: no work package is in for_review".into(),
            json: json!({"ok": true, "feature": feature.slug, "accepted": [], "feature_complete": feature.plan.is_complete()}),
        });
    }
    let mut edits = ProjectEdits::new(&project.root);
    move_lanes(&mut edits, &feature, &accepted, Lane::Done, "Accepted")?;
    let now = now_ms();
    let mut lanes = feature.plan.lanes();
    for wp in &accepted {
        lanes.insert(wp.clone(), Lane::Done);
    }
    let complete = feature.plan.graph.feature_complete(&lanes);
    feature.meta.set_other("accepted_at", json!(rfc3339_seconds(now)));
    if complete {
        feature.meta.set_other("completed_at", json!(rfc3339_seconds(now)));
    }
    let meta_path = feature.meta_path();
    edits.write(&meta_path, feature.meta.to_json_pretty().as_bytes()).context("recording the acceptance")?;
    let names: Vec<String> = accepted.iter().map(WpId::to_string).collect();
    edits.commit(&format!("Accept {}", names.join(", ")))?;

    let mut drafts: Vec<Draft> =
        accepted.iter().map(|wp| status_changed(&feature, wp, Lane::ForReview, Lane::Done)).collect();
    if complete {
        let started = feature.meta.created_at.as_deref().and_then(parse_rfc3339_ms);
        drafts.push(Draft::new(Payload::FeatureCompleted(FeatureCompleted {
            feature_slug: feature.slug.clone(),
            total_wps: feature.plan.work_packages.len() as u32,
            completed_at: Some(rfc3339_seconds(now)),
            total_duration: started.map(|start| duration_text(now.saturating_sub(start))),
        })));
    }
    app.emitter(&project).emit(drafts);
    Ok(Report {
        human: format!("accepted {}{}", names.join(", "), if complete { "; the feature is complete" } else { "" }),
        json: json!({"ok": true, "feature": feature.slug, "accepted": accepted, "feature_complete": complete}),
    })
}
