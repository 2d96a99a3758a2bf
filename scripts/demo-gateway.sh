#!/usr/bin/env bash
# The gateway and SDK part of `make demo` (sourced by scripts/demo.sh after
# scripts/demo-am.sh, in run/demo/): the seed's installation guide, sections 1.3
# and 1.4, on the embedded default.
#
#   - CURVE keys for the gateway and for the app (kept in run/demo/, reused next time);
#   - gateway/iec-config.json from am/gateway-settings.json (gateway "gateway-demo");
#   - iecutil -initialise service, then iecservice on tcp://127.0.0.1:5556, left
#     running (pid file run/demo/iecservice.pid, so `make demo-stop` stops it);
#   - simpleclient/: the SDK (lib/, include/), sdk-config.json, iecutil -initialise sdk,
#     simpleclient.c built with plain gcc as the guide shows, and run.
#
# Needs from demo.sh / demo-am.sh: BIN, IECUTIL, ROOT, RUN, AM, AM_PORT, step.
# Gateway and app state (keys, databases) survive a rerun, so `make demo` runs again
# with the same identities; `make clean` starts from nothing.

IECSERVICE="$BIN/iecservice"
LIBIECCLIENT="$BIN/libiecclient.so"
GW_PORT="${IEC_GATEWAY_PORT:-5556}"
GW_ENDPOINT="tcp://127.0.0.1:$GW_PORT"
for needed in "$IECSERVICE" "$LIBIECCLIENT"; do
    [ -e "$needed" ] || { echo "demo: $needed is missing (run: make demo)" >&2; exit 1; }
done
command -v gcc >/dev/null || { echo "demo: gcc is needed to build simpleclient (apt-get install gcc)" >&2; exit 1; }

mkdir -p gateway simpleclient
chmod 700 gateway simpleclient

step "CURVE keys for the gateway (zmq_server) and for the app (zmq_client)"
for who in gateway simpleclient; do
    if [ ! -s "$who/curve.json" ]; then
        (umask 077 && "$IECUTIL" keygen curve >"$who/curve.json")
        echo "\$ iecutil keygen curve > $who/curve.json    (mode 0600)"
    else
        echo "$who/curve.json exists; kept (the gateway already knows these keys)"
    fi
done
key() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
echo "gateway public key: $(key gateway/curve.json public_key)"
echo "app public key:     $(key simpleclient/curve.json public_key)"

step "the gateway's iec-config.json: am/gateway-settings.json (from iec-am setup) + its name, ZeroMQ and logging"
(umask 077 && python3 - "$RUN" "$GW_ENDPOINT" <<'PY'
import json, sys
run, endpoint = sys.argv[1], sys.argv[2]
settings = json.load(open(f"{run}/am/gateway-settings.json"))
server = json.load(open(f"{run}/gateway/curve.json"))
app = json.load(open(f"{run}/simpleclient/curve.json"))
config = {
    "iec_configuration": {**settings["iec_configuration"], "id_token_config.subject": "gateway-demo"},
    "am_configuration": settings["am_configuration"],
    "zmq_server": {"whitelist": ["127.0.0.1"], "endpoint": endpoint, "secret_key": server["secret_key"],
                   "public_key": server["public_key"], "client_public_keys": [app["public_key"]]},
    "logging": {"logfile": f"{run}/gateway/iecservice.log", "enabled": True, "debug": False,
                "max_file_size_mb": 10, "max_backup_files": 3, "max_file_age_days": 0,
                "compress_file_backups": True},
}
with open(f"{run}/gateway/iec-config.json", "w") as out:
    json.dump(config, out, indent=2)
    out.write("\n")
shown = json.loads(json.dumps(config))
shown["iec_configuration"]["id_token_config.vendor_secret"] = "***"
shown["zmq_server"]["secret_key"] = "***"
print(json.dumps(shown, indent=2))
PY
)

step "initialise the gateway: iecutil -file iec-config.json -initialise service"
(cd gateway && echo '$ iecutil -file iec-config.json -initialise service' && "$IECUTIL" -file iec-config.json -initialise service)

