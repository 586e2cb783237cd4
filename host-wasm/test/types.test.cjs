'use strict';
// The package's TypeScript declarations under tsc, as a strict user compiles against them: the README's
// examples and a narrowing file type-check (the package's own .d.ts included: skipLibCheck false, with an
// es2022 + dom lib and with esnext), and a file with a deliberate type error fails where it should.
// tsc is host-wasm/test-support's (scripts/test.sh runs `npm ci --prefix host-wasm/test-support` first).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pkgDir, repoRoot } = require('../test-support/load.cjs');

const tsc = path.join(repoRoot, 'host-wasm', 'test-support', 'node_modules', 'typescript', 'bin', 'tsc');
const typedFiles = path.join(__dirname, 'types');

/**
 * A copy of test/types/ beside a node_modules/@spec-kitty/core that is the built package (a link), so
 * `import ... from "@spec-kitty/core"` resolves through the package's package.json as it does for a user.
 */
function project() {
  assert.ok(fs.existsSync(tsc), `${tsc} is missing: run npm ci --prefix host-wasm/test-support`);
  assert.ok(fs.existsSync(path.join(pkgDir, 'package.json')), `${pkgDir} is not built: run scripts/build-wasm.sh`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-kitty-types-'));
  fs.cpSync(typedFiles, dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules', '@spec-kitty'), { recursive: true });
  fs.symlinkSync(pkgDir, path.join(dir, 'node_modules', '@spec-kitty', 'core'), 'dir');
  return dir;
}

/** tsc's exit status and its diagnostics, one per line (`file(line,col): error TSnnnn: ...`). */
function runTsc(dir, args) {
  const run = spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.error, undefined, `tsc did not run: ${run.error}`);
  const errors = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.includes(': error TS'));
  return { status: run.status, errors };
}

test('the README examples and the narrowing file type-check against the package (es2022 + dom, skipLibCheck false)', (t) => {
  const dir = project();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Node's resolution takes node/*.d.ts (the "node" condition), a bundler's takes bundler/*.d.ts.
  for (const resolution of [[], ['--module', 'preserve', '--moduleResolution', 'bundler']]) {
    const { status, errors } = runTsc(dir, ['-p', 'tsconfig.json', ...resolution]);
    assert.deepEqual(errors, [], `tsc ${resolution.join(' ')} reported errors`);
    assert.equal(status, 0);
  }
});

test('with esnext (its own Symbol.dispose) the package type-checks too, and `using` frees a clock', (t) => {
  const dir = project();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, 'using.ts'),
    'import { LamportClock } from "@spec-kitty/core";\n{\n  using clock = new LamportClock("0123456789ab");\n  console.log(clock.value);\n}\n',
  );
  const { status, errors } = runTsc(dir, ['-p', 'tsconfig.json', '--lib', 'esnext,dom']);
  assert.deepEqual(errors, [], 'tsc reported errors');
  assert.equal(status, 0);
});

test('a deliberate type error fails tsc at its line and column, and only there', (t) => {
  const dir = project();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const source = fs.readFileSync(path.join(typedFiles, 'fails', 'deliberate-error.ts'), 'utf8').split('\n');
  const line = source.findIndex((text) => text.includes('// <- the deliberate error'));
  assert.ok(line >= 0, 'the marked line is in fails/deliberate-error.ts');
  const column = source[line].indexOf('new_status') + 1;

  const { status, errors } = runTsc(dir, ['-p', 'tsconfig.fails.json']);
  assert.notEqual(status, 0, 'tsc accepted a payload key that the narrowed type does not have');
  assert.deepEqual(errors, [
    `fails/deliberate-error.ts(${line + 1},${column}): error TS2339: Property 'new_status' does not exist on type 'WpCreatedPayload'.`,
  ]);
});
