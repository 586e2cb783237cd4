use super::*;
use proptest::prelude::*;

fn wp(id: &str) -> WpId {
    id.parse().expect("valid WP id in test")
}

fn wps(ids: &[&str]) -> Vec<WpId> {
    ids.iter().map(|id| wp(id)).collect()
}

fn graph(edges: &[(&str, &[&str])]) -> Result<DependencyGraph, GraphError> {
    DependencyGraph::new(edges.iter().map(|(id, deps)| (wp(id), wps(deps))))
}

fn lanes(entries: &[(&str, Lane)]) -> BTreeMap<WpId, Lane> {
    entries.iter().map(|(id, lane)| (wp(id), *lane)).collect()
}

/// The shape of fixture 028: WP01 first, WP02..WP05 on it, then WP06 on WP05 and WP07 on WP06.
fn feature_028() -> DependencyGraph {
    graph(&[
        ("WP07", &["WP06"]),
        ("WP01", &[]),
        ("WP02", &["WP01"]),
        ("WP03", &["WP01"]),
        ("WP04", &["WP01"]),
        ("WP05", &["WP01"]),
        ("WP06", &["WP05"]),
    ])
    .expect("acyclic")
}

#[test]
fn order_puts_dependencies_first_and_breaks_ties_by_id() {
    let order = feature_028().topological_order();
    assert_eq!(order, wps(&["WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07"]));
    let diamond =
        graph(&[("WP04", &["WP02", "WP03"]), ("WP03", &["WP01"]), ("WP02", &["WP05"]), ("WP01", &[]), ("WP05", &[])])
            .expect("acyclic");
    assert_eq!(diamond.topological_order(), wps(&["WP01", "WP03", "WP05", "WP02", "WP04"]));
}

#[test]
fn unknown_dependency_names_both_wps() {
    let err = graph(&[("WP01", &[]), ("WP02", &["WP01", "WP09"])]).expect_err("WP09 is unknown");
    assert_eq!(err, GraphError::UnknownDependency { wp: wp("WP02"), missing: wp("WP09") });
    assert_eq!(err.to_string(), "WP02 depends on WP09, which is not a work package of this feature");
}

#[test]
fn cycles_are_reported_as_a_path() {
    let err = graph(&[("WP01", &[]), ("WP02", &["WP03"]), ("WP03", &["WP02", "WP01"])])
        .expect_err("WP02 and WP03 need each other");
    assert_eq!(err.to_string(), "dependency cycle: WP02 -> WP03 -> WP02");

    let longer = graph(&[("WP01", &["WP03"]), ("WP02", &["WP01"]), ("WP03", &["WP02"])]).expect_err("cycle");
    assert_eq!(longer, GraphError::Cycle { path: wps(&["WP01", "WP03", "WP02", "WP01"]) });

    let itself = graph(&[("WP04", &["WP04"])]).expect_err("self-dependency");
    assert_eq!(itself.to_string(), "dependency cycle: WP04 -> WP04");
}

#[test]
fn repeated_wps_and_dependencies_are_merged() {
    let merged = graph(&[("WP02", &["WP01", "WP01"]), ("WP01", &[]), ("WP02", &["WP03", "WP01"]), ("WP03", &[])])
        .expect("acyclic");
    assert_eq!(merged.len(), 3);
    assert_eq!(merged.dependencies_of(&wp("WP02")), wps(&["WP01", "WP03"]).as_slice());
    assert_eq!(merged.dependents_of(&wp("WP01")), wps(&["WP02"]).as_slice());
    assert!(merged.dependents_of(&wp("WP42")).is_empty());
}

#[test]
fn finishing_a_wp_unblocks_dependents_whose_other_dependencies_are_done() {
    let g = graph(&[("WP01", &[]), ("WP02", &["WP01"]), ("WP03", &["WP01", "WP02"]), ("WP04", &["WP02"])])
        .expect("acyclic");
    // WP01 finishing unblocks WP02 only: WP03 still waits for WP02.
    assert_eq!(g.unblocked_by(&wp("WP01"), &lanes(&[("WP01", Lane::ForReview)])), wps(&["WP02"]));
    let now = lanes(&[("WP01", Lane::Done), ("WP02", Lane::Done)]);
    assert_eq!(g.unblocked_by(&wp("WP02"), &now), wps(&["WP03", "WP04"]));
    assert!(g.unblocked_by(&wp("WP04"), &now).is_empty());
}

