//! A feature folder (`kitty-specs/NNN-slug/` or a mission's `kitty-specs/some-slug-01M07E9P/`) as
//! the host read it: meta.json, tasks.md and the WP files, combined into one plan with its
//! dependency graph.
//!
//! The work packages are the WP files (`tasks/WP*.md`, the id from the file name as upstream takes
//! it, else from the frontmatter), plus the WPs tasks.md defines that have no file yet. tasks.md
//! supplies titles, subtasks and, by the compatibility rule ([`super::tasks_md::dependency_rule`]),
//! dependencies; a WP file without a section, or a section without a file, is no error.
//! [`finalize::Finalization`] is what `finalize-tasks` decides from the same texts.

pub mod finalize;
mod meta;

use std::collections::{BTreeMap, BTreeSet};

use super::Lane;
use super::frontmatter::{FrontmatterError, WpFile};
use super::graph::{DependencyGraph, GraphError};
use super::tasks_md::{PlannedWp, TasksError, TasksPlan, parse_tasks_md};
use crate::ids::WpId;

pub use finalize::{Finalization, FinalizedWp};
pub use meta::{FeatureMeta, FeatureMetaError, is_numbered_slug};

/// tasks.md and the WP files of one feature, checked against each other.
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturePlan {
    pub slug: String,
    /// The title of tasks.md.
    pub title: Option<String>,
    /// Sorted by id: each WP with a file, and each WP tasks.md defines without one.
    pub work_packages: Vec<FeatureWp>,
    /// WPs tasks.md defines but no WP file declares. Not an error: a feature can be planned in
    /// tasks.md before its `tasks/` folder is generated.
    pub missing_wp_files: Vec<WpId>,
    /// WPs with a file but no section in tasks.md (or no tasks.md). Not an error either.
    pub wp_files_without_section: Vec<WpId>,
    pub graph: DependencyGraph,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureWp {
    /// Its section of tasks.md; for a WP with a file but no section, one made from the file
    /// (its title, no subtasks, line 0).
    pub planned: PlannedWp,
    pub file: Option<LoadedWpFile>,
    /// The WP file's frontmatter `dependencies` when it has the key (what finalize-tasks wrote,
    /// and what upstream's other commands read), else what tasks.md's rule gives.
    pub dependencies: Vec<WpId>,
}

/// A WP file and the name the host found it under.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedWpFile {
    pub file_name: String,
    pub wp_file: WpFile,
}

/// A WP whose dependencies differ between tasks.md and its file's frontmatter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DependencyMismatch {
    pub wp: WpId,
    pub in_tasks_md: Vec<WpId>,
    pub in_frontmatter: Vec<WpId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    #[error("{file}: declares {wp}, which {other_file} already declares")]
    DuplicateWpFile { file: String, other_file: String, wp: WpId },
    #[error("feature {slug}: {error}")]
    Graph { slug: String, error: GraphError },
}

/// A feature folder's files disagree.
impl crate::error_kind::ErrorKind for FeatureError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
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

/// A feature folder's file cannot be read as one.
impl crate::error_kind::ErrorKind for FeatureLoadError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

/// What the dependency graph of a [`FeaturePlan`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphScope {
    /// Every dependency: the host read the whole folder, and one on a WP it lacks is an error.
    Whole,
    /// The dependencies among the WPs read: a command that read one WP's file (and plans nothing
    /// from the graph) is not refused for a dependency on a WP it did not read.
    WpsRead,
}

/// The WP id a file name starts with (`WP03-some-title.md` gives WP03), as upstream's
/// `re.match(r"(WP\d{2})", name)` takes it; `name` may be a path.
pub fn wp_id_of_file_name(name: &str) -> Option<WpId> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.get(..4)?.parse().ok()
}

impl FeaturePlan {
    /// Parses and assembles a feature from the texts a host read: tasks.md (called `tasks_label` in
    /// errors; empty when the folder has none) and each WP file as (name, text). Every host loads
    /// a feature through this one path.
    pub fn from_texts(
        slug: &str,
        tasks_label: &str,
        tasks_md: &str,
        wp_files: &[(String, String)],
    ) -> Result<FeaturePlan, FeatureLoadError> {
        FeaturePlan::from_texts_in(GraphScope::Whole, slug, tasks_label, tasks_md, wp_files)
    }

