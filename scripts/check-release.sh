#!/usr/bin/env bash
# Host checks of the release recipe (scripts/release.sh): what a Linux machine can show of the
# artefacts app teams depend on. Run by the `mobile` stage of scripts/test.sh after check-mobile.sh.
#
# Checked here:
#   - the recipe refuses to write a POM that names an address nobody set;
#   - the JVM host JAR holds the bindings, the Linux library under linux-x86-64/ and its POM (licence,
#     source, JNA and Kotlin as dependencies);
#   - an app's unit test (android/jvm-host/HostJarSmoke.kt) runs with nothing on its class path but
#     the JAR, the Kotlin standard library and JNA: records, a callback and a typed error cross;
#   - the Kotlin sample (android/jvm-host/Sample.kt) runs its app flow against a relay on loopback with
#     only the JAR, the Kotlin standard library and JNA;
#   - the same test still runs after ProGuard shrank it with the AAR's consumer rules
#     (android/consumer-rules.pro), standing in for R8 in an app's release build; and, so that this
#     check can fail, shrinking it without those rules breaks it;
#   - the Swift package an app adds by URL (ios/Package.release.swift, written by release.sh for a
#     zip) evaluates with SwiftPM, names that URL, and its checksum is what `swift package
#     compute-checksum` computes for the zip.
# NOT checked (no Android SDK or macOS here): the AAR build, the XCFramework build, a device run.
# Prints one line per check and "N passed, M failed"; exits non-zero if any check failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
# shellcheck source=scripts/relay-start.sh
source "$ROOT/scripts/relay-start.sh"
KOTLIN_HOME="${KOTLIN_HOME:-$ROOT/build/tools/node_modules/kotlin-compiler}"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
STDLIB="$KOTLIN_HOME/lib/kotlin-stdlib.jar"
OUT="$ROOT/build/release-check"
export SEBAYA_DIST="$OUT/dist"
# Test settings: a reserved top-level name (RFC 2606), never an address anyone publishes to.
export SEBAYA_POM_URL="https://sebaya.test/"
export SEBAYA_POM_SCM="https://sebaya.test/sebaya.git"
export SEBAYA_RELEASE_BASE_URL="https://sebaya.test/releases/"
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)"
HOST_JAR="$SEBAYA_DIST/sebaya-jvm-host-$VERSION.jar"
passed=0
failed=0

check() { # $1 = name, rest = command
    local name=$1 out
    shift
    if out="$("$@" 2>&1)"; then
        passed=$((passed + 1))
        echo "PASS  $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/      /'
    fi
}

refuses_unset_settings() {
    local out
    if out="$(env -u SEBAYA_POM_URL -u SEBAYA_POM_SCM bash "$ROOT/scripts/release.sh" host-jar --lib /nonexistent 2>&1)"; then
        echo "host-jar ran without publication settings"
        return 1
    fi
    grep -q 'set SEBAYA_POM_URL' <<<"$out" || { echo "unexpected refusal: $out"; return 1; }
    # The AAR too, before it looks for Gradle (review finding: its settings were read inside
    # Gradle's arguments, where a refusal did not stop the build).
    if out="$(env -u SEBAYA_POM_URL -u SEBAYA_POM_SCM bash "$ROOT/scripts/release.sh" aar 2>&1)"; then
        echo "aar ran without publication settings"
        return 1
    fi
    grep -q 'set SEBAYA_POM_URL' <<<"$out" || { echo "aar: unexpected refusal: $out"; return 1; }
}

