#!/usr/bin/env bash
# The release recipe: the artefacts an app team depends on, instead of Rust, the NDK and cargo-ndk.
#
#   scripts/release.sh host-jar [--lib FILE]   the JVM host JAR + its POM (Linux x86_64 library inside),
#                                              for an app's JVM unit tests; runs here
#   scripts/release.sh aar                     the Android library (AAR, four ABIs) + POM, published to
#                                              dist/maven; needs the Android SDK, NDK r27+, Gradle
#   scripts/release.sh xcframework             the zipped XCFramework and its SwiftPM checksum; macOS
#   scripts/release.sh swift-package --zip FILE
#                                              the Package.swift an app adds by URL, for that zip; runs here
#   scripts/release.sh all                     xcframework, swift-package, aar, host-jar (on macOS with
#                                              the Android tools; .github/workflows/release.yml)
#
# Everything lands in dist/ (git-ignored). Publication settings (where the artefacts will be
# downloaded from and where the source lives) are the publisher's, read from android/gradle.properties
# (`sebaya.pom.url`, `sebaya.pom.scm`, `sebaya.release.baseUrl`) or the environment
# (SEBAYA_POM_URL, SEBAYA_POM_SCM, SEBAYA_RELEASE_BASE_URL); the recipe refuses to write an artefact
# that names an address nobody set. docs/release.md says what each step does and what is unverified.
#
# Verified on Linux by scripts/check-release.sh (stage `mobile`): host-jar, swift-package (the
# manifest evaluates with SwiftPM and the checksum equals `swift package compute-checksum`).
# NOT verified here (no Android SDK, no macOS): aar, xcframework, and so `all`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIST="${SEBAYA_DIST:-$ROOT/dist}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
KOTLIN_HOME="${KOTLIN_HOME:-$ROOT/build/tools/node_modules/kotlin-compiler}"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
# The JNA the AAR depends on (android/build.gradle.kts) and the host JAR's POM names.
JNA_VERSION="5.17.0"

