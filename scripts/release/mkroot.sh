#!/usr/bin/env bash
# Builds (once) a Debian tree for the release builds and checks, idempotently:
#   scripts/release/mkroot.sh SUITE ARCH DIR [PACKAGE...]
# e.g.  mkroot.sh trixie arm64 /work/release-cache/trixie-arm64 swiftlang libssl-dev ...
# - debootstrap --variant=minbase; for a foreign ARCH (arm64 on x86_64) with
#   --foreign + qemu-user-static copied into the tree, second stage run in it;
# - then apt-get installs PACKAGEs that are missing inside the tree;
# - a stamp file DIR/.openiec-root-ok lists what is installed, so a re-run
#   with the same packages is a no-op.
# Needs root, debootstrap, and for a foreign ARCH qemu-user-static (with
# binfmt_misc registered: update-binfmts --enable qemu-aarch64).
set -euo pipefail
SUITE="$1"; ARCH="$2"; DIR="$3"; shift 3
PKGS=("$@")
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
say() { printf 'mkroot[%s-%s]: %s\n' "$SUITE" "$ARCH" "$*"; }
die() { printf 'mkroot[%s-%s]: error: %s\n' "$SUITE" "$ARCH" "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/chroot-lib.sh"

STAMP="$DIR/.openiec-root-ok"      # "SUITE ARCH PACKAGE..." once ready
if [ -f "$STAMP" ]; then
    read -r -a have <"$STAMP"
    missing=0
    for p in "${PKGS[@]+"${PKGS[@]}"}"; do
        [[ " ${have[*]:2} " == *" $p "* ]] || missing=1
    done
    if [ "${have[0]:-}" = "$SUITE" ] && [ "${have[1]:-}" = "$ARCH" ] && [ "$missing" = 0 ]; then
        say "ready: $DIR"; exit 0
    fi
    PKGS+=("${have[@]:2}")      # keep what was installed before in the stamp
fi
want="$SUITE $ARCH $(printf '%s\n' "${PKGS[@]+"${PKGS[@]}"}" | sort -u | tr '\n' ' ' | sed 's/ $//')"

HOSTARCH="$(dpkg --print-architecture)"
if [ ! -x "$DIR/usr/bin/apt-get" ] || [ ! -f "$DIR/.openiec-debootstrap-ok" ]; then
    command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
    mkdir -p "$DIR"
    if [ "$ARCH" = "$HOSTARCH" ]; then
        say "debootstrap (minbase) into $DIR"
        debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$DIR" "$MIRROR"
    else
        qemu="$(qemu_for "$ARCH")"
        command -v "$qemu" >/dev/null || die "$qemu missing (apt-get install qemu-user-static binfmt-support)"
        say "debootstrap --foreign (minbase) into $DIR"
        [ -x "$DIR/debootstrap/debootstrap" ] || \
            debootstrap --variant=minbase --foreign --arch="$ARCH" "$SUITE" "$DIR" "$MIRROR"
        install -D -m 0755 "$(command -v "$qemu")" "$DIR/usr/bin/$qemu"
        say "second stage under $qemu (slow)"
        chroot "$DIR" /debootstrap/debootstrap --second-stage
    fi
    touch "$DIR/.openiec-debootstrap-ok"
fi

if [ "${#PKGS[@]}" -gt 0 ]; then
    mount_chroot "$DIR"
    trap 'umount_chroot "$DIR"' EXIT
    cp /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
    say "apt-get install ${PKGS[*]}"
    chroot "$DIR" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    chroot "$DIR" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PKGS[@]}"
    chroot "$DIR" apt-get clean
fi
printf '%s\n' "$want" > "$STAMP"
say "ready: $DIR"
