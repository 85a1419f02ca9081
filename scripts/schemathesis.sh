#!/usr/bin/env bash
# Schemathesis against the relay's own OpenAPI document (issue 16, item 5): a relay of ours on
# loopback, its /v1/openapi.json, and the hooks in server/tests/schemathesis/hooks.py that sign each
# request as docs/protocol.md section 10 says and send CBOR bodies (well-formed sync and wait requests,
# wrong types, any CBOR, raw bytes), so that generated requests reach past the signature check.
#
#   scripts/schemathesis.sh            the CI run: 100 examples per operation, seed 1 (reproducible)
#   SEBAYA_SCHEMATHESIS_EXAMPLES=2000 SEBAYA_SCHEMATHESIS_SEED=random scripts/schemathesis.sh
#                                      a longer, documented run with a new seed each time
#
# Every check runs except two that mean nothing for a body the document describes as opaque CBOR
# (a string): `positive_data_acceptance` (any string is "valid", yet most strings are not a sync
# request, so a 400 is right) and `negative_data_rejection` (an object drawn to violate the string
# type is turned into CBOR by the serializer, which is a legitimate body). `not_a_server_error`,
# status codes, content types, headers and response schemas are all checked.
# Needs the relay binary ($SEBAYA_RELAY_BIN, built by the rust stage) and Python 3 with venv; the
# tools go into build/tools/schemathesis-venv at pinned versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
RELAY="${SEBAYA_RELAY_BIN:-$TARGET_DIR/debug/sebaya-relay}"
VENV="$ROOT/build/tools/schemathesis-venv"
EXAMPLES="${SEBAYA_SCHEMATHESIS_EXAMPLES:-100}"
SEED="${SEBAYA_SCHEMATHESIS_SEED:-1}"
# Pinned: a newer Schemathesis may add checks or change hooks; raise on purpose.
PINS=(schemathesis==4.32.5 cbor2==6.2.1 cryptography==50.0.2)

[[ -x "$RELAY" ]] || { echo "schemathesis.sh: no relay binary at $RELAY (cargo build -p sebaya-relay)" >&2; exit 1; }
# Run through the venv's python (-m), never its scripts: their first line names the path the venv
# was made at, which breaks when build/ moves.
if ! "$VENV/bin/python" -c 'import schemathesis, cbor2, cryptography' 2>/dev/null; then
    python3 -m venv "$VENV" 2>/dev/null || {
        apt-get install -y -q python3-venv >/dev/null
        python3 -m venv "$VENV"
    }
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
fi

DATA="$(mktemp -d)"
RELAY_PID=""
cleanup() {
    if [[ -n "$RELAY_PID" ]]; then
        kill "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

# shellcheck source=scripts/relay-start.sh
source "$ROOT/scripts/relay-start.sh"
# Wake-ups on, so /v1/push is served; the hooks draw no endpoint but one on loopback, which the
# loopback switch lets the relay keep, so no wake-up can leave this machine.
start_relay "$RELAY" "$DATA" --push-key "$DATA/vapid.p8" --push-contact mailto:ops@sebaya.test \
    --push-allow-loopback true || { echo "schemathesis.sh: the relay did not start" >&2; exit 1; }
RELAY_PID="$STARTED_PID"
URL="$STARTED_URL"
echo "-- relay $URL (pid $RELAY_PID); schemathesis, $EXAMPLES examples per operation, seed $SEED"

seed_args=()
[[ "$SEED" == random ]] || seed_args=(--seed "$SEED")
rc=0
# From the run's own temporary folder: Schemathesis keeps a cache (.schemathesis/) in its working
# directory, which must not land in the checkout.
(cd "$DATA" && SEBAYA_SCHEMATHESIS_URL="$URL" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$ROOT/server/tests/schemathesis" \
    "$VENV/bin/python" -m schemathesis.cli run "$URL/v1/openapi.json" \
    --checks all --exclude-checks positive_data_acceptance,negative_data_rejection \
    --max-examples "$EXAMPLES" "${seed_args[@]}" --no-color) || rc=$?

# The run must have reached past the signature check: some signed sync requests answered 200.
python3 - "$DATA/relay.log" <<'PY' || rc=1
import collections, json, sys
seen = collections.Counter()
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("message") == "request":
        seen[(j.get("route"), j.get("status"))] += 1
if seen[("/v1/sync", 200)] == 0:
    sys.exit("no generated sync request got past the signature check (no 200 on /v1/sync)")
if any(status >= 500 for (_, status) in seen):
    sys.exit("the relay answered 5xx: " + str({k: v for k, v in seen.items() if k[1] >= 500}))
print("-- relay answers:", ", ".join(f"{r} {s}: {n}" for (r, s), n in sorted(seen.items())))
PY
if kill -0 "$RELAY_PID" 2>/dev/null; then :; else
    echo "schemathesis.sh: the relay died during the run" >&2
    tail -n 40 "$DATA/relay.log" >&2
    rc=1
fi
exit "$rc"
