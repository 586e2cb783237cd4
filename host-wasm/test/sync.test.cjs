'use strict';
// Sync decisions: batch plans, backoff, reading the server's answer and reacting to it.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();
const items = (sizes) => sizes.map((bytes, i) => ({ id: i + 1, bytes }));

test('planBatches keeps queue order within the count and byte caps', () => {
  assert.deepEqual(k.planBatches([]), []);
  const lens = k.planBatches(items(new Array(2500).fill(100))).map((p) => p.ids.length);
  assert.deepEqual(lens, [1000, 1000, 500], 'default: 1000 events a batch');
  // Two 10-byte events make a body of 13 + 20 + 1 = 34 bytes.
  assert.deepEqual(k.planBatches(items([10, 10, 10]), 10, 34), [{ ids: [1, 2] }, { ids: [3] }]);
  assert.equal(k.planBatches(items([10, 10, 10]), 10, 33).length, 3);
  assert.deepEqual(k.planBatches(items([10, 500, 10]), 10, 100), [{ ids: [1] }, { ids: [2] }, { ids: [3] }], 'oversize goes alone');
  assert.equal(k.planBatches(items(new Array(10).fill(200_000))).length, 2, 'default: 1 MiB a batch');
  assert.equal(k.planBatches(items([1, 1]), 1, 1).length, 2, 'caps of 1 still progress');
});

test('planBatches refuses a cap of 0 with a one-line error naming it', () => {
  assert.throws(() => k.planBatches(items([1, 1]), 0), { message: 'maxEvents: a batch cap must be at least 1, got 0' });
  assert.throws(() => k.planBatches(items([1, 1]), 10, 0), { message: 'maxBytes: a batch cap must be at least 1, got 0' });
  assert.throws(() => k.planBatches([], undefined, 0), { message: 'maxBytes: a batch cap must be at least 1, got 0' });
});

test('backoffDelayMs: min(500 ms * 2^n, 30 s) with equal jitter from the random value', () => {
  assert.equal(k.backoffDelayMs(0, 0), 250);
  assert.equal(k.backoffDelayMs(0, 'ffffffffffffffff'), 500);
  assert.equal(k.backoffDelayMs(0, 0xffffffffffffffffn), 500);
  assert.equal(k.backoffDelayMs(1, 1n << 63n), 750);
  assert.equal(k.backoffDelayMs(1, '8000000000000000'), 750);
  assert.equal(k.backoffDelayMs(6, 0n), 15_000);
  assert.equal(k.backoffDelayMs(6, 'ffffffffffffffff'), 30_000);
  assert.equal(k.backoffDelayMs(4_000_000_000, 0), 15_000, 'huge attempts stay capped');
  assert.equal(k.backoffDelayMs(2, 0, { base_ms: 100, cap_ms: 1000 }), 200);
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const ceiling = Math.min(500 * 2 ** attempt, 30_000);
    const delay = k.backoffDelayMs(attempt); // random from crypto
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `${attempt}: ${delay}`);
  }
});

test('backoffDelayMs refuses bad arguments with an error naming them', () => {
  const cases = [
    [() => k.backoffDelayMs(-1, 0), /^attempt: /],
    [() => k.backoffDelayMs(2 ** 32, 0), /^attempt: /],
    [() => k.backoffDelayMs('1', 0), /^attempt: expected a non-negative integer$/],
    [() => k.backoffDelayMs(0, 'xyz'), /^random: expected 1 to 16 hex digits, got `xyz`$/],
    [() => k.backoffDelayMs(0, 'f'.repeat(17)), /^random: /],
    [() => k.backoffDelayMs(0, -1n), /^random: expected a bigint from 0 to 2\^64-1, got -1$/],
    [() => k.backoffDelayMs(0, 1n << 64n), /^random: /],
    [() => k.backoffDelayMs(0, 0.5), /^random: /],
    [() => k.backoffDelayMs(0, 0, { base_ms: 1 }), /^schedule: missing field `cap_ms`$/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (err) => err instanceof Error && pattern.test(err.message), String(pattern));
  }
});

test('readBatchAnswer decodes each HTTP answer of the batch endpoint', () => {
  const body = JSON.stringify({ results: [
    { event_id: 'a', status: 'success' },
    { event_id: 'b', status: 'rejected', error: 'bad lane' },
    { status: 'success' },
    { event_id: 'd', status: 'error', error_message: 'old server' },
  ] });
  assert.deepEqual(k.readBatchAnswer(200, body), { kind: 'results', results: [
    { event_id: 'a', status: 'success' },
    { event_id: 'b', status: 'rejected', error: 'bad lane' },
    { event_id: 'd', status: 'error', error_message: 'old server' },
  ] });
  assert.deepEqual(k.readBatchAnswer(400, '{"error":"Validation failed","details":[{"event_id":"a","error":"missing wp_id"}]}'),
    { kind: 'bad_request', error: 'Validation failed', details: [{ event_id: 'a', error: 'missing wp_id' }] });
  assert.deepEqual(k.readBatchAnswer(401, '{}'), { kind: 'unauthorized' });
  assert.deepEqual(k.readBatchAnswer(403, ''), { kind: 'forbidden' });
  assert.deepEqual(k.readBatchAnswer(413, ''), { kind: 'payload_too_large' });
  assert.deepEqual(k.readBatchAnswer(429, '', '7'), { kind: 'too_many_requests', retry_after_ms: 7000 });
  assert.deepEqual(k.readBatchAnswer(429, '', 'Wed, 21 Oct 2015 07:28:00 GMT'), { kind: 'too_many_requests', retry_after_ms: null });
  assert.deepEqual(k.readBatchAnswer(429, ''), { kind: 'too_many_requests', retry_after_ms: null });
  assert.deepEqual(k.readBatchAnswer(503, 'down'), { kind: 'server_error', status: 503 });
  assert.equal(k.readBatchAnswer(200, 'not json').kind, 'unexpected_response');
  assert.equal(k.readBatchAnswer(404, '').message, 'unexpected HTTP status 404');
  assert.throws(() => k.readBatchAnswer(70000, ''), /^Error: status: /);
  assert.throws(() => k.readBatchAnswer(200, '', 7), /^Error: retryAfter: expected a string$/);
});

