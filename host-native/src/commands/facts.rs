//! What the workflow commands gather from the world for the core's plans: the repository's
//! branches, merges and worktrees, the time and the shell. Gathering only: every decision on these
//! facts is the core's (`spec_kitty_core::workflow::plans`).

use crate::app::invalid;
use crate::git;
use crate::project::Project;
use anyhow::{Context, Result};
use spec_kitty_core::workflow::plans::layout::WORKTREES_DIR;
use spec_kitty_core::workflow::plans::{Occasion, RepositoryFacts};
use std::collections::{BTreeMap, BTreeSet};

/// The time and the shell the command runs in.
pub fn occasion() -> Occasion {
    Occasion { now_ms: crate::emitter::now_ms(), shell_pid: shell_pid() }
}

/// The pid of the shell that started the command (upstream records it in WP files).
pub fn shell_pid() -> String {
    #[cfg(unix)]
    return std::os::unix::process::parent_id().to_string();
    #[cfg(not(unix))]
    return std::process::id().to_string();
}

/// The repository's branches with their tips, and its worktree folders; `current_branch` is the
/// branch checked out in the main working tree (see [`Project::require_branch`]).
pub fn repository(project: &Project, current_branch: String) -> Result<RepositoryFacts> {
    let listing = git::run(&project.root, &["for-each-ref", "--format=%(refname)%00%(objectname)", "refs/heads/"])?;
    let branch_tips = listing
        .lines()
        .filter_map(|line| {
            let (name, tip) = line.split_once('\0')?;
            Some((name.strip_prefix("refs/heads/")?.to_string(), tip.to_string()))
        })
        .collect();
    Ok(RepositoryFacts {
        root_label: project.root.display().to_string(),
        current_branch,
        branch_tips,
        merged_into_target: BTreeSet::new(),
        worktrees: worktree_folders(project)?,
    })
}

/// The real folders under `.worktrees/`, each with whether a worktree is checked out there. A
/// `.worktrees` that is a link is refused: git would check worktrees out wherever it leads.
fn worktree_folders(project: &Project) -> Result<BTreeMap<String, bool>> {
    let folder = project.root.join(WORKTREES_DIR);
    let mut worktrees = BTreeMap::new();
    match std::fs::symlink_metadata(&folder) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(invalid(format!(
                "{} is a symbolic link; spec-kitty makes worktrees only in a real folder inside the repository",
                folder.display()
            )));
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(invalid(format!(
                "{} is not a folder; move it away so spec-kitty can make its worktrees there",
                folder.display()
            )));
        }
        Ok(_) => {}
        Err(_) => return Ok(worktrees),
    }
    for entry in std::fs::read_dir(&folder).with_context(|| format!("cannot read {}", folder.display()))?.flatten() {
        let (path, Ok(name)) = (entry.path(), entry.file_name().into_string()) else { continue };
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            worktrees.insert(name, path.join(".git").exists());
        }
    }
    Ok(worktrees)
}

/// The local branches every commit of which is in `target` (none when `target` has no commit).
pub fn merged_into(project: &Project, target: &str) -> BTreeSet<String> {
    let merged = format!("--merged={target}");
    git::run(&project.root, &["for-each-ref", &merged, "--format=%(refname)", "refs/heads/"])
        .map(|listing| {
            listing.lines().filter_map(|line| line.strip_prefix("refs/heads/")).map(str::to_string).collect()
        })
        .unwrap_or_default()
}

/// A file as the checked-out commit holds it (`relative` to the root); `None` when it holds none.
pub fn committed_text(project: &Project, relative: &str) -> Option<String> {
    git::run(&project.root, &["show", &format!("HEAD:{relative}")]).ok()
}
