#!/usr/bin/env bash
# Stops the slapd that start-slapd.sh started in --dir, by the PID in its PID
# file, and waits until it has gone (SIGKILL after --wait seconds, default 10).
#   deploy/ldap/stop-slapd.sh --dir DIR [--wait SECONDS]
set -euo pipefail
die() { printf 'stop-slapd: error: %s\n' "$*" >&2; exit 1; }
DIR="" WAIT=10
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
        --wait) WAIT="${2:?--wait needs a value}"; shift 2 ;;
        --help|-h) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -n "$DIR" ] || die "--dir is required"
PIDFILE="$DIR/slapd.pid"
[ -s "$PIDFILE" ] || { echo "stop-slapd: no PID file in $DIR: nothing to stop" >&2; exit 0; }
PID="$(cat "$PIDFILE")"
[[ "$PID" =~ ^[0-9]+$ ]] || die "$PIDFILE does not hold a PID"
# Only a slapd started with this folder's config is ours to stop.
if ! tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null | grep -q -- "-f $DIR/slapd.conf"; then
    echo "stop-slapd: PID $PID is not our slapd (gone already?)" >&2
    rm -f "$PIDFILE"
    exit 0
fi
kill -TERM "$PID"
deadline=$((SECONDS + WAIT))
while kill -0 "$PID" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then kill -KILL "$PID" 2>/dev/null || true; break; fi
    sleep 0.05
done
rm -f "$PIDFILE"
