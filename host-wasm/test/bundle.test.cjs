'use strict';
// The package as bundlers see it: the package README's esbuild example bundled and run by Node, the
// `@spec-kitty/core/init` entry started by hand, and what happens when a Node bundle inlines the Node entry.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { loadPackage, pkgDir, projectWithPackage, supportTool } = require('../test-support/load.cjs');

const k = loadPackage();
const CONTEXT = { teamSlug: 'local', lamportClock: 0, nowMs: 1_700_000_000_000, entropyHex: 'abc' };
const PAYLOAD = { wp_id: 'WP01', title: 'Bundled', feature_slug: '028-x' };
/** What the unbundled Node entry builds for CONTEXT and PAYLOAD: every bundle must print these bytes. */
const EXPECTED = JSON.stringify(k.buildWpCreated({ ...CONTEXT, nodeId: k.nodeId('host', 'user') }, PAYLOAD));

/** An entry in the style of the package README's esbuild example, printing one built event. */
const INIT_ENTRY = `
import wasm from '@spec-kitty/core/spec_kitty_wasm_bg.wasm';
import { initSync, nodeId, buildWpCreated, validateEvent } from '@spec-kitty/core/init';

initSync(wasm);
const event = buildWpCreated({ ...${JSON.stringify(CONTEXT)}, nodeId: nodeId('host', 'user') }, ${JSON.stringify(PAYLOAD)});
if (validateEvent(event).length !== 0) throw new Error('the bundled build made an invalid event');
console.log(JSON.stringify(event));
`;

/** The end of a child's stderr: a bundle's error may quote a line holding the whole inlined .wasm. */
function tail(text) {
  return text.length > 2000 ? `...${text.slice(-2000)}` : text;
}

function esbuild(cwd, args) {
  const run = spawnSync(supportTool('esbuild'), args, { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `esbuild ${args.join(' ')} failed:\n${tail(run.stderr)}`);
  return run.stderr;
}

/** Runs a bundle copied alone into an empty folder, so nothing but the bundle can be loaded. */
function runAlone(t, bundle) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-kitty-bundle-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = path.join(dir, path.basename(bundle));
  fs.copyFileSync(bundle, copy);
  return spawnSync(process.execPath, [copy], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
}

for (const format of ['esm', 'cjs']) {
  test(`esbuild bundles @spec-kitty/core/init with the .wasm inlined (--format=${format}); the bundle runs alone`, (t) => {
    const project = projectWithPackage(t);
    fs.writeFileSync(path.join(project, 'app.mjs'), INIT_ENTRY);
    const out = format === 'esm' ? 'app.bundle.mjs' : 'app.bundle.cjs';
    // --target: esbuild's default (esnext) decodes the inlined .wasm with Uint8Array.fromBase64, which Node
    // before 25 lacks.
    const warnings = esbuild(project, ['app.mjs', '--bundle', '--loader:.wasm=binary', '--platform=node',
      '--target=node18', `--format=${format}`, `--outfile=${out}`, '--log-level=warning']);
    assert.equal(warnings, '', 'esbuild has nothing to warn about');
    const run = runAlone(t, path.join(project, out));
    assert.equal(run.status, 0, tail(run.stderr));
    assert.equal(run.stdout.trim(), EXPECTED, 'the bundle builds the same bytes as the Node entry');
  });
}

test('esbuild bundles @spec-kitty/core/init for browsers too (the .wasm as a file beside the bundle)', (t) => {
  const project = projectWithPackage(t);
  fs.writeFileSync(path.join(project, 'app.mjs'), INIT_ENTRY.replace('initSync(wasm);', 'await init(wasm);')
    .replace('{ initSync,', '{ default as init,'));
  esbuild(project, ['app.mjs', '--bundle', '--loader:.wasm=file', '--platform=browser', '--target=es2022', '--format=esm',
    '--outdir=dist', '--log-level=warning']);
  const files = fs.readdirSync(path.join(project, 'dist')).sort();
  assert.equal(files.length, 2, `a bundle and the .wasm: ${files}`);
  const wasmFile = files.find((name) => name.endsWith('.wasm'));
  assert.ok(wasmFile, `the .wasm is emitted: ${files}`);
  assert.deepEqual(fs.readFileSync(path.join(project, 'dist', wasmFile)),
    fs.readFileSync(path.join(pkgDir, 'spec_kitty_wasm_bg.wasm')), 'the package\'s one .wasm');
});

test('@spec-kitty/core/init: every export of the package, plus initSync and init; init takes a Response', (t) => {
  const script = `
    import * as fs from 'node:fs';
    import * as entry from '@spec-kitty/core/init';
    const bytes = fs.readFileSync(new URL(import.meta.resolve('@spec-kitty/core/spec_kitty_wasm_bg.wasm')));
    await entry.default(new Response(bytes, { headers: { 'content-type': 'application/wasm' } }));
    await entry.default(new Response('ignored: a second call does nothing'));
    const event = entry.buildWpCreated({ ...${JSON.stringify(CONTEXT)}, nodeId: entry.nodeId('host', 'user') },
      ${JSON.stringify(PAYLOAD)});
    console.log(JSON.stringify({ names: Object.keys(entry), event }));
  `;
  const project = projectWithPackage(t);
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script],
    { cwd: project, encoding: 'utf8', timeout: 120_000 });
  const { names, event } = JSON.parse(output);
  assert.deepEqual(names.sort(), [...Object.keys(k), 'default', 'initSync'].sort());
  assert.equal(JSON.stringify(event), EXPECTED);
});

test('@spec-kitty/core/init: initSync and init without the module say what they need', async () => {
  const init = await import(require('node:url').pathToFileURL(path.join(pkgDir, 'bundler', 'init.js')).href);
  assert.throws(() => init.initSync(), { name: 'TypeError', message: /initSync needs the \.wasm bytes or a WebAssembly\.Module/ });
  await assert.rejects(init.default(), { name: 'TypeError', message: /init needs the \.wasm URL, a Response, the bytes or a WebAssembly\.Module/ });
});

test('a Node bundle that inlines the Node entry fails with what to do; kept external it works', (t) => {
  const project = projectWithPackage(t);
  const entry = `const k = require('@spec-kitty/core');
console.log(JSON.stringify(k.buildWpCreated({ ...${JSON.stringify(CONTEXT)}, nodeId: k.nodeId('host', 'user') }, ${JSON.stringify(PAYLOAD)})));
`;
  fs.writeFileSync(path.join(project, 'app.cjs'), entry);

  esbuild(project, ['app.cjs', '--bundle', '--platform=node', '--outfile=inlined.cjs', '--log-level=error']);
  const inlined = runAlone(t, path.join(project, 'inlined.cjs'));
  assert.notEqual(inlined.status, 0);
  assert.match(tail(inlined.stderr), /@spec-kitty\/core: its WebAssembly module is not at .*spec_kitty_wasm_bg\.wasm \(bundled for Node\?\): keep @spec-kitty\/core external/);

  esbuild(project, ['app.cjs', '--bundle', '--platform=node', '--external:@spec-kitty/core', '--outfile=external.cjs',
    '--log-level=warning']);
  const external = spawnSync(process.execPath, ['external.cjs'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  assert.equal(external.status, 0, tail(external.stderr));
  assert.equal(external.stdout.trim(), EXPECTED);
});
