//! The operations of the plain-ABI module: the npm package's table (`spec_kitty_wasm::ops`), by the
//! JS API's names, with the class instances kept here as handles.
//!
//! - a function: `call("planBatches", [queued, maxEvents, maxBytes])`, `call("buildWpCreated", [context,
//!   payload])`: its answer;
//! - a constructor (`new LamportClock`, `LamportClock.fromJSON`, `new EventFactory`,
//!   `new DependencyGraph`): `{"handle": n}`;
//! - a method: `call("LamportClock.tick", [handle])`, `call("EventFactory.build", [factory, eventType,
//!   clock, payload, options])` (the clock is a handle too): its answer;
//! - `call("free", [handle])`: `null`; the instance is gone.

use serde_json::{Value, json};
use spec_kitty_wasm::args::Error;
use spec_kitty_wasm::ops::{self, Object};
use std::cell::RefCell;

thread_local! {
    /// The instances the host holds handles to; a handle is an index, and a freed slot stays empty.
    static OBJECTS: RefCell<Vec<Option<Object>>> = const { RefCell::new(Vec::new()) };
}

/// The JSON answer to `op` on `args` (JSON text of an array of arguments): the result, or
/// `{"error": message}`.
pub fn call(op: &str, args: &str) -> String {
    let answer = match serde_json::from_str::<Value>(args) {
        Ok(Value::Array(args)) => run(op, &args.iter().collect::<Vec<_>>()),
        Ok(_) => Err(Error::field("args", "expected a JSON array")),
        Err(err) => Err(Error::field("args", err)),
    };
    answer.unwrap_or_else(|err| error_json(&err.message))
}

/// What a JS host's `{error: err.message}` gives.
pub fn error_json(message: &str) -> String {
    json!({ "error": message }).to_string()
}

fn run(op: &str, args: &[&Value]) -> Result<String, Error> {
    if ops::is_constructor(op) {
        let object = ops::construct(op, args)?;
        let handle = OBJECTS.with_borrow_mut(|objects| {
            objects.push(Some(object));
            objects.len() - 1
        });
        return Ok(json!({ "handle": handle }).to_string());
    }
    if op == "free" {
        let handle = handle("handle", args.first())?;
        OBJECTS.with_borrow_mut(|objects| objects.get_mut(handle).and_then(Option::take));
        return Ok("null".to_string());
    }
    let Some((class, method)) = op.split_once('.') else {
        return ops::call(op, args);
    };
    let this = handle("this", args.first())?;
    let rest = args.get(1..).unwrap_or_default();
    // Taken out while it runs, so that `EventFactory.build` can borrow its clock from the same table.
    let mut object = OBJECTS
        .with_borrow_mut(|objects| objects.get_mut(this).and_then(Option::take))
        .ok_or_else(|| Error::field("this", format!("no {class} has handle {this} (freed?)")))?;
    let answer = method_of(&mut object, class, method, rest);
    OBJECTS.with_borrow_mut(|objects| objects[this] = Some(object));
    answer
}

fn method_of(object: &mut Object, class: &str, method: &str, args: &[&Value]) -> Result<String, Error> {
    if object.class() != class {
        return Err(Error::field("this", format!("expected a {class}, got a {}", object.class())));
    }
    match object {
        Object::LamportClock(clock) => ops::clock_method(clock, method, args),
        Object::DependencyGraph(graph) => ops::graph_method(graph, method, args),
        Object::EventFactory(factory) if method == "build" => {
            let clock_handle = handle("clock", args.get(1))?;
            OBJECTS.with_borrow_mut(|objects| match objects.get_mut(clock_handle) {
                Some(Some(Object::LamportClock(clock))) => ops::factory_method(factory, Some(clock), method, args),
                _ => Err(Error::field("clock", "expected a LamportClock")),
            })
        }
        Object::EventFactory(factory) => ops::factory_method(factory, None, method, args),
    }
}

fn handle(field: &str, value: Option<&&Value>) -> Result<usize, Error> {
    value
        .and_then(|v| v.as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::field(field, "expected a handle"))
}

#[cfg(test)]
mod tests {
    use super::call;

    #[test]
    fn refused_inputs_answer_an_error_object() {
        assert_eq!(call("nope", "[]"), r#"{"error":"unknown operation `nope`"}"#);
        assert!(call("ulid", "{").starts_with(r#"{"error":"args: "#));
        assert_eq!(call("ulid", "[]"), r#"{"error":"nowMs: required: this host has no clock"}"#);
        assert_eq!(call("nodeId", r#"["h", 1]"#), r#"{"error":"username: expected a string"}"#);
    }

    #[test]
    fn answers_as_the_native_core_does() {
        assert_eq!(call("ulid", r#"[0, "0"]"#), r#""00000000000000000000000000""#);
        assert_eq!(call("backoffDelayMs", r#"[0, "0"]"#), "250");
    }

    #[test]
    fn instances_live_behind_handles() {
        let clock = call("new LamportClock", r#"["0123456789ab", 41]"#);
        let handle: serde_json::Value = serde_json::from_str(&clock).expect("json");
        let handle = handle["handle"].as_u64().expect("a handle");
        assert_eq!(call("LamportClock.tick", &format!("[{handle}]")), "42");
        assert_eq!(call("LamportClock.receive", &format!("[{handle}, 100]")), "101");
        assert_eq!(call("free", &format!("[{handle}]")), "null");
        assert!(call("LamportClock.tick", &format!("[{handle}]")).contains("freed"));
    }
}
