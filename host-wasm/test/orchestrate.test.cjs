'use strict';
// The orchestrate scheduler from JS: agents.yaml, the run's agents, and a whole run driven by a small
// host loop here (lanes and agents simulated), with the events it announces built into valid envelopes.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage } = require('../test-support/load.cjs');

const k = loadPackage();
const FEATURE = '028-cli-event-emission-sync';
const NOW = Date.UTC(2026, 1, 10, 9, 30, 0);
const AGENTS_YAML = `defaults:
  implementation: [claude, codex]
  review: [codex, claude]
agents:
  claude:
    command: "claude -p {prompt_file}"
    timeout_seconds: 60
  codex:
    command: [codex, exec]
max_retries: 2
`;
const WORK = [
  { wp: 'WP01', dependencies: [], lane: 'planned' },
  { wp: 'WP02', dependencies: ['WP01'], lane: 'planned' },
  { wp: 'WP03', dependencies: ['WP01'], lane: 'planned' },
];

function startRun(extra = {}) {
  return { run_id: 'run-1', feature_slug: FEATURE, work_packages: WORK, roster: k.agentRoster(AGENTS_YAML),
    agent_choice: {}, max_parallel: 2, orchestrator_pid: 1, ...extra };
}

test('parseAgentsConfig reads agents.yaml as the CLI does, and names the file, field and line of an error', () => {
  const config = k.parseAgentsConfig(AGENTS_YAML);
  assert.deepEqual(config.implementation, ['claude', 'codex']);
  assert.deepEqual(config.agents.map((a) => [a.id, a.command, a.max_concurrent, a.timeout_seconds]),
    [['claude', ['claude', '-p', '{prompt_file}'], 2, 60], ['codex', ['codex', 'exec'], 2, 600]]);
  assert.equal(config.max_retries, 2);
  assert.equal(config.global_concurrency, 5);
  assert.throws(() => k.parseAgentsConfig('agents:\n  claude:\n    comand: x\n', 'my/agents.yaml'), /^Error: my\/agents\.yaml:3: agents\.claude\.comand: unknown field `comand`/);
  assert.throws(() => k.parseAgentsConfig('# nothing yet\n'), /^Error: \.kittify\/agents\.yaml: no agents configured/);
  assert.throws(() => k.parseAgentsConfig(42), /^Error: yamlText: /);
});

test('agentRoster resolves the fallback order and the choices; an agent never reviews its own work', () => {
  const roster = k.agentRoster(AGENTS_YAML);
  assert.deepEqual([roster.implementation, roster.review], [['claude', 'codex'], ['codex', 'claude']]);
  assert.equal(roster.agents.find((a) => a.id === 'claude').timeout_ms, 60000);
  assert.deepEqual(k.agentRoster(AGENTS_YAML, { implementation: 'codex' }).implementation, ['codex']);
  assert.throws(() => k.agentRoster(AGENTS_YAML, { implementation: 'gemini' }), /^Error: \.kittify\/agents\.yaml: --impl-agent gemini: no such agent/);
  assert.throws(() => k.agentRoster(AGENTS_YAML, { implementation: 'claude', review: 'claude-code' }), /never reviews its own work/);
  assert.throws(() => k.agentRoster(AGENTS_YAML, { implementation: 5 }), /^Error: choice\.implementation: invalid type: integer `5`, expected a string/);
});

/** A host loop: every action carried out at once, each agent succeeding (reviews approve). */
function drive(first, { reject = new Set() } = {}) {
  let { state, actions } = first;
  const seen = [];
  const queue = [];
  let now = NOW;
  let calls = 0;
  while (actions.length) {
    const inputs = [];
    for (const action of actions) {
      seen.push(action);
      switch (action.action) {
        case 'save_state': case 'finish': break;
        case 'move_lane': inputs.push({ input: 'lane_moved', wp: action.wp, lane: action.to }); break;
        case 'start_agent': {
          const { wp, phase, attempt } = action;
          inputs.push({ input: 'agent_started', wp, phase, attempt, pid: 100 + calls, log_file: `.kittify/logs/${wp}-${phase}-${attempt}.log` });
          const verdict = reject.has(wp) && attempt === 0 ? 'VERDICT: rejected tests missing' : 'VERDICT: approved';
          inputs.push({ input: 'agent_exited', wp, phase, attempt, exit_code: 0, last_line: phase === 'review' ? verdict : 'done' });
          break;
        }
        case 'emit':
          queue.push(...action.events);
          inputs.push({ input: 'emitted', event_ids: action.events.map((e) => e.event_id) });
          break;
        default: assert.fail(`unexpected action ${JSON.stringify(action)}`);
      }
    }
    actions = [];
    for (const input of inputs) {
      now += 1000;
      calls += 1;
      assert.ok(calls < 500, 'the run ends');
      const step = k.orchestrationHandle(state, input, now, (calls * 7919).toString(16));
      assert.equal(step.actions[0].action, 'save_state', 'every call saves its state first');
      state = step.state;
      actions.push(...step.actions);
    }
  }
  return { state, seen, queue };
}

