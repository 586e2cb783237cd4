//! Parity cases for the event model: the builders (valid and broken payloads), the ULID-keeping
//! factory, validation, ULIDs, node ids, the Lamport clock and clock.json, and the board fold.

use super::support::{Case, Rng, SAFE, error_json, error_value, instance, result_json, to_json};
use serde_json::{Value, json};
use spec_kitty_core::board::Board;
use spec_kitty_core::validation::validate_event;
use spec_kitty_core::{
    ClockFile, Event, EventFactory, EventType, Identity, LamportClock, Moment, NodeId, ProjectIdentity, UlidGenerator,
};
use spec_kitty_wasm::events::BUILDERS as BUILDER_NAMES;
use spec_kitty_wasm::payload_from_json;

/// Every event type of the core's list with its builder's name.
const BUILDERS: [(EventType, &str); EventType::ALL.len()] = {
    let mut all = [(EventType::WPStatusChanged, ""); EventType::ALL.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] = (BUILDER_NAMES[i].1, BUILDER_NAMES[i].0);
        i += 1;
    }
    all
};
const LANES: [&str; 4] = ["planned", "doing", "for_review", "done"];

pub fn cases(rng: &mut Rng, out: &mut Vec<Case>) {
    for _ in 0..400 {
        build_case(rng, out);
    }
    for _ in 0..40 {
        factory_case(rng, out);
    }
    for _ in 0..150 {
        validate_case(rng, out);
    }
    for _ in 0..80 {
        let ms = rng.below(SAFE);
        let hex = rng.hex(32);
        let entropy = u128::from_str_radix(&hex, 16).expect("generated hex");
        let expected = result_json(UlidGenerator::new().next(ms, entropy).map(|id| id.to_string()));
        out.push(Case::new("ulid", json!([ms, hex]), expected));
    }
    for _ in 0..40 {
        let (host, user) = (rng.text(6), rng.text(4));
        out.push(Case::new(
            "nodeId",
            json!([host, user]),
            to_json(&NodeId::from_host_and_user(&host, &user).to_string()),
        ));
    }
    for _ in 0..60 {
        clock_case(rng, out);
    }
    clock_file_cases(rng, out);
    for _ in 0..60 {
        fold_case(rng, out);
    }
}

/// An identity and the moment of one build, in both forms.
struct Context {
    identity: Identity,
    clock: u64,
    now_ms: u64,
    entropy_hex: String,
    causation_id: Option<String>,
}

impl Context {
    fn random(rng: &mut Rng) -> Context {
        let node_id = NodeId::from_host_and_user(&rng.word(), &rng.word());
        let team_slug = match rng.below(20) {
            0 => String::new(),
            1 => rng.nonempty_text(5),
            _ => rng.word(),
        };
        let project = rng.chance(50).then(|| ProjectIdentity {
            uuid: if rng.chance(90) { uuid_v4(rng) } else { rng.text(4) },
            slug: rng.word(),
        });
        let now_ms = rng.unix_ms();
        let causation_id = match rng.below(20) {
            0..=11 => None,
            12..=17 => {
                Some(UlidGenerator::new().next(rng.below(SAFE), u128::from(rng.next_u64())).expect("fresh").to_string())
            }
            18 => Some("01arz3ndektsv4rrffq69g5fav".to_string()),
            _ => Some(rng.text(3)),
        };
        Context {
            identity: Identity { node_id, team_slug, project },
            clock: if rng.chance(80) { rng.below(1000) } else { rng.below(SAFE) },
            now_ms,
            entropy_hex: rng.hex(32),
            causation_id,
        }
    }

    fn js(&self) -> Value {
        let mut context = identity_js(&self.identity);
        context["lamportClock"] = json!(self.clock);
        context["nowMs"] = json!(self.now_ms);
        context["entropyHex"] = json!(self.entropy_hex);
        context["causationId"] = json!(self.causation_id);
        context
    }

    fn moment(&self) -> Moment {
        Moment { unix_ms: self.now_ms, entropy: u128::from_str_radix(&self.entropy_hex, 16).expect("generated hex") }
    }

    /// What the binding does: read the payload, then build with a fresh factory and the clock's value.
    fn build(&self, event_type: EventType, payload: &Value) -> Result<Event, String> {
        let payload = payload_from_json(event_type, payload.clone())?;
        let mut factory = EventFactory::new(self.identity.clone());
        let mut clock = LamportClock::new(self.clock);
        factory.build(&mut clock, self.moment(), self.causation_id.as_deref(), payload).map_err(|e| e.to_string())
    }
}

