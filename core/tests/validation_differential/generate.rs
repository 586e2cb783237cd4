//! Events for the differential test: valid ones from the core's builders, then mutated.
//!
//! A small seeded generator rather than proptest strategies: in a debug build a tree of strategies this
//! size costs about a millisecond a case, this costs microseconds, so 100,000 cases stay a CI-sized run.

use serde_json::{Map, Number, Value, json};
use spec_kitty_core::events::{
    AssignmentPhase, DependencyResolved, ErrorLogged, ErrorType, FeatureCompleted, FeatureCreated, HistoryAdded,
    HistoryEntryType, ResolutionType, WpAssigned, WpCreated, WpStatusChanged,
};
use spec_kitty_core::{EventFactory, Identity, LamportClock, Lane, Moment, NodeId, Payload, ProjectIdentity, WpId};
use std::sync::OnceLock;

/// SplitMix64: a seed in, a deterministic stream of choices out.
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// One of `choices`, each as likely as its weight.
    fn weighted<T: Copy>(&mut self, choices: &[(u32, T)]) -> T {
        let total: u32 = choices.iter().map(|(weight, _)| weight).sum();
        let mut roll = self.below(total as usize) as u32;
        for (weight, choice) in choices {
            if roll < *weight {
                return *choice;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }
}

// ---------------------------------------------------------------------------------------------------
// Valid events, from the builders

fn wp_id(rng: &mut SeededRng) -> WpId {
    format!("WP{:02}", rng.below(100)).parse().expect("two digits")
}

const TEXTS: &[&str] = &["Event Factory", "é", "🦀 crab", "line\nbreak", "\"quoted\"", "x", "a\u{0}b", "tab\t"];

/// Characters from several scripts and planes, for strings no list foresees.
fn any_char(rng: &mut SeededRng) -> char {
    let ranges = [(0x20, 0x7e), (0x0, 0x1f), (0xa0, 0x24f), (0x660, 0x669), (0x4e00, 0x4e80), (0x1f600, 0x1f64f)];
    let (low, high) = rng.pick(&ranges);
    char::from_u32(low + rng.below((high - low + 1) as usize) as u32).expect("no surrogates in these ranges")
}

fn random_text(rng: &mut SeededRng, min: usize, max: usize) -> String {
    let len = min + rng.below(max - min + 1);
    (0..len).map(|_| any_char(rng)).collect()
}

fn text(rng: &mut SeededRng) -> String {
    if rng.chance(2) { rng.pick(TEXTS).to_string() } else { random_text(rng, 1, 12) }
}

fn from_alphabet(rng: &mut SeededRng, alphabet: &str, len: usize) -> String {
    let alphabet = alphabet.as_bytes();
    (0..len).map(|_| char::from(rng.pick(alphabet))).collect()
}

fn feature_slug(rng: &mut SeededRng) -> String {
    let len = 1 + rng.below(12);
    format!("{:03}-{}", rng.below(1000), from_alphabet(rng, "abcdefghijklmnopqrstuvwxyz0123456789-", len))
}

const VALID_DATE_TIMES: &[&str] =
    &["2026-02-04T10:46:03.000Z", "2024-02-29T23:59:60Z", "2026-02-04t10:46:03+05:30", "0000-01-01T00:00:00z"];

fn payload(rng: &mut SeededRng) -> Payload {
    let maybe = |rng: &mut SeededRng, make: fn(&mut SeededRng) -> String| rng.chance(2).then(|| make(rng));
    let date_time = |rng: &mut SeededRng| rng.pick(VALID_DATE_TIMES).to_string();
    match rng.below(8) {
        0 => Payload::WpStatusChanged(WpStatusChanged {
            wp_id: wp_id(rng),
            previous_status: rng.pick(&Lane::ALL),
            new_status: rng.pick(&Lane::ALL),
            changed_by: text(rng),
            feature_slug: maybe(rng, feature_slug),
        }),
        1 => {
            // Drawn in the fields' order, so a seed makes the same event as before.
            let (own, title) = (wp_id(rng), text(rng));
            // The builders refuse a WP that depends on itself (the mutations may still put its id there).
            let dependencies = (0..rng.below(4)).map(|_| wp_id(rng)).filter(|dependency| *dependency != own).collect();
            Payload::WpCreated(WpCreated { wp_id: own, title, dependencies, feature_slug: text(rng) })
        }
        2 => Payload::WpAssigned(WpAssigned {
            wp_id: wp_id(rng),
            agent_id: text(rng),
            phase: rng.pick(&[AssignmentPhase::Implementation, AssignmentPhase::Review]),
            retry_count: rng.next_u64() as u32,
            feature_slug: maybe(rng, feature_slug),
        }),
        3 => Payload::FeatureCreated(FeatureCreated {
            feature_slug: feature_slug(rng),
            feature_number: format!("{:03}", rng.below(1000)),
            target_branch: text(rng),
            wp_count: rng.next_u64() as u32,
            created_at: maybe(rng, date_time),
        }),
        4 => Payload::FeatureCompleted(FeatureCompleted {
            feature_slug: text(rng),
            total_wps: rng.next_u64() as u32,
            completed_at: maybe(rng, date_time),
            total_duration: maybe(rng, text),
        }),
        5 => Payload::HistoryAdded(HistoryAdded {
            wp_id: wp_id(rng),
            entry_type: rng.pick(&[
                HistoryEntryType::Note,
                HistoryEntryType::Review,
                HistoryEntryType::Error,
                HistoryEntryType::Comment,
            ]),
            entry_content: text(rng),
            author: text(rng),
        }),
        6 => Payload::ErrorLogged(ErrorLogged {
            wp_id: rng.chance(2).then(|| wp_id(rng)),
            error_type: rng.pick(&[
                ErrorType::Validation,
                ErrorType::Runtime,
                ErrorType::Network,
                ErrorType::Auth,
                ErrorType::Unknown,
            ]),
            error_message: text(rng),
            stack_trace: maybe(rng, text),
            agent_id: maybe(rng, text),
        }),
        _ => Payload::DependencyResolved(DependencyResolved {
            wp_id: wp_id(rng),
            dependency_wp_id: wp_id(rng),
            resolution_type: rng.pick(&[ResolutionType::Completed, ResolutionType::Skipped, ResolutionType::Merged]),
            feature_slug: maybe(rng, feature_slug),
        }),
    }
}

/// An event as the core's builder makes it (and so already passed by the core's own validator).
pub fn built_event(rng: &mut SeededRng) -> Value {
    let mut factory = EventFactory::new(Identity {
        node_id: node_ids()[rng.below(node_ids().len())].clone(),
        team_slug: text(rng),
        project: rng
            .chance(2)
            .then(|| ProjectIdentity { uuid: "5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a69".into(), slug: text(rng) }),
    });
    let at = Moment { unix_ms: rng.next_u64() >> 24, entropy: u128::from(rng.next_u64()) << 16 };
    let cause = rng.chance(2).then(|| factory.causation_id(at).expect("a ULID"));
    let mut clock = LamportClock::new((rng.next_u64() >> rng.below(64)).min(LamportClock::MAX - 1));
    let payload = payload(rng);
    match factory.build(&mut clock, at, cause.as_deref(), payload) {
        Ok(event) => event.to_value(),
        Err(error) => panic!("the builder refused what it was given: {error}"),
    }
}

fn node_ids() -> &'static [NodeId] {
    static NODE_IDS: OnceLock<Vec<NodeId>> = OnceLock::new();
    NODE_IDS.get_or_init(|| ["alice", "bob", "ci"].map(|user| NodeId::from_host_and_user("host", user)).to_vec())
}

