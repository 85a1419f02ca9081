#!/usr/bin/env bash
# Builds the FFI library, the generator and the relay (debug), then generates the Python, Kotlin and
# Swift bindings from the UNSTRIPPED cdylib into build/bindings/{python,kotlin,swift} (build/ is
# git-ignored).
#
#   scripts/bindings.sh            build + generate
#   SKIP_CARGO_BUILD=1 scripts/bindings.sh   generate only (the artefacts must already exist)
#
# Output:
#   build/bindings/python/sebaya.py + libsebaya.so      (import sebaya with this dir on sys.path)
#   build/bindings/kotlin/org/sebaya/sebaya.kt          (package org.sebaya; bindings/uniffi.toml)
#   build/bindings/kotlin/lib/libsebaya.so              (for -Djna.library.path)
#   build/bindings/swift/sebaya.swift + sebayaFFI.h + sebayaFFI.modulemap, lib/libsebaya.so
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
OUT="$ROOT/build/bindings"
LIB="$TARGET_DIR/debug/libsebaya.so"
BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"

if [[ "${SKIP_CARGO_BUILD:-0}" != 1 ]]; then
    echo "bindings.sh: cargo build -p sebaya-ffi -p uniffi-bindgen -p sebaya-relay"
    cargo build -p sebaya-ffi -p uniffi-bindgen -p sebaya-relay
fi

for f in "$LIB" "$BINDGEN" "$TARGET_DIR/debug/sebaya-relay"; do
    [[ -x "$f" || -f "$f" ]] || { echo "bindings.sh: missing $f (build it first)" >&2; exit 1; }
done

# Take a private copy of the library first, so a concurrent cargo build cannot swap it between
# generating the bindings (whose checksums must match) and loading it in the tests.
rm -rf "$OUT/python" "$OUT/kotlin" "$OUT/swift"
mkdir -p "$OUT/python" "$OUT/kotlin/lib" "$OUT/swift/lib"
cp "$LIB" "$OUT/python/libsebaya.so"
for d in "$OUT/kotlin/lib" "$OUT/swift/lib"; do
    ln -f "$OUT/python/libsebaya.so" "$d/libsebaya.so" 2>/dev/null || cp "$OUT/python/libsebaya.so" "$d/libsebaya.so"
done

# Library mode reads the uniffi metadata from the library itself: it must not be stripped. The
# generator also runs `cargo metadata`, so it must run inside the workspace (we cd'd to it above): that
# is also how it finds bindings/uniffi.toml (package org.sebaya, immutable records), with no --config.
"$BINDGEN" generate --library "$OUT/python/libsebaya.so" --language python --out-dir "$OUT/python"
# No field of an exported error may be called `message`: it would clash with Throwable.message in Kotlin.
"$BINDGEN" generate --library "$OUT/python/libsebaya.so" --language kotlin --no-format --out-dir "$OUT/kotlin"
# Swift: sebaya.swift plus the C header and module map of the `sebayaFFI` module it imports.
"$BINDGEN" generate --library "$OUT/python/libsebaya.so" --language swift --no-format --out-dir "$OUT/swift"

[[ -f "$OUT/python/sebaya.py" ]] || { echo "bindings.sh: build/bindings/python/sebaya.py was not generated" >&2; exit 1; }
[[ -f "$OUT/kotlin/org/sebaya/sebaya.kt" ]] ||
    { echo "bindings.sh: Kotlin bindings were not generated in package org.sebaya (bindings/uniffi.toml not read?)" >&2; exit 1; }
for f in sebaya.swift sebayaFFI.h sebayaFFI.modulemap; do
    [[ -f "$OUT/swift/$f" ]] || { echo "bindings.sh: Swift bindings were not generated ($f)" >&2; exit 1; }
done
echo "bindings.sh: bindings in $OUT/python, $OUT/kotlin and $OUT/swift"
