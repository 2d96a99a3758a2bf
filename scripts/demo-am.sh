#!/usr/bin/env bash
# The identity-server part of `make demo` (sourced by scripts/demo.sh, in run/demo/):
# iec-am set up with realm `edge` and left running on 127.0.0.1:8080, an OAuth2
# client created through the admin REST API, and a token from it verified
# against the realm's JWKS. Needs: IECAM, IECUTIL, step, show_from (from demo.sh).

AM_PORT="${IEC_AM_PORT:-8080}"
AM="http://127.0.0.1:$AM_PORT"
REALM_URL="$AM/oauth2/realms/root/realms/edge"
mkdir -p am
chmod 700 am
printf '{\n  "server": {"host": "127.0.0.1", "port": %s, "public_url": "%s"},\n  "store": {"sqlite": {"path": "data/iec-am.db"}},\n  "logging": {"level": "info", "access_log": true},\n  "ui": {"directory": "%s"}\n}\n' \
    "$AM_PORT" "$AM" "$ROOT/web/identitymanager" >am/am.json
if [ ! -s am/admin-password ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >am/admin-password)
fi

step "set up iec-am: administrator, realm edge, OAuth2/OIDC provider, IEC service, fresh keys (idempotent)"
echo '$ iec-am setup --config am/am.json --admin-password-file am/admin-password --iec-config-out am/gateway-settings.json'
"$IECAM" setup --config am/am.json --admin-password-file am/admin-password --iec-config-out am/gateway-settings.json

step "start iec-am on $AM (left running; log in run/demo/am/iec-am.log)"
if (exec 3<>"/dev/tcp/127.0.0.1/$AM_PORT") 2>/dev/null; then
    echo "demo: something already listens on 127.0.0.1:$AM_PORT; stop it or set IEC_AM_PORT" >&2
    exit 1
fi
nohup "$IECAM" serve --config am/am.json >am/iec-am.log 2>&1 &
echo $! >iec-am.pid
ready=0
for _ in $(seq 1 100); do
    if curl -fsS "$AM/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    if ! kill -0 "$(cat iec-am.pid)" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ "$ready" -ne 1 ]; then
    echo "demo: iec-am did not become ready; the end of run/demo/am/iec-am.log:" >&2
    tail -5 am/iec-am.log >&2
    exit 1
fi
echo "\$ curl $AM/health/ready"
curl -fsS "$AM/health/ready"; echo
echo "\$ curl '$AM/json/serverinfo/*'    (the seed's connection check)"
curl -fsS "$AM/json/serverinfo/*" | head -c 160; echo " ..."

step "sign in as the administrator (AM's REST shape) and create an OAuth2 client"
token_id="$(curl -fsS -X POST -H "X-OpenAM-Username: amadmin" -H "X-OpenAM-Password: $(cat am/admin-password)" \
    "$AM/json/realms/root/authenticate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokenId"])')"
echo "signed in as amadmin: a session token (iPlanetDirectoryPro) ${token_id:0:6}..."
clients="$AM/json/realms/root/realms/edge/realm-config/agents/OAuth2Client"
curl -sS -o /dev/null -X DELETE -H "iPlanetDirectoryPro: $token_id" "$clients/demo-client" || true
(umask 077 && curl -fsS -X POST -H "iPlanetDirectoryPro: $token_id" -H "Content-Type: application/json" \
    -d '{"client_id": "demo-client", "client_name": "OpenIEC demo", "grant_types": ["client_credentials"], "scopes": ["openid"]}' \
    "$clients?_action=create" >am/demo-client.json)
secret="$(python3 -c 'import json; print(json.load(open("am/demo-client.json"))["client_secret"])')"
echo "created client demo-client; its secret is shown once (kept in run/demo/am/demo-client.json, mode 0600)"

step "an access token with the client_credentials grant (RFC 6749 section 4.4)"
echo "\$ curl -u demo-client:*** -d grant_type=client_credentials -d scope=openid $REALM_URL/access_token"
curl -fsS -u "demo-client:$secret" -d grant_type=client_credentials -d scope=openid "$REALM_URL/access_token" >am/token.json
python3 -c 'import json; t=json.load(open("am/token.json")); print(json.dumps({k: (v[:28] + "...") if isinstance(v, str) and len(v) > 40 else v for k, v in t.items()}, indent=2))'
python3 -c 'import json; print(json.load(open("am/token.json"))["access_token"])' >am/access-token.jwt

step "verify that token against the realm's JWKS, fetched from its jwks_uri"
show_from am/access-token.jwt token verify --jwks "$REALM_URL/connect/jwk_uri" --issuer "$REALM_URL" --audience demo-client

echo "demo: iec-am is running on $AM (discovery: $REALM_URL/.well-known/openid-configuration)"
