# Sourced, not run: starts a relay of the test scripts' own on a free loopback port and reads the
# URL it prints, the one way every script does it (test.sh's Swift stage, schemathesis.sh,
# check-release.sh).
#
#   start_relay BIN DIR [relay flags...]
#
# Writes DIR/relay.out (the relay's stdout, where the URL line appears) and DIR/relay.log (stderr),
# keeps its data in DIR/db, and sets STARTED_PID and STARTED_URL. Returns 1, having stopped the relay
# and shown the end of its log, if no URL line appeared within 30 s or the relay died first.

start_relay() {
    local bin="$1" dir="$2" out i
    shift 2
    if [[ ! -x "$bin" ]]; then
        echo "no relay binary at $bin (cargo build -p sebaya-relay)" >&2
        return 1
    fi
    mkdir -p "$dir"
    out="$dir/relay.out"
    : >"$out" # exists before the relay starts, so the first read below cannot race its creation
    "$bin" --port 0 --data-dir "$dir/db" "$@" >"$out" 2>"$dir/relay.log" </dev/null &
    STARTED_PID=$!
    STARTED_URL=""
    for ((i = 0; i < 300; i++)); do
        STARTED_URL="$(sed -n 's|^sebaya-relay listening on \(http://127\.0\.0\.1:[0-9]*\) (data: .*)$|\1|p' "$out" 2>/dev/null || true)"
        [[ -n "$STARTED_URL" ]] && return 0
        kill -0 "$STARTED_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the relay printed no URL line; its stderr:" >&2
    tail -n 40 "$dir/relay.log" >&2
    kill "$STARTED_PID" 2>/dev/null || true
    wait "$STARTED_PID" 2>/dev/null || true
    return 1
}
