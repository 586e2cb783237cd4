//! `implement WP`: start a planned WP on its own branch and worktree, moving it to doing.
//!
//! The branch starts from the one unfinished dependency's branch when there is exactly one and it
//! exists (so its work is there), else from the feature's target branch. A WP already in doing with
//! its worktree is not started again; when its move to doing was written but never committed (a run
//! killed in between), that move is committed and announced now.

use serde::Serialize;

use super::lane_moves::{lane_edits, status_changed};
use super::layout::{WORKTREES_DIR, check_branch_name, worktree_path};
use super::{Changes, FeatureFolder, GitStep, Occasion, PlanError, RepositoryFacts};
use crate::ids::WpId;
use crate::workflow::{Lane, WpFile};

/// What implement will do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImplementPlan {
    pub wp: WpId,
    pub branch: String,
    /// The worktree, relative to the root.
    pub worktree: String,
    pub start: Start,
    pub changes: Changes,
    /// Said once the start is done (a failed start prints only its error).
    pub notes: Vec<String>,
}

/// Tagged by `kind` in its serde form: `{"kind": "from", "base": "main"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Start {
    /// In doing with its worktree already: nothing to start.
    AlreadyStarted,
    /// Started now, its branch from `base`.
    From { base: String },
}

/// Plans `implement wp`. `head_text` is the WP file as the checked-out commit holds it (`None` when
/// it holds none).
pub fn plan(
    feature: &FeatureFolder,
    wp: &WpId,
    repository: &RepositoryFacts,
    head_text: Option<&str>,
    occasion: &Occasion,
) -> Result<ImplementPlan, PlanError> {
    let (path, file) = feature.wp_file(wp)?;
    let branch = feature.branch_of(wp);
    let worktree = worktree_path(&branch);
    let lane = file.lane();
    let mut plan = ImplementPlan {
        wp: wp.clone(),
        branch,
        worktree,
        start: Start::AlreadyStarted,
        changes: Changes::default(),
        notes: Vec::new(),
    };
    if lane == Lane::Doing && repository.worktrees.contains_key(&plan.branch) {
        if let Some(committed) = uncommitted_move(&path, head_text, lane) {
            plan.changes
                .git_steps
                .push(GitStep::CommitPaths { paths: vec![path], message: format!("{wp}: {committed} -> doing") });
            plan.changes.events.push(status_changed(feature, wp, committed, Lane::Doing, "user"));
        }
        return Ok(plan);
    }
    if lane != Lane::Planned {
        return Err(PlanError::NotPlanned { wp: wp.clone(), lane });
    }

    let lanes = feature.plan.lanes();
    let unfinished: Vec<&WpId> =
        feature.plan.graph.dependencies_of(wp).iter().filter(|d| lanes.get(*d) != Some(&Lane::Done)).collect();
    let base = match unfinished.as_slice() {
        [dependency] if repository.has_branch(&feature.branch_of(dependency)) => feature.branch_of(dependency),
        _ => feature.target_branch(repository),
    };
    // Both reach git as arguments.
    check_branch_name(&plan.branch)?;
    check_branch_name(&base)?;
    let steps = &mut plan.changes.git_steps;
    steps.push(GitStep::ExcludeLocally { pattern: format!("{WORKTREES_DIR}/") });
    let checked_out = repository.worktrees.get(&plan.branch).copied().unwrap_or(false);
    let branch_exists = repository.has_branch(&plan.branch);
    if !checked_out {
        // A worktree left by a start whose lane commit failed: the retry goes on from it.
        let create_from = (!branch_exists).then(|| base.clone());
        steps.push(GitStep::AddWorktree { path: plan.worktree.clone(), branch: plan.branch.clone(), create_from });
    }
    // Recorded so merge can tell a branch with no work yet from one whose work is already merged.
    let tip_of = |branch: &str| repository.branch_tips.get(branch).cloned();
    let base_commit = if branch_exists { tip_of(&plan.branch) } else { tip_of(&base) }
        .ok_or_else(|| PlanError::NoBaseCommit { base: base.clone(), branch: plan.branch.clone() })?;
    let scalars = [("base_branch", base.as_str()), ("base_commit", base_commit.as_str())];
    plan.changes.edits =
        lane_edits(feature, std::slice::from_ref(wp), Lane::Doing, "Started implementation", &scalars, occasion)?;
    plan.changes.commit_message = Some(format!("{wp}: planned -> doing"));
    plan.changes.events.push(status_changed(feature, wp, Lane::Planned, Lane::Doing, "user"));
    if !unfinished.is_empty() {
        let names: Vec<String> =
            unfinished.iter().map(|d| format!("{d} ({})", lanes.get(*d).copied().unwrap_or(Lane::Planned))).collect();
        plan.notes.push(format!("{wp} depends on {}, not done yet; its branch starts from {base}", names.join(", ")));
    }
    plan.start = Start::From { base };
    Ok(plan)
}

/// The lane the checked-out commit holds for a WP file whose lane on disk is `on_disk` and differs
/// from it: a lane change written by a run that died before its commit. `None` when they agree or
/// the commit has no such file.
pub(super) fn uncommitted_move(path: &str, head_text: Option<&str>, on_disk: Lane) -> Option<Lane> {
    let lane = WpFile::parse(path, head_text?).ok()?.lane();
    (lane != on_disk).then_some(lane)
}
