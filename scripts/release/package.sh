#!/usr/bin/env bash
# Assembles the release tarballs of one architecture from built binaries:
#   scripts/release/package.sh ARCH BIN_DIR SYSROOT OUT_DIR
#     ARCH     x86_64 or arm64 (the names in the tarballs)
#     BIN_DIR  holds iecutil, iecservice, iec-am, libiecclient.so (release builds,
#              Swift runtime linked in statically)
#     SYSROOT  the Debian system the binaries were built on ("/" or a tree): its
#              dpkg names the runtime packages that hold the libraries they need
#     OUT_DIR  where the tarballs go (dist/release)
# Makes, with VERSION from the VERSION file:
#   iec-service-linux-ARCH-VERSION.tgz, iec-sdk-linux-ARCH-VERSION.tgz,
#   iec-am-linux-ARCH-VERSION.tgz
# (files at the top of each tarball, as the seed's are unpacked with -C DIR).
# SHA256SUMS is written by release.sh over all of them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ARCH="$1"; BIN="$2"; SYSROOT="$3"; OUT="$4"
VERSION="$(tr -d ' \n' <"$ROOT/VERSION")"
say() { printf 'package[%s]: %s\n' "$ARCH" "$*"; }
die() { printf 'package[%s]: error: %s\n' "$ARCH" "$*" >&2; exit 1; }
for f in iecutil iecservice iec-am libiecclient.so; do
    [ -f "$BIN/$f" ] || die "$BIN/$f: missing"
done
case "$ARCH" in
    x86_64) machine="Advanced Micro Devices X86-64" ;;
    arm64) machine="AArch64" ;;
    *) die "unknown ARCH $ARCH" ;;
esac

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/iec-release.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$OUT"

# Stripped copies; check each is for ARCH and needs no Swift runtime.
# strip: the host's for its own binaries, the sysroot's (under qemu-user) for others.
mkdir -p "$STAGE/bin"
if [ "$SYSROOT" = / ]; then
    for f in iecutil iecservice iec-am libiecclient.so; do install -m 0755 "$BIN/$f" "$STAGE/bin/$f"; done
    strip "$STAGE/bin/iecutil" "$STAGE/bin/iecservice" "$STAGE/bin/iec-am"
    strip --strip-unneeded "$STAGE/bin/libiecclient.so"
else
    inside="$(mktemp -d "$SYSROOT/tmp/iec-strip.XXXXXX")"
    for f in iecutil iecservice iec-am libiecclient.so; do install -m 0755 "$BIN/$f" "$inside/$f"; done
    chroot "$SYSROOT" strip "/tmp/${inside##*/}/iecutil" "/tmp/${inside##*/}/iecservice" "/tmp/${inside##*/}/iec-am"
    chroot "$SYSROOT" strip --strip-unneeded "/tmp/${inside##*/}/libiecclient.so"
    cp -p "$inside"/* "$STAGE/bin/"
    rm -rf "$inside"
fi
for f in iecutil iecservice iec-am libiecclient.so; do
    readelf -h "$STAGE/bin/$f" | grep -q "Machine:.*$machine" || die "$f is not an $ARCH binary"
    if readelf -lW "$STAGE/bin/$f" | grep -E '^ +LOAD' | grep -q 'RWE'; then
        die "$f has a writable and executable LOAD segment"
    fi
    if needed="$(readelf -d "$STAGE/bin/$f" | grep -o 'Shared library: \[libswift[^]]*\]\|Shared library: \[libFoundation[^]]*\]\|Shared library: \[libdispatch[^]]*\]')"; then
        die "$f needs the Swift runtime: $needed (build it with --static-swift-stdlib)"
    fi
done

# NEEDED sonames -> the Debian packages that hold them, in SYSROOT.
needed_of() { readelf -d "$@" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u; }
packages_for() {
    local so pkg
    for so in "$@"; do
        pkg="$(chroot "$SYSROOT" dpkg -S "*/$so" 2>/dev/null | grep -v '^diversion by' | cut -d: -f1 | tr ',' '\n' | tr -d ' ' \
               | grep -v -- '-dev$' | grep -v '^libc6-.*cross' | sort -u | head -n 1)"
        [ -n "$pkg" ] || die "no Debian package in $SYSROOT holds $so"
        echo "$pkg"
    done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
