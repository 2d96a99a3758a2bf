#!/usr/bin/env bash
# The walkthrough behind `make demo`: what OpenIEC can do today, step by step,
# with every file it makes kept in run/demo/ (git-ignored).
#
#   scripts/demo.sh BIN_DIR    the walkthrough, with BIN_DIR/iecutil and BIN_DIR/iec-am
#   scripts/demo.sh --stop     stop what a demo left running (run/demo/*.pid), by PID
#
# Today: the foundation (CURVE and P-256 keys, a JWKS, an ES256 token signed,
# verified and decoded), then the identity server (scripts/demo-am.sh): iec-am
# set up with realm `edge` and left running on 127.0.0.1:8080. The gateway
# (iecservice) and the SDK's simpleclient flow join as they arrive.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/run/demo"

if [ "${1:-}" = "--stop" ]; then
    stopped=0
    shopt -s nullglob
    for pidfile in "$RUN"/*.pid; do
        pid="$(cat "$pidfile" 2>/dev/null || true)"
        name="$(basename "$pidfile" .pid)"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            echo "stopped $name (pid $pid)"
            stopped=$((stopped + 1))
        fi
        rm -f "$pidfile"
    done
    [ "$stopped" -gt 0 ] || echo "demo: nothing is running"
    exit 0
fi

BIN="${1:?usage: scripts/demo.sh BIN_DIR | --stop}"
IECUTIL="$BIN/iecutil"
IECAM="$BIN/iec-am"
for binary in "$IECUTIL" "$IECAM"; do
    [ -x "$binary" ] || { echo "demo: $binary is not an executable (run: make demo)" >&2; exit 1; }
done
# Whatever an earlier demo left running is stopped first, so `make demo` can run again.
"$0" --stop >/dev/null

mkdir -p "$RUN"
chmod 700 "$RUN"
cd "$RUN"
rm -f curve.json gateway-key.pem gateway-key.json jwks.json claims.json token.jwt

n=0
step() {
    n=$((n + 1))
    printf '\n== %d. %s ==\n' "$n" "$1"
}
show() { # print a command the way a user would type it, then run it
    printf '$ iecutil %s\n' "$*"
    "$IECUTIL" "$@"
}
show_to() { # show, and keep its output in FILE as well:  show_to FILE ARGS...
    local file="$1"; shift
    printf '$ iecutil %s > %s\n' "$*" "$file"
    "$IECUTIL" "$@" >"$file"
    cat "$file"
}
show_from() { # show, with FILE as standard input:  show_from FILE ARGS...
    local file="$1"; shift
    printf '$ iecutil %s < %s\n' "$*" "$file"
    "$IECUTIL" "$@" <"$file"
}

echo "OpenIEC demo: files go to run/demo/"

step "a CURVE key pair for ZeroMQ (iecservice <-> SDK), in Z85 as the config files expect"
show_to curve.json keygen curve

step "a P-256 key pair for a gateway: private key to a 0600 file, public key as a JWK"
show_to gateway-key.json keygen p256 --private-key-out gateway-key.pem
ls -l gateway-key.pem | awk '{print $1, $NF}'

step "the JWKS that publishes the gateway's public key (kid = RFC 7638 thumbprint)"
show_to jwks.json jwks gateway-key.pem

now="$(date +%s)"
cat >claims.json <<EOF
{"iss":"https://iec-am.example/oauth2/realms/root/realms/edge","sub":"gateway-001","aud":"openiec-demo","iat":$now,"exp":$((now + 300)),"nonce":"demo-$now"}
EOF
step "an ES256 token signed with the gateway key"
echo "claims: $(cat claims.json)"
show_to token.jwt token sign --key gateway-key.pem --claims @claims.json

step "verify it against the JWKS, checking issuer and audience"
show_from token.jwt token verify --jwks jwks.json \
    --issuer "https://iec-am.example/oauth2/realms/root/realms/edge" --audience openiec-demo

step "the same token for another audience is refused (exit code 1, reason on stderr)"
set +e
show_from token.jwt token verify --jwks jwks.json --audience someone-else
rc=$?
set -e
echo "(exit code $rc)"
[ "$rc" -eq 1 ] || { echo "demo: expected exit code 1" >&2; exit 1; }

step "decode it without verifying (for debugging)"
show_from token.jwt token decode

# shellcheck source=scripts/demo-am.sh
. "$ROOT/scripts/demo-am.sh"

# shellcheck source=scripts/demo-gateway.sh
. "$ROOT/scripts/demo-gateway.sh"
