'use strict';
// The workflow commands' plans on the real fixture features: what each command will do, as the CLI
// decides it, and the clear errors for what is refused.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage, featureFolder } = require('../test-support/load.cjs');

const k = loadPackage();
const F028 = '028-cli-event-emission-sync';
const NOW = Date.UTC(2026, 1, 10, 9, 30, 0);
const OCCASION = { now_ms: NOW, shell_pid: '4242' };
const STAMP = '2026-02-10T09:30:00Z';

/** 028 (every WP done in the fixture) with some WP files moved to other lanes. */
function f028(lanes = {}) {
  const folder = featureFolder(F028);
  const present = folder.wpFiles.map((f) => f.fileName.match(/WP\d\d/)[0]);
  for (const wp of Object.keys(lanes)) assert.ok(present.includes(wp), `${wp} has a WP file in 028`);
  folder.wpFiles = folder.wpFiles.map(({ fileName, text }) => {
    const lane = lanes[fileName.match(/WP\d\d/)[0]];
    return { fileName, text: lane ? text.replace(/^lane: .*$/m, `lane: "${lane}"`) : text };
  });
  return folder;
}

/** The repository around 028: on its target 2.x, with the given branches and tips. */
function repository(extra = {}) {
  return { root_label: '/repo', current_branch: '2.x', branch_tips: { '2.x': 'tip-2x', main: 'tip-main' }, ...extra };
}

const wpText = (plan, wp) => plan.changes.edits.find((e) => e.path.includes(`/tasks/${wp}-`)).text;

test('branchName and parseBranchName: {slug}-{wp}, read back; other branches are no WP branch', () => {
  assert.equal(k.branchName(F028, 'WP07'), `${F028}-WP07`);
  assert.deepEqual(k.parseBranchName(`${F028}-WP07`), { slug: F028, wp: 'WP07' });
  for (const other of ['main', '2.x', '028-x-WP1', '-WP01', '028-x-WP01-fix']) assert.equal(k.parseBranchName(other), null, other);
  assert.throws(() => k.branchName(F028, 'wp7'), /^Error: wp: malformed work package id `wp7`/);
  assert.throws(() => k.branchName(undefined, 'WP01'), /^Error: slug: expected a string$/);
  assert.throws(() => k.parseBranchName(7), /^Error: branch: expected a string$/);
});

test('planImplement: a planned WP starts on its branch from the target, moves to doing, announces it', () => {
  const plan = k.planImplement(f028({ WP03: 'planned' }), 'WP03', { repository: repository(), occasion: OCCASION });
  const branch = `${F028}-WP03`;
  assert.equal(plan.branch, branch);
  assert.equal(plan.worktree, `.worktrees/${branch}`);
  assert.deepEqual(plan.start, { kind: 'from', base: '2.x' });
  assert.deepEqual(plan.changes.git_steps, [
    { kind: 'exclude_locally', pattern: '.worktrees/' },
    { kind: 'add_worktree', path: `.worktrees/${branch}`, branch, create_from: '2.x' },
  ]);
  assert.deepEqual(plan.changes.edits.map((e) => e.path), [`kitty-specs/${F028}/tasks/WP03-task-commands.md`]);
  const text = wpText(plan, 'WP03');
  assert.match(text, /^lane: "?doing"?$/m);
  assert.match(text, /^base_branch: "?2\.x"?$/m);
  assert.match(text, /^base_commit: "?tip-2x"?$/m);
  assert.match(text, /^shell_pid: "?4242"?$/m);
  assert.ok(text.includes(`${STAMP} – user – shell_pid=4242 – lane=doing – Started implementation`), 'activity line');
  assert.equal(plan.changes.commit_message, 'WP03: planned -> doing');
  assert.deepEqual(plan.changes.events, [{
    event_type: 'WPStatusChanged',
    payload: { wp_id: 'WP03', previous_status: 'planned', new_status: 'doing', changed_by: 'user', feature_slug: F028 },
    causation: 'alone',
  }]);
  assert.deepEqual(plan.notes, []);
});

