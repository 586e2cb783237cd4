'use strict';
// tasks.md, WP files, feature folders and the dependency graph, on the real fixture features.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadPackage, featureFiles } = require('../test-support/load.cjs');

const k = loadPackage();
const F028 = '028-cli-event-emission-sync';
const F027 = '027-cli-authentication-module-commands';
const F020 = '020-autonomous-multi-agent-orchestrator';
const WPS = (n) => Array.from({ length: n }, (_, i) => `WP0${i + 1}`);

test('028: tasks.md lists 7 WPs; WP02..WP05 depend on WP01, WP06 on WP05, WP07 on WP06', () => {
  const plan = k.parseTasksMd(featureFiles(F028).tasksMd, `${F028}/tasks.md`);
  assert.ok(plan.title.length > 0);
  assert.deepEqual(plan.work_packages.map((wp) => wp.id), WPS(7));
  const deps = Object.fromEntries(plan.work_packages.map((wp) => [wp.id, wp.dependencies]));
  assert.deepEqual(deps, { WP01: [], WP02: ['WP01'], WP03: ['WP01'], WP04: ['WP01'], WP05: ['WP01'], WP06: ['WP05'], WP07: ['WP06'] });
  const wp01 = plan.work_packages[0];
  assert.deepEqual(Object.keys(wp01), ['id', 'title', 'priority', 'subtasks', 'dependencies', 'line']);
  assert.ok(wp01.subtasks.length > 0);
  assert.deepEqual(Object.keys(wp01.subtasks[0]), ['id', 'done', 'parallel', 'description', 'line']);
  assert.match(wp01.subtasks[0].id, /^T\d{3}$/);
  assert.equal(plan.work_packages.flatMap((wp) => wp.subtasks).length, 43);
});

test('028 as a feature folder: files, graph, lanes, completion', () => {
  const plan = k.loadFeature(featureFiles(F028));
  assert.equal(plan.slug, F028);
  assert.equal(plan.work_packages.length, 7);
  assert.deepEqual(plan.missing_wp_files, []);
  assert.deepEqual(plan.dependency_mismatches, []);
  assert.equal(plan.work_packages[0].file_name, 'tasks/WP01-event-factory.md');
  assert.deepEqual(plan.graph.dependents.WP01, ['WP02', 'WP03', 'WP04', 'WP05']);
  assert.deepEqual(plan.graph.topological_order, WPS(7));
  assert.deepEqual(Object.keys(plan.lanes), WPS(7));
  assert.ok(Object.values(plan.lanes).every((lane) => lane === 'done'));
  assert.equal(plan.complete, true);
  assert.deepEqual(plan.ready_to_start, []);
});

test('027: tasks.md without WP files is planned, not an error', () => {
  const plan = k.loadFeature(featureFiles(F027));
  assert.deepEqual(plan.missing_wp_files, WPS(5));
  assert.deepEqual(plan.graph.dependencies, { WP01: [], WP02: ['WP01'], WP03: ['WP02'], WP04: ['WP02'], WP05: ['WP01', 'WP02', 'WP03'] });
  assert.equal(plan.work_packages.length, 5);
  assert.ok(plan.work_packages.every((wp) => wp.lane === 'planned' && wp.file_name === null));
  assert.deepEqual(plan.ready_to_start, ['WP01']);
  assert.equal(plan.complete, false);
});

test('020: nine WPs, every WP file parses', () => {
  const files = featureFiles(F020);
  const plan = k.loadFeature(files);
  assert.equal(plan.work_packages.length, 9);
  assert.deepEqual(plan.graph.dependencies.WP08, ['WP05', 'WP06', 'WP07']);
  for (const { fileName, text } of files.wpFiles) {
    const wp = k.parseWpFile(text, fileName);
    assert.match(wp.work_package_id, /^WP0\d$/);
    assert.equal(wp.lane, 'done');
    assert.equal(wp.frontmatter.length + wp.body.length < text.length, true);
    assert.ok(text.endsWith(wp.body));
  }
});

test('parseWpFile gives the typed fields, the keys in file order, and the text parts', () => {
  const text = featureFiles(F028).wpFiles[1].text;
  const wp = k.parseWpFile(text, 'tasks/WP02-workflow-commands.md');
  assert.equal(wp.work_package_id, 'WP02');
  assert.equal(wp.lane, 'done');
  assert.deepEqual(wp.dependencies, ['WP01']);
  assert.equal(wp.keys[0], 'work_package_id');
  assert.ok(wp.keys.includes('history'));
  assert.equal(`---\n${wp.frontmatter}---\n${wp.body}`, text);
  const minimal = k.parseWpFile('---\nwork_package_id: WP03\n---\nBody\n');
  assert.equal(minimal.lane, 'planned');
  assert.equal(minimal.title, null);
  assert.deepEqual(minimal.dependencies, []);
  assert.equal(minimal.body, 'Body\n');
});

