//! A command's change and its events, kept in git's folder until both are done.
//!
//! A workflow command writes files, commits them, then queues its events. Killed in between
//! (SIGKILL, an OOM kill, a closed terminal's process group), it lost its events after the commit,
//! and before the commit left its edits staged with nothing to announce them: merge and accept saw
//! nothing left to do on the next run. So before any of it, the command writes its outbox: the files
//! as they were and as they will be, the commit, and its events with their ids minted already. The
//! outbox is removed once the events are queued. The next command (under the same project lock)
//! finds one left behind and finishes it: writes what was not written, commits what was not
//! committed, and queues the same events with the same ids (the queue and the hub keep an id once),
//! so nothing is lost and nothing is announced twice.

use crate::app::App;
use crate::commands::carry_out::{Announced, announce_with_ids};
use crate::commands::facts;
use crate::project::Project;
use crate::project_edits::ProjectEdits;
use crate::repo_files::RepoFiles;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spec_kitty_core::events::EventType;
use spec_kitty_core::ids::UlidGenerator;
use spec_kitty_core::workflow::plans::{Causation, Changes, GitStep};
use spec_kitty_core::{Payload, WpId};
use std::path::PathBuf;

const OUTBOX_FILE: &str = "spec-kitty-outbox.json";

/// What a command is about to do, as written before it starts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    /// The command, for messages.
    command: String,
    /// The commit the files are made with; `None` leaves them uncommitted (add-history, mark-status).
    commit_message: Option<String>,
    files: Vec<PendingFile>,
    /// The id the events marked `shared` carry as their causation.
    causation_id: Option<String>,
    events: Vec<PendingEvent>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PendingFile {
    /// Relative to the root.
    path: String,
    /// The text before the command (`None`: no such file, or a file the command only commits).
    before: Option<String>,
    after: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct PendingEvent {
    event_id: String,
    event_type: String,
    payload: Value,
    shared: bool,
}

/// The outbox of a repository: one file in its common git folder (shared by its worktrees, never
/// part of a commit).
pub struct Outbox {
    path: PathBuf,
}

impl Outbox {
    pub fn of(project: &Project) -> Outbox {
        Outbox { path: project.git_dir.join(OUTBOX_FILE) }
    }

    /// Writes what `command` is about to do with `changes` (nothing when it announces nothing: then
    /// there is nothing to lose).
    pub fn begin(&self, files: &RepoFiles, command: &str, changes: &Changes) -> Result<Option<Pending>> {
        if changes.events.is_empty() {
            return Ok(None);
        }
        let pending = Pending::new(files, command, changes)?;
        let text = serde_json::to_vec(&pending).context("cannot encode the command's outbox")?;
        // A kill -9 leaves the page cache: the rename alone makes it survive the process.
        crate::state::write_atomically_unsynced(&self.path, &text)?;
        Ok(Some(pending))
    }

    /// Forgets the outbox: its change was undone (a failed commit) or announced.
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn load(&self) -> Result<Option<Pending>> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        };
        match serde_json::from_slice(&text) {
            Ok(pending) => Ok(Some(pending)),
            Err(e) => {
                crate::errln!("warning: {} is not an outbox of this tool ({e}); it is removed", self.path.display());
                self.clear();
                Ok(None)
            }
        }
    }
}

impl Pending {
    fn new(files: &RepoFiles, command: &str, changes: &Changes) -> Result<Pending> {
        let mut pending_files = Vec::new();
        let mut commit_message = changes.commit_message.clone();
        for step in &changes.git_steps {
            // A commit of files already written (a start killed before its commit, finished now).
            if let GitStep::CommitPaths { paths, message } = step {
                for path in paths {
                    pending_files.push(PendingFile { path: path.clone(), before: None, after: files.read(path)? });
                }
                commit_message.get_or_insert_with(|| message.clone());
            }
        }
        for edit in &changes.edits {
            let before = files.read_optional(&edit.path)?;
            pending_files.push(PendingFile { path: edit.path.clone(), before, after: edit.text.clone() });
        }
        let mut ids = UlidGenerator::new();
        let mut next_id = || {
            let moment = crate::emitter::moment();
            ids.next(moment.unix_ms, moment.entropy).map(|id| id.to_string())
        };
        let shared = changes.events.iter().any(|draft| draft.causation == Causation::Shared);
        let causation_id = if shared { Some(next_id()?) } else { None };
        let mut events = Vec::new();
        for draft in &changes.events {
            events.push(PendingEvent {
                event_id: next_id()?,
                event_type: draft.payload.event_type().as_str().to_string(),
                payload: serde_json::to_value(&draft.payload)?,
                shared: draft.causation == Causation::Shared,
            });
        }
        Ok(Pending { command: command.to_string(), commit_message, files: pending_files, causation_id, events })
    }

