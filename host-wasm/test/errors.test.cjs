'use strict';
// What a thrown Error says: one line, the field at fault first, a long value cut, no Rust internals;
// and a payload key the builder would drop is refused, naming it.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();

const context = { nodeId: '0123456789ab', teamSlug: 'team', lamportClock: 0, nowMs: 1_700_000_000_000, entropyHex: '1' };
const moved = { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing' };

/** The message of what `call` throws (it must throw an Error). */
function messageOf(call) {
  try {
    call();
  } catch (err) {
    assert.ok(err instanceof Error, `threw a ${typeof err}, not an Error`);
    return err.message;
  }
  assert.fail('did not throw');
}

/** One line, at most a few hundred characters, without Rust's words. */
function assertReadable(message) {
  assert.ok(!/[\n\r\u2028\u2029]/.test(message), `not one line: ${JSON.stringify(message)}`);
  assert.ok(message.length <= 420, `${message.length} characters: ${message.slice(0, 100)}...`);
  for (const internal of ['expected struct', 'integral type conversion', 'null pointer passed to rust']) {
    assert.ok(!message.includes(internal), `shows Rust internals (${internal}): ${message}`);
  }
}

test('a 10 MiB value comes back cut, the field first', () => {
  const huge = 'W'.repeat(10 * 1024 * 1024);
  const message = messageOf(() => k.buildWpStatusChanged(context, { ...moved, wp_id: huge }));
  assert.match(message, /^payload\.wp_id: /);
  assert.ok(message.includes('…'), message);
  assertReadable(message);
});

test('a long context field comes back cut, the field first', () => {
  const message = messageOf(() => k.buildWpStatusChanged({ ...context, entropyHex: 'z'.repeat(100_000) }, moved));
  assert.match(message, /^context\.entropyHex: /);
  assertReadable(message);
});

test('a value spanning lines gives a message of one line', () => {
  const message = messageOf(() => k.buildWpStatusChanged(context, { ...moved, new_status: 'doing\nnow\r\nreally\u2028' }));
  assert.match(message, /^payload\.new_status: /);
  assertReadable(message);
});

test('a payload of the wrong shape does not name the Rust struct', () => {
  const message = messageOf(() => k.buildWpStatusChanged(context, 'moved'));
  assert.match(message, /^payload: /);
  assertReadable(message);
});

test('an out-of-range integer does not show the Rust conversion', () => {
  const message = messageOf(() => k.backoffDelayMs(2 ** 40, 0n));
  assert.match(message, /^attempt: /);
  assertReadable(message);
  const status = messageOf(() => k.readBatchAnswer(70_000, '{}'));
  assert.match(status, /^status: /);
  assertReadable(status);
});

test('an unknown payload key is refused, naming the key', () => {
  const message = messageOf(() => k.buildWpStatusChanged(context, { ...moved, feature_slg: 'oops' }));
  assert.match(message, /^payload\.feature_slg: unknown key/);
  assertReadable(message);
  const viaBuildEvent = messageOf(() => k.buildEvent('WPCreated', context, { wp_id: 'WP01', title: 't', feature_slug: 'f', depends: [] }));
  assert.match(viaBuildEvent, /^payload\.depends: unknown key/);
  const factory = new k.EventFactory({ nodeId: '0123456789ab', teamSlug: 'team' });
  const clock = new k.LamportClock('0123456789ab');
  const viaFactory = messageOf(() => factory.build('WPStatusChanged', clock, { ...moved, extra: 1 }, { nowMs: 1, entropyHex: '1' }));
  assert.match(viaFactory, /^payload\.extra: unknown key/);
  assert.equal(clock.value, 0, 'a refused build does not tick the clock');
});

test('the keys a payload has are all accepted', () => {
  const event = k.buildWpStatusChanged(context, { ...moved, changed_by: 'agent', feature_slug: '001-x' });
  assert.equal(event.payload.feature_slug, '001-x');
  assert.deepEqual(k.validateEvent(event), []);
});

test('every export fed junk throws one short line', () => {
  const huge = 'x'.repeat(200_000);
  const calls = [
    () => k.parseTasksMd(42),
    () => k.parseWpFile(`---\nwork_package_id: ${huge}\n---\n`),
    () => k.loadFeature({ slug: huge, tasksMd: 7 }),
    () => k.planBatches([{ event_id: huge }]),
    () => k.reactToAnswer({ kind: huge }, []),
    () => k.foldBoard([{ event_id: huge }]),
    () => k.nodeId(huge, 1),
    () => new k.LamportClock(huge),
    () => k.LamportClock.fromJSON(`{"value": 1, "node_id": "${huge}"}`),
    () => new k.DependencyGraph([{ id: huge }]),
    () => k.orchestrationHandle({ version: huge }, { input: huge }),
  ];
  for (const call of calls) assertReadable(messageOf(call));
});