# Temporary folders made on the way, removed however the script ends.
WORK_DIRS=()
cleanup() {
    local d
    for d in "${WORK_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

die() {
    echo "release.sh: $*" >&2
    exit 1
}

# The workspace version (Cargo.toml's [workspace.package] version): one version for every artefact.
version() {
    sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1
}

# A publication setting: the environment first, then android/gradle.properties. Refuses an unset or
# placeholder value, so that no artefact ships naming an address nobody chose.
setting() { # $1 = environment variable, $2 = gradle property
    local v="${!1:-}"
    if [[ -z "$v" ]]; then
        v="$(sed -n "s/^$2=//p" "$ROOT/android/gradle.properties" | head -n 1)"
    fi
    [[ -n "$v" && "$v" != *UNSET* ]] || die "set $1 (or $2 in android/gradle.properties) first"
    printf '%s' "$v"
}

xml_escape() {
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"
}

# The POM of one artefact: coordinates, licence, source, and what it needs at run time.
write_pom() { # $1 = artifactId, $2 = packaging, $3 = description, $4 = dependencies XML, $5 = out file
    local url scm
    url="$(xml_escape "$(setting SEBAYA_POM_URL sebaya.pom.url)")"
    scm="$(xml_escape "$(setting SEBAYA_POM_SCM sebaya.pom.scm)")"
    cat >"$5" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.sebaya</groupId>
  <artifactId>$1</artifactId>
  <version>$(version)</version>
  <packaging>$2</packaging>
  <name>$1</name>
  <description>$3</description>
  <url>$url</url>
  <licenses>
    <license>
      <name>Apache-2.0</name>
      <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>
      <distribution>repo</distribution>
    </license>
  </licenses>
  <scm>
    <url>$scm</url>
    <connection>scm:git:$scm</connection>
  </scm>
  <dependencies>
$4
  </dependencies>
</project>
POM
}

# Hand-written Kotlin that ships with the bindings and runs on a plain JVM: every .kt under the
# Android module's sources (src/main/kotlin, and the glue in src/glue/common: transports, the wrapped
# key store, the lifecycle helper) except the generated bindings and files marked platform-only (they
# call Android APIs and compile only in the Gradle build).
shipped_kotlin() {
    local f
    while IFS= read -r f; do
        [[ "$(basename "$f")" == sebaya.kt ]] && continue
        grep -q 'PLATFORM-ONLY' "$f" && continue
        printf '%s\n' "$f"
    done < <(find "$ROOT/android/src/main/kotlin" "$ROOT/android/src/glue/common" -name '*.kt' 2>/dev/null | sort)
}

cmd_host_jar() {
    local lib=""
    while (($#)); do
        case "$1" in
        --lib) lib="${2:-}"; shift 2 ;;
        *) die "host-jar: unknown argument '$1'" ;;
        esac
    done
    # The settings first: a refusal costs nothing.
    setting SEBAYA_POM_URL sebaya.pom.url >/dev/null
    setting SEBAYA_POM_SCM sebaya.pom.scm >/dev/null
    [[ -x "$KOTLIN_HOME/bin/kotlinc" ]] || die "kotlinc not found at $KOTLIN_HOME (scripts/test.sh kotlin installs it)"
    [[ -f "$JNA_JAR" ]] || die "JNA not found at $JNA_JAR (apt install libjna-java)"
    local generated="$ROOT/build/bindings/kotlin/org/sebaya/sebaya.kt"
    if [[ -z "$lib" ]]; then
        # The release build of the library as shipped (the size profile the phones get), and
        # bindings generated from the same checkout.
        cargo build --release -p sebaya-ffi
        lib="$TARGET_DIR/release/libsebaya.so"
        SKIP_CARGO_BUILD=0 "$ROOT/scripts/bindings.sh"
    fi
    [[ -f "$lib" ]] || die "no library at $lib"
    [[ -f "$generated" ]] || die "no generated bindings at $generated (scripts/bindings.sh)"

    local v work jar pom
    v="$(version)"
    work="$(mktemp -d)"
    WORK_DIRS+=("$work")
    mkdir -p "$DIST" "$work/classes/linux-x86-64" "$work/classes/META-INF/maven/org.sebaya/sebaya-jvm-host"
    local sources=("$generated")
    mapfile -t -O 1 sources < <(shipped_kotlin)
    echo "-- kotlinc: ${#sources[@]} source files -> sebaya-jvm-host-$v.jar"
    "$KOTLIN_HOME/bin/kotlinc" -nowarn "${sources[@]}" -cp "$JNA_JAR" -d "$work/classes"
    # JNA looks for a library it is asked to load in the class path under <os>-<arch>/ when it is not
    # on the library path: the JAR alone is enough for an app's unit tests.
    cp "$lib" "$work/classes/linux-x86-64/libsebaya.so"
    pom="$DIST/sebaya-jvm-host-$v.pom"
    write_pom sebaya-jvm-host jar \
        "Sebaya's Kotlin bindings with the Linux x86_64 library inside, for JVM unit tests of apps (not for devices: use sebaya-android)." \
        "    <dependency>
      <groupId>net.java.dev.jna</groupId>
      <artifactId>jna</artifactId>
      <version>$JNA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-stdlib</artifactId>
      <version>$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$KOTLIN_HOME/package.json" | head -n 1)</version>
    </dependency>" "$pom"
    cp "$pom" "$work/classes/META-INF/maven/org.sebaya/sebaya-jvm-host/pom.xml"
    jar="$DIST/sebaya-jvm-host-$v.jar"
    rm -f "$jar"
    # A JAR is a zip (the manifest is optional): Python's zipfile, so no JDK is needed to pack it.
    (cd "$work/classes" && python3 -m zipfile -c "$jar" META-INF linux-x86-64 org)
    echo "-- wrote $jar and $pom"
}

cmd_aar() {
    # UNVERIFIED here: no Android SDK, NDK or Gradle on this Linux machine.
    # The settings first, each in its own assignment: a refusal inside "$(…)" among Gradle's arguments
    # would only end that subshell, and Gradle would publish with an empty address.
    local pom_url pom_scm
    pom_url="$(setting SEBAYA_POM_URL sebaya.pom.url)"
    pom_scm="$(setting SEBAYA_POM_SCM sebaya.pom.scm)"
    command -v gradle >/dev/null || [[ -x "$ROOT/android/gradlew" ]] || die "aar: needs Gradle (or android/gradlew)"
    [[ -n "${ANDROID_HOME:-}${ANDROID_SDK_ROOT:-}" ]] || die "aar: set ANDROID_HOME to the Android SDK"
    local g=gradle
    [[ -x "$ROOT/android/gradlew" ]] && g="$ROOT/android/gradlew"
    mkdir -p "$DIST/maven"
    # build-rust.sh (run by the build) makes the four ABIs; the publication carries the POM's
    # licence and source from the same settings as the host JAR's.
    "$g" -p "$ROOT/android" \
        -Psebaya.pom.url="$pom_url" \
        -Psebaya.pom.scm="$pom_scm" \
        -Psebaya.version="$(version)" \
        assembleRelease publishReleasePublicationToDistRepository
    echo "-- wrote $DIST/maven (org/sebaya/sebaya-android/$(version)/)"
}

cmd_xcframework() {
    # UNVERIFIED here: needs macOS with Xcode (xcodebuild, lipo, ditto).
    [[ "$(uname -s)" == Darwin ]] || die "xcframework: needs macOS with Xcode"
    bash "$ROOT/ios/build-xcframework.sh"
    local zip
    zip="$DIST/sebayaFFI-$(version).xcframework.zip"
    mkdir -p "$DIST"
    rm -f "$zip"
    # ditto keeps the framework's symbolic links and permissions, as Xcode expects when it unpacks.
    (cd "$ROOT/ios" && ditto -c -k --sequesterRsrc --keepParent sebayaFFI.xcframework "$zip")
    echo "-- wrote $zip"
}

cmd_swift_package() {
    local zip=""
    while (($#)); do
        case "$1" in
        --zip) zip="${2:-}"; shift 2 ;;
        *) die "swift-package: unknown argument '$1'" ;;
        esac
    done
    [[ -f "$zip" ]] || die "swift-package: --zip names no file"
    local base sum out
    base="$(setting SEBAYA_RELEASE_BASE_URL sebaya.release.baseUrl)"
    # SwiftPM's checksum of a binary target is the SHA-256 of the zip, in lowercase hex (what
    # `swift package compute-checksum` prints; scripts/check-release.sh compares the two).
    sum="$(sha256sum "$zip" | cut -d' ' -f1)"
    out="$DIST/swift-package"
    mkdir -p "$out/Sources/Sebaya"
    sed -e "s|@URL@|${base%/}/$(basename "$zip")|" -e "s|@CHECKSUM@|$sum|" -e "s|@VERSION@|$(version)|" \
        "$ROOT/ios/Package.release.swift" >"$out/Package.swift"
    # The package's sources: the generated bindings and the shipped glue (everything in
    # ios/Sources/Sebaya that is committed or generated), with the privacy manifest if present.
    cp -R "$ROOT/ios/Sources/Sebaya/." "$out/Sources/Sebaya/"
    rm -f "$out/Sources/Sebaya/.gitkeep"
    echo "$sum" >"$out/checksum.txt"
    echo "-- wrote $out/Package.swift (binary target $(basename "$zip"), checksum $sum)"
}

cmd_all() {
    cmd_xcframework
    cmd_swift_package --zip "$DIST/sebayaFFI-$(version).xcframework.zip"
    cmd_aar
    cmd_host_jar
}

case "${1:-}" in
host-jar) shift; cmd_host_jar "$@" ;;
aar) shift; cmd_aar "$@" ;;
xcframework) shift; cmd_xcframework "$@" ;;
swift-package) shift; cmd_swift_package "$@" ;;
all) shift; cmd_all "$@" ;;
*) die "usage: release.sh host-jar|aar|xcframework|swift-package|all (see the top of this file)" ;;
esac
