//! The lane moves a run makes, through the workflow commands themselves: `implement` to start a WP
//! (it makes the worktree and moves planned -> doing), `move-task` for every other move. So a run's
//! WP files, commits and WPStatusChanged events are exactly the commands'; each takes the project lock
//! only for its own change, never while agents work.
//!
//! One thing a run adds: a WP whose done dependency's work is not in the target branch yet (nobody
//! merged it) starts from that dependency's branch, and the branches of its other such dependencies
//! are merged into its worktree; `implement` alone starts from the target branch once a dependency is
//! done.

use super::setup::RunContext;
use crate::app::{App, FailureContext};
use crate::commands::tasks::MoveTask;
use crate::{commands, git};
use anyhow::{Context, Result, anyhow};
use spec_kitty_core::WpId;
use spec_kitty_core::workflow::Lane;
use spec_kitty_core::workflow::plans::layout::{branch_name, worktree_path};
use std::time::Duration;

/// How many times a lane move is tried again while another git command holds a lock of the repository.
const LOCKED_INDEX_RETRIES: u32 = 8;

/// Moves `wp` to `to` the way the commands do. A move the WP file already shows (made by a run that
/// was killed before it saved) is not made again; `to: doing` on a WP in doing makes sure of its
/// worktree. A move that found the repository's index or a ref locked (someone committing in the main checkout
/// at that moment, an agent committing where it should not) is made again after a pause, a few times
/// over about 5 s: the commands put the files back when their commit fails, so the WP does not fail
/// for a moment's contention.
pub fn move_lane(
    context: &RunContext,
    wp: &WpId,
    to: Lane,
    agent: Option<&str>,
    note: &str,
    base_candidates: &[WpId],
) -> Result<()> {
    let mut pause = Duration::from_millis(100);
    let mut retries = 0;
    loop {
        match move_lane_once(context, wp, to, agent, note, base_candidates) {
            Err(error) if retries < LOCKED_INDEX_RETRIES && index_was_locked(&error) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
                retries += 1;
            }
            done => return done,
        }
    }
}

/// Whether git refused because another git process held one of its locks (the index, a ref) or moved
/// the branch under it.
fn index_was_locked(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains(".lock': File exists") || text.contains("cannot lock ref")
}

fn move_lane_once(
    context: &RunContext,
    wp: &WpId,
    to: Lane,
    agent: Option<&str>,
    note: &str,
    base_candidates: &[WpId],
) -> Result<()> {
    let app = App { cwd: context.root().to_path_buf(), json: false, feature: Some(context.slug.clone()) };
    let current = context.lane_on_disk(wp)?;
    let mut failure = FailureContext::default();
    if to == Lane::Doing && matches!(current, Lane::Planned | Lane::Doing) {
        let mut current = current;
        if current == Lane::Doing && !context.worktree(wp).join(".git").exists() {
            // In doing without its worktree (removed by hand): back to planned, so `implement`
            // starts it again from its branch, which keeps the work.
            put_back_to_planned(context, wp, "Worktree missing: started again by orchestrate")?;
            current = Lane::Planned;
        }
        let with_work = dependencies_with_unmerged_work(context, base_candidates)?;
        if current == Lane::Planned {
            start_branch_from(context, wp, with_work.first())?;
        }
        commands::lifecycle::implement(&app, wp.as_str(), &mut failure)?;
        merge_into_worktree(context, wp, with_work.get(1..).unwrap_or_default())?;
        return Ok(());
    }
    if current == to && !context.wp_file_uncommitted(wp)? {
        // Made and committed by a run killed before it saved: nothing left to do. (Written but not
        // committed, move-task itself finishes it, and announces it.)
        return Ok(());
    }
    let args = MoveTask { wp: wp.as_str(), to: to.as_str(), agent, note: Some(note), force: false };
    commands::tasks::move_task(&app, args, &mut failure)?;
    Ok(())
}

/// Moves a WP back to planned (a move only `--force` allows), through move-task.
pub fn put_back_to_planned(context: &RunContext, wp: &WpId, note: &str) -> Result<()> {
    let app = App { cwd: context.root().to_path_buf(), json: false, feature: Some(context.slug.clone()) };
    let args = MoveTask { wp: wp.as_str(), to: Lane::Planned.as_str(), agent: None, note: Some(note), force: true };
    commands::tasks::move_task(&app, args, &mut FailureContext::default())?;
    Ok(())
}

/// The dependencies (in order) whose branches have commits the feature's target branch lacks.
fn dependencies_with_unmerged_work(context: &RunContext, candidates: &[WpId]) -> Result<Vec<WpId>> {
    let target = context.target_branch()?;
    Ok(candidates
        .iter()
        .filter(|dependency| {
            let branch = branch_name(&context.slug, dependency);
            git::branch_exists(context.root(), &branch) && !git::is_merged(context.root(), &branch, &target)
        })
        .cloned()
        .collect())
}

/// Creates the WP's branch at its dependency's branch, so `implement` checks it out there.
fn start_branch_from(context: &RunContext, wp: &WpId, dependency: Option<&WpId>) -> Result<()> {
    let Some(dependency) = dependency else { return Ok(()) };
    let branch = branch_name(&context.slug, wp);
    if git::branch_exists(context.root(), &branch) {
        return Ok(());
    }
    let base = branch_name(&context.slug, dependency);
    git::run(context.root(), &["branch", &branch, &base]).map(|_| ())
}

/// Merges the other dependencies' branches into the WP's worktree, each unless it is in already.
fn merge_into_worktree(context: &RunContext, wp: &WpId, dependencies: &[WpId]) -> Result<()> {
    let branch = branch_name(&context.slug, wp);
    let worktree = context.root().join(worktree_path(&branch));
    for dependency in dependencies {
        let theirs = branch_name(&context.slug, dependency);
        if git::is_merged(context.root(), &theirs, &branch) {
            continue;
        }
        let message = format!("Merge {theirs} into {branch} (orchestrate: {wp} depends on {dependency})");
        if let Err(error) = git::run(&worktree, &["merge", "--no-ff", "--no-edit", "-m", &message, &theirs]) {
            let _ = git::run(&worktree, &["merge", "--abort"]);
            return Err(anyhow!("{error:#}")).with_context(|| {
                format!("merging {theirs} into {branch} for {wp}; merge it by hand in {}", worktree.display())
            });
        }
    }
    Ok(())
}

/// Finishes the lane changes a killed run wrote into WP files but did not commit: the commands
/// themselves commit and announce them when asked for the lane the file shows. (A WP file changed for
/// another reason is left as it is: the command refuses a move to the lane it is in.)
pub fn finish_uncommitted_moves(context: &RunContext) -> Result<()> {
    let app = App { cwd: context.root().to_path_buf(), json: false, feature: Some(context.slug.clone()) };
    let lanes = context.lanes()?;
    for (wp, lane) in lanes {
        if !context.wp_file_uncommitted(&wp).unwrap_or(false) {
            continue;
        }
        let mut failure = FailureContext::default();
        let _ = match lane {
            Lane::Doing => commands::lifecycle::implement(&app, wp.as_str(), &mut failure),
            other => {
                let args = MoveTask { wp: wp.as_str(), to: other.as_str(), agent: None, note: None, force: false };
                commands::tasks::move_task(&app, args, &mut failure)
            }
        };
    }
    Ok(())
}