host_jar() {
    rm -rf "$OUT"
    mkdir -p "$OUT"
    # The tested library, stripped as a release is (debug info would make the JAR ten times larger).
    strip -o "$OUT/libsebaya.so" "$ROOT/build/bindings/kotlin/lib/libsebaya.so" || return 1
    bash "$ROOT/scripts/release.sh" host-jar --lib "$OUT/libsebaya.so" || return 1
    python3 - "$HOST_JAR" "$SEBAYA_DIST/sebaya-jvm-host-$VERSION.pom" "$VERSION" <<'PY'
import sys, zipfile
import xml.etree.ElementTree as ET
jar, pom, version = sys.argv[1:]
names = set(zipfile.ZipFile(jar).namelist())
for need in ["linux-x86-64/libsebaya.so", "org/sebaya/Vault.class", "org/sebaya/SebayaException.class",
             "META-INF/maven/org.sebaya/sebaya-jvm-host/pom.xml"]:
    if need not in names:
        sys.exit(f"the JAR lacks {need}")
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
p = ET.parse(pom).getroot()
def one(path):
    e = p.find(path, ns)
    if e is None or not (e.text or "").strip():
        sys.exit(f"the POM lacks {path}")
    return e.text.strip()
if (one("m:groupId"), one("m:artifactId"), one("m:version")) != ("org.sebaya", "sebaya-jvm-host", version):
    sys.exit("wrong coordinates in the POM")
if one("m:licenses/m:license/m:name") != "Apache-2.0":
    sys.exit("the POM names no Apache-2.0 licence")
if one("m:scm/m:url") != "https://sebaya.test/sebaya.git":
    sys.exit("the POM's source is not the configured one")
deps = {d.find("m:artifactId", ns).text for d in p.findall("m:dependencies/m:dependency", ns)}
if deps != {"jna", "kotlin-stdlib"}:
    sys.exit(f"the POM's dependencies are {deps}")
PY
}

compile_smoke() {
    "$KOTLIN_HOME/bin/kotlinc" -nowarn "$ROOT/android/jvm-host/HostJarSmoke.kt" \
        -cp "$HOST_JAR:$JNA_JAR" -d "$OUT/smoke.jar" || return 1
}

# The Kotlin sample (android/jvm-host/Sample.kt), against a relay of this script's own on loopback.
sample_runs_against_a_relay() {
    local relay="${SEBAYA_RELAY_BIN:-$ROOT/target/debug/sebaya-relay}" out="$OUT/sample-relay" pid rc=0
    "$KOTLIN_HOME/bin/kotlinc" -nowarn "$ROOT/android/jvm-host/Sample.kt" \
        -cp "$HOST_JAR:$JNA_JAR" -d "$OUT/sample.jar" || return 1
    start_relay "$relay" "$out" || return 1
    pid="$STARTED_PID"
    SEBAYA_RELAY_URL="$STARTED_URL" timeout 300 java -cp "$OUT/sample.jar:$HOST_JAR:$STDLIB:$JNA_JAR" SampleKt || rc=1
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return $rc
}

smoke_runs_on_the_jar_alone() {
    # No -Djna.library.path: the library must come out of the JAR.
    java -cp "$OUT/smoke.jar:$HOST_JAR:$STDLIB:$JNA_JAR" HostJarSmokeKt
}

# ProGuard 6.2 (Debian's) reads class files up to Java 13 and this JDK's are Java 17's. It needs the
# platform's classes only as a library (names, members, hierarchy), so they are taken from the JDK's
# modules with the class-file version lowered: nothing of them runs or is written out.
jdk_library() {
    local jh
    jh="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    [[ -f "$jh/jmods/java.base.jmod" ]] || { echo "no jmods under $jh (a JDK is needed)"; return 1; }
    python3 - "$OUT/jdk-library.jar" "$jh/jmods/java.base.jmod" "$jh/jmods/java.logging.jmod" \
        "$jh/jmods/java.desktop.jmod" <<'PY'
import io, sys, zipfile
out = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED)
for jmod in sys.argv[2:]:
    data = open(jmod, "rb").read()
    z = zipfile.ZipFile(io.BytesIO(data[4:]))  # a jmod is a 4-byte header and a zip
    for n in z.namelist():
        if n.startswith("classes/") and n.endswith(".class") and not n.endswith("module-info.class"):
            b = bytearray(z.read(n))
            if int.from_bytes(b[6:8], "big") > 57:
                b[6:8] = (57).to_bytes(2, "big")
            out.writestr(n[len("classes/"):], bytes(b))
out.close()
PY
}

shrink() { # $1 = output jar, rest = extra configuration lines
    local out=$1 conf="$OUT/proguard-$(basename "$1" .jar).pro"
    shift
    {
        echo "-injars $OUT/smoke.jar"
        echo "-injars $HOST_JAR"
        echo "-injars $STDLIB(!META-INF/**)"
        echo "-injars $JNA_JAR(!META-INF/**)"
        echo "-outjars $out"
        echo "-libraryjars $OUT/jdk-library.jar"
        # What the app's own build decides, not the library's rules: keep its entry point, and skip
        # the optimisation pass (R8's differs; shrinking and renaming are what break JNA).
        echo "-dontoptimize"
        echo "-dontnote"
        echo "-keep class HostJarSmokeKt { public static void main(java.lang.String[]); }"
        printf '%s\n' "$@"
    } >"$conf"
    rm -f "$out"
    proguard @"$conf" >"$conf.log" 2>&1 || { tail -n 20 "$conf.log"; return 1; }
}