fn identity_js(identity: &Identity) -> Value {
    json!({ "nodeId": identity.node_id.to_string(), "teamSlug": identity.team_slug, "project": identity.project })
}

fn uuid_v4(rng: &mut Rng) -> String {
    let hex = |rng: &mut Rng, n: usize| -> String { (0..n).map(|_| format!("{:x}", rng.below(16))).collect() };
    let variant = *rng.pick(&['8', '9', 'a', 'b']);
    format!("{}-{}-4{}-{variant}{}-{}", hex(rng, 8), hex(rng, 4), hex(rng, 3), hex(rng, 3), hex(rng, 12))
}

fn slug(rng: &mut Rng) -> String {
    if rng.chance(95) { format!("{:03}-{}", rng.below(1000), rng.word()) } else { rng.text(4) }
}

/// An optional payload key and how to make its value.
type OptionalKey = (&'static str, fn(&mut Rng) -> Value);

/// A payload the schema accepts, with the optional keys present or not.
fn payload(rng: &mut Rng, event_type: EventType) -> Value {
    let mut p = match event_type {
        EventType::WPStatusChanged => {
            json!({"wp_id": rng.wp_id(99), "previous_status": rng.pick(&LANES), "new_status": rng.pick(&LANES)})
        }
        EventType::WPCreated => {
            json!({"wp_id": rng.wp_id(99), "title": rng.nonempty_text(8), "feature_slug": slug(rng)})
        }
        EventType::WPAssigned => json!({
            "wp_id": rng.wp_id(99),
            "agent_id": rng.pick(&["claude", "codex", "opencode", "gemini"]),
            "phase": rng.pick(&["implementation", "review"]),
        }),
        EventType::FeatureCreated => json!({
            "feature_slug": slug(rng),
            "feature_number": format!("{:03}", rng.below(1000)),
            "target_branch": rng.pick(&["main", "2.x", "develop"]),
            "wp_count": rng.below(40),
        }),
        EventType::FeatureCompleted => json!({"feature_slug": slug(rng), "total_wps": rng.below(40)}),
        EventType::HistoryAdded => json!({
            "wp_id": rng.wp_id(99),
            "entry_type": rng.pick(&["note", "review", "error", "comment"]),
            "entry_content": rng.nonempty_text(10),
        }),
        EventType::ErrorLogged => json!({
            "error_type": rng.pick(&["validation", "runtime", "network", "auth", "unknown"]),
            "error_message": rng.nonempty_text(10),
        }),
        EventType::DependencyResolved => json!({
            "wp_id": rng.wp_id(99),
            "dependency_wp_id": rng.wp_id(99),
            "resolution_type": rng.pick(&["completed", "skipped", "merged"]),
        }),
    };
    let optional: &[OptionalKey] = match event_type {
        EventType::WPStatusChanged => &[("changed_by", |r| json!(r.word())), ("feature_slug", |r| json!(slug(r)))],
        EventType::WPCreated => &[("dependencies", |r| json!([r.wp_id(99), r.wp_id(99)]))],
        EventType::WPAssigned => &[("retry_count", |r| json!(r.below(10))), ("feature_slug", |r| json!(slug(r)))],
        EventType::FeatureCreated => &[("created_at", |_| json!("2026-02-04T10:46:03Z"))],
        EventType::FeatureCompleted => {
            &[("completed_at", |_| json!("2026-02-05T09:00:00Z")), ("total_duration", |_| json!("123.4s"))]
        }
        EventType::HistoryAdded => &[("author", |r| json!(r.word()))],
        EventType::ErrorLogged => &[
            ("wp_id", |r| json!(r.wp_id(99))),
            ("stack_trace", |r| json!(r.text(8))),
            ("agent_id", |r| json!(r.word())),
        ],
        EventType::DependencyResolved => &[("feature_slug", |r| json!(slug(r)))],
    };
    for (key, value) in optional {
        if rng.chance(50) {
            p[*key] = value(rng);
        }
    }
    p
}

/// Breaks a payload the ways callers do: missing keys, wrong types, bad enum values and ids, empty
/// strings, nulls, extra keys, or no object at all.
fn mutate(rng: &mut Rng, payload: &mut Value) {
    let keys: Vec<String> = payload.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    if keys.is_empty() {
        return;
    }
    let key = rng.pick(&keys).clone();
    match rng.below(9) {
        0 => {
            if let Some(object) = payload.as_object_mut() {
                object.shift_remove(&key);
            }
        }
        1 => payload[&key] = json!(rng.below(50)),
        2 => payload[&key] = json!(""),
        3 => payload[&key] = Value::Null,
        4 => payload[&key] = json!(rng.pick(&["WP1", "wp01", "WP001", "review", "Implementation"])),
        5 => payload["extra_key"] = json!(rng.text(3)),
        6 => payload[&key] = json!([1, "a"]),
        7 => payload[&key] = json!(-1.5),
        _ => *payload = rng.pick(&[json!("text"), json!(42), json!([]), Value::Null, json!({})]).clone(),
    }
}

fn build_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let (event_type, builder) = *rng.pick(&BUILDERS);
    let context = Context::random(rng);
    let mut p = payload(rng, event_type);
    if rng.chance(25) {
        mutate(rng, &mut p);
    }
    let expected = match context.build(event_type, &p) {
        Ok(event) => event.to_json(),
        Err(message) => error_json(message),
    };
    // Half through the typed builder, half through buildEvent.
    let (op, args) = if rng.chance(50) {
        (builder, json!([context.js(), p]))
    } else {
        ("buildEvent", json!([event_type.as_str(), context.js(), p]))
    };
    out.push(Case::new(op, args, expected));
}

