'use strict';
// The WASM side of the parity test (tests/tests/wasm_parity.rs): runs every case of cases.json through
// the BUILT npm package and writes, per case, the JSON text of the result or of {"error": message}.
//
//   node tests/parity/run.cjs <package dir> <cases.json> <results.json>
const fs = require('node:fs');
const path = require('node:path');

const [pkgDir, casesPath, resultsPath] = process.argv.slice(2);
if (!pkgDir || !casesPath || !resultsPath) {
  console.error('usage: node tests/parity/run.cjs <package dir> <cases.json> <results.json>');
  process.exit(2);
}
const k = require(path.resolve(pkgDir));

/** Each operation: the case's args in, the value whose JSON is compared out. */
const ops = {
  build: (builder, context, payload) => k[builder](context, payload),
  buildEvent: (eventType, context, payload) => k.buildEvent(eventType, context, payload),
  factory: (identity, clockValue, steps) => {
    const factory = new k.EventFactory(identity);
    const clock = new k.LamportClock(identity.nodeId, clockValue);
    const events = steps.map(({ eventType, payload, options }) => attempt(() => factory.build(eventType, clock, payload, options)));
    return { events, clock: clock.value };
  },
  validate: (event) => k.validateEvent(event),
  ulid: (nowMs, entropyHex) => k.ulid(nowMs, entropyHex),
  nodeId: (hostname, username) => k.nodeId(hostname, username),
  clock: (nodeId, start, steps, nowMs) => {
    const clock = new k.LamportClock(nodeId, start);
    const values = steps.map((step) => (step === 'tick' ? clock.tick() : clock.receive(step.receive)));
    return { values, json: clock.toJSON(nowMs) };
  },
  clockFile: (text) => {
    const clock = k.LamportClock.fromJSON(text);
    return { value: clock.value, node_id: clock.nodeId };
  },
  fold: (events) => k.foldBoard(events),
  tasks: (text, label) => k.parseTasksMd(text, label),
  wpFile: (text, label) => k.parseWpFile(text, label),
  feature: (files) => k.loadFeature(files),
  graph: (entries, finished, lanes) => {
    const graph = new k.DependencyGraph(entries);
    return {
      json: graph.toJSON(),
      unblocked: graph.unblockedBy(finished, lanes),
      ready: graph.readyToStart(lanes),
      complete: graph.featureComplete(lanes),
    };
  },
  planImplement: (feature, wp, facts) => k.planImplement(feature, wp, facts),
  planMerge: (feature, facts) => k.planMerge(feature, facts),
  planMergeMoves: (feature, target, facts) => k.planMergeMoves(feature, target, facts),
  planAccept: (feature, facts) => k.planAccept(feature, facts),
  planMoveTask: (feature, request, facts) => k.planMoveTask(feature, request, facts),
  planMarkStatus: (feature, request) => k.planMarkStatus(feature, request),
  planAddHistory: (feature, request, facts) => k.planAddHistory(feature, request, facts),
  planFinalizeTasks: (feature) => k.planFinalizeTasks(feature),
  branchName: (slug, wp) => k.branchName(slug, wp),
  parseBranchName: (branch) => k.parseBranchName(branch),
  parseAgentsConfig: (yamlText, fileLabel) => k.parseAgentsConfig(yamlText, fileLabel),
  agentRoster: (yamlText, choice, fileLabel) => k.agentRoster(yamlText, choice, fileLabel),
  orchestrationStart: (start, nowMs, entropyHex) => k.orchestrationStart(start, nowMs, entropyHex),
  orchestrationHandle: (state, input, nowMs, entropyHex) => k.orchestrationHandle(state, input, nowMs, entropyHex),
  runEventDraft: (event, featureSlug) => k.runEventDraft(event, featureSlug),
  plan: (queued, maxEvents, maxBytes) => k.planBatches(queued, maxEvents, maxBytes),
  backoff: (attempt, random, schedule) => k.backoffDelayMs(attempt, random, schedule),
  answer: (status, body, retryAfter) => k.readBatchAnswer(status, body, retryAfter),
  react: (answer, sent, context) => k.reactToAnswer(answer, sent, context),
};

/** The value, or {error: message} for a thrown Error (a trap shows up here too, and then differs). */
function attempt(call) {
  try {
    return call();
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const results = cases.map(({ op, args }) => {
  const run = ops[op];
  if (!run) return JSON.stringify({ error: `run.cjs: unknown op ${op}` });
  return JSON.stringify(attempt(() => run(...args)));
});
fs.writeFileSync(resultsPath, JSON.stringify(results));
