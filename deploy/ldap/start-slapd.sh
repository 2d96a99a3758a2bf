#!/usr/bin/env bash
# Starts a private slapd (OpenLDAP) with the OpenIEC schema, for tests and for
# trying iec-am on a directory. It never touches a system slapd: everything
# lives in --dir (config, database, PID file, password file).
#
#   deploy/ldap/start-slapd.sh --dir DIR [--port 3890] [--suffix dc=iec,dc=test]
#                              [--admin-password-file FILE | --admin-password PW]
#                              [--server-id N --provider URL ...]
#   deploy/ldap/stop-slapd.sh  --dir DIR
#
# Prints the slapd PID on stdout once the server answers a search (nothing
# else goes to stdout). The admin DN is cn=admin,SUFFIX. Re-running with the
# same --dir restarts on the existing data (the suffix entry is made once).
#
# Replication (for several iec-am on one directory replicated between two
# servers): give each server its own --server-id (1..4095) and name the other
# servers with --provider URL (repeatable). The script then loads syncprov,
# turns on multi-provider mode and adds one syncrepl consumer per provider,
# bound as the admin DN with the same password (all servers must share it and
# the suffix).
set -euo pipefail

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'USAGE'
Options:
  --dir DIR                  working folder (created, mode 0700); required
  --port N                   loopback port to listen on (default 3890)
  --suffix DN                naming context (default dc=iec,dc=test)
  --admin-password PW        admin password (visible in ps; prefer the file)
  --admin-password-file F    file holding the admin password (first line)
  --server-id N              server id for multi-provider replication
  --provider URL             another provider to replicate from (repeatable)
  --wait SECONDS             how long to wait for slapd to answer (default 20)
  --without-iec-schema       leave the OpenIEC schema out (to see iec-am's error)
  --watch-pid PID            stop slapd (SIGTERM) once process PID has gone, e.g. a test run that crashed
  --tls-cert FILE            PEM certificate (chain) for StartTLS and ldaps
  --tls-key FILE             its PEM private key (with --tls-cert)
  --ldaps-port N             also listen with ldaps:// on this loopback port (needs --tls-cert)
  --help                     this text
USAGE
}

die() { printf 'start-slapd: error: %s\n' "$*" >&2; exit 1; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="" PORT=3890 SUFFIX="dc=iec,dc=test" PASSWORD="" PASSWORD_FILE="" SERVER_ID="" WAIT=20
PROVIDERS=()
IEC_SCHEMA=1
TLS_CERT="" TLS_KEY="" LDAPS_PORT="" WATCH_PID=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
        --port) PORT="${2:?--port needs a value}"; shift 2 ;;
        --suffix) SUFFIX="${2:?--suffix needs a value}"; shift 2 ;;
        --admin-password) PASSWORD="${2?--admin-password needs a value}"; shift 2 ;;
        --admin-password-file) PASSWORD_FILE="${2:?--admin-password-file needs a value}"; shift 2 ;;
        --server-id) SERVER_ID="${2:?--server-id needs a value}"; shift 2 ;;
        --provider) PROVIDERS+=("${2:?--provider needs a value}"); shift 2 ;;
        --wait) WAIT="${2:?--wait needs a value}"; shift 2 ;;
        --without-iec-schema) IEC_SCHEMA=0; shift ;;
        --tls-cert) TLS_CERT="${2:?--tls-cert needs a value}"; shift 2 ;;
        --tls-key) TLS_KEY="${2:?--tls-key needs a value}"; shift 2 ;;
        --ldaps-port) LDAPS_PORT="${2:?--ldaps-port needs a value}"; shift 2 ;;
        --watch-pid) WATCH_PID="${2:?--watch-pid needs a value}"; shift 2 ;;
        --help|-h) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[ -n "$DIR" ] || die "--dir is required (see --help)"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1..65535"
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "--wait must be a whole number of seconds"
[[ "$SUFFIX" =~ ^[A-Za-z]+=[^,]+(,[A-Za-z]+=[^,]+)*$ ]] || die "--suffix must be a DN such as dc=iec,dc=test"
if [ -n "$SERVER_ID" ]; then
    [[ "$SERVER_ID" =~ ^[0-9]+$ ]] && [ "$SERVER_ID" -ge 1 ] && [ "$SERVER_ID" -le 4095 ] || die "--server-id must be 1..4095"
