//! Finding and reading a feature folder (`kitty-specs/NNN-slug/`) for the core to check.

use crate::app::invalid;
use crate::git;
use crate::project::Project;
use anyhow::{Context, Result, bail};
use spec_kitty_core::WpId;
use spec_kitty_core::workflow::feature::{FeatureMeta, FeaturePlan};
use spec_kitty_core::workflow::frontmatter::WpFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Feature {
    pub slug: String,
    pub dir: PathBuf,
    /// meta.json in either format; empty when the folder has none (see `meta_found`).
    pub meta: FeatureMeta,
    pub meta_found: bool,
    pub tasks_text: String,
    pub plan: FeaturePlan,
    /// Where each WP's file is, for those that have one.
    pub wp_paths: BTreeMap<WpId, PathBuf>,
}

impl Feature {
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join("meta.json")
    }

    pub fn tasks_path(&self) -> PathBuf {
        self.dir.join("tasks.md")
    }

    /// The branch WPs start from and merge into: meta.json's target branch when the repository has
    /// it, else the branch checked out now.
    pub fn target_branch(&self, root: &Path) -> Result<String> {
        match &self.meta.target_branch {
            Some(branch) if git::branch_exists(root, branch) => Ok(branch.clone()),
            _ => git::current_branch(root),
        }
    }

    pub fn wp_file(&self, wp: &WpId) -> Result<(PathBuf, WpFile)> {
        let Some(entry) = self.plan.work_package(wp) else {
            let known: Vec<String> = self.plan.work_packages.iter().map(|w| w.id().to_string()).collect();
            let message = format!("unknown work package {wp} in feature {} (it has {})", self.slug, known.join(", "));
            return Err(crate::app::invalid(message));
        };
        match (&entry.file, self.wp_paths.get(wp)) {
            (Some(loaded), Some(path)) => Ok((path.clone(), loaded.wp_file.clone())),
            _ => bail!("{wp} has no WP file in {}/tasks/ (run the tasks generator first)", self.dir.display()),
        }
    }
}

fn slugs(project: &Project) -> Result<Vec<String>> {
    let dir = project.specs_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(invalid(format!("no features: {} does not exist", dir.display())));
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut slugs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let path = e.path();
            path.join("tasks.md").is_file() || path.join("meta.json").is_file() || path.join("tasks").is_dir()
        })
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    slugs.sort();
    Ok(slugs)
}

/// `--feature`, else the feature the branch or folder names, else the only feature.
pub fn resolve_slug(project: &Project, cwd: &Path, requested: Option<&str>) -> Result<String> {
    let available = slugs(project)?;
    if let Some(slug) = requested {
        if available.iter().any(|s| s == slug) {
            return Ok(slug.to_string());
        }
        let message = format!("no feature `{slug}` in {} (found: {})", project.specs_dir().display(), list(&available));
        return Err(crate::app::invalid(message));
    }
    let branch = git::current_branch(cwd).unwrap_or_default();
    let cwd_text = cwd.to_string_lossy();
    let named_here = available.iter().filter(|slug| {
        branch == **slug
            || branch.starts_with(&format!("{slug}-WP"))
            || cwd_text.contains(&format!("/kitty-specs/{slug}"))
            || cwd_text.contains(&format!("/.worktrees/{slug}-WP"))
    });
    if let Some(slug) = named_here.max_by_key(|slug| slug.len()) {
        return Ok(slug.clone());
    }
    match available.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!("no features in {}", project.specs_dir().display()),
        several => Err(crate::app::invalid(format!(
            "several features ({}): choose one with --feature SLUG, or run from its branch or folder",
            list(several)
        ))),
    }
}

fn list(slugs: &[String]) -> String {
    if slugs.is_empty() { "none".into() } else { slugs.join(", ") }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A feature folder's texts as read, for the core to decide on.
pub struct FeatureTexts {
    pub dir: PathBuf,
    /// meta.json parsed (either format); `None` when the folder has none. A meta.json that is
    /// not JSON, or has a field of the wrong type or shape, is an error naming the file and field.
    pub meta: Option<FeatureMeta>,
    /// tasks.md as (path, text); `None` when the folder has none (it is optional, as upstream).
    pub tasks: Option<(String, String)>,
    /// The `tasks/WP*.md` files as (path, text), sorted by name.
    pub wp_files: Vec<(String, String)>,
}

impl FeatureTexts {
    /// tasks.md as the core takes it: (label, text).
    pub fn tasks(&self) -> Option<(&str, &str)> {
        self.tasks.as_ref().map(|(label, text)| (label.as_str(), text.as_str()))
    }
}

fn read_if_present(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Reads a feature folder's meta.json, tasks.md and WP files, without judging them.
pub fn read_texts(project: &Project, slug: &str) -> Result<FeatureTexts> {
    let dir = project.specs_dir().join(slug);
    let meta_path = dir.join("meta.json");
    let meta = match read_if_present(&meta_path)? {
        Some(text) => Some(FeatureMeta::parse(&meta_path.display().to_string(), &text)?),
        None => None,
    };
    let tasks_path = dir.join("tasks.md");
    let tasks = read_if_present(&tasks_path)?.map(|text| (tasks_path.display().to_string(), text));
    let mut wp_files = Vec::new();
    let tasks_dir = dir.join("tasks");
    if tasks_dir.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&tasks_dir)
            .with_context(|| format!("cannot read {}", tasks_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("WP") && name.ends_with(".md") && p.is_file()
            })
            .collect();
        paths.sort();
        for path in paths {
            wp_files.push((path.display().to_string(), read(&path)?));
        }
    }
    Ok(FeatureTexts { dir, meta, tasks, wp_files })
}

pub fn load(project: &Project, slug: &str) -> Result<Feature> {
    let texts = read_texts(project, slug)?;
    let tasks_path = texts.dir.join("tasks.md");
    let tasks_text = texts.tasks.as_ref().map(|(_, text)| text.clone()).unwrap_or_default();
    let plan = FeaturePlan::from_texts(slug, &tasks_path.display().to_string(), &tasks_text, &texts.wp_files)?;
    // Each WP file is named by its path, so the plan says where every WP lives.
    let wp_paths = plan
        .work_packages
        .iter()
        .filter_map(|wp| wp.file.as_ref().map(|loaded| (wp.id().clone(), PathBuf::from(&loaded.file_name))))
        .collect();
    let meta_found = texts.meta.is_some();
    let meta = texts.meta.unwrap_or_default();
    Ok(Feature { slug: slug.to_string(), dir: texts.dir, meta, meta_found, tasks_text, plan, wp_paths })
}
