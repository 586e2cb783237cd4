#!/usr/bin/env bash
# The core does no I/O. Three checks, cheapest first:
#  1. its dependency tree holds no async runtime, HTTP, SQLite or event loop;
#  2. it forbids `unsafe` (so no FFI can reach the world behind the lints' back);
#  3. core/clippy.toml really refuses clocks, the environment, files and sockets: a tiny crate linted with
#     that file, holding such calls, must fail `cargo clippy -- -D warnings` with the disallowed lints.
#     (The core itself passes the same lints in the workspace clippy step of scripts/test.sh; clippy reads
#     the clippy.toml of the crate it lints, https://doc.rust-lang.org/clippy/configuration.html.)
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(tokio|reqwest|hyper|rusqlite|mio|libsqlite3-sys|tungstenite|tokio-tungstenite) '
tree=$(cargo tree -p spec-kitty-core -e normal --prefix none)
if offenders=$(grep -E "$forbidden" <<<"$tree" | sort -u) && [ -n "$offenders" ]; then
  echo "spec-kitty-core depends on I/O crates:" >&2
  echo "$offenders" >&2
  exit 1
fi
echo "spec-kitty-core: no tokio, reqwest, hyper, rusqlite or mio in its dependency tree"

if ! grep -qx '#!\[forbid(unsafe_code)\]' core/src/lib.rs; then
  echo "core/src/lib.rs lost its #![forbid(unsafe_code)]" >&2
  exit 1
fi
echo "spec-kitty-core: #![forbid(unsafe_code)]"

fixture=$(mktemp -d)
trap 'rm -rf "$fixture"' EXIT
mkdir "$fixture/src"
cp core/clippy.toml "$fixture/clippy.toml"
cat >"$fixture/Cargo.toml" <<'EOF'
[package]
name = "core-purity-probe"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]
EOF
# One line per kind of I/O the core must not do; each must be refused.
cat >"$fixture/src/lib.rs" <<'EOF'
pub fn reads_the_clock() -> std::time::SystemTime { std::time::SystemTime::now() }
pub fn reads_a_file() -> std::io::Result<Vec<u8>> { std::fs::read("clock.json") }
pub fn opens_a_file() -> bool { std::fs::File::open("queue.db").is_ok() }
pub fn reads_the_environment() -> bool { std::env::var("HOME").is_ok() }
pub fn opens_a_socket() -> bool { std::net::TcpStream::connect("127.0.0.1:9").is_ok() }
EOF
if lint=$(CARGO_TARGET_DIR="$fixture/target" cargo clippy --quiet --manifest-path "$fixture/Cargo.toml" \
  -- -D warnings 2>&1); then
  echo "core/clippy.toml lets I/O through: clippy passed on a crate that reads a clock, files, env and sockets" >&2
  exit 1
fi
for refused in \
  'disallowed method `std::time::SystemTime::now`' \
  'disallowed type `std::time::SystemTime`' \
  'disallowed method `std::fs::read`' \
  'disallowed method `std::fs::File::open`' \
  'disallowed method `std::env::var`' \
  'disallowed type `std::net::TcpStream`'; do
  if ! grep -qF "$refused" <<<"$lint"; then
    echo "core/clippy.toml does not refuse it: expected \"use of a $refused\" from clippy, got:" >&2
    echo "$lint" >&2
    exit 1
  fi
done
echo "spec-kitty-core: clippy refuses clocks, files, the environment and sockets (core/clippy.toml)"
