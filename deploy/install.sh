#!/usr/bin/env bash
# install.sh: installs the OpenIEC IEC Service (iecservice) from an unpacked
# service tarball. Layout, steps and options: deploy/README.md, or --help.
set -euo pipefail
umask 022
export LC_ALL=C

usage() {
    cat <<'EOF'
install.sh: installs the OpenIEC IEC Service from an unpacked service tarball.

Usage:
  install.sh [--prefix DIR] [--from DIR] [--config FILE] [--no-start]

Run it from the unpacked tarball folder (which holds iecservice, iecutil,
iec-config.json, iec.service and an optional lib/), or name that folder
with --from.

Options:
  --prefix DIR    install under DIR instead of / (default /): binaries into
                  DIR/opt/iec/bin, libraries into DIR/opt/iec/lib, state into
                  DIR/var/opt/iec, the unit into DIR/lib/systemd/system
  --from DIR      the unpacked tarball folder (default: the current folder,
                  else the folder of this script)
  --config FILE   the service configuration (default: iec-config.json in the
                  tarball folder)
  --no-start      install only: do not enable or start iec.service
  -h, --help      print this help

Steps: iecutil initialises the database from the configuration (an existing
database is kept), a key file for the node keys is made if there is none,
the binaries and libraries are copied, and the systemd unit is installed.
With systemd running and prefix /, iec.service is then enabled and
(re)started; otherwise the command to start the daemon by hand is printed.
Running it again upgrades the binaries and keeps the database and key file.

Installing into / needs root. Exit codes: 0 installed, 1 failure,
2 usage error.
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

usage_error() {
    echo "install.sh: $*" >&2
    echo "Run \`install.sh --help\` for usage." >&2
    exit 2
}

# --- arguments ------------------------------------------------------------------------

PREFIX=/
FROM=
CONFIG=
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --prefix|--from|--config)
            [ $# -ge 2 ] || usage_error "option $1 needs a value"
            [ -n "$2" ] || usage_error "option $1 needs a non-empty value"
            case "$1" in
                --prefix) PREFIX=$2 ;;
                --from) FROM=$2 ;;
                --config) CONFIG=$2 ;;
            esac
            shift 2 ;;
        --prefix=*|--from=*|--config=*)
            value=${1#*=}
            [ -n "$value" ] || usage_error "option ${1%%=*} needs a non-empty value"
            case "$1" in
                --prefix=*) PREFIX=$value ;;
                --from=*) FROM=$value ;;
                --config=*) CONFIG=$value ;;
            esac
            shift ;;
        --no-start) START=0; shift ;;
        *) usage_error "unknown argument \"$1\"" ;;
    esac
done