test('a whole run through orchestrationStart / orchestrationHandle: dependency order, reviews, events with the feature', () => {
  const first = k.orchestrationStart(startRun(), NOW, 'abc');
  assert.equal(first.actions[0].action, 'save_state');
  assert.deepEqual(first.actions.filter((a) => a.action === 'move_lane').map((a) => [a.wp, a.from, a.to]), [['WP01', 'planned', 'doing']]);
  assert.equal(first.state.status, 'running');
  assert.equal(first.nextWakeupMs, NOW + 3600 * 1000, 'the global timeout');

  const { state, seen, queue } = drive(first, { reject: new Set(['WP02']) });
  assert.equal(state.status, 'completed');
  assert.deepEqual(Object.values(state.work_packages).map((w) => [w.lane, w.status]), Array(3).fill(['done', 'done']));
  assert.deepEqual(seen.filter((a) => a.action === 'finish'), [{ action: 'finish', status: 'completed' }]);
  const started = seen.filter((a) => a.action === 'start_agent');
  for (const review of started.filter((a) => a.phase === 'review')) {
    const implementer = started.filter((a) => a.wp === review.wp && a.phase === 'implementation').at(-1).agent;
    assert.notEqual(review.agent, implementer, `${review.wp} reviewed by its implementer`);
  }
  const retry = started.find((a) => a.wp === 'WP02' && a.phase === 'implementation' && a.attempt === 1);
  assert.equal(retry.feedback.reason, 'tests missing', 'the rejection goes into the next try');

  const types = queue.map((a) => a.event.type);
  assert.equal(types.filter((t) => t === 'dependency_resolved').length, 2, 'one per edge');
  assert.equal(types.filter((t) => t === 'feature_completed').length, 1);
  assert.equal(new Set(queue.map((a) => a.event_id)).size, queue.length, 'no id twice');
  // Each announcement builds into a valid envelope; assignments and resolutions name the feature.
  const factory = new k.EventFactory({ nodeId: k.nodeId('host', 'user'), teamSlug: 'local' });
  const clock = new k.LamportClock(k.nodeId('host', 'user'), 0);
  for (const { event } of queue) {
    const draft = k.runEventDraft(event, FEATURE);
    const envelope = factory.build(draft.event_type, clock, draft.payload, { nowMs: NOW, entropyHex: '1' });
    assert.deepEqual(k.validateEvent(envelope), []);
    if (['WPAssigned', 'DependencyResolved'].includes(draft.event_type)) assert.equal(draft.payload.feature_slug, FEATURE);
  }
  assert.deepEqual(k.runEventDraft({ type: 'dependency_resolved', wp: 'WP02', dependency: 'WP01', skipped: true }, FEATURE),
    { event_type: 'DependencyResolved', payload: { wp_id: 'WP02', dependency_wp_id: 'WP01', resolution_type: 'skipped', feature_slug: FEATURE }, causation: 'alone' });
});

test('an interrupt stops the running agents, and a resume takes the run on', () => {
  const first = k.orchestrationStart(startRun(), NOW, '1');
  let step = k.orchestrationHandle(first.state, { input: 'lane_moved', wp: 'WP01', lane: 'doing' }, NOW + 1, '2');
  const start = step.actions.find((a) => a.action === 'start_agent');
  step = k.orchestrationHandle(step.state, { input: 'agent_started', wp: 'WP01', phase: 'implementation', attempt: start.attempt, pid: 7, log_file: 'l' }, NOW + 2, '3');
  assert.equal(step.nextWakeupMs, NOW + 2 + 60000, "the agent's timeout");
  step = k.orchestrationHandle(step.state, { input: 'interrupt' }, NOW + 3, '4');
  assert.deepEqual(step.actions.filter((a) => a.action === 'stop_agent'), [{ action: 'stop_agent', wp: 'WP01', phase: 'implementation', attempt: 0 }]);
  step = k.orchestrationHandle(step.state, { input: 'agent_exited', wp: 'WP01', phase: 'implementation', attempt: 0, exit_code: null, last_line: null }, NOW + 4, '5');
  assert.equal(step.actions.at(-1).action, 'finish');
  assert.equal(step.nextWakeupMs, null, 'over');
  const unconfirmed = step.state.outbox.map((a) => a.event_id);
  assert.equal(unconfirmed.length, 1, 'the assignment was never confirmed emitted');
  let resumed = k.orchestrationHandle(step.state, { input: 'resume', lanes: { WP01: 'doing', WP02: 'planned', WP03: 'planned' } }, NOW + 5, '6');
  assert.equal(resumed.state.status, 'running');
  const replayed = resumed.actions.find((a) => a.action === 'emit');
  assert.deepEqual(replayed.events.map((a) => a.event_id), unconfirmed, 'replayed with the same id');
  const move = resumed.actions.find((a) => a.action === 'move_lane');
  assert.deepEqual([move.wp, move.from, move.to], ['WP01', 'doing', 'doing'], 'makes sure of the worktree');
  resumed = k.orchestrationHandle(resumed.state, { input: 'lane_moved', wp: 'WP01', lane: 'doing' }, NOW + 6, '7');
  const retry = resumed.actions.find((a) => a.action === 'start_agent');
  assert.deepEqual([retry.wp, retry.phase, retry.attempt], ['WP01', 'implementation', 1], 'the interrupted try is taken up again');
});

