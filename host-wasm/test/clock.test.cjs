'use strict';
// The LamportClock class and its clock.json form.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();
const NODE = 'd036a097a835';

test('tick and receive follow Lamport: +1, and max(local, remote) + 1', () => {
  const clock = new k.LamportClock(NODE, 5);
  assert.equal(clock.value, 5);
  assert.equal(clock.nodeId, NODE);
  assert.equal(clock.receive(9), 10);
  assert.equal(clock.receive(3), 11);
  assert.equal(clock.tick(), 12);
  assert.equal(clock.value, 12);
  assert.equal(new k.LamportClock(NODE).value, 0, 'starts at 0 by default');
});

test('toJSON writes clock.json: value, node_id, updated_at (to the second)', () => {
  const clock = new k.LamportClock(NODE, 42);
  const json = clock.toJSON(1_770_202_123_456);
  assert.deepEqual(json, { value: 42, node_id: NODE, updated_at: '2026-02-04T10:48:43Z' });
  assert.deepEqual(Object.keys(json), ['value', 'node_id', 'updated_at']);
  // JSON.stringify passes a key to toJSON: that counts as "no time given", so Date.now() is used.
  const before = Math.floor(Date.now() / 1000) * 1000;
  const parsed = JSON.parse(JSON.stringify(clock));
  assert.equal(parsed.value, 42);
  assert.ok(Date.parse(parsed.updated_at) >= before);
  assert.throws(() => clock.toJSON(-1), /^Error: nowMs: /);
});

test('fromJSON reads clock.json as text or as an object', () => {
  const text = '{\n  "value": 42,\n  "node_id": "d036a097a835",\n  "updated_at": "2026-02-04T10:46:03Z"\n}';
  const fromText = k.LamportClock.fromJSON(text);
  assert.equal(fromText.value, 42);
  assert.equal(fromText.nodeId, NODE);
  const fromObject = k.LamportClock.fromJSON(JSON.parse(text));
  assert.equal(fromObject.value, 42);
  // Round trip.
  const again = k.LamportClock.fromJSON(fromObject.toJSON(0));
  assert.equal(again.value, 42);
  assert.equal(again.tick(), 43);
});

test('empty, corrupt or malformed clock files are errors naming clock.json, not crashes', () => {
  const cases = [
    ['  \n', /^clock\.json: the clock file is empty$/],
    ['{', /^clock\.json: corrupt clock file: /],
    ['{"value": -1, "node_id": "d036a097a835", "updated_at": ""}', /^clock\.json: corrupt clock file: /],
    ['{"value": 1}', /^clock\.json: corrupt clock file: missing field `node_id`/],
    ['{"value": 1, "node_id": "XYZ", "updated_at": ""}', /^clock\.json: corrupt clock file: malformed node id `XYZ`/],
    [{ value: 'seven', node_id: NODE, updated_at: '' }, /^clock\.json: corrupt clock file: invalid type/],
    [null, /^clock\.json: corrupt clock file: /],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(() => k.LamportClock.fromJSON(input), (err) => err instanceof Error && pattern.test(err.message), JSON.stringify(input));
  }
  assert.equal(new k.LamportClock(NODE, 1).tick(), 2, 'still working');
});

test('bad constructor and receive arguments are errors naming the argument', () => {
  assert.throws(() => new k.LamportClock('XYZ'), /^Error: nodeId: malformed node id `XYZ`/);
  assert.throws(() => new k.LamportClock(NODE, -3), /^Error: value: expected a non-negative integer/);
  assert.throws(() => new k.LamportClock(NODE, 1.5), /^Error: value: /);
  const clock = new k.LamportClock(NODE, 7);
  assert.throws(() => clock.receive('8'), /^Error: remote: expected a non-negative integer$/);
  assert.throws(() => clock.receive(2 ** 60), /^Error: remote: /);
  assert.equal(clock.value, 7, 'unchanged by refused input');
});

test('a LamportClock in a build context is ticked only when the event is built', () => {
  const clock = new k.LamportClock(NODE, 41);
  const context = { nodeId: NODE, teamSlug: 'local', lamportClock: clock, nowMs: 1000, entropyHex: '1' };
  const event = k.buildWpStatusChanged(context, { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing' });
  assert.equal(event.lamport_clock, 42);
  assert.equal(clock.value, 42);
  assert.throws(() => k.buildWpStatusChanged(context, { wp_id: 'WP01', previous_status: 'planned', new_status: 'nope' }));
  assert.throws(() => k.buildWpCreated(context, { wp_id: 'WP01', title: '', feature_slug: '028-x' }));
  assert.equal(clock.value, 42, 'a refused event leaves no gap');
  assert.equal(k.buildHistoryAdded(context, { wp_id: 'WP01', entry_type: 'note', entry_content: 'x' }).lamport_clock, 43);
  // A plain number is the current value; the event carries the next one.
  assert.equal(k.buildHistoryAdded({ ...context, lamportClock: 7 }, { wp_id: 'WP01', entry_type: 'note', entry_content: 'x' }).lamport_clock, 8);
});

test('a freed clock is refused with an error, not a crash', () => {
  const clock = new k.LamportClock(NODE, 1);
  clock.free();
  assert.throws(() => clock.tick(), { message: 'LamportClock was freed (free() or the end of its using block): make a new one' });
  assert.throws(() => clock.receive(5), { message: /^LamportClock was freed/ });
  assert.equal(new k.LamportClock(NODE, 1).tick(), 2, 'still working');
});