test('planImplement: from the one unfinished dependency\'s branch; already started; refused lanes and facts', () => {
  const wp05 = `${F028}-WP05`;
  const facts = { repository: repository({ branch_tips: { '2.x': 'tip-2x', [wp05]: 'tip-wp05' } }), occasion: OCCASION };
  const plan = k.planImplement(f028({ WP05: 'doing', WP06: 'planned' }), 'WP06', facts);
  assert.deepEqual(plan.start, { kind: 'from', base: wp05 });
  assert.deepEqual(plan.notes, [`WP06 depends on WP05 (doing), not done yet; its branch starts from ${wp05}`]);

  const started = k.planImplement(f028({ WP05: 'doing' }), 'WP05', {
    repository: repository({ worktrees: { [wp05]: true } }), occasion: OCCASION,
  });
  assert.deepEqual(started.start, { kind: 'already_started' });
  assert.deepEqual(started.changes, { git_steps: [], edits: [], commit_message: null, events: [] });

  assert.throws(() => k.planImplement(f028(), 'WP01', facts), /^Error: WP01 is in lane done; implement starts planned work packages$/);
  assert.throws(() => k.planImplement(f028(), 'WP09', facts), /^Error: unknown work package WP09 in feature 028-cli-event-emission-sync \(it has WP01, /);
  assert.throws(() => k.planImplement(f028({ WP03: 'planned' }), 'WP03', { occasion: OCCASION }), /^Error: facts\.repository: required by implement$/);
  assert.throws(() => k.planImplement(f028({ WP03: 'planned' }), 'WP03', { repository: repository() }), /^Error: facts\.occasion: required by implement$/);
  assert.throws(() => k.planImplement(f028({ WP03: 'planned' }), 'WP03', { repository: { current_branch: '2.x' }, occasion: OCCASION }),
    /^Error: 2\.x has no commit to start 028-cli-event-emission-sync-WP03 from$/);
  assert.throws(() => k.planImplement(f028({ WP03: 'planned' }), 'WP03', { repository: {}, occasion: OCCASION }),
    /^Error: facts\.repository: missing field `current_branch`$/);
});

test('planMerge and planMergeMoves: the branches with missing work merged in order, then the WPs in doing move', () => {
  const branch = (wp) => `${F028}-${wp}`;
  const feature = f028({ WP01: 'doing', WP02: 'doing', WP03: 'for_review' });
  const before = repository({
    branch_tips: { '2.x': 'tip-2x', [branch('WP01')]: 'w1', [branch('WP02')]: 'w2', [branch('WP03')]: 'w3' },
    merged_into_target: [branch('WP02')],
  });
  const plan = k.planMerge(feature, { repository: before });
  assert.equal(plan.target, '2.x');
  assert.deepEqual(plan.merges, [
    { wp: 'WP01', branch: branch('WP01'), message: `Merge ${branch('WP01')} into 2.x` },
    { wp: 'WP03', branch: branch('WP03'), message: `Merge ${branch('WP03')} into 2.x` },
  ]);
  assert.throws(() => k.planMerge(feature, { repository: { ...before, current_branch: 'main' } }),
    /^Error: merge runs on the target branch 2\.x; \/repo is on main$/);
  assert.throws(() => k.planMerge(feature, {}), /^Error: facts\.repository: required by merge$/);

  const after = { ...before, merged_into_target: [branch('WP01'), branch('WP02'), branch('WP03')] };
  const moves = k.planMergeMoves(feature, plan.target, { repository: after, occasion: OCCASION });
  assert.deepEqual(moves.moved, ['WP01', 'WP02']);
  assert.equal(moves.changes.commit_message, 'WP01, WP02: doing -> for_review');
  assert.match(wpText(moves, 'WP02'), /^lane: "?for_review"?$/m);
  assert.ok(wpText(moves, 'WP01').includes('lane=for_review – Merged into 2.x'));
  assert.deepEqual(moves.changes.events.map((e) => [e.payload.wp_id, e.payload.previous_status, e.payload.new_status]),
    [['WP01', 'doing', 'for_review'], ['WP02', 'doing', 'for_review']]);
  // A WP branch whose tip is still the commit it started from has no work of its own: it stays.
  const idle = f028({ WP01: 'doing' });
  idle.wpFiles[0].text = idle.wpFiles[0].text.replace(/^lane: .*$/m, 'lane: "doing"\nbase_commit: "w1"');
  assert.deepEqual(k.planMergeMoves(idle, '2.x', { repository: after, occasion: OCCASION }).moved, []);
  assert.throws(() => k.planMergeMoves(feature, null, { repository: after, occasion: OCCASION }), /^Error: target: expected a string$/);
});

test('planAccept: for_review moves to done; the last one completes the feature, FeatureCompleted last', () => {
  const plan = k.planAccept(f028({ WP07: 'for_review' }), { occasion: OCCASION });
  assert.deepEqual(plan.accepted, ['WP07']);
  assert.equal(plan.feature_complete, true);
  assert.equal(plan.changes.commit_message, 'Accept WP07');
  const meta = JSON.parse(plan.changes.edits.find((e) => e.path === `kitty-specs/${F028}/meta.json`).text);
  assert.equal(meta.accepted_at, STAMP);
  assert.equal(meta.completed_at, STAMP);
  assert.deepEqual(plan.changes.events.map((e) => e.event_type), ['WPStatusChanged', 'FeatureCompleted']);
  const completed = plan.changes.events[1].payload;
  assert.equal(completed.total_wps, 7);
  assert.equal(completed.completed_at, STAMP);
  assert.match(completed.total_duration, /^\d+\.\ds$/);
  // The drafts build into events that validate, as the CLI's emitter would build them.
  const context = { nodeId: 'd036a097a835', teamSlug: 'local', lamportClock: 0, nowMs: NOW, entropyHex: '1' };
  for (const draft of plan.changes.events) {
    assert.deepEqual(k.validateEvent(k.buildEvent(draft.event_type, context, draft.payload)), []);
  }

  const partial = k.planAccept(f028({ WP06: 'for_review', WP07: 'doing' }), { occasion: OCCASION });
  assert.deepEqual([partial.accepted, partial.feature_complete], [['WP06'], false]);
  assert.ok(!partial.changes.events.some((e) => e.event_type === 'FeatureCompleted'));
  assert.deepEqual(k.planAccept(f028(), { occasion: OCCASION }).changes.edits, [], 'nothing in for_review: nothing changes');
  assert.throws(() => k.planAccept(f028({ WP07: 'for_review' })), /^Error: facts\.occasion: required by accept$/);
});

test('planMoveTask: moves the workflow allows, others only forced; an interrupted move is finished', () => {
  const plan = k.planMoveTask(f028({ WP07: 'for_review' }), { wp: 'WP07', to: 'doing', agent: 'codex', note: 'Rework' }, { occasion: OCCASION });
  assert.equal(plan.previous, 'for_review');
  assert.equal(plan.completes_earlier_run, false);
  assert.match(wpText(plan, 'WP07'), /^agent: "?codex"?$/m);
  assert.ok(wpText(plan, 'WP07').includes(`${STAMP} – codex – shell_pid=4242 – lane=doing – Rework`));
  assert.equal(plan.changes.commit_message, 'WP07: for_review -> doing');
  assert.equal(plan.changes.events[0].payload.changed_by, 'codex');

  assert.throws(() => k.planMoveTask(f028(), { wp: 'WP07', to: 'planned' }, { occasion: OCCASION }), /^Error: WP07: illegal move done -> planned/);
  const forced = k.planMoveTask(f028(), { wp: 'WP07', to: 'planned', force: true }, { occasion: OCCASION });
  assert.ok(wpText(forced, 'WP07').includes('lane=planned – Moved to planned'));

  const committed = featureFolder(F028).wpFiles[6].text;
  const finish = k.planMoveTask(f028({ WP07: 'for_review' }), { wp: 'WP07', to: 'for_review' }, { occasion: OCCASION, head_text: committed });
  assert.equal(finish.completes_earlier_run, true);
  assert.equal(finish.previous, 'done');
  assert.deepEqual(finish.changes.git_steps, [
    { kind: 'commit_paths', paths: [`kitty-specs/${F028}/tasks/WP07-tests.md`], message: 'WP07: done -> for_review' },
  ]);
  assert.deepEqual(finish.changes.edits, []);

  assert.throws(() => k.planMoveTask(f028(), { wp: 'WP07', to: 'review' }, { occasion: OCCASION }),
    /^Error: request\.to: unknown variant `review`, expected one of `planned`, `doing`, `for_review`, `done`$/);
  assert.throws(() => k.planMoveTask(f028(), { wp: 'WP07', lane: 'done' }, { occasion: OCCASION }), /^Error: request\.lane: unknown field `lane`, expected one of `wp`, `to`, `agent`, `note`, `force`$/);
});

test('planMarkStatus: ticks or unticks subtasks in tasks.md, left uncommitted, one note per WP', () => {
  const plan = k.planMarkStatus(f028(), { subtasks: ['T001', 'T002', 'T001'], status: 'pending', agent: 'codex' });
  assert.equal(plan.status, 'pending');
  assert.deepEqual(plan.subtasks, [{ subtask: 'T001', wp: 'WP01', was_done: true }, { subtask: 'T002', wp: 'WP01', was_done: true }]);
  assert.equal(plan.changed, 2);
  assert.equal(plan.changes.commit_message, null);
  assert.deepEqual(plan.changes.edits.map((e) => e.path), [`kitty-specs/${F028}/tasks.md`]);
  assert.match(plan.changes.edits[0].text, /^- \[ \] T001 /m);
  assert.deepEqual(plan.changes.events.map((e) => e.payload), [
    { wp_id: 'WP01', entry_type: 'note', entry_content: 'Marked T001, T002 as pending', author: 'codex' },
  ]);
  const unchanged = k.planMarkStatus(f028(), { subtasks: ['T001'], status: 'done' });
  assert.deepEqual([unchanged.changed, unchanged.changes.edits, unchanged.changes.events], [0, [], []]);
  assert.throws(() => k.planMarkStatus(f028(), { subtasks: ['T999'], status: 'done' }), /unknown subtask T999/);
  assert.throws(() => k.planMarkStatus(f028(), { subtasks: ['T001'], status: 'finished' }),
    /^Error: request\.status: unknown variant `finished`, expected `done` or `pending`$/);
  assert.throws(() => k.planMarkStatus(f028(), { subtasks: 'T001', status: 'done' }), /^Error: request\.subtasks: invalid type: string/);
});

test('planAddHistory: an activity line, uncommitted, and a HistoryAdded note', () => {
  const changes = k.planAddHistory(f028(), { wp: 'WP02', note: 'Checked the queue', agent: 'claude' }, { occasion: OCCASION });
  assert.equal(changes.commit_message, null);
  assert.deepEqual(changes.edits.map((e) => e.path), [`kitty-specs/${F028}/tasks/WP02-workflow-commands.md`]);
  assert.ok(changes.edits[0].text.endsWith(`- ${STAMP} – claude – shell_pid=4242 – lane=done – Checked the queue\n`));
  assert.deepEqual(changes.events, [{
    event_type: 'HistoryAdded',
    payload: { wp_id: 'WP02', entry_type: 'note', entry_content: 'Checked the queue', author: 'claude' },
    causation: 'alone',
  }]);
  assert.throws(() => k.planAddHistory(f028(), { wp: 'WP02', note: '  ' }, { occasion: OCCASION }), /^Error: --note: the note is empty$/);
  assert.throws(() => k.planAddHistory(f028(), { wp: 'WP02' }, { occasion: OCCASION }), /^Error: request: missing field `note`$/);
});

test('planFinalizeTasks: dependencies written, FeatureCreated and one WPCreated per WP as one action', () => {
  const plan = k.planFinalizeTasks(featureFolder(F028));
  assert.equal(plan.no_feature_created, null);
  assert.equal(plan.changes.commit_message, `Finalize tasks for ${F028}`);
  assert.deepEqual(plan.finalization.work_packages.map((wp) => wp.id), ['WP01', 'WP02', 'WP03', 'WP04', 'WP05', 'WP06', 'WP07']);
  assert.deepEqual(plan.changes.events.map((e) => e.event_type), ['FeatureCreated', ...Array(7).fill('WPCreated')]);
  assert.ok(plan.changes.events.every((e) => e.causation === 'shared'));
  assert.equal(plan.changes.events[0].payload.target_branch, '2.x');

  // A mission whose number is null can announce no valid FeatureCreated: the WPs are announced all the same.
  const inert = k.planFinalizeTasks(featureFolder('cascade-org-inert-01M07E9P', 'kitty-specs-compat'));
  assert.match(inert.no_feature_created, /^no FeatureCreated event: kitty-specs\/cascade-org-inert-01M07E9P\/meta\.json: .*; the 3 WPCreated events go on$/);
  assert.deepEqual(inert.changes.events.map((e) => e.event_type), ['WPCreated', 'WPCreated', 'WPCreated']);
  const missing = k.planFinalizeTasks({ ...featureFolder(F028), metaJson: null, dirLabel: '/r/specs/028' });
  assert.equal(missing.no_feature_created, 'no FeatureCreated event: /r/specs/028/meta.json is missing; the 7 WPCreated events go on');
});

test('every plan export refuses a bad feature or facts with a one-line Error naming the field', () => {
  const facts = { repository: repository(), occasion: OCCASION };
  // Those that take facts, with the facts as a second argument.
  const withFacts = ['planImplement', 'planMerge', 'planMergeMoves', 'planAccept', 'planMoveTask', 'planAddHistory'];
  const calls = {
    planImplement: (feature, f = facts) => k.planImplement(feature, 'WP01', f),
    planMerge: (feature, f = facts) => k.planMerge(feature, f),
    planMergeMoves: (feature, f = facts) => k.planMergeMoves(feature, '2.x', f),
    planAccept: (feature, f = facts) => k.planAccept(feature, f),
    planMoveTask: (feature, f = facts) => k.planMoveTask(feature, { wp: 'WP01', to: 'doing' }, f),
    planMarkStatus: (feature) => k.planMarkStatus(feature, { subtasks: ['T001'], status: 'done' }),
    planAddHistory: (feature, f = facts) => k.planAddHistory(feature, { wp: 'WP01', note: 'n' }, f),
    planFinalizeTasks: (feature) => k.planFinalizeTasks(feature),
  };
  for (const [name, call] of Object.entries(calls)) {
    const refused = (args, pattern) => assert.throws(() => call(...args), (err) => {
      assert.ok(err instanceof Error && !(err instanceof WebAssembly.RuntimeError), `${name}: ${err}`);
      assert.match(err.message, pattern, name);
      assert.ok(!err.message.includes('\n'), `${name}: one line: ${err.message}`);
      return true;
    });
    refused([undefined], /^feature: invalid type: null, expected an object$/);
    refused(['028'], /^feature: invalid type: string "028"/);
    refused([{ ...f028(), slug: '../028' }], /^feature\.slug: --feature `\.\.\/028`: a feature is one folder name/);
    refused([{ ...f028(), wpFiles: [{ fileName: 'tasks/WP01.md' }] }], /^feature\.wpFiles\[0\]: missing field `text`$/);
    refused([{ ...f028(), metaJson: '{"target_branch": 2}' }], /^kitty-specs\/028-cli-event-emission-sync\/meta\.json: /);
    if (withFacts.includes(name)) {
      refused([f028(), { ...facts, headText: 'x' }], /^facts\.headText: unknown field `headText`, expected one of `repository`, `occasion`, `head_text`$/);
      refused([f028(), { ...facts, occasion: { now_ms: -5, shell_pid: '1' } }], /^facts\.occasion\.now_ms: invalid value: integer `-5`/);
      refused([f028(), { ...facts, repository: { current_branch: '2.x', branchTips: {} } }], /^facts\.repository\.branchTips: unknown field `branchTips`/);
      refused([f028(), 5], /^facts: invalid type: integer `5`, expected an object$/);
    }
  }
  // A WP file that does not parse is named, whichever plan reads the folder.
  const broken = f028();
  broken.wpFiles[2].text = '---\nwork_package_id: WP03\nlane: review\n---\n';
  assert.throws(() => k.planAccept(broken, { occasion: OCCASION }), /tasks\/WP03-task-commands\.md/);
});