test('refused runs and inputs throw one line naming the field; a state of another version is refused', () => {
  assert.throws(() => k.orchestrationStart(startRun({ work_packages: [] }), NOW, '1'), /^Error: feature 028-cli-event-emission-sync has no work packages$/);
  const cycle = [{ wp: 'WP01', dependencies: ['WP02'], lane: 'planned' }, { wp: 'WP02', dependencies: ['WP01'], lane: 'planned' }];
  assert.throws(() => k.orchestrationStart(startRun({ work_packages: cycle }), NOW, '1'), /^Error: feature 028-cli-event-emission-sync: .*cycle/i);
  assert.throws(() => k.orchestrationStart(startRun({ run_id: 5 }), NOW, '1'), /^Error: start\.run_id: /);
  assert.throws(() => k.orchestrationStart(startRun(), -5, '1'), /^Error: nowMs: /);
  const { state } = k.orchestrationStart(startRun(), NOW, '1');
  assert.throws(() => k.orchestrationHandle({ ...state, version: 2 }, { input: 'tick' }, NOW, '1'), /^Error: state: state version 2; this spec-kitty reads version 1$/);
  assert.throws(() => k.orchestrationHandle(state, { input: 'launch' }, NOW, '1'), /^Error: input\.input: unknown variant `launch`/);
  assert.throws(() => k.orchestrationHandle(state, { input: 'skip', wp: 'WP09' }, NOW, '1'), /^Error: unknown work package WP09 \(the run has WP01, WP02, WP03\)$/);
  assert.throws(() => k.runEventDraft({ type: 'assigned' }, FEATURE), /^Error: event: /);
  assert.throws(() => k.runEventDraft({ type: 'error', wp: 'WP01', agent: null, message: 'm' }, 28), /^Error: featureSlug: /);
});

test('junk arguments throw Errors and never trap', () => {
  const { state } = k.orchestrationStart(startRun(), NOW, '1');
  const JUNK = [undefined, null, 0, -1, 1.5, NaN, 2 ** 64, true, '', 'x', 5n, Symbol('s'), () => 1, [], {}, [1, 'a'],
    { input: 'tick', extra: 1 }, { wp: 'WP01' }, { version: 1 }, { ...state, work_packages: 7 }];
  const calls = [
    (j) => k.parseAgentsConfig(j), (j) => k.parseAgentsConfig(AGENTS_YAML, j), (j) => k.agentRoster(j),
    (j) => k.agentRoster(AGENTS_YAML, j), (j) => k.orchestrationStart(j, NOW, '1'), (j) => k.orchestrationStart(startRun(), j, '1'),
    (j) => k.orchestrationStart(startRun(), NOW, j), (j) => k.orchestrationHandle(j, { input: 'tick' }, NOW, '1'),
    (j) => k.orchestrationHandle(state, j, NOW, '1'), (j) => k.orchestrationHandle(state, { input: 'tick' }, j, '1'),
    (j) => k.runEventDraft(j, FEATURE), (j) => k.runEventDraft({ type: 'error', wp: 'WP01', agent: null, message: 'm' }, j),
  ];
  for (const call of calls) {
    for (const j of JUNK) {
      try {
        call(j);
      } catch (err) {
        assert.ok(err instanceof Error, `${call} ${String(j)}: threw ${err}`);
        assert.doesNotMatch(err.message, /unreachable|RuntimeError/, `${call}`);
      }
    }
  }
  // Still alive after all that.
  assert.equal(k.orchestrationHandle(state, { input: 'tick' }, NOW + 1, '2').state.status, 'running');
});
