//! The JSON form of the workflow types whose data is read through accessors (a WP file, a feature
//! plan, a dependency graph): their `Serialize` goes through these views, which list what the
//! accessors give as plain fields. The npm package and the plain-ABI module hand them over as they
//! are, and the parity tests compare them byte for byte with the native build's.

use super::{DependencyGraph, DependencyMismatch, FeaturePlan, FeatureWp, Lane, Subtask, WpFile};
use crate::ids::WpId;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A WP file: its typed frontmatter fields, its keys in file order, and its two parts as text.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WpFileView<'a> {
    pub work_package_id: &'a WpId,
    pub title: Option<String>,
    pub lane: Lane,
    pub dependencies: &'a [WpId],
    pub subtasks: &'a [String],
    pub phase: Option<String>,
    pub agent: Option<String>,
    pub assignee: Option<String>,
    pub shell_pid: Option<String>,
    pub review_status: Option<String>,
    pub reviewed_by: Option<String>,
    pub base_branch: Option<String>,
    pub base_commit: Option<String>,
    pub created_at: Option<String>,
    pub keys: Vec<&'a str>,
    /// The YAML text between the `---` lines.
    pub frontmatter: &'a str,
    /// The Markdown after the closing `---` line.
    pub body: &'a str,
}

impl<'a> WpFileView<'a> {
    pub fn new(file: &'a WpFile) -> Self {
        WpFileView {
            work_package_id: file.work_package_id(),
            title: file.title(),
            lane: file.lane(),
            dependencies: file.dependencies(),
            subtasks: file.subtasks(),
            phase: file.phase(),
            agent: file.agent(),
            assignee: file.assignee(),
            shell_pid: file.shell_pid(),
            review_status: file.review_status(),
            reviewed_by: file.reviewed_by(),
            base_branch: file.base_branch(),
            base_commit: file.base_commit(),
            created_at: file.created_at(),
            keys: file.keys().collect(),
            frontmatter: file.frontmatter(),
            body: file.body(),
        }
    }
}

impl Serialize for WpFile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WpFileView::new(self).serialize(s)
    }
}

/// A dependency graph: each WP's dependencies and dependents, and an order that respects them.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GraphView<'a> {
    /// Sorted by id.
    pub work_packages: Vec<&'a WpId>,
    pub dependencies: BTreeMap<&'a WpId, &'a [WpId]>,
    pub dependents: BTreeMap<&'a WpId, &'a [WpId]>,
    pub topological_order: Vec<WpId>,
}

impl<'a> GraphView<'a> {
    pub fn new(graph: &'a DependencyGraph) -> Self {
        let work_packages: Vec<&WpId> = graph.work_packages().collect();
        GraphView {
            dependencies: work_packages.iter().map(|wp| (*wp, graph.dependencies_of(wp))).collect(),
            dependents: work_packages.iter().map(|wp| (*wp, graph.dependents_of(wp))).collect(),
            topological_order: graph.topological_order(),
            work_packages,
        }
    }
}

impl Serialize for DependencyGraph {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        GraphView::new(self).serialize(s)
    }
}

/// One WP of a feature: its tasks.md section, its lane and file, and its merged dependencies.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeatureWpView<'a> {
    pub id: &'a WpId,
    pub title: &'a str,
    pub priority: Option<&'a str>,
    pub lane: Lane,
    /// tasks.md's, then any more the WP file's frontmatter adds.
    pub dependencies: &'a [WpId],
    pub subtasks: &'a [Subtask],
    /// The line of its tasks.md heading.
    pub line: usize,
    /// The WP file it was read from, if it has one yet.
    pub file_name: Option<&'a str>,
}

impl<'a> FeatureWpView<'a> {
    pub fn new(wp: &'a FeatureWp) -> Self {
        FeatureWpView {
            id: wp.id(),
            title: &wp.planned.title,
            priority: wp.planned.priority.as_deref(),
            lane: wp.lane(),
            dependencies: &wp.dependencies,
            subtasks: &wp.planned.subtasks,
            line: wp.planned.line,
            file_name: wp.file.as_ref().map(|loaded| loaded.file_name.as_str()),
        }
    }
}

/// A feature folder checked as a whole: tasks.md with its WP files, their graph and their state.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FeaturePlan"))]
pub struct FeaturePlanView<'a> {
    pub slug: &'a str,
    pub title: Option<&'a str>,
    /// Sorted by id: the WP files, and the WPs tasks.md defines without one.
    pub work_packages: Vec<FeatureWpView<'a>>,
    /// WPs tasks.md lists but no WP file declares yet.
    pub missing_wp_files: &'a [WpId],
    pub dependency_mismatches: Vec<DependencyMismatch>,
    pub lanes: BTreeMap<WpId, Lane>,
    pub ready_to_start: Vec<WpId>,
    pub complete: bool,
    pub graph: GraphView<'a>,
}

impl<'a> FeaturePlanView<'a> {
    pub fn new(plan: &'a FeaturePlan) -> Self {
        let lanes = plan.lanes();
        FeaturePlanView {
            slug: &plan.slug,
            title: plan.title.as_deref(),
            work_packages: plan.work_packages.iter().map(FeatureWpView::new).collect(),
            missing_wp_files: &plan.missing_wp_files,
            dependency_mismatches: plan.dependency_mismatches(),
            ready_to_start: plan.graph.ready_to_start(&lanes),
            complete: plan.is_complete(),
            lanes,
            graph: GraphView::new(&plan.graph),
        }
    }
}

impl Serialize for FeaturePlan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FeaturePlanView::new(self).serialize(s)
    }
}
