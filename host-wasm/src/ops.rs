//! The product's operations, dispatched by the names the JS API gives them (`buildWpCreated`,
//! `validateEvent`, `planBatches`, `LamportClock.tick`...): one table that both faces serve. The npm
//! package's exports (`js/`) are typed entry points into it, and the plain-ABI module
//! (`host-wasm/abi`) answers `call(op, args)` with it, keeping the class instances (`LamportClock`,
//! `EventFactory`, `DependencyGraph`) as handles.
//!
//! Every answer is JSON text: a JS host hands it to `JSON.parse`, a JSON host passes it on. Adding an
//! event type adds its builder here by itself (see [`events::BUILDERS`]).

use crate::args::{Arg, Error};
use crate::clock::Clock;
use crate::events::{self, Factory};
use crate::workflow::{self, Graph};
use crate::{board, orchestrate, plans, sync};
use serde::Serialize;

/// The free functions, by JS name.
pub const FUNCTIONS: &[&str] = &[
    "buildEvent",
    "validateEvent",
    "ulid",
    "nodeId",
    "foldBoard",
    "parseTasksMd",
    "parseWpFile",
    "loadFeature",
    "planImplement",
    "planMerge",
    "planMergeMoves",
    "planAccept",
    "planMoveTask",
    "planMarkStatus",
    "planAddHistory",
    "planFinalizeTasks",
    "branchName",
    "parseBranchName",
    "parseAgentsConfig",
    "agentRoster",
    "orchestrationStart",
    "orchestrationHandle",
    "runEventDraft",
    "planBatches",
    "backoffDelayMs",
    "readBatchAnswer",
    "reactToAnswer",
];

/// Serialises an answer; it cannot fail for the core's types, but a host must not crash if it did.
pub fn to_json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::new(format!("cannot serialise the result: {e}")))
}

/// The `i`th argument; a missing trailing one is absent, as `undefined` is in JS.
fn arg<A: Arg + Clone>(args: &[A], i: usize) -> A {
    args.get(i).cloned().unwrap_or_else(A::absent)
}

/// Runs the free function `op` (a builder `build*` or a name of [`FUNCTIONS`]) on `args`.
pub fn call<A: Arg + Clone>(op: &str, args: &[A]) -> Result<String, Error> {
    let a = |i| arg(args, i);
    if let Some(event_type) = events::builder(op) {
        return to_json_text(&events::build(event_type, &a(0), &a(1))?);
    }
    match op {
        "buildEvent" => to_json_text(&events::build(events::event_type(&a(0))?, &a(1), &a(2))?),
        "validateEvent" => to_json_text(&events::validate(&a(0))),
        "ulid" => to_json_text(&events::ulid(&a(0), &a(1))?),
        "nodeId" => to_json_text(&events::node_id(&a(0), &a(1))?),
        "foldBoard" => to_json_text(&board::fold(&a(0))?),
        "parseTasksMd" => to_json_text(&workflow::parse_tasks(&a(0), &a(1))?),
        "parseWpFile" => to_json_text(&workflow::parse_wp_file(&a(0), &a(1))?),
        "loadFeature" => to_json_text(&workflow::load_feature(&a(0))?),
        "planImplement" => to_json_text(&plans::plan_implement(&a(0), &a(1), &a(2))?),
        "planMerge" => to_json_text(&plans::plan_merge(&a(0), &a(1))?),
        "planMergeMoves" => to_json_text(&plans::plan_merge_moves(&a(0), &a(1), &a(2))?),
        "planAccept" => to_json_text(&plans::plan_accept(&a(0), &a(1))?),
        "planMoveTask" => to_json_text(&plans::plan_move_task(&a(0), &a(1), &a(2))?),
        "planMarkStatus" => to_json_text(&plans::plan_mark_status(&a(0), &a(1))?),
        "planAddHistory" => to_json_text(&plans::plan_add_history(&a(0), &a(1), &a(2))?),
        "planFinalizeTasks" => to_json_text(&plans::plan_finalize_tasks(&a(0))?),
        "branchName" => to_json_text(&plans::branch_name(&a(0), &a(1))?),
        "parseBranchName" => to_json_text(&plans::parse_branch_name(&a(0))?),
        "parseAgentsConfig" => to_json_text(&orchestrate::parse_agents_config(&a(0), &a(1))?),
        "agentRoster" => to_json_text(&orchestrate::agent_roster(&a(0), &a(1), &a(2))?),
        "orchestrationStart" => to_json_text(&orchestrate::orchestration_start(&a(0), &a(1), &a(2))?),
        "orchestrationHandle" => to_json_text(&orchestrate::orchestration_handle(&a(0), &a(1), &a(2), &a(3))?),
        "runEventDraft" => to_json_text(&orchestrate::run_event_draft(&a(0), &a(1))?),
        "planBatches" => to_json_text(&sync::plan(&a(0), &a(1), &a(2))?),
        "backoffDelayMs" => to_json_text(&sync::backoff_delay_ms(&a(0), &a(1), &a(2))?),
        "readBatchAnswer" => to_json_text(&sync::read_batch_answer(&a(0), &a(1), &a(2))?),
        "reactToAnswer" => to_json_text(&sync::react(&a(0), &a(1), &a(2))?),
        _ => Err(Error::new(format!("unknown operation `{op}`"))),
    }
}

/// An instance of one of the classes.
pub enum Object {
    LamportClock(Clock),
    EventFactory(Factory),
    DependencyGraph(Graph),
}

impl Object {
    pub fn class(&self) -> &'static str {
        match self {
            Object::LamportClock(_) => "LamportClock",
            Object::EventFactory(_) => "EventFactory",
            Object::DependencyGraph(_) => "DependencyGraph",
        }
    }
}

