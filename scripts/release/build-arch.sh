#!/usr/bin/env bash
# Release build of one architecture: iecutil, iecservice, iec-am and
# libiecclient.so, with the Swift runtime linked in (--static-swift-stdlib).
#   scripts/release/build-arch.sh ARCH      ARCH: x86_64 | arm64
# Prints, as its last two lines, "bin=DIR" (the built files) and "sysroot=DIR"
# (the Debian system they were built on, for package.sh).
#   x86_64: natively, with the Swift 6 toolchain of this machine (make bootstrap),
#           in .release-cache/build-x86_64 (under $SCRATCH when set);
#   arm64:  in a Debian 13 arm64 tree under qemu-user, with Debian's swiftlang 6.0.3,
#           made by mkroot.sh in $RELEASE_CACHE/trixie-arm64 (slow: ~23x native).
# RELEASE_JOBS=N passes -j N to swift build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/scripts/release/chroot-lib.sh"
ARCH="${1:?usage: build-arch.sh x86_64|arm64}"
say() { printf 'build[%s]: %s\n' "$ARCH" "$*" >&2; }
die() { printf 'build[%s]: error: %s\n' "$ARCH" "$*" >&2; exit 1; }
jobs=(${RELEASE_JOBS:+-j "$RELEASE_JOBS"})
start=$(date +%s)
host="$(uname -m)"
# Product by product: a plain `swift build` would also build the test-support
# targets, which import XCTest (not there with --static-swift-stdlib).
PRODUCTS="iecutil iecservice iec-am iecclient"

if [ "$ARCH" = "$host" ]; then
    export PATH="$PATH${PATH:+:}/opt/swift/usr/bin"
    command -v swift >/dev/null || die "no swift on PATH (make bootstrap)"
    scratch="${SCRATCH:+$SCRATCH/release-$ARCH}"
    scratch="${scratch:-$ROOT/.release-cache/build-$ARCH}"
    say "$(swift --version 2>&1 | head -n 1)"
    for product in $PRODUCTS; do
        (cd "$ROOT" && swift build "${jobs[@]}" --scratch-path "$scratch" -c release --static-swift-stdlib --product "$product") >&2
    done
    bin="$(cd "$ROOT" && swift build --scratch-path "$scratch" -c release --show-bin-path)"
    sysroot=/
else
    case "$ARCH" in
        arm64) deb=arm64 ;;
        *) die "no recipe for $ARCH on $host (x86_64 natively, arm64 under qemu-user)" ;;
    esac
    tree="$(release_cache "$ROOT")/trixie-$deb"
    qemu="$(qemu_for "$deb")"
    binfmt="/proc/sys/fs/binfmt_misc/${qemu%-static}"
    if [ ! -e "$binfmt" ]; then
        update-binfmts --enable "${qemu%-static}" >&2 2>/dev/null || true
    fi
    [ -e "$binfmt" ] || die "binfmt_misc has no ${qemu%-static} entry: install qemu-user-static binfmt-support (and mount binfmt_misc)"
    "$ROOT/scripts/release/mkroot.sh" trixie "$deb" "$tree" "${BUILD_TREE_PACKAGES[@]}" >&2
    sync_sources "$ROOT" "$tree/openiec/src"
    mount_chroot "$tree"
    trap 'umount_chroot "$tree"' EXIT
    say "$(in_tree "$tree" swift --version 2>&1 | head -n 1) (under $qemu)"
    # Debian 13's ld.bfd puts everything in one read-write-execute LOAD segment for
    # these links ("LOAD segment with RWX permissions"); -z separate-code gives the
    # usual R / R+X / RW split.
    link=(-Xlinker -z -Xlinker separate-code)
    for product in $PRODUCTS; do
        say "swift build --product $product ($(( $(date +%s) - start )) s so far)"
        in_tree "$tree" sh -c 'cd /openiec/src && exec swift build "$@" --scratch-path /openiec/build-release -c release --static-swift-stdlib' \
            sh "${jobs[@]}" "${link[@]}" --product "$product" >&2
    done
    bin="$tree$(in_tree "$tree" sh -c 'cd /openiec/src && swift build --scratch-path /openiec/build-release -c release --show-bin-path')"
    sysroot="$tree"
fi
for f in iecutil iecservice iec-am libiecclient.so; do
    [ -f "$bin/$f" ] || die "$bin/$f was not built"
done
say "built in $(( $(date +%s) - start )) s: $bin"
echo "bin=$bin"
echo "sysroot=$sysroot"
