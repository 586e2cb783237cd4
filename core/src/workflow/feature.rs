//! A feature folder (`kitty-specs/NNN-slug/`) as the host read it: meta.json, tasks.md and the WP
//! files, combined into one checked plan with its dependency graph.

mod meta;

use std::collections::{BTreeMap, BTreeSet};

use super::Lane;
use super::frontmatter::{FrontmatterError, WpFile};
use super::graph::{DependencyGraph, GraphError};
use super::tasks_md::{PlannedWp, TasksError, TasksPlan, parse_tasks_md};
use crate::ids::WpId;

pub use meta::{FeatureMeta, FeatureMetaError};

/// tasks.md and the WP files of one feature, checked against each other.
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePlan {
    pub slug: String,
    /// The title of tasks.md.
    pub title: Option<String>,
    /// In tasks.md order.
    pub work_packages: Vec<FeatureWp>,
    /// WPs tasks.md lists but no WP file declares. Not an error: a feature can be planned in
    /// tasks.md before its `tasks/` folder is generated.
    pub missing_wp_files: Vec<WpId>,
    pub graph: DependencyGraph,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureWp {
    /// Its section of tasks.md.
    pub planned: PlannedWp,
    pub file: Option<LoadedWpFile>,
    /// tasks.md's dependencies, then any more the WP file's frontmatter adds.
    pub dependencies: Vec<WpId>,
}

/// A WP file and the name the host found it under.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedWpFile {
    pub file_name: String,
    pub wp_file: WpFile,
}

/// A WP whose dependencies differ between tasks.md and its file's frontmatter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyMismatch {
    pub wp: WpId,
    pub in_tasks_md: Vec<WpId>,
    pub in_frontmatter: Vec<WpId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    #[error("{file}: declares {wp}, which tasks.md does not list")]
    UnlistedWpFile { file: String, wp: WpId },
    #[error("{file}: declares {wp}, which {other_file} already declares")]
    DuplicateWpFile { file: String, other_file: String, wp: WpId },
    #[error("feature {slug}: {error}")]
    Graph { slug: String, error: GraphError },
}

