'use strict';
// The npm package as shipped: package.json, both builds, the TypeScript declarations, the export list.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');
const { loadPackage, pkgDir, repoRoot } = require('../test-support/load.cjs');

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
  assert.equal(pkg.main, './node/index.js');
  assert.equal(pkg.types, './node/spec_kitty_wasm.d.ts');
  assert.deepEqual(pkg.exports['.'], {
    node: { types: './node/spec_kitty_wasm.d.ts', default: './node/index.js' },
    default: { types: './bundler/spec_kitty_wasm.d.ts', default: './bundler/spec_kitty_wasm.js' },
  });
  assert.deepEqual(pkg.exports['./init'], { types: './bundler/init.d.ts', default: './bundler/init.js' });
  assert.equal(pkg.exports['./spec_kitty_wasm_bg.wasm'], './spec_kitty_wasm_bg.wasm');
  for (const file of [pkg.main, pkg.types, pkg.exports['.'].default.default, pkg.exports['.'].default.types,
    pkg.exports['./init'].default, pkg.exports['./init'].types, './node/spec_kitty_wasm.js', './spec_kitty_wasm_bg.wasm']) {
    assert.ok(fs.existsSync(path.join(pkgDir, file)), file);
  }
  // Resolution through "exports" lands on the Node entry.
  assert.equal(require.resolve(pkgDir), path.join(pkgDir, 'node', 'index.js'));
  assert.deepEqual(pkg.engines, { node: '>=18' }, 'node18.test.cjs runs the examples on Node 18');
  assert.equal(pkg.license, 'MIT');
  assert.match(pkg.repository.url, /^github:[\w.-]+\/[\w.-]+$/);
  assert.equal(pkg.repository.directory, 'host-wasm');
  const slug = pkg.repository.url.slice('github:'.length);
  assert.equal(pkg.homepage, `https://github.com/${slug}#readme`);
  assert.equal(pkg.bugs, `https://github.com/${slug}/issues`);
  assert.ok(pkg.keywords.includes('spec-kitty') && pkg.keywords.includes('webassembly'), String(pkg.keywords));
});

test('npm pack ships the .wasm once, both builds, both entries, the README and the LICENSE', () => {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkgDir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const [packed] = JSON.parse(run.stdout);
  assert.deepEqual(packed.files.map((f) => f.path).sort(), [
    'LICENSE',
    'README.md',
    'bundler/init.d.ts',
    'bundler/init.js',
    'bundler/package.json',
    'bundler/spec_kitty_wasm.d.ts',
    'bundler/spec_kitty_wasm.js',
    'bundler/spec_kitty_wasm_bg.js',
    'node/index.js',
    'node/package.json',
    'node/spec_kitty_wasm.d.ts',
    'node/spec_kitty_wasm.js',
    'package.json',
    'spec_kitty_wasm_bg.wasm',
    'spec_kitty_wasm_bg.wasm.d.ts',
  ]);
  const wasmBytes = fs.statSync(path.join(pkgDir, 'spec_kitty_wasm_bg.wasm')).size;
  assert.ok(packed.unpackedSize < wasmBytes + 512 * 1024, `unpacked ${packed.unpackedSize} bytes: the ${wasmBytes}-byte .wasm once, plus glue`);
  const same = (shipped, source) => assert.equal(fs.readFileSync(path.join(pkgDir, shipped), 'utf8'),
    fs.readFileSync(path.join(repoRoot, source), 'utf8'), `${shipped} is ${source}`);
  same('LICENSE', 'LICENSE');
  same('README.md', 'host-wasm/pkg-files/README.md');
  same('node/index.js', 'host-wasm/pkg-files/node/index.js');
  same('bundler/init.d.ts', 'host-wasm/pkg-files/bundler/init.d.ts');
  assert.match(fs.readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'), /^MIT License\n/);
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
  // The entry a bundler follows imports the package's one .wasm.
  assert.match(fs.readFileSync(path.join(dir, 'spec_kitty_wasm.js'), 'utf8'), /^import \* as wasm from "\.\.\/spec_kitty_wasm_bg\.wasm";$/m);
  const module = new WebAssembly.Module(fs.readFileSync(path.join(pkgDir, 'spec_kitty_wasm_bg.wasm')));
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
