// Benchmark: build + validate one event in Node through the WASM package, the same work as the native
// criterion bench `build_and_validate_one_event` (core/benches/core.rs): an EventFactory builds, with
// a LamportClock, alternately a WPStatusChanged and a HistoryAdded payload, each at the next millisecond;
// building validates against the schema. Here each build also crosses the JS <-> WASM boundary both
// ways (the payload in, the envelope out as a plain object).
//
//   node host-wasm/bench/build_validate.mjs            # WASM only: prints ns/op
//   node host-wasm/bench/build_validate.mjs --native   # also runs the native criterion bench and prints the ratio
//
// Without --native, read the native figure from
//   cargo bench -p spec-kitty-core --bench core -- build_and_validate_one_event
// (the middle value of `time: [low mid high]`) and divide. Target: WASM <= 3x native.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const pkgDir = path.join(repo, 'host-wasm', 'pkg');
if (!existsSync(path.join(pkgDir, 'package.json'))) {
  console.error(`${pkgDir} is not built: run scripts/build-wasm.sh first`);
  process.exit(1);
}
const k = createRequire(import.meta.url)(pkgDir);

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const ROUNDS = 7;

const nodeId = k.nodeId('bench', 'user');
const factory = new k.EventFactory({ nodeId, teamSlug: 'team' });
const clock = new k.LamportClock(nodeId);
let ms = 1_770_000_000_000;

function payload(i) {
  const wp = `WP${String(i % 100).padStart(2, '0')}`;
  return i % 2 === 0
    ? ['WPStatusChanged', { wp_id: wp, previous_status: 'planned', new_status: 'doing' }]
    : ['HistoryAdded', { wp_id: wp, entry_type: 'note', entry_content: 'benchmark note' }];
}

function buildOne() {
  ms += 1;
  const [eventType, body] = payload(ms);
  // u128::from(ms) * 7919, as the native bench's entropy.
  const entropyHex = (BigInt(ms) * 7919n).toString(16);
  return factory.build(eventType, clock, body, { nowMs: ms, entropyHex });
}

function round(iterations) {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i += 1) sink += buildOne().lamport_clock;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable: keeps the loop alive');
  return elapsed / iterations;
}

// Sanity: what is measured is a valid event.
const sample = buildOne();
if (k.validateEvent(sample).length !== 0) throw new Error(`invalid sample event: ${JSON.stringify(sample)}`);

round(Math.min(2_000, ITERATIONS)); // warm-up: JIT, schema compiled once
const samples = Array.from({ length: ROUNDS }, () => round(ITERATIONS)).sort((a, b) => a - b);
const median = samples[Math.floor(ROUNDS / 2)];
console.log(`wasm (Node ${process.version}): build_and_validate_one_event  ${median.toFixed(0)} ns/op  (median of ${ROUNDS} rounds x ${ITERATIONS}; min ${samples[0].toFixed(0)}, max ${samples[ROUNDS - 1].toFixed(0)})`);

if (process.argv.includes('--native')) {
  console.log('running the native criterion bench (cargo bench -p spec-kitty-core --bench core -- build_and_validate_one_event)...');
  const run = spawnSync('cargo', ['bench', '-p', 'spec-kitty-core', '--bench', 'core', '--', 'build_and_validate_one_event'], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const match = /time:\s+\[\S+ \S+ (\S+) (ns|µs|us|ms)/.exec(run.stdout ?? '');
  if (run.status !== 0 || !match) {
    console.error(`could not read the native time from cargo bench:\n${run.stdout ?? ''}`);
    process.exit(1);
  }
  const scale = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6 }[match[2]];
  const nativeNs = Number(match[1]) * scale;
  console.log(`native: build_and_validate_one_event  ${nativeNs.toFixed(0)} ns/op`);
  console.log(`ratio wasm/native: ${(median / nativeNs).toFixed(2)}x (target <= 3x)`);
}
