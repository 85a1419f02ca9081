#!/usr/bin/env bash
# The relay's soak run (issue 15; results in docs/reliability.md, "Soak").
#
#   scripts/soak.sh [OUT_DIR] [sebaya-soak flags...]
#
# Builds the relay and the soak tool in the `perf` profile, then runs `sebaya-soak` (by default one
# hour, five minutes of warm-up, a sample every 10 s; see tests/src/soak_main.rs for the flags)
# against the relay binary on a loopback port, with its store in a temp dir. Writes under OUT_DIR
# (default ./soak-out): samples.csv (one row per sample), latency.csv (one row per request kind),
# summary.txt, relay.log (the relay's stderr) and run-info.txt (commit, machine, load at the start).
# Exits with the tool's status: 0 when every check passed, 1 when one failed.
#
# Long: start it in the background, e.g. `nohup scripts/soak.sh /work/soak-run/run1 > run1.log 2>&1 &`.
# The short version that runs in CI is tests/tests/soak.rs (about 25 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-soak-out}"
shift || true
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

cargo build --profile perf -p sebaya-relay -p sebaya-tests --bin sebaya-relay --bin sebaya-soak

mkdir -p "$OUT"
{
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpus: $(nproc)"
    echo "kernel: $(uname -sr)"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "flags: $*"
} > "$OUT/run-info.txt"

status=0
"$TARGET_DIR/perf/sebaya-soak" --relay "$TARGET_DIR/perf/sebaya-relay" --out "$OUT" "$@" || status=$?
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/run-info.txt"
echo "exit: $status" >> "$OUT/run-info.txt"
exit "$status"