/// Built events to start from: building one costs more in a debug build than checking it twice, so each
/// case starts from one of these and its mutations make it its own.
fn base_event(rng: &mut SeededRng) -> Value {
    static BASE_EVENTS: OnceLock<Vec<Value>> = OnceLock::new();
    let events = BASE_EVENTS.get_or_init(|| {
        let mut rng = SeededRng::new(0x5eed);
        (0..2048).map(|_| built_event(&mut rng)).collect()
    });
    events[rng.below(events.len())].clone()
}

// ---------------------------------------------------------------------------------------------------
// Values to put where they do and do not belong

/// Every property name the schema knows, and a few it does not.
#[rustfmt::skip]
const KEYS: &[&str] = &[
    "event_id", "event_type", "aggregate_id", "aggregate_type", "payload", "node_id", "lamport_clock",
    "causation_id", "timestamp", "team_slug", "project_uuid", "project_slug", "wp_id", "previous_status",
    "new_status", "changed_by", "feature_slug", "title", "dependencies", "agent_id", "phase", "retry_count",
    "feature_number", "target_branch", "wp_count", "created_at", "completed_at", "total_wps", "total_duration",
    "entry_type", "entry_content", "author", "error_type", "error_message", "stack_trace", "dependency_wp_id",
    "resolution_type", "extra", "", "a/b~c",
];

