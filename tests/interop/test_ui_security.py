"""The Edge Identity Manager's server side, over plain HTTP (no browser).

Its files: only regular files inside ui.directory (no `..`, no dotfiles, no
symlink leading out), the right Content-Type, `Cache-Control: no-cache`, and on
HTML the Content-Security-Policy and framing headers; and nothing inline in any
of them. Its sign-in: the admin accounts and failed-login limits of
`/json/realms/root/authenticate`, an HttpOnly SameSite=Strict cookie and a CSRF
token. Requests that change something with the cookie but without the session's
CSRF token, with a wrong one, or with no session at all, are refused.
"""

from __future__ import annotations

import html.parser
import http.client
import json
import re
import secrets
import shutil
from pathlib import Path

import pytest
import requests

from am_server import COOKIE
from gateway import Gateway, IECAdmin
from ui_browser import UI_DIRECTORY, UIServer, start_ui_server

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SESSION = "/identitymanager/api/session"
IEC = "/json/realms/root/realms/edge/iec"


@pytest.fixture(scope="module")
def ui_tree(tmp_path_factory):
    """A copy of the UI's files with traps: a dotfile, symlinks in and out, a folder."""
    root = tmp_path_factory.mktemp("ui-traps")
    ui = root / "identitymanager"
    shutil.copytree(UI_DIRECTORY, ui)
    (ui / ".secret").write_text("hidden\n")
    (ui / ".git").mkdir()
    (ui / ".git" / "config").write_text("[core]\n")
    outside = root / "outside.txt"
    outside.write_text("outside the UI folder\n")
    (ui / "out.txt").symlink_to(outside)
    (ui / "out-dir").symlink_to(root)
    (ui / "inside.css").symlink_to(ui / "app.css")
    (ui / "folder").mkdir()
    (ui / "folder" / "note.txt").write_text("a note\n")
    return ui


@pytest.fixture(scope="module")
def iec(iec_am_binary, ui_tree):
    server, config = start_ui_server(iec_am_binary, ui_directory=ui_tree,
                                     security={"failed_login_limit": 3, "failed_login_window_seconds": 300})
    try:
        yield server, config
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(iec):
    return iec[0]


@pytest.fixture(scope="module")
def device(iec):
    """A gateway, a client and a device, registered by the Python gateway."""
    _, config = iec
    gw = Gateway(config, name="gw-uisec-" + secrets.token_hex(3))
    gw.register()
    client_id, device_id = "app-uisec-" + secrets.token_hex(3), "dev-uisec-" + secrets.token_hex(3)
    gw.register_client(client_id)
    gw.register_device(device_id, client_id)
    return gw, device_id


def ui_sign_in(server, password: str | None = None, **extra) -> requests.Response:
    body = {"username": server.admin_username,
            "password": server.admin_password if password is None else password, **extra}
    return requests.post(server.url(SESSION), json=body, timeout=30)


@pytest.fixture(scope="module")
def ui_session(server):
    """(cookie value, CSRF token) of one UI sign-in."""
    r = ui_sign_in(server)
    assert r.status_code == 200, f"UI sign-in: {r.status_code} {r.text[:300]}"
    return r.cookies[COOKIE], r.json()["csrfToken"]