#[test]
fn ready_to_start_means_planned_with_every_dependency_done() {
    let g = feature_028();
    assert_eq!(g.ready_to_start(&BTreeMap::new()), wps(&["WP01"]));
    let progress = lanes(&[("WP01", Lane::Done), ("WP02", Lane::Doing), ("WP03", Lane::Done)]);
    assert_eq!(g.ready_to_start(&progress), wps(&["WP04", "WP05"]));
}

#[test]
fn a_feature_is_complete_when_every_wp_is_done() {
    let g = graph(&[("WP01", &[]), ("WP02", &["WP01"])]).expect("acyclic");
    assert!(!g.feature_complete(&lanes(&[("WP01", Lane::Done)])));
    assert!(g.feature_complete(&lanes(&[("WP01", Lane::Done), ("WP02", Lane::Done)])));
    let empty = DependencyGraph::new(Vec::new()).expect("empty graph is fine");
    assert!(!empty.feature_complete(&BTreeMap::new()), "no WPs is not a finished feature");
}

/// Random DAGs: WP n may only depend on lower-numbered WPs, given in a shuffled order.
fn dag() -> impl Strategy<Value = Vec<(WpId, Vec<WpId>)>> {
    (1usize..25)
        .prop_flat_map(|size| {
            let edges = (0..size)
                .map(|n| prop::collection::vec(0..n.max(1), 0..=n.min(3)).prop_map(move |deps| (n, deps)))
                .collect::<Vec<_>>();
            edges.prop_shuffle()
        })
        .prop_map(|nodes| {
            let id = |n: usize| wp(&format!("WP{:02}", n + 1));
            nodes.into_iter().map(|(n, deps)| (id(n), deps.into_iter().filter(|d| *d < n).map(id).collect())).collect()
        })
}

proptest! {
    #[test]
    fn topological_order_is_a_permutation_with_dependencies_first(nodes in dag()) {
        let g = DependencyGraph::new(nodes.clone()).expect("generated graphs are acyclic");
        let order = g.topological_order();
        prop_assert_eq!(order.len(), g.len());
        let position: BTreeMap<&WpId, usize> = order.iter().enumerate().map(|(i, wp)| (wp, i)).collect();
        for (wp, deps) in &nodes {
            for dep in deps {
                prop_assert!(position[dep] < position[wp]);
            }
        }
    }

    #[test]
    fn closing_a_path_back_makes_a_cycle(nodes in dag()) {
        let g = DependencyGraph::new(nodes.clone()).expect("acyclic");
        let with_deps: Vec<&(WpId, Vec<WpId>)> = nodes.iter().filter(|(_, deps)| !deps.is_empty()).collect();
        prop_assume!(!with_deps.is_empty());
        let (wp, deps) = with_deps[0];
        let mut looped = nodes.clone();
        looped.push((deps[0].clone(), vec![wp.clone()]));
        let is_cycle = matches!(DependencyGraph::new(looped), Err(GraphError::Cycle { .. }));
        prop_assert!(is_cycle);
        prop_assert!(g.contains(wp));
    }

    #[test]
    fn ready_wps_are_planned_and_unblocked(nodes in dag(), done_mask in prop::collection::vec(any::<bool>(), 25)) {
        let g = DependencyGraph::new(nodes).expect("acyclic");
        let lanes: BTreeMap<WpId, Lane> = g.work_packages().zip(done_mask)
            .map(|(wp, done)| (wp.clone(), if done { Lane::Done } else { Lane::Planned }))
            .collect();
        for ready in g.ready_to_start(&lanes) {
            prop_assert_eq!(lanes[&ready], Lane::Planned);
            prop_assert!(g.dependencies_of(&ready).iter().all(|dep| lanes[dep] == Lane::Done));
        }
    }
}
