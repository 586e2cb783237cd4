'use strict';
// The event builders, validation, ULIDs and node ids of the built package.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();

const NOW = 1_770_202_123_456; // 2026-02-04T10:48:43.456Z
const ENTROPY = '123456789abcdef01234';
const NODE = k.nodeId('host', 'user');
const PROJECT = { uuid: '5f0c6c8e-3b1f-4c1a-9a51-0d2f3c4b5a69', slug: 'spec-kitty' };
const ENVELOPE_KEYS = [
  'event_id', 'event_type', 'aggregate_id', 'aggregate_type', 'payload', 'node_id', 'lamport_clock',
  'causation_id', 'timestamp', 'team_slug',
];
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function context(extra = {}) {
  return { nodeId: NODE, teamSlug: 'local', lamportClock: 0, nowMs: NOW, entropyHex: ENTROPY, ...extra };
}

function decodeBase32(text) {
  let n = 0n;
  for (const c of text) n = n * 32n + BigInt(CROCKFORD.indexOf(c));
  return n;
}

/** Builders, a full payload, the aggregate it gives. */
const CASES = [
  ['buildWpStatusChanged', 'WPStatusChanged', { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing', changed_by: 'codex', feature_slug: '028-cli-event-emission-sync' }, ['WP01', 'WorkPackage']],
  ['buildWpCreated', 'WPCreated', { wp_id: 'WP02', title: 'Workflow commands', dependencies: ['WP01'], feature_slug: '028-cli-event-emission-sync' }, ['WP02', 'WorkPackage']],
  ['buildWpAssigned', 'WPAssigned', { wp_id: 'WP03', agent_id: 'claude', phase: 'review', retry_count: 2, feature_slug: '028-cli-event-emission-sync' }, ['WP03', 'WorkPackage']],
  ['buildFeatureCreated', 'FeatureCreated', { feature_slug: '028-cli-event-emission-sync', feature_number: '028', target_branch: '2.x', wp_count: 7, created_at: '2026-02-04T10:00:00Z' }, ['028-cli-event-emission-sync', 'Feature']],
  ['buildFeatureCompleted', 'FeatureCompleted', { feature_slug: '028-cli-event-emission-sync', total_wps: 7, completed_at: '2026-02-05T10:00:00Z', total_duration: '123.4s' }, ['028-cli-event-emission-sync', 'Feature']],
  ['buildHistoryAdded', 'HistoryAdded', { wp_id: 'WP04', entry_type: 'review', entry_content: 'Looks good', author: 'opencode' }, ['WP04', 'WorkPackage']],
  ['buildErrorLogged', 'ErrorLogged', { wp_id: 'WP05', error_type: 'runtime', error_message: 'boom', stack_trace: 'at x', agent_id: 'codex' }, ['WP05', 'WorkPackage']],
  ['buildDependencyResolved', 'DependencyResolved', { wp_id: 'WP06', dependency_wp_id: 'WP05', resolution_type: 'completed', feature_slug: '028-cli-event-emission-sync' }, ['WP06', 'WorkPackage']],
];

test('each of the 8 builders makes a valid envelope with keys in the contract order', () => {
  for (const [fn, eventType, payload, [aggregateId, aggregateType]] of CASES) {
    const event = k[fn](context({ lamportClock: 41, project: PROJECT }), payload);
    assert.deepEqual(Object.keys(event), [...ENVELOPE_KEYS, 'project_uuid', 'project_slug'], fn);
    assert.equal(event.event_type, eventType);
    assert.equal(event.aggregate_id, aggregateId);
    assert.equal(event.aggregate_type, aggregateType);
    assert.deepEqual(event.payload, payload, `${fn} keeps every payload key`);
    assert.deepEqual(Object.keys(event.payload), Object.keys(payload), `${fn} payload key order`);
    assert.equal(event.node_id, NODE);
    assert.equal(event.lamport_clock, 42);
    assert.equal(event.causation_id, null);
    assert.equal(event.timestamp, new Date(NOW).toISOString());
    assert.equal(event.team_slug, 'local');
    assert.equal(event.project_uuid, PROJECT.uuid);
    assert.equal(event.project_slug, PROJECT.slug);
    assert.deepEqual(k.validateEvent(event), [], `${fn} output validates`);
    // The generic builder gives the same bytes.
    assert.equal(JSON.stringify(k.buildEvent(eventType, context({ lamportClock: 41, project: PROJECT }), payload)), JSON.stringify(event));
  }
});

test('the ULID encodes nowMs and the entropy', () => {
  const event = k.buildWpCreated(context(), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' });
  assert.match(event.event_id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(decodeBase32(event.event_id.slice(0, 10)), BigInt(NOW));
  assert.equal(decodeBase32(event.event_id.slice(10)), BigInt(`0x${ENTROPY}`));
  // Same inputs, same event.
  assert.equal(JSON.stringify(k.buildWpCreated(context(), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' })), JSON.stringify(event));
});

test('a WPCreated depending on itself is refused, naming the dependency', () => {
  const payload = { wp_id: 'WP02', title: 'T', dependencies: ['WP01', 'WP02'], feature_slug: '028-x' };
  const expected = { message: 'invalid WPCreated event: /payload/dependencies/1: a WP cannot depend on itself (this is its own wp_id)' };
  assert.throws(() => k.buildWpCreated(context(), payload), expected);
  assert.throws(() => k.buildEvent('WPCreated', context(), payload), expected);
  assert.deepEqual(k.buildWpCreated(context(), { ...payload, dependencies: ['WP01'] }).payload.dependencies, ['WP01']);
});

test('defaults are filled and absent optionals left out', () => {
  const moved = k.buildWpStatusChanged(context(), { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing' });
  assert.equal(JSON.stringify(moved.payload), '{"wp_id":"WP01","previous_status":"planned","new_status":"doing","changed_by":"user"}');
  assert.deepEqual(Object.keys(moved), ENVELOPE_KEYS, 'no project keys without a project');
  assert.deepEqual(k.buildWpCreated(context(), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }).payload.dependencies, []);
  assert.equal(JSON.stringify(k.buildWpAssigned(context(), { wp_id: 'WP01', agent_id: 'codex', phase: 'implementation' }).payload),
    '{"wp_id":"WP01","agent_id":"codex","phase":"implementation","retry_count":0}', 'no feature_slug unless given');
  assert.equal(JSON.stringify(k.buildDependencyResolved(context(), { wp_id: 'WP02', dependency_wp_id: 'WP01', resolution_type: 'skipped', feature_slug: null }).payload),
    '{"wp_id":"WP02","dependency_wp_id":"WP01","resolution_type":"skipped"}', 'a null feature_slug is left out');
  assert.equal(k.buildHistoryAdded(context(), { wp_id: 'WP01', entry_type: 'note', entry_content: 'x' }).payload.author, 'user');
  const error = k.buildErrorLogged(context(), { error_type: 'network', error_message: 'down', stack_trace: undefined });
  assert.equal(error.aggregate_id, 'error');
  assert.equal(error.aggregate_type, 'Feature');
  assert.equal(JSON.stringify(error.payload), '{"error_type":"network","error_message":"down"}');
});

test('causationId is carried, and a malformed one is refused naming the field', () => {
  const cause = k.ulid(NOW, 'abc');
  assert.equal(k.buildWpCreated(context({ causationId: cause }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }).causation_id, cause);
  assert.throws(() => k.buildWpCreated(context({ causationId: 'not-a-ulid' }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^Error: causation_id: malformed ULID `not-a-ulid`/);
});

test('time and entropy come from Date.now() and crypto when left out', () => {
  const before = Date.now();
  const a = k.buildWpCreated({ nodeId: NODE, teamSlug: 'local', lamportClock: 0 }, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' });
  const b = k.buildWpCreated({ nodeId: NODE, teamSlug: 'local', lamportClock: 0 }, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' });
  const after = Date.now();
  const ms = Number(decodeBase32(a.event_id.slice(0, 10)));
  assert.ok(ms >= before && ms <= after, `${ms} within [${before}, ${after}]`);
  assert.ok(Date.parse(a.timestamp) >= before - 1 && Date.parse(a.timestamp) <= after);
  assert.notEqual(a.event_id.slice(10), b.event_id.slice(10), 'fresh entropy each time');
});

/** [what, build, message pattern]: each must throw an Error, and the module must go on working. */
const BAD_INPUTS = [
  ['malformed wp_id', () => k.buildWpStatusChanged(context(), { wp_id: 'WP1', previous_status: 'planned', new_status: 'doing' }), /^payload\.wp_id: malformed work package id `WP1`/],
  ['unknown lane', () => k.buildWpStatusChanged(context(), { wp_id: 'WP01', previous_status: 'planned', new_status: 'review' }), /^payload\.new_status: unknown variant `review`/],
  ['missing required key', () => k.buildWpAssigned(context(), { wp_id: 'WP01', phase: 'review' }), /^payload: missing field `agent_id`/],
  ['wrong type', () => k.buildFeatureCreated(context(), { feature_slug: '028-x', feature_number: '028', target_branch: 'main', wp_count: 'seven' }), /^payload\.wp_count: invalid type: string "seven"/],
  ['bad dependency in a list', () => k.buildWpCreated(context(), { wp_id: 'WP02', title: 'T', dependencies: ['WP01', 'x'], feature_slug: '028-x' }), /^payload\.dependencies\[1\]: malformed work package id `x`/],
  ['payload not an object', () => k.buildHistoryAdded(context(), 'note'), /^payload: invalid type: string "note"/],
  ['payload missing', () => k.buildDependencyResolved(context(), undefined), /^payload: invalid type: null/],
  ['empty title (schema)', () => k.buildWpCreated(context(), { wp_id: 'WP01', title: '', feature_slug: '028-x' }), /^invalid WPCreated event: \/payload\/title: "" is shorter than 1 character$/],
  ['bad feature slug (schema)', () => k.buildFeatureCreated(context(), { feature_slug: 'Not A Slug', feature_number: '028', target_branch: 'main', wp_count: 1 }), /^invalid FeatureCreated event: \/payload\/feature_slug: /],
  ['project uuid not v4 (schema)', () => k.buildWpCreated(context({ project: { uuid: 'u', slug: 's' } }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /\/project_uuid/],
  ['empty error message (schema)', () => k.buildErrorLogged(context(), { error_type: 'auth', error_message: '' }), /\/payload\/error_message/],
  ['bigint in payload', () => k.buildWpAssigned(context(), { wp_id: 'WP01', agent_id: 'a', phase: 'review', retry_count: 1n }), /^payload: .*BigInt/],
  ['missing context', () => k.buildWpCreated(undefined, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context: expected an object$/],
  ['malformed nodeId', () => k.buildWpCreated(context({ nodeId: 'XYZ' }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.nodeId: malformed node id `XYZ`/],
  ['missing teamSlug', () => k.buildWpCreated(context({ teamSlug: undefined }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.teamSlug: expected a string$/],
  ['empty teamSlug (schema)', () => k.buildWpCreated(context({ teamSlug: '' }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /\/team_slug/],
  ['bad project', () => k.buildWpCreated(context({ project: { uuid: 'u' } }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.project: missing field `slug`/],
  ['negative clock', () => k.buildWpCreated(context({ lamportClock: -1 }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.lamportClock: expected a non-negative integer/],
  ['clock not a clock', () => k.buildWpCreated(context({ lamportClock: { value: 3 } }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.lamportClock: expected a LamportClock or a non-negative integer$/],
  ['fractional nowMs', () => k.buildWpCreated(context({ nowMs: 1.5 }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.nowMs: expected a non-negative integer/],
  ['nowMs beyond 2^53', () => k.buildWpCreated(context({ nowMs: 2 ** 60 }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.nowMs: /],
  ['bad entropyHex', () => k.buildWpCreated(context({ entropyHex: 'xyz' }), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /^context\.entropyHex: expected 1 to 32 hex digits, got `xyz`$/],
  ['unknown event type', () => k.buildEvent('WPDeleted', context(), {}), /^eventType: unknown event type `WPDeleted`/],
];

test('bad input throws an Error naming the field, and the module goes on working', () => {
  for (const [what, build, pattern] of BAD_INPUTS) {
    let thrown;
    try {
      build();
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof Error, `${what}: expected an Error, got ${thrown}`);
    assert.match(thrown.message, pattern, what);
    assert.ok(!thrown.message.includes('\n'), `${what}: one line`);
    assert.ok(!(thrown instanceof WebAssembly.RuntimeError), `${what}: not a trap`);
    // The host continues: the next good call works.
    const ok = k.buildWpCreated(context(), { wp_id: 'WP01', title: 'T', feature_slug: '028-x' });
    assert.deepEqual(k.validateEvent(ok), [], `${what}: still working afterwards`);
  }
});

test('an event refused by the schema carries its issues', () => {
  try {
    k.buildWpCreated(context({ teamSlug: '' }), { wp_id: 'WP01', title: '', feature_slug: '028-x' });
    assert.fail('should throw');
  } catch (err) {
    assert.deepEqual(err.issues.map((i) => i.field).sort(), ['/payload/title', '/team_slug']);
  }
});

test('validateEvent lists failed rules with field paths and never throws', () => {
  const good = k.buildWpAssigned(context(), { wp_id: 'WP01', agent_id: 'codex', phase: 'implementation' });
  assert.deepEqual(k.validateEvent(good), []);
  const bad = { ...good, lamport_clock: -1, timestamp: 'yesterday', node_id: 'XYZ', payload: { ...good.payload, phase: 'testing' } };
  const fields = k.validateEvent(bad).map((i) => i.field);
  for (const field of ['/lamport_clock', '/timestamp', '/node_id', '/payload/phase']) {
    assert.ok(fields.includes(field), `${field} in ${fields}`);
  }
  for (const issue of k.validateEvent(bad)) {
    assert.equal(typeof issue.message, 'string');
    assert.ok(issue.message.length > 0);
  }
  const missing = k.validateEvent({ event_type: 'WPCreated' });
  assert.ok(missing.some((i) => i.field === '' && i.message.includes('event_id')), JSON.stringify(missing));
  // Whatever comes in, an array comes out.
  for (const odd of [undefined, null, 42, 'text', [], { payload: 1 }, { a: 1n }]) {
    const issues = k.validateEvent(odd);
    assert.ok(Array.isArray(issues) && issues.length > 0, `${String(odd)}`);
  }
  const cyclic = {};
  cyclic.self = cyclic;
  assert.equal(k.validateEvent(cyclic).length, 1);
});

test('EventFactory keeps ids increasing within one millisecond and ticks the clock', () => {
  const clock = new k.LamportClock(NODE, 10);
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 'team', project: PROJECT });
  assert.deepEqual(factory.identity, { node_id: NODE, team_slug: 'team', project: PROJECT });
  const cause = factory.causationId(NOW, '0');
  const events = [];
  for (let i = 1; i <= 5; i += 1) {
    events.push(factory.build('WPCreated', clock, { wp_id: `WP0${i}`, title: `WP ${i}`, feature_slug: '028-x' }, { nowMs: NOW, entropyHex: 'ffff', causationId: cause }));
  }
  const ids = events.map((e) => e.event_id);
  assert.deepEqual([...ids].sort(), ids, 'sorted in creation order');
  assert.equal(new Set(ids).size, 5);
  assert.ok(ids.every((id) => id > cause));
  assert.deepEqual(events.map((e) => e.lamport_clock), [11, 12, 13, 14, 15]);
  assert.equal(clock.value, 15);
  assert.ok(events.every((e) => e.causation_id === cause && k.validateEvent(e).length === 0));
  // Time and entropy default to the host's.
  assert.match(factory.causationId(), /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(k.validateEvent(factory.build('HistoryAdded', clock, { wp_id: 'WP01', entry_type: 'note', entry_content: 'x' })).length, 0);
  assert.equal(clock.value, 16);
});

test('EventFactory refuses bad input without ticking the clock', () => {
  const clock = new k.LamportClock(NODE, 3);
  const factory = new k.EventFactory({ nodeId: NODE, teamSlug: 'team' });
  assert.throws(() => factory.build('WPCreated', clock, { wp_id: 'WP01', title: '', feature_slug: '028-x' }, { nowMs: NOW }), /\/payload\/title/);
  assert.throws(() => factory.build('Nope', clock, {}), /^Error: eventType: unknown event type `Nope`/);
  assert.throws(() => factory.build('WPCreated', clock, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }, { nowMs: -5 }), /^Error: options\.nowMs: /);
  assert.throws(() => factory.build('WPCreated', { value: 3 }, { wp_id: 'WP01', title: 'T', feature_slug: '028-x' }), /LamportClock/);
  assert.throws(() => factory.causationId(NOW, 'zz'), /^Error: entropyHex: /);
  assert.equal(clock.value, 3);
  assert.throws(() => new k.EventFactory({ nodeId: 'nope', teamSlug: 't' }), /^Error: identity\.nodeId: malformed node id `nope`/);
  assert.throws(() => new k.EventFactory(null), /^Error: identity: expected an object$/);
});

test('ulid encodes time and entropy, and defaults to Date.now() and crypto', () => {
  assert.equal(k.ulid(0, '0'), '00000000000000000000000000');
  assert.equal(k.ulid(1, 'ff'), '0000000001000000000000007Z');
  const id = k.ulid(NOW, ENTROPY);
  assert.equal(decodeBase32(id.slice(0, 10)), BigInt(NOW));
  // Only the low 80 bits of the entropy are used.
  assert.equal(k.ulid(NOW, `ff${ENTROPY}`), id);
  const before = Date.now();
  const fresh = k.ulid();
  assert.ok(Number(decodeBase32(fresh.slice(0, 10))) >= before);
  assert.notEqual(k.ulid(NOW), k.ulid(NOW), 'fresh entropy each call');
  assert.throws(() => k.ulid(-1), /^Error: nowMs: /);
  assert.throws(() => k.ulid(NOW, ''), /^Error: entropyHex: /);
  assert.throws(() => k.ulid(NOW, 'f'.repeat(33)), /^Error: entropyHex: /);
});

test('nodeId is the first 12 hex of sha256("{hostname}:{username}")', () => {
  for (const [host, user] of [['host', 'user'], ['robert-mbp.local', 'robert'], ['', ''], ['ünï', 'cödé']]) {
    const expected = crypto.createHash('sha256').update(`${host}:${user}`).digest('hex').slice(0, 12);
    assert.equal(k.nodeId(host, user), expected);
  }
});
