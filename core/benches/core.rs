//! Core targets: build + validate one event (<= 20 µs), fold 10,000 events into a board (<= 10 ms).
//!
//! Validation alone, the core's hand-written rules against jsonschema 0.61 (what the core used before, and
//! still the oracle of `tests/validation_differential.rs`): one valid and one invalid event each, and what
//! compiling the jsonschema validator cost every process.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use spec_kitty_core::board::Board;
use spec_kitty_core::events::{HistoryAdded, WpStatusChanged};
use spec_kitty_core::validation::{EVENTS_SCHEMA, is_valid_event, validate_event};
use spec_kitty_core::{EventFactory, Identity, LamportClock, Lane, Moment, NodeId, Payload, WpId};
use std::hint::black_box;

fn factory() -> EventFactory {
    EventFactory::new(Identity {
        node_id: NodeId::from_host_and_user("bench", "user"),
        team_slug: "team".into(),
        project: None,
    })
}

fn payload(i: u64) -> Payload {
    let wp: WpId = format!("WP{:02}", i % 100).parse().expect("two digits");
    if i.is_multiple_of(2) {
        Payload::WpStatusChanged(WpStatusChanged::new(wp, Lane::Planned, Lane::Doing))
    } else {
        Payload::HistoryAdded(HistoryAdded::note(wp, "benchmark note"))
    }
}

fn build_and_validate(c: &mut Criterion) {
    let mut f = factory();
    let mut clock = LamportClock::default();
    let mut ms = 1_770_000_000_000u64;
    c.bench_function("build_and_validate_one_event", |b| {
        b.iter(|| {
            ms += 1;
            let at = Moment { unix_ms: ms, entropy: u128::from(ms) * 7919 };
            black_box(f.build(&mut clock, at, None, payload(ms)).expect("valid"))
        })
    });
}

fn fold_board(c: &mut Criterion) {
    let mut f = factory();
    let mut clock = LamportClock::default();
    let events: Vec<_> = (0..10_000u64)
        .map(|i| {
            let at = Moment { unix_ms: 1_770_000_000_000 + i, entropy: u128::from(i) };
            f.build(&mut clock, at, None, payload(i)).expect("valid")
        })
        .collect();
    c.bench_function("fold_10000_events_into_board", |b| b.iter(|| black_box(Board::from_events(&events))));
}

fn jsonschema_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(EVENTS_SCHEMA).expect("the schema is JSON");
    jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles")
}

fn validate_alone(c: &mut Criterion) {
    let mut clock = LamportClock::default();
    let at = Moment { unix_ms: 1_770_000_000_000, entropy: 7919 };
    let valid = factory().build(&mut clock, at, None, payload(0)).expect("valid").to_value();
    let mut invalid = valid.clone();
    invalid["payload"]["wp_id"] = json!("WP1");
    invalid["lamport_clock"] = json!(-1);
    invalid["timestamp"] = json!("2026-02-04T10:46Z");
    let oracle = jsonschema_validator();

    c.bench_function("validate_valid_event/core", |b| b.iter(|| black_box(validate_event(black_box(&valid)))));
    c.bench_function("validate_valid_event/jsonschema", |b| {
        b.iter(|| black_box(oracle.iter_errors(black_box(&valid)).count()))
    });
    c.bench_function("validate_invalid_event/core", |b| b.iter(|| black_box(validate_event(black_box(&invalid)))));
    c.bench_function("validate_invalid_event/jsonschema", |b| {
        b.iter(|| {
            let issues: Vec<(String, String)> = oracle
                .iter_errors(black_box(&invalid))
                .map(|error| (error.instance_path().to_string(), error.to_string()))
                .collect();
            black_box(issues)
        })
    });
    c.bench_function("is_valid_event/core", |b| b.iter(|| black_box(is_valid_event(black_box(&valid)))));
    c.bench_function("is_valid_event/jsonschema", |b| b.iter(|| black_box(oracle.is_valid(black_box(&valid)))));
    c.bench_function("compile_jsonschema_validator", |b| b.iter(|| black_box(jsonschema_validator())));
}

criterion_group!(benches, build_and_validate, fold_board, validate_alone);
criterion_main!(benches);
