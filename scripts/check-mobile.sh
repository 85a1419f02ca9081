#!/usr/bin/env bash
# Host checks of the app-team packaging in android/ and ios/: what a Linux machine without an Android
# SDK, Gradle, NDK targets or Xcode can show. It does NOT build an AAR, an APK or an XCFramework, and
# runs nothing on a device (see android/README.md and ios/README.md for what stays unverified).
#
# Checked here:
#   - both build scripts parse (bash -n) and refuse an unknown argument;
#   - their --bindings-only paths run here and produce the Kotlin / Swift bindings;
#   - the consumer R8 rules keep the generated package (read from the generated file) and JNA;
#   - JNA is at least 5.17 and taken as an AAR; the NDK build covers the four ABIs with 16 KB pages;
#   - the manifest and backup XML parse, the manifest names the rule files that exist, and both cloud
#     backup and device transfer exclude the vault folder;
#   - Package.swift evaluates with SwiftPM (in the Swift chroot), its binary target is the C module
#     that the generated Swift imports, and it ships the privacy manifest as a resource;
#   - PrivacyInfo.xcprivacy parses (plistlib), declares no tracking, and lists the required-reason API
#     categories the library uses with their reasons (how they were found: ios/README.md).
# Prints one line per check and "N passed, M failed"; exits non-zero if any check failed.
set -uo pipefail
# The host library and generator come from scripts/bindings.sh (the stage runs it first): building
# them again here with another package set would rebuild the workspace and swap the library.
export SKIP_CARGO_BUILD=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
AND="$ROOT/android"
IOS="$ROOT/ios"
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

scripts_parse() {
    bash -n "$AND/build-rust.sh" && bash -n "$IOS/build-xcframework.sh" || return 1
    # A typo in an argument must stop the script before it builds anything.
    if bash "$AND/build-rust.sh" --no-such-flag; then echo "build-rust.sh accepted a bad flag"; return 1; fi
    if bash "$IOS/build-xcframework.sh" --no-such-flag; then echo "build-xcframework.sh accepted a bad flag"; return 1; fi
}

android_bindings() {
    bash "$AND/build-rust.sh" --bindings-only || return 1
    local kt="$AND/src/main/kotlin/org/sebaya/sebaya.kt"
    [[ -f "$kt" ]] || { echo "missing $kt"; return 1; }
    grep -q '^package org.sebaya$' "$kt" || { echo "unexpected package in $kt"; return 1; }
    # Same generator, same library: the module ships the Kotlin that the kotlin stage tests on a JVM.
    if [[ -f "$ROOT/build/bindings/kotlin/org/sebaya/sebaya.kt" ]]; then
        cmp -s "$kt" "$ROOT/build/bindings/kotlin/org/sebaya/sebaya.kt" ||
            { echo "android/src/main/kotlin/org/sebaya/sebaya.kt differs from the tested bindings"; return 1; }
    fi
}

consumer_rules() {
    local kt="$AND/src/main/kotlin/org/sebaya/sebaya.kt" pkg rules="$AND/consumer-rules.pro"
    pkg="$(sed -n 's/^package \([a-z.]*\)$/\1/p' "$kt" | head -n 1)"
    [[ -n "$pkg" ]] || { echo "no package line in the generated Kotlin"; return 1; }
    local body
    body="$(grep -v '^[[:space:]]*#' "$rules")"
    grep -qF -- "-keep class $pkg.** { *; }" <<<"$body" || { echo "no keep rule for $pkg.**"; return 1; }
    grep -qF -- "-keep class com.sun.jna.** { *; }" <<<"$body" || { echo "no keep rule for com.sun.jna.**"; return 1; }
    grep -qF -- "-keepclassmembers class * extends com.sun.jna.** { public *; }" <<<"$body" ||
        { echo "no keepclassmembers rule for JNA subclasses"; return 1; }
    grep -q 'consumerProguardFiles("consumer-rules.pro")' "$AND/build.gradle.kts" ||
        { echo "build.gradle.kts does not ship consumer-rules.pro"; return 1; }
    # The generated code must really use JNA (else the rules would keep the wrong thing).
    grep -q '^import com.sun.jna' "$kt" || { echo "the generated Kotlin does not import com.sun.jna"; return 1; }
}

jna_and_abis() {
    python3 - "$AND/build.gradle.kts" <<'PY' || return 1
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'"net\.java\.dev\.jna:jna:(\d+)\.(\d+)\.(\d+)@aar"', text)
if not m:
    sys.exit("no net.java.dev.jna:jna:X.Y.Z@aar dependency")
