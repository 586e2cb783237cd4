//! `merge`: bring every WP branch with work the target lacks into the target, then move the WPs in
//! doing whose work is now there to for_review.
//!
//! Two steps, because what is merged after a run depends on git: [`plan`] lists the merges (in
//! dependency order, each branch once); the host carries them out, stops at the first that fails,
//! gathers the repository's facts again and asks [`moves`] which WPs move.

use serde::Serialize;

use super::lane_moves::{join, lane_edits, status_changed};
use super::layout::check_branch_name;
use super::{Changes, FeatureFolder, Occasion, PlanError, RepositoryFacts};
use crate::ids::WpId;
use crate::workflow::Lane;

/// The merges to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergePlan {
    pub target: String,
    pub merges: Vec<BranchMerge>,
}

/// `git merge --no-ff --no-edit -m message branch` into the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BranchMerge {
    pub wp: WpId,
    pub branch: String,
    pub message: String,
}

/// The WPs that move to for_review after the merges, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeMoves {
    pub moved: Vec<WpId>,
    pub changes: Changes,
}

/// Which branches to merge. Every WP branch with work the target lacks is merged, whatever its
/// WP's lane but planned (a WP moved to for_review by hand still has to reach the target). The
/// target must be checked out.
pub fn plan(feature: &FeatureFolder, repository: &RepositoryFacts) -> Result<MergePlan, PlanError> {
    let target = feature.target_branch(repository);
    if repository.current_branch != target {
        return Err(PlanError::NotOnTarget {
            target,
            current: repository.current_branch.clone(),
            repository: repository.root_label.clone(),
        });
    }
    let lanes = feature.plan.lanes();
    let merges: Vec<BranchMerge> = feature
        .plan
        .graph
        .topological_order()
        .into_iter()
        .filter(|wp| lanes.get(wp) != Some(&Lane::Planned))
        .filter_map(|wp| {
            let branch = feature.branch_of(&wp);
            let has_missing_work = repository.has_branch(&branch) && !repository.merged_into_target.contains(&branch);
            has_missing_work.then(|| BranchMerge { message: format!("Merge {branch} into {target}"), wp, branch })
        })
        .collect();
    // Each reaches git as an argument (such a branch exists only when made with plumbing).
    for merge in &merges {
        check_branch_name(&merge.branch)?;
    }
    Ok(MergePlan { target, merges })
}

/// Which WPs move once the merges are done (or stopped at a failure: those merged before it moved
/// all the same): those in doing whose branch has work of its own (its tip is not the
/// `base_commit` it started from) and is merged into `target`, as `after` (the facts gathered after
/// the merges) says.
pub fn moves(
    feature: &FeatureFolder,
    target: &str,
    after: &RepositoryFacts,
    occasion: &Occasion,
) -> Result<MergeMoves, PlanError> {
    let lanes = feature.plan.lanes();
    let moved: Vec<WpId> = feature
        .plan
        .graph
        .topological_order()
        .into_iter()
        .filter(|wp| lanes.get(wp) == Some(&Lane::Doing))
        .filter(|wp| {
            let branch = feature.branch_of(wp);
            let tip = after.branch_tips.get(&branch);
            let has_work = match feature.wp_file(wp).ok().and_then(|(_, file)| file.base_commit()) {
                Some(base) => tip.is_some_and(|tip| *tip != base),
                None => true,
            };
            has_work && tip.is_some() && after.merged_into_target.contains(&branch)
        })
        .collect();
    let mut changes = Changes::default();
    if !moved.is_empty() {
        changes.edits = lane_edits(feature, &moved, Lane::ForReview, &format!("Merged into {target}"), &[], occasion)?;
        changes.commit_message = Some(format!("{}: doing -> for_review", join(&moved)));
        changes.events =
            moved.iter().map(|wp| status_changed(feature, wp, Lane::Doing, Lane::ForReview, "user")).collect();
    }
    Ok(MergeMoves { moved, changes })
}
