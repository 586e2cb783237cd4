'use strict';
// The WASM side of the parity test (tests/tests/wasm_parity.rs): runs every case of cases.json through
// the BUILT npm package and writes, per case, the JSON text of the result or of {"error": message}.
//
// A case is one call of the package's API by its own name ({op: "planBatches", args}) or a script of
// calls on instances ({script: [[op, args], ...]}): `new LamportClock` and `LamportClock.fromJSON` make
// one (answering null), `LamportClock.tick` calls a method (or reads a getter) of the instance given
// first as {"$instance": i}, the instance call i made. The plain-ABI module reads the same cases
// (tests/tests/wasmtime_parity.rs).
//
//   node tests/parity/run.cjs <package dir> <cases.json> <results.json>
const fs = require('node:fs');
const path = require('node:path');

const [pkgDir, casesPath, resultsPath] = process.argv.slice(2);
if (!pkgDir || !casesPath || !resultsPath) {
  console.error('usage: node tests/parity/run.cjs <package dir> <cases.json> <results.json>');
  process.exit(2);
}
const k = require(path.resolve(pkgDir));

/** The value, or {error: message} for a thrown Error (a trap shows up here too, and then differs). */
function attempt(call) {
  try {
    return { value: call() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const isInstance = (arg) => arg !== null && typeof arg === 'object' && !Array.isArray(arg) && '$instance' in arg;

/** One call of the API: a function, a constructor or static (`new C`, `C.fromJSON`), or a member. */
function run(op, args, instances) {
  const resolved = args.map((arg) => (isInstance(arg) ? instances[arg.$instance] : arg));
  if (op.startsWith('new ')) return new k[op.slice(4)](...resolved);
  const [cls, member] = op.split('.');
  if (member === undefined) {
    if (typeof k[op] !== 'function') throw new Error(`run.cjs: unknown op ${op}`);
    return k[op](...resolved);
  }
  if (!isInstance(args[0])) return k[cls][member](...resolved);
  const [self, ...rest] = resolved;
  return typeof self[member] === 'function' ? self[member](...rest) : self[member];
}

function script(calls) {
  const instances = [];
  const answers = [];
  for (const [op, args] of calls) {
    const made = op.startsWith('new ') || op === 'LamportClock.fromJSON';
    const result = attempt(() => run(op, args, instances));
    instances.push(made ? result.value : undefined);
    if ('error' in result) {
      answers.push({ error: result.error });
      if (made) break;
    } else {
      answers.push(made ? null : result.value);
    }
  }
  for (const instance of instances) instance?.free();
  return answers;
}

const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const results = cases.map((c) => {
  if (c.script) return JSON.stringify(script(c.script));
  const result = attempt(() => run(c.op, c.args, []));
  return JSON.stringify('error' in result ? { error: result.error } : result.value);
});
fs.writeFileSync(resultsPath, JSON.stringify(results));
