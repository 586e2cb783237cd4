# Everyday commands. `just` is optional: every recipe is a plain command you can run by hand.

default: test

# Build the whole workspace.
build:
    cargo build --workspace

# Every test: fmt, clippy, core on wasm32, npm package, Rust and Node tests.
test:
    bash scripts/test.sh

# Build the npm package @spec-kitty/core into host-wasm/pkg and the plain-ABI module for wasmtime
# (target/wasm-abi), and report their .wasm sizes.
wasm:
    bash scripts/build-wasm.sh

# Benchmarks: core (build+validate, board fold, validation against jsonschema), CLI emission, the npm package
# against native (per event, validation alone) with its .wasm sizes, and sync (the release hub and CLI over
# loopback: ingest, fan-out, memory, `sync now`, live delivery). Builds the package first, so the sizes and
# times are of the sources as they are.
bench: wasm
    cargo bench -p spec-kitty-core
    cargo bench -p spec-kitty
    node host-wasm/bench/build_validate.mjs --native
    cargo bench -p spec-kitty-tests --bench sync_load

# Whole-process wall time, CPU and peak RSS (GNU time) of single commands of the release CLI, on disk and tmpfs.
bench-commands:
    bash scripts/bench-commands.sh

# The full workflow on the embedded example feature, in a temporary repository.
demo:
    cargo build --release -p spec-kitty -p spec-kitty-hub
    target/release/spec-kitty demo

# Upstream's Python CLI (2.1.0) logs in and syncs into our hub over TLS (needs the package index for pip).
interop:
    bash scripts/interop-upstream.sh