fi
[ "${#PROVIDERS[@]}" -eq 0 ] || [ -n "$SERVER_ID" ] || die "--provider needs --server-id"
if [ -n "$TLS_CERT$TLS_KEY" ]; then
    [ -r "$TLS_CERT" ] && [ -r "$TLS_KEY" ] || die "--tls-cert and --tls-key must both name readable PEM files"
    TLS_CERT="$(cd "$(dirname "$TLS_CERT")" && pwd)/$(basename "$TLS_CERT")"
    TLS_KEY="$(cd "$(dirname "$TLS_KEY")" && pwd)/$(basename "$TLS_KEY")"
fi
if [ -n "$WATCH_PID" ]; then
    [[ "$WATCH_PID" =~ ^[0-9]+$ ]] && kill -0 "$WATCH_PID" 2>/dev/null || die "--watch-pid must name a running process"
fi
if [ -n "$LDAPS_PORT" ]; then
    [ -n "$TLS_CERT" ] || die "--ldaps-port needs --tls-cert and --tls-key"
    [[ "$LDAPS_PORT" =~ ^[0-9]+$ ]] && [ "$LDAPS_PORT" -ge 1 ] && [ "$LDAPS_PORT" -le 65535 ] || die "--ldaps-port must be 1..65535"
fi
for tool in slapd slapadd slappasswd ldapsearch; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool not found: install slapd and ldap-utils (scripts/bootstrap.sh)"
done
export PATH="$PATH:/usr/sbin"

umask 077
mkdir -p "$DIR/data"
DIR="$(cd "$DIR" && pwd)"
CONF="$DIR/slapd.conf" PIDFILE="$DIR/slapd.pid" URL="ldap://127.0.0.1:$PORT/"

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    die "a slapd from $DIR is already running (PID $(cat "$PIDFILE")); stop it with stop-slapd.sh --dir $DIR"
fi

# The password: from the file, the option, or the one kept in DIR from an earlier run.
if [ -n "$PASSWORD_FILE" ]; then
    [ -r "$PASSWORD_FILE" ] || die "cannot read $PASSWORD_FILE"
    head -n1 "$PASSWORD_FILE" | tr -d '\n' >"$DIR/admin.password"
elif [ -n "$PASSWORD" ]; then
    printf '%s' "$PASSWORD" >"$DIR/admin.password"
elif [ ! -s "$DIR/admin.password" ]; then
    die "give --admin-password-file FILE or --admin-password PW"
fi
HASH="$(slappasswd -T "$DIR/admin.password")"
ROOTDN="cn=admin,$SUFFIX"

# --- slapd.conf: one section per concern, so that more can be added -------------
write_global() {
    cat <<CONF
# Written by start-slapd.sh; rewritten on every start.
include         /etc/ldap/schema/core.schema
$([ "$IEC_SCHEMA" -eq 1 ] && echo "include         $HERE/iec.schema")
pidfile         $PIDFILE
argsfile        $DIR/slapd.args
modulepath      /usr/lib/ldap
moduleload      back_mdb
moduleload      sssvlv
loglevel        none
sizelimit       unlimited
timelimit       unlimited
# Large JSON values (a JWKS, a script) arrive in one PDU.
sockbuf_max_incoming_auth 67108863
CONF
    if [ -n "$SERVER_ID" ]; then
        printf 'moduleload      syncprov\nserverID        %s\n' "$SERVER_ID"
    fi
    if [ -n "$TLS_CERT" ]; then
        printf 'TLSCertificateFile    %s\nTLSCertificateKeyFile %s\n' "$TLS_CERT" "$TLS_KEY"
    fi
}