#[rustfmt::skip]
const BOUNDARY_STRINGS: &[&str] = &[
    "", " ", "x", "é", "🦀", "\u{0}", "\u{2028}", "null", "0",
    // Work package ids
    "WP01", "WP99", "WP00", "WP1", "WP001", "wp01", "WP\u{661}\u{662}", "WP０１", "WP01\n", "\nWP01", "WP 1",
    // ULIDs: 25, 26, 27 characters, lower case, the letters Crockford leaves out
    "01JKH5Q8ZX6A7B8C9D0E1F2G3", "01JKH5Q8ZX6A7B8C9D0E1F2G3H", "01JKH5Q8ZX6A7B8C9D0E1F2G3HJ",
    "01jkh5q8zx6a7b8c9d0e1f2g3h", "01JKH5Q8ZX6A7B8C9D0E1F2G3I", "01JKH5Q8ZX6A7B8C9D0E1F2G3L",
    "01JKH5Q8ZX6A7B8C9D0E1F2G3O", "01JKH5Q8ZX6A7B8C9D0E1F2G3U", "01JKH5Q8ZX6A7B8C9D0E1F2G3\u{c9}",
    // Node ids and UUIDs
    "d036a097a835", "d036a097a83", "d036a097a8355", "D036A097A835", "d036a097a83g",
    "5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a69", "5f0c6c8e-3b1f-1c1a-9a51-0d2f3c4b5a69",
    "5f0c6c8e-3b1f-4c1a-ca51-0d2f3c4b5a69", "5F0C6C8E-3B1F-4C1A-9A51-0D2F3C4B5A69",
    // Features
    "028-cli-event-emission-sync", "028-", "28-x", "028-X", "028_x", "028-é", "028", "28", "0280",
    "\u{660}\u{662}\u{668}",
    // Every enum's values, and near misses
    "WPStatusChanged", "WPCreated", "WPAssigned", "FeatureCreated", "FeatureCompleted", "HistoryAdded",
    "ErrorLogged", "DependencyResolved", "wpcreated", "WorkPackage", "Feature", "workpackage", "planned",
    "doing", "for_review", "done", "Done", "implementation", "review", "note", "error", "comment", "validation",
    "runtime", "network", "auth", "unknown", "completed", "skipped", "merged", "local",
];

#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "0", "1", "-1", "1.0", "-0.0", "0.5", "1.5", "-1.5", "1e300", "-1e300", "1e-300", "-9223372036854775808",
    "9223372036854775807", "18446744073709551615", "18446744073709551616", "4294967296", "1.8446744073709552e19",
    "9007199254740993", "-0",
];