gw_pkgs="$(packages_for $(needed_of "$STAGE/bin/iecservice" "$STAGE/bin/iecutil"))"
sdk_pkgs="$(packages_for $(needed_of "$STAGE/bin/libiecclient.so" "$STAGE/bin/iecutil"))"
am_pkgs="$(packages_for $(needed_of "$STAGE/bin/iec-am"))"
os="$(. "$SYSROOT/etc/os-release" && echo "$PRETTY_NAME")"
packages_file() { # FILE PACKAGES WHAT
    cat >"$1" <<TXT
Runtime packages for $3 ($ARCH, OpenIEC $VERSION), built on $os.
Install them on the target (same Debian release or newer) with:

    apt-get install --no-install-recommends $2

Nothing else is needed: the Swift runtime is linked into the binaries.
TXT
}

# --- iec-service ---------------------------------------------------------------------------
S="$STAGE/iec-service"
mkdir -p "$S"
install -m 0755 "$STAGE/bin/iecservice" "$STAGE/bin/iecutil" "$ROOT/deploy/install.sh" "$ROOT/deploy/uninstall.sh" "$S/"
install -m 0644 "$ROOT/deploy/iec.service" "$ROOT/deploy/iec-config.json" "$S/"
install -m 0644 "$ROOT/deploy/README.md" "$S/README.md"
packages_file "$S/PACKAGES" "$gw_pkgs" "iecservice and iecutil"
# lib/: nothing has to ship beside the binaries today (Swift runtime static,
# C libraries from Debian); a lib/ folder here would be installed to /opt/iec/lib.

# --- iec-sdk -------------------------------------------------------------------------------
K="$STAGE/iec-sdk"
mkdir -p "$K/lib" "$K/include" "$K/examples"
install -m 0755 "$STAGE/bin/iecutil" "$K/"
install -m 0755 "$STAGE/bin/libiecclient.so" "$K/lib/"
install -m 0644 "$ROOT"/include/*.h "$K/include/"
install -m 0644 "$ROOT/examples/sdk-config.json" "$K/"
install -m 0755 "$ROOT/examples/build-examples.sh" "$ROOT/examples/run-examples.sh" "$K/examples/"
install -m 0644 "$ROOT/examples/README.md" "$K/examples/"
for d in "$ROOT"/examples/*/; do
    n="$(basename "$d")"
    [ -f "$d$n.c" ] || continue
    mkdir -p "$K/examples/$n"
    install -m 0644 "$d$n.c" "$K/examples/$n/"
done
# The seed links apps with "-liecclient -lsodium -lzmq". libsodium and libzmq come
# from the runtime packages (libsodium23, libzmq5); these two GNU ld scripts let
# -lsodium -lzmq find them without the -dev packages.
for so in $(needed_of "$STAGE/bin/libiecclient.so" | grep -E '^lib(sodium|zmq)\.so\.'); do
    base="${so%%.so.*}"
    printf '/* GNU ld script: "-l%s" links the runtime package'"'"'s %s (no -dev package needed). */\nINPUT(%s)\n' \
        "${base#lib}" "$so" "$so" >"$K/lib/$base.so"
    chmod 0644 "$K/lib/$base.so"
done
packages_file "$K/PACKAGES" "$sdk_pkgs" "libiecclient.so and iecutil (and gcc libc6-dev to build apps)"

# --- iec-am --------------------------------------------------------------------------------
A="$STAGE/iec-am"
mkdir -p "$A/bin" "$A/share/iec-am"
install -m 0755 "$STAGE/bin/iec-am" "$A/bin/"
cp -R "$ROOT/web/identitymanager" "$A/share/iec-am/identitymanager"
chmod -R u+rwX,go+rX,go-w "$A/share"
install -m 0644 "$ROOT/deploy/iec-am/am.json" "$ROOT/deploy/iec-am/iec-am.service" "$ROOT/deploy/iec-am/INSTALL.md" "$A/"
packages_file "$A/PACKAGES" "$am_pkgs" "iec-am"

for part in iec-service iec-sdk iec-am; do
    t="$OUT/$part-linux-$ARCH-$VERSION.tgz"
    tar --owner=0 --group=0 --numeric-owner --sort=name -czf "$t.new" -C "$STAGE/$part" .
    mv -f "$t.new" "$t"
    say "$(basename "$t"): $(du -h "$t" | cut -f1); runtime packages: $(sed -n 's/^    apt-get install --no-install-recommends //p' "$STAGE/$part/PACKAGES")"
done
