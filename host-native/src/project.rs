//! The project being worked on: its git root, `.kittify/config.yaml` identity, and its features.

use crate::app::invalid;
use crate::file_lock;
use crate::git;
use crate::repo_files::RepoFiles;
use anyhow::{Context, Result};
use serde::Deserialize;
use spec_kitty_core::ProjectIdentity;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct Project {
    /// The main working tree, also when a command runs inside one of its worktrees.
    pub root: PathBuf,
    /// The repository's common git folder (`.git` of the main working tree), shared by its worktrees.
    pub git_dir: PathBuf,
}

/// How long a command waits for another spec-kitty command working on the same repository: 60 s, or
/// the milliseconds in this variable.
pub const LOCK_TIMEOUT_ENV: &str = "SPEC_KITTY_LOCK_TIMEOUT_MS";
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

const KITTIFY_DIR: &str = ".kittify";
/// The project's identity, relative to the root.
const CONFIG_PATH: &str = ".kittify/config.yaml";

/// Held while a command reads, changes and commits the project's files; released on drop (or by
/// the kernel when the process dies, so a killed command never leaves it taken).
pub struct ProjectLock {
    _file: File,
}

#[derive(Deserialize)]
struct KittifyConfig {
    project: Option<ProjectSection>,
}

#[derive(Deserialize)]
struct ProjectSection {
    uuid: Option<String>,
    slug: Option<String>,
}

impl Project {
    pub fn discover(cwd: &Path) -> Result<Project> {
        let (root, git_dir) = git::main_worktree_root(cwd)
            .with_context(|| format!("{} is not inside a git repository (run `git init` first)", cwd.display()))?;
        Ok(Project { root, git_dir })
    }

    /// Serialises the commands of this tool on one repository (all its worktrees): each one's
    /// read-modify-write of a project file and its commit happen while no other runs, so no note,
    /// checkbox or lane change is lost and no commit trips over another's `index.lock`. The wait is
    /// bounded; then the command fails before it changed anything.
    pub fn lock(&self) -> Result<ProjectLock> {
        let path = self.git_dir.join("spec-kitty.lock");
        let file = file_lock::open(&path)?;
        let wait = file_lock::wait_from_env(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT);
        file_lock::lock_until(&file, &path, Instant::now() + wait)
            .with_context(|| format!("the repository is busy; try again ({LOCK_TIMEOUT_ENV} sets the wait)"))?;
        // Under the lock no other command of ours is writing, so any temp file of ours is a leftover
        // of a killed one: remove it before `git add` could ever pick it up.
        self.sweep_leftover_temp_files();
        Ok(ProjectLock { _file: file })
    }

    /// The branch checked out in the main working tree, where this tool commits; a detached HEAD is
    /// refused, since a commit there would be lost to every branch.
    pub fn require_branch(&self, command: &str) -> Result<String> {
        let head_path = self.git_dir.join("HEAD");
        let head =
            std::fs::read_to_string(&head_path).with_context(|| format!("cannot read {}", head_path.display()))?;
        match head.trim().strip_prefix("ref: refs/heads/") {
            Some(branch) => Ok(branch.to_string()),
            None => {
                // A rebase detaches HEAD: say what is under way rather than only that HEAD is detached.
                self.require_no_merge_in_progress(command)?;
                Err(invalid(format!(
                    "HEAD of {} is detached (at {}): check out a branch (e.g. the feature's target branch) before `{command}`",
                    self.root.display(),
                    head.trim().chars().take(12).collect::<String>()
                )))
            }
        }
    }

    /// Refuses to start while a merge (the user's, or one a killed command left) is in progress in
    /// the main working tree: merging or committing on top of it would conclude or destroy it.
    /// A cherry-pick, revert or rebase is refused alike: a commit of ours on top of it would fail
    /// half-way (after a worktree was made) or become part of it.
    pub fn require_no_merge_in_progress(&self, command: &str) -> Result<()> {
        let root = self.root.display();
        match self.operation_in_progress() {
            None => Ok(()),
            Some("merge") => Err(invalid(format!(
                "a merge is in progress in {root}: finish it (git commit) or abort it (git merge --abort) before `{command}`"
            ))),
            Some(operation) => Err(invalid(format!(
                "a {operation} is in progress in {root}: finish it (git {operation} --continue) or abort it (git {operation} --abort) before `{command}`"
            ))),
        }
    }

