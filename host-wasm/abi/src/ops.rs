//! The operations of the plain-ABI module: the same names, arguments and answers as the Node parity
//! runner (`tests/parity/run.cjs`) gives through the npm package, so one set of cases checks both.
//! Dispatch only: every reading of an argument and every decision is in `spec-kitty-wasm`'s
//! host-neutral functions or the core.

use serde::Serialize;
use serde_json::{Value, json};
use spec_kitty_wasm::args::{Arg, Error, NULL};
use spec_kitty_wasm::clock::Clock;
use spec_kitty_wasm::events::{self, BUILDERS, Factory};
use spec_kitty_wasm::{board, orchestrate, plans, sync, workflow};

/// The JSON answer to `op` on `args` (JSON text of an array of arguments): the result, or
/// `{"error": message}`.
pub fn call(op: &str, args: &str) -> String {
    let answer = match serde_json::from_str::<Value>(args) {
        Ok(Value::Array(args)) => run(op, &args),
        Ok(_) => Err(Error::field("args", "expected a JSON array")),
        Err(err) => Err(Error::field("args", err)),
    };
    answer.unwrap_or_else(|err| error_json(&err.message))
}

/// What a JS host's `{error: err.message}` gives.
pub fn error_json(message: &str) -> String {
    json!({ "error": message }).to_string()
}

fn text<T: Serialize>(value: &T) -> Result<String, Error> {
    workflow::to_json_text(value)
}

fn value<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::new(format!("cannot serialise the result: {e}")))
}

fn run(op: &str, args: &[Value]) -> Result<String, Error> {
    // A missing trailing argument is `undefined` in JS: absent, like `null`.
    let arg = |i: usize| args.get(i).unwrap_or(&NULL);
    match op {
        "build" => {
            let name = arg(0).as_str().unwrap_or_default();
            let (_, event_type) = BUILDERS
                .iter()
                .find(|(builder, _)| *builder == name)
                .ok_or_else(|| Error::new(format!("unknown builder `{name}`")))?;
            Ok(events::build(*event_type, &arg(1), &arg(2))?.0.to_json())
        }
        "buildEvent" => Ok(events::build(events::event_type(&arg(0))?, &arg(1), &arg(2))?.0.to_json()),
        "factory" => factory(&arg(0), &arg(1), &arg(2)),
        "validate" => text(&events::validate(&arg(0))),
        "ulid" => text(&events::ulid(&arg(0), &arg(1))?),
        "nodeId" => text(&events::node_id(&arg(0), &arg(1))?),
        "clock" => clock(&arg(0), &arg(1), &arg(2), &arg(3)),
        "clockFile" => {
            let clock = Clock::from_file(&arg(0))?;
            text(&json!({ "value": clock.value(), "node_id": clock.node_id.to_string() }))
        }
        "fold" => text(&board::fold(&arg(0))?),
        "tasks" => text(&workflow::parse_tasks(&arg(0), &arg(1))?),
        "wpFile" => workflow::wp_file_json(&workflow::parse_wp_file(&arg(0), &arg(1))?),
        "feature" => workflow::load_feature(&arg(0)),
        "graph" => graph(&arg(0), &arg(1), &arg(2)),
        "planImplement" => text(&plans::plan_implement(&arg(0), &arg(1), &arg(2))?),
        "planMerge" => text(&plans::plan_merge(&arg(0), &arg(1))?),
        "planMergeMoves" => text(&plans::plan_merge_moves(&arg(0), &arg(1), &arg(2))?),
        "planAccept" => text(&plans::plan_accept(&arg(0), &arg(1))?),
        "planMoveTask" => text(&plans::plan_move_task(&arg(0), &arg(1), &arg(2))?),
        "planMarkStatus" => text(&plans::plan_mark_status(&arg(0), &arg(1))?),
        "planAddHistory" => text(&plans::plan_add_history(&arg(0), &arg(1), &arg(2))?),
        "planFinalizeTasks" => text(&plans::plan_finalize_tasks(&arg(0))?),
        "branchName" => text(&plans::branch_name(&arg(0), &arg(1))?),
        "parseBranchName" => text(&plans::parse_branch_name(&arg(0))?),
        "parseAgentsConfig" => text(&orchestrate::parse_agents_config(&arg(0), &arg(1))?),
        "agentRoster" => text(&orchestrate::agent_roster(&arg(0), &arg(1), &arg(2))?),
        "orchestrationStart" => text(&orchestrate::orchestration_start(&arg(0), &arg(1), &arg(2))?),
        "orchestrationHandle" => text(&orchestrate::orchestration_handle(&arg(0), &arg(1), &arg(2), &arg(3))?),
        "runEventDraft" => text(&orchestrate::run_event_draft(&arg(0), &arg(1))?),
        "plan" => text(&sync::plan(&arg(0), &arg(1), &arg(2))?),
        "backoff" => text(&sync::backoff_delay_ms(&arg(0), &arg(1), &arg(2))?),
        "answer" => text(&sync::read_batch_answer(&arg(0), &arg(1), &arg(2))?),
        "react" => text(&sync::react(&arg(0), &arg(1), &arg(2))?),
        _ => Err(Error::new(format!("unknown op {op}"))),
    }
}

