'use strict';
// Whatever a caller passes, every export answers or throws an Error: never a trap (a Rust panic would
// abort the WASM instance and break every later call).
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage, featureFiles, featureFolder } = require('../test-support/load.cjs');

const k = loadPackage();

function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(20260204);
const pick = (items) => items[Math.floor(random() * items.length)];
const TEXTS = ['', 'WP01', 'WP1', 'planned', 'for_review', 'x'.repeat(5000), '🐈\u0000\u2028"\\', '---\nwork_package_id: WP01\n---\n',
  '## Work Package WP01: A\nDepends on WP02\n## Work Package WP02: B\nDepends on WP01\n', '{"value":1}', 'ffffffffffffffffffffffffffffffff', '01ARZ3NDEKTSV4RRFFQ69G5FAV'];

function junk(depth = 0) {
  switch (Math.floor(random() * (depth > 2 ? 8 : 11))) {
    case 0: return undefined;
    case 1: return null;
    case 2: return pick([0, -1, 1.5, 2 ** 53, 2 ** 64, NaN, Infinity, -0, 255]);
    case 3: return pick([true, false]);
    case 4: return pick(TEXTS);
    case 5: return pick([0n, -1n, 2n ** 64n, 2n ** 63n]);
    case 6: return Symbol('s');
    case 7: return () => 1;
    case 8: return Array.from({ length: Math.floor(random() * 4) }, () => junk(depth + 1));
    default: {
      const keys = ['wp_id', 'nodeId', 'teamSlug', 'lamportClock', 'nowMs', 'entropyHex', 'payload', 'event_id', 'kind',
        'results', 'id', 'dependencies', 'tasksMd', 'slug', 'wpFiles', 'value', 'node_id', 'status', 'bytes', 'metaJson',
        'repository', 'occasion', 'head_text', 'current_branch', 'now_ms', 'shell_pid', 'wp', 'to', 'note', 'subtasks'];
      const object = {};
      for (let i = Math.floor(random() * 5); i > 0; i -= 1) object[pick(keys)] = junk(depth + 1);
      return object;
    }
  }
}

const clock = new k.LamportClock('d036a097a835', 5);
const graph = new k.DependencyGraph([{ id: 'WP01' }, { id: 'WP02', dependencies: ['WP01'] }]);
const factory = new k.EventFactory({ nodeId: 'd036a097a835', teamSlug: 't' });
// The plans get a real feature and real facts half the time, so that junk reaches past the first argument.
const folder = featureFolder('043-numbered-mission', 'kitty-specs-compat');
const facts = { repository: { current_branch: 'main', branch_tips: { main: 'm' } }, occasion: { now_ms: 0, shell_pid: '1' } };
const real = (value, junkValue) => (random() < 0.5 ? value : junkValue);
const CALLS = {
  buildWpStatusChanged: (a, b) => k.buildWpStatusChanged(a, b),
  buildWpCreated: (a, b) => k.buildWpCreated({ nodeId: 'd036a097a835', teamSlug: 't', lamportClock: a }, b),
  buildEvent: (a, b, c) => k.buildEvent(a, b, c),
  buildErrorLogged: (a, b) => k.buildErrorLogged({ nodeId: 'd036a097a835', teamSlug: a, lamportClock: 1, nowMs: b }, { error_type: 'runtime', error_message: a }),
  factoryBuild: (a, b, c) => factory.build(pick(['WPCreated', 'HistoryAdded', a]), clock, b, c),
  validateEvent: (a) => k.validateEvent(a),
  ulid: (a, b) => k.ulid(a, b),
  nodeId: (a, b) => k.nodeId(a, b),
  clock: (a, b) => new k.LamportClock(a, b),
  receive: (a) => new k.LamportClock('d036a097a835', 1).receive(a),
  fromJSON: (a) => k.LamportClock.fromJSON(a),
  toJSON: (a) => clock.toJSON(a),
  foldBoard: (a) => k.foldBoard(a),
  parseTasksMd: (a, b) => k.parseTasksMd(a, b),
  parseWpFile: (a, b) => k.parseWpFile(a, b),
  loadFeature: (a) => k.loadFeature(a),
  graph: (a) => new k.DependencyGraph(a),
  unblockedBy: (a, b) => graph.unblockedBy(a, b),
  readyToStart: (a) => graph.readyToStart(a),
  planBatches: (a, b, c) => k.planBatches(a, b, c),
  backoffDelayMs: (a, b, c) => k.backoffDelayMs(a, b, c),
  readBatchAnswer: (a, b, c) => k.readBatchAnswer(a, b, c),
  reactToAnswer: (a, b, c) => k.reactToAnswer(a, b, c),
  planImplement: (a, b, c) => k.planImplement(real(folder, a), real('WP01', b), real(facts, c)),
  planMerge: (a, b) => k.planMerge(real(folder, a), b),
  planMergeMoves: (a, b, c) => k.planMergeMoves(real(folder, a), b, real(facts, c)),
  planAccept: (a, b) => k.planAccept(real(folder, a), b),
  planMoveTask: (a, b, c) => k.planMoveTask(real(folder, a), b, real(facts, c)),
  planMarkStatus: (a, b) => k.planMarkStatus(real(folder, a), b),
  planAddHistory: (a, b, c) => k.planAddHistory(real(folder, a), b, real(facts, c)),
  planFinalizeTasks: (a) => k.planFinalizeTasks(real({ ...folder, wpFiles: a }, a)),
  branchName: (a, b) => k.branchName(a, b),
  parseBranchName: (a) => k.parseBranchName(a),
};

test('3000 calls with junk arguments: results or Errors, never a trap', () => {
  let thrown = 0;
  for (let i = 0; i < 3000; i += 1) {
    const [name, call] = pick(Object.entries(CALLS));
    const args = [junk(), junk(), junk()];
    try {
      call(...args);
    } catch (err) {
      thrown += 1;
      assert.ok(!(err instanceof WebAssembly.RuntimeError), `${name}: trap ${err}`);
      assert.ok(err instanceof Error, `${name}: threw a non-Error ${String(err)}`);
    }
  }
  assert.ok(thrown > 0);
  // The instance is intact: a real feature still loads and an event still builds.
  assert.equal(k.loadFeature(featureFiles('028-cli-event-emission-sync')).work_packages.length, 7);
  assert.deepEqual(k.validateEvent(k.buildWpCreated({ nodeId: 'd036a097a835', teamSlug: 't', lamportClock: 0 }, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' })), []);
});
