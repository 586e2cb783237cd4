#!/usr/bin/env bash
# Whole-process cost of single CLI commands, as an AI agent pays it: wall time, CPU (user + system) and
# peak RSS of the release binary, measured by GNU time (not a harness's own ru_maxrss, which a child of
# Python inherits from Python). Medians of RUNS runs each, on disk and on tmpfs, on the 028 fixture.
#
#   bash scripts/bench-commands.sh            # or: just bench-commands
#   RUNS=30 bash scripts/bench-commands.sh
#
# Prints a Markdown table (the README's "Command cost" table comes from here).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-10}"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time is needed at $TIME (Debian package: time)" >&2; exit 1; }

cargo build --release -q -p spec-kitty
BIN="$PWD/target/release/spec-kitty"
FIXTURE="$PWD/tests/fixtures/kitty-specs/028-cli-event-emission-sync"
FEATURE=028-cli-event-emission-sync

# A git repository with the 028 feature (lanes planned, subtasks unticked) and a state folder, under $1.
make_repo() {
    local top="$1"
    mkdir -p "$top/repo/kitty-specs" "$top/home"
    cp -r "$FIXTURE" "$top/repo/kitty-specs/"
    for f in "$top/repo/kitty-specs/$FEATURE"/tasks/WP*.md; do
        sed -i -E 's/^lane: .*/lane: "planned"/' "$f"
    done
    sed -i 's/- \[x\] T/- [ ] T/' "$top/repo/kitty-specs/$FEATURE/tasks.md"
    (
        cd "$top/repo"
        git init -q -b main
        git config user.name Bench
        git config user.email bench@spec-kitty.invalid
        git config commit.gpgsign false
        git add -A
        git commit -qm "028 planned"
    )
}

# Median of a column of numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One run of "$@" in the repo of $top, appending "wall_ms cpu_ms rss_kib" to $top/samples. GNU time gives
# the peak RSS; its wall and CPU have only 10 ms steps, so wall comes from bash's microsecond clock around
# it, or both wall and CPU from perf when perf may count (then they include GNU time's own ~0.5 ms).
run_once() {
    local top="$1"
    shift
    local t0 t1 rss user sys cpu
    local wrap=()
    [ -n "$PERF" ] && wrap=(perf stat -e task-clock -o "$top/perf" --)
    t0=$EPOCHREALTIME
    (cd "$top/repo" && SPEC_KITTY_HOME="$top/home" HOME="$top/home" \
        "${wrap[@]}" "$TIME" -f '%M %U %S' -o "$top/one" "$@" >/dev/null 2>&1) || true
    t1=$EPOCHREALTIME
    read -r rss user sys <"$top/one"
    if [ -n "$PERF" ]; then
        # perf's own start-up is not the command's: take its elapsed time (fork to exit) as the wall.
        cpu=$(awk '/task-clock/ { gsub(",", "", $1); print $1 }' "$top/perf")
        t0=0
        t1=$(awk '/seconds time elapsed/ { print $1 }' "$top/perf")
    else
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print (u + s) * 1000 }')
    fi
    awk -v a="$t0" -v b="$t1" -v c="$cpu" -v r="$rss" 'BEGIN { printf "%.2f %.2f %d\n", (b - a) * 1000, c, r }' >>"$top/samples"
}

# Prints the table row of "$@" (RUNS runs; medians).
row() {
    local where="$1" name="$2" top="$3"
    shift 3
    : >"$top/samples"
    for _ in $(seq "$RUNS"); do run_once "$top" "$@"; done
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$where" \
        "$(awk '{ print $1 }' "$top/samples" | median)" \
        "$(awk '{ print $2 }' "$top/samples" | median)" \
        "$(awk '{ printf "%.1f\n", $3 / 1024 }' "$top/samples" | median)"
}

PERF=""
if perf stat -x, -e task-clock true >/dev/null 2>&1; then PERF=1; fi

source="bash's clock and GNU time (CPU in 10 ms steps)"
[ -n "$PERF" ] && source="perf stat (task-clock, elapsed) around GNU time"
echo "Runs per command: $RUNS (medians). $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr); wall and CPU from $source."
echo
echo "| command | state + repo on | wall ms | CPU ms | peak RSS MiB |"
echo "|---|---|---:|---:|---:|"
for where in disk tmpfs; do
    if [ "$where" = tmpfs ]; then base=$(mktemp -d /dev/shm/spec-kitty-bench.XXXXXX); else base=$(mktemp -d "${TMPDIR:-/var/tmp}/spec-kitty-bench.XXXXXX"); fi
    trap 'rm -rf "$base"' EXIT
    make_repo "$base"
    row "$where" "--version" "$base" "$BIN" --version
    row "$where" "finalize-tasks" "$base" "$BIN" agent feature finalize-tasks --feature "$FEATURE"
    row "$where" "add-history" "$base" "$BIN" agent tasks add-history WP01 --feature "$FEATURE" --note hello
    # A move whose lane changes every run: WP02 back and forth between planned and doing.
    : >"$base/samples"
    for i in $(seq "$RUNS"); do
        to=doing
        [ $((i % 2)) -eq 0 ] && to=planned
        run_once "$base" "$BIN" agent tasks move-task WP02 --to "$to" --feature "$FEATURE" --force
    done
    printf '| move-task | %s | %s | %s | %s |\n' "$where" \
        "$(awk '{ print $1 }' "$base/samples" | median)" \
        "$(awk '{ print $2 }' "$base/samples" | median)" \
        "$(awk '{ printf "%.1f\n", $3 / 1024 }' "$base/samples" | median)"
    rm -rf "$base"
    trap - EXIT
done