/// Why a feature folder's texts do not make a plan; each message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureLoadError {
    #[error(transparent)]
    Tasks(#[from] TasksError),
    #[error(transparent)]
    WpFile(#[from] FrontmatterError),
    #[error(transparent)]
    Feature(#[from] FeatureError),
}

impl FeaturePlan {
    /// Parses and assembles a feature from the texts a host read: tasks.md (called `tasks_label` in
    /// errors) and each WP file as (name, text). Every host loads a feature through this one path.
    pub fn from_texts(
        slug: &str,
        tasks_label: &str,
        tasks_md: &str,
        wp_files: &[(String, String)],
    ) -> Result<FeaturePlan, FeatureLoadError> {
        let tasks = parse_tasks_md(tasks_label, tasks_md)?;
        let parsed = wp_files
            .iter()
            .map(|(name, text)| WpFile::parse(name, text).map(|file| (name.clone(), file)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FeaturePlan::assemble(slug, tasks, parsed)?)
    }

    /// Combines a parsed tasks.md with the WP files the host read (file name, parsed file).
    /// Dependencies are the union of tasks.md's and each file's frontmatter's.
    pub fn assemble(
        slug: &str,
        tasks: TasksPlan,
        wp_files: Vec<(String, WpFile)>,
    ) -> Result<FeaturePlan, FeatureError> {
        let mut files_by_wp: BTreeMap<WpId, LoadedWpFile> = BTreeMap::new();
        for (file_name, wp_file) in wp_files {
            let wp = wp_file.work_package_id().clone();
            if tasks.work_package(&wp).is_none() {
                return Err(FeatureError::UnlistedWpFile { file: file_name, wp });
            }
            if let Some(earlier) = files_by_wp.get(&wp) {
                return Err(FeatureError::DuplicateWpFile {
                    file: file_name,
                    other_file: earlier.file_name.clone(),
                    wp,
                });
            }
            files_by_wp.insert(wp, LoadedWpFile { file_name, wp_file });
        }

        let mut missing_wp_files = Vec::new();
        let mut work_packages = Vec::with_capacity(tasks.work_packages.len());
        for planned in tasks.work_packages {
            let file = files_by_wp.remove(&planned.id);
            let mut dependencies = planned.dependencies.clone();
            match &file {
                Some(loaded) => {
                    for dependency in loaded.wp_file.dependencies() {
                        if !dependencies.contains(dependency) {
                            dependencies.push(dependency.clone());
                        }
                    }
                }
                None => missing_wp_files.push(planned.id.clone()),
            }
            work_packages.push(FeatureWp { planned, file, dependencies });
        }

        let edges = work_packages.iter().map(|wp| (wp.planned.id.clone(), wp.dependencies.clone()));
        let graph =
            DependencyGraph::new(edges).map_err(|error| FeatureError::Graph { slug: slug.to_string(), error })?;
        Ok(FeaturePlan { slug: slug.to_string(), title: tasks.title, work_packages, missing_wp_files, graph })
    }

    pub fn work_package(&self, id: &WpId) -> Option<&FeatureWp> {
        self.work_packages.iter().find(|wp| &wp.planned.id == id)
    }

    /// Every WP's lane, as its file says (planned when it has no file yet).
    pub fn lanes(&self) -> BTreeMap<WpId, Lane> {
        self.work_packages.iter().map(|wp| (wp.planned.id.clone(), wp.lane())).collect()
    }

    /// Whether the feature has WPs and all are done.
    pub fn is_complete(&self) -> bool {
        self.graph.feature_complete(&self.lanes())
    }

    /// WPs whose tasks.md and frontmatter dependencies differ (as sets), in tasks.md order; a
    /// finalize step would rewrite those frontmatters.
    pub fn dependency_mismatches(&self) -> Vec<DependencyMismatch> {
        self.work_packages
            .iter()
            .filter_map(|wp| {
                let in_frontmatter = wp.file.as_ref()?.wp_file.dependencies();
                let planned: BTreeSet<&WpId> = wp.planned.dependencies.iter().collect();
                let declared: BTreeSet<&WpId> = in_frontmatter.iter().collect();
                (planned != declared).then(|| DependencyMismatch {
                    wp: wp.planned.id.clone(),
                    in_tasks_md: wp.planned.dependencies.clone(),
                    in_frontmatter: in_frontmatter.to_vec(),
                })
            })
            .collect()
    }
}

impl FeatureWp {
    pub fn id(&self) -> &WpId {
        &self.planned.id
    }

    /// The lane its file says; planned when it has no file yet.
    pub fn lane(&self) -> Lane {
        self.file.as_ref().map_or(Lane::Planned, |loaded| loaded.wp_file.lane())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::tasks_md::parse_tasks_md;

    const TASKS: &str = "# Plan\n\n## Work Package WP01: One\n\n## Work Package WP02: Two\nDepends on WP01\n";

    fn wp_file(name: &str, id: &str, lane: &str, dependencies: &str) -> (String, WpFile) {
        let text = format!("---\nwork_package_id: {id}\nlane: {lane}\ndependencies: {dependencies}\n---\nBody\n");
        let file = WpFile::parse(name, &text).expect("test WP file parses");
        (name.to_string(), file)
    }

    fn plan() -> TasksPlan {
        parse_tasks_md("tasks.md", TASKS).expect("test plan parses")
    }

    #[test]
    fn files_add_lanes_and_dependencies() {
        let files = vec![wp_file("tasks/WP02-two.md", "WP02", "doing", "[WP01]")];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        let wp01: WpId = "WP01".parse().expect("valid id");
        assert_eq!(feature.missing_wp_files, vec![wp01.clone()]);
        assert_eq!(feature.lanes().values().copied().collect::<Vec<_>>(), [Lane::Planned, Lane::Doing]);
        assert!(!feature.is_complete());
        assert!(feature.dependency_mismatches().is_empty());
        assert_eq!(feature.graph.ready_to_start(&feature.lanes()), vec![wp01]);
    }

    #[test]
    fn frontmatter_dependencies_are_unioned_and_mismatches_reported() {
        let files = vec![
            wp_file("tasks/WP01-one.md", "WP01", "done", "[]"),
            wp_file("tasks/WP02-two.md", "WP02", "done", "[]"),
        ];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        assert!(feature.is_complete());
        let mismatches = feature.dependency_mismatches();
        assert_eq!(mismatches.len(), 1);
        assert_eq!(mismatches[0].wp.as_str(), "WP02");
        assert!(mismatches[0].in_frontmatter.is_empty());

        let files = vec![wp_file("tasks/WP01-one.md", "WP01", "planned", "[WP02]")];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("WP01 <-> WP02");
        assert_eq!(err.to_string(), "feature 029-x: dependency cycle: WP01 -> WP02 -> WP01");
    }

    #[test]
    fn unlisted_and_duplicate_files_are_errors_naming_the_file() {
        let files = vec![wp_file("tasks/WP03-extra.md", "WP03", "planned", "[]")];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("WP03 is not planned");
        assert_eq!(err.to_string(), "tasks/WP03-extra.md: declares WP03, which tasks.md does not list");

        let files = vec![
            wp_file("tasks/WP01-a.md", "WP01", "planned", "[]"),
            wp_file("tasks/WP01-b.md", "WP01", "planned", "[]"),
        ];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("two files for WP01");
        assert_eq!(err.to_string(), "tasks/WP01-b.md: declares WP01, which tasks/WP01-a.md already declares");
    }

    #[test]
    fn an_unknown_frontmatter_dependency_fails_the_graph() {
        let files = vec![wp_file("tasks/WP02-two.md", "WP02", "planned", "[WP01, WP07]")];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("WP07 unknown");
        assert_eq!(err.to_string(), "feature 029-x: WP02 depends on WP07, which is not a work package of this feature");
    }

    #[test]
    fn from_texts_parses_and_assembles_and_names_the_broken_file() {
        let wp01 =
            ("tasks/WP01-one.md".to_string(), "---\nwork_package_id: WP01\nlane: doing\n---\nBody\n".to_string());
        let plan = FeaturePlan::from_texts("028-x", "tasks.md", TASKS, std::slice::from_ref(&wp01)).unwrap();
        assert_eq!(plan.lanes()[&"WP01".parse::<WpId>().unwrap()], Lane::Doing);
        assert_eq!(plan.missing_wp_files, vec!["WP02".parse::<WpId>().unwrap()]);
        let broken = ("tasks/WP02-two.md".to_string(), "---\nwork_package_id: [\n---\n".to_string());
        let err = FeaturePlan::from_texts("028-x", "tasks.md", TASKS, &[wp01, broken]).unwrap_err();
        assert!(matches!(err, FeatureLoadError::WpFile(_)));
        assert!(err.to_string().starts_with("tasks/WP02-two.md"), "{err}");
        let err = FeaturePlan::from_texts("028-x", "k/tasks.md", "## Work Package WP1: x\n", &[]).unwrap_err();
        assert!(err.to_string().starts_with("k/tasks.md:1"), "{err}");
    }
}
