#!/usr/bin/env bash
# Every test of the project, from a fresh machine with only the Rust toolchain, Node and git:
# installs what it needs (the wasm32 target, wasm-bindgen-cli), then checks formatting, lints,
# the core's wasm32 build and purity (dependency rule, no unsafe, clippy refusing clocks, env, files and sockets),
# the npm package, and all Rust and Node tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A clean run gains nothing from incremental compilation, which doubles what the target folder holds.
export CARGO_INCREMENTAL=0
step "disk free where the build goes (a full disk fails the build, not the tests)"
df -h . | tail -1

step "toolchain: wasm32 target"
rustup target add wasm32-unknown-unknown >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "core builds for wasm32-unknown-unknown and does no I/O"
cargo build -p spec-kitty-core --target wasm32-unknown-unknown
bash scripts/check-core-is-pure.sh

step "npm package @spec-kitty/core (wasm-bindgen) and the plain-ABI module for wasmtime"
bash scripts/build-wasm.sh

step "Rust tests (unit, property, end to end, native vs WASM parity under Node and wasmtime)"
cargo test --workspace

step "Node test tools (typescript, esbuild) from host-wasm/test-support/package-lock.json"
npm ci --prefix host-wasm/test-support --no-audit --no-fund --loglevel=error

step "Node tests of the npm package"
node --test host-wasm/test/

step "all tests passed"
