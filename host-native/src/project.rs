//! The project being worked on: its git root, `.kittify/config.yaml` identity, and its features.

use crate::git;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use spec_kitty_core::ProjectIdentity;
use std::path::{Path, PathBuf};

pub struct Project {
    /// The main working tree, also when a command runs inside one of its worktrees.
    pub root: PathBuf,
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
        let root = git::main_worktree_root(cwd)
            .with_context(|| format!("{} is not inside a git repository (run `git init` first)", cwd.display()))?;
        Ok(Project { root })
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(".kittify").join("config.yaml")
    }

    pub fn specs_dir(&self) -> PathBuf {
        self.root.join("kitty-specs")
    }

    /// The repository's name as a slug: lowercased, `_` and spaces as `-`.
    pub fn default_slug(&self) -> String {
        let name = self.root.file_name().and_then(|n| n.to_str()).unwrap_or("project");
        name.to_lowercase().replace(['_', ' '], "-")
    }

    /// Reads the identity from `.kittify/config.yaml`; `None` when the file or its section is missing.
    pub fn identity(&self) -> Result<Option<ProjectIdentity>> {
        let path = self.config_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let config: KittifyConfig = if text.trim().is_empty() {
            KittifyConfig { project: None }
        } else {
            serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        };
        Ok(config.project.and_then(|p| match (p.uuid, p.slug) {
            (Some(uuid), Some(slug)) => Some(ProjectIdentity { uuid, slug }),
            _ => None,
        }))
    }

    /// Creates the project identity if it is missing; returns it and whether it was created.
    pub fn ensure_identity(&self, node_id: &str) -> Result<(ProjectIdentity, bool)> {
        if let Some(identity) = self.identity()? {
            return Ok((identity, false));
        }
        let path = self.config_path();
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        if existing.lines().any(|line| line.starts_with("project:")) {
            bail!("{}: the `project` section needs both `uuid` and `slug`", path.display());
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
        std::fs::create_dir_all(path.parent().unwrap_or(&self.root))
            .with_context(|| format!("cannot create {}", path.display()))?;
        crate::state::write_atomically(&path, text.as_bytes())?;
        Ok((identity, true))
    }
}
