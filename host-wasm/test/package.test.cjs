'use strict';
// The npm package as shipped: package.json, both builds, the TypeScript declarations, the export list.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { loadPackage, pkgDir } = require('../test-support/load.cjs');

const k = loadPackage();

/** Every export, each exercised by a test of this folder; a new export must be added here and tested. */
const EXPORTS = {
  events: ['buildWpStatusChanged', 'buildWpCreated', 'buildWpAssigned', 'buildFeatureCreated', 'buildFeatureCompleted',
    'buildHistoryAdded', 'buildErrorLogged', 'buildDependencyResolved', 'buildEvent', 'EventFactory', 'validateEvent',
    'ulid', 'nodeId'],
  clock: ['LamportClock'],
  board: ['foldBoard'],
  workflow: ['parseTasksMd', 'parseWpFile', 'loadFeature', 'DependencyGraph'],
  plans: ['planImplement', 'planMerge', 'planMergeMoves', 'planAccept', 'planMoveTask', 'planMarkStatus', 'planAddHistory',
    'planFinalizeTasks', 'branchName', 'parseBranchName'],
  orchestrate: ['parseAgentsConfig', 'agentRoster', 'orchestrationStart', 'orchestrationHandle', 'runEventDraft'],
  sync: ['planBatches', 'backoffDelayMs', 'readBatchAnswer', 'reactToAnswer'],
};

test('the package exports exactly the documented API, each export tested in its test file', () => {
  assert.deepEqual(Object.keys(k).sort(), Object.values(EXPORTS).flat().sort());
  for (const [area, names] of Object.entries(EXPORTS)) {
    const source = fs.readFileSync(path.join(__dirname, `${area}.test.cjs`), 'utf8');
    for (const name of names) {
      const called = [`k.${name}(`, `new k.${name}(`, `k.${name}.`, `['${name}'`].some((use) => source.includes(use));
      assert.ok(called, `${name} is exercised in ${area}.test.cjs`);
    }
  }
});

test('package.json: @spec-kitty/core, main and types point at the Node build, exports for node and bundlers', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(pkg.name, '@spec-kitty/core');
  assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  assert.equal(pkg.main, './node/spec_kitty_wasm.js');
  assert.equal(pkg.types, './node/spec_kitty_wasm.d.ts');
  assert.equal(pkg.exports['.'].node.default, './node/spec_kitty_wasm.js');
  assert.equal(pkg.exports['.'].default.default, './bundler/spec_kitty_wasm.js');
  for (const file of [pkg.main, pkg.types, pkg.exports['.'].default.default, pkg.exports['.'].default.types,
    './node/spec_kitty_wasm_bg.wasm', './bundler/spec_kitty_wasm_bg.wasm']) {
    assert.ok(fs.existsSync(path.join(pkgDir, file)), file);
  }
  // Resolution through "exports" lands on the Node build.
  assert.equal(require.resolve(pkgDir), path.join(pkgDir, 'node', 'spec_kitty_wasm.js'));
});

test('the TypeScript declarations type every export and carry the interfaces', () => {
  const dts = fs.readFileSync(path.join(pkgDir, 'node', 'spec_kitty_wasm.d.ts'), 'utf8');
  for (const name of ['Envelope', 'BuildContext', 'IdentityInput', 'BuildOptions', 'WpStatusChangedInput', 'ValidationIssue',
    'BuildError', 'ClockJson', 'Board', 'WpCard', 'TasksPlan', 'WpFileView', 'FeatureFiles', 'FeaturePlan', 'GraphView',
    'QueuedItem', 'BatchPlan', 'BatchAnswer', 'SentEvent', 'AnswerContextInput', 'BatchOutcome', 'NextStep',
    'FeatureFolderFiles', 'RepositoryFacts', 'Occasion', 'PlanFacts', 'MoveRequest', 'MarkStatusRequest', 'AddHistoryRequest',
    'FileEdit', 'GitStep', 'EventDraft', 'Changes', 'Start', 'ImplementPlan', 'BranchMerge', 'MergePlan', 'MergeMoves',
    'AcceptPlan', 'MoveTaskPlan', 'SubtaskChange', 'MarkStatusPlan', 'FinalizedWp', 'Finalization', 'FinalizePlan',
    'BranchParts', 'AgentsConfig', 'AgentChoice', 'Roster', 'StartRun', 'RunEvent', 'Announcement', 'OrchestrationState',
    'OrchestrationInput', 'OrchestrationAction', 'OrchestrationStep']) {
    assert.match(dts, new RegExp(`export (interface|type) ${name}\\b`), name);
  }
  assert.match(dts, /export function buildWpStatusChanged\(context: BuildContext, payload: WpStatusChangedInput\): Envelope;/);
  assert.match(dts, /export function validateEvent\(event: unknown\): ValidationIssue\[\];/);
  assert.match(dts, /export function ulid\(nowMs\?: number, entropyHex\?: string\): string;/);
  assert.match(dts, /export function foldBoard\(events: Envelope\[\]\): Board;/);
  assert.match(dts, /export function planImplement\(feature: FeatureFolderFiles, wp: WpId, facts: PlanFacts\): ImplementPlan;/);
  assert.match(dts, /export function planMarkStatus\(feature: FeatureFolderFiles, request: MarkStatusRequest\): MarkStatusPlan;/);
  assert.match(dts, /export function parseBranchName\(branch: string\): BranchParts \| null;/);
  assert.match(dts, /export function reactToAnswer\(answer: BatchAnswer, sent: SentEvent\[\], context\?: AnswerContextInput\): BatchOutcome;/);
  assert.match(dts, /export function orchestrationHandle\(state: OrchestrationState, input: OrchestrationInput, nowMs\?: number, entropyHex\?: string\): OrchestrationStep;/);
  assert.match(dts, /export function agentRoster\(yamlText: string, choice\?: AgentChoice, fileLabel\?: string\): Roster;/);
  assert.doesNotMatch(dts, /: any\b/, 'no untyped parameter or result');
});

test('the bundler build works once a bundler wires its .wasm in', async () => {
  const dir = path.join(pkgDir, 'bundler');
  const glue = await import(pathToFileURL(path.join(dir, 'spec_kitty_wasm_bg.js')).href);
  const module = new WebAssembly.Module(fs.readFileSync(path.join(dir, 'spec_kitty_wasm_bg.wasm')));
  const imports = {};
  for (const { module: name } of WebAssembly.Module.imports(module)) imports[name] = glue;
  const instance = new WebAssembly.Instance(module, imports);
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  const event = glue.buildWpCreated(
    { nodeId: glue.nodeId('host', 'user'), teamSlug: 'local', lamportClock: 0, nowMs: 0, entropyHex: '0' },
    { wp_id: 'WP01', title: 'Bundled', feature_slug: '028-x' },
  );
  assert.deepEqual(glue.validateEvent(event), []);
  const native = k.buildWpCreated(
    { nodeId: k.nodeId('host', 'user'), teamSlug: 'local', lamportClock: 0, nowMs: 0, entropyHex: '0' },
    { wp_id: 'WP01', title: 'Bundled', feature_slug: '028-x' },
  );
  assert.equal(JSON.stringify(event), JSON.stringify(native), 'both builds give the same bytes');
});