write_database() {
    cat <<CONF

database        mdb
maxsize         1073741824
suffix          "$SUFFIX"
rootdn          "$ROOTDN"
rootpw          $HASH
directory       $DIR/data
limits          dn.exact="$ROOTDN" size=unlimited time=unlimited
access to * by dn.exact="$ROOTDN" manage by * none
index objectClass eq
index entryCSN,entryUUID eq
CONF
    [ "$IEC_SCHEMA" -eq 1 ] || return 0
    cat <<CONF
index iecKey,iecRealm,iecName,iecFamily,iecSubject,iecStatus eq
index edgeNodeId,edgeNodeParent,edgeNodeType,edgeNodeRegistrationStatus eq
index iecExpiry,iecSequence eq
index iecNameFolded sub
CONF
}

write_replication() {
    [ -n "$SERVER_ID" ] || return 0
    local rid=0 provider credentials
    credentials="$(cat "$DIR/admin.password")"
    printf '\n# Multi-provider replication: a consumer of every other provider, then syncprov.\n'
    for provider in "${PROVIDERS[@]}"; do
        rid=$((rid + 1))
        printf 'syncrepl rid=%03d provider=%s bindmethod=simple binddn="%s" credentials="%s" searchbase="%s" type=refreshAndPersist retry="1 +" timeout=5\n' \
            "$rid" "$provider" "$ROOTDN" "$credentials" "$SUFFIX"
    done
    printf 'multiprovider on\noverlay syncprov\nsyncprov-checkpoint 100 10\n'
}

# Server-side sorting (RFC 2891) of listings, with paged results; last in the stack.
write_overlays() {
    printf '\noverlay sssvlv\nsssvlv-max 64\nsssvlv-maxkeys 2\nsssvlv-maxperconn 16\n'
}

{ write_global; write_database; write_replication; write_overlays; } >"$CONF"
chmod 600 "$CONF"

# --- The suffix entry, made once, offline ---------------------------------------
if [ ! -f "$DIR/data/data.mdb" ]; then
    first="${SUFFIX%%,*}" attribute="${first%%=*}" value="${first#*=}"
    case "${attribute,,}" in
        dc) classes=$'objectClass: dcObject\nobjectClass: organization'; extra="o: $value" ;;
        o) classes=$'objectClass: organization'; extra="" ;;
        ou) classes=$'objectClass: organizationalUnit'; extra="" ;;
        *) die "--suffix must start with dc=, o= or ou=" ;;
    esac
    printf 'dn: %s\n%s\n%s: %s\n%s\n' "$SUFFIX" "$classes" "$attribute" "$value" "$extra" \
        | slapadd -f "$CONF" -q >/dev/null 2>"$DIR/slapadd.log" || die "slapadd failed: $(cat "$DIR/slapadd.log")"
fi

# --- Start, then wait until it answers ------------------------------------------
LISTEN="$URL"
[ -z "$LDAPS_PORT" ] || LISTEN="$URL ldaps://127.0.0.1:$LDAPS_PORT/"
slapd -f "$CONF" -h "$LISTEN" </dev/null >/dev/null 2>"$DIR/slapd.log" || die "slapd did not start: $(tail -5 "$DIR/slapd.log")"
deadline=$((SECONDS + WAIT))
until [ -s "$PIDFILE" ] && ldapsearch -x -H "$URL" -b "" -s base -LLL -o nettimeout=1 namingContexts >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        [ -s "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null || true
        die "slapd did not answer at $URL within ${WAIT}s: $(tail -5 "$DIR/slapd.log")"
    fi
    sleep 0.1
done
SLAPD_PID="$(cat "$PIDFILE")"

# A watcher that stops this slapd (only it: the PID and its config are checked)
# once the watched process has gone. Detached, its output nowhere, so that
# whoever reads our stdout sees it end.
if [ -n "$WATCH_PID" ]; then
    (
        trap '' HUP
        while kill -0 "$WATCH_PID" 2>/dev/null && kill -0 "$SLAPD_PID" 2>/dev/null; do sleep 1; done
        if tr '\0' ' ' <"/proc/$SLAPD_PID/cmdline" 2>/dev/null | grep -q -- "-f $CONF"; then
            kill -TERM "$SLAPD_PID" 2>/dev/null || true
        fi
    ) </dev/null >/dev/null 2>&1 &
    disown
fi
echo "$SLAPD_PID"
