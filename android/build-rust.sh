#!/usr/bin/env bash
# Builds the Sebaya library for Android and generates its Kotlin bindings, into this module:
#
#   src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86_64,x86}/libsebaya.so   (cargo-ndk, release profile)
#   src/main/kotlin/org/sebaya/sebaya.kt                            (uniffi-bindgen; bindings/uniffi.toml)
#
#   android/build-rust.sh                  both (the Gradle build runs this before compiling)
#   android/build-rust.sh --bindings-only  only the Kotlin bindings (needs no NDK; any host)
#
# Needs (once, on the app developer's machine): Rust (rustup), the Android NDK r27 or later with
# ANDROID_NDK_HOME set (Android Studio: SDK Manager > SDK Tools > NDK), and
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android
#   cargo install cargo-ndk
# Environment: SKIP_CARGO_BUILD=1 (reuse the host build already in the target dir),
#   SEBAYA_ANDROID_API (minimum API level, default 24), CARGO_TARGET_DIR (as usual).
#
# Every library is linked with a 16 KB maximum page size, so it loads on Android 15+ devices with
# 16 KB pages. The bindings are generated from an UNSTRIPPED host build of the same code (uniffi reads
# its metadata from the library), so they match the Android libraries built from the same checkout;
# the Android libraries themselves leave that metadata out (see scripts/uniffi-meta.py).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
API="${SEBAYA_ANDROID_API:-24}"
# Four ABIs: phones (arm64-v8a, armeabi-v7a for older and low-cost phones still common where
# programmes run) and emulators (x86_64, x86 for older emulator images and a few Intel tablets).
ABIS=(arm64-v8a armeabi-v7a x86_64 x86)
RUST_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android)
PAGE_FLAGS="-C link-arg=-Wl,-z,max-page-size=16384"

die() {
    echo "build-rust.sh: $*" >&2
    exit 1
}

bindings_only=0
case "${1:-}" in
"") ;;
--bindings-only) bindings_only=1 ;;
*) die "unknown argument '$1' (use --bindings-only or nothing)" ;;
esac

if [[ "${SKIP_CARGO_BUILD:-0}" != 1 ]]; then
    echo "build-rust.sh: host build (debug, unstripped) for the bindings"
    cargo build -p sebaya-ffi -p uniffi-bindgen
fi
lib="$TARGET_DIR/debug/libsebaya.so"
[[ "$(uname -s)" == Darwin ]] && lib="$TARGET_DIR/debug/libsebaya.dylib"
[[ -f "$lib" ]] || die "missing $lib"

if ((bindings_only == 0)); then
    command -v cargo-ndk >/dev/null || die "cargo-ndk is missing: cargo install cargo-ndk"
    [[ -n "${ANDROID_NDK_HOME:-}" && -d "${ANDROID_NDK_HOME:-}" ]] ||
        die "set ANDROID_NDK_HOME to the NDK directory (r27 or later)"
    installed="$(rustup target list --installed)"
    for t in "${RUST_TARGETS[@]}"; do
        grep -qx "$t" <<<"$installed" || die "Rust target $t is missing: rustup target add $t"
    done
    # The uniffi metadata (a description of every exported item, read only by uniffi-bindgen) made
    # local, so the NDK's lld drops it: about 120 KB a library (scripts/uniffi-meta.py, docs/size.md).
    # The names come from the host build above, of the same checkout. UNVERIFIED with the NDK here.
    meta_ver="$TARGET_DIR/uniffi-meta-local.ver"
    python3 "$ROOT/scripts/uniffi-meta.py" version-script "$lib" >"$meta_ver"
    link_flags="$PAGE_FLAGS -C link-arg=-Wl,--version-script=$meta_ver"
    # Per-target flags (not RUSTFLAGS), so the host build is not rebuilt with them.
    export CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS="$link_flags"
    export CARGO_TARGET_ARMV7_LINUX_ANDROIDEABI_RUSTFLAGS="$link_flags"
    export CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS="$link_flags"
    export CARGO_TARGET_I686_LINUX_ANDROID_RUSTFLAGS="$link_flags"
    abi_args=()
    for a in "${ABIS[@]}"; do abi_args+=(-t "$a"); done
    rm -rf "$HERE/src/main/jniLibs"
    echo "build-rust.sh: cargo ndk ${abi_args[*]} --platform $API build --release -p sebaya-ffi"
    cargo ndk "${abi_args[@]}" --platform "$API" -o "$HERE/src/main/jniLibs" \
        build --release -p sebaya-ffi
    for a in "${ABIS[@]}"; do
        [[ -f "$HERE/src/main/jniLibs/$a/libsebaya.so" ]] || die "missing src/main/jniLibs/$a/libsebaya.so"
    done
fi

rm -rf "$HERE/src/main/kotlin"
"$TARGET_DIR/debug/uniffi-bindgen" generate --library "$lib" --language kotlin --no-format \
    --out-dir "$HERE/src/main/kotlin"
[[ -f "$HERE/src/main/kotlin/org/sebaya/sebaya.kt" ]] || die "the Kotlin bindings were not generated"
if ((bindings_only)); then
    echo "build-rust.sh: Kotlin bindings in android/src/main/kotlin (no native libraries built)"
else
    echo "build-rust.sh: libraries in android/src/main/jniLibs, Kotlin bindings in android/src/main/kotlin"
fi