if tuple(map(int, m.groups())) < (5, 17, 0):
    sys.exit(f"JNA {'.'.join(m.groups())} is older than 5.17.0 (no 16 KB page support)")
if "useLegacyPackaging = false" not in text:
    sys.exit("native libraries are not kept uncompressed (useLegacyPackaging = false)")
PY
    local s="$AND/build-rust.sh" a
    for a in arm64-v8a armeabi-v7a x86_64 x86; do
        grep -q "ABIS=(.*\b$a\b" "$s" || { echo "ABI $a is not built"; return 1; }
    done
    grep -q 'max-page-size=16384' "$s" || { echo "no 16 KB max-page-size link flag"; return 1; }
    # The link flags are the page size and the version script that links uniffi's metadata out.
    grep -q 'link_flags="$PAGE_FLAGS -C link-arg=-Wl,--version-script=' "$s" || { echo "no metadata version script"; return 1; }
    local t
    for t in AARCH64_LINUX_ANDROID ARMV7_LINUX_ANDROIDEABI X86_64_LINUX_ANDROID I686_LINUX_ANDROID; do
        grep -q "CARGO_TARGET_${t}_RUSTFLAGS=\"\$link_flags\"" "$s" || { echo "link flags not set for $t"; return 1; }
    done
}

backup_rules() {
    python3 - "$AND" <<'PY'
import os, sys
import xml.etree.ElementTree as ET
base = sys.argv[1]
A = "{http://schemas.android.com/apk/res/android}"
app = ET.parse(os.path.join(base, "src/main/AndroidManifest.xml")).getroot().find("application")
if app is None:
    sys.exit("the manifest has no <application>")
files = {}
for attr in ("fullBackupContent", "dataExtractionRules"):
    ref = app.get(A + attr, "")
    if not ref.startswith("@xml/"):
        sys.exit(f"android:{attr} does not name an @xml resource: {ref!r}")
    path = os.path.join(base, "src/main/res/xml", ref[5:] + ".xml")
    if not os.path.isfile(path):
        sys.exit(f"android:{attr} names {ref}, and {path} does not exist")
    files[attr] = ET.parse(path).getroot()

def excludes(node):
    return {(e.get("domain"), e.get("path")) for e in node.findall("exclude")}

need = {("file", "sebaya/"), ("database", "sebaya/")}
full = files["fullBackupContent"]
if full.tag != "full-backup-content" or not need <= excludes(full):
    sys.exit(f"full backup rules do not exclude {need}")
dx = files["dataExtractionRules"]
if dx.tag != "data-extraction-rules":
    sys.exit("data extraction rules have the wrong root element")
for part in ("cloud-backup", "device-transfer"):
    node = dx.find(part)
    if node is None or not need <= excludes(node):
        sys.exit(f"<{part}> does not exclude {need}")
    if node.findall("include"):
        sys.exit(f"<{part}> has an <include>, which would narrow the backup to it and is not meant")
PY
}

ios_bindings() {
    bash "$IOS/build-xcframework.sh" --bindings-only || return 1
    local gen="$IOS/build/generated"
    # The package's binary target must be the C module the generated Swift imports.
    grep -q '^module sebayaFFI {' "$gen/include/module.modulemap" || { echo "module map is not sebayaFFI"; return 1; }
    grep -q 'import sebayaFFI' "$IOS/Sources/Sebaya/sebaya.swift" || { echo "sebaya.swift does not import sebayaFFI"; return 1; }
    # Same generator, same library: the package's bindings are the ones the swift stage tests.
    if [[ -f "$ROOT/build/bindings/swift/sebaya.swift" ]]; then
        cmp -s "$IOS/Sources/Sebaya/sebaya.swift" "$ROOT/build/bindings/swift/sebaya.swift" ||
            { echo "ios/Sources/Sebaya/sebaya.swift differs from the tested bindings"; return 1; }
    fi
}

