#!/usr/bin/env bash
# Crash consistency (issue 15): kill -9 and simulated power loss, for a vault and for the relay.
#
#   scripts/crash.sh                    1,000 trials of each of the four runs, one after another (perf
#                                       profile; 8 to 14 minutes each on 2 shared vCPUs, see
#                                       docs/reliability.md)
#   scripts/crash.sh 50                 50 trials of each
#   scripts/crash.sh 1000 vault-power   one run: vault-kill, vault-power, relay-kill, relay-power
#   SEED=123 scripts/crash.sh ...       a given seed (else each run picks one and prints it)
#
# Builds sebaya-crash and the sebaya-relay binary in the perf profile; the relay-kill run kills the
# real sebaya-relay binary. Prints each run's tally; exits non-zero if any run found a corrupt file,
# a failed open, a lost acknowledged write, a duplicate (author, seq), an undelivered write or a usage
# counter that disagrees with a recount. The short version runs in `cargo test` (tests/tests/crash.rs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TRIALS="${1:-1000}"
shift || true
RUNS=("$@")
if ((${#RUNS[@]} == 0)); then
    RUNS=(vault-kill vault-power relay-kill relay-power)
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

cargo build --profile perf -p sebaya-tests --bin sebaya-crash -p sebaya-relay --bin sebaya-relay
BIN="$TARGET_DIR/perf/sebaya-crash"
RELAY="$TARGET_DIR/perf/sebaya-relay"
SEED_ARGS=()
if [[ -n "${SEED:-}" ]]; then
    SEED_ARGS=(--seed "$SEED")
fi

status=0
for run in "${RUNS[@]}"; do
    case "$run" in
        vault-kill) args=(vault) ;;
        vault-power) args=(vault --power) ;;
        relay-kill) args=(relay --relay-bin "$RELAY") ;;
        relay-power) args=(relay --power) ;;
        *) echo "unknown run: $run (vault-kill, vault-power, relay-kill, relay-power)" >&2; exit 2 ;;
    esac
    echo "== $run: sebaya-crash ${args[*]} --trials $TRIALS ${SEED_ARGS[*]}"
    if ! "$BIN" "${args[@]}" --trials "$TRIALS" "${SEED_ARGS[@]}"; then
        status=1
    fi
done
exit "$status"