smoke_runs_shrunk_with_the_consumer_rules() {
    shrink "$OUT/shrunk.jar" "-include $ROOT/android/consumer-rules.pro" || return 1
    java -cp "$OUT/shrunk.jar" HostJarSmokeKt
}

smoke_breaks_shrunk_without_them() {
    # The control: the same shrink without the library's rules must break the app, or the check
    # above shows nothing about those rules.
    shrink "$OUT/bare.jar" "-dontwarn org.jetbrains.annotations.**" "-dontwarn java.awt.**" || return 1
    if java -cp "$OUT/bare.jar" HostJarSmokeKt >/dev/null 2>&1; then
        echo "the app ran after shrinking without the consumer rules: the check cannot tell them apart"
        return 1
    fi
}

swift_package_by_url() {
    local tc="$ROOT/scripts/swift-toolchain.sh" sroot zip="$OUT/sebayaFFI-$VERSION.xcframework.zip"
    # A stand-in zip: SwiftPM checks only its checksum when it evaluates the manifest.
    mkdir -p "$OUT/fake/sebayaFFI.xcframework"
    echo "stand-in for the XCFramework made on a Mac" >"$OUT/fake/sebayaFFI.xcframework/Info.plist"
    (cd "$OUT/fake" && python3 -m zipfile -c "$zip" sebayaFFI.xcframework) || return 1
    bash "$ROOT/scripts/release.sh" swift-package --zip "$zip" || return 1
    "$tc" setup >/dev/null || return 1
    sroot="$("$tc" root)"
    rm -rf "$sroot/sebaya/release-package" "$sroot/sebaya/release.zip"
    mkdir -p "$sroot/sebaya/release-package"
    cp "$SEBAYA_DIST/swift-package/Package.swift" "$sroot/sebaya/release-package/"
    cp "$zip" "$sroot/sebaya/release.zip"
    local theirs ours
    theirs="$("$tc" run sh -c 'cd /sebaya/release-package && swift package compute-checksum /sebaya/release.zip')" || return 1
    ours="$(cat "$SEBAYA_DIST/swift-package/checksum.txt")"
    [[ "$theirs" == "$ours" ]] || { echo "checksum: SwiftPM says $theirs, release.sh wrote $ours"; return 1; }
    "$tc" run sh -c 'cd /sebaya/release-package && swift package dump-package' >"$OUT/release-package.json" || return 1
    python3 - "$OUT/release-package.json" "$ours" "https://sebaya.test/releases/$(basename "$zip")" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in p["targets"]}
b = t.get("sebayaFFI")
if not b or b["type"] != "binary":
    sys.exit(f"no binary target sebayaFFI: {b}")
if b.get("url") != sys.argv[3] or b.get("checksum") != sys.argv[2]:
    sys.exit(f"binary target: url {b.get('url')}, checksum {b.get('checksum')}")
s = t.get("Sebaya")
if not s or "sebayaFFI" not in json.dumps(s["dependencies"]):
    sys.exit("target Sebaya does not depend on sebayaFFI")
# The privacy manifest must be a declared resource, or SwiftPM leaves it out of the app (review finding).
if "PrivacyInfo.xcprivacy" not in json.dumps(s.get("resources", [])):
    sys.exit("the released package does not declare PrivacyInfo.xcprivacy as a resource")
PY
}

check "release.sh refuses a POM without publication settings" refuses_unset_settings
check "host JAR: bindings, linux-x86-64 library and POM" host_jar
check "host JAR: an app's unit test compiles against it" compile_smoke
check "host JAR: the test runs on the JAR alone" smoke_runs_on_the_jar_alone
check "the Kotlin sample: key store, link, sync, cancel, listener, reopen (host JAR only)" sample_runs_against_a_relay
check "ProGuard: the platform's classes as a library" jdk_library
check "ProGuard with the consumer rules: the shrunk test runs" smoke_runs_shrunk_with_the_consumer_rules
check "ProGuard without them: the shrunk test breaks (control)" smoke_breaks_shrunk_without_them
check "Swift package by URL: evaluates, names the zip, SwiftPM's checksum" swift_package_by_url

echo "$passed passed, $failed failed"
((failed == 0))
