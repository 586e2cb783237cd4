// Loads the BUILT package @spec-kitty/core (host-wasm/pkg) through its package.json, as a user's
// `require('@spec-kitty/core')` would, and the shared fixtures. Kept outside test/ so that
// `node --test host-wasm/test/` does not run it as a test file.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..', 'pkg');
const repoRoot = path.resolve(__dirname, '..', '..');

function loadPackage() {
  if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
    throw new Error(`${pkgDir} is not built: run scripts/build-wasm.sh first`);
  }
  return require(pkgDir);
}

/** A feature folder of tests/fixtures/kitty-specs as loadFeature takes it. */
function featureFiles(slug) {
  const dir = path.join(repoRoot, 'tests', 'fixtures', 'kitty-specs', slug);
  const tasksMd = fs.readFileSync(path.join(dir, 'tasks.md'), 'utf8');
  const wpDir = path.join(dir, 'tasks');
  const wpFiles = fs.existsSync(wpDir)
    ? fs.readdirSync(wpDir).sort().map((name) => ({
        fileName: `tasks/${name}`,
        text: fs.readFileSync(path.join(wpDir, name), 'utf8'),
      }))
    : [];
  return { slug, tasksMd, wpFiles };
}

/**
 * A feature folder of tests/fixtures/kitty-specs (or `set`, e.g. kitty-specs-compat) as the plan functions
 * take it: loadFeature's shape plus meta.json.
 */
function featureFolder(slug, set = 'kitty-specs') {
  const dir = path.join(repoRoot, 'tests', 'fixtures', set, slug);
  const read = (name) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8') : null);
  const wpDir = path.join(dir, 'tasks');
  const wpFiles = fs.existsSync(wpDir)
    ? fs.readdirSync(wpDir).sort().map((name) => ({ fileName: `tasks/${name}`, text: fs.readFileSync(path.join(wpDir, name), 'utf8') }))
    : [];
  return { slug, metaJson: read('meta.json'), tasksMd: read('tasks.md'), wpFiles };
}

const FIXTURE_SLUGS = [
  '020-autonomous-multi-agent-orchestrator',
  '027-cli-authentication-module-commands',
  '028-cli-event-emission-sync',
];

/**
 * A throwaway project folder where `@spec-kitty/core` is the built package (a link in its node_modules, as
 * `npm install` of a local folder makes), for tests that bundle or run code as a user's project would.
 */
function projectWithPackage(t) {
  if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
    throw new Error(`${pkgDir} is not built: run scripts/build-wasm.sh first`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-kitty-core-user-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules', '@spec-kitty'), { recursive: true });
  fs.symlinkSync(pkgDir, path.join(dir, 'node_modules', '@spec-kitty', 'core'), 'dir');
  return dir;
}

/** A tool of host-wasm/test-support (installed by `npm ci --prefix host-wasm/test-support`). */
function supportTool(name) {
  const bin = path.join(__dirname, 'node_modules', '.bin', name);
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: run npm ci --prefix host-wasm/test-support`);
  }
  return bin;
}

module.exports = {
  loadPackage,
  featureFiles,
  featureFolder,
  projectWithPackage,
  supportTool,
  FIXTURE_SLUGS,
  pkgDir,
  repoRoot,
};
