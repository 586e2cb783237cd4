'use strict';
// What a hostile caller found (issue 14): getters and Proxy traps that throw, arrays for payloads, lone
// surrogates, deep nesting, objects freed twice or during a call, methods called on another class's object.
// Each answer is a JS Error of one short line naming the field (never a trap, never Rust's or
// wasm-bindgen's words), validateEvent never throws, and the module keeps working afterwards.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();

const NODE = '0123456789ab';
const context = { nodeId: NODE, teamSlug: 'team', lamportClock: 0, nowMs: 1_700_000_000_000, entropyHex: '1' };
const moved = { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing' };

/** The Error `call` throws; fails when it returns or throws anything but an Error. */
function errorOf(call) {
  try {
    call();
  } catch (err) {
    assert.ok(err instanceof Error, `threw a ${typeof err}, not an Error`);
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `trapped: ${err.message}`);
    return err;
  }
  assert.fail('did not throw');
}

/** One line, a few hundred characters at most, in the JS user's words. */
function assertReadable(message) {
  assert.ok(!/[\n\r\u2028\u2029]/.test(message), `not one line: ${JSON.stringify(message)}`);
  assert.ok(message.length <= 420, `${message.length} characters: ${message.slice(0, 100)}...`);
  for (const internal of [/rust/i, /struct /, /tagged enum/, /borrowed/, /unreachable/]) {
    assert.doesNotMatch(message, internal);
  }
}

/** The module still builds, validates and ticks: nothing the bad call did broke the instance. */
function assertModuleWorks() {
  const event = k.buildWpStatusChanged(context, moved);
  assert.deepEqual(k.validateEvent(event), []);
  const clock = new k.LamportClock(NODE, 41);
  assert.equal(clock.tick(), 42);
  clock.free();
}

test('a getter that throws is an error naming the key, not a silently absent value', () => {
  const boom = () => {
    throw new Error('boom');
  };
  const inContext = errorOf(() => k.buildWpStatusChanged({ ...context, get nodeId() { return boom(); } }, moved));
  assert.equal(inContext.message, 'context.nodeId: boom');
  // An optional key: before, the throw was swallowed and the host's Date.now() used instead.
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 't' });
  const clock = new k.LamportClock(NODE);
  const optional = errorOf(() => factory.build('WPStatusChanged', clock, moved, { get nowMs() { return boom(); } }));
  assert.equal(optional.message, 'options.nowMs: boom');
  assert.equal(clock.value, 0, 'a refused build does not tick the clock');
  const sync = errorOf(() => k.reactToAnswer({ kind: 'unauthorized' }, [], { get random() { return boom(); } }));
  assert.equal(sync.message, 'context.random: boom');
  assertModuleWorks();
});

test('a Proxy whose traps throw, or a revoked one, is an error naming the field', () => {
  const trap = new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('keys'); } });
  assert.equal(errorOf(() => k.buildWpStatusChanged(trap, moved)).message, 'context.nodeId: trap');
  assert.match(errorOf(() => k.buildWpStatusChanged(context, trap)).message, /^payload: /);
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const revoked = errorOf(() => k.buildWpStatusChanged(revocable.proxy, moved)).message;
  assert.match(revoked, /^context\.nodeId: .*revoked/);
  assertReadable(revoked);
  assertModuleWorks();
});

test('an array is not a payload, though serde would read one by field order', () => {
  for (const call of [
    () => k.buildWpStatusChanged(context, ['WP01', 'planned', 'doing']),
    () => k.buildEvent('WPStatusChanged', context, ['WP01', 'planned', 'doing']),
  ]) {
    assert.equal(errorOf(call).message, 'payload: expected an object, got an array');
  }
  assert.match(errorOf(() => k.buildWpStatusChanged(context, () => 1)).message, /^payload: invalid type: null, expected an object/);
  assertModuleWorks();
});

