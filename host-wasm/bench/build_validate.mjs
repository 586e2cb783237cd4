// Benchmark of the npm package against the native core, and the size of the module it loads.
//
// 1. Build + validate one event in Node through the package, the same work as the native criterion bench
//    `build_and_validate_one_event` (core/benches/core.rs): an EventFactory builds, with a LamportClock,
//    alternately a WPStatusChanged and a HistoryAdded payload, each at the next millisecond; building
//    validates against the schema. Here each build also crosses the JS <-> WASM boundary both ways (the
//    payload in, the envelope out as a plain object). Target: npm per event <= 2x native per event.
// 2. Validation alone: `validateEvent` on a valid event (the object in, the issues out) against jsonschema
//    0.61 natively on the same event (`validate_valid_event/jsonschema`, the validator the core had before its
//    own rules). Target: the package >= 5x faster than jsonschema natively.
// 3. The .wasm's size, raw and gzipped (-9), as scripts/build-wasm.sh prints it. Targets: <= 1 MiB raw,
//    <= 350 KB gzipped.
//
//   node host-wasm/bench/build_validate.mjs            # the package only: ns/op and sizes
//   node host-wasm/bench/build_validate.mjs --native   # also runs the native criterion benches and the ratios
//
// BENCH_ITERATIONS sets the iterations of a round (default 20,000).
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
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
const MIB = 1024 * 1024;
const KB = 1000;
const TARGETS = { rawBytes: MIB, gzippedBytes: 350 * KB, buildRatio: 2, validationSpeedup: 5 };

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

// Sanity: what is measured is a valid event, and validation of it finds nothing.
const sample = buildOne();
const validateSample = () => k.validateEvent(sample).length;
if (validateSample() !== 0) throw new Error(`invalid sample event: ${JSON.stringify(sample)}`);

/** ns per call of `work` (which returns a number, summed so the calls cannot be optimised away). */
function round(work, iterations) {
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i += 1) sink += work();
  const elapsed = Number(process.hrtime.bigint() - start);
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the loop alive');
  return elapsed / iterations;
}

/** The median of ROUNDS rounds, after a warm-up round (JIT, first allocations). */
function measure(name, work) {
  round(work, Math.min(2_000, ITERATIONS));
  const samples = Array.from({ length: ROUNDS }, () => round(work, ITERATIONS)).sort((a, b) => a - b);
  const median = samples[Math.floor(ROUNDS / 2)];
  console.log(
    `npm (Node ${process.version}): ${name}  ${median.toFixed(0)} ns/op  (median of ${ROUNDS} rounds x ${ITERATIONS}; min ${samples[0].toFixed(0)}, max ${samples[ROUNDS - 1].toFixed(0)})`,
  );
  return median;
}

function moduleSize(file) {
  const bytes = readFileSync(file);
  return { raw: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

const grouped = (n) => n.toLocaleString('en-US');

// The package's module: once at the package's root, or (older layout) beside the Node glue.
const shipped = ['spec_kitty_wasm_bg.wasm', 'node/spec_kitty_wasm_bg.wasm']
  .map((file) => path.join(pkgDir, file))
  .find((file) => existsSync(file));
const modules = [['npm package', shipped]];
const abi = path.join(repo, 'target', 'wasm-abi', 'wasm32-unknown-unknown', 'wasm-release', 'spec_kitty_wasm_abi.wasm');
if (existsSync(abi)) modules.push(['plain-ABI module', abi]);
for (const [label, file] of modules) {
  const { raw, gzipped } = moduleSize(file);
  console.log(
    `.wasm size (${label}, ${path.relative(repo, file)}): ${grouped(raw)} bytes raw, ${grouped(gzipped)} bytes gzipped` +
      ` (targets <= ${grouped(TARGETS.rawBytes)} raw, <= ${grouped(TARGETS.gzippedBytes)} gzipped)`,
  );
}

const buildNs = measure('build_and_validate_one_event', () => buildOne().lamport_clock);
const validateNs = measure('validate_valid_event', validateSample);

if (process.argv.includes('--native')) {
  const benches = ['build_and_validate_one_event', 'validate_valid_event/core', 'validate_valid_event/jsonschema'];
  const filter = `^(${benches.join('|')})$`;
  console.log(`running the native criterion benches (cargo bench -p spec-kitty-core --bench core -- '${filter}')...`);
  const run = spawnSync('cargo', ['bench', '-p', 'spec-kitty-core', '--bench', 'core', '--', filter], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const native = Object.fromEntries(benches.map((name) => [name, criterionMiddle(run.stdout ?? '', name)]));
  if (run.status !== 0 || Object.values(native).some((ns) => ns === undefined)) {
    console.error(`could not read the native times from cargo bench:\n${run.stdout ?? ''}`);
    process.exit(1);
  }
  for (const name of benches) console.log(`native: ${name}  ${native[name].toFixed(0)} ns/op`);
  const ratio = buildNs / native.build_and_validate_one_event;
  console.log(
    `npm per event vs native per event: ${buildNs.toFixed(0)} ns vs ${native.build_and_validate_one_event.toFixed(0)} ns` +
      ` = ${ratio.toFixed(2)}x (target <= ${TARGETS.buildRatio}x)`,
  );
  const speedup = native['validate_valid_event/jsonschema'] / validateNs;
  console.log(
    `validation alone vs jsonschema natively: ${validateNs.toFixed(0)} ns vs ${native['validate_valid_event/jsonschema'].toFixed(0)} ns` +
      ` = ${speedup.toFixed(2)}x as fast (target >= ${TARGETS.validationSpeedup}x)`,
  );
}

/** The middle value of criterion's `time: [low mid high]` for bench `name`, in ns. */
function criterionMiddle(stdout, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`(?:^|\\n)${escaped}\\s+time:\\s+\\[\\S+ \\S+ (\\S+) (ns|µs|us|ms)`).exec(stdout);
  if (!match) return undefined;
  const scale = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6 }[match[2]];
  return Number(match[1]) * scale;
}
