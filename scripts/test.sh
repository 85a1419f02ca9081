#!/usr/bin/env bash
# Sebaya: the one command that runs every test.
#
#   scripts/test.sh                 everything, in order: rust fmt clippy demo netem bindings python kotlin
#   scripts/test.sh python          one stage (python and kotlin regenerate the bindings first)
#   scripts/test.sh fmt clippy      several stages, in the order given
#   scripts/test.sh --list          the stage names
#
# Stages:
#   rust      cargo test --workspace --no-fail-fast (every test binary runs; any failure fails the stage)
#   fmt       cargo fmt --all -- --check
#   clippy    cargo clippy --workspace --all-targets -- -D warnings
#   demo      cargo run -p sebaya-cli -- demo (the end-to-end demonstration, every step checked)
#   netem     scripts/netem.sh: sync over a 2G-like link and a cut link in network namespaces (root;
#             prints SKIP where namespaces are not permitted)
#   bindings  scripts/bindings.sh (cargo build + uniffi-bindgen for Python and Kotlin)
#   python    pytest bindings/tests/python against the real library and a real relay
#   kotlin    kotlinc + java: every bindings/tests/kotlin/*.kt (each has a main), same
#
# For a fresh Debian 12 machine (root, Rust present, package registries reachable). It installs what the
# selected stages lack: python3-pip/pytest (pip), a JRE, libjna-java, npm (apt) and kotlin-compiler
# (npm, into build/tools). Stops at the first failing stage and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KOTLIN_VERSION="2.4.20"
TOOLS="$ROOT/build/tools"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
JNA_JAR="/usr/share/java/jna.jar"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export SEBAYA_RELAY_BIN="${SEBAYA_RELAY_BIN:-$TARGET_DIR/debug/sebaya-relay}"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

ALL_STAGES=(rust fmt clippy demo netem bindings python kotlin)

# --- reporting ------------------------------------------------------------------------------------

SUMMARY=()
CURRENT=""
STAGE_START=0
RUN_START=$SECONDS

header() {
    echo
    echo "=================================================================================="
    echo "== $*"
    echo "=================================================================================="
}

