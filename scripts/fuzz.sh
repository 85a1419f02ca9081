#!/usr/bin/env bash
# Sebaya: runs every fuzz target (or those named), one at a time, one process each, and prints the
# executions per target. A documented run, not a CI stage: it needs nightly Rust and cargo-fuzz
# (`cargo install cargo-fuzz`); CI replays the committed corpus on stable instead
# (fuzz/harness/tests/replay.rs, part of `cargo test --workspace`). See docs/reliability.md.
#
#   scripts/fuzz.sh                          every target, 1,000,000 executions each
#   scripts/fuzz.sh --runs 100000 peer       one target, 100,000 executions
#   scripts/fuzz.sh --time 60                every target, 60 s each
#   scripts/fuzz.sh --list                   the target names
#
# New inputs go to fuzz/work/<target>/ (ignored by git); the committed seeds in fuzz/corpus/<target>/
# are read, never written. Crashes, timeouts and out-of-memory inputs land in fuzz/artifacts/<target>/
# and make the script exit non-zero after every target has run. To fold new inputs into the committed
# corpus: scripts/fuzz.sh --cmin [target...] (cargo fuzz cmin over corpus + work; keeps seed-* and
# crash-* files and the minimised inputs under 300 bytes).
#
# Limits (libFuzzer): -rss_limit_mb=2048, -malloc_limit_mb=512 (a single allocation over 512 MB is
# a finding), -timeout=10 (one input over 10 s is a finding). Built without a sanitizer (-s none:
# the libraries are safe Rust; the sanitizer would halve the executions) and with debug assertions
# (-a: integer overflow panics).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

RUNS=1000000
TIME=""
CMIN=0
TARGETS=()
while (($#)); do
    case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --time) TIME="$2"; shift 2 ;;
    --cmin) CMIN=1; shift ;;
    --list) cargo +nightly fuzz list; exit 0 ;;
    -h | --help) sed -n '2,23p' "$ROOT/scripts/fuzz.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
    esac
done
((${#TARGETS[@]})) || mapfile -t TARGETS < <(cargo +nightly fuzz list)

FLAGS=(-s none -a)
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1)

if ((CMIN)); then
    # Seeds (seed-*) and inputs of fixed defects (crash-*) always stay; of the rest, what cmin keeps
    # under 300 bytes (the committed corpus stays small: the replay runs in every CI build).
    for t in "${TARGETS[@]}"; do
        merged="$(mktemp -d)"
        cp corpus/"$t"/* "$merged"/
        if [[ -d work/$t ]]; then find work/"$t" -type f -exec cp {} "$merged"/ \;; fi
        cargo +nightly fuzz cmin "${FLAGS[@]}" "$t" "$merged" -- -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10
        find corpus/"$t" -type f ! -name 'seed-*' ! -name 'crash-*' -delete
        find "$merged" -type f -size -300c -exec cp -n {} corpus/"$t"/ \;
        rm -rf "$merged"
        echo "$t: $(find corpus/"$t" -type f | wc -l) files, $(find corpus/"$t" -type f -exec cat {} + | wc -c) bytes"
    done
    exit 0
fi

cargo +nightly fuzz build "${FLAGS[@]}"
mkdir -p work logs
printf '%-22s %12s %8s %7s %10s %s\n' target executions seconds files bytes result
failed=0
for t in "${TARGETS[@]}"; do
    mkdir -p work/"$t"
    if [[ -n "$TIME" ]]; then budget=(-max_total_time="$TIME"); else budget=(-runs="$RUNS"); fi
    start=$SECONDS
    rc=0
    cargo +nightly fuzz run "${FLAGS[@]}" "$t" work/"$t" corpus/"$t" -- "${budget[@]}" "${LIMITS[@]}" \
        >logs/"$t".log 2>&1 || rc=$?
    secs=$((SECONDS - start))
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' logs/"$t".log | tail -1)"
    files="$(find work/"$t" corpus/"$t" -type f | wc -l)"
    bytes="$(find work/"$t" corpus/"$t" -type f -exec cat {} + | wc -c)"
    result=ok
    if ((rc != 0)); then
        result="FOUND (exit $rc; logs: fuzz/logs/$t.log, fuzz/artifacts/$t/)"
        failed=1
    fi
    printf '%-22s %12s %8s %7s %10s %s\n' "$t" "${execs:-?}" "$secs" "$files" "$bytes" "$result"
done
exit $failed
