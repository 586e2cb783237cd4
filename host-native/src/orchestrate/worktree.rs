//! A WP's worktree around an agent's try: made ready before it starts (back from its branch when an
//! agent removed it, back on its branch when an agent switched it), and looked at when it ends, so the
//! core can tell whether the try's work is committed on the WP's branch
//! ([`spec_kitty_core::orchestrate::WorktreeFacts`]).

use super::setup::RunContext;
use crate::git;
use anyhow::{Context, Result, anyhow};
use spec_kitty_core::WpId;
use spec_kitty_core::orchestrate::WorktreeFacts;

/// Makes sure the WP's worktree is there and on the WP's branch before an agent starts in it.
pub fn prepare(context: &RunContext, wp: &WpId) -> Result<()> {
    let worktree = context.worktree(wp);
    let branch = context.branch(wp);
    let path = worktree.display().to_string();
    if !worktree.join(".git").exists() {
        if worktree.exists() {
            return Err(anyhow!("{path} is there but is not a git worktree (remove it, then --resume)"));
        }
        if !git::branch_exists(context.root(), &branch) {
            return Err(anyhow!("its worktree {path} is missing, and so is its branch {branch}"));
        }
        // An agent removed it: the work committed on its branch comes back with it.
        git::run(context.root(), &["worktree", "prune"]).context("git worktree prune")?;
        git::run(context.root(), &["worktree", "add", &path, &branch])
            .with_context(|| format!("its worktree {path} is missing and could not be made again"))?;
        return Ok(());
    }
    let current = git::current_branch(&worktree)?;
    if current != branch {
        // An earlier try switched it (that try failed for it): the next works on the WP's branch.
        git::run(&worktree, &["checkout", "--quiet", &branch])
            .with_context(|| format!("its worktree {path} is on {current}, and cannot be put back on {branch}"))?;
    }
    Ok(())
}

/// The worktree as an agent left it: there or not, its branch, its tracked files changed and not
/// committed. A git command that fails reads as a detached HEAD / nothing changed, so the core judges
/// what it can.
pub fn facts(context: &RunContext, wp: &WpId) -> WorktreeFacts {
    let worktree = context.worktree(wp);
    if !worktree.join(".git").exists() {
        return WorktreeFacts { present: false, branch: None, uncommitted: Vec::new() };
    }
    let branch = git::current_branch(&worktree).ok().filter(|branch| branch != "HEAD");
    let uncommitted = git::run(&worktree, &["diff", "HEAD", "--name-only", "--no-renames"])
        .map(|names| names.lines().filter(|line| !line.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    WorktreeFacts { present: true, branch, uncommitted }
}
