//! Native vs WASM parity under wasmtime: the same generated cases as `wasm_parity.rs` (Node, npm
//! package), run through the plain-ABI module `spec_kitty_wasm_abi.wasm` (host-wasm/abi: the core
//! compiled to wasm32 with no JS glue and no imports) from Rust, and compared byte for byte with the
//! native core's answers. The first differing case is reported.
//!
//! Every operation of `tests/parity/run.cjs` is run: the cases always pass the time and entropy the
//! JS side could take from `Date`/`crypto` (checked below), so none has to be skipped.
//!
//! The module is compiled once (Winch: a few seconds in a debug build, against ~4x that for Cranelift)
//! and instantiated once; each case allocates its inputs in the module's memory, calls `call` and frees
//! everything. The module must be built first (`bash scripts/build-wasm.sh`); without it this test
//! fails, never skips. `SPEC_KITTY_PARITY_SEED` picks another seed.

use serde_json::Value;
use spec_kitty_tests::harness;
use spec_kitty_tests::support::Case;
use std::path::{Path, PathBuf};
use std::time::Instant;
use wasmtime::{Config, Engine, Instance, Memory, Module, Store, Strategy, TypedFunc};

/// Where scripts/build-wasm.sh puts the module: its own target dir, because it is built with other
/// rustflags (`--cfg getrandom_backend="custom"`) than the npm package.
fn module_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .join("target/wasm-abi/wasm32-unknown-unknown/wasm-release/spec_kitty_wasm_abi.wasm")
}

/// The module's exports, on one instance.
struct Abi {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    call: TypedFunc<(u32, u32, u32, u32), u64>,
}

impl Abi {
    fn new(engine: &Engine, module: &Module) -> Abi {
        let mut store = Store::new(engine, ());
        // No imports: the module must need nothing from its host.
        let instance = Instance::new(&mut store, module, &[])
            .unwrap_or_else(|e| panic!("instantiating the module (it must import nothing): {e:?}"));
        let memory = instance.get_memory(&mut store, "memory").expect("the module exports its memory");
        let alloc = instance.get_typed_func(&mut store, "alloc").expect("export alloc(len) -> ptr");
        let dealloc = instance.get_typed_func(&mut store, "dealloc").expect("export dealloc(ptr, len)");
        let call = instance.get_typed_func(&mut store, "call").expect("export call(op, op_len, args, args_len) -> u64");
        Abi { store, memory, alloc, dealloc, call }
    }

    /// Copies `bytes` into a fresh buffer of the module.
    fn put(&mut self, bytes: &[u8]) -> (u32, u32) {
        let len = u32::try_from(bytes.len()).expect("inputs under 4 GiB");
        let ptr = self.alloc.call(&mut self.store, len).expect("alloc");
        assert_ne!(ptr, 0, "alloc({len}) failed");
        self.memory.write(&mut self.store, ptr as usize, bytes).expect("input within memory");
        (ptr, len)
    }

    /// `call(op, args)`: the answer's text, every buffer freed.
    fn call(&mut self, op: &str, args: &str) -> String {
        let (op_ptr, op_len) = self.put(op.as_bytes());
        let (args_ptr, args_len) = self.put(args.as_bytes());
        let packed = self
            .call
            .call(&mut self.store, (op_ptr, op_len, args_ptr, args_len))
            .unwrap_or_else(|e| panic!("`{op}` trapped: {e:?}"));
        assert_ne!(packed, 0, "`{op}`: the module could not allocate its answer");
        let (ptr, len) = ((packed >> 32) as u32, packed as u32);
        let mut answer = vec![0; len as usize];
        self.memory.read(&self.store, ptr as usize, &mut answer).expect("answer within memory");
        for (p, l) in [(op_ptr, op_len), (args_ptr, args_len), (ptr, len)] {
            self.dealloc.call(&mut self.store, (p, l)).expect("dealloc");
        }
        String::from_utf8(answer).unwrap_or_else(|e| panic!("`{op}` answered invalid UTF-8: {e}"))
    }
}

