#!/usr/bin/env bash
# Builds the Sebaya library for iOS as an XCFramework and generates its Swift bindings, into this
# package (on macOS with Xcode):
#
#   ios/sebayaFFI.xcframework          ios-arm64 (devices) + ios-arm64_x86_64-simulator (both Mac kinds)
#   ios/Sources/Sebaya/sebaya.swift    the Swift bindings (uniffi-bindgen)
#
#   ios/build-xcframework.sh                  both
#   ios/build-xcframework.sh --bindings-only  only the Swift bindings and C header (any host, no Xcode)
#
# Needs (once): Xcode with its command-line tools (`xcode-select --install`), Rust (rustup), and
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# Environment: SKIP_CARGO_BUILD=1 (reuse the host build already in the target dir),
#   IPHONEOS_DEPLOYMENT_TARGET (default 15.0, as Package.swift), CARGO_TARGET_DIR.
#
# The libraries are static (`cargo rustc --crate-type staticlib`): an app links them into its own
# binary, so there is no embedded dynamic framework to sign. The bindings and the C header come from an
# UNSTRIPPED host build of the same checkout (uniffi reads its metadata from the library).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
DEVICE=aarch64-apple-ios
SIMS=(aarch64-apple-ios-sim x86_64-apple-ios)
WORK="$HERE/build"
GEN="$WORK/generated"

die() {
    echo "build-xcframework.sh: $*" >&2
    exit 1
}

bindings_only=0
case "${1:-}" in
"") ;;
--bindings-only) bindings_only=1 ;;
*) die "unknown argument '$1' (use --bindings-only or nothing)" ;;
esac

# 1. Bindings, C header and module map from an unstripped host build.
if [[ "${SKIP_CARGO_BUILD:-0}" != 1 ]]; then
    echo "build-xcframework.sh: host build (debug, unstripped) for the bindings"
    cargo build -p sebaya-ffi -p uniffi-bindgen
fi
host_lib="$TARGET_DIR/debug/libsebaya.so"
[[ "$(uname -s)" == Darwin ]] && host_lib="$TARGET_DIR/debug/libsebaya.dylib"
[[ -f "$host_lib" ]] || die "missing $host_lib"
rm -rf "$GEN"
mkdir -p "$GEN/include"
"$TARGET_DIR/debug/uniffi-bindgen" generate --library "$host_lib" --language swift --no-format --out-dir "$GEN"
for f in sebaya.swift sebayaFFI.h sebayaFFI.modulemap; do
    [[ -f "$GEN/$f" ]] || die "uniffi-bindgen did not write $f"
done
# Inside an XCFramework the module map must be called module.modulemap, next to its header.
cp "$GEN/sebayaFFI.h" "$GEN/include/sebayaFFI.h"
cp "$GEN/sebayaFFI.modulemap" "$GEN/include/module.modulemap"
mkdir -p "$HERE/Sources/Sebaya"
cp "$GEN/sebaya.swift" "$HERE/Sources/Sebaya/sebaya.swift"

if ((bindings_only)); then
    echo "build-xcframework.sh: Swift bindings in ios/Sources/Sebaya, header and module map in ios/build/generated/include"
    exit 0
fi

# 2. Static libraries for the device and both simulator architectures.
[[ "$(uname -s)" == Darwin ]] || die "the XCFramework needs macOS with Xcode (use --bindings-only elsewhere)"
command -v xcodebuild >/dev/null || die "xcodebuild is missing: install Xcode and run xcode-select --install"
installed="$(rustup target list --installed)"
for t in "$DEVICE" "${SIMS[@]}"; do
    grep -qx "$t" <<<"$installed" || die "Rust target $t is missing: rustup target add $t"
done
for t in "$DEVICE" "${SIMS[@]}"; do
    echo "build-xcframework.sh: cargo rustc --release --target $t --crate-type staticlib"
    cargo rustc -p sebaya-ffi --lib --release --target "$t" --crate-type staticlib
    [[ -f "$TARGET_DIR/$t/release/libsebaya.a" ]] || die "missing $TARGET_DIR/$t/release/libsebaya.a"
done

# 3. One fat simulator library (arm64 + x86_64): an XCFramework holds one library per platform.
mkdir -p "$WORK/sim"
lipo -create "$TARGET_DIR/aarch64-apple-ios-sim/release/libsebaya.a" \
    "$TARGET_DIR/x86_64-apple-ios/release/libsebaya.a" -output "$WORK/sim/libsebaya.a"

# 4. The XCFramework.
rm -rf "$HERE/sebayaFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$TARGET_DIR/$DEVICE/release/libsebaya.a" -headers "$GEN/include" \
    -library "$WORK/sim/libsebaya.a" -headers "$GEN/include" \
    -output "$HERE/sebayaFFI.xcframework"
echo "build-xcframework.sh: ios/sebayaFFI.xcframework and ios/Sources/Sebaya/sebaya.swift are ready"
echo "build-xcframework.sh: add the ios/ folder to Xcode as a local package (see docs/ios.md)"
