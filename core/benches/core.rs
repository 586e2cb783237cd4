//! Core targets: build + validate one event (<= 20 µs), fold 10,000 events into a board (<= 10 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use spec_kitty_core::board::Board;
use spec_kitty_core::events::{HistoryAdded, WpStatusChanged};
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

criterion_group!(benches, build_and_validate, fold_board);
criterion_main!(benches);
