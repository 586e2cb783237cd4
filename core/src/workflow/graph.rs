//! The dependency graph of a feature's work packages: checked once on construction (every
//! dependency exists, no cycles), then queried for order, what a finished WP unblocks, what is
//! ready to start and whether the feature is complete.

use std::collections::{BTreeMap, BTreeSet};

use super::Lane;
use crate::ids::WpId;

/// An acyclic graph of WPs in which every dependency is itself a WP of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyGraph {
    /// Each WP's direct dependencies, in declaration order, without duplicates.
    dependencies: BTreeMap<WpId, Vec<WpId>>,
    /// Each WP's direct dependents, sorted by id.
    dependents: BTreeMap<WpId, Vec<WpId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("{wp} depends on {missing}, which is not a work package of this feature")]
    UnknownDependency { wp: WpId, missing: WpId },
    #[error("dependency cycle: {}", join_path(path))]
    Cycle {
        /// Starts and ends with the same WP: `[WP02, WP03, WP02]`; `[WP04, WP04]` for a self-dependency.
        path: Vec<WpId>,
    },
}

/// The dependencies of a feature.
impl crate::error_kind::ErrorKind for GraphError {
    fn kind(&self) -> crate::events::ErrorType {
        crate::events::ErrorType::Validation
    }
}

fn join_path(path: &[WpId]) -> String {
    path.iter().map(WpId::as_str).collect::<Vec<_>>().join(" -> ")
}

impl DependencyGraph {
    /// Builds the graph from each WP and its dependencies. A WP listed twice has the union of its
    /// dependency lists. Errors name the first problem in id order, so they are reproducible.
    pub fn new(work_packages: impl IntoIterator<Item = (WpId, Vec<WpId>)>) -> Result<DependencyGraph, GraphError> {
        let mut dependencies: BTreeMap<WpId, Vec<WpId>> = BTreeMap::new();
        for (wp, wp_dependencies) in work_packages {
            let known = dependencies.entry(wp).or_default();
            for dependency in wp_dependencies {
                if !known.contains(&dependency) {
                    known.push(dependency);
                }
            }
        }

        let mut dependents: BTreeMap<WpId, Vec<WpId>> =
            dependencies.keys().map(|wp| (wp.clone(), Vec::new())).collect();
        for (wp, wp_dependencies) in &dependencies {
            for dependency in wp_dependencies {
                let Some(its_dependents) = dependents.get_mut(dependency) else {
                    return Err(GraphError::UnknownDependency { wp: wp.clone(), missing: dependency.clone() });
                };
                its_dependents.push(wp.clone()); // pushed in key order, so already sorted
            }
        }

        let graph = DependencyGraph { dependencies, dependents };
        match graph.find_cycle() {
            Some(path) => Err(GraphError::Cycle { path }),
            None => Ok(graph),
        }
    }

    pub fn len(&self) -> usize {
        self.dependencies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dependencies.is_empty()
    }

    pub fn contains(&self, wp: &WpId) -> bool {
        self.dependencies.contains_key(wp)
    }

    /// Every WP, sorted by id.
    pub fn work_packages(&self) -> impl Iterator<Item = &WpId> {
        self.dependencies.keys()
    }

    /// Direct dependencies in declaration order; empty for a WP not in the graph.
    pub fn dependencies_of(&self, wp: &WpId) -> &[WpId] {
        self.dependencies.get(wp).map_or(&[], Vec::as_slice)
    }

    /// The WPs that directly depend on `wp`, sorted by id.
    pub fn dependents_of(&self, wp: &WpId) -> &[WpId] {
        self.dependents.get(wp).map_or(&[], Vec::as_slice)
    }

    /// Every WP after all of its dependencies; among WPs free at the same time, lower ids first.
    pub fn topological_order(&self) -> Vec<WpId> {
        let mut waiting_on: BTreeMap<&WpId, usize> =
            self.dependencies.iter().map(|(wp, deps)| (wp, deps.len())).collect();
        let mut free: BTreeSet<&WpId> =
            waiting_on.iter().filter(|(_, count)| **count == 0).map(|(wp, _)| *wp).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(wp) = free.pop_first() {
            order.push(wp.clone());
            for dependent in self.dependents_of(wp) {
                if let Some(count) = waiting_on.get_mut(dependent) {
                    *count -= 1;
                    if *count == 0 {
                        free.insert(dependent);
                    }
                }
            }
        }
        order
    }

    /// The dependents of `finished` whose every dependency is now done, counting `finished` as done
    /// whatever `lanes` says (the caller may ask before recording the move). Sorted by id.
    pub fn unblocked_by(&self, finished: &WpId, lanes: &BTreeMap<WpId, Lane>) -> Vec<WpId> {
        self.dependents_of(finished)
            .iter()
            .filter(|dependent| {
                self.dependencies_of(dependent)
                    .iter()
                    .all(|dependency| dependency == finished || is_done(dependency, lanes))
            })
            .cloned()
            .collect()
    }

    /// Planned WPs whose dependencies are all done, sorted by id. A WP missing from `lanes` is planned.
    pub fn ready_to_start(&self, lanes: &BTreeMap<WpId, Lane>) -> Vec<WpId> {
        self.dependencies
            .iter()
            .filter(|(wp, _)| lane_of(wp, lanes) == Lane::Planned)
            .filter(|(_, dependencies)| dependencies.iter().all(|dependency| is_done(dependency, lanes)))
            .map(|(wp, _)| wp.clone())
            .collect()
    }

    /// Whether the feature has at least one WP and every WP is done.
    pub fn feature_complete(&self, lanes: &BTreeMap<WpId, Lane>) -> bool {
        !self.is_empty() && self.work_packages().all(|wp| is_done(wp, lanes))
    }

    /// A cycle as a path that returns to its start, found by depth-first search in id order.
    fn find_cycle(&self) -> Option<Vec<WpId>> {
        let mut finished = BTreeSet::new();
        let mut path = Vec::new();
        self.dependencies.keys().find_map(|start| self.cycle_from(start, &mut path, &mut finished))
    }

    fn cycle_from<'a>(
        &'a self,
        wp: &'a WpId,
        path: &mut Vec<&'a WpId>,
        finished: &mut BTreeSet<&'a WpId>,
    ) -> Option<Vec<WpId>> {
        if finished.contains(wp) {
            return None;
        }
        if let Some(at) = path.iter().position(|on_path| *on_path == wp) {
            let mut cycle: Vec<WpId> = path[at..].iter().map(|step| (*step).clone()).collect();
            cycle.push(wp.clone());
            return Some(cycle);
        }
        path.push(wp);
        let mut dependencies: Vec<&WpId> = self.dependencies_of(wp).iter().collect();
        dependencies.sort();
        // Recursion depth is bounded by the number of WPs, at most 100 (`WP00`..`WP99`).
        let cycle = dependencies.into_iter().find_map(|dependency| self.cycle_from(dependency, path, finished));
        path.pop();
        finished.insert(wp);
        cycle
    }
}

fn lane_of(wp: &WpId, lanes: &BTreeMap<WpId, Lane>) -> Lane {
    lanes.get(wp).copied().unwrap_or(Lane::Planned)
}

fn is_done(wp: &WpId, lanes: &BTreeMap<WpId, Lane>) -> bool {
    lane_of(wp, lanes) == Lane::Done
}

#[cfg(test)]
mod tests;
