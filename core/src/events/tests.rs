use super::*;
use crate::ids::{NodeId, WpId};
use crate::validation::validate_event;
use crate::{LamportClock, Lane};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

/// The upstream schema, which every event we build must also satisfy.
fn reference_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = include_str!("../../../tests/fixtures/reference-events.schema.json");
        let schema: Value = serde_json::from_str(text).unwrap();
        jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
    })
}

fn assert_valid_everywhere(event: &Event) {
    let value = event.to_value();
    assert_eq!(validate_event(&value), vec![], "{value}");
    let upstream: Vec<String> = reference_validator().iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(upstream.is_empty(), "upstream schema refuses {value}: {upstream:?}");
}

fn wp(s: &str) -> WpId {
    s.parse().unwrap()
}

fn factory(project: bool) -> EventFactory {
    EventFactory::new(Identity {
        node_id: NodeId::from_host_and_user("host", "user"),
        team_slug: "local".into(),
        project: project.then(|| ProjectIdentity {
            uuid: "5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a69".into(),
            slug: "spec-kitty".into(),
        }),
    })
}

const AT: Moment = Moment { unix_ms: 1_770_202_123_456, entropy: 0x1234_5678_9abc_def0_1234 };

#[test]
fn envelope_keys_come_in_the_contract_order() {
    let mut clock = LamportClock::new(41);
    let event = factory(true)
        .wp_status_changed(&mut clock, AT, None, WpStatusChanged::new(wp("WP01"), Lane::Planned, Lane::Doing))
        .unwrap();
    let json = event.to_json();
    let order = [
        "event_id",
        "event_type",
        "aggregate_id",
        "aggregate_type",
        "payload",
        "node_id",
        "lamport_clock",
        "causation_id",
        "timestamp",
        "team_slug",
        "project_uuid",
        "project_slug",
    ];
    let value = event.to_value();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, order);
    assert!(
        json.contains(
            r#""payload":{"wp_id":"WP01","previous_status":"planned","new_status":"doing","changed_by":"user"}"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""causation_id":null"#));
    assert!(json.contains(r#""timestamp":"2026-02-04T10:48:43.456Z""#));
    assert_eq!(event.lamport_clock, 42);
    assert_eq!(clock.value(), 42);
}

#[test]
fn optionals_are_left_out_and_defaults_filled() {
    let mut clock = LamportClock::default();
    let mut f = factory(false);
    let err = ErrorLogged {
        wp_id: None,
        error_type: ErrorType::Runtime,
        error_message: "boom".into(),
        stack_trace: None,
        agent_id: None,
    };
    let event = f.error_logged(&mut clock, AT, None, err).unwrap();
    let value = event.to_value();
    assert_eq!(value["aggregate_id"], "error");
    assert_eq!(value["aggregate_type"], "Feature");
    assert_eq!(value["payload"], serde_json::json!({"error_type": "runtime", "error_message": "boom"}));
    assert!(value.get("project_uuid").is_none());
    let created: WpCreated =
        serde_json::from_value(serde_json::json!({"wp_id": "WP02", "title": "T", "feature_slug": "028-x"})).unwrap();
    assert_eq!(created.dependencies, Vec::<WpId>::new());
    let event = f.wp_created(&mut clock, AT, None, created).unwrap();
    assert_eq!(event.to_value()["payload"]["dependencies"], serde_json::json!([]));
}

#[test]
fn assignments_and_resolutions_name_their_feature_only_when_known() {
    let mut clock = LamportClock::default();
    let mut f = factory(false);
    let assigned = |feature_slug: Option<&str>| WpAssigned {
        wp_id: wp("WP03"),
        agent_id: "codex".into(),
        phase: AssignmentPhase::Review,
        retry_count: 2,
        feature_slug: feature_slug.map(str::to_string),
    };
    let event = f.wp_assigned(&mut clock, AT, None, assigned(Some("028-x"))).unwrap();
    assert_valid_everywhere(&event);
    let expected = r#"{"wp_id":"WP03","agent_id":"codex","phase":"review","retry_count":2,"feature_slug":"028-x"}"#;
    assert_eq!(event.to_value()["payload"].to_string(), expected);
    let event = f.wp_assigned(&mut clock, AT, None, assigned(None)).unwrap();
    assert!(event.to_value()["payload"].get("feature_slug").is_none(), "omitted when unknown, as upstream sends it");

    let resolved = |feature_slug: Option<&str>| DependencyResolved {
        wp_id: wp("WP02"),
        dependency_wp_id: wp("WP01"),
        resolution_type: ResolutionType::Skipped,
        feature_slug: feature_slug.map(str::to_string),
    };
    let event = f.dependency_resolved(&mut clock, AT, None, resolved(Some("028-x"))).unwrap();
    assert_valid_everywhere(&event);
    let expected = r#"{"wp_id":"WP02","dependency_wp_id":"WP01","resolution_type":"skipped","feature_slug":"028-x"}"#;
    assert_eq!(event.to_value()["payload"].to_string(), expected);
    let event = f.dependency_resolved(&mut clock, AT, None, resolved(None)).unwrap();
    assert!(event.to_value()["payload"].get("feature_slug").is_none());

    // Upstream's events, without the field, still read; a null reads as unknown, as the schema allows it.
    let old: DependencyResolved = serde_json::from_value(
        serde_json::json!({"wp_id": "WP02", "dependency_wp_id": "WP01", "resolution_type": "completed"}),
    )
    .unwrap();
    assert_eq!(old.feature_slug, None);
    let null: WpAssigned = serde_json::from_value(
        serde_json::json!({"wp_id": "WP01", "agent_id": "a", "phase": "implementation", "feature_slug": null}),
    )
    .unwrap();
    assert_eq!((null.feature_slug, null.retry_count), (None, 0));
    let wrong = f.wp_assigned(&mut clock, AT, None, assigned(Some("028-x"))).unwrap();
    let mut value = wrong.to_value();
    value["payload"]["feature_slug"] = serde_json::json!(28);
    let issues = validate_event(&value);
    assert!(issues.iter().any(|issue| issue.to_string().contains("/payload/feature_slug")), "{issues:?}");
}

#[test]
fn invalid_values_name_the_field_and_leave_the_clock_alone() {
    let mut clock = LamportClock::new(7);
    let mut f = factory(true);
    let bad = WpCreated { wp_id: wp("WP01"), title: String::new(), dependencies: vec![], feature_slug: "028-x".into() };
    let err = f.wp_created(&mut clock, AT, None, bad).unwrap_err();
    assert!(err.to_string().contains("/payload/title"), "{err}");
    assert_eq!(clock.value(), 7);
    let bad_feature = FeatureCreated {
        feature_slug: "Feature X".into(),
        feature_number: "28".into(),
        target_branch: "main".into(),
        wp_count: 1,
        created_at: None,
    };
    let err = f.feature_created(&mut clock, AT, None, bad_feature).unwrap_err().to_string();
    assert!(err.contains("/payload/feature_slug") && err.contains("/payload/feature_number"), "{err}");
    let err = f.history_added(&mut clock, AT, Some("not-a-ulid"), HistoryAdded::note(wp("WP01"), "x")).unwrap_err();
    assert!(err.to_string().starts_with("causation_id: malformed ULID `not-a-ulid`"), "{err}");
}

#[test]
fn events_round_trip_through_json() {
    let mut clock = LamportClock::default();
    let mut f = factory(true);
    let cause = f.causation_id(AT).unwrap();
    let event = f
        .dependency_resolved(
            &mut clock,
            AT,
            Some(&cause),
            DependencyResolved {
                wp_id: wp("WP02"),
                dependency_wp_id: wp("WP01"),
                resolution_type: ResolutionType::Completed,
                feature_slug: Some("028-x".into()),
            },
        )
        .unwrap();
    let back: Event = serde_json::from_str(&event.to_json()).unwrap();
    assert_eq!(back, event);
    assert!(back.event_id > cause, "ids of one factory sort in creation order");
}

#[test]
fn unreadable_payloads_name_the_field() {
    let err = Payload::from_value(EventType::WPStatusChanged, serde_json::json!({"wp_id": "WP1"})).unwrap_err();
    assert_eq!(err.field, "payload.wp_id");
    assert!(err.to_string().starts_with("payload.wp_id: malformed work package id `WP1`"), "{err}");
    let err = Payload::from_value(EventType::WPCreated, serde_json::json!({"wp_id": "WP01"})).unwrap_err();
    assert_eq!(err.field, "payload");
    assert!(err.message.contains("missing field `title`"), "{err}");
    let err = Payload::from_value(
        EventType::WPCreated,
        serde_json::json!({"wp_id": "WP01", "title": "t", "feature_slug": "f", "dependencies": ["WP01", "x"]}),
    )
    .unwrap_err();
    assert_eq!(err.field, "payload.dependencies[1]");
}

#[test]
fn a_mismatched_aggregate_is_refused_on_read() {
    let mut clock = LamportClock::default();
    let event = factory(false).history_added(&mut clock, AT, None, HistoryAdded::note(wp("WP01"), "x")).unwrap();
    let text = event.to_json().replace(r#""aggregate_id":"WP01""#, r#""aggregate_id":"WP09""#);
    let err = serde_json::from_str::<Event>(&text).unwrap_err().to_string();
    assert!(err.starts_with("aggregate_id:"), "{err}");
}

pub(crate) fn arb_wp() -> impl Strategy<Value = WpId> {
    (0u8..100).prop_map(|n| format!("WP{n:02}").parse().unwrap())
}

fn arb_lane() -> impl Strategy<Value = Lane> {
    prop::sample::select(Lane::ALL.to_vec())
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _\\-éü✓]{1,40}"
}

fn arb_slug() -> impl Strategy<Value = String> {
    "[0-9]{3}-[a-z0-9][a-z0-9-]{0,30}"
}

prop_compose! {
    fn arb_timestamp()(ms in 0u64..4_000_000_000_000) -> String { crate::time::rfc3339_seconds(ms) }
}

/// Any payload the builders accept from domain values.
pub(crate) fn arb_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        (arb_wp(), arb_lane(), arb_lane(), arb_text(), prop::option::of(arb_slug())).prop_map(|(w, a, b, by, f)| {
            Payload::WpStatusChanged(WpStatusChanged {
                wp_id: w,
                previous_status: a,
                new_status: b,
                changed_by: by,
                feature_slug: f,
            })
        }),
        (arb_wp(), arb_text(), prop::collection::vec(arb_wp(), 0..5), arb_slug()).prop_map(|(w, t, d, f)| {
            // A WP never depends on itself (the builder refuses it).
            let dependencies = d.into_iter().filter(|dependency| *dependency != w).collect();
            Payload::WpCreated(WpCreated { wp_id: w, title: t, dependencies, feature_slug: f })
        }),
        (arb_wp(), arb_text(), any::<bool>(), 0u32..10, prop::option::of(arb_slug())).prop_map(
            |(w, a, review, r, f)| Payload::WpAssigned(WpAssigned {
                wp_id: w,
                agent_id: a,
                phase: if review { AssignmentPhase::Review } else { AssignmentPhase::Implementation },
                retry_count: r,
                feature_slug: f,
            })
        ),
        (arb_slug(), "[0-9]{3}", arb_text(), 0u32..100, prop::option::of(arb_timestamp())).prop_map(
            |(s, n, b, c, at)| {
                Payload::FeatureCreated(FeatureCreated {
                    feature_slug: s,
                    feature_number: n,
                    target_branch: b,
                    wp_count: c,
                    created_at: at,
                })
            }
        ),
        (arb_slug(), 0u32..100, prop::option::of(arb_timestamp()), prop::option::of("[0-9]{1,5}\\.[0-9]s")).prop_map(
            |(s, n, at, d)| Payload::FeatureCompleted(FeatureCompleted {
                feature_slug: s,
                total_wps: n,
                completed_at: at,
                total_duration: d
            })
        ),
        (
            arb_wp(),
            prop::sample::select(vec![
                HistoryEntryType::Note,
                HistoryEntryType::Review,
                HistoryEntryType::Error,
                HistoryEntryType::Comment
            ]),
            arb_text(),
            arb_text()
        )
            .prop_map(|(w, t, c, a)| Payload::HistoryAdded(HistoryAdded {
                wp_id: w,
                entry_type: t,
                entry_content: c,
                author: a
            })),
        (
            prop::option::of(arb_wp()),
            prop::sample::select(vec![
                ErrorType::Validation,
                ErrorType::Runtime,
                ErrorType::Network,
                ErrorType::Auth,
                ErrorType::Unknown
            ]),
            arb_text(),
            prop::option::of(arb_text()),
            prop::option::of(arb_text())
        )
            .prop_map(|(w, t, m, s, a)| Payload::ErrorLogged(ErrorLogged {
                wp_id: w,
                error_type: t,
                error_message: m,
                stack_trace: s,
                agent_id: a
            })),
        (
            arb_wp(),
            arb_wp(),
            prop::sample::select(vec![ResolutionType::Completed, ResolutionType::Skipped, ResolutionType::Merged]),
            prop::option::of(arb_slug())
        )
            .prop_map(|(w, d, r, f)| Payload::DependencyResolved(DependencyResolved {
                wp_id: w,
                dependency_wp_id: d,
                resolution_type: r,
                feature_slug: f
            })),
    ]
}

proptest! {
    #[test]
    fn every_builder_output_validates_against_both_schemas(
        payloads in prop::collection::vec(arb_payload(), 1..8),
        start in 0u64..1_000_000,
        ms in 0u64..100_000_000_000_000,
        entropy in any::<u128>(),
        with_project in any::<bool>(),
        with_cause in any::<bool>(),
    ) {
        let mut clock = LamportClock::new(start);
        let mut f = factory(with_project);
        let at = Moment { unix_ms: ms, entropy };
        let cause = if with_cause { Some(f.causation_id(at).unwrap()) } else { None };
        let mut last_id = cause.clone().unwrap_or_default();
        for payload in payloads {
            let event = f.build(&mut clock, at, cause.as_deref(), payload).unwrap();
            assert_valid_everywhere(&event);
            prop_assert!(event.event_id > last_id, "ids in one millisecond sort in creation order");
            last_id = event.event_id.clone();
        }
    }

    #[test]
    fn monotonic_ulids_sort_in_creation_order(steps in prop::collection::vec((0u64..3, any::<u128>()), 1..300)) {
        let mut ids = crate::UlidGenerator::new();
        let mut ms = 1_000u64;
        let mut previous: Option<String> = None;
        for (advance, entropy) in steps {
            ms += advance;
            let id = ids.next(ms, entropy).unwrap().to_string();
            if let Some(p) = &previous { prop_assert!(&id > p); }
            previous = Some(id);
        }
    }
}

#[test]
fn a_wp_created_depending_on_itself_is_refused_naming_the_entry() {
    let mut clock = LamportClock::new(3);
    let mut f = factory(false);
    let created = |dependencies: &[&str]| WpCreated {
        wp_id: wp("WP02"),
        title: "Second".into(),
        dependencies: dependencies.iter().map(|d| wp(d)).collect(),
        feature_slug: "028-x".into(),
    };
    let err = f.wp_created(&mut clock, AT, None, created(&["WP01", "WP02"])).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid WPCreated event: /payload/dependencies/1: a WP cannot depend on itself (this is its own wp_id)"
    );
    assert_eq!(clock.value(), 3, "a refused event does not tick the clock");
    let event = f.wp_created(&mut clock, AT, None, created(&["WP01", "WP03"])).unwrap();
    assert_valid_everywhere(&event);
}
