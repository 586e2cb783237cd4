use super::*;
use crate::board::Board;
use crate::events::tests::arb_payload;
use crate::events::{HistoryAdded, WpAssigned, WpCreated, WpStatusChanged};
use crate::ids::WpId;
use crate::workflow::Lane;
use crate::{Event, EventFactory, Identity, LamportClock, Moment, NodeId};
use proptest::prelude::*;
use serde_json::json;

fn factory(host: &str) -> EventFactory {
    EventFactory::new(Identity {
        node_id: NodeId::from_host_and_user(host, "user"),
        team_slug: "team".into(),
        project: None,
    })
}

fn wp(s: &str) -> WpId {
    s.parse().unwrap()
}

fn at(ms: u64) -> Moment {
    Moment { unix_ms: ms, entropy: ms as u128 }
}

fn values(events: &[Event]) -> Vec<Value> {
    events.iter().map(Event::to_value).collect()
}

/// A 2.x event as upstream's client writes it.
fn upstream(id: &str, node: &str, clock: u64, event_type: &str, aggregate_id: &str, payload: Value) -> Value {
    let aggregate_type = if event_type.starts_with("MissionDossier") { "MissionDossier" } else { "WorkPackage" };
    json!({
        "event_id": id, "event_type": event_type, "aggregate_id": aggregate_id, "aggregate_type": aggregate_type,
        "payload": payload, "node_id": node, "lamport_clock": clock, "causation_id": null,
        "timestamp": "2026-03-01T10:00:00.123456+00:00", "team_slug": "team", "project_uuid": null,
        "project_slug": null, "git_branch": null, "head_commit_sha": null, "repo_slug": null
    })
}

fn created(feature: &str, id: &str, title: &str) -> WpCreated {
    WpCreated { wp_id: wp(id), title: title.into(), dependencies: vec![wp("WP09")], feature_slug: feature.into() }
}

#[test]
fn folds_our_events_like_the_feature_board() {
    let mut clock = LamportClock::default();
    let mut f = factory("a");
    let assigned = WpAssigned {
        wp_id: wp("WP01"),
        agent_id: "claude".into(),
        phase: serde_json::from_value(json!("implementation")).unwrap(),
        retry_count: 1,
        feature_slug: Some("028-x".into()),
    };
    let events = vec![
        f.wp_created(&mut clock, at(1), None, created("028-x", "WP01", "Factory")).unwrap(),
        f.wp_status_changed(&mut clock, at(2), None, WpStatusChanged::new(wp("WP01"), Lane::Planned, Lane::Doing))
            .unwrap(),
        f.wp_assigned(&mut clock, at(3), None, assigned).unwrap(),
        f.history_added(&mut clock, at(4), None, HistoryAdded::note(wp("WP01"), "started")).unwrap(),
    ];
    let json = values(&events);
    let team = TeamBoard::from_events(&json);
    let board = Board::from_events(&events);
    let (card, theirs) = (&team.work_packages[0], &board.work_packages[&wp("WP01")]);
    assert_eq!(team.work_packages.len(), 1);
    assert_eq!(card.feature_slug.as_deref(), Some("028-x"));
    assert_eq!(card.title, theirs.title);
    assert_eq!(card.lane, "doing");
    assert_eq!(card.dependencies, vec!["WP09".to_string()]);
    assert_eq!(card.assignee.as_deref(), Some("claude"));
    assert_eq!(card.history, theirs.history, "same items and summaries as board.rs");
    assert_eq!(card.history_count, 4);
    assert_eq!(card.updated_at_lamport, 4);
    assert_eq!((team.events_applied, team.max_lamport_clock), (4, 4));
}

#[test]
fn upstream_lanes_are_kept_as_they_are() {
    let node = "0a1b2c3d4e5f";
    let events = [
        upstream(
            "3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f",
            node,
            5,
            "WPStatusChanged",
            "WP02",
            json!({"wp_id": "WP02", "from_lane": "planned", "to_lane": "claimed", "actor": "codex", "feature_slug": "029-y", "policy_metadata": null}),
        ),
        upstream(
            "01JNZ3M8Q4W5E6R7T8Y9A0B1C2",
            node,
            6,
            "WPStatusChanged",
            "WP02",
            json!({"wp_id": "WP02", "from_lane": "claimed", "to_lane": "in_progress", "actor": "codex", "feature_slug": null}),
        ),
    ];
    let team = TeamBoard::from_events(&events);
    let card = &team.work_packages[0];
    assert_eq!((card.lane.as_str(), card.feature_slug.as_deref()), ("in_progress", Some("029-y")));
    assert_eq!(card.history[1].summary, "claimed -> in_progress by codex");
    assert_eq!(card.history_count, 2);
}