fn number(rng: &mut SeededRng) -> Value {
    match rng.below(4) {
        0 | 1 => serde_json::from_str(rng.pick(NUMBERS)).expect("a JSON number"),
        2 => Value::from(rng.next_u64() as i64 >> rng.below(64)),
        _ => Number::from_f64(f64::from_bits(rng.next_u64())).map_or(Value::Null, Value::Number),
    }
}

/// Date-times put together from plausible and broken parts: leap seconds with and without the offsets
/// that put them at 23:59 UTC, missing seconds, lower-case `t`/`z`, offsets out of range, or a valid one
/// with one character replaced.
fn odd_date_time(rng: &mut SeededRng) -> String {
    if rng.chance(4) {
        let mut chars: Vec<char> = rng.pick(VALID_DATE_TIMES).chars().collect();
        let at = rng.below(chars.len());
        chars[at] =
            if rng.chance(2) { rng.pick(&['0', '9', 'T', 't', 'Z', ':', '-', '+', '.', ' ']) } else { any_char(rng) };
        return chars.into_iter().collect();
    }
    let year = rng.pick(&["2026", "2024", "2000", "1900", "2023", "0000", "9999", "202"]);
    let separator = if rng.chance(10) { "/" } else { "-" };
    let month = rng.pick(&["01", "02", "04", "12", "00", "13", "1"]);
    let day = rng.pick(&["01", "28", "29", "30", "31", "00", "32"]);
    let t = rng.pick(&["T", "T", "t", " ", "", "TT"]);
    let hour = rng.pick(&["00", "12", "22", "23", "24", "1"]);
    let minute = rng.pick(&["00", "29", "59", "60"]);
    let second = rng.pick(&[":00", ":59", ":60", ":60", ":61", "", ":6"]);
    let fraction = rng.pick(&["", "", ".", ".0", ".123456789", ".x"]);
    let zone = rng.pick(&[
        "Z",
        "z",
        "+00:00",
        "-00:00",
        "+01:00",
        "-01:00",
        "+00:30",
        "-00:01",
        "+23:59",
        "-23:59",
        "+24:00",
        "+01:60",
        "+0100",
        "",
        "Z ",
        "+01:00:00",
        "+1:00",
    ]);
    format!("{year}{separator}{month}{separator}{day}{t}{hour}:{minute}{second}{fraction}{zone}")
}

fn string(rng: &mut SeededRng) -> String {
    #[derive(Clone, Copy)]
    enum Kind {
        Boundary,
        DateTime,
        UlidLike,
        HexLike,
        UuidLike,
        Random,
        Long,
    }
    match rng.weighted(&[
        (6, Kind::Boundary),
        (2, Kind::DateTime),
        (1, Kind::UlidLike),
        (1, Kind::HexLike),
        (1, Kind::UuidLike),
        (2, Kind::Random),
        (1, Kind::Long),
    ]) {
        Kind::Boundary => rng.pick(BOUNDARY_STRINGS).to_string(),
        Kind::DateTime => odd_date_time(rng),
        Kind::UlidLike => {
            let len = 25 + rng.below(3);
            let alphabet =
                if rng.chance(4) { "0123456789abcdefghjkmnpqrstvwxyz" } else { "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" };
            from_alphabet(rng, alphabet, len)
        }
        Kind::HexLike => {
            let len = 11 + rng.below(3);
            let alphabet = if rng.chance(4) { "0123456789abcdefABCDEF" } else { "0123456789abcdef" };
            from_alphabet(rng, alphabet, len)
        }
        Kind::UuidLike => {
            let hex = |rng: &mut SeededRng, len| from_alphabet(rng, "0123456789abcdef", len);
            let version = rng.pick(&["4", "4", "1", "A"]);
            let variant = rng.pick(&["8", "9", "a", "b", "c", "B"]);
            let parts = (hex(rng, 8), hex(rng, 4), hex(rng, 3), hex(rng, 3), hex(rng, 12));
            format!("{}-{}-{version}{}-{variant}{}-{}", parts.0, parts.1, parts.2, parts.3, parts.4)
        }
        Kind::Random => random_text(rng, 0, 6),
        Kind::Long => "x".repeat(1000),
    }
}

