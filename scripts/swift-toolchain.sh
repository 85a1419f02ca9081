#!/usr/bin/env bash
# A Linux Swift toolchain for the Swift binding tests, in a cached Debian 13 (trixie) chroot.
#
# Debian 12 has no Swift; Debian 13 packages it as `swiftlang`. This script (run as root) makes a
# minimal trixie root with debootstrap, installs swiftlang into it once, and runs commands inside it
# with /proc mounted and /dev bound. The mounts are undone when the command ends, whatever happens.
#
#   scripts/swift-toolchain.sh setup            make the chroot if it is missing or incomplete
#   scripts/swift-toolchain.sh run CMD [ARG..]  run CMD inside the chroot (after `setup`)
#   scripts/swift-toolchain.sh root             print the chroot directory
#   scripts/swift-toolchain.sh unmount          undo mounts left by a killed run
#   scripts/swift-toolchain.sh remove           unmount, then delete the chroot (the next setup is fresh)
#
# The chroot lives in $SEBAYA_SWIFT_ROOT (default build/swift-root, git-ignored) and is reused when its
# stamp file says it is complete; a half-made one is unmounted and made again. About 2-3 minutes and
# 2.6 GB of disk the first time. The Debian mirror is the one this machine's own apt sources name.
# The chroot shares the host's network namespace, so code inside reaches a relay on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT_ROOT="${SEBAYA_SWIFT_ROOT:-$ROOT/build/swift-root}"
case "$SWIFT_ROOT" in /*) ;; *) SWIFT_ROOT="$ROOT/$SWIFT_ROOT" ;; esac
SUITE="trixie"
PACKAGES=(swiftlang libc6-dev ca-certificates)
# The stamp names what was installed: a change to the package list makes a new chroot.
STAMP_TEXT="sebaya swift chroot v1: $SUITE minbase + ${PACKAGES[*]}"
STAMP="$SWIFT_ROOT/.sebaya-swift-complete"
export DEBIAN_FRONTEND=noninteractive

die() {
    echo "swift-toolchain.sh: $*" >&2
    exit 1
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

unmount_all() {
    # Innermost first; lazy as a last resort so a busy /dev can never be left bound.
    local m
    for m in "$SWIFT_ROOT/dev" "$SWIFT_ROOT/proc"; do
        if is_mounted "$m"; then
            umount "$m" 2>/dev/null || umount -l "$m"
        fi
    done
}

mount_all() {
    mkdir -p "$SWIFT_ROOT/proc" "$SWIFT_ROOT/dev"
    is_mounted "$SWIFT_ROOT/proc" || mount -t proc proc "$SWIFT_ROOT/proc"
    is_mounted "$SWIFT_ROOT/dev" || mount --bind /dev "$SWIFT_ROOT/dev"
}

# Removes a chroot only when nothing is mounted under it (never delete through a bind of /dev).
remove_root() {
    unmount_all
    if findmnt -rn -o TARGET | grep -q "^$SWIFT_ROOT/"; then
        die "something is still mounted under $SWIFT_ROOT; not removing it"
    fi
    rm -rf --one-file-system "$SWIFT_ROOT"
}

mirror_uri() {
    local uri=""
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
        uri="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
        uri="$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
    fi
    [[ -n "$uri" ]] || die "no Debian mirror found in this machine's apt sources"
    echo "$uri"
}

setup() {
    [[ $(id -u) == 0 ]] || die "must run as root (debootstrap, chroot and mount need it)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" ]] &&
        [[ -x "$SWIFT_ROOT/usr/bin/swiftc" ]]; then
        echo "swift-toolchain.sh: cached chroot at $SWIFT_ROOT"
        return 0
    fi
    local started=$SECONDS
    if [[ -e "$SWIFT_ROOT" ]]; then
        echo "swift-toolchain.sh: $SWIFT_ROOT is incomplete or outdated; making it again"
        remove_root
    fi
    if ! command -v debootstrap >/dev/null; then
        echo "swift-toolchain.sh: installing (apt): debootstrap"
        apt-get install -y --no-install-recommends debootstrap ||
            { apt-get update && apt-get install -y --no-install-recommends debootstrap; }
    fi
    local uri
    uri="$(mirror_uri)"
    echo "swift-toolchain.sh: debootstrap --variant=minbase $SUITE (mirror from the apt sources)"
    mkdir -p "$(dirname "$SWIFT_ROOT")"
    debootstrap --variant=minbase "$SUITE" "$SWIFT_ROOT" "$uri" >"$SWIFT_ROOT.debootstrap.log" 2>&1 || {
        tail -n 30 "$SWIFT_ROOT.debootstrap.log" >&2
        die "debootstrap failed (log: $SWIFT_ROOT.debootstrap.log)"
    }
    cp /etc/resolv.conf "$SWIFT_ROOT/etc/resolv.conf" 2>/dev/null || true
    trap unmount_all EXIT
    mount_all
    echo "swift-toolchain.sh: apt-get install ${PACKAGES[*]} (inside the chroot)"
    local try ok=0
    for try in 1 2; do # one retry: a mirror hiccup should not fail the whole test run
        if chroot "$SWIFT_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
            sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${PACKAGES[*]} && apt-get clean"; then
            ok=1
            break
        fi
        echo "swift-toolchain.sh: apt-get in the chroot failed (try $try)" >&2
    done
    ((ok)) || { unmount_all; die "could not install ${PACKAGES[*]} in the chroot"; }
    unmount_all
    trap - EXIT
    [[ -x "$SWIFT_ROOT/usr/bin/swiftc" ]] || die "swiftc is missing after the install"
    echo "$STAMP_TEXT" >"$STAMP"
    echo "swift-toolchain.sh: chroot ready at $SWIFT_ROOT (made in $((SECONDS - started))s)"
}

run_in_root() {
    [[ $(id -u) == 0 ]] || die "must run as root"
    [[ -f "$STAMP" ]] || die "no complete chroot at $SWIFT_ROOT (run: $0 setup)"
    trap unmount_all EXIT
    mount_all
    local rc=0
    # A clean environment: only what the caller passes with `env NAME=VALUE` in CMD, plus PATH and HOME.
    chroot "$SWIFT_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@" || rc=$?
    unmount_all
    trap - EXIT
    return $rc
}

# One user of the chroot at a time: a second run would unmount /proc and /dev under the first, and two
# setups would debootstrap into the same directory.
lock() {
    mkdir -p "$(dirname "$SWIFT_ROOT")"
    exec 9>"$SWIFT_ROOT.lock"
    flock -w 1800 9 || die "another run holds $SWIFT_ROOT.lock"
}

case "${1:-}" in
setup)
    lock
    setup
    ;;
run)
    shift
    (($#)) || die "run needs a command"
    lock
    run_in_root "$@"
    ;;
root) echo "$SWIFT_ROOT" ;;
unmount) unmount_all ;;
remove)
    lock
    remove_root
    ;;
*)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
