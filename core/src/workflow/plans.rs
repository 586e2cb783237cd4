//! What each workflow command will do, decided from the feature and the facts a host gathered.
//!
//! A host (the CLI, `orchestrate`, a Node tool previewing a command) reads the feature folder and
//! the repository's state (branches and their tips, which are merged, which worktrees exist, the
//! time, the shell's pid), calls one function here, and carries out the plan it returns in order:
//! [`Changes::git_steps`], then [`Changes::edits`] (committed with [`Changes::commit_message`], or
//! kept uncommitted), then it emits [`Changes::events`]. Every decision (which lane a WP may move
//! to, which branch a WP starts from, which branches are merged and which WPs move after, when a
//! feature is complete, which events announce it) is made here, once, for every host.
//!
//! Paths in a plan are relative to the repository's root with `/` separators; the host keeps every
//! edit inside the repository (the CLI opens the root as a capability directory).
//!
//! One module per command: [`implement`], [`merge`], [`accept`], [`move_task`], [`mark_status`],
//! [`add_history`], [`finalize_tasks`]; [`layout`] names branches, worktrees and feature folders.

pub mod accept;
pub mod add_history;
mod error;
mod feature_folder;
pub mod finalize_tasks;
pub mod implement;
mod lane_moves;
pub mod layout;
pub mod mark_status;
pub mod merge;
pub mod move_task;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::events::Payload;

pub use error::PlanError;
pub use feature_folder::{FeatureChoice, FeatureFolder, FeatureReading, FeatureTexts, check_slug, choose_feature};
pub use layout::{branch_name, parse_branch_name, worktree_path};

/// What the host reads from the world for every plan that writes: the time and who is at the keyboard.
///
/// Facts and plans have serde forms (snake_case keys, as the wire's) so that a host without Rust
/// (the npm package, a Node tool previewing a command) hands the same facts in and gets the same
/// plan out; unknown keys in facts are refused rather than read as "no such fact".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Occasion {
    /// Unix milliseconds now.
    pub now_ms: u64,
    /// The pid of the shell the command runs in, recorded in WP files as upstream does.
    pub shell_pid: String,
}

/// The repository as the host found it before a plan. In its serde form every fact but the
/// current branch (which every plan that reads the repository needs) may be left out: an absent
/// one is empty (no branches, nothing merged, no worktrees).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepositoryFacts {
    /// How messages name the repository (its root's path).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub root_label: String,
    /// The branch checked out in the main working tree.
    pub current_branch: String,
    /// Every local branch and its tip commit.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub branch_tips: BTreeMap<String, String>,
    /// The local branches every commit of which is in the feature's target branch (only merge
    /// needs it; see [`FeatureFolder::target_branch`]).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub merged_into_target: BTreeSet<String>,
    /// The folders under `.worktrees/`, each with whether a worktree is checked out there (it has
    /// a `.git`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub worktrees: BTreeMap<String, bool>,
}

impl RepositoryFacts {
    pub fn has_branch(&self, branch: &str) -> bool {
        self.branch_tips.contains_key(branch)
    }
}

/// A file a plan rewrites whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileEdit {
    /// Relative to the repository's root, `/`-separated.
    pub path: String,
    pub text: String,
}

/// A git operation of a plan, carried out in order before the file edits. Its serde form is tagged
/// by `kind`: `{"kind": "add_worktree", "path": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum GitStep {
    /// Lists `pattern` in the repository's own `.git/info/exclude` (not the shared .gitignore).
    ExcludeLocally { pattern: String },
    /// `git worktree add` at `path` (relative to the root) for `branch`; the branch is created at
    /// `create_from` when given, else it exists already.
    AddWorktree { path: String, branch: String, create_from: Option<String> },
    /// Commits files already changed on disk: a run killed after its edit and before its commit is
    /// finished this way.
    CommitPaths { paths: Vec<String>, message: String },
}

/// How an event is tied to the others of its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Causation {
    /// No causation id.
    Alone,
    /// One user action with the plan's other `Shared` events: the host mints one causation id
    /// for all of them.
    Shared,
}

/// An event a plan announces: the payload the core's factory turns into an envelope.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventDraft {
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub payload: Payload,
    pub causation: Causation,
}

/// `{"event_type", "payload", "causation"}`: a payload alone does not say its type.
impl Serialize for EventDraft {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut draft = s.serialize_struct("EventDraft", 3)?;
        draft.serialize_field("event_type", &self.payload.event_type())?;
        draft.serialize_field("payload", &self.payload)?;
        draft.serialize_field("causation", &self.causation)?;
        draft.end()
    }
}

impl EventDraft {
    pub fn alone(payload: Payload) -> EventDraft {
        EventDraft { payload, causation: Causation::Alone }
    }
}

/// What a command changes, in the order the host carries it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Changes {
    /// First, in order; a failure stops the command before any edit.
    pub git_steps: Vec<GitStep>,
    /// Then these files are rewritten, all or none.
    pub edits: Vec<FileEdit>,
    /// The commit of the edited files; `None` keeps them uncommitted (add-history, mark-status).
    pub commit_message: Option<String>,
    /// Emitted once the edits are committed (or kept).
    pub events: Vec<EventDraft>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.git_steps.is_empty() && self.edits.is_empty() && self.events.is_empty()
    }
}