fn scalar(rng: &mut SeededRng) -> Value {
    match rng.below(12) {
        0..=5 => Value::String(string(rng)),
        6..=8 => number(rng),
        9 | 10 => Value::Null,
        _ => Value::Bool(rng.chance(2)),
    }
}

fn any_value(rng: &mut SeededRng) -> Value {
    match rng.below(10) {
        0..=7 => scalar(rng),
        8 => Value::Array((0..rng.below(4)).map(|_| scalar(rng)).collect()),
        _ if rng.chance(3) => json!({}),
        _ => base_event(rng)["payload"].take(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Mutations

fn object_at<'e>(event: &'e mut Value, rng: &mut SeededRng) -> Option<&'e mut Map<String, Value>> {
    if rng.chance(2) { event.as_object_mut() } else { event.get_mut("payload").and_then(Value::as_object_mut) }
}

/// A key of the envelope or the payload set to any value: wrong types, boundary strings, null.
fn set_a_key(rng: &mut SeededRng, event: &mut Value) {
    let (key, value) = (rng.pick(KEYS), any_value(rng));
    if let Some(object) = object_at(event, rng) {
        object.insert(key.to_string(), value);
    }
}

fn remove_a_key(rng: &mut SeededRng, event: &mut Value) {
    let key = rng.pick(KEYS);
    if let Some(object) = object_at(event, rng) {
        object.shift_remove(key);
    }
}

/// Another event type's name (so the payload is another type's) or garbage.
fn change_the_event_type(rng: &mut SeededRng, event: &mut Value) {
    let name = string(rng);
    if let Some(object) = event.as_object_mut() {
        object.insert("event_type".into(), Value::String(name));
    }
}

/// A whole other payload, often another event type's, or something that is not an object.
fn replace_the_payload(rng: &mut SeededRng, event: &mut Value) {
    let payload = any_value(rng);
    if let Some(object) = event.as_object_mut() {
        object.insert("payload".into(), payload);
    }
}

fn replace_the_event(rng: &mut SeededRng, event: &mut Value) {
    *event = any_value(rng);
}

/// Unknown keys: past four per known property, jsonschema visits properties in the schema's order.
fn crowd_with_unknown_keys(rng: &mut SeededRng, event: &mut Value) {
    let count = rng.below(60);
    if let Some(object) = object_at(event, rng) {
        for index in 0..count {
            object.insert(format!("unknown_{index}"), Value::from(index));
        }
    }
}

fn reorder_keys(rng: &mut SeededRng, event: &mut Value) {
    let (reverse, turn) = (rng.chance(2), rng.below(16));
    if let Some(object) = object_at(event, rng) {
        let mut members: Vec<(String, Value)> = std::mem::take(object).into_iter().collect();
        if reverse {
            members.reverse();
        }
        let len = members.len().max(1);
        members.rotate_left(turn % len);
        object.extend(members);
    }
}

type Mutation = fn(&mut SeededRng, &mut Value);

const MUTATIONS: &[(u32, Mutation)] = &[
    (10, set_a_key),
    (4, remove_a_key),
    (2, change_the_event_type),
    (2, replace_the_payload),
    (1, replace_the_event),
    (1, crowd_with_unknown_keys),
    (2, reorder_keys),
];

/// A built event and up to four mutations of it.
pub fn event_case(rng: &mut SeededRng) -> Value {
    let mut event = base_event(rng);
    for _ in 0..rng.below(5) {
        let mutation = rng.weighted(MUTATIONS);
        mutation(rng, &mut event);
    }
    event
}