fn factory_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let context = Context::random(rng);
    let mut factory = EventFactory::new(context.identity.clone());
    let mut clock = LamportClock::new(context.clock);
    let mut ms = context.now_ms;
    let identity = identity_js(&context.identity);
    let mut calls =
        vec![("new EventFactory", json!([identity])), ("new LamportClock", json!([identity["nodeId"], context.clock]))];
    let mut results = vec![Value::Null, Value::Null];
    for _ in 0..rng.range(1, 8) {
        let (event_type, _) = *rng.pick(&BUILDERS);
        let mut p = payload(rng, event_type);
        if rng.chance(10) {
            mutate(rng, &mut p);
        }
        // Mostly the same millisecond (ids then increase by one), sometimes earlier or later.
        ms = match rng.below(6) {
            0 => ms.saturating_sub(rng.below(5)),
            1 => ms + rng.below(5),
            _ => ms,
        };
        let entropy_hex = if rng.chance(10) { "ffffffffffffffffffff".to_string() } else { rng.hex(20) };
        let at = Moment { unix_ms: ms, entropy: u128::from_str_radix(&entropy_hex, 16).expect("generated hex") };
        let built = payload_from_json(event_type, p.clone())
            .and_then(|payload| factory.build(&mut clock, at, None, payload).map_err(|e| e.to_string()));
        results.push(match built {
            Ok(event) => event.to_value(),
            Err(message) => error_value(message),
        });
        let options = json!({"nowMs": ms, "entropyHex": entropy_hex});
        calls.push(("EventFactory.build", json!([instance(0), event_type.as_str(), instance(1), p, options])));
    }
    calls.push(("LamportClock.value", json!([instance(1)])));
    results.push(json!(clock.value()));
    out.push(Case::script("factory", calls, results));
}

fn validate_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let mut event = loop {
        let (event_type, _) = *rng.pick(&BUILDERS);
        let mut context = Context::random(rng);
        context.identity.team_slug = rng.word();
        context.causation_id = None;
        if let Some(project) = &mut context.identity.project {
            project.uuid = uuid_v4(rng);
        }
        if let Ok(event) = context.build(event_type, &payload(rng, event_type)) {
            break event.to_value();
        }
    };
    if rng.chance(70) {
        let in_payload = rng.chance(40);
        let target = if in_payload { &mut event["payload"] } else { &mut event };
        mutate(rng, target);
    }
    if rng.chance(5) {
        event = rng.pick(&[Value::Null, json!(42), json!("event"), json!([]), json!({})]).clone();
    }
    out.push(Case::new("validateEvent", json!([event]), to_json(&validate_event(&event))));
}