    /// The events with their ids, and the causation id of the shared ones.
    fn drafts(&self) -> Result<Vec<(String, Payload, Option<String>)>> {
        self.events
            .iter()
            .map(|event| {
                let event_type = EventType::parse(&event.event_type)
                    .with_context(|| format!("unknown event type `{}` in the outbox", event.event_type))?;
                let payload = Payload::from_value(event_type, event.payload.clone())?;
                let cause = if event.shared { self.causation_id.clone() } else { None };
                Ok((event.event_id.clone(), payload, cause))
            })
            .collect()
    }

    /// Queues the events with their ids, then forgets the outbox.
    pub fn announce(self, app: &App, project: &Project) -> Announced {
        let drafts = match self.drafts() {
            Ok(drafts) => drafts,
            Err(e) => {
                // Written by this tool a moment ago: only a bug gets here; the change itself stands.
                crate::errln!("warning: the events of `{}` were not queued: {e:#}", self.command);
                Vec::new()
            }
        };
        let announced = announce_with_ids(&mut app.emitter(project), drafts, self.causation_id.clone());
        Outbox::of(project).clear();
        announced
    }
}

/// What the earlier command left and this one finished.
pub struct Finished {
    pub command: String,
    pub payloads: Vec<Payload>,
    pub announced: Announced,
}

impl Finished {
    /// The status change of `wp` the earlier command made, when it made one: (from, to).
    pub fn status_change_of(&self, wp: &WpId) -> Option<(spec_kitty_core::Lane, spec_kitty_core::Lane)> {
        self.payloads.iter().find_map(|payload| match payload {
            Payload::WpStatusChanged(change) if &change.wp_id == wp => {
                Some((change.previous_status, change.new_status))
            }
            _ => None,
        })
    }
}

/// Finishes the change an earlier command left in the outbox (killed before it was done): each file
/// is written when it is still as it was, committed when it is not yet, and the events are queued
/// with their ids. A command killed before its first edit is forgotten (it did nothing to finish). A
/// file changed since by someone else is not overwritten: then the earlier change is dropped with a
/// warning naming the file. Called under the project lock.
pub fn finish_earlier(app: &App, project: &Project, files: &RepoFiles) -> Result<Option<Finished>> {
    let outbox = Outbox::of(project);
    let Some(pending) = outbox.load()? else { return Ok(None) };
    let command = pending.command.clone();
    let committed_already = pending.commit_message.is_some()
        && pending.files.iter().all(|file| facts::committed_text(project, &file.path).as_deref() == Some(&file.after));
    if !committed_already {
        let context = || format!("finishing an earlier `{command}` that was killed before it was done");
        if let Some(changed) = changed_since(files, &pending)? {
            crate::errln!(
                "warning: an earlier `{command}` was killed before it was done, and {} has changed since: its change and its {} event(s) are dropped",
                files.label(&changed),
                pending.events.len()
            );
            outbox.clear();
            return Ok(None);
        }
        if !pending.files.is_empty() && !wrote_any(files, &pending)? {
            // Killed before its first edit: it changed nothing a rerun would not redo (its git
            // steps, a worktree, are the plan's to take up), and announced nothing.
            outbox.clear();
            return Ok(None);
        }
        if pending.commit_message.is_some() {
            project.require_branch(&command).with_context(context)?;
            project.require_no_merge_in_progress(&command).with_context(context)?;
        }
        let mut edits = ProjectEdits::new(files);
        for file in &pending.files {
            edits.write(&file.path, file.after.as_bytes()).with_context(context)?;
        }
        match &pending.commit_message {
            Some(message) => drop(edits.commit(message).with_context(context)?),
            None => edits.keep(),
        }
    }
    let payloads = pending.drafts().map(|drafts| drafts.into_iter().map(|(_, payload, _)| payload).collect());
    crate::errln!("note: finished an earlier `{command}` that was killed before it was done");
    let announced = pending.announce(app, project);
    Ok(Some(Finished { command, payloads: payloads.unwrap_or_default(), announced }))
}

/// Whether any file already holds the command's change (then it got to its edits).
fn wrote_any(files: &RepoFiles, pending: &Pending) -> Result<bool> {
    for file in &pending.files {
        let now = files.read_optional(&file.path)?;
        if now.as_deref() == Some(file.after.as_str()) && now != file.before {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The first file of the outbox that is neither as it was before the command nor as the command
/// would leave it: someone changed it since.
fn changed_since(files: &RepoFiles, pending: &Pending) -> Result<Option<String>> {
    for file in &pending.files {
        let now = files.read_optional(&file.path)?;
        if now.as_deref() != Some(file.after.as_str()) && now != file.before {
            return Ok(Some(file.path.clone()));
        }
    }
    Ok(None)
}