test('a lone surrogate in a payload is named as such, not as a hex escape at a line and column', () => {
  for (const payload of [{ ...moved, wp_id: 'WP\uD800' }, { ...moved, changed_by: 'a\uDC00' }]) {
    const message = errorOf(() => k.buildWpStatusChanged(context, payload)).message;
    assert.match(message, /^payload: .*lone UTF-16 surrogate/);
    assert.doesNotMatch(message, /line \d+ column \d+/, 'a place in JSON text the caller never saw');
    assertReadable(message);
  }
  // A string argument too, rather than reading it as U+FFFD: nodeId('a\uD800', u) was nodeId('a\uFFFD', u).
  assert.match(errorOf(() => k.buildWpStatusChanged({ ...context, teamSlug: 'a\uD800' }, moved)).message,
    /^context\.teamSlug: a lone UTF-16 surrogate/);
  assert.match(errorOf(() => k.nodeId('host\uDFFF', 'me')).message, /^hostname: a lone UTF-16 surrogate/);
  assert.equal(k.nodeId('host\uD83D\uDC08', 'me').length, 12, 'a pair is a character, not a lone half');
  const issues = k.validateEvent({ ...k.buildWpStatusChanged(context, moved), team_slug: '\uD800' });
  assert.equal(issues.length, 1);
  assert.match(issues[0].message, /lone UTF-16 surrogate/);
  assertModuleWorks();
});

test('100,000 levels of nesting and a cycle are errors, not a stack overflow of the module', () => {
  let deep = 'x';
  for (let i = 0; i < 100_000; i += 1) deep = [deep];
  for (const call of [
    () => k.buildWpStatusChanged(context, { ...moved, changed_by: deep }),
    () => k.buildEvent('WPCreated', context, deep),
    () => k.foldBoard(deep),
    () => k.LamportClock.fromJSON('['.repeat(100_000)),
  ]) {
    assertReadable(errorOf(call).message);
  }
  let nested = 1;
  for (let i = 0; i < 200; i += 1) nested = [nested];
  const tooDeep = errorOf(() => k.buildWpStatusChanged(context, { ...moved, changed_by: nested })).message;
  assert.match(tooDeep, /^payload: nested too deeply/);
  const cycle = {};
  cycle.self = cycle;
  assertReadable(errorOf(() => k.buildWpStatusChanged(context, { ...moved, x: cycle })).message);
  assertModuleWorks();
});

test('serde\'s names of Rust enums do not reach the message', () => {
  const message = errorOf(() => k.runEventDraft(undefined, undefined)).message;
  assert.match(message, /^event: /);
  assertReadable(message);
});

test('free() twice, or Symbol.dispose after free(), does nothing; a method afterwards says the object was freed', () => {
  const clock = new k.LamportClock(NODE, 3);
  clock.free();
  clock.free();
  clock[Symbol.dispose]();
  assert.match(errorOf(() => clock.tick()).message, /^LamportClock was freed/);
  const graph = new k.DependencyGraph([{ id: 'WP01' }]);
  graph[Symbol.dispose]();
  graph.free();
  assert.match(errorOf(() => graph.readyToStart()).message, /^DependencyGraph was freed/);
  assertModuleWorks();
});

test('a freed or foreign clock passed to a call is named as the argument', () => {
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 't' });
  const freed = new k.LamportClock(NODE);
  freed.free();
  assert.match(errorOf(() => factory.build('WPStatusChanged', freed, moved)).message, /^clock: LamportClock was freed/);
  assert.equal(errorOf(() => factory.build('WPStatusChanged', 5, moved)).message, 'clock: expected a LamportClock, got number');
  const graph = new k.DependencyGraph([]);
  assert.equal(errorOf(() => factory.build('WPStatusChanged', graph, moved)).message,
    'clock: expected a LamportClock, got a DependencyGraph');
  const inContext = errorOf(() => k.buildWpStatusChanged({ ...context, lamportClock: freed }, moved)).message;
  assert.match(inContext, /^context\.lamportClock\.value: LamportClock was freed/);
  assertModuleWorks();
});

test('a method called on another class\'s object is refused before it reaches the module\'s memory', () => {
  const graph = new k.DependencyGraph([{ id: 'WP01' }, { id: 'WP02', dependencies: ['WP01'] }]);
  const tick = errorOf(() => k.LamportClock.prototype.tick.call(graph));
  assert.ok(tick instanceof TypeError);
  assert.equal(tick.message, 'this: expected a LamportClock, got a DependencyGraph');
  assert.equal(errorOf(() => k.LamportClock.prototype.free.call(graph)).message,
    'this: expected a LamportClock, got a DependencyGraph');
  assert.equal(errorOf(() => k.DependencyGraph.prototype.readyToStart.call({})).message,
    'this: expected a DependencyGraph, got a Object');
  // The graph was neither read as a clock nor freed as one.
  assert.deepEqual(graph.readyToStart(), ['WP01']);
  assert.match(errorOf(() => Object.create(k.LamportClock.prototype).tick()).message, /^LamportClock was freed/);
  assertModuleWorks();
});

