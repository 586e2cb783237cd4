// @spec-kitty/core/init: the API of @spec-kitty/core, started by hand with the package's .wasm.
export * from './spec_kitty_wasm.js';

/** The module as a caller may hand it over: a URL to fetch, a fetch Response, its bytes or a compiled module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** Starts the module from its bytes or a compiled module; a second call does nothing. */
export function initSync(source: BufferSource | WebAssembly.Module): void;

/** Starts the module from `source` (a URL is fetched); a second call does nothing. */
export default function init(source: InitInput): Promise<void>;
