//! A feature folder as the host read it, and which feature a command works on.

use super::layout::{self, slugs_named_by};
use super::{PlanError, RepositoryFacts};
use crate::ids::WpId;
use crate::workflow::feature::{FeatureMeta, FeaturePlan, GraphScope, wp_id_of_file_name};
use crate::workflow::frontmatter::WpFile;

/// A feature folder's texts as read, before any judgement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureTexts {
    pub slug: String,
    /// How messages name the folder (the host's path to it).
    pub dir_label: String,
    /// meta.json parsed (either format); `None` when the folder has none.
    pub meta: Option<FeatureMeta>,
    /// tasks.md as (label, text); `None` when the folder has none (it is optional, as upstream).
    pub tasks: Option<(String, String)>,
    /// The `tasks/WP*.md` files as (label, text), sorted by name; each label ends with the file's name.
    pub wp_files: Vec<(String, String)>,
}

impl FeatureTexts {
    /// tasks.md as the core's parsers take it: (label, text).
    pub fn tasks(&self) -> Option<(&str, &str)> {
        self.tasks.as_ref().map(|(label, text)| (label.as_str(), text.as_str()))
    }

    /// How messages name a file of the folder.
    pub fn label_of(&self, name: &str) -> String {
        format!("{}/{name}", self.dir_label)
    }
}

/// How much of a feature folder a command parses: its cost should not grow with the feature. A task
/// command on one WP parses that WP's file only; mark-status parses tasks.md only; the commands that
/// need the dependency graph or every lane (implement, merge, accept, finalize-tasks) parse it all.
/// The host still reads and checks every file of the folder (a link out of the repository, a pipe or
/// a huge file refuses any command on the feature), and meta.json is always parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureReading {
    Whole,
    /// meta.json and the files of `tasks/` that may be this WP's; not tasks.md.
    OneWp(WpId),
    /// meta.json and tasks.md, no WP file.
    TasksOnly,
}

impl FeatureReading {
    /// Whether the folder's tasks.md is read. meta.json always is: a broken one fails every command.
    pub fn reads_tasks_md(&self) -> bool {
        !matches!(self, FeatureReading::OneWp(_))
    }

    /// Whether a `tasks/WP*.md` file is read: for one WP, a file named after it, or one whose name
    /// names no WP (its frontmatter's `work_package_id` may be that WP's, as [`FeaturePlan::assemble`]
    /// reads it).
    pub fn reads_wp_file(&self, name: &str) -> bool {
        match self {
            FeatureReading::Whole => true,
            FeatureReading::TasksOnly => false,
            FeatureReading::OneWp(wp) => wp_id_of_file_name(name).is_none_or(|named| &named == wp),
        }
    }

    /// The part of a folder's texts this reading parses.
    pub fn select(&self, texts: &FeatureTexts) -> FeatureTexts {
        FeatureTexts {
            slug: texts.slug.clone(),
            dir_label: texts.dir_label.clone(),
            meta: texts.meta.clone(),
            tasks: texts.tasks.clone().filter(|_| self.reads_tasks_md()),
            wp_files: texts.wp_files.iter().filter(|(label, _)| self.reads_wp_file(label)).cloned().collect(),
        }
    }

    /// Whether a partial reading must be redone whole: the WP it was for was not found, and the whole
    /// folder names the WPs there are in the error.
    pub fn must_read_whole(&self, folder: &FeatureFolder) -> bool {
        match self {
            FeatureReading::OneWp(wp) => folder.wp_file(wp).is_err(),
            _ => false,
        }
    }
}

/// A feature folder read and checked: what every plan but finalize-tasks starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureFolder {
    pub slug: String,
    /// How messages name the folder (the host's path to it).
    pub dir_label: String,
    /// meta.json in either format; empty when the folder has none (see `meta_found`).
    pub meta: FeatureMeta,
    pub meta_found: bool,
    pub tasks_text: String,
    pub plan: FeaturePlan,
}

impl FeatureFolder {
    /// Checks the texts into a plan, as [`FeaturePlan::from_texts`] does (tasks.md may be absent).
    pub fn from_texts(texts: FeatureTexts) -> Result<FeatureFolder, PlanError> {
        FeatureFolder::from_texts_read(texts, &FeatureReading::Whole)
    }

