'use strict';
// Node 18, the oldest Node `engines` names: the READMEs' examples run under `npx node@18`, and the Node entry
// gives Node 18 scripts the Web Crypto global the module draws entropy from.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pkgDir, projectWithPackage, repoRoot } = require('../test-support/load.cjs');

/** The first ```js block after `heading` in a Markdown file. */
function exampleAfter(file, heading) {
  const text = fs.readFileSync(file, 'utf8');
  const section = text.indexOf(`\n${heading}\n`);
  assert.ok(section >= 0, `${file} has a "${heading}" section`);
  const block = text.slice(section).match(/```js\n([\s\S]*?)```/);
  assert.ok(block, `${file}: a js example under "${heading}"`);
  return block[1];
}

const EXAMPLES = [
  ['the README example', path.join(repoRoot, 'README.md'), '## The npm package'],
  ["the package README's Node example", path.join(repoRoot, 'host-wasm', 'pkg-files', 'README.md'), '## Node'],
];

/** Runs `node@18` from the npm registry through npx; `null` when it cannot be fetched. */
function node18(args, cwd) {
  const run = spawnSync('npx', ['--yes', 'node@18', ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return run;
}

test('the READMEs\' examples run under Node 18 (node@18 through npx)', (t) => {
  const project = projectWithPackage(t);
  const probe = node18(['--version'], project);
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').pop() || `exit ${probe.status}`);
    t.skip(`node@18 could not be fetched through npx (no network or no npm registry?): ${why}`);
    return;
  }
  assert.match(probe.stdout.trim(), /^v18\./, 'npx node@18 runs Node 18');
  for (const [name, file, heading] of EXAMPLES) {
    const script = path.join(project, 'example.cjs');
    fs.writeFileSync(script, exampleAfter(file, heading));
    const run = node18([script], project);
    assert.equal(run.status, 0, `${name} under Node 18:\n${run.stderr}`);
    const envelope = JSON.parse(run.stdout.split('\n')[0]);
    assert.match(envelope.event_id, /^[0-9A-HJKMNP-TV-Z]{26}$/, `${name}: an event with a fresh ULID`);
  }
});

/** Runs `prelude` then requires the package in a fresh Node process, printing what `after` returns. */
function inFreshNode(prelude, after) {
  const script = `${prelude}\nconst k = require(${JSON.stringify(pkgDir)});\nconsole.log(JSON.stringify(${after}));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('without a crypto global (as in Node 18 scripts) the Node entry installs node:crypto\'s webcrypto', () => {
  const seen = inFreshNode('delete globalThis.crypto;', `{
    same: globalThis.crypto === require('node:crypto').webcrypto,
    enumerable: Object.getOwnPropertyDescriptor(globalThis, 'crypto').enumerable,
    ulid: k.ulid(),
  }`);
  assert.deepEqual({ same: seen.same, enumerable: seen.enumerable }, { same: true, enumerable: false });
  assert.match(seen.ulid, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'entropy from the installed global');
});

test('a crypto global already there is left as it is', () => {
  const seen = inFreshNode(
    `const mine = { getRandomValues: (bytes) => bytes.fill(0) };
     Object.defineProperty(globalThis, 'crypto', { value: mine, configurable: true });`,
    '{ kept: globalThis.crypto === mine, ulid: k.ulid(0) }',
  );
  assert.deepEqual(seen, { kept: true, ulid: '00000000000000000000000000' }, 'the caller\'s random source is used');
});