test('freeing an object from a getter while a call uses it is an error in the user\'s words', () => {
  const clock = new k.LamportClock(NODE, 3);
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 't' });
  const payload = { ...moved, get changed_by() { clock.free(); return 'x'; } };
  const message = errorOf(() => factory.build('WPStatusChanged', clock, payload)).message;
  assert.match(message, /^payload: an object of this package was freed while a call was using it/);
  const graph = new k.DependencyGraph([{ id: 'WP01' }]);
  const lanes = { toJSON() { graph.free(); return {}; } };
  assert.match(errorOf(() => graph.readyToStart(lanes)).message, /^lanes: an object of this package was freed/);
  assertModuleWorks();
});

test('validateEvent never throws: whatever it is given, a list of one-line issues', () => {
  let deep = {};
  for (let i = 0; i < 100_000; i += 1) deep = { a: deep };
  const cycle = {};
  cycle.self = cycle;
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const event = k.buildWpStatusChanged(context, moved);
  const inputs = [undefined, null, 0, NaN, -0, Infinity, 2 ** 53 + 1, 10n, 'event', Symbol('s'), () => 1, [], {}, deep, cycle,
    revocable.proxy, new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('keys'); } }),
    { get event_id() { throw new Error('getter'); } }, { toJSON() { throw new Error('toJSON'); } },
    { ...event, lamport_clock: 5n }, { ...event, lamport_clock: NaN }, { ...event, team_slug: 'a\uD800' },
    JSON.parse(JSON.stringify(event).replace('{', '{"__proto__":{"polluted":1},')), { ...event, constructor: 'x' }];
  inputs.forEach((input, index) => {
    const issues = k.validateEvent(input);
    assert.ok(Array.isArray(issues), `input ${index}: not an array`);
    for (const issue of issues) {
      assert.deepEqual(Object.keys(issue), ['field', 'message']);
      assert.ok(!issue.message.startsWith(':'), issue.message);
      assertReadable(issue.message);
    }
  });
  assert.equal({}.polluted, undefined);
  assertModuleWorks();
});

test('what a few calls return has the shape types.d.ts declares', () => {
  const clock = new k.LamportClock(NODE, 2);
  const json = clock.toJSON(1_700_000_000_000);
  assert.deepEqual(Object.keys(json), ['value', 'node_id', 'updated_at']); // ClockJson
  assert.equal(typeof json.value, 'number');
  assert.equal(typeof json.updated_at, 'string');
  const plans = k.planBatches([{ id: 1, bytes: 10 }, { id: 2, bytes: 10 }], 1); // BatchPlan[]
  assert.deepEqual(plans, [{ ids: [1] }, { ids: [2] }]);
  assert.equal(k.parseBranchName('not-a-branch'), null); // BranchParts | null
  assert.match(k.ulid(0, '1'), /^[0-9A-HJKMNP-TV-Z]{26}$/); // string
  const limited = k.readBatchAnswer(429, '', '3'); // BatchAnswer
  assert.deepEqual(Object.keys(limited).sort(), ['kind', 'retry_after_ms']);
  assert.equal(limited.kind, 'too_many_requests');
  const view = new k.DependencyGraph([{ id: 'WP01' }]).toJSON(); // GraphView
  assert.deepEqual(Object.keys(view).sort(), ['dependencies', 'dependents', 'topological_order', 'work_packages']);
});

test('500 interleaved clocks, factories and graphs made and freed in any order leave the module sound', async () => {
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 't' });
  const jobs = Array.from({ length: 500 }, (_, i) => (async () => {
    const clock = new k.LamportClock(NODE, i);
    await null;
    const event = factory.build('WPStatusChanged', clock, moved, { nowMs: 1_700_000_000_000, entropyHex: 'ab' });
    await null;
    if (i % 2) clock.free();
    else clock[Symbol.dispose]();
    return event;
  })());
  const events = await Promise.all(jobs);
  assert.equal(new Set(events.map((e) => e.event_id)).size, 500, 'one factory gives increasing, distinct ids');
  events.forEach((e, i) => assert.equal(e.lamport_clock, i + 1));
  assertModuleWorks();
});