    /// [`FeatureFolder::from_texts`] over the texts `reading` selected ([`FeatureReading::select`]). A
    /// folder read for one WP serves the plans of that WP's task commands only: its graph knows that WP
    /// alone.
    pub fn from_texts_read(texts: FeatureTexts, reading: &FeatureReading) -> Result<FeatureFolder, PlanError> {
        let scope = if matches!(reading, FeatureReading::OneWp(_)) { GraphScope::WpsRead } else { GraphScope::Whole };
        let tasks_label = texts.label_of("tasks.md");
        let tasks_text = texts.tasks.map(|(_, text)| text).unwrap_or_default();
        let plan = FeaturePlan::from_texts_in(scope, &texts.slug, &tasks_label, &tasks_text, &texts.wp_files)?;
        Ok(FeatureFolder {
            meta_found: texts.meta.is_some(),
            meta: texts.meta.unwrap_or_default(),
            slug: texts.slug,
            dir_label: texts.dir_label,
            tasks_text,
            plan,
        })
    }

    /// `kitty-specs/{slug}/meta.json`, relative to the root.
    pub fn meta_path(&self) -> String {
        layout::feature_file(&self.slug, "meta.json")
    }

    /// `kitty-specs/{slug}/tasks.md`, relative to the root.
    pub fn tasks_path(&self) -> String {
        layout::feature_file(&self.slug, "tasks.md")
    }

    /// How messages name tasks.md.
    pub fn tasks_label(&self) -> String {
        format!("{}/tasks.md", self.dir_label)
    }

    /// A WP's file: its path relative to the root, and the file as read.
    pub fn wp_file(&self, wp: &WpId) -> Result<(String, &WpFile), PlanError> {
        let Some(entry) = self.plan.work_package(wp) else {
            let known: Vec<&str> = self.plan.work_packages.iter().map(|w| w.id().as_str()).collect();
            return Err(PlanError::UnknownWp { wp: wp.clone(), slug: self.slug.clone(), known: known.join(", ") });
        };
        match &entry.file {
            Some(loaded) => Ok((layout::wp_file_path(&self.slug, &loaded.file_name), &loaded.wp_file)),
            None => Err(PlanError::NoWpFile { wp: wp.clone(), dir: self.dir_label.clone() }),
        }
    }

    /// The branch WPs start from and merge into: meta.json's target branch when the repository has
    /// it, else the branch checked out now.
    pub fn target_branch(&self, repository: &RepositoryFacts) -> String {
        match &self.meta.target_branch {
            Some(branch) if repository.has_branch(branch) => branch.clone(),
            _ => repository.current_branch.clone(),
        }
    }

    /// The branch of a WP of this feature.
    pub fn branch_of(&self, wp: &WpId) -> String {
        layout::branch_name(&self.slug, wp)
    }
}

/// Refuses a slug that is not one plain folder name: a `--feature ../x` never reaches a path.
pub fn check_slug(slug: &str) -> Result<(), PlanError> {
    let plain = !slug.is_empty()
        && slug != "."
        && slug != ".."
        && !slug.contains(['/', '\\', '\0'])
        && !slug.chars().any(char::is_control);
    if plain { Ok(()) } else { Err(PlanError::BadSlug(slug.to_string())) }
}

/// What the host knows when a command must pick its feature.
#[derive(Debug, Clone, Copy)]
pub struct FeatureChoice<'a> {
    /// The feature folders found, sorted.
    pub available: &'a [String],
    /// `--feature`, when given.
    pub requested: Option<&'a str>,
    /// The branch checked out where the command runs (empty when none).
    pub branch: &'a str,
    /// The folder the command runs in, `/`-separated.
    pub folder: &'a str,
    /// How messages name `kitty-specs/`.
    pub specs_label: &'a str,
}

/// `--feature`, else the feature the branch or folder names (the longest, when several do), else
/// the only feature.
pub fn choose_feature(choice: FeatureChoice<'_>) -> Result<String, PlanError> {
    let list = |slugs: &[String]| if slugs.is_empty() { "none".into() } else { slugs.join(", ") };
    if let Some(slug) = choice.requested {
        check_slug(slug)?;
        if choice.available.iter().any(|s| s == slug) {
            return Ok(slug.to_string());
        }
        return Err(PlanError::NoSuchFeature {
            slug: slug.to_string(),
            specs_dir: choice.specs_label.to_string(),
            found: list(choice.available),
        });
    }
    let named = slugs_named_by(choice.available, choice.branch, choice.folder);
    if let Some(slug) = named.into_iter().max_by_key(|slug| slug.len()) {
        return Ok(slug.clone());
    }
    match choice.available {
        [only] => Ok(only.clone()),
        [] => Err(PlanError::NoFeatures { specs_dir: choice.specs_label.to_string() }),
        several => Err(PlanError::SeveralFeatures { found: list(several) }),
    }
}
