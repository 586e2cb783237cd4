'use strict';
// @spec-kitty/core for Node (CommonJS): wasm-bindgen's Node glue, loaded once the platform has what the
// module needs. Copied into the package by scripts/build-wasm.sh as node/index.js.

// The module draws its default entropy from globalThis.crypto.getRandomValues. Node 19+ has that global;
// Node 18 scripts have Web Crypto only as require('node:crypto').webcrypto, and the module would throw
// "no random source" on the first ULID. Install the object Node 19+ exposes there, only when the global is
// missing, writable and configurable so that a caller can still replace it.
if (globalThis.crypto === undefined) {
  Object.defineProperty(globalThis, 'crypto', {
    value: require('node:crypto').webcrypto,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

const WASM_FILE = 'spec_kitty_wasm_bg.wasm';

try {
  module.exports = require('./spec_kitty_wasm.js');
} catch (error) {
  // A bundler that inlines this file for Node leaves the .wasm behind: say what to do instead of ENOENT.
  if (error && error.code === 'ENOENT' && String(error.path).endsWith(WASM_FILE)) {
    throw new Error(
      `@spec-kitty/core: its WebAssembly module is not at ${error.path} (bundled for Node?): keep ` +
        '@spec-kitty/core external to the bundle, or import @spec-kitty/core/init and pass it the .wasm ' +
        '(see the package README, "Bundlers")',
      { cause: error },
    );
  }
  throw error;
}