# The prefix ends up in the unit file, where whitespace, '%' (a specifier) and
# '$' (a variable) would change its meaning: allow plain path characters only.
case "$PREFIX" in
    /*) ;;
    *) PREFIX="$PWD/$PREFIX" ;;
esac
if ! [[ "$PREFIX" =~ ^[A-Za-z0-9._/+@:,=-]+$ ]]; then
    usage_error "--prefix \"$PREFIX\": use letters, digits and . _ / + @ : , = - only"
fi
PREFIX=$(printf '%s' "$PREFIX" | sed -e 's#//*#/#g' -e 's#\(.\)/$#\1#')

if [ "$PREFIX" = / ] && [ "$(id -u)" -ne 0 ]; then
    die "installing into / needs root: run it with sudo, or pass --prefix DIR to install elsewhere"
fi

ROOT=${PREFIX%/}                       # "" for /
OPT_DIR="$ROOT/opt/iec"
BIN_DIR="$OPT_DIR/bin"
LIB_DIR="$OPT_DIR/lib"
STATE_DIR="$ROOT/var/opt/iec"
UNIT_DIR="$ROOT/lib/systemd/system"
UNIT="$UNIT_DIR/iec.service"
DB="$STATE_DIR/iec-service.db"
KEY="$STATE_DIR/iec-service.key"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "$FROM" ]; then
    if [ -e "$PWD/iecservice" ]; then
        FROM=$PWD
    elif [ -e "$SCRIPT_DIR/iecservice" ]; then
        FROM=$SCRIPT_DIR
    else
        die "no iecservice in $PWD: run install.sh from the unpacked service tarball folder, or pass --from DIR"
    fi
fi
[ -d "$FROM" ] || die "--from $FROM: no such folder"
FROM=$(cd "$FROM" && pwd)
[ -n "$CONFIG" ] || CONFIG="$FROM/iec-config.json"
case "$CONFIG" in
    /*) ;;
    *) CONFIG="$PWD/$CONFIG" ;;
esac

# --- checks before anything changes ----------------------------------------------------

[ -f "$FROM/iecservice" ] || die "$FROM/iecservice: missing (is $FROM an unpacked service tarball?)"
[ -f "$FROM/iecutil" ] || die "$FROM/iecutil: missing (is $FROM an unpacked service tarball?)"
[ -x "$FROM/iecutil" ] || die "$FROM/iecutil: not executable (unpack the tarball with tar -xzf, which keeps the modes)"
[ -f "$CONFIG" ] && [ -r "$CONFIG" ] || die "$CONFIG: no readable configuration file (pass --config FILE)"
UNIT_SRC="$FROM/iec.service"
[ -f "$UNIT_SRC" ] || UNIT_SRC="$SCRIPT_DIR/iec.service"
[ -f "$UNIT_SRC" ] || die "$FROM/iec.service: missing (the systemd unit template)"
if [ -e "$DB" ] && [ ! -e "$KEY" ]; then
    die "$DB exists but its key file $KEY does not: the node keys in the database cannot be read without it. Restore the key file, or remove the old state (uninstall.sh --purge) to start afresh."
fi

# Temporary files, removed whatever happens.
TEMPS=()
cleanup() {
    local f
    for f in "${TEMPS[@]+"${TEMPS[@]}"}"; do
        rm -rf -- "$f"
    done
}
trap cleanup EXIT

LIBPATH="$FROM/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- 1. state folder and database --------------------------------------------------------

state_created=0
if [ ! -d "$STATE_DIR" ]; then
    mkdir -p "$STATE_DIR"
    state_created=1
    echo "Created state folder $STATE_DIR"
fi
chmod 0700 "$STATE_DIR"

key_created=0
if [ ! -e "$KEY" ]; then
    # 32 random bytes: the key that encrypts each node's P-256 key at rest.
    (umask 077 && head -c 32 /dev/urandom >"$KEY.new" && mv -f "$KEY.new" "$KEY")
    key_created=1
fi
chmod 0600 "$KEY"

db_existed=0
backup=
if [ -e "$DB" ]; then
    db_existed=1
    # A second name for the database's inode, in case iecutil replaced or removed it.
    backup="$STATE_DIR/.iec-service.db.install-$$"
    ln -f "$DB" "$backup" 2>/dev/null || cp -p "$DB" "$backup"
    TEMPS+=("$backup")
fi

set +e
LD_LIBRARY_PATH="$LIBPATH" "$FROM/iecutil" -file "$CONFIG" -initialise service -output "$DB"
rc=$?
set -e

if [ "$db_existed" -eq 1 ]; then
    if [ ! -e "$DB" ]; then
        mv -f "$backup" "$DB"
        echo "Restored the existing database $DB"
    fi
    [ "$rc" -ne 2 ] || die "iecutil rejected its command line (exit 2): is it from the same release as this script? The existing database was kept; nothing else changed."
    echo "Keeping the existing database $DB"
else
    if [ "$rc" -ne 0 ] || [ ! -f "$DB" ]; then
        rm -f -- "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
        [ "$key_created" -eq 0 ] || rm -f -- "$KEY"
        [ "$state_created" -eq 0 ] || rmdir -- "$STATE_DIR" 2>/dev/null || true
        if [ "$rc" -eq 0 ]; then
            die "iecutil reported success but wrote no database at $DB; nothing was installed"
        elif [ "$rc" -eq 2 ]; then
            die "iecutil rejected \`-file $CONFIG -initialise service -output $DB\` (exit 2): it does not support \`-initialise service\`? Nothing was installed."
        else
            die "iecutil could not initialise the service from $CONFIG (exit $rc, message above); nothing was installed"
        fi
    fi
fi
chmod 0600 "$DB"
if [ "$key_created" -eq 1 ]; then
    echo "Created key file $KEY"
else
    echo "Keeping the existing key file $KEY"
fi

# The unit lets the daemon write to the state folder only: say so when the
# configuration logs elsewhere (the original's sample logs to /var/opt/forgerock/iec).
if [ "$db_existed" -eq 0 ]; then
    logfile=$(grep -o '"logfile"[[:space:]]*:[[:space:]]*"[^"]*"' "$CONFIG" 2>/dev/null | head -n 1 |
        sed 's/^"logfile"[[:space:]]*:[[:space:]]*"\(.*\)"$/\1/' || true)
    state_for_unit=${STATE_DIR#"$ROOT"}
    case "$logfile" in
        ""|"$state_for_unit"/*) ;;
        *) echo "install.sh: warning: logging.logfile in $CONFIG is $logfile, outside $state_for_unit:" \
                "iec.service lets the daemon write to $state_for_unit only (ProtectSystem=strict)." \
                "Set it to $state_for_unit/iecservice.log, or allow its folder in a drop-in" \
                "(systemctl edit iec.service: [Service] ReadWritePaths=$(dirname "$logfile"))." >&2 ;;
    esac
fi

# --- 2. binaries and libraries -----------------------------------------------------------

mkdir -p "$BIN_DIR"
for name in iecservice iecutil; do
    # Copy next to the target, then rename: a running daemon keeps its old file.
    tmp="$BIN_DIR/.$name.new-$$"
    TEMPS+=("$tmp")
    cp -- "$FROM/$name" "$tmp"
    chmod 0755 "$tmp"
    mv -f -- "$tmp" "$BIN_DIR/$name"
done
echo "Installed iecservice and iecutil into $BIN_DIR"

# The library folder mirrors the tarball's lib/: built aside, then swapped in,
# so that libraries a running daemon has mapped are never overwritten in place.
newlib="$OPT_DIR/.lib.new-$$"
oldlib="$OPT_DIR/.lib.old-$$"
TEMPS+=("$newlib" "$oldlib")
mkdir -p "$newlib"
nlibs=0
if [ -d "$FROM/lib" ]; then
    cp -RP -- "$FROM/lib/." "$newlib/"
    chmod -R u+rwX,go+rX,go-w "$newlib"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R -h 0:0 "$newlib"
    fi
    nlibs=$(find "$newlib" -mindepth 1 \( -type f -o -type l \) | wc -l)
fi
chmod 0755 "$newlib"
if [ -d "$LIB_DIR" ]; then
    mv -- "$LIB_DIR" "$oldlib"
fi
mv -- "$newlib" "$LIB_DIR"
if [ "$nlibs" -gt 0 ]; then
    echo "Installed $nlibs libraries into $LIB_DIR"
fi

# uninstall.sh, so that the tarball can be deleted after setup.
for candidate in "$FROM/uninstall.sh" "$SCRIPT_DIR/uninstall.sh"; do
    if [ -f "$candidate" ]; then
        tmp="$OPT_DIR/.uninstall.sh.new-$$"
        TEMPS+=("$tmp")
        cp -- "$candidate" "$tmp"
        chmod 0755 "$tmp"
        mv -f -- "$tmp" "$OPT_DIR/uninstall.sh"
        break
    fi
done

# --- 3. systemd unit ---------------------------------------------------------------------

sed_escape() {
    printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'
}
mkdir -p "$UNIT_DIR"
tmp="$UNIT_DIR/.iec.service.new-$$"
TEMPS+=("$tmp")
sed -e '/^##/d' -e "s|@PREFIX@|$(sed_escape "$ROOT")|g" -e "s|@STATE@|$(sed_escape "$STATE_DIR")|g" "$UNIT_SRC" >"$tmp"
if grep -q '@[A-Z_]*@' "$tmp"; then
    die "$UNIT_SRC: placeholders left after substitution: $(grep -o '@[A-Z_]*@' "$tmp" | sort -u | tr '\n' ' ')"
fi
chmod 0644 "$tmp"
mv -f -- "$tmp" "$UNIT"
echo "Installed systemd unit $UNIT"

# --- 4. start ----------------------------------------------------------------------------

HINT="$BIN_DIR/iecservice --database $DB --key-file $KEY &"
if [ "$nlibs" -gt 0 ]; then
    HINT="LD_LIBRARY_PATH=$LIB_DIR $HINT"
fi

manual_start() {
    echo "$1"
    echo "Start the IEC Service by hand (it keeps trying to register with iec-am until it succeeds):"
    echo
    echo "    $HINT"
    echo
}

why_no_systemd=
if [ "$PREFIX" != / ]; then
    why_no_systemd="Installed under the prefix $PREFIX: systemd was not told about it."
elif [ ! -d /run/systemd/system ]; then
    why_no_systemd="systemd is not running here (a container, or another init system)."
elif ! command -v systemctl >/dev/null 2>&1; then
    why_no_systemd="systemctl was not found."
elif ! err=$(systemctl show --property=Version 2>&1 >/dev/null); then
    why_no_systemd="systemctl does not work here: ${err:-no message}"
fi

if [ -n "$why_no_systemd" ]; then
    manual_start "$why_no_systemd"
    echo "The IEC Service is installed, not running."
    exit 0
fi

systemctl daemon-reload
if [ "$START" -eq 0 ]; then
    if systemctl is-active --quiet iec.service; then
        echo "iec.service keeps running the previous binaries until it is restarted (--no-start):"
        echo
        echo "    sudo systemctl restart iec.service"
    else
        echo "iec.service is installed, not started (--no-start). To start it now and at every boot:"
        echo
        echo "    sudo systemctl enable --now iec.service"
    fi
    echo
    exit 0
fi
systemctl enable iec.service
systemctl restart iec.service     # starts it, or restarts it on the new binaries
echo "The IEC Service is now installed and running as a daemon (systemctl status iec.service)."