on_exit() {
    local rc=$?
    if [[ -n "$CURRENT" ]]; then
        SUMMARY+=("$(printf '%-9s FAILED  after %4ss' "$CURRENT" $((SECONDS - STAGE_START)))")
    fi
    if ((${#SUMMARY[@]})); then
        header "summary (total $((SECONDS - RUN_START))s)"
        printf '%s\n' "${SUMMARY[@]}"
    fi
    if ((rc != 0)); then
        echo "scripts/test.sh: FAILED${CURRENT:+ in stage '$CURRENT'} (exit $rc)" >&2
    else
        echo "scripts/test.sh: all selected stages passed"
    fi
}
trap on_exit EXIT

run_stage() {
    local name=$1
    CURRENT=$name
    STAGE_START=$SECONDS
    header "stage: $name"
    "stage_$name"
    SUMMARY+=("$(printf '%-9s ok      in    %4ss' "$name" $((SECONDS - STAGE_START)))")
    CURRENT=""
}

# --- installing what a stage needs ----------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || { echo "need $*, and apt-get is not available" >&2; return 1; }
    echo "installing (apt): $*"
    if ! apt-get install -y --no-install-recommends "$@"; then
        if ((APT_UPDATED == 0)); then
            APT_UPDATED=1
            apt-get update
            apt-get install -y --no-install-recommends "$@"
        else
            return 1
        fi
    fi
}

need_cargo_component() { # $1 = cargo subcommand (fmt|clippy), $2 = rustup component
    if ! cargo "$1" --version >/dev/null 2>&1; then
        echo "installing rustup component $2"
        rustup component add "$2"
    fi
}

need_pytest() {
    command -v python3 >/dev/null || apt_install python3
    python3 -c 'import pytest' 2>/dev/null && return 0
    if python3 -m pip --version >/dev/null 2>&1; then
        echo "installing (pip): pytest"
        # Debian's own python3 is "externally managed" (PEP 668): fall back to the flag that allows it.
        python3 -m pip install --quiet pytest ||
            python3 -m pip install --quiet --break-system-packages pytest
    else
        apt_install python3-pip
        python3 -m pip install --quiet pytest ||
            python3 -m pip install --quiet --break-system-packages pytest
    fi
    python3 -c 'import pytest'
}

need_kotlin() {
    command -v java >/dev/null || apt_install default-jre-headless
    [[ -f "$JNA_JAR" ]] || apt_install libjna-java
    if [[ ! -x "$KOTLIN_HOME/bin/kotlinc" ]] ||
        ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KOTLIN_HOME/package.json" 2>/dev/null; then
        command -v npm >/dev/null || apt_install npm
        echo "installing (npm): kotlin-compiler@$KOTLIN_VERSION into build/tools"
        mkdir -p "$TOOLS"
        npm install --prefix "$TOOLS" --no-audit --no-fund "kotlin-compiler@$KOTLIN_VERSION"
    fi
    [[ -x "$KOTLIN_HOME/bin/kotlinc" ]] || { echo "kotlinc not found at $KOTLIN_HOME/bin/kotlinc" >&2; return 1; }
}

BINDINGS_DONE=0
ensure_bindings() {
    if ((BINDINGS_DONE == 0)); then
        echo "-- scripts/bindings.sh"
        "$ROOT/scripts/bindings.sh"
        BINDINGS_DONE=1
    fi
}

# --- stages ---------------------------------------------------------------------------------------

stage_rust() {
    cargo test --workspace --no-fail-fast
}

stage_demo() {
    # The README's main command: relay + two devices, every step checked; exits non-zero on any failure.
    cargo run -q -p sebaya-cli -- demo
    cargo run -q -p sebaya-cli -- demo group
    cargo run -q -p sebaya-cli -- demo referral
    cargo run -q -p sebaya-cli -- demo bundle
}

stage_netem() {
    # The bad-link test needs iproute2 (ip, tc) and iptables; as root, install what is missing.
    if [[ $(id -u) == 0 ]]; then
        command -v ip >/dev/null && command -v tc >/dev/null || apt_install iproute2
        command -v iptables >/dev/null || apt_install iptables
    fi
    "$ROOT/scripts/netem.sh" --json "$TARGET_DIR/netem.json"
}

stage_fmt() {
    need_cargo_component fmt rustfmt
    cargo fmt --all -- --check
}

stage_clippy() {
    need_cargo_component clippy clippy
    cargo clippy --workspace --all-targets -- -D warnings
}

stage_bindings() {
    BINDINGS_DONE=0
    ensure_bindings
}

stage_python() {
    need_pytest
    ensure_bindings
    PYTHONDONTWRITEBYTECODE=1 SEBAYA_PYTHON_BINDINGS="$ROOT/build/bindings/python" \
        python3 -m pytest -p no:cacheprovider -v "$ROOT/bindings/tests/python"
}

stage_kotlin() {
    need_kotlin
    ensure_bindings
    local generated="$ROOT/build/bindings/kotlin/uniffi/sebaya/sebaya.kt"
    local tests=("$ROOT"/bindings/tests/kotlin/*.kt)
    local out="$ROOT/build/kotlin-test"
    local jar="$out/sebaya-test.jar"
    local stamp="$out/inputs.sha256"
    mkdir -p "$out"
    # Recompile (about 30 s) only when the generated bindings, a test or the compiler changed.
    local inputs
    inputs="$(cat "$generated" "${tests[@]}" "$KOTLIN_HOME/package.json" | sha256sum | cut -d' ' -f1)"
    if [[ -f "$jar" && -f "$stamp" && "$(cat "$stamp")" == "$inputs" ]]; then
        echo "-- kotlinc: up to date ($jar)"
    else
        echo "-- kotlinc $KOTLIN_VERSION: compiling generated bindings + ${#tests[@]} test files"
        rm -f "$jar" "$stamp"
        "$KOTLIN_HOME/bin/kotlinc" -nowarn "$generated" "${tests[@]}" -cp "$JNA_JAR" -d "$jar"
        echo "$inputs" >"$stamp"
    fi
    # Each test file with a main (class <File>Kt) runs in its own JVM; Harness.kt has none.
    # Each test file has its own main (class <File>Kt); every one runs, and any failure fails the stage.
    local t main rc=0
    for t in "${tests[@]}"; do
        grep -q '^fun main' "$t" || continue
        main="$(basename "$t" .kt)Kt"
        echo "-- java $main"
        java -cp "$jar:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$JNA_JAR" \
            -Djna.library.path="$ROOT/build/bindings/kotlin/lib" \
            "$main" || rc=1
    done
    return $rc
}

# --- main -----------------------------------------------------------------------------------------

if [[ "${1:-}" == "--list" || "${1:-}" == "-l" ]]; then
    printf '%s\n' "${ALL_STAGES[@]}"
    exit 0
fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

STAGES=("$@")
((${#STAGES[@]})) || STAGES=("${ALL_STAGES[@]}")
for s in "${STAGES[@]}"; do
    [[ " ${ALL_STAGES[*]} " == *" $s "* ]] || {
        echo "unknown stage '$s' (stages: ${ALL_STAGES[*]})" >&2
        exit 2
    }
done
for s in "${STAGES[@]}"; do
    run_stage "$s"
done
