#!/usr/bin/env bash
# The release's must-show check for one architecture (verify-x86_64.sh, verify-arm64.sh):
#   scripts/release/verify.sh ARCH
# 1. A clean Debian tree: debootstrap minbase (cached as $RELEASE_CACHE/SUITE-DEBARCH-base,
#    copied afresh to .release-cache/verify-ARCH/root each run): Debian 12 for x86_64,
#    Debian 13 for arm64 (run under qemu-user). Only the runtime packages listed in the
#    tarballs' PACKAGES files (= the README's lists) are installed into it.
# 2. iec-am from the x86_64 iec-am tarball, on the host, on a free loopback port,
#    set up with `iec-am setup` (realm edge).
# 3. In the tree: the service tarball unpacked into /root/Downloads/iec-service,
#    iec-config.json filled in, ./install.sh (no systemd in a chroot: it prints the
#    manual start line), iecservice started that way; it must register with iec-am.
# 4. In the tree: the SDK tarball unpacked into /root/forgerock as the seed shows,
#    iecutil -initialise sdk, gcc + libc6-dev installed (the build step), simpleclient
#    built with the seed's plain gcc line, run; its output must be the seed's.
# Everything started is stopped by PID, everything mounted is unmounted. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/scripts/release/chroot-lib.sh"
ARCH="${1:?usage: verify.sh x86_64|arm64}"
VERSION="$(tr -d ' \n' <"$ROOT/VERSION")"
REL="$ROOT/dist/release"
CACHE="$(release_cache "$ROOT")"
WORK="$ROOT/.release-cache/verify-$ARCH"
say() { printf '\nverify[%s]: %s\n' "$ARCH" "$*"; }
die() { printf 'verify[%s]: FAILED: %s\n' "$ARCH" "$*" >&2; exit 1; }
case "$ARCH" in
    x86_64) suite=bookworm deb=amd64 wait_s=60 ;;
    arm64) suite=trixie deb=arm64 wait_s=600 ;;
    *) die "unknown ARCH $ARCH" ;;
esac
SERVICE_TGZ="$REL/iec-service-linux-$ARCH-$VERSION.tgz"
SDK_TGZ="$REL/iec-sdk-linux-$ARCH-$VERSION.tgz"
AM_TGZ="$REL/iec-am-linux-x86_64-$VERSION.tgz"
for t in "$SERVICE_TGZ" "$SDK_TGZ" "$AM_TGZ"; do [ -f "$t" ] || die "$t missing (make release)"; done
(cd "$REL" && sha256sum --check --ignore-missing --quiet SHA256SUMS) || die "SHA256SUMS do not match"
t0=$(date +%s)

# --- 1. the clean tree -----------------------------------------------------------------------
BASE="$CACHE/$suite-$deb-base"
"$ROOT/scripts/release/mkroot.sh" "$suite" "$deb" "$BASE"
TREE="$WORK/root"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    [ -d "$TREE" ] && umount_chroot "$TREE"
    return 0
}
trap cleanup EXIT
[ -d "$TREE" ] && umount_chroot "$TREE"
rm -rf "$WORK"
mkdir -p "$WORK"
cp -a "$BASE" "$TREE"
rm -f "$TREE/.openiec-root-ok" "$TREE/.openiec-debootstrap-ok"
cp /etc/resolv.conf "$TREE/etc/resolv.conf"
mount_chroot "$TREE"
run() { in_tree "$TREE" "$@"; }

pkgs_of() { tar -xzOf "$1" ./PACKAGES | sed -n 's/^    apt-get install --no-install-recommends //p'; }
runtime="$(printf '%s %s\n' "$(pkgs_of "$SERVICE_TGZ")" "$(pkgs_of "$SDK_TGZ")" | tr ' ' '\n' | sort -u | tr '\n' ' ')"
grep -qF "$(pkgs_of "$SERVICE_TGZ")" "$ROOT/README.md" || echo "verify[$ARCH]: warning: README.md does not list: $(pkgs_of "$SERVICE_TGZ")" >&2
say "clean Debian $suite $deb tree $TREE; installing only the runtime packages: $runtime"
run apt-get update -qq
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $runtime >/dev/null
run dpkg-query -W -f '${Package} ' ; echo

# --- 2. iec-am on the host ----------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
AM_PORT="$(free_port)"; GW_PORT="$(free_port)"
AM="http://127.0.0.1:$AM_PORT"
mkdir -p "$WORK/am"
tar -xzf "$AM_TGZ" -C "$WORK/am"
printf '{"server": {"host": "127.0.0.1", "port": %s, "public_url": "%s"}, "store": {"sqlite": {"path": "data/iec-am.db"}}, "logging": {"level": "info", "access_log": false}}\n' \
    "$AM_PORT" "$AM" >"$WORK/am/am.json"
(umask 077 && head -c 18 /dev/urandom | base64 >"$WORK/am/admin-password")
say "iec-am (x86_64 tarball) on the host at $AM: setup, then serve"
"$WORK/am/bin/iec-am" setup --config "$WORK/am/am.json" --admin-password-file "$WORK/am/admin-password" \
    --iec-config-out "$WORK/am/gateway-settings.json"
"$WORK/am/bin/iec-am" serve --config "$WORK/am/am.json" >"$WORK/am/iec-am.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -fsS "$AM/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$AM/health/ready" >/dev/null || die "iec-am did not start (see $WORK/am/iec-am.log)"

