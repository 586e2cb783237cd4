#!/usr/bin/env bash
# The core must not depend on anything that does I/O: no async runtime, HTTP, SQLite or event loop.
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
