'use strict';
// foldBoard: events -> board, whatever the delivery order and duplication.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();

function stream() {
  const a = new k.EventFactory({ nodeId: k.nodeId('a', 'user'), teamSlug: 'team' });
  const b = new k.EventFactory({ nodeId: k.nodeId('b', 'user'), teamSlug: 'team' });
  const clockA = new k.LamportClock(k.nodeId('a', 'user'));
  const clockB = new k.LamportClock(k.nodeId('b', 'user'));
  const at = (ms) => ({ nowMs: 1_770_000_000_000 + ms, entropyHex: (ms * 7919).toString(16) });
  const slug = '028-cli-event-emission-sync';
  const events = [
    a.build('FeatureCreated', clockA, { feature_slug: slug, feature_number: '028', target_branch: '2.x', wp_count: 2 }, at(1)),
    a.build('WPCreated', clockA, { wp_id: 'WP01', title: 'Event factory', feature_slug: slug }, at(2)),
    a.build('WPCreated', clockA, { wp_id: 'WP02', title: 'Commands', dependencies: ['WP01'], feature_slug: slug }, at(3)),
    a.build('WPStatusChanged', clockA, { wp_id: 'WP01', previous_status: 'planned', new_status: 'doing', changed_by: 'codex' }, at(4)),
    a.build('WPAssigned', clockA, { wp_id: 'WP01', agent_id: 'codex', phase: 'implementation' }, at(5)),
  ];
  clockB.receive(clockA.value);
  events.push(
    b.build('HistoryAdded', clockB, { wp_id: 'WP01', entry_type: 'note', entry_content: 'reviewed' }, at(6)),
    b.build('ErrorLogged', clockB, { wp_id: 'WP02', error_type: 'runtime', error_message: 'flaky' }, at(7)),
    b.build('DependencyResolved', clockB, { wp_id: 'WP02', dependency_wp_id: 'WP01', resolution_type: 'completed' }, at(8)),
    b.build('FeatureCompleted', clockB, { feature_slug: slug, total_wps: 2 }, at(9)),
  );
  return events;
}

test('folds lanes, titles, dependencies, assignees, history and features', () => {
  const events = stream();
  const board = k.foldBoard(events);
  assert.deepEqual(Object.keys(board), ['work_packages', 'features', 'events_applied', 'max_lamport_clock']);
  assert.equal(board.events_applied, 9);
  assert.equal(board.max_lamport_clock, 10, "A ticks 1..5, B receives 5 (6) then ticks 7..10");
  const wp1 = board.work_packages.WP01;
  assert.equal(wp1.lane, 'doing');
  assert.equal(wp1.title, 'Event factory');
  assert.equal(wp1.assignee, 'codex');
  assert.deepEqual(wp1.history.map((h) => h.summary), [
    'created: Event factory',
    'planned -> doing by codex',
    'assigned to codex for implementation (retry 0)',
    'user: reviewed',
  ]);
  assert.deepEqual(board.work_packages.WP02.dependencies, ['WP01']);
  assert.deepEqual(board.work_packages.WP02.history.map((h) => h.summary).slice(1), ['error: flaky', 'dependency WP01 resolved']);
  assert.deepEqual(board.features['028-cli-event-emission-sync'], {
    feature_slug: '028-cli-event-emission-sync', target_branch: '2.x', wp_count: 2, completed: true,
  });
});

test('any delivery order, with duplicates, gives the same board', () => {
  const events = stream();
  const expected = JSON.stringify(k.foldBoard(events));
  let seed = 12345;
  for (let round = 0; round < 20; round += 1) {
    const delivered = [...events, ...events.filter((_, i) => i % 3 === round % 3)];
    for (let i = delivered.length - 1; i > 0; i -= 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [delivered[i], delivered[j]] = [delivered[j], delivered[i]];
    }
    assert.equal(JSON.stringify(k.foldBoard(delivered)), expected, `round ${round}`);
  }
  assert.deepEqual(k.foldBoard([]), { work_packages: {}, features: {}, events_applied: 0, max_lamport_clock: 0 });
});

test('a stream with a non-envelope is an error naming the event, not a crash', () => {
  const events = stream();
  const cases = [
    [[events[0], { ...events[1], payload: { ...events[1].payload, wp_id: 'nope' } }], /^events\[1\]: payload\.wp_id: malformed work package id `nope`/],
    [[{ ...events[0], event_type: 'Nope' }], /^events\[0\]: event_type: unknown event type `Nope`/],
    [[{ ...events[1], aggregate_id: 'WP09' }], /^events\[0\]: aggregate_id: `WP09` does not match the payload's `WP01`/],
    [[events[0], {}], /^events\[1\]: missing field `event_id`/],
    ['not a list', /^events: invalid type: string "not a list", expected a sequence$/],
    [undefined, /^events: invalid type: null/],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(() => k.foldBoard(input), (err) => err instanceof Error && pattern.test(err.message), String(pattern));
  }
  assert.equal(k.foldBoard(events).events_applied, 9, 'still working');
});
