#!/usr/bin/env bash
# uninstall.sh: removes what deploy/install.sh put in place. See --help.
set -euo pipefail
umask 022
export LC_ALL=C

usage() {
    cat <<'EOF'
uninstall.sh: removes the OpenIEC IEC Service that install.sh installed.

Usage:
  uninstall.sh [--prefix DIR] [--purge]

Options:
  --prefix DIR   the prefix given to install.sh (default /)
  --purge        also remove the state folder DIR/var/opt/iec: the database,
                 the key file and the logs. Without it they are kept, and a
                 later install.sh picks them up again.
  -h, --help     print this help

With systemd running and prefix /, iec.service is stopped and disabled first.
Removing nothing is not an error. Uninstalling from / needs root.
Exit codes: 0 done, 1 failure, 2 usage error.
EOF
}

die() {
    echo "uninstall.sh: $*" >&2
    exit 1
}

usage_error() {
    echo "uninstall.sh: $*" >&2
    echo "Run \`uninstall.sh --help\` for usage." >&2
    exit 2
}

PREFIX=/
PURGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --prefix)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "option --prefix needs a value"
            PREFIX=$2; shift 2 ;;
        --prefix=*)
            PREFIX=${1#*=}
            [ -n "$PREFIX" ] || usage_error "option --prefix needs a value"
            shift ;;
        --purge) PURGE=1; shift ;;
        *) usage_error "unknown argument \"$1\"" ;;
    esac
done

case "$PREFIX" in
    /*) ;;
    *) PREFIX="$PWD/$PREFIX" ;;
esac
if ! [[ "$PREFIX" =~ ^[A-Za-z0-9._/+@:,=-]+$ ]]; then
    usage_error "--prefix \"$PREFIX\": use letters, digits and . _ / + @ : , = - only"
fi
PREFIX=$(printf '%s' "$PREFIX" | sed -e 's#//*#/#g' -e 's#\(.\)/$#\1#')

if [ "$PREFIX" = / ] && [ "$(id -u)" -ne 0 ]; then
    die "uninstalling from / needs root: run it with sudo, or pass the --prefix DIR given to install.sh"
fi

ROOT=${PREFIX%/}
OPT_DIR="$ROOT/opt/iec"
BIN_DIR="$OPT_DIR/bin"
STATE_DIR="$ROOT/var/opt/iec"
UNIT="$ROOT/lib/systemd/system/iec.service"
WANTS_LINK="$ROOT/etc/systemd/system/multi-user.target.wants/iec.service"

systemd_here=0
if [ "$PREFIX" = / ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 &&
    systemctl show --property=Version >/dev/null 2>&1; then
    systemd_here=1
fi

# Daemons started by hand from this installation: their executable is our binary.
running_pids() {
    local proc exe
    for proc in /proc/[0-9]*; do
        exe=$(readlink "$proc/exe" 2>/dev/null) || continue
        case "$exe" in
            "$BIN_DIR/iecservice"|"$BIN_DIR/iecservice (deleted)") echo "${proc#/proc/}" ;;
        esac
    done
}

removed=0

# --- 1. stop ---------------------------------------------------------------------------

if [ "$systemd_here" -eq 1 ]; then
    if systemctl cat iec.service >/dev/null 2>&1; then
        systemctl disable --now iec.service || echo "uninstall.sh: warning: systemctl could not stop or disable iec.service" >&2
        echo "Stopped and disabled iec.service"
    fi
elif [ -L "$WANTS_LINK" ]; then
    # Enabled once while systemd ran (e.g. an image built on a systemd host).
    rm -f -- "$WANTS_LINK"
    echo "Removed $WANTS_LINK"
fi

pids=$(running_pids | tr '\n' ' ')
pids=${pids% }
if [ -n "$pids" ]; then
    if [ "$PURGE" -eq 1 ]; then
        die "iecservice is still running from $BIN_DIR (PID $pids): stop it first (kill -TERM $pids); nothing was removed"
    fi
    echo "uninstall.sh: warning: iecservice is still running from $BIN_DIR (PID $pids); stop it with: kill -TERM $pids" >&2
fi

# --- 2. remove -------------------------------------------------------------------------

if [ -e "$UNIT" ] || [ -L "$UNIT" ]; then
    rm -f -- "$UNIT"
    echo "Removed $UNIT"
    removed=1
fi
if [ "$systemd_here" -eq 1 ]; then
    systemctl daemon-reload
    systemctl reset-failed iec.service >/dev/null 2>&1 || true
fi

case "$OPT_DIR" in
    */opt/iec) ;;
    *) die "internal error: refusing to remove $OPT_DIR" ;;
esac
if [ -e "$OPT_DIR" ]; then
    rm -rf -- "$OPT_DIR"
    echo "Removed $OPT_DIR"
    removed=1
fi

if [ -e "$STATE_DIR" ]; then
    if [ "$PURGE" -eq 1 ]; then
        case "$STATE_DIR" in
            */var/opt/iec) ;;
            *) die "internal error: refusing to remove $STATE_DIR" ;;
        esac
        rm -rf -- "$STATE_DIR"
        echo "Removed $STATE_DIR (database, key file, logs)"
        removed=1
    else
        echo "Kept $STATE_DIR (database, key file, logs); remove it with: uninstall.sh --purge${ROOT:+ --prefix $PREFIX}"
    fi
fi

if [ "$removed" -eq 0 ]; then
    echo "Nothing to remove under $PREFIX"
else
    echo "The IEC Service is uninstalled."
fi
