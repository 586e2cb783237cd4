//! The plan `--dry-run` prints: the WPs still to do in waves, each wave the WPs whose dependencies are
//! all in earlier waves (or done already), lowest id first.

use crate::ids::WpId;
use crate::workflow::{DependencyGraph, Lane};
use std::collections::{BTreeMap, BTreeSet};

/// The WPs not done yet, in waves of dependency depth; a WP done already is in no wave.
pub fn waves(graph: &DependencyGraph, lanes: &BTreeMap<WpId, Lane>) -> Vec<Vec<WpId>> {
    let mut placed: BTreeSet<WpId> =
        graph.work_packages().filter(|wp| lanes.get(*wp) == Some(&Lane::Done)).cloned().collect();
    let mut waves = Vec::new();
    loop {
        let wave: Vec<WpId> = graph
            .work_packages()
            .filter(|wp| !placed.contains(*wp))
            .filter(|wp| graph.dependencies_of(wp).iter().all(|dependency| placed.contains(dependency)))
            .cloned()
            .collect();
        if wave.is_empty() {
            return waves; // the graph is acyclic, so every WP has been placed
        }
        placed.extend(wave.iter().cloned());
        waves.push(wave);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wp(id: &str) -> WpId {
        id.parse().expect("valid id")
    }

    #[test]
    fn the_028_shape_gives_four_waves_and_done_wps_drop_out() {
        let edges = [("WP01", vec![]), ("WP02", vec!["WP01"]), ("WP03", vec!["WP01"]), ("WP04", vec!["WP01"])];
        let edges = edges.into_iter().chain([("WP05", vec!["WP01"]), ("WP06", vec!["WP05"]), ("WP07", vec!["WP06"])]);
        let graph = DependencyGraph::new(edges.map(|(id, deps)| (wp(id), deps.into_iter().map(wp).collect())))
            .expect("acyclic");
        let ids = |waves: Vec<Vec<WpId>>| -> Vec<Vec<String>> {
            waves.into_iter().map(|wave| wave.into_iter().map(|w| w.to_string()).collect()).collect()
        };
        assert_eq!(
            ids(waves(&graph, &BTreeMap::new())),
            [vec!["WP01"], vec!["WP02", "WP03", "WP04", "WP05"], vec!["WP06"], vec!["WP07"]]
        );
        let lanes = BTreeMap::from([(wp("WP01"), Lane::Done), (wp("WP05"), Lane::Done)]);
        assert_eq!(ids(waves(&graph, &lanes)), [vec!["WP02", "WP03", "WP04", "WP06"], vec!["WP07"]]);
    }
}
