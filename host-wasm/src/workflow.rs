//! The workflow model for any host ([`Arg`]): tasks.md, WP files, whole feature folders and the
//! dependency graph.

use crate::args::{self, Arg, Error};
use serde::{Deserialize, Serialize};
use spec_kitty_core::ids::WpId;
use spec_kitty_core::workflow::{DependencyGraph, FeaturePlan, Lane, TasksPlan, WpFile, parse_tasks_md};
use std::collections::BTreeMap;

/// The text to parse, and the label errors give it (`default` when none is passed).
fn text_and_label<A: Arg>(text: &A, label: &A, default: &str) -> Result<(String, String), Error> {
    let text = args::string("text", text)?;
    let label = args::optional_string("sourceLabel", label)?;
    Ok((text, label.unwrap_or_else(|| default.to_string())))
}

/// Parses tasks.md, leniently (a heading it does not understand is no error); dependencies by upstream's
/// finalize-tasks rule. `sourceLabel` (default `tasks.md`) is what errors name as the file.
pub fn parse_tasks<A: Arg>(text: &A, source_label: &A) -> Result<TasksPlan, Error> {
    let (text, label) = text_and_label(text, source_label, "tasks.md")?;
    parse_tasks_md(&label, &text).map_err(Error::from_display)
}

/// Parses a WP file: YAML frontmatter, then the Markdown body. `sourceLabel` (default `WP.md`) is what
/// errors name as the file. Its view serialises to what the hosts answer.
pub fn parse_wp_file<A: Arg>(text: &A, source_label: &A) -> Result<WpFile, Error> {
    let (text, label) = text_and_label(text, source_label, "WP.md")?;
    WpFile::parse(&label, &text).map_err(Error::from_display)
}

/// Checks a feature folder as a whole (unknown or duplicate files, dependency refs, cycles) and answers
/// with its plan, graph and state.
pub fn load_feature<A: Arg>(files: &A) -> Result<FeaturePlan, Error> {
    let files: FeatureFiles = args::from_arg("files", files)?;
    assemble(&files).map_err(Error::new)
}

/// One WP and its dependencies, as in a `TasksPlan` or `FeaturePlan` entry.
#[derive(Deserialize)]
struct GraphEntry {
    id: WpId,
    #[serde(default)]
    dependencies: Vec<WpId>,
}

/// The dependency graph of a feature's work packages, checked on construction (every dependency is a
/// WP of the graph, no cycles).
pub struct Graph {
    pub graph: DependencyGraph,
}

fn wp_id<A: Arg>(field: &str, value: &A) -> Result<WpId, Error> {
    args::string(field, value)?.parse().map_err(|e| Error::field(field, e))
}

/// A WP's lane by id; absent is no lanes (every WP planned).
fn lanes<A: Arg>(value: &A) -> Result<BTreeMap<WpId, Lane>, Error> {
    if value.is_absent() { Ok(BTreeMap::new()) } else { args::from_arg("lanes", value) }
}

impl Graph {
    /// Builds the graph from `[{id, dependencies}]`. An unknown dependency or a cycle is an error naming them.
    pub fn new<A: Arg>(work_packages: &A) -> Result<Graph, Error> {
        let entries: Vec<GraphEntry> = args::from_arg("workPackages", work_packages)?;
        let graph =
            DependencyGraph::new(entries.into_iter().map(|e| (e.id, e.dependencies))).map_err(Error::from_display)?;
        Ok(Graph { graph })
    }

    /// Every WP, sorted by id.
    pub fn work_packages(&self) -> Vec<&WpId> {
        self.graph.work_packages().collect()
    }

    /// Direct dependencies in declaration order; `[]` for a WP not in the graph.
    pub fn dependencies_of<A: Arg>(&self, wp: &A) -> Result<&[WpId], Error> {
        Ok(self.graph.dependencies_of(&wp_id("wp", wp)?))
    }

    /// The WPs that directly depend on `wp`, sorted by id.
    pub fn dependents_of<A: Arg>(&self, wp: &A) -> Result<&[WpId], Error> {
        Ok(self.graph.dependents_of(&wp_id("wp", wp)?))
    }

    /// Every WP after all of its dependencies; among WPs free at the same time, lower ids first.
    pub fn topological_order(&self) -> Vec<WpId> {
        self.graph.topological_order()
    }

    /// The dependents of `finished` whose every dependency is now done (`finished` counts as done
    /// whatever `lanes` says). A WP missing from `lanes` is planned.
    pub fn unblocked_by<A: Arg>(&self, finished: &A, lanes_by_wp: &A) -> Result<Vec<WpId>, Error> {
        Ok(self.graph.unblocked_by(&wp_id("finished", finished)?, &lanes(lanes_by_wp)?))
    }

    /// Planned WPs whose dependencies are all done, sorted by id.
    pub fn ready_to_start<A: Arg>(&self, lanes_by_wp: &A) -> Result<Vec<WpId>, Error> {
        Ok(self.graph.ready_to_start(&lanes(lanes_by_wp)?))
    }

    /// Whether the graph has at least one WP and every WP is done.
    pub fn feature_complete<A: Arg>(&self, lanes_by_wp: &A) -> Result<bool, Error> {
        Ok(self.graph.feature_complete(&lanes(lanes_by_wp)?))
    }

    /// `{work_packages, dependencies, dependents, topological_order}`.
    pub fn view(&self) -> &DependencyGraph {
        &self.graph
    }
}

/// A feature folder as the host read it: tasks.md and the WP files, each with the name it has.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureFiles {
    pub slug: String,
    pub tasks_md: String,
    /// What errors about tasks.md name as the file; default `tasks.md`.
    #[serde(default)]
    pub tasks_label: Option<String>,
    #[serde(default)]
    pub wp_files: Vec<NamedText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedText {
    pub file_name: String,
    pub text: String,
}

/// Parses and assembles a feature folder through the core; an error is the core's message, which
/// names the file.
pub fn assemble(files: &FeatureFiles) -> Result<FeaturePlan, String> {
    let label = files.tasks_label.as_deref().unwrap_or("tasks.md");
    let wp_files: Vec<(String, String)> =
        files.wp_files.iter().map(|f| (f.file_name.clone(), f.text.clone())).collect();
    FeaturePlan::from_texts(&files.slug, label, &files.tasks_md, &wp_files).map_err(|e| e.to_string())
}
