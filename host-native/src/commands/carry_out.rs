//! Carrying out a plan of the core: its git steps in order, its file edits through the
//! repository's capability directory (committed, or kept), then its events. Mechanics only: what to
//! do was decided by the core (`spec_kitty_core::workflow::plans`).

use crate::emitter::{Draft, EmitReport, Emitter};
use crate::git;
use crate::project_edits::ProjectEdits;
use crate::repo_files::RepoFiles;
use anyhow::Result;
use serde_json::{Value, json};
use spec_kitty_core::workflow::plans::{Causation, Changes, EventDraft, GitStep};
use std::path::{Path, PathBuf};

/// Carries out the git steps, then writes the edits and commits them (or keeps them uncommitted
/// when the plan has no commit message). When the commit fails the files are put back as they
/// were. Returns the files written.
pub fn apply(files: &RepoFiles, changes: &Changes) -> Result<Vec<PathBuf>> {
    let root = files.root();
    for step in &changes.git_steps {
        run_step(root, files, step)?;
    }
    let mut edits = ProjectEdits::new(files);
    for edit in &changes.edits {
        edits.write(&edit.path, edit.text.as_bytes())?;
    }
    let written = edits.paths();
    match &changes.commit_message {
        Some(message) => {
            edits.commit(message)?;
        }
        None => edits.keep(),
    }
    Ok(written)
}

fn run_step(root: &Path, files: &RepoFiles, step: &GitStep) -> Result<()> {
    match step {
        GitStep::ExcludeLocally { pattern } => git::exclude_locally(root, pattern),
        GitStep::AddWorktree { path, branch, create_from } => {
            // git follows links: the folders it checks out into must be real ones inside the root.
            if let Some((parent, _)) = path.rsplit_once('/') {
                files.ensure_real_dir(parent)?;
            }
            if files.symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
                anyhow::bail!(
                    "{} is a symbolic link; spec-kitty checks worktrees out only into real folders inside the repository",
                    files.label(path)
                );
            }
            let path = files.label(path);
            match create_from {
                Some(base) => git::run(root, &["worktree", "add", "-b", branch, &path, base]),
                None => git::run(root, &["worktree", "add", &path, branch]),
            }
            .map(drop)
        }
        GitStep::CommitPaths { paths, message } => {
            let paths: Vec<PathBuf> = paths.iter().map(|path| files.path(path)).collect();
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            git::commit_paths(root, &refs, message).map(drop)
        }
    }
}

/// Emits the plan's events; those marked [`Causation::Shared`] share one causation id, minted here.
pub fn announce(emitter: &mut Emitter, events: &[EventDraft]) -> Announced {
    let cause =
        events.iter().any(|draft| draft.causation == Causation::Shared).then(|| emitter.causation_id()).flatten();
    let drafts = events
        .iter()
        .map(|draft| Draft {
            payload: draft.payload.clone(),
            causation_id: (draft.causation == Causation::Shared).then(|| cause.clone()).flatten(),
        })
        .collect();
    Announced { cause, report: emitter.emit(drafts) }
}

/// What [`announce`] did: the shared causation id, and the emitter's report.
pub struct Announced {
    pub cause: Option<String>,
    pub report: EmitReport,
}

impl Announced {
    /// For the command's JSON report: the ids of the events queued, and the emitter's warnings
    /// (also printed on stderr).
    pub fn to_json(&self) -> Value {
        let queued: Vec<&str> = self.report.queued.iter().map(|event| event.event_id.as_str()).collect();
        json!({"queued": queued, "warnings": self.report.warnings})
    }
}
