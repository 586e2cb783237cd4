#!/usr/bin/env bash
# Builds the npm package @spec-kitty/core into host-wasm/pkg:
#   pkg/spec_kitty_wasm_bg.wasm  the module, once: both builds' glue load this one file
#   pkg/node     wasm-bindgen --target nodejs  (CommonJS, loads the .wasm synchronously) behind node/index.js
#                (host-wasm/pkg-files/node: Web Crypto on Node 18, a clear error when bundled without the .wasm)
#   pkg/bundler  wasm-bindgen --target bundler (ES module importing the .wasm: webpack 5, Vite/Rollup with a
#                wasm plugin) and bundler/init.js (host-wasm/pkg-files/bundler: the same API started by hand
#                with the .wasm, for esbuild and browsers without a bundler)
#   pkg/package.json  name, main, types, "exports" (node/default conditions, ./init, the .wasm), metadata
#   pkg/README.md, pkg/LICENSE  host-wasm/pkg-files/README.md and the repository's LICENSE
# Installs what it needs when missing: the wasm32 target and wasm-bindgen-cli at the version the crate pins.
# Then prints the size of the .wasm, raw and gzipped.
#
# Then builds the plain-ABI module (host-wasm/abi, no JS glue, no imports) that
# tests/tests/wasmtime_parity.rs loads with wasmtime, into its own target dir: it needs
# `--cfg getrandom_backend="custom"`, and other rustflags in target/ would rebuild the npm
# package's dependencies on every switch between the two.
#
# The shipped .wasm has no name or producers section (about a sixth of its size). `wasm-opt -Oz` is
# opt-in (WASM_OPT=1): see the note at that step.
set -euo pipefail
cd "$(dirname "$0")/.."

crate=spec-kitty-wasm
lib=spec_kitty_wasm
out=host-wasm/pkg

step() { printf '==> %s\n' "$*"; }

# The wasm-bindgen version the crate pins (`wasm-bindgen = "=X"`); the CLI must be exactly the same.
bindgen_version=$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' host-wasm/Cargo.toml)
if [ -z "$bindgen_version" ]; then
  echo "host-wasm/Cargo.toml must pin wasm-bindgen as version \"=X.Y.Z\"" >&2
  exit 1
fi

if command -v rustup >/dev/null 2>&1; then
  rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
  step "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

step "cargo build -p $crate --target wasm32-unknown-unknown --profile wasm-release"
cargo build -p "$crate" --target wasm32-unknown-unknown --profile wasm-release
# Where cargo puts it: CARGO_TARGET_DIR when set, else the workspace's target/.
wasm="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/$lib.wasm"

rm -rf "$out"
mkdir -p "$out"
bindgen_flags=(--remove-name-section --remove-producers-section)
step "wasm-bindgen --target nodejs -> $out/node"
wasm-bindgen "$wasm" --out-dir "$out/node" --target nodejs "${bindgen_flags[@]}"
step "wasm-bindgen --target bundler -> $out/bundler"
wasm-bindgen "$wasm" --out-dir "$out/bundler" --target bundler "${bindgen_flags[@]}"

# The two targets emit the same module: ship it once, beside both glues, and point each glue at it.
module="$out/${lib}_bg.wasm"
cmp -s "$out/node/${lib}_bg.wasm" "$out/bundler/${lib}_bg.wasm" || {
  echo "wasm-bindgen emitted different modules for nodejs and bundler: cannot ship one .wasm" >&2
  exit 1
}
mv "$out/node/${lib}_bg.wasm" "$module"
mv "$out/node/${lib}_bg.wasm.d.ts" "$out/${lib}_bg.wasm.d.ts"
rm "$out/bundler/${lib}_bg.wasm" "$out/bundler/${lib}_bg.wasm.d.ts"
# repoint FILE FROM TO: replaces the one line FROM in FILE, failing when a wasm-bindgen update changed it.
repoint() {
  grep -qxF "$2" "$1" || {
    echo "$1: expected the line '$2' (wasm-bindgen's glue changed?)" >&2
    exit 1
  }
  FROM="$2" TO="$3" perl -i -pe 'chomp(my $l = $_); $_ = "$ENV{TO}\n" if $l eq $ENV{FROM}' "$1"
}
repoint "$out/node/$lib.js" "const wasmPath = \`\${__dirname}/${lib}_bg.wasm\`;" \
  "const wasmPath = require('path').join(__dirname, '..', '${lib}_bg.wasm');"