def raw_get(server, path: str) -> tuple[int, dict, bytes]:
    """GET with the path sent exactly as given (no client-side dot-segment removal)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- files --------------------------------------------------------------------------------


def test_the_bare_path_redirects_to_the_folder(server):
    r = requests.get(server.url("/identitymanager"), allow_redirects=False, timeout=10)
    assert r.status_code in (301, 302, 308), f"GET /identitymanager: {r.status_code}"
    assert r.headers["Location"] in ("/identitymanager/", server.url("/identitymanager/")), r.headers


def test_the_page_comes_with_its_security_headers(server):
    r = requests.get(server.url("/identitymanager/"), timeout=10)
    assert r.status_code == 200, r.status_code
    assert r.headers["Content-Type"].startswith("text/html"), r.headers
    assert r.headers.get("Content-Security-Policy") == CSP, r.headers.get("Content-Security-Policy")
    assert r.headers.get("X-Frame-Options") == "DENY", r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers
    assert r.headers.get("Referrer-Policy") == "no-referrer", r.headers
    assert r.headers.get("Cache-Control") == "no-cache", r.headers
    assert "Edge Identity Manager" in r.text
    again = requests.get(server.url("/identitymanager/index.html"), timeout=10)
    assert again.status_code == 200 and again.content == r.content
    assert again.headers.get("Content-Security-Policy") == CSP


@pytest.mark.parametrize("path, content_type", [
    ("/identitymanager/app.css", "text/css"),
    ("/identitymanager/js/app.js", "text/javascript"),
    ("/identitymanager/js/views/identity.js", "text/javascript"),
    ("/identitymanager/inside.css", "text/css"),          # a symlink that stays inside
])
def test_files_have_their_content_type(server, path, content_type):
    r = requests.get(server.url(path), timeout=10)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
    assert r.headers["Content-Type"].split(";")[0] == content_type, f"{path}: {r.headers['Content-Type']}"
    assert r.headers.get("Cache-Control") == "no-cache", r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers


@pytest.mark.parametrize("path", [
    "/identitymanager/../am.json",
    "/identitymanager/js/../../am.json",
    "/identitymanager/%2e%2e/am.json",
    "/identitymanager/js%2F..%2F..%2Fam.json",
    "/identitymanager/..%2Fam.json",
    "/identitymanager/.secret",
    "/identitymanager/.git/config",
    "/identitymanager/js/./app.js",
    "/identitymanager/out.txt",              # symlink to a file outside
    "/identitymanager/out-dir/outside.txt",  # symlink to a folder outside
    "/identitymanager/folder",               # a folder is not a file
    "/identitymanager/folder/",
    "/identitymanager//etc/passwd",
    "/identitymanager/nope.html",
    "/identitymanager/js%5C..%5Capp.js",
])
def test_nothing_outside_the_folder_is_served(server, path):
    status, headers, body = raw_get(server, path)
    assert status in (400, 403, 404), f"GET {path} answered {status}: {body[:200]!r}"
    assert b"outside the UI folder" not in body and b"hidden" not in body and b"[core]" not in body
    assert b"public_url" not in body, f"GET {path} leaked am.json"


def test_a_plain_file_in_a_subfolder_is_served(server):
    r = requests.get(server.url("/identitymanager/folder/note.txt"), timeout=10)
    assert r.status_code == 200 and r.text == "a note\n", (r.status_code, r.text[:100])


def test_no_inline_script_or_style_in_the_ui_files():
    """The CSP forbids inline code; the files must not need it (nor build HTML from strings)."""

    class Checker(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.problems: list[str] = []
            self.in_script = False

        def handle_starttag(self, tag, attrs):
            names = {name.lower(): value for name, value in attrs}
            if tag == "script":
                if not names.get("src"):
                    self.problems.append("inline <script>")
                elif re.match(r"^(https?:)?//", names["src"]):
                    self.problems.append(f"script from elsewhere: {names['src']}")
            if tag == "style":
                self.problems.append("<style> element")
            if tag == "link" and "stylesheet" in (names.get("rel") or "") and re.match(r"^(https?:)?//", names.get("href") or ""):
                self.problems.append(f"stylesheet from elsewhere: {names['href']}")
            for name in names:
                if name == "style" or name.startswith("on"):
                    self.problems.append(f"<{tag} {name}=...>")

    files = sorted(p for p in UI_DIRECTORY.rglob("*") if p.is_file())
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".js" for p in files), files
    for path in files:
        text = path.read_text()
        if path.suffix == ".html":
            checker = Checker()
            checker.feed(text)
            assert not checker.problems, f"{path}: {checker.problems}"
        if path.suffix == ".js":
            for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                           "new Function", "setAttribute('style'", ".style."):
                assert banned not in text, f"{path} uses {banned}"
        assert not re.search(r"https?://(?!www\.w3\.org)", text), f"{path} names an outside URL"


# --- sign-in and session --------------------------------------------------------------------


def test_ui_sign_in_sets_a_strict_cookie_and_returns_a_csrf_token(server):
    r = ui_sign_in(server, realm="edge")
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["username"] == server.admin_username, body
    assert isinstance(body["csrfToken"], str) and len(body["csrfToken"]) >= 32, body
    assert body["expiresIn"] == 1800 and body["realm"] == "edge", body
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}="), cookie
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes, cookie
    assert "secure" not in attributes, f"plain HTTP: no Secure attribute expected: {cookie}"
    token = r.cookies[COOKIE]
    assert body["csrfToken"] != token, "the CSRF token must not be the session token"

    again = requests.get(server.url(SESSION), cookies={COOKIE: token}, timeout=10)
    assert again.status_code == 200 and again.json()["valid"] is True, again.text
    assert again.json()["csrfToken"] == body["csrfToken"], "a reload should get the same CSRF token"
    assert requests.get(server.url(SESSION), timeout=10).json() == {"valid": False}
    assert requests.get(server.url(SESSION), cookies={COOKIE: "nonsense"}, timeout=10).json() == {"valid": False}


def test_ui_sign_in_refuses_wrong_passwords_and_unknown_realms(server):
    r = ui_sign_in(server, password="wrong-" + secrets.token_hex(4))
    assert r.status_code == 401, f"{r.status_code} {r.text[:200]}"
    assert COOKIE not in r.cookies
    r = ui_sign_in(server, realm="no-such-realm")
    assert r.status_code == 400 and "no-such-realm" in r.json()["message"], r.text
    r = requests.post(server.url(SESSION), data="username=amadmin", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415, "a cross-site form post cannot sign in"


def test_failed_sign_ins_count_with_the_admin_api(iec_am_binary):
    """The UI shares the failed-login limit of /json/realms/root/authenticate (here 2 per account)."""
    server = UIServer(iec_am_binary, security={"failed_login_limit": 2})
    try:
        server.setup()
        server.start()
        assert server.sign_in(password="wrong-1").status_code == 401
        assert ui_sign_in(server, password="wrong-2").status_code == 401
        r = ui_sign_in(server)  # even the right password, until the window ends
        assert r.status_code == 429, f"expected 429 after 2 failures, got {r.status_code} {r.text[:200]}"
        assert "try again" in r.json()["message"], r.text
    finally:
        server.close()


def self_signed(folder: Path) -> tuple[str, str]:
    """A throw-away P-256 certificate for 127.0.0.1 (its own CA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


def test_under_https_the_cookie_is_secure(iec_am_binary, tmp_path):
    cert, key = self_signed(tmp_path)
    server = UIServer(iec_am_binary, server={"tls": {"certificate_file": cert, "key_file": key}})
    server.verify = cert
    try:
        server.setup()
        server.start()
        page = requests.get(server.url("/identitymanager/"), verify=cert, timeout=10)
        assert page.status_code == 200 and page.headers.get("Content-Security-Policy") == CSP
        r = requests.post(server.url(SESSION), json={"username": server.admin_username, "password": server.admin_password},
                          verify=cert, timeout=30)
        assert r.status_code == 200, r.text[:200]
        attributes = [part.strip().lower() for part in r.headers["Set-Cookie"].split(";")[1:]]
        assert "secure" in attributes and "httponly" in attributes and "samesite=strict" in attributes, r.headers["Set-Cookie"]
    finally:
        server.close()


def test_realms_list_is_for_admins(server, ui_session):
    token, _ = ui_session
    assert requests.get(server.url("/identitymanager/api/realms"), timeout=10).status_code == 401
    r = requests.get(server.url("/identitymanager/api/realms"), cookies={COOKIE: token}, timeout=10)
    assert r.status_code == 200 and {"name": "edge"} in r.json()["result"], r.text
    assert {"name": "root"} not in r.json()["result"], r.text


# --- CSRF ------------------------------------------------------------------------------------


def test_changes_need_the_csrf_token_with_the_cookie(server, ui_session, device):
    gw, device_id = device
    token, csrf = ui_session
    url = server.url(f"{IEC}/identities/{device_id}/configuration")
    configuration = {"from": "csrf-test", "n": secrets.randbelow(1000)}

    only_cookie = requests.put(url, json=configuration, cookies={COOKIE: token}, timeout=10)
    assert only_cookie.status_code in (401, 403), f"cookie without X-CSRF-Token: {only_cookie.status_code}"
    wrong = requests.put(url, json=configuration, cookies={COOKIE: token},
                         headers={"X-CSRF-Token": csrf[:-2] + ("AA" if csrf[-2:] != "AA" else "BB")}, timeout=10)
    assert wrong.status_code in (401, 403), f"a wrong CSRF token: {wrong.status_code}"
    empty = requests.put(url, json=configuration, cookies={COOKIE: token}, headers={"X-CSRF-Token": ""}, timeout=10)
    assert empty.status_code in (401, 403), f"an empty CSRF token: {empty.status_code}"
    no_cookie = requests.put(url, json=configuration, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert no_cookie.status_code == 401, f"no cookie: {no_cookie.status_code}"
    other = ui_sign_in(server).json()["csrfToken"]
    crossed = requests.put(url, json=configuration, cookies={COOKIE: token}, headers={"X-CSRF-Token": other}, timeout=10)
    assert crossed.status_code in (401, 403), f"another session's CSRF token: {crossed.status_code}"
    assert gw.ok("GET_CONFIG", {"id": device_id}, id=device_id) == {}, "a refused request changed the configuration"

    for method, path, params in (("POST", f"/identities/{device_id}", {"_action": "disable"}),
                                 ("DELETE", f"/identities/{device_id}", None),
                                 ("PUT", "/settings", None)):
        r = requests.request(method, server.url(IEC + path), params=params, cookies={COOKIE: token},
                             json={} if method == "PUT" else None, headers={"X-CSRF-Token": "x" * 43}, timeout=10)
        assert r.status_code in (401, 403), f"{method} {path} with a wrong CSRF token: {r.status_code}"
    assert IECAdmin(server).identity(device_id)["status"] == "registered"

    ok = requests.put(url, json=configuration, cookies={COOKIE: token}, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert ok.status_code == 200, f"cookie + CSRF token: {ok.status_code} {ok.text[:200]}"
    assert gw.ok("GET_CONFIG", {"id": device_id}, id=device_id) == configuration


def test_a_header_session_has_no_csrf_token_for_the_cookie_path(server, device):
    """A session from /json/realms/root/authenticate keeps working in the header, as before,
    but its cookie cannot make changes with any X-CSRF-Token (it has none)."""
    _, device_id = device
    token = server.sign_in().json()["tokenId"]
    url = server.url(f"{IEC}/identities/{device_id}/configuration")
    r = requests.put(url, json={"a": 1}, cookies={COOKIE: token}, headers={"X-CSRF-Token": "x" * 43}, timeout=10)
    assert r.status_code in (401, 403), r.status_code
    r = requests.put(url, json={"a": 1}, headers={COOKIE: token}, timeout=10)
    assert r.status_code == 200, f"the header path: {r.status_code} {r.text[:200]}"
    assert requests.get(server.url(SESSION), cookies={COOKIE: token}, timeout=10).json() == {"valid": False}


def test_sign_out_needs_the_csrf_token_and_ends_the_session(server):
    r = ui_sign_in(server)
    token, csrf = r.cookies[COOKIE], r.json()["csrfToken"]
    refused = requests.delete(server.url(SESSION), cookies={COOKIE: token}, timeout=10)
    assert refused.status_code in (401, 403), refused.status_code
    assert requests.get(server.url(SESSION), cookies={COOKIE: token}, timeout=10).json()["valid"] is True
    out = requests.delete(server.url(SESSION), cookies={COOKIE: token}, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert out.status_code == 200, f"{out.status_code} {out.text[:200]}"
    assert "Max-Age=0" in out.headers.get("Set-Cookie", ""), out.headers
    assert requests.get(server.url(SESSION), cookies={COOKIE: token}, timeout=10).json() == {"valid": False}
    r = requests.get(server.url(IEC + "/identities"), cookies={COOKIE: token}, timeout=10)
    assert r.status_code == 401, f"a signed-out cookie still reads: {r.status_code}"


def test_an_unknown_ui_key_is_a_configuration_error(iec_am_binary):
    server = UIServer(iec_am_binary)
    try:
        cfg = server.config()
        cfg["ui"] = {"directroy": "x"}
        server.config_path.write_text(json.dumps(cfg))
        proc = server.run_cli("serve", "--config", server.config_path, timeout=30)
        assert proc.returncode != 0, "iec-am served with an unknown ui key"
        assert "ui.directroy" in proc.stderr, proc.stderr
    finally:
        server.close()
