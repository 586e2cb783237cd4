use super::upstream2x::{LANES_2X, MISSION_DOSSIER_EVENT_TYPES, composed_schema, is_uuid, looks_2x};
use super::*;
use crate::events::tests::arb_payload;
use crate::{EventFactory, Identity, LamportClock, Moment, NodeId, ProjectIdentity};
use proptest::prelude::*;
use serde_json::json;

fn ours() -> Value {
    json!({
        "event_id": "01JKH5Q8ZX6A7B8C9D0E1F2G3H",
        "event_type": "WPCreated",
        "aggregate_id": "WP01",
        "aggregate_type": "WorkPackage",
        "payload": {"wp_id": "WP01", "title": "Event Factory", "dependencies": [], "feature_slug": "028-x"},
        "node_id": "d036a097a835",
        "lamport_clock": 1,
        "causation_id": null,
        "timestamp": "2026-02-04T10:46:03.000Z",
        "team_slug": "local"
    })
}

/// An event as upstream's 2.1 emitter builds it: every envelope key, nulls included, a Python isoformat time.
fn upstream_status_change() -> Value {
    json!({
        "event_id": "01JNZ3M8Q4W5E6R7T8Y9A0B1C2",
        "event_type": "WPStatusChanged",
        "aggregate_id": "WP02",
        "aggregate_type": "WorkPackage",
        "payload": {
            "wp_id": "WP02", "from_lane": "claimed", "to_lane": "in_progress", "actor": "claude",
            "feature_slug": null, "policy_metadata": null
        },
        "node_id": "0a1b2c3d4e5f",
        "lamport_clock": 7,
        "causation_id": null,
        "timestamp": "2026-03-01T10:00:00.123456+00:00",
        "team_slug": "acme",
        "project_uuid": null,
        "project_slug": null,
        "git_branch": "2.x",
        "head_commit_sha": "0123456789abcdef0123456789abcdef01234567",
        "repo_slug": null
    })
}

fn dossier(event_type: &str) -> Value {
    json!({
        "event_id": "3F2B8C1E-5D4A-4C9B-8E7F-1A2B3C4D5E6F",
        "event_type": event_type,
        "aggregate_id": "028-x:spec.md",
        "aggregate_type": "MissionDossier",
        "payload": {"feature_slug": "028-x", "artifact_key": "spec.md", "anything": {"nested": [1, 2]}},
        "node_id": "0a1b2c3d4e5f",
        "lamport_clock": 9,
        "causation_id": "01JKH5Q8ZX6A7B8C9D0E1F2G3H",
        "timestamp": "2026-03-01T10:00:00+00:00",
        "team_slug": "acme",
        "project_uuid": "3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f"
    })
}

fn error_of(event: Value, team: &str) -> String {
    admit_event(event, team).expect_err("should be rejected").error
}

#[test]
fn our_event_is_028_and_local_becomes_the_callers_team() {
    let admitted = admit_event(ours(), "acme").unwrap();
    assert_eq!(admitted.dialect, Dialect::Contract028);
    assert_eq!(admitted.event["team_slug"], "acme");
    assert_eq!(
        (&*admitted.event_id, &*admitted.event_type, &*admitted.aggregate_id, &*admitted.node_id),
        ("01JKH5Q8ZX6A7B8C9D0E1F2G3H", "WPCreated", "WP01", "d036a097a835")
    );
    assert_eq!(admitted.lamport_clock, 1);
    let mut expected = ours();
    expected["team_slug"] = json!("acme");
    assert_eq!(admitted.event, expected);
    // Key order is kept (serde_json's preserve_order): the stored text reads like the sent one.
    let keys: Vec<&String> = admitted.event.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "event_id");
    assert_eq!(keys[9], "team_slug");
}