repoint "$out/bundler/$lib.js" "import * as wasm from \"./${lib}_bg.wasm\";" \
  "import * as wasm from \"../${lib}_bg.wasm\";"

# A method called on a freed object (after free() or the end of a `using` block) hands the module a null
# pointer, and wasm-bindgen's Rust side throws "null pointer passed to rust"; a method called on another
# class's object (`LamportClock.prototype.tick.call(graph)`) hands it a pointer to the wrong type, which
# reads and writes the module's memory as if it were a clock. The glue checks neither, so every use of an
# object's pointer goes through livePointer, appended to the glue: `this` in each class's methods (the
# class tracked from its `class X {` line), each argument wasm-bindgen checks with _assertClass (named in
# the message), and free(), which a second time (or Symbol.dispose after free) does nothing.
guard_freed() {
  grep -q 'wasm\.[A-Za-z0-9_]*(this\.__wbg_ptr\b' "$1" && grep -q '_assertClass([a-zA-Z_]*, [A-Za-z]*);' "$1" \
    && grep -q 'const ptr = this\.__destroy_into_raw();' "$1" || {
    echo "$1: no method call on this.__wbg_ptr, _assertClass or free() (wasm-bindgen's glue changed?)" >&2
    exit 1
  }
  perl -i -pe '$class = $1 if /^(?:export )?class (\w+)/;
    s/\b(wasm\.[A-Za-z0-9_]+)\(this\.__wbg_ptr\b/$1(livePointer(this, $class)/g;
    s/\b_assertClass\((\w+), (\w+)\);/livePointer($1, $2, "$1");/g;
    s/const ptr = this\.__destroy_into_raw\(\);/if (livePointer(this, $class, "this", true) === 0) return;\n        $&/' "$1"
  cat >>"$1" <<'JS'

// Added by scripts/build-wasm.sh: an object used after free(), or an object of another class, is refused
// in the user's terms before its pointer reaches the module. `field` names an argument ("this" for the
// object a method is called on); `freedIsZero` lets free() on a freed object answer 0 instead of throwing.
function livePointer(object, klass, field = "this", freedIsZero = false) {
    if (!(object instanceof klass)) {
        const got = object === null ? "null" : typeof object === "object" ? `a ${object.constructor?.name ?? "object"}` : typeof object;
        throw new TypeError(`${field}: expected a ${klass.name}, got ${got}`);
    }
    const ptr = object.__wbg_ptr;
    if (typeof ptr !== "number" || ptr === 0) {
        if (freedIsZero) return 0;
        const where = field === "this" ? "" : `${field}: `;
        throw new Error(`${where}${klass.name} was freed (free() or the end of its using block): make a new one`);
    }
    return ptr;
}
JS
}
guard_freed "$out/node/$lib.js"
guard_freed "$out/bundler/${lib}_bg.js"

# wasm-opt (the npm package binaryen, fetched by npx; Debian's is too old) is off by default because it makes
# the module smaller raw but larger gzipped, and gzipped is what a page or an install downloads. Measured on
# 2026-12-01 on the module without jsonschema, built with the profile's opt-level "s": -Oz 1,461,306 ->
# 1,331,605 bytes raw (-9%) but 437,796 -> 492,418 gzipped (+12%); built with opt-level "z": 1,321,745 ->
# 1,178,925 raw, 393,433 -> 459,135 gzipped (+17%); -Os, -O2 and -Oz without reordering functions the same
# way. Each run costs 1-2 minutes of CPU (binaryen runs as JS). wasm-opt reads the module's features from its target_features section; `--all-features`
# would let it emit stringref, which Node refuses.
if [ "${WASM_OPT:-0}" = 1 ]; then
  step "wasm-opt -Oz (npm binaryen)"
  npx --yes --package=binaryen@132 -- wasm-opt -Oz "$module" -o "$module.opt"
  mv "$module.opt" "$module"
fi

# The entries and documents kept in the repository (host-wasm/pkg-files), and the license.
cp host-wasm/pkg-files/node/index.js "$out/node/index.js"
cp host-wasm/pkg-files/bundler/init.js host-wasm/pkg-files/bundler/init.d.ts "$out/bundler/"
# init.js exports what the bundler entry exports (the block `export { .. } from "./${lib}_bg.js";`).
exports=$(sed -n '/^export {/,/;$/p' "$out/bundler/$lib.js")
if [ -z "$exports" ]; then
  echo "$out/bundler/$lib.js: no 'export { .. }' block to copy into init.js (wasm-bindgen's glue changed?)" >&2
  exit 1
fi
printf '%s\n' "$exports" >>"$out/bundler/init.js"
cp host-wasm/pkg-files/README.md "$out/README.md"
cp LICENSE "$out/LICENSE"

# Each build says how its .js files are to be read, whatever the top package.json says.
printf '{\n  "type": "commonjs"\n}\n' >"$out/node/package.json"
printf '{\n  "type": "module"\n}\n' >"$out/bundler/package.json"

version=$(cargo pkgid -p "$crate" | sed 's/.*[#@]//')
# Where the sources live (package.json's repository, homepage and bugs).
repository=spec-kitty/spec-kitty-rs
cat >"$out/package.json" <<JSON
{
  "name": "@spec-kitty/core",
  "version": "$version",
  "description": "spec-kitty's core (events, Lamport clock, validation, tasks.md and the dependency graph, the workflow commands' plans, board, sync decisions) compiled to WebAssembly, identical to the native build.",
  "license": "MIT",
  "repository": {
    "type": "git",
    "url": "github:$repository",
    "directory": "host-wasm"
  },
  "homepage": "https://github.com/$repository#readme",
  "bugs": "https://github.com/$repository/issues",
  "keywords": [
    "spec-kitty",
    "events",
    "lamport-clock",
    "ulid",
    "json-schema",
    "workflow",
    "webassembly",
    "wasm"
  ],
  "main": "./node/index.js",
  "types": "./node/$lib.d.ts",
  "exports": {
    ".": {
      "node": {
        "types": "./node/$lib.d.ts",
        "default": "./node/index.js"
      },
      "default": {
        "types": "./bundler/$lib.d.ts",
        "default": "./bundler/$lib.js"
      }
    },
    "./init": {
      "types": "./bundler/init.d.ts",
      "default": "./bundler/init.js"
    },
    "./${lib}_bg.wasm": "./${lib}_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": [
    "node/",
    "bundler/",
    "${lib}_bg.wasm",
    "${lib}_bg.wasm.d.ts",
    "README.md",
    "LICENSE"
  ],
  "sideEffects": [
    "./bundler/$lib.js"
  ],
  "engines": {
    "node": ">=18"
  }
}
JSON

shipped="$module"
raw=$(wc -c <"$shipped")
gzipped=$(gzip -9 -c "$shipped" | wc -c)
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
step "built $out (@spec-kitty/core $version)"
printf '.wasm size: %s bytes raw (%s), %s bytes gzipped (%s)\n' "$raw" "$(kib "$raw")" "$gzipped" "$(kib "$gzipped")"

abi_lib=spec_kitty_wasm_abi
abi_target_dir=target/wasm-abi
step "cargo build -p spec-kitty-wasm-abi --target wasm32-unknown-unknown --profile wasm-release (plain ABI, for wasmtime)"
cargo build -p spec-kitty-wasm-abi --target wasm32-unknown-unknown --profile wasm-release \
  --target-dir "$abi_target_dir" \
  --config 'target.wasm32-unknown-unknown.rustflags=["--cfg", "getrandom_backend=\"custom\""]'
abi_wasm="$abi_target_dir/wasm32-unknown-unknown/wasm-release/$abi_lib.wasm"
raw=$(wc -c <"$abi_wasm")
gzipped=$(gzip -9 -c "$abi_wasm" | wc -c)
step "built $abi_wasm"
# It keeps its name section: wasmtime then names the functions in a trap's backtrace.
printf '.wasm size: %s bytes raw (%s), %s bytes gzipped (%s)\n' "$raw" "$(kib "$raw")" "$gzipped" "$(kib "$gzipped")"
