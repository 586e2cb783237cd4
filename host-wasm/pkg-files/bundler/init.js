// @spec-kitty/core/init: the same API as @spec-kitty/core, for bundlers that cannot import a .wasm file
// as a WebAssembly module (esbuild, or webpack/Vite without their wasm plugins) and for browsers without a
// bundler. The caller hands over the module once, with initSync(bytes | WebAssembly.Module) or
// await init(url | Response | bytes | WebAssembly.Module); every other export works after that.
// Copied into the package by scripts/build-wasm.sh as bundler/init.js, which appends the export list of
// wasm-bindgen's bundler entry, so both entries export the same names.
import * as glue from './spec_kitty_wasm_bg.js';

let started = false;

/** Every import of the module comes from the glue (wasm-bindgen names it after the glue file). */
function importsFor(module) {
  const imports = {};
  for (const { module: name } of WebAssembly.Module.imports(module)) imports[name] = glue;
  return imports;
}

function start(module) {
  if (started) return;
  const instance = new WebAssembly.Instance(module, importsFor(module));
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  started = true;
}

function isResponse(value) {
  return typeof Response === 'function' && value instanceof Response;
}

async function bytesOf(response, where) {
  if (!response.ok) {
    throw new Error(`@spec-kitty/core: fetching its WebAssembly module from ${where} failed: HTTP ${response.status}`);
  }
  return response.arrayBuffer();
}

/**
 * Starts the module from its bytes (an ArrayBuffer or a typed array, e.g. what esbuild's `binary` loader
 * gives) or a compiled WebAssembly.Module. A second call does nothing.
 */
export function initSync(source) {
  if (started) return;
  if (source === undefined || source === null) {
    throw new TypeError('@spec-kitty/core/init: initSync needs the .wasm bytes or a WebAssembly.Module');
  }
  start(source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source));
}

/**
 * Starts the module from a URL to fetch, a fetch Response, its bytes or a WebAssembly.Module. A second call
 * does nothing. There is no default URL: `import.meta.url` would make esbuild warn for CommonJS output, and
 * where the .wasm is served is the caller's to say.
 */
export default async function init(source) {
  if (started) return;
  if (source === undefined || source === null) {
    throw new TypeError('@spec-kitty/core/init: init needs the .wasm URL, a Response, the bytes or a WebAssembly.Module');
  }
  let input = source;
  if (typeof input === 'string' || input instanceof URL) input = await bytesOf(await fetch(input), input);
  else if (isResponse(input)) input = await bytesOf(input, input.url || 'a Response');
  const module = input instanceof WebAssembly.Module ? input : await WebAssembly.compile(input);
  start(module);
}

// The exports of wasm-bindgen's bundler entry follow, appended by scripts/build-wasm.sh.