test('workflow errors name the file, the line or the field', () => {
  const cases = [
    [() => k.parseWpFile('no frontmatter', 'tasks/WP01.md'), /^tasks\/WP01\.md: no YAML frontmatter/],
    [() => k.parseWpFile('---\nwork_package_id: WP01\nlane: review\n---\n'), /^WP\.md:3: frontmatter field `lane`: /],
    [() => k.parseWpFile('---\ntitle: x\n---\n'), /^WP\.md: frontmatter field `work_package_id` is missing$/],
    [() => k.parseWpFile('---\nwork_package_id: [\n---\n'), /^WP\.md:\d+:\d+: broken YAML frontmatter/],
    [() => k.loadFeature({ slug: '029-x', tasksMd: '## Work Package WP01: A\nDepends on WP02\n## Work Package WP02: B\nDepends on WP01\n' }), /^feature 029-x: dependency cycle: WP01 -> WP02 -> WP01$/],
    [() => k.loadFeature({ slug: '029-x', tasksMd: '## Work Package WP01: A\n', wpFiles: [{ fileName: 'tasks/WP02.md', text: '---\nwork_package_id: WP02\ndependencies: [WP07]\n---\n' }] }), /^feature 029-x: WP02 depends on WP07, which is not a work package of this feature$/],
    [() => k.loadFeature({ slug: '029-x', tasksMd: '', wpFiles: [{ fileName: 'tasks/WP01-a.md', text: '---\nwork_package_id: WP01\n---\n' }, { fileName: 'tasks/WP01-b.md', text: '---\nwork_package_id: WP01\n---\n' }] }), /^tasks\/WP01-b\.md: declares WP01, which tasks\/WP01-a\.md already declares$/],
    [() => k.loadFeature({ slug: '029-x' }), /^files: missing field `tasksMd`$/],
    [() => k.loadFeature({ slug: '029-x', tasksMd: '', wpFiles: [{ text: '' }] }), /^files\.wpFiles\[0\]: missing field `fileName`$/],
    [() => new k.DependencyGraph([{ id: 'WP01', dependencies: ['WP07'] }]), /^WP01 depends on WP07, which is not a work package of this feature$/],
    [() => new k.DependencyGraph([{ id: 'WP04', dependencies: ['WP04'] }]), /^dependency cycle: WP04 -> WP04$/],
    [() => new k.DependencyGraph([{ id: 'W1' }]), /^workPackages\[0\]\.id: malformed work package id `W1`/],
    [() => new k.DependencyGraph({}), /^workPackages: invalid type: map, expected a sequence$/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(call, (err) => err instanceof Error && pattern.test(err.message), String(pattern));
  }
  assert.equal(k.parseTasksMd('## Work Package WP01: A\n').work_packages.length, 1, 'still working');
  // Read as upstream reads it: headings it does not understand are no errors.
  assert.equal(k.parseTasksMd('# T\n\n## Work Package WP1: Bad id\n## Work Package Summary\n').work_packages.length, 0);
});

test('DependencyGraph: order, dependents, what a finished WP unblocks, what is ready, completion', () => {
  const plan = k.parseTasksMd(featureFiles(F028).tasksMd);
  const graph = new k.DependencyGraph(plan.work_packages);
  assert.deepEqual(graph.workPackages(), WPS(7));
  assert.deepEqual(graph.dependenciesOf('WP06'), ['WP05']);
  assert.deepEqual(graph.dependenciesOf('WP99'), []);
  assert.deepEqual(graph.dependentsOf('WP01'), ['WP02', 'WP03', 'WP04', 'WP05']);
  assert.deepEqual(graph.topologicalOrder(), WPS(7));
  assert.deepEqual(graph.readyToStart(), ['WP01']);
  assert.deepEqual(graph.unblockedBy('WP01'), ['WP02', 'WP03', 'WP04', 'WP05']);
  assert.deepEqual(graph.unblockedBy('WP05', { WP01: 'done' }), ['WP06']);
  assert.deepEqual(graph.unblockedBy('WP06'), ['WP07'], 'the finished WP counts as done whatever lanes say');
  const auth = new k.DependencyGraph(k.loadFeature(featureFiles(F027)).work_packages);
  assert.deepEqual(auth.unblockedBy('WP03', { WP01: 'done' }), [], 'WP05 still waits for WP02');
  assert.deepEqual(auth.unblockedBy('WP03', { WP01: 'done', WP02: 'done' }), ['WP05']);
  assert.deepEqual(graph.readyToStart({ WP01: 'done', WP02: 'doing' }), ['WP03', 'WP04', 'WP05']);
  assert.equal(graph.featureComplete(), false);
  assert.equal(graph.featureComplete(Object.fromEntries(WPS(7).map((wp) => [wp, 'done']))), true);
  assert.deepEqual(Object.keys(graph.toJSON()), ['work_packages', 'dependencies', 'dependents', 'topological_order']);
  assert.deepEqual(JSON.parse(JSON.stringify(graph)).dependents.WP05, ['WP06']);
  assert.throws(() => graph.unblockedBy('nope'), /^Error: finished: malformed work package id `nope`/);
  assert.throws(() => graph.readyToStart({ WP01: 'finished' }), /^Error: lanes\.WP01: unknown variant `finished`/);
  assert.throws(() => graph.dependentsOf('x'), /^Error: wp: /);
  assert.equal(new k.DependencyGraph([]).featureComplete(), false, 'an empty feature is not complete');
});
