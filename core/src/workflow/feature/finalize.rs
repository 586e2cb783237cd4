//! What `finalize-tasks` decides from a feature folder's texts, as upstream does it: the WPs are
//! the WP files (`tasks/WP*.md`, the id from the file name); tasks.md is optional and only
//! supplies dependencies, by the compatibility rule; each WP file's frontmatter gets those
//! dependencies written; each WP gets a WPCreated.
//!
//! Refused, naming the WPs: only a dependency cycle, a self-dependency, or a reference to a WP no
//! tasks.md section defines. Everything else that upstream passes over is a note or a warning:
//! - a WP file whose frontmatter cannot be read is skipped with a warning (as upstream does);
//! - tasks.md sections without a WP file, WP files without a section, several files for one WP;
//! - a dependency line mentioning WPs the rule did not take (see `dependency_notes`);
//! - dependencies replaced in a WP file's frontmatter (old -> new).

use std::collections::BTreeSet;

use serde::Serialize;

use super::choose_title;
use crate::events::WpCreated;
use crate::ids::WpId;
use crate::workflow::Lane;
use crate::workflow::frontmatter::WpFile;
use crate::workflow::tasks_md::dependency_notes::untaken_mentions;
use crate::workflow::tasks_md::{TasksError, parse_tasks_md, read_dependencies};

/// finalize-tasks' decisions for one feature folder (serialised in a finalize-tasks plan).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finalization {
    /// One per readable WP file, in file-name order.
    pub work_packages: Vec<FinalizedWp>,
    /// Helpful remarks (without a `note:` prefix): nothing was refused because of them.
    pub notes: Vec<String>,
    /// Things skipped (without a `warning:` prefix): unreadable WP files.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FinalizedWp {
    pub id: WpId,
    /// The name the host gave the file (usually its path).
    pub file_name: String,
    /// The frontmatter's `title`, else tasks.md's heading, else the id.
    pub title: String,
    pub lane: Lane,
    /// What tasks.md's rule gives: sorted, without duplicates.
    pub dependencies: Vec<WpId>,
    /// The file's new text, when its frontmatter had no `dependencies` key or different ones.
    pub new_text: Option<String>,
}

fn join(ids: &[WpId]) -> String {
    ids.iter().map(WpId::as_str).collect::<Vec<_>>().join(", ")
}

impl Finalization {
    /// `tasks` is tasks.md as (label for errors, text), `None` when the folder has none;
    /// `wp_files` are the `tasks/WP*.md` files as (name, text). Files whose name does not start
    /// with a WP id are not WP files and are passed over.
    pub fn from_texts(tasks: Option<(&str, &str)>, wp_files: &[(String, String)]) -> Result<Finalization, TasksError> {
        let (label, text) = tasks.unwrap_or(("tasks.md", ""));
        let rule = read_dependencies(text);
        rule.check(label)?;
        let structure = parse_tasks_md(label, text)?;

        let mut files: Vec<&(String, String)> = wp_files.iter().collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut finalization = Finalization { work_packages: Vec::new(), notes: Vec::new(), warnings: Vec::new() };
        for (name, file_text) in files {
            let Some(id) = super::wp_id_of_file_name(name) else { continue };
            let mut wp_file = match WpFile::parse(name, file_text) {
                Ok(wp_file) => wp_file,
                Err(error) => {
                    finalization
                        .warnings
                        .push(format!("{id} left out (no dependencies written, no WPCreated): {error}"));
                    continue;
                }
            };
            let dependencies = rule.dependencies_of(&id).map(<[WpId]>::to_vec).unwrap_or_default();
            let tasks_title = structure.work_package(&id).map_or("", |planned| planned.title.as_str());
            let title = choose_title(wp_file.title().as_deref(), tasks_title, &id);
            let had_key = wp_file.value("dependencies").is_some();
            let previous = wp_file.dependencies().to_vec();
            let mut new_text = None;
            if !had_key || previous != dependencies {
                match wp_file.set_dependencies(&dependencies) {
                    Ok(()) => new_text = Some(wp_file.to_text()),
                    Err(error) => finalization.warnings.push(format!("{name}: dependencies not written: {error}")),
                }
                let as_set = |ids: &[WpId]| ids.iter().cloned().collect::<BTreeSet<_>>();
                if had_key && as_set(&previous) != as_set(&dependencies) {
                    finalization.notes.push(format!(
                        "{id}: dependencies in {name} replaced: [{}] -> [{}] (from tasks.md)",
                        join(&previous),
                        join(&dependencies)
                    ));
                }
            }
            finalization.work_packages.push(FinalizedWp {
                id,
                file_name: name.clone(),
                title,
                lane: wp_file.lane(),
                dependencies,
                new_text,
            });
        }
        finalization.add_structure_notes(
            tasks.is_some(),
            &structure.work_packages.iter().map(|wp| wp.id.clone()).collect(),
            &rule,
        );
        finalization.notes.extend(untaken_mentions(text, &rule).iter().map(ToString::to_string));
        Ok(finalization)
    }

    fn add_structure_notes(
        &mut self,
        has_tasks_md: bool,
        planned: &BTreeSet<WpId>,
        rule: &crate::workflow::tasks_md::RuleReading,
    ) {
        let with_file: BTreeSet<WpId> = self.work_packages.iter().map(|wp| wp.id.clone()).collect();
        let mut repeated: Vec<WpId> = self
            .work_packages
            .windows(2)
            .filter(|pair| pair[0].id == pair[1].id)
            .map(|pair| pair[0].id.clone())
            .collect();
        repeated.dedup();
        if !repeated.is_empty() {
            self.notes.push(format!("several WP files for {}: every one is finalized", join(&repeated)));
        }
        let without_file: Vec<WpId> = planned.difference(&with_file).cloned().collect();
        if !without_file.is_empty() {
            self.notes.push(format!(
                "tasks.md lists {} with no WP file in tasks/: no WPCreated for {}",
                join(&without_file),
                if without_file.len() == 1 { "it" } else { "them" }
            ));
        }
        if !has_tasks_md {
            if !with_file.is_empty() {
                self.notes.push("there is no tasks.md: no WP gets dependencies".to_string());
            }
            return;
        }
        let without_section: Vec<WpId> = with_file.iter().filter(|wp| !rule.defines(wp)).cloned().collect();
        if !without_section.is_empty() {
            let (verb, them) = if without_section.len() == 1 { ("has", "it") } else { ("have", "them") };
            self.notes.push(format!(
                "{} {verb} no `## Work Package WPxx` section in tasks.md, so no dependencies are read for {them}",
                join(&without_section)
            ));
        }
    }

    /// The WPCreated payload of each WP, in file-name order.
    pub fn wp_created(&self, feature_slug: &str) -> Vec<WpCreated> {
        self.work_packages
            .iter()
            .map(|wp| WpCreated {
                wp_id: wp.id.clone(),
                title: wp.title.clone(),
                dependencies: wp.dependencies.clone(),
                feature_slug: feature_slug.to_string(),
            })
            .collect()
    }
}