    /// [`FeaturePlan::from_texts`] over what a host read of the folder (see [`GraphScope`]).
    pub fn from_texts_in(
        scope: GraphScope,
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
        Ok(FeaturePlan::assemble_in(scope, slug, tasks, parsed)?)
    }

    /// Combines a parsed tasks.md with the WP files the host read (file name, parsed file).
    pub fn assemble(
        slug: &str,
        tasks: TasksPlan,
        wp_files: Vec<(String, WpFile)>,
    ) -> Result<FeaturePlan, FeatureError> {
        FeaturePlan::assemble_in(GraphScope::Whole, slug, tasks, wp_files)
    }

    fn assemble_in(
        scope: GraphScope,
        slug: &str,
        tasks: TasksPlan,
        wp_files: Vec<(String, WpFile)>,
    ) -> Result<FeaturePlan, FeatureError> {
        let mut files_by_wp: BTreeMap<WpId, LoadedWpFile> = BTreeMap::new();
        for (file_name, wp_file) in wp_files {
            let wp = wp_id_of_file_name(&file_name).unwrap_or_else(|| wp_file.work_package_id().clone());
            if let Some(earlier) = files_by_wp.get(&wp) {
                return Err(FeatureError::DuplicateWpFile {
                    file: file_name,
                    other_file: earlier.file_name.clone(),
                    wp,
                });
            }
            files_by_wp.insert(wp, LoadedWpFile { file_name, wp_file });
        }

        let mut planned_by_wp: BTreeMap<WpId, PlannedWp> =
            tasks.work_packages.into_iter().map(|wp| (wp.id.clone(), wp)).collect();
        let ids: BTreeSet<WpId> = files_by_wp.keys().chain(planned_by_wp.keys()).cloned().collect();
        let mut missing_wp_files = Vec::new();
        let mut wp_files_without_section = Vec::new();
        let mut work_packages = Vec::with_capacity(ids.len());
        for id in ids {
            let file = files_by_wp.remove(&id);
            let planned = match (planned_by_wp.remove(&id), &file) {
                (Some(planned), Some(_)) => planned,
                (Some(planned), None) => {
                    missing_wp_files.push(id);
                    planned
                }
                (None, Some(loaded)) => {
                    wp_files_without_section.push(id.clone());
                    let title = loaded.wp_file.title().unwrap_or_default().trim().to_string();
                    PlannedWp { id, title, priority: None, subtasks: Vec::new(), dependencies: Vec::new(), line: 0 }
                }
                (None, None) => continue, // not reachable: every id came from one of the two
            };
            let dependencies = match &file {
                Some(loaded) if loaded.wp_file.value("dependencies").is_some() => {
                    loaded.wp_file.dependencies().to_vec()
                }
                _ => planned.dependencies.clone(),
            };
            work_packages.push(FeatureWp { planned, file, dependencies });
        }

        let read: BTreeSet<&WpId> = work_packages.iter().map(|wp| &wp.planned.id).collect();
        let edges = work_packages.iter().map(|wp| {
            let dependencies = match scope {
                GraphScope::Whole => wp.dependencies.clone(),
                GraphScope::WpsRead => wp.dependencies.iter().filter(|d| read.contains(d)).cloned().collect(),
            };
            (wp.planned.id.clone(), dependencies)
        });
        let graph =
            DependencyGraph::new(edges).map_err(|error| FeatureError::Graph { slug: slug.to_string(), error })?;
        Ok(FeaturePlan {
            slug: slug.to_string(),
            title: tasks.title,
            work_packages,
            missing_wp_files,
            wp_files_without_section,
            graph,
        })
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

    /// WPs whose tasks.md and frontmatter dependencies differ (as sets), in id order; a
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

    /// The WP file's `title` as upstream takes it, else the tasks.md heading's title, else the id.
    pub fn title(&self) -> String {
        let from_file = self.file.as_ref().and_then(|loaded| loaded.wp_file.title());
        choose_title(from_file.as_deref(), &self.planned.title, &self.planned.id)
    }
}

/// The first non-blank of the frontmatter title and the tasks.md title, trimmed; else the id.
pub(crate) fn choose_title(from_file: Option<&str>, from_tasks_md: &str, id: &WpId) -> String {
    [from_file.unwrap_or(""), from_tasks_md]
        .iter()
        .map(|title| title.trim())
        .find(|title| !title.is_empty())
        .unwrap_or(id.as_str())
        .to_string()
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

    fn wps(ids: &[&str]) -> Vec<WpId> {
        ids.iter().map(|id| id.parse().expect("valid id")).collect()
    }

    #[test]
    fn files_add_lanes_and_dependencies() {
        let files = vec![wp_file("tasks/WP02-two.md", "WP02", "doing", "[WP01]")];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        assert_eq!(feature.missing_wp_files, wps(&["WP01"]));
        assert_eq!(feature.lanes().values().copied().collect::<Vec<_>>(), [Lane::Planned, Lane::Doing]);
        assert!(!feature.is_complete());
        assert!(feature.dependency_mismatches().is_empty());
        assert_eq!(feature.graph.ready_to_start(&feature.lanes()), wps(&["WP01"]));
    }

    #[test]
    fn the_frontmatter_key_wins_over_tasks_md_and_mismatches_are_reported() {
        let files = vec![
            wp_file("tasks/WP01-one.md", "WP01", "done", "[]"),
            wp_file("tasks/WP02-two.md", "WP02", "done", "[]"),
        ];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        assert!(feature.is_complete());
        assert!(feature.graph.dependencies_of(&wps(&["WP02"])[0]).is_empty(), "the file's [] wins");
        let mismatches = feature.dependency_mismatches();
        assert_eq!(mismatches.len(), 1);
        assert_eq!(mismatches[0].wp.as_str(), "WP02");
        assert!(mismatches[0].in_frontmatter.is_empty());

        // A file without the key takes tasks.md's.
        let text = "---\nwork_package_id: WP02\n---\nBody\n";
        let files = vec![("tasks/WP02-two.md".to_string(), WpFile::parse("x", text).expect("parses"))];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        assert_eq!(feature.graph.dependencies_of(&wps(&["WP02"])[0]), wps(&["WP01"]).as_slice());

        let files = vec![wp_file("tasks/WP01-one.md", "WP01", "planned", "[WP02]")];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("WP01 <-> WP02");
        assert_eq!(err.to_string(), "feature 029-x: dependency cycle: WP01 -> WP02 -> WP01");
    }

    #[test]
    fn a_file_without_a_section_is_a_wp_and_duplicates_are_errors_naming_the_file() {
        let files = vec![wp_file("tasks/WP03-extra.md", "WP03", "planned", "[]")];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("WP03 is not planned, still a WP");
        assert_eq!(feature.wp_files_without_section, wps(&["WP03"]));
        assert_eq!(
            feature.work_packages.iter().map(|wp| wp.id().as_str()).collect::<Vec<_>>(),
            ["WP01", "WP02", "WP03"]
        );
        assert_eq!(feature.work_package(&wps(&["WP03"])[0]).map(FeatureWp::title).as_deref(), Some("WP03"));

        let files = vec![
            wp_file("tasks/WP01-a.md", "WP01", "planned", "[]"),
            wp_file("tasks/WP01-b.md", "WP01", "planned", "[]"),
        ];
        let err = FeaturePlan::assemble("029-x", plan(), files).expect_err("two files for WP01");
        assert_eq!(err.to_string(), "tasks/WP01-b.md: declares WP01, which tasks/WP01-a.md already declares");
    }

    #[test]
    fn the_id_comes_from_the_file_name_as_upstream_takes_it() {
        assert_eq!(wp_id_of_file_name("kitty-specs/x/tasks/WP07-tests.md"), Some(wps(&["WP07"])[0].clone()));
        assert_eq!(wp_id_of_file_name("WP1-x.md"), None);
        assert_eq!(wp_id_of_file_name("notes.md"), None);
        let files = vec![wp_file("tasks/WP02-two.md", "WP09", "planned", "[WP01]")];
        let feature = FeaturePlan::assemble("029-x", plan(), files).expect("consistent");
        assert!(feature.work_package(&wps(&["WP02"])[0]).is_some_and(|wp| wp.file.is_some()));
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
        // No tasks.md at all, and headings upstream would not split at: still a feature.
        let plan = FeaturePlan::from_texts("x", "tasks.md", "## Work Package Summary\n#### WP1: x\n", &[]).unwrap();
        assert!(plan.work_packages.is_empty());
    }
}
