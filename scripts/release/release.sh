#!/usr/bin/env bash
# `make release`: the seed's tarballs for each architecture, with checksums, in dist/release/.
#   ARCHES="x86_64 arm64"   which to build (default both; arm64 takes long under qemu-user)
#   SKIP_SWIFT60_CHECK=1    skip the Swift 6.0 compatibility check (check-swift60.sh)
#   RELEASE_CACHE=DIR       where the Debian trees are made and kept (default .release-cache/)
#   RELEASE_JOBS=N          swift build -j N
# Steps: host tools (debootstrap, qemu-user-static, binfmt-support, rsync) when
# missing; the Swift 6.0 check; per architecture build-arch.sh then package.sh;
# SHA256SUMS over the tarballs in dist/release. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARCHES="${ARCHES:-x86_64 arm64}"
VERSION="$(tr -d ' \n' <"$ROOT/VERSION")"
OUT="$ROOT/dist/release"
say() { printf 'release: %s\n' "$*"; }
die() { printf 'release: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v rsync >/dev/null || need+=(rsync)
case " $ARCHES " in
    *" arm64 "*)
        command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
        command -v update-binfmts >/dev/null || need+=(binfmt-support) ;;
esac
if [ "${#need[@]}" -gt 0 ]; then
    say "installing host tools: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

t0=$(date +%s)
if [ "${SKIP_SWIFT60_CHECK:-0}" = 1 ]; then
    say "Swift 6.0 check skipped (SKIP_SWIFT60_CHECK=1)"
else
    "$ROOT/scripts/release/check-swift60.sh"
fi

mkdir -p "$OUT"
for arch in $ARCHES; do
    say "== $arch =="
    rm -f "$OUT"/iec-*-linux-"$arch"-*.tgz
    result="$("$ROOT/scripts/release/build-arch.sh" "$arch")"
    bin="$(sed -n 's/^bin=//p' <<<"$result")"
    sysroot="$(sed -n 's/^sysroot=//p' <<<"$result")"
    "$ROOT/scripts/release/package.sh" "$arch" "$bin" "$sysroot" "$OUT"
done

(cd "$OUT" && rm -f SHA256SUMS && sha256sum -- *.tgz >SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
say "dist/release ($(( $(date +%s) - t0 )) s):"
(cd "$OUT" && ls -l -- *.tgz | awk '{printf "  %10d  %s\n", $5, $NF}' && sed 's/^/  /' SHA256SUMS)