# --- 3. the service tarball, install.sh, iecservice ---------------------------------------
say "service tarball: tar -xzvf $(basename "$SERVICE_TGZ") -C ~/Downloads/iec-service"
install -d -m 0700 "$TREE/root/Downloads/iec-service"
cp "$SERVICE_TGZ" "$SDK_TGZ" "$TREE/root/Downloads/"
run sh -c "tar -xzvf /root/Downloads/$(basename "$SERVICE_TGZ") -C /root/Downloads/iec-service"
gwkeys="$(run /root/Downloads/iec-service/iecutil keygen curve)"
appkeys="$(run /root/Downloads/iec-service/iecutil keygen curve)"
python3 - "$TREE/root/Downloads/iec-service/iec-config.json" "$WORK/am/gateway-settings.json" "tcp://127.0.0.1:$GW_PORT" "$gwkeys" "$appkeys" "gateway-$ARCH" <<'PY'
import json, sys
path, settings, endpoint, gw, app, name = sys.argv[1:]
config = json.load(open(path))            # the tarball's sample, filled in as an operator would
settings, gw, app = json.load(open(settings)), json.loads(gw), json.loads(app)
config["iec_configuration"].update(settings["iec_configuration"])
config["iec_configuration"]["id_token_config.subject"] = name
config["am_configuration"].update(settings["am_configuration"])
config["zmq_server"].update({"endpoint": endpoint, "secret_key": gw["secret_key"], "public_key": gw["public_key"],
                             "client_public_keys": [app["public_key"]]})
json.dump(config, open(path, "w"), indent=2)
PY
say "cd ~/Downloads/iec-service && ./install.sh"
run sh -c 'cd /root/Downloads/iec-service && ./install.sh' | tee "$WORK/install.out"
start_line="$(sed -n 's/^    \(.*iecservice .*\) &$/\1/p' "$WORK/install.out")"
[ -n "$start_line" ] || die "install.sh printed no start line"
say "no systemd in a chroot: starting iecservice as install.sh says: $start_line"
# chroot execs env, which execs iecservice: $! is the daemon itself (not a subshell)
# shellcheck disable=SC2086
chroot "$TREE" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 $start_line >"$WORK/iecservice.out" 2>&1 &
PIDS+=($!)
GWLOG="$TREE/var/opt/iec/iecservice.log"
ok=0
for _ in $(seq 1 $((wait_s * 5))); do
    grep -qE "(registered|authenticated) with iec-am" "$GWLOG" 2>/dev/null && { ok=1; break; }
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.2
done
[ "$ok" = 1 ] || { tail -5 "$GWLOG" "$WORK/iecservice.out" >&2 2>/dev/null; die "iecservice did not register with iec-am"; }
grep -E "serving SDK clients|(registered|authenticated) with iec-am" "$GWLOG" | cut -d' ' -f2-

# --- 4. the SDK tarball, simpleclient built with gcc ------------------------------------------
say "SDK tarball: mkdir ~/forgerock; tar -xzvf $(basename "$SDK_TGZ") -C ~/forgerock"
run sh -c "mkdir -p /root/forgerock && tar -xzf /root/Downloads/$(basename "$SDK_TGZ") -C /root/forgerock && ls -l /root/forgerock /root/forgerock/lib"
run cp /root/forgerock/sdk-config.json /root/forgerock/examples/simpleclient/
python3 - "$TREE/root/forgerock/examples/simpleclient/sdk-config.json" "tcp://127.0.0.1:$GW_PORT" "$appkeys" "$gwkeys" <<'PY'
import json, sys
path, endpoint, app, gw = sys.argv[1:]
config = json.load(open(path))
app, gw = json.loads(app), json.loads(gw)
config["zmq_client"].update({"endpoint": endpoint, "secret_key": app["secret_key"], "public_key": app["public_key"],
                             "server_public_key": gw["public_key"]})
json.dump(config, open(path, "w"), indent=2)
PY
run sh -c 'cd /root/forgerock/examples/simpleclient && ~/forgerock/iecutil -file sdk-config.json -initialise sdk'
say "the build step: apt-get install gcc libc6-dev (in the tree), then the seed's gcc line"
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
cat >"$TREE/root/build-simpleclient.sh" <<'SH'
set -ex
export LD_LIBRARY_PATH=~/forgerock/lib
SDK_DIR=~/forgerock
ex_dir=~/forgerock/examples/simpleclient
ex=simpleclient
libs="-liecclient -lsodium -lzmq"
cd ${ex_dir}
gcc ${ex_dir}/${ex}.c -I${SDK_DIR}/include -L${SDK_DIR}/lib ${libs}
mv a.out ${ex}
SH
run bash /root/build-simpleclient.sh
say "run simpleclient (LD_LIBRARY_PATH=~/forgerock/lib)"
run sh -c 'cd /root/forgerock/examples/simpleclient && LD_LIBRARY_PATH=/root/forgerock/lib ./simpleclient' \
    | tee "$WORK/simpleclient.out" || true
for line in "Setting attributes ... Done" "Initialising sdk... Done" "Registering device (id: Narwhal)... Done" \
            "Requesting configuration for device (id: Narwhal)... Done" "Received configuration: {" \
            "Requesting tokens for device (id: Narwhal)... Done" "Received tokens: {" '"access_token": "' '"id_token": "' \
            "Executing 'Hello World' custom command... Custom command request failed: Error: am_error, Description: no script found for command"; do
    grep -qF -- "$line" "$WORK/simpleclient.out" || die "simpleclient's output lacks: $line"
done
say "PASSED in $(( $(date +%s) - t0 )) s: $ARCH iecservice (installed with install.sh on a clean Debian $suite $deb tree) registered with iec-am; simpleclient built from the SDK tarball with gcc got its tokens"
