#!/usr/bin/env bash
# Interoperability check: upstream's Python CLI (spec-kitty-cli 2.1.0, the first release with the sync
# module), unchanged, logs in to spec-kitty-hub and syncs into it, over TLS on loopback only.
#
# From scratch: makes a venv and pip-installs spec-kitty-cli==2.1.0 (with typer==0.24.1: 2.1.0 imports
# click without declaring it, and typer dropped its click dependency later), builds the hub with
# `cargo build -p spec-kitty-hub`, makes a self-signed certificate for 127.0.0.1, starts the hub on
# 127.0.0.1:0 with it, then, with a temp HOME and a temp git repository:
#   1. `spec-kitty sync server URL`, `spec-kitty auth login`, `spec-kitty sync status --check`
#   2. upstream's own workflow commands on a small feature (create-feature, finalize-tasks: FeatureCreated,
#      WPCreated, dossier events), sent by upstream's background sync as each command exits
#   3. more commands (move-task through all lanes, mark-status, add-history) with auto-sync off, so the events
#      wait in upstream's queue; then `spec-kitty sync now` sends them
#   4. upstream's WebSocketClient (the CLI itself only uses it inside an event loop): refresh, ws-token,
#      snapshot, ack, duplicate, fan-out to a second client, pong, server pings answered
# and checks on the hub (GET /api/v1/events/, /api/v1/board/, /metrics) that every event arrived, none was
# rejected, and the board shows the lanes. Exits non-zero on any failure.
#
# Upstream's client trusts the certificate through two variables: SSL_CERT_FILE (httpx: login, refresh,
# ws-token, status probe; and the WebSocket) and REQUESTS_CA_BUNDLE (requests: batch sync, body upload).
#
# Knobs: HUB_BIN (use this hub binary, no build), INTEROP_VENV (reuse this venv; created there if missing,
# kept), INTEROP_PIP_ARGS (extra pip arguments, e.g. --find-links DIR), PYTHON (default python3, >= 3.11),
# INTEROP_KEEP=1 (keep the temp folder and print it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sk-interop.XXXXXX")
HUB_PID=""
step() { printf '==> %s\n' "$*"; }
fail() {
  printf 'interop-upstream: FAIL: %s\n' "$*" >&2
  if [ -f "$WORK/hub.err" ]; then
    echo "--- hub stderr (last 20 lines) ---" >&2
    tail -n 20 "$WORK/hub.err" >&2 || true
  fi
  exit 1
}
cleanup() {
  local rc=$?
  if [ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null; then
    kill -TERM "$HUB_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$HUB_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$HUB_PID" 2>/dev/null || true
    wait "$HUB_PID" 2>/dev/null || true
  fi
  if [ "${INTEROP_KEEP:-0}" = 1 ]; then
    echo "interop-upstream: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------
step "upstream CLI: spec-kitty-cli 2.1.0 in a venv"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || fail "$PYTHON is older than 3.11 (spec-kitty-cli 2.1.0 needs >= 3.11)"
VENV=${INTEROP_VENV:-$WORK/venv}
if [ ! -x "$VENV/bin/spec-kitty" ]; then
  "$PYTHON" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check ${INTEROP_PIP_ARGS:-} \
    'spec-kitty-cli==2.1.0' 'typer==0.24.1'
fi
PY=$VENV/bin/python
SKBIN=$VENV/bin/spec-kitty
"$SKBIN" --version 2>/dev/null | grep -q 'spec-kitty-cli version 2\.1\.0' || fail "spec-kitty --version is not 2.1.0"

# ---------------------------------------------------------------------------------------------------------
step "hub binary"
if [ -z "${HUB_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --quiet -p spec-kitty-hub)
  HUB_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/spec-kitty-hub
fi
[ -x "$HUB_BIN" ] || fail "no hub binary at $HUB_BIN"

# ---------------------------------------------------------------------------------------------------------
step "self-signed certificate for 127.0.0.1; hub with TLS on 127.0.0.1:0"
CERT=$WORK/hub-cert.pem
KEY=$WORK/hub-key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$KEY" -out "$CERT" -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null \
  || fail "openssl could not make the certificate"
TEAM=acme
USERNAME=ana
PASSWORD="interop-$RANDOM-$RANDOM"
printf '%s\n' "$PASSWORD" | "$HUB_BIN" user add --data "$WORK/hub-data" --team "$TEAM" --username "$USERNAME" \
  >"$WORK/user-add.out" 2>&1 || { cat "$WORK/user-add.out" >&2; fail "hub user add failed"; }
"$HUB_BIN" serve --data "$WORK/hub-data" --addr 127.0.0.1:0 --tls-cert "$CERT" --tls-key "$KEY" \
  --ping-interval 1 >"$WORK/hub.out" 2>"$WORK/hub.err" &
HUB_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL=$(sed -n 's#^spec-kitty-hub listening on \(https://127\.0\.0\.1:[0-9][0-9]*\)$#\1#p' "$WORK/hub.out" 2>/dev/null || true)
  [ -n "$URL" ] && break
  kill -0 "$HUB_PID" 2>/dev/null || fail "the hub exited at start"
  sleep 0.1
done
[ -n "$URL" ] || fail "the hub did not print its https listening line within 30 s"
echo "hub: $URL"

# ---------------------------------------------------------------------------------------------------------
# Upstream's environment: its own HOME (credentials, config.toml, queues), the feature flag, the certificate.
export HOME=$WORK/home
mkdir -p "$HOME"
export SPEC_KITTY_ENABLE_SAAS_SYNC=1
export SSL_CERT_FILE=$CERT
export REQUESTS_CA_BUNDLE=$CERT
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy CURL_CA_BUNDLE SSL_CERT_DIR
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export GIT_CONFIG_NOSYSTEM=1 TERM=dumb COLUMNS=200 NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
export HUB_URL=$URL HUB_USER=$USERNAME HUB_PASSWORD=$PASSWORD HUB_TEAM=$TEAM HUB_CERT=$CERT
git config --global user.name "Interop Test"
git config --global user.email "interop@example.invalid"
git config --global init.defaultBranch main

# Run one upstream command with a time bound; its output goes to $WORK/last.out (and is shown on failure).
sk() {
  if ! timeout 180 "$SKBIN" "$@" >"$WORK/last.out" 2>&1; then
    cat "$WORK/last.out" >&2
    fail "spec-kitty $* failed"
  fi
}
expect_out() { grep -q -- "$1" "$WORK/last.out" || { cat "$WORK/last.out" >&2; fail "expected '$1' in: spec-kitty output"; }; }

# The hub's side, read with the hub's own token (never upstream's): events (all pages), board, metrics.
cat >"$WORK/hubstate.py" <<'EOF'
import json, os, sys, httpx
url, cert = os.environ["HUB_URL"], os.environ["HUB_CERT"]
with httpx.Client(verify=cert, timeout=30, trust_env=False) as c:
    r = c.post(f"{url}/api/v1/token/", json={"username": os.environ["HUB_USER"], "password": os.environ["HUB_PASSWORD"]})
    r.raise_for_status()
    h = {"Authorization": f"Bearer {r.json()['access']}"}
    events, after = [], 0
    while True:
        p = c.get(f"{url}/api/v1/events/", params={"after": after, "limit": 1000}, headers=h)
        p.raise_for_status()
        d = p.json()
        events += [e["event"] for e in d["events"]]
        after = d["next_after"]
        if not d["has_more"]:
            break
    board = c.get(f"{url}/api/v1/board/", headers=h)
    board.raise_for_status()
    metrics = {}
    for line in c.get(f"{url}/metrics").text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            metrics[k] = float(v)
json.dump({"events": events, "board": board.json(), "metrics": metrics}, sys.stdout)
EOF
hubstate() { "$PY" "$WORK/hubstate.py" >"$WORK/state.json" || fail "could not read the hub's events/board/metrics"; }

# ---------------------------------------------------------------------------------------------------------
step "upstream: sync server, auth login, sync status --check"
sk sync server "$URL"
sk auth login --username "$USERNAME" --password "$PASSWORD"
expect_out "Login successful"
sk auth status
expect_out "Authenticated"
sk sync status --check
expect_out "Server reachable, authentication valid"
grep -q "team_slug = \"$TEAM\"" "$HOME/.spec-kitty/credentials" || fail "upstream did not store team_slug $TEAM"

# ---------------------------------------------------------------------------------------------------------
step "upstream: a small feature (create-feature, finalize-tasks), sent by its background sync"
REPO=$WORK/repo
mkdir -p "$REPO/.kittify"
cd "$REPO"
git init -q .
printf 'vcs:\n  type: git\nagents:\n  available:\n  - codex\n  auto_commit: true\n' >.kittify/config.yaml
git add -A && git commit -q -m "project"
commit_all() { git add -A && { git diff --cached --quiet || git commit -q -m "$1"; }; }

sk agent feature create-feature demo-sync --json
expect_out '"result": "success"'
F=kitty-specs/001-demo-sync
[ -d "$F" ] || fail "create-feature did not make $F"
cat >"$F/spec.md" <<'EOF'
# Feature Specification: Demo sync

## Requirements

### Functional Requirements

- **FR-001**: The system MUST greet the user.
- **FR-002**: The system MUST say goodbye.
EOF
cat >"$F/tasks.md" <<'EOF'
# Work Packages: Demo sync

## Work Package WP01: Greeting (Priority: P0)

**Goal**: Greet.
**Prompt**: `/tasks/WP01-greeting.md`
**Requirement Refs**: FR-001

### Included Subtasks
- [ ] T001 Write the greeting

### Dependencies
- None (starting package).

## Work Package WP02: Farewell (Priority: P1)

**Goal**: Say goodbye.
**Prompt**: `/tasks/WP02-farewell.md`
**Requirement Refs**: FR-002

### Included Subtasks
- [ ] T002 Write the farewell

### Dependencies
- Depends on WP01
EOF
for spec in 01:greeting:Greeting:T001 02:farewell:Farewell:T002; do
  IFS=: read -r num slug title task <<<"$spec"
  cat >"$F/tasks/WP$num-$slug.md" <<EOF
---
work_package_id: "WP$num"
title: "$title"
lane: "planned"
dependencies: []
subtasks:
  - "$task"
phase: "Phase 1"
assignee: ""
agent: ""
shell_pid: ""
review_status: ""
reviewed_by: ""
history:
  - timestamp: "2026-01-01T00:00:00Z"
    lane: "planned"
    agent: "system"
    shell_pid: ""
    action: "Prompt generated via /spec-kitty.tasks"
---

# Work Package Prompt: WP$num – $title

## Activity Log

- 2026-01-01T00:00:00Z – system – lane=planned – Prompt created.
EOF
done
commit_all "spec and tasks"
sk agent feature finalize-tasks --feature 001-demo-sync --json
expect_out '"wp_count": 2'

hubstate
"$PY" - "$WORK/state.json" <<'EOF' || fail "phase A: the hub does not hold upstream's feature events"
import json, sys
s = json.load(open(sys.argv[1]))
ev = s["events"]
types = [(e["event_type"], e["aggregate_id"]) for e in ev]
need = [("FeatureCreated", "001-demo-sync"), ("WPCreated", "WP01"), ("WPCreated", "WP02")]
missing = [n for n in need if n not in types]
dossier = sum(1 for e in ev if e.get("aggregate_type") == "MissionDossier")
bad_team = [e["event_id"] for e in ev if e.get("team_slug") != "acme"]
print(f"phase A: {len(ev)} events on the hub ({dossier} MissionDossier), missing {missing}")
sys.exit(1 if missing or dossier == 0 or bad_team else 0)
EOF

# ---------------------------------------------------------------------------------------------------------
step "upstream: lanes, subtasks, history with auto-sync off (events wait in its queue), then sync now"
printf 'sync:\n  auto_start: false\n' >>.kittify/config.yaml
commit_all "no auto sync"
sk agent tasks move-task WP01 --to doing --feature 001-demo-sync --agent codex --assignee codex --json
sk agent tasks mark-status T001 --status done --feature 001-demo-sync --json
commit_all "WP01 work"
sk agent tasks move-task WP01 --to for_review --feature 001-demo-sync --agent codex --json
commit_all "WP01 review"
sk agent tasks move-task WP01 --to approved --feature 001-demo-sync --agent codex --reviewer rev --approval-ref PR-1 --json
commit_all "WP01 approved"
sk agent tasks move-task WP01 --to done --feature 001-demo-sync --agent codex --approval-ref PR-1 \
  --done-override-reason "interop test: no merge" --json
sk agent tasks add-history WP02 --note "interop note" --feature 001-demo-sync --json
cd "$WORK"

"$PY" - "$HOME/.spec-kitty/queues" >"$WORK/queued.json" <<'EOF' || fail "could not read upstream's queue"
import glob, json, sqlite3, sys
ids = []
for db in sorted(glob.glob(sys.argv[1] + "/queue-*.db")):
    c = sqlite3.connect(db)
    ids += [dict(event_id=r[0], event_type=r[1]) for r in c.execute("SELECT event_id, event_type FROM queue ORDER BY id")]
json.dump(ids, sys.stdout)
EOF
queued=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/queued.json")
[ "$queued" -ge 6 ] || fail "expected at least 6 events in upstream's queue, found $queued"
echo "upstream's queue: $queued events"
sk sync now
expect_out "Errors: 0"
sk sync status
expect_out "Queue empty"

hubstate
"$PY" - "$WORK/state.json" "$WORK/queued.json" <<'EOF' || fail "phase B: the hub does not hold upstream's queued events"
import json, sys
s = json.load(open(sys.argv[1])); queued = json.load(open(sys.argv[2]))
on_hub = {e["event_id"] for e in s["events"]}
missing = [q for q in queued if q["event_id"] not in on_hub]
moves = [(e["payload"]["from_lane"], e["payload"]["to_lane"]) for e in s["events"]
         if e["event_type"] == "WPStatusChanged" and e["payload"].get("wp_id") == "WP01"]
need = [("planned", "claimed"), ("claimed", "in_progress"), ("in_progress", "for_review"),
        ("for_review", "approved"), ("approved", "done")]
print(f"phase B: {len(queued)} queued, {len(queued) - len(missing)} on the hub; WP01 moves {moves}")
sys.exit(1 if missing or any(n not in moves for n in need) else 0)
EOF

# ---------------------------------------------------------------------------------------------------------
step "upstream's WebSocketClient: refresh, ws-token, snapshot, ack, duplicate, fan-out, pong, server pings"
cat >"$WORK/ws_check.py" <<'EOF'
import asyncio, json, sys
from datetime import datetime, timezone
import ulid
from specify_cli.sync.auth import AuthClient
from specify_cli.sync.config import SyncConfig
from specify_cli.sync.client import WebSocketClient

async def main():
    auth = AuthClient()
    auth.refresh_tokens()                              # POST /api/v1/token/refresh/, rotated pair stored
    url = SyncConfig().get_server_url()
    a, b = WebSocketClient(url, auth_client=auth), WebSocketClient(url, auth_client=AuthClient())
    got_b, pings_b = [], []
    async def on_event(data): got_b.append(data)
    b.set_message_handler(on_event)
    answer_ping = b._handle_ping
    async def spy(data): pings_b.append(data); await answer_ping(data)
    b._handle_ping = spy
    await a.connect(); await b.connect()               # ws-token, upgrade, snapshot frame first
    a._listen_task.cancel()                            # read a's frames here to see the acks
    try: await a._listen_task
    except asyncio.CancelledError: pass
    ev = {"event_id": str(ulid.ULID()), "event_type": "WPStatusChanged", "aggregate_id": "WP02",
          "aggregate_type": "WorkPackage",
          "payload": {"wp_id": "WP02", "from_lane": "planned", "to_lane": "claimed", "actor": "ws-check",
                      "feature_slug": "001-demo-sync", "policy_metadata": None},
          "node_id": "0123456789ab", "lamport_clock": 100000, "causation_id": None,
          "timestamp": datetime.now(timezone.utc).isoformat(), "team_slug": auth.get_team_slug(),
          "project_uuid": None, "project_slug": None}
    async def next_frame():
        while True:
            f = json.loads(await asyncio.wait_for(a.ws.recv(), 10))
            if f.get("type") == "ping":                # the hub pings every second here
                await a.ws.send(json.dumps({"type": "pong", "timestamp": f.get("timestamp")}))
                continue
            return f
    await a.send_event(ev)                             # upstream sends the bare envelope
    ack = await next_frame()
    await a.send_event(ev)
    dup = await next_frame()
    await a.ws.send(json.dumps({"type": "ping", "timestamp": 42}))
    pong = await next_frame()
    await asyncio.sleep(2.5)                           # b answers the hub's pings through its listener
    ok = {
        "ack": ack == {"type": "ack", "event_id": ev["event_id"], "status": "accepted"},
        "duplicate": dup == {"type": "ack", "event_id": ev["event_id"], "status": "duplicate"},
        "fan-out": any(f.get("type") == "event" and f.get("event_id") == ev["event_id"] for f in got_b),
        "pong": pong == {"type": "pong", "timestamp": 42},
        "server pings answered, still connected": len(pings_b) >= 2 and b.connected,
    }
    await b.disconnect()
    a._listen_task = None
    await a.disconnect()
    for k, v in ok.items(): print(f"  {k}: {'ok' if v else 'FAILED'}")
    if not all(ok.values()): print("  frames:", json.dumps([ack, dup, pong]))
    return 0 if all(ok.values()) else 1

sys.exit(asyncio.run(main()))
EOF
timeout 120 "$PY" "$WORK/ws_check.py" || fail "upstream's WebSocket client against the hub"

# ---------------------------------------------------------------------------------------------------------
step "the hub: nothing rejected, the board shows upstream's lanes"
hubstate
"$PY" - "$WORK/state.json" <<'EOF' || fail "final check on the hub"
import json, sys
s = json.load(open(sys.argv[1]))
m, board = s["metrics"], s["board"]
cards = {(c.get("feature_slug"), c["wp_id"]): c for c in board["work_packages"]}
wp1, wp2 = cards.get(("001-demo-sync", "WP01")), cards.get(("001-demo-sync", "WP02"))
checks = {
    "no event rejected": m.get("spec_kitty_hub_events_rejected_total", -1) == 0,
    "events accepted": m.get("spec_kitty_hub_events_accepted_total", 0) == len(s["events"]) > 0,
    "WP01 card done": bool(wp1) and wp1["lane"] == "done" and wp1["title"] == "Greeting",
    "WP02 card claimed, depends on WP01": bool(wp2) and wp2["lane"] == "claimed" and wp2["dependencies"] == ["WP01"],
    "feature on the board": any(f["feature_slug"] == "001-demo-sync" for f in board["features"]),
}
for k, v in checks.items(): print(f"  {k}: {'ok' if v else 'FAILED'}")
print(f"  {len(s['events'])} events on the hub, {board['events_applied']} applied to the board")
sys.exit(0 if all(checks.values()) else 1)
EOF

echo "interop-upstream: ok: spec-kitty-cli 2.1.0 logged in, synced (background, sync now, WebSocket) into spec-kitty-hub over TLS"