#[test]
fn each_feature_has_its_own_wp01_and_unnamed_events_follow_their_node() {
    let (mut a, mut b) = (factory("a"), factory("b"));
    let (mut ca, mut cb) = (LamportClock::default(), LamportClock::default());
    let events = vec![
        a.wp_created(&mut ca, at(1), None, created("028-x", "WP01", "X one")).unwrap(),
        b.wp_created(&mut cb, Moment { unix_ms: 1, entropy: 100 }, None, created("029-y", "WP01", "Y one")).unwrap(),
        // At the same Lamport value: without a feature in the payload, each note goes to its node's WP01.
        a.history_added(&mut ca, at(2), None, HistoryAdded::note(wp("WP01"), "from a")).unwrap(),
        b.history_added(&mut cb, Moment { unix_ms: 2, entropy: 100 }, None, HistoryAdded::note(wp("WP01"), "from b"))
            .unwrap(),
    ];
    let team = TeamBoard::from_events(&values(&events));
    let cards: Vec<(Option<&str>, &str, &str)> = team
        .work_packages
        .iter()
        .map(|c| (c.feature_slug.as_deref(), c.title.as_deref().unwrap(), c.history[1].summary.as_str()))
        .collect();
    assert_eq!(cards, vec![(Some("028-x"), "X one", "user: from a"), (Some("029-y"), "Y one", "user: from b")]);
}

#[test]
fn a_card_without_a_feature_is_adopted_by_the_first_event_naming_one() {
    let (mut a, mut b) = (factory("a"), factory("b"));
    let events = vec![
        b.history_added(
            &mut LamportClock::new(0),
            Moment { unix_ms: 1, entropy: 100 },
            None,
            HistoryAdded::note(wp("WP03"), "early"),
        )
        .unwrap(),
        a.wp_created(&mut LamportClock::new(4), at(2), None, created("028-x", "WP03", "Late plan")).unwrap(),
    ];
    let team = TeamBoard::from_events(&values(&events));
    assert_eq!(team.work_packages.len(), 1);
    let card = &team.work_packages[0];
    assert_eq!(card.feature_slug.as_deref(), Some("028-x"));
    assert_eq!(card.history_count, 2);
    // Alone, the early note has a card without a feature, serialised as null.
    let alone = TeamBoard::from_events(&values(&events[..1]));
    assert_eq!(serde_json::to_value(&alone.work_packages[0]).unwrap()["feature_slug"], Value::Null);
}

#[test]
fn features_and_dossier_events() {
    let node = "0a1b2c3d4e5f";
    let mut events = values(&[
        factory("a")
            .feature_created(
                &mut LamportClock::default(),
                at(1),
                None,
                serde_json::from_value(
                    json!({"feature_slug": "028-x", "feature_number": "028", "target_branch": "main", "wp_count": 3}),
                )
                .unwrap(),
            )
            .unwrap(),
        factory("a")
            .feature_completed(
                &mut LamportClock::new(5),
                at(2),
                None,
                serde_json::from_value(json!({"feature_slug": "028-x", "total_wps": 3})).unwrap(),
            )
            .unwrap(),
    ]);
    events.push(upstream(
        "01JNZ3M8Q4W5E6R7T8Y9A0B1C3",
        node,
        3,
        "MissionDossierArtifactIndexed",
        "028-x:spec.md",
        json!({"feature_slug": "028-x", "artifact_key": "spec.md"}),
    ));
    events.push(upstream(
        "01JNZ3M8Q4W5E6R7T8Y9A0B1C4",
        node,
        4,
        "MissionDossierParityDriftDetected",
        "030-z:drift",
        json!({}),
    ));
    let team = TeamBoard::from_events(&events);
    assert!(team.work_packages.is_empty());
    let feature = |slug: &str, target_branch: Option<&str>, wp_count, completed| FeatureCard {
        feature_slug: slug.into(),
        target_branch: target_branch.map(str::to_string),
        wp_count,
        completed,
        dossier_events: 1,
    };
    assert_eq!(team.features, vec![feature("028-x", Some("main"), Some(3), true), feature("030-z", None, None, false)]);
    assert_eq!(team.events_applied, 4);
}

#[test]
fn history_keeps_the_last_twenty_and_counts_all() {
    let mut clock = LamportClock::default();
    let mut f = factory("a");
    let events: Vec<Event> = (0..25)
        .map(|i| f.history_added(&mut clock, at(i), None, HistoryAdded::note(wp("WP01"), format!("n{i}"))).unwrap())
        .collect();
    let team = TeamBoard::from_events(&values(&events));
    let card = &team.work_packages[0];
    assert_eq!((card.history.len(), card.history_count), (HISTORY_KEPT, 25));
    assert_eq!(card.history[0].summary, "user: n5");
    assert_eq!(card.history[19].summary, "user: n24");
    let mut long = events[0].to_value();
    long["payload"]["entry_content"] = json!("x".repeat(5000));
    let card = &TeamBoard::from_events([&long]).work_packages[0];
    assert!(card.history[0].summary.chars().count() <= SUMMARY_CHARS + 3);
}