    /// The git operation under way in the main working tree, as git marks it in its folder.
    fn operation_in_progress(&self) -> Option<&'static str> {
        [
            ("MERGE_HEAD", "merge"),
            ("CHERRY_PICK_HEAD", "cherry-pick"),
            ("REVERT_HEAD", "revert"),
            ("rebase-merge", "rebase"),
            ("rebase-apply", "rebase"),
        ]
        .into_iter()
        .find(|(marker, _)| self.git_dir.join(marker).exists())
        .map(|(_, operation)| operation)
    }

    fn sweep_leftover_temp_files(&self) {
        let specs = self.specs_dir();
        // Only real folders: a link (a cloned repository's) could lead the sweep outside the repository.
        let real_dir = |path: &Path| std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir());
        let mut dirs: Vec<PathBuf> =
            Some(self.root.join(".kittify")).filter(|kittify| real_dir(kittify)).into_iter().collect();
        if let Ok(features) = std::fs::read_dir(&specs) {
            for feature in features.flatten().map(|entry| entry.path()).filter(|path| real_dir(path)) {
                let tasks = feature.join("tasks");
                if real_dir(&tasks) {
                    dirs.push(tasks);
                }
                dirs.push(feature);
            }
        }
        for dir in dirs {
            crate::state::remove_leftover_temp_files(&dir, None);
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_PATH)
    }

    pub fn specs_dir(&self) -> PathBuf {
        self.root.join("kitty-specs")
    }

    /// The repository's name as a slug: lowercased, `_` and spaces as `-`.
    pub fn default_slug(&self) -> String {
        let name = self.root.file_name().and_then(|n| n.to_str()).unwrap_or("project");
        name.to_lowercase().replace(['_', ' '], "-")
    }

    /// Reads the identity from `.kittify/config.yaml`; `None` when the file or its section is
    /// missing; an error naming the field when a value would make every event invalid.
    pub fn identity(&self) -> Result<Option<ProjectIdentity>> {
        let path = self.config_path();
        // Through the repository's capability: a `.kittify` that links outside is refused.
        let Some(text) = RepoFiles::open(&self.root)?.read_optional(CONFIG_PATH)? else { return Ok(None) };
        let config: KittifyConfig = if text.trim().is_empty() {
            KittifyConfig { project: None }
        } else {
            let one_line = |e: serde_yaml::Error| e.to_string().replace('\n', " ");
            serde_yaml::from_str(&text).map_err(|e| invalid(format!("{}: {}", path.display(), one_line(e))))?
        };
        match config.project {
            Some(ProjectSection { uuid: Some(uuid), slug: Some(slug) }) => {
                ProjectIdentity::checked(uuid, slug).map(Some).map_err(|e| invalid(format!("{}: {e}", path.display())))
            }
            _ => Ok(None),
        }
    }

    /// Creates the project identity if it is missing; returns it and whether it was created.
    pub fn ensure_identity(&self, node_id: &str) -> Result<(ProjectIdentity, bool)> {
        if let Some(identity) = self.identity()? {
            return Ok((identity, false));
        }
        let path = self.config_path();
        let files = RepoFiles::open(&self.root)?;
        let existing = files.read_optional(CONFIG_PATH)?.unwrap_or_default();
        if existing.lines().any(|line| line.starts_with("project:")) {
            return Err(invalid(format!("{}: the `project` section needs both `uuid` and `slug`", path.display())));
        }
        let identity = ProjectIdentity { uuid: uuid::Uuid::new_v4().to_string(), slug: self.default_slug() };
        let mut text = existing;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "project:\n  uuid: {}\n  slug: {}\n  node_id: {}\n",
            identity.uuid, identity.slug, node_id
        ));
        files.ensure_real_dir(KITTIFY_DIR)?;
        files.write_atomically(CONFIG_PATH, text.as_bytes())?;
        Ok((identity, true))
    }
}