package_swift() {
    local tc="$ROOT/scripts/swift-toolchain.sh" sroot
    "$tc" setup >/dev/null || return 1
    sroot="$("$tc" root)"
    rm -rf "$sroot/sebaya/ios-package"
    mkdir -p "$sroot/sebaya/ios-package"
    cp "$IOS/Package.swift" "$sroot/sebaya/ios-package/"
    "$tc" run sh -c 'cd /sebaya/ios-package && swift package dump-package' >"$sroot/sebaya/ios-package.json" || return 1
    python3 - "$sroot/sebaya/ios-package.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in p["targets"]}
b = t.get("sebayaFFI")
if not b or b["type"] != "binary" or b.get("path") != "sebayaFFI.xcframework":
    sys.exit(f"no binary target sebayaFFI at sebayaFFI.xcframework: {b}")
s = t.get("Sebaya")
if not s or s["type"] != "regular" or s.get("path") != "Sources/Sebaya":
    sys.exit(f"no regular target Sebaya at Sources/Sebaya: {s}")
deps = json.dumps(s["dependencies"])
if "sebayaFFI" not in deps:
    sys.exit("target Sebaya does not depend on sebayaFFI")
if [x["name"] for x in p["products"]] != ["Sebaya"]:
    sys.exit("the package does not offer exactly the library product Sebaya")
if {x["platformName"] for x in p["platforms"]} != {"ios"}:
    sys.exit("the package is not declared for iOS")
# The privacy manifest ships in the package: a resource of target Sebaya, copied as it is.
res = [(r.get("path"), json.dumps(r.get("rule"))) for r in s.get("resources", [])]
if not any(path == "PrivacyInfo.xcprivacy" and "copy" in rule for path, rule in res):
    sys.exit(f"target Sebaya does not copy PrivacyInfo.xcprivacy as a resource: {res}")
PY
}

privacy_manifest() {
    python3 - "$IOS/Sources/Sebaya/PrivacyInfo.xcprivacy" <<'PY'
import os, plistlib, re, sys
path = sys.argv[1]
if not os.path.isfile(path):
    sys.exit(f"missing {path}")
with open(path, "rb") as f:
    p = plistlib.load(f)
if p.get("NSPrivacyTracking") is not False:
    sys.exit("NSPrivacyTracking must be false")
if p.get("NSPrivacyTrackingDomains") != []:
    sys.exit("NSPrivacyTrackingDomains must be an empty array")
collected = p.get("NSPrivacyCollectedDataTypes")
if not isinstance(collected, list):
    sys.exit("NSPrivacyCollectedDataTypes must be an array")
for c in collected:
    need = {"NSPrivacyCollectedDataType", "NSPrivacyCollectedDataTypeLinked",
            "NSPrivacyCollectedDataTypeTracking", "NSPrivacyCollectedDataTypePurposes"}
    if set(c) != need:
        sys.exit(f"a collected data type has keys {sorted(c)}, not {sorted(need)}")
    if c["NSPrivacyCollectedDataTypeTracking"] is not False:
        sys.exit("a collected data type is marked as used for tracking")
apis = {}
for a in p.get("NSPrivacyAccessedAPITypes", []):
    reasons = a.get("NSPrivacyAccessedAPITypeReasons", [])
    if not reasons or not all(re.fullmatch(r"[0-9A-F]{4}\.[0-9]", r) for r in reasons):
        sys.exit(f"bad reasons for {a.get('NSPrivacyAccessedAPIType')}: {reasons}")
    apis[a.get("NSPrivacyAccessedAPIType")] = set(reasons)
# What the library uses (ios/README.md, "Privacy manifest"): file metadata (std, SQLite), the
# boot-relative clock (std's Instant), file system statistics (SQLite's unix VFS on Apple).
want = {
    "NSPrivacyAccessedAPICategoryFileTimestamp": {"C617.1"},
    "NSPrivacyAccessedAPICategorySystemBootTime": {"35F9.1"},
    "NSPrivacyAccessedAPICategoryDiskSpace": {"E174.1"},
}
if apis != want:
    sys.exit(f"NSPrivacyAccessedAPITypes are {apis}, expected {want}")
PY
}

check "build scripts parse and refuse unknown arguments" scripts_parse
check "android: --bindings-only generates package org.sebaya" android_bindings
check "android: consumer R8 rules keep org.sebaya and JNA" consumer_rules
check "android: JNA >= 5.17 @aar, four ABIs, 16 KB pages" jna_and_abis
check "android: the vault is excluded from backup and device transfer" backup_rules
check "ios: --bindings-only generates sebaya.swift importing sebayaFFI" ios_bindings
check "ios: Package.swift evaluates (SwiftPM) with the sebayaFFI binary target and the privacy manifest" package_swift
check "ios: PrivacyInfo.xcprivacy parses and declares no tracking and the required-reason APIs used" privacy_manifest

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