#[test]
fn the_serialised_shape() {
    let events = values(&[factory("a")
        .wp_created(&mut LamportClock::default(), at(1), None, created("028-x", "WP01", "T"))
        .unwrap()]);
    let team = TeamBoard::from_events(&events);
    let value = serde_json::to_value(&team).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["work_packages", "features", "events_applied", "max_lamport_clock"]);
    let card_keys: Vec<&String> = value["work_packages"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        card_keys,
        [
            "wp_id",
            "feature_slug",
            "title",
            "lane",
            "dependencies",
            "assignee",
            "updated_at_lamport",
            "history",
            "history_count"
        ]
    );
    assert_eq!(serde_json::from_value::<TeamBoard>(value.clone()).unwrap(), team);
    let snapshot = serde_json::to_value(team.snapshot()).unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["work_packages"], value["work_packages"]);
    assert_eq!(
        serde_json::to_string(&TeamBoard::default()).unwrap(),
        r#"{"work_packages":[],"features":[],"events_applied":0,"max_lamport_clock":0}"#
    );
}

#[test]
fn differing_copies_of_one_id_and_junk_give_one_answer() {
    let base =
        factory("a").wp_created(&mut LamportClock::default(), at(1), None, created("028-x", "WP01", "First")).unwrap();
    let one = base.to_value();
    let mut two = one.clone();
    two["payload"]["title"] = json!("Second");
    let junk = [json!("text"), json!({"no": "id"}), json!({"event_id": 5})];
    let forward = TeamBoard::from_events(junk.iter().chain([&one, &two]));
    let backward = TeamBoard::from_events([&two, &junk[0], &one]);
    assert_eq!(forward, backward);
    assert_eq!(forward.events_applied, 1);
    assert_eq!(forward.work_packages[0].title.as_deref(), Some("First"), "the lesser JSON text is kept");
}

/// 2.x events over a few WPs and nodes, Lamport values colliding on purpose.
fn arb_upstream() -> impl Strategy<Value = (u8, u8, u64, u8, u8, bool)> {
    (0u8..3, 1u8..4, 0u64..12, 0u8..8, 0u8..8, any::<bool>())
}

proptest! {
    #[test]
    fn any_permutation_and_duplication_gives_the_same_board(
        payloads in prop::collection::vec((arb_payload(), 0usize..3), 0..30),
        upstreams in prop::collection::vec(arb_upstream(), 0..20),
        seed in any::<u64>(),
    ) {
        let mut nodes = [factory("a"), factory("b"), factory("c")];
        let mut clocks = [LamportClock::default(); 3];
        let mut events = Vec::new();
        for (i, (payload, node)) in payloads.into_iter().enumerate() {
            let at = Moment { unix_ms: 1_000 + i as u64, entropy: (seed as u128) << 8 | node as u128 };
            events.push(nodes[node].build(&mut clocks[node], at, None, payload).unwrap().to_value());
        }
        let upstream_nodes = ["0a1b2c3d4e5f", "ffffffffffff", "000000000000"];
        for (i, (node, wp_n, clock, from, to, dossier)) in upstreams.into_iter().enumerate() {
            let id = format!("3f2b8c1e-5d4a-4c9b-8e7f-{i:012}");
            let wp_id = format!("WP0{wp_n}");
            events.push(if dossier {
                upstream(&id, upstream_nodes[node as usize], clock, "MissionDossierSnapshotComputed",
                    &format!("028-x:{i}"), json!({"feature_slug": if i % 2 == 0 { "028-x" } else { "029-y" }}))
            } else {
                let feature = if i % 3 == 0 { Value::Null } else { json!(format!("02{}-x", i % 2 + 8)) };
                upstream(&id, upstream_nodes[node as usize], clock, "WPStatusChanged", &wp_id, json!({
                    "wp_id": wp_id, "from_lane": super::super::ingest::upstream2x::LANES_2X[from as usize],
                    "to_lane": super::super::ingest::upstream2x::LANES_2X[to as usize], "feature_slug": feature
                }))
            });
        }
        let expected = TeamBoard::from_events(&events);
        // A deterministic shuffle with duplicates, driven by the seed.
        let mut delivered: Vec<&Value> = events.iter().chain(events.iter().step_by(3)).collect();
        let mut state = seed | 1;
        for i in (1..delivered.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            delivered.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let board = TeamBoard::from_events(delivered);
        prop_assert_eq!(&board, &expected);
        prop_assert_eq!(board.events_applied, events.len() as u64);
    }
}
