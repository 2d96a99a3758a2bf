#!/usr/bin/env bash
# Installs everything OpenIEC's build and tests need on a fresh Debian machine
# (Debian 12 bookworm; Debian 13 trixie works too), idempotently. Run as root
# from anywhere inside the clone:  scripts/bootstrap.sh   (or: make bootstrap)
#
#   1. Debian packages: installed only when one is missing (checked with dpkg-query).
#   2. A Swift 6 toolchain: found on PATH or in /opt/swift/usr/bin; otherwise
#      Debian's `swiftlang` where apt has it (Debian 13); otherwise a clear failure.
#   3. Python test dependencies: a virtual environment in .venv (git-ignored),
#      pip-installed from tests/requirements.txt only when that file changed.
#
# A re-run with everything in place is a no-op that takes a second or two.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive

# --- 1. Debian packages -------------------------------------------------------

# What the build and the tests need today.
PACKAGES=(
    build-essential pkg-config git ca-certificates make curl
    libssl-dev            # OpenSSL 3 libcrypto: P-256, ECDSA, HMAC, SHA-256 (COpenSSL)
    libsodium-dev         # libsodium: X25519/CURVE, secretbox, Argon2id (CSodium)
    libcurl4-openssl-dev  # libcurl: HTTP client, JWKS over HTTPS (CCurl)
    python3 python3-venv python3-pip   # interop tests (PyJWT, cryptography, pyzmq)
    # What a Swift toolchain unpacked from swift.org expects of the system.
    binutils libc6-dev zlib1g-dev libxml2-dev libncurses-dev libedit2 uuid-dev tzdata
)

# Ready for the parts that come next (installed now so later issues find them).
PACKAGES+=(
    libzmq3-dev           # ZeroMQ + CURVE: iecservice <-> SDK (CZMQ)
    libmicrohttpd-dev     # HTTP server: iec-am (CMicroHTTPD)
    libsqlite3-dev        # SQLite store, iec-service.db, iec-sdk.db (CSQLite)
    duktape-dev           # sandboxed JavaScript for command/attestation scripts (CDuktape)
    wrk                   # HTTP load tests
    valgrind              # memcheck of the SDK (tests/interop/test_sdk_valgrind.py)
    chromium chromium-driver   # headless browser tests of the Edge Identity Manager (selenium)
    libldap-dev           # OpenLDAP client library: the directory store (CLDAP, LDAPKit, StoreLDAP)
    slapd ldap-utils      # OpenLDAP server and tools: tests start private slapds (deploy/ldap/start-slapd.sh)
    nginx-light           # the load balancer of the scale-out tests (tests/interop/test_scale_out.py)
)

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1: run this as root (e.g. sudo make ...)"
}

missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
for pkg in "${PACKAGES[@]}"; do
    if ! grep -qxE "${pkg//+/\\+} ii ?" <<<"$installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    need_root "Debian packages missing: ${missing[*]}"
    say "installing Debian packages: ${missing[*]}"
    apt_update_once
    # slapd: no debconf questions and no default database; we never use a system slapd
    # (tests and users start their own with deploy/ldap/start-slapd.sh).
    if command -v debconf-set-selections >/dev/null 2>&1; then
        echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
fi

# --- 2. Swift toolchain -------------------------------------------------------

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

if ! command -v swift >/dev/null 2>&1; then
    need_root "no Swift toolchain found"
    apt_update_once
    candidate="$(apt-cache policy swiftlang 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
        say "installing Debian's swiftlang $candidate"
        apt-get install -y -qq swiftlang >/dev/null || die "apt-get install swiftlang failed"
    else
        die "no Swift toolchain found (looked on PATH and in /opt/swift/usr/bin), and apt has
no 'swiftlang' package here (Debian 12 has none; Debian 13 has swiftlang 6.0).
Get a Swift 6 toolchain for Debian 12 from https://www.swift.org/install/linux/
(the 'Debian 12' tarball), unpack it so that /opt/swift/usr/bin/swift exists,
e.g.  mkdir -p /opt/swift && tar -xzf swift-6.*-debian12.tar.gz -C /opt/swift --strip-components=1
then run this again."
    fi
fi

swift_version="$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n1)"
case "$swift_version" in
    "") die "could not read the version of $(command -v swift)" ;;
    [0-5].*) die "Swift $swift_version found at $(command -v swift); OpenIEC needs Swift 6.0 or newer
(https://www.swift.org/install/linux/, Debian 12 tarball, unpacked into /opt/swift)" ;;
esac

# --- 3. Python virtual environment for the interop tests -------------------------

VENV="$ROOT/.venv"
REQ="$ROOT/tests/requirements.txt"
STAMP="$VENV/.requirements.sha256"

# Debian's interpreter, not whatever a version manager puts first on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)" || die "python3 not found"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    say "creating the Python virtual environment in .venv"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
fi

if [ -f "$REQ" ]; then
    want="$(sha256sum "$REQ" | cut -d' ' -f1)"
    have="$(cat "$STAMP" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
        say "installing Python test dependencies from tests/requirements.txt"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" \
            || die "pip install -r tests/requirements.txt failed"
        printf '%s\n' "$want" >"$STAMP"
    fi
fi

say "ready (Swift $swift_version, Python venv .venv)"