test('reactToAnswer sorts each sent event and says what the sync loop does next', () => {
  const sent = [
    { event_id: 'a', retry_count: 0 },
    { event_id: 'b', retry_count: 0 },
    { event_id: 'c', retry_count: 4 },
    { event_id: 'd', retry_count: 0 },
  ];
  const results = k.readBatchAnswer(200, JSON.stringify({ results: [
    { event_id: 'a', status: 'success' },
    { event_id: 'b', status: 'rejected', error: 'bad' },
    { event_id: 'c', status: 'rejected' },
  ] }));
  assert.deepEqual(k.reactToAnswer(results, sent, { nowMs: 1000, random: 0 }), {
    remove: ['a'],
    retry: [{ event_id: 'b', reason: 'bad' }],
    dead_letter: [{ event_id: 'c', reason: 'status "rejected"' }],
    untouched: ['d'],
    next: { kind: 'continue' },
  });
  const ctx = { nowMs: 1_000_000, failedSends: 2, random: 0n };
  assert.deepEqual(k.reactToAnswer({ kind: 'unauthorized' }, sent, ctx).next, { kind: 'refresh_token_then_retry' });
  assert.deepEqual(k.reactToAnswer({ kind: 'unauthorized' }, sent, { ...ctx, tokenJustRefreshed: true }).next, { kind: 'stop_auth', reason: 'login_required' });
  assert.deepEqual(k.reactToAnswer({ kind: 'forbidden' }, sent, ctx).next, { kind: 'stop_auth', reason: 'other_team' });
  assert.deepEqual(k.reactToAnswer({ kind: 'payload_too_large' }, sent, ctx).next, { kind: 'split_and_retry', max_events: 2 });
  assert.deepEqual(k.reactToAnswer({ kind: 'payload_too_large' }, sent.slice(0, 1), ctx).dead_letter, [{ event_id: 'a', reason: 'payload too large' }]);
  assert.deepEqual(k.reactToAnswer({ kind: 'too_many_requests', retry_after_ms: 7000 }, sent, ctx).next, { kind: 'wait_until', at_ms: 1_007_000 });
  const backOff = k.reactToAnswer({ kind: 'server_error', status: 503 }, sent, ctx);
  assert.deepEqual(backOff.next, { kind: 'back_off', attempt: 2, at_ms: 1_001_000 });
  assert.deepEqual(backOff.untouched, ['a', 'b', 'c', 'd'], 'an outage is not the events\' fault');
  assert.equal(k.reactToAnswer({ kind: 'network_error', message: 'refused' }, sent, ctx).next.kind, 'back_off');
  // nowMs and random default to the host's.
  const before = Date.now();
  const next = k.reactToAnswer({ kind: 'server_error', status: 500 }, sent).next;
  assert.equal(next.attempt, 0);
  assert.ok(next.at_ms >= before + 250 && next.at_ms <= Date.now() + 500, JSON.stringify(next));
});

test('reactToAnswer refuses malformed answers and contexts with an error naming the field', () => {
  const sent = [{ event_id: 'a', retry_count: 0 }];
  const cases = [
    [() => k.reactToAnswer({ kind: 'teapot' }, sent, {}), /^answer\.kind: unknown variant `teapot`/],
    [() => k.reactToAnswer({ kind: 'server_error' }, sent, {}), /^answer: missing field `status`$/],
    [() => k.reactToAnswer({ kind: 'results', results: [{ status: 'success' }] }, sent, {}), /^answer: missing field `event_id`$/],
    [() => k.reactToAnswer({ kind: 'forbidden' }, [{ event_id: 'a', retry_count: -1 }], {}), /^sent\[0\]\.retry_count: /],
    [() => k.reactToAnswer({ kind: 'forbidden' }, sent, 'now'), /^context: expected an object$/],
    [() => k.reactToAnswer({ kind: 'forbidden' }, sent, { nowMs: 'now' }), /^context\.nowMs: /],
    [() => k.reactToAnswer({ kind: 'forbidden' }, sent, { failedSends: -1 }), /^context\.failedSends: /],
    [() => k.reactToAnswer({ kind: 'forbidden' }, sent, { random: 'zz' }), /^context\.random: /],
    [() => k.reactToAnswer({ kind: 'forbidden' }, sent, { tokenJustRefreshed: 'yes' }), /^context\.tokenJustRefreshed: expected a boolean$/],
    [() => k.planBatches([{ id: 1 }]), /^queued\[0\]: missing field `bytes`$/],
    [() => k.planBatches([], -1), /^maxEvents: /],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (err) => err instanceof Error && pattern.test(err.message), String(pattern));
  }
  assert.deepEqual(k.reactToAnswer({ kind: 'forbidden' }, sent, {}).untouched, ['a'], 'still working');
});