fn clock_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let node_id = NodeId::from_host_and_user(&rng.word(), &rng.word());
    let start = if rng.chance(70) { rng.below(100) } else { rng.below(SAFE) };
    let mut clock = LamportClock::new(start);
    let mut calls = vec![("new LamportClock", json!([node_id.to_string(), start]))];
    let mut answers = vec![Value::Null];
    for _ in 0..rng.range(0, 12) {
        if rng.chance(50) {
            calls.push(("LamportClock.tick", json!([instance(0)])));
            answers.push(json!(clock.tick().expect("far from u64::MAX")));
        } else {
            let remote = if rng.chance(50) { rng.below(start + 200) } else { rng.below(SAFE) };
            calls.push(("LamportClock.receive", json!([instance(0), remote])));
            answers.push(json!(clock.receive(remote).expect("far from u64::MAX")));
        }
    }
    let now_ms = rng.unix_ms();
    calls.push(("LamportClock.toJSON", json!([instance(0), now_ms])));
    answers.push(json!(ClockFile::new(clock, node_id.clone(), now_ms)));
    out.push(Case::script("clock", calls, answers));
}

fn clock_file_cases(rng: &mut Rng, out: &mut Vec<Case>) {
    for _ in 0..30 {
        let node_id = NodeId::from_host_and_user(&rng.word(), "u");
        let good = ClockFile::new(LamportClock::new(rng.below(SAFE)), node_id.clone(), rng.unix_ms()).to_json();
        let text = match rng.below(10) {
            0 => String::new(),
            1 => " \n\t".to_string(),
            2 => "{".to_string(),
            3 => "null".to_string(),
            4 => format!(r#"{{"value": -1, "node_id": "{node_id}", "updated_at": ""}}"#),
            5 => format!(r#"{{"value": 1.5, "node_id": "{node_id}", "updated_at": ""}}"#),
            6 => r#"{"value": 3, "node_id": "ABC", "updated_at": ""}"#.to_string(),
            7 => format!(r#"{{"node_id": "{node_id}", "value": 9, "updated_at": "x", "extra": [1]}}"#),
            _ => good,
        };
        let answers = match ClockFile::parse("clock.json", &text) {
            Ok(f) => vec![Value::Null, json!(f.value), json!(f.node_id.to_string())],
            Err(err) => vec![error_value(err)],
        };
        let calls = vec![
            ("LamportClock.fromJSON", json!([text])),
            ("LamportClock.value", json!([instance(0)])),
            ("LamportClock.nodeId", json!([instance(0)])),
        ];
        out.push(Case::script("clockFile", calls, answers));
    }
}

fn fold_case(rng: &mut Rng, out: &mut Vec<Case>) {
    let nodes = rng.range(1, 3) as usize;
    let mut factories: Vec<EventFactory> = (0..nodes)
        .map(|i| {
            EventFactory::new(Identity {
                node_id: NodeId::from_host_and_user(&format!("host{i}"), "user"),
                team_slug: "team".into(),
                project: None,
            })
        })
        .collect();
    let mut clocks = vec![LamportClock::default(); nodes];
    let mut events: Vec<Value> = Vec::new();
    for i in 0..rng.range(0, 25) {
        let node = rng.index(nodes);
        if rng.chance(20) {
            let seen = clocks.iter().map(LamportClock::value).max().unwrap_or(0);
            clocks[node].receive(seen).expect("small clocks");
        }
        let (event_type, _) = *rng.pick(&BUILDERS);
        let mut p = payload(rng, event_type);
        if event_type != EventType::ErrorLogged && p.get("wp_id").is_some() {
            p["wp_id"] = json!(rng.wp_id(4)); // few WPs, so events meet on the same cards
        }
        let at = Moment { unix_ms: 1_770_000_000_000 + i, entropy: u128::from(rng.next_u64()) };
        let Ok(payload) = payload_from_json(event_type, p) else { continue };
        if let Ok(event) = factories[node].build(&mut clocks[node], at, None, payload) {
            events.push(event.to_value());
        }
    }
    let mut delivered = events.clone();
    for _ in 0..rng.below(events.len() as u64 / 2 + 1) {
        let again = rng.pick(&events).clone();
        delivered.push(again);
    }
    for i in (1..delivered.len()).rev() {
        let j = rng.index(i + 1);
        delivered.swap(i, j);
    }
    let parsed: Vec<Event> =
        delivered.iter().map(|v| serde_json::from_value(v.clone()).expect("built events parse")).collect();
    out.push(Case::new("foldBoard", json!([delivered]), to_json(&Board::from_events(&parsed))));
}