step "start iecservice on $GW_ENDPOINT (left running; log in run/demo/gateway/iecservice.log)"
if (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null; then
    echo "demo: something already listens on 127.0.0.1:$GW_PORT; stop it or set IEC_GATEWAY_PORT" >&2
    exit 1
fi
log_lines=0
[ -f gateway/iecservice.log ] && log_lines="$(wc -l <gateway/iecservice.log)"
echo '$ iecservice --database iec-service.db'
(cd gateway && exec nohup "$IECSERVICE" --database iec-service.db >iecservice.out 2>&1) &
echo $! >iecservice.pid  # the subshell execs nohup, which execs iecservice: one pid
ready=0
for _ in $(seq 1 150); do
    if tail -n +"$((log_lines + 1))" gateway/iecservice.log 2>/dev/null | grep -qE "(registered|authenticated) with iec-am"; then ready=1; break; fi
    if ! kill -0 "$(cat iecservice.pid)" 2>/dev/null; then break; fi
    sleep 0.2
done
if [ "$ready" -ne 1 ]; then
    echo "demo: iecservice did not register with iec-am; the end of its log and output:" >&2
    tail -5 gateway/iecservice.log gateway/iecservice.out >&2 2>/dev/null
    exit 1
fi
tail -n +"$((log_lines + 1))" gateway/iecservice.log | grep -E "serving SDK clients|(registered|authenticated) with iec-am" | cut -d' ' -f2-

step "the SDK for simpleclient: lib/libiecclient.so, include/, simpleclient.c (as the SDK tarball has them)"
mkdir -p simpleclient/lib simpleclient/include
cp "$LIBIECCLIENT" simpleclient/lib/libiecclient.so && strip --strip-unneeded simpleclient/lib/libiecclient.so
cp "$ROOT"/include/*.h simpleclient/include/
cp "$ROOT/examples/simpleclient/simpleclient.c" simpleclient/
(cd simpleclient && ls -l lib/libiecclient.so include/*.h simpleclient.c | awk '{print $5, $NF}')

step "the app's sdk-config.json, and iecutil -file sdk-config.json -initialise sdk"
(umask 077 && python3 - "$RUN" "$GW_ENDPOINT" <<'PY'
import json, sys
run, endpoint = sys.argv[1], sys.argv[2]
app = json.load(open(f"{run}/simpleclient/curve.json"))
server = json.load(open(f"{run}/gateway/curve.json"))
config = {
    "zmq_client": {"endpoint": endpoint, "secret_key": app["secret_key"], "public_key": app["public_key"],
                   "server_public_key": server["public_key"], "msg_timeout_sec": 5},
    "logging": {"logfile": "iec-sdk.log", "enabled": True, "debug": False, "max_file_size_mb": 10,
                "max_backup_files": 3, "max_file_age_days": 0, "compress_file_backups": True},
    "client_configuration": {"id": "iec-client"},
}
with open(f"{run}/simpleclient/sdk-config.json", "w") as out:
    json.dump(config, out, indent=2)
    out.write("\n")
PY
)
echo "zmq_client.endpoint: $GW_ENDPOINT, client_configuration.id: iec-client"
# As the guide says for a changed configuration: remove iec-sdk.db, then initialise again.
(cd simpleclient && rm -f iec-sdk.db && echo '$ iecutil -file sdk-config.json -initialise sdk' \
    && "$IECUTIL" -file sdk-config.json -initialise sdk)

step "build simpleclient with plain gcc, as the guide shows"
echo '$ gcc simpleclient.c -I include -L lib -liecclient -o simpleclient'
(cd simpleclient && gcc simpleclient.c -I include -L lib -liecclient -o simpleclient)

step "run simpleclient (LD_LIBRARY_PATH=lib): register Narwhal, its configuration and tokens, 'Hello World'"
echo '$ LD_LIBRARY_PATH=lib ./simpleclient'
(cd simpleclient && LD_LIBRARY_PATH=lib ./simpleclient) | tee simpleclient/simpleclient.out
grep -q "^Received tokens: {" simpleclient/simpleclient.out || { echo "demo: simpleclient got no tokens" >&2; exit 1; }

echo
echo "demo: running: iec-am on $AM (realm edge) and iecservice (gateway-demo) on $GW_ENDPOINT."
echo "demo:   Edge Identity Manager  $AM/identitymanager   (amadmin, password in run/demo/am/admin-password)"
echo "demo:   simpleclient again     cd run/demo/simpleclient && LD_LIBRARY_PATH=lib ./simpleclient"
echo "demo: stop everything with: make demo-stop"
