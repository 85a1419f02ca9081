#!/usr/bin/env bash
# Does a refactor move any cost? Measures two commits back to back on this machine (a documented run
# for docs/benchmarks.md, not part of the tests: it takes about 20 minutes on 2 cores):
#
#   scripts/house-costs.sh OLD_REV NEW_REV [OUT_DIR]
#
# For each commit, in a throwaway worktree under OUT_DIR (default /tmp/sebaya-costs), sharing one
# target directory so the dependencies build once:
#   - callgrind instruction counts (stable, unlike wall time on this noisy machine) of the benchmark's
#     `add` section (1,000 durable journal adds, with its in-process baselines) and `w1` section
#     (the journal workload synced through an in-process relay on loopback);
#   - W1's byte counts from the same `w1` run (the JSON rows);
#   - the stripped mobile library (release profile, as `scripts/test.sh size` builds it).
# Prints one table row per metric: | metric | NEW | OLD | ratio |.
set -euo pipefail

OLD="${1:?usage: house-costs.sh OLD_REV NEW_REV [OUT_DIR]}"
NEW="${2:?usage: house-costs.sh OLD_REV NEW_REV [OUT_DIR]}"
OUT="${3:-/tmp/sebaya-costs}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v valgrind >/dev/null || { echo "house-costs.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
mkdir -p "$OUT"
export CARGO_TARGET_DIR="$OUT/target"

measure() {
    local rev="$1" name="$2" tree="$OUT/$2"
    rm -rf "$tree"
    git -C "$ROOT" worktree remove --force "$tree" 2>/dev/null || true
    git -C "$ROOT" worktree add --detach "$tree" "$rev" >/dev/null
    (
        cd "$tree"
        cargo build --profile perf -p sebaya-tests --bin sebaya-bench >/dev/null 2>&1
        cp "$CARGO_TARGET_DIR/perf/sebaya-bench" "$OUT/$name.bench"
        cargo build --release -p sebaya-ffi >/dev/null 2>&1
        strip --strip-all -o "$OUT/$name.stripped.so" "$CARGO_TARGET_DIR/release/libsebaya.so"
    )
    for section in add w1; do
        (cd "$OUT" && valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.$section.cg" \
            "$OUT/$name.bench" --only "$section" --json "$OUT/$name.$section.json" >/dev/null 2>&1)
    done
    git -C "$ROOT" worktree remove --force "$tree"
}

measure "$OLD" old
measure "$NEW" new

instructions() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
row() {
    python3 -c 'import sys; n, o = float(sys.argv[2]), float(sys.argv[3]); print(f"| {sys.argv[1]} | {n:.0f} | {o:.0f} | {n / o:.3f}x |")' "$@"
}
echo "| metric | $NEW | $OLD | ratio |"
echo "|---|---|---|---|"
for section in add w1; do
    row "instructions, bench --only $section (callgrind)" \
        "$(instructions "$OUT/new.$section.cg")" "$(instructions "$OUT/old.$section.cg")"
done
row "stripped libsebaya.so, bytes" "$(stat -c %s "$OUT/new.stripped.so")" "$(stat -c %s "$OUT/old.stripped.so")"
python3 - "$OUT/new.w1.json" "$OUT/old.w1.json" <<'EOF'
import json, sys
def rows(path):
    data = json.load(open(path))
    items = data if isinstance(data, list) else data.get("rows", [])
    return {r["metric"]: r["sebaya"] for r in items if "bytes" in r["metric"]}
new, old = rows(sys.argv[1]), rows(sys.argv[2])
for metric in sorted(new):
    if metric in old and old[metric]:
        print(f"| {metric} | {new[metric]:.0f} | {old[metric]:.0f} | {new[metric] / old[metric]:.3f}x |")
EOF