#[test]
fn the_callers_own_team_passes_and_another_is_rejected() {
    let mut same = ours();
    same["team_slug"] = json!("acme");
    assert_eq!(admit_event(same.clone(), "acme").unwrap().event, same);
    let rejection = admit_event(same, "other").unwrap_err();
    assert_eq!(rejection.event_id.as_deref(), Some("01JKH5Q8ZX6A7B8C9D0E1F2G3H"));
    assert_eq!(rejection.error, r#"team_slug: event of team "acme", you are in team "other""#);
    assert_eq!(rejection.to_string(), rejection.error);
}

#[test]
fn upstream_status_change_is_2x() {
    let admitted = admit_event(upstream_status_change(), "acme").unwrap();
    assert_eq!(admitted.dialect, Dialect::Upstream2x);
    assert_eq!(admitted.event, upstream_status_change());
    assert_eq!(admitted.lamport_clock, 7);
    for lane in LANES_2X {
        let mut event = upstream_status_change();
        event["payload"]["to_lane"] = json!(lane);
        event["payload"]["from_lane"] = json!(lane);
        assert_eq!(admit_event(event, "acme").unwrap().dialect, Dialect::Upstream2x, "{lane}");
    }
    // Optional keys left out, an object of policy metadata, a UUID id in lower case.
    let mut lean = upstream_status_change();
    let payload = lean["payload"].as_object_mut().unwrap();
    payload.remove("actor");
    payload.remove("feature_slug");
    payload.insert("policy_metadata".into(), json!({"rule": "review-required"}));
    lean["event_id"] = json!("3f2b8c1e-5d4a-1c9b-8e7f-1a2b3c4d5e6f");
    for key in ["project_uuid", "project_slug", "git_branch", "head_commit_sha", "repo_slug", "causation_id"] {
        lean.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(admit_event(lean, "acme").unwrap().dialect, Dialect::Upstream2x);
}

#[test]
fn upstream_events_of_the_shared_types_are_admitted() {
    // Upstream's WPCreated with its null project fields fails the 028 schema only on those; 2.x takes it.
    let mut created = ours();
    created["project_uuid"] = Value::Null;
    created["project_slug"] = Value::Null;
    created["git_branch"] = json!("main");
    created["event_id"] = json!("3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f");
    assert_eq!(admit_event(created.clone(), "acme").unwrap().dialect, Dialect::Upstream2x);
    // ... and its payload rules are the 028 ones.
    created["payload"]["title"] = json!("");
    assert!(error_of(created, "acme").starts_with("/payload/title: "));
}

#[test]
fn mission_dossier_events_are_2x_with_any_payload_object() {
    for event_type in MISSION_DOSSIER_EVENT_TYPES {
        let admitted = admit_event(dossier(event_type), "acme").unwrap();
        assert_eq!(admitted.dialect, Dialect::Upstream2x, "{event_type}");
        assert_eq!(admitted.aggregate_id, "028-x:spec.md");
        let mut empty = dossier(event_type);
        empty["payload"] = json!({});
        assert!(admit_event(empty, "acme").is_ok());
    }
    let mut not_object = dossier("MissionDossierArtifactIndexed");
    not_object["payload"] = json!([1]);
    assert!(error_of(not_object, "acme").starts_with("/payload: "));
    let mut wrong_aggregate = dossier("MissionDossierArtifactIndexed");
    wrong_aggregate["aggregate_type"] = json!("WorkPackage");
    assert!(error_of(wrong_aggregate, "acme").starts_with("/aggregate_type: "));
    let mut wrong_type = dossier("MissionDossierArtifactIndexed");
    wrong_type["event_type"] = json!("WPCreated");
    wrong_type["payload"] = json!({"wp_id": "WP01", "title": "t", "feature_slug": "028-x"});
    assert!(error_of(wrong_type, "acme").starts_with("/event_type: "));
}

#[test]
fn a_028_looking_event_reports_the_028_issue() {
    let mut bad = ours();
    bad["payload"]["title"] = json!("");
    let error = error_of(bad, "acme");
    assert!(error.starts_with("/payload/title: "), "{error}");
    // A 2.x lane in our own dialect's key is our event gone wrong, not a 2.x one.
    let mut status = ours();
    status["event_type"] = json!("WPStatusChanged");
    status["payload"] = json!({"wp_id": "WP01", "previous_status": "planned", "new_status": "in_progress"});
    assert!(error_of(status, "acme").starts_with("/payload/new_status: "));
}

#[test]
fn a_2x_looking_event_reports_the_2x_issue() {
    let mut bad_lane = upstream_status_change();
    bad_lane["payload"]["to_lane"] = json!("doing");
    let error = error_of(bad_lane, "acme");
    assert!(error.starts_with("/payload/to_lane: "), "{error}");
    let mut no_to_lane = upstream_status_change();
    no_to_lane["payload"].as_object_mut().unwrap().remove("to_lane");
    assert_eq!(error_of(no_to_lane, "acme"), "/payload/to_lane: required property missing");
    let mut bad_cause = dossier("MissionDossierSnapshotComputed");
    bad_cause["causation_id"] = json!("not-an-id");
    assert!(error_of(bad_cause, "acme").starts_with("/causation_id: "));
}

#[test]
fn missing_fields_are_named_by_their_own_pointer() {
    let mut no_title = ours();
    no_title["payload"].as_object_mut().unwrap().remove("title");
    assert_eq!(error_of(no_title, "acme"), "/payload/title: required property missing");
    let mut no_id = ours();
    no_id.as_object_mut().unwrap().remove("event_id");
    let rejection = admit_event(no_id, "acme").unwrap_err();
    assert_eq!(rejection.event_id, None);
    assert_eq!(rejection.error, "/event_id: required property missing");
}

#[test]
fn odd_input_is_one_line_and_names_a_field() {
    let rejection = admit_event(json!("just text"), "acme").unwrap_err();
    assert_eq!(rejection.event_id, None);
    assert!(rejection.error.starts_with("(event): "), "{}", rejection.error);
    let mut long = ours();
    long["payload"]["wp_id"] = json!(format!("WP01\n{}", "x".repeat(5000)));
    let error = error_of(long, "acme");
    assert!(error.starts_with("/payload/wp_id: ") && !error.contains('\n') && error.chars().count() < 320, "{error}");
    let mut id_not_string = ours();
    id_not_string["event_id"] = json!(5);
    let rejection = admit_event(id_not_string, "acme").unwrap_err();
    assert_eq!(rejection.event_id, None);
    assert!(rejection.error.starts_with("/event_id: "));
    let mut team = ours();
    team["team_slug"] = json!("a\"b\nc");
    let error = error_of(team, "acme");
    assert_eq!(error, r#"team_slug: event of team "a\"b\nc", you are in team "acme""#);
}

#[test]
fn a_clock_beyond_u64_is_refused() {
    for value in [json!(1.0e20), json!(2.0)] {
        let mut event = ours();
        event["lamport_clock"] = value;
        assert!(error_of(event, "acme").starts_with("/lamport_clock: "));
    }
    let mut negative = ours();
    negative["lamport_clock"] = json!(-1);
    assert!(error_of(negative, "acme").starts_with("/lamport_clock: "));
}

#[test]
fn the_composed_schema_holds_the_shared_payloads() {
    let schema = composed_schema();
    for name in ["WPCreatedPayload", "ErrorLoggedPayload", "DependencyResolvedPayload", "WPStatusChanged2xPayload"] {
        assert!(schema["definitions"].get(name).is_some(), "{name}");
    }
    assert!(is_uuid("3F2B8C1E-5D4A-4C9B-8E7F-1A2B3C4D5E6F") && !is_uuid("01JKH5Q8ZX6A7B8C9D0E1F2G3H"));
    assert!(looks_2x(&upstream_status_change()) && !looks_2x(&ours()));
}

fn factory(team: &str, host: &str, project: bool) -> EventFactory {
    EventFactory::new(Identity {
        node_id: NodeId::from_host_and_user(host, "user"),
        team_slug: team.into(),
        project: project
            .then(|| ProjectIdentity { uuid: "3f2b8c1e-5d4a-4c9b-8e7f-1a2b3c4d5e6f".into(), slug: "demo".into() }),
    })
}

proptest! {
    #[test]
    fn every_builder_event_is_admitted_as_028_unchanged_but_for_the_team(
        payload in arb_payload(),
        local in any::<bool>(),
        project in any::<bool>(),
        clock in 0u64..1_000_000,
        unix_ms in 0u64..4_000_000_000_000,
        entropy in any::<u128>(),
    ) {
        let mut f = factory(if local { "local" } else { "acme" }, "host", project);
        let mut clock = LamportClock::new(clock);
        let event = f.build(&mut clock, Moment { unix_ms, entropy }, None, payload).unwrap();
        let sent = event.to_value();
        let admitted = admit_event(sent.clone(), "acme").unwrap();
        prop_assert_eq!(admitted.dialect, Dialect::Contract028);
        let mut expected = sent;
        expected["team_slug"] = json!("acme");
        prop_assert_eq!(&admitted.event, &expected);
        prop_assert_eq!(&admitted.event_id, &event.event_id);
        prop_assert_eq!(admitted.event_type, event.event_type().as_str());
        prop_assert_eq!(admitted.aggregate_id, event.aggregate_id());
        prop_assert_eq!(admitted.lamport_clock, event.lamport_clock);
        prop_assert_eq!(&admitted.node_id, &event.node_id);
        // Another team's caller is refused, naming team_slug.
        let other = admit_event(event.to_value(), "other");
        prop_assert_eq!(other.is_ok(), local);
    }
}