/// Whether `op` makes an instance: `new LamportClock`, `LamportClock.fromJSON`, `new EventFactory`,
/// `new DependencyGraph`.
pub fn is_constructor(op: &str) -> bool {
    op.starts_with("new ") || op == "LamportClock.fromJSON"
}

/// Runs a constructor (see [`is_constructor`]).
pub fn construct<A: Arg + Clone>(op: &str, args: &[A]) -> Result<Object, Error> {
    let a = |i| arg(args, i);
    Ok(match op {
        "new LamportClock" => Object::LamportClock(Clock::new(&a(0), &a(1))?),
        "LamportClock.fromJSON" => Object::LamportClock(Clock::from_file(&a(0))?),
        "new EventFactory" => Object::EventFactory(Factory::new(&a(0))?),
        "new DependencyGraph" => Object::DependencyGraph(Graph::new(&a(0))?),
        _ => return Err(Error::new(format!("unknown constructor `{op}`"))),
    })
}

/// Runs method `method` (`tick`, `build`, `readyToStart`...) of a `LamportClock`.
pub fn clock_method<A: Arg + Clone>(clock: &mut Clock, method: &str, args: &[A]) -> Result<String, Error> {
    let a = |i| arg(args, i);
    match method {
        "value" => to_json_text(&clock.value()),
        "nodeId" => to_json_text(&clock.node_id.to_string()),
        "tick" => to_json_text(&clock.tick()?),
        "receive" => to_json_text(&clock.receive(&a(0))?),
        "toJSON" => to_json_text(&clock.to_file(&a(0))?),
        _ => Err(unknown_method("LamportClock", method)),
    }
}

/// Runs method `method` of an `EventFactory`; `build` takes the clock to tick.
pub fn factory_method<A: Arg + Clone>(
    factory: &mut Factory,
    clock: Option<&mut Clock>,
    method: &str,
    args: &[A],
) -> Result<String, Error> {
    let a = |i| arg(args, i);
    match (method, clock) {
        ("build", Some(clock)) => to_json_text(&factory.build(&a(0), &mut clock.clock, &a(2), &a(3))?),
        ("build", None) => Err(Error::field("clock", "expected a LamportClock")),
        ("causationId", _) => to_json_text(&factory.causation_id(&a(0), &a(1))?),
        ("identity", _) => to_json_text(factory.identity()),
        _ => Err(unknown_method("EventFactory", method)),
    }
}

/// Runs method `method` of a `DependencyGraph`.
pub fn graph_method<A: Arg + Clone>(graph: &Graph, method: &str, args: &[A]) -> Result<String, Error> {
    let a = |i| arg(args, i);
    match method {
        "workPackages" => to_json_text(&graph.work_packages()),
        "dependenciesOf" => to_json_text(graph.dependencies_of(&a(0))?),
        "dependentsOf" => to_json_text(graph.dependents_of(&a(0))?),
        "topologicalOrder" => to_json_text(&graph.topological_order()),
        "unblockedBy" => to_json_text(&graph.unblocked_by(&a(0), &a(1))?),
        "readyToStart" => to_json_text(&graph.ready_to_start(&a(0))?),
        "featureComplete" => to_json_text(&graph.feature_complete(&a(0))?),
        "toJSON" => to_json_text(graph.view()),
        _ => Err(unknown_method("DependencyGraph", method)),
    }
}

fn unknown_method(class: &str, method: &str) -> Error {
    Error::new(format!("unknown operation `{class}.{method}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run(op: &str, args: Value) -> Result<String, Error> {
        let args: Vec<&Value> = args.as_array().expect("an array").iter().collect();
        call(op, &args)
    }

    #[test]
    fn every_builder_and_function_is_dispatched() {
        for (builder, _) in events::BUILDERS {
            let err = run(builder, json!([])).expect_err("no context");
            assert!(err.message.starts_with("context: "), "{builder}: {}", err.message);
        }
        for op in FUNCTIONS {
            if let Err(err) = run(op, json!([])) {
                assert!(!err.message.starts_with("unknown operation"), "{op} is not dispatched");
            }
        }
        assert_eq!(run("nope", json!([])).unwrap_err().message, "unknown operation `nope`");
    }

    #[test]
    fn unknown_payload_keys_are_refused_naming_the_key() {
        let context =
            json!({"nodeId": "0123456789ab", "teamSlug": "t", "lamportClock": 0, "nowMs": 0, "entropyHex": "0"});
        let payload = json!({"wp_id": "WP01", "previous_status": "planned", "new_status": "doing", "new_statu": "x"});
        let err = run("buildWpStatusChanged", json!([context, payload])).unwrap_err();
        assert!(err.message.starts_with("payload.new_statu: unknown key"), "{}", err.message);
    }

    #[test]
    fn messages_are_one_line_with_long_values_cut() {
        let long = "W".repeat(10_000);
        let context =
            json!({"nodeId": "0123456789ab", "teamSlug": "t", "lamportClock": 0, "nowMs": 0, "entropyHex": "0"});
        let payload = json!({"wp_id": long, "previous_status": "planned", "new_status": "doing"});
        let err = run("buildWpStatusChanged", json!([context, payload])).unwrap_err();
        assert!(err.message.starts_with("payload.wp_id: "), "{}", err.message);
        assert!(err.message.chars().count() <= crate::args::MAX_MESSAGE_CHARS + 1, "{}", err.message);
        assert!(err.message.contains('…'), "{}", err.message);
        let err = run("parseTasksMd", json!(["# T\n\n## WP01 x\n", "a\nb"])).map(|_| ()).err();
        assert!(err.is_none_or(|e| !e.message.contains('\n')));
        let err = run("buildWpStatusChanged", json!([context, "x"])).unwrap_err();
        assert!(!err.message.contains("struct"), "{}", err.message);
    }
}
