//! Carrying out a plan of the core: its outbox first (see [`crate::commands::outbox`]), its git
//! steps in order, its file edits through the repository's capability directory (committed, or
//! kept), then its events. Mechanics only: what to do was decided by the core
//! (`spec_kitty_core::workflow::plans`).

use crate::app::App;
use crate::commands::outbox::{Outbox, Pending};
use crate::emitter::{Draft, EmitReport, Emitter};
use crate::git;
use crate::project::Project;
use crate::project_edits::ProjectEdits;
use crate::repo_files::RepoFiles;
use anyhow::Result;
use serde_json::{Value, json};
use spec_kitty_core::Payload;
use spec_kitty_core::workflow::plans::{Changes, GitStep};
use std::path::{Path, PathBuf};

/// Writes the command's outbox, carries out the git steps, then writes the edits and commits them
/// (or keeps them uncommitted when the plan has no commit message). When the commit fails the files
/// are put back as they were (and the outbox is cleared). The [`Applied`] returned announces the
/// events; a command killed before it did leaves the outbox to the next one.
pub fn apply(project: &Project, files: &RepoFiles, command: &str, changes: &Changes) -> Result<Applied> {
    let outbox = Outbox::of(project);
    let pending = outbox.begin(files, command, changes)?;
    match write_and_commit(files, changes) {
        Ok(written) => Ok(Applied { written, pending }),
        Err(error) => {
            if pending.is_some() {
                outbox.clear();
            }
            Err(error)
        }
    }
}

/// A plan carried out, its events not announced yet.
#[must_use = "the events of the change are announced by `announce`"]
pub struct Applied {
    /// The files written, as paths outside the capability.
    pub written: Vec<PathBuf>,
    pending: Option<Pending>,
}

impl Applied {
    /// Queues the events with the ids the outbox holds, then clears it.
    pub fn announce(self, app: &App, project: &Project) -> Announced {
        match self.pending {
            Some(pending) => pending.announce(app, project),
            // No events; the emitter is made all the same, as it makes the project's identity.
            None => announce_with_ids(&mut app.emitter(project), Vec::new(), None),
        }
    }
}

fn write_and_commit(files: &RepoFiles, changes: &Changes) -> Result<Vec<PathBuf>> {
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

/// Emits events with the ids the outbox gave them (`cause`: the causation id of the shared ones).
pub fn announce_with_ids(
    emitter: &mut Emitter,
    events: Vec<(String, Payload, Option<String>)>,
    cause: Option<String>,
) -> Announced {
    let drafts = events.into_iter().map(|(id, payload, causation_id)| (id, Draft { payload, causation_id })).collect();
    Announced { cause, report: emitter.emit_with_ids(drafts) }
}

/// What [`announce_with_ids`] did: the shared causation id, and the emitter's report.
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