fn steps<'a>(field: &str, steps: &'a Value) -> Result<&'a [Value], Error> {
    steps.as_array().map(Vec::as_slice).ok_or_else(|| Error::field(field, "expected an array"))
}

/// An `EventFactory` and a `LamportClock` for one identity, then each step built in turn; a refused
/// step answers its error in place and the others go on.
fn factory(identity: &&Value, clock_value: &&Value, step_list: &&Value) -> Result<String, Error> {
    let mut factory = Factory::new(identity)?;
    let mut clock = Clock::new(&identity.prop("nodeId"), clock_value)?;
    let mut built = Vec::new();
    for step in steps("steps", step_list)? {
        let event =
            factory.build(&step.prop("eventType"), &mut clock.clock, &step.prop("payload"), &step.prop("options"));
        built.push(match event {
            Ok(event) => event.to_value(),
            Err(err) => json!({ "error": err.message }),
        });
    }
    text(&json!({ "events": built, "clock": clock.value() }))
}

/// A `LamportClock` through `"tick"` and `{"receive": n}` steps, then its `clock.json`.
fn clock(node_id: &&Value, start: &&Value, step_list: &&Value, now_ms: &&Value) -> Result<String, Error> {
    let mut clock = Clock::new(node_id, start)?;
    let mut values = Vec::new();
    for step in steps("steps", step_list)? {
        values.push(if step.as_str() == Some("tick") {
            clock.tick()?
        } else {
            clock.receive(&step.prop("receive"))?
        });
    }
    let file = clock.to_file(now_ms)?;
    text(&json!({ "values": values, "json": value(&file)? }))
}

/// A `DependencyGraph`, its JSON view and its three questions about `lanes`.
fn graph(entries: &&Value, finished: &&Value, lanes: &&Value) -> Result<String, Error> {
    let graph = workflow::Graph::new(entries)?;
    let json = value(&graph.view())?;
    let unblocked = graph.unblocked_by(finished, lanes)?;
    let ready = graph.ready_to_start(lanes)?;
    let complete = graph.feature_complete(lanes)?;
    text(&json!({ "json": json, "unblocked": unblocked, "ready": ready, "complete": complete }))
}

#[cfg(test)]
mod tests {
    use super::call;

    #[test]
    fn refused_inputs_answer_an_error_object() {
        assert_eq!(call("nope", "[]"), r#"{"error":"unknown op nope"}"#);
        assert!(call("ulid", "{").starts_with(r#"{"error":"args: "#));
        assert_eq!(call("ulid", "[]"), r#"{"error":"nowMs: required: this host has no clock"}"#);
        assert_eq!(call("nodeId", r#"["h", 1]"#), r#"{"error":"username: expected a string"}"#);
    }

    #[test]
    fn answers_as_the_native_core_does() {
        assert_eq!(call("ulid", r#"[0, "0"]"#), r#""00000000000000000000000000""#);
        assert_eq!(call("backoff", r#"[0, "0"]"#), "250");
    }
}