impl Abi {
    /// A case's answer: one call's, or a script's as the Node runner writes it (`[answer, ...]`, a
    /// constructor's `null` and its instance a handle for the later calls; stop after a failed one).
    fn answer(&mut self, case: &Case) -> String {
        if !case.script {
            return self.call(case.op, &serde_json::to_string(&case.args).expect("args serialise"));
        }
        let mut handles: Vec<Value> = Vec::new();
        let mut answers: Vec<String> = Vec::new();
        for call in case.args.as_array().expect("a script is an array of calls") {
            let op = call[0].as_str().expect("a call names its op");
            let args = resolve(&call[1], &handles);
            let answer = self.call(op, &args.to_string());
            let constructor = op.starts_with("new ") || op == "LamportClock.fromJSON";
            if !constructor {
                answers.push(answer);
                handles.push(Value::Null);
                continue;
            }
            let made: Value = serde_json::from_str(&answer).expect("answers are JSON");
            if made.get("handle").is_none() {
                answers.push(answer);
                break;
            }
            answers.push("null".to_string());
            handles.push(made["handle"].clone());
        }
        for handle in handles.iter().filter(|h| !h.is_null()) {
            self.call("free", &format!("[{handle}]"));
        }
        format!("[{}]", answers.join(","))
    }
}

/// A script call's arguments with each `{"$instance": i}` replaced by call `i`'s handle.
fn resolve(args: &Value, handles: &[Value]) -> Value {
    match args {
        Value::Object(map) if map.len() == 1 && map.contains_key("$instance") => {
            let i = map["$instance"].as_u64().expect("an index") as usize;
            handles.get(i).cloned().unwrap_or(Value::Null)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, handles)).collect()),
        other => other.clone(),
    }
}

/// Keys under which a case passes what a JS host would otherwise read from `Date.now()` or `crypto`.
const HOST_READINGS: [&str; 3] = ["nowMs", "entropyHex", "random"];

/// Whether a call leaves out a time or entropy the JS side would take from the host: such a case
/// would be answered from different clocks, so the generators must not make any.
fn leaves_out_host_readings(op: &str, args: &Value) -> bool {
    let args = args.as_array().map(Vec::as_slice).unwrap_or_default();
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    let missing_in = |object: &Value, keys: &[&str]| keys.iter().any(|k| object.get(k).is_none_or(Value::is_null));
    match op {
        "buildEvent" => missing_in(arg(1), &HOST_READINGS[..2]),
        op if op.starts_with("build") => missing_in(arg(0), &HOST_READINGS[..2]),
        "EventFactory.build" => missing_in(arg(4), &HOST_READINGS[..2]),
        "ulid" => arg(0).is_null() || arg(1).is_null(),
        "LamportClock.toJSON" => !arg(1).is_number(),
        "backoffDelayMs" => arg(1).is_null(),
        "reactToAnswer" => missing_in(arg(2), &["nowMs", "random"]),
        _ => false,
    }
}

fn case_leaves_out_host_readings(case: &Case) -> bool {
    if !case.script {
        return leaves_out_host_readings(case.op, &case.args);
    }
    let calls = case.args.as_array().map(Vec::as_slice).unwrap_or_default();
    calls.iter().any(|call| leaves_out_host_readings(call[0].as_str().unwrap_or_default(), &call[1]))
}

#[test]
fn native_and_wasmtime_give_identical_outputs() {
    let path = module_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("the plain-ABI module is not built ({}: {e}): run `bash scripts/build-wasm.sh` first", path.display())
    });
    let seed = harness::seed();
    let cases = harness::generate(seed);
    let relying: Vec<&str> = cases.iter().filter(|c| case_leaves_out_host_readings(c)).map(|c| c.op).collect();
    assert!(relying.is_empty(), "cases leave out the time or entropy (ops {relying:?}): pass them explicitly");

    let started = Instant::now();
    let mut config = Config::new();
    config.strategy(Strategy::Winch);
    let engine = Engine::new(&config).expect("wasmtime engine with Winch");
    let module = Module::new(&engine, &bytes).unwrap_or_else(|e| panic!("compiling {}: {e:?}", path.display()));
    let compiled = started.elapsed();

    let started = Instant::now();
    let mut abi = Abi::new(&engine, &module);
    let results: Vec<String> = cases.iter().map(|case| abi.answer(case)).collect();
    println!(
        "module {} KiB compiled in {:.1?}, {} cases run in {:.1?}",
        bytes.len() / 1024,
        compiled,
        cases.len(),
        started.elapsed()
    );
    harness::assert_identical(&cases, &results, seed, "wasmtime, plain-ABI module");
}
