"""The Edge Identity Manager in headless Chromium, against a real iec-am and a Python gateway.

A gateway registers a client and a device (tests/interop/gateway.py); then, in
the browser, an administrator signs in, finds the device, edits its
configuration (the gateway's next GET_CONFIG returns it), disables it (its next
GET_TOKENS fails and its earlier token introspects inactive), enables it,
edits and maps a script, edits a setting, reads the audit, deletes a client
with its device after a confirmation listing them, and deletes the device.
User-supplied text that looks like HTML stays text. Screenshots of the main
screens go to tests/artifacts/ui/.

The tests run in order and build on each other (module-scoped fixtures).
"""

from __future__ import annotations

import json
import secrets
import time

import pytest
import requests

from am_server import COOKIE
from gateway import CommandFailed, Gateway, IECAdmin, NodeKey
from ui_browser import UIBrowser, require_browser, start_ui_server

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def iec(iec_am_binary):
    require_browser()
    server, config = start_ui_server(iec_am_binary)
    try:
        yield server, config
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(iec):
    return iec[0]


@pytest.fixture(scope="module")
def admin(server):
    return IECAdmin(server)


@pytest.fixture(scope="module")
def token_endpoint(server):
    return server.discovery()["token_endpoint"]


class Tree:
    def __init__(self, gw: Gateway):
        self.gw = gw
        self.client_id = "app-ui-" + secrets.token_hex(3)
        self.device_id = "dev-ui-" + secrets.token_hex(3)
        self.token: str | None = None


@pytest.fixture(scope="module")
def tree(iec):
    _, config = iec
    gw = Gateway(config, name="gw-ui-" + secrets.token_hex(3))
    gw.register()
    t = Tree(gw)
    gw.register_client(t.client_id)
    gw.register_device(t.device_id, t.client_id)
    return t


@pytest.fixture(scope="module")
def ui(server, tree):
    browser = UIBrowser(server)
    try:
        yield browser
    finally:
        errors = browser.console_errors()
        browser.close()
        print("browser console errors:", *errors, sep="\n  ")
        csp = [line for line in errors if "Content Security Policy" in line or "Content-Security-Policy" in line]
        assert not csp, f"the page broke its own Content-Security-Policy: {csp}"


def test_sign_in_with_the_keyboard(ui, server):
    from selenium.webdriver.common.keys import Keys

    ui.open()
    ui.wait_visible("#signin-form")
    ui.wait_text("#page-heading", "Sign in")
    assert ui.unlabelled_fields() == [], "form fields without a label"
    ui.screenshot("signin")

    # A wrong password: a readable error, and still the sign-in page.
    ui.fill("#signin-username", server.admin_username)
    ui.fill("#signin-password", "not-the-password")
    ui.find("#signin-password").send_keys(Keys.ENTER)
    error = ui.wait_text("#signin-error", "wrong")
    assert "user name or password is wrong" in error.text, error.text
    assert ui.cookie(COOKIE) is None, "a failed sign-in set a session cookie"

    # Then only the keyboard: the user name field has the focus; Tab, type, Enter.
    ui.open()
    ui.wait_visible("#signin-username")
    ui.wait(lambda d: d.switch_to.active_element.get_attribute("id") == "signin-username",
            message="the user name field should have the focus")
    active = ui.driver.switch_to.active_element
    active.send_keys(server.admin_username, Keys.TAB)
    ui.driver.switch_to.active_element.send_keys(server.admin_password, Keys.ENTER)
    ui.wait_text("#page-heading", "Identities")
    cookie = ui.cookie(COOKIE)
    assert cookie and cookie["httpOnly"] is True and cookie.get("sameSite") == "Strict", cookie
    assert ui.driver.execute_script("return document.cookie") == "", "the session cookie must not be readable by script"


def test_find_the_device(ui, tree):
    ui.wait_identity_row(tree.device_id)
    summary = ui.find("#identities-summary").text
    assert "of 3 identities" in summary, summary
    ui.screenshot("identities")

    ui.fill("#filter-q", tree.device_id[-6:])
    ui.click("#filter-submit")
    ui.wait(lambda d: ui.identity_row_ids() == [tree.device_id],
            message=f"the search should list only {tree.device_id}: {ui.page_text()[:600]}")
    assert "q=" in ui.driver.current_url, ui.driver.current_url

    # Filters: type client finds the client only; status disabled finds nothing.
    ui.fill("#filter-q", "")
    ui.select("#filter-type", "client")
    ui.click("#filter-submit")
    ui.wait(lambda d: ui.identity_row_ids() == [tree.client_id],
            message="type=client")
    ui.select("#filter-type", "")
    ui.select("#filter-status", "disabled")
    ui.click("#filter-submit")
    ui.wait_text("#identities-table tbody td", "No identity matches")
    ui.select("#filter-status", "")
    ui.fill("#filter-q", tree.device_id)
    ui.click("#filter-submit")
    row = ui.wait_identity_row(tree.device_id)
    row.find_element("css selector", "a.identity-link").click()
    ui.wait_text("#page-heading", tree.device_id)
    ui.wait_visible("#config-editor")
    assert tree.client_id in ui.find("#identity-summary").text
    assert ui.unlabelled_fields() == [], "form fields without a label"
    # Up to the parent, and down again through its children.
    ui.click("#identity-parent")
    ui.wait_text("#page-heading", tree.client_id)
    ui.wait_text("#children-table", tree.device_id)
    ui.find("#children-table a").click()
    ui.wait_text("#page-heading", tree.device_id)
    ui.wait_visible("#config-editor")


def test_edit_the_configuration_and_the_gateway_gets_it(ui, tree):
    gw = tree.gw
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id) == {}

    # Not JSON: the editor says why, and nothing is saved.
    ui.set_value("#config-editor", '{"sampling": 5,, }')
    ui.click("#config-save")
    error = ui.wait_text("#config-error", "not valid JSON")
    assert "Not saved" in error.text, error.text
    assert ui.find("#config-editor").get_attribute("aria-invalid") == "true"
    ui.set_value("#config-editor", '[1, 2]')
    ui.click("#config-save")
    ui.wait_text("#config-error", "must be a JSON object")
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id) == {}, "invalid JSON was saved"

    configuration = {"sampling": {"interval_seconds": 5, "sensors": ["t1", "h2"]}, "label": "Hall <B>",
                     "enabled": True}
    ui.set_value("#config-editor", json.dumps(configuration, indent=1))
    ui.click("#config-check")
    ui.wait_text("#config-status", "Valid JSON")
    ui.click("#config-save")
    ui.wait_text("#notice", "configuration of")
    assert gw.ok("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id) == configuration
    assert json.loads(ui.find("#config-editor").get_attribute("value")) == configuration
    ui.screenshot("detail")


def test_disable_stops_tokens_then_enable(ui, tree, token_endpoint):
    gw = tree.gw
    r = gw.get_tokens(tree.device_id, token_endpoint)
    if r.status_code != 200:
        raise CommandFailed("GET_TOKENS before disabling", r)
    earlier = r.json()["access_token"]
    assert gw.ok("INTROSPECT", {"token": earlier})["active"] is True

    ui.click("#action-disable")
    ui.wait_text("#identity-status", "disabled")
    ui.wait_text("#notice", "is disabled")
    ui.wait_visible("#action-enable")
    r = gw.get_tokens(tree.device_id, token_endpoint)
    assert r.status_code in (401, 403), f"GET_TOKENS of a disabled device: {r.status_code} {r.text[:300]}"
    assert gw.ok("INTROSPECT", {"token": earlier}) == {"active": False}, "the earlier token is still active"

    ui.click("#action-enable")
    ui.wait_text("#identity-status", "registered")
    ui.wait_visible("#action-disable")
    r = gw.get_tokens(tree.device_id, token_endpoint)
    assert r.status_code == 200, f"GET_TOKENS after enabling: {r.status_code} {r.text[:300]}"
    tree.token = r.json()["access_token"]


def test_revoke_tokens_after_confirmation(ui, tree):
    gw = tree.gw
    assert gw.ok("INTROSPECT", {"token": tree.token})["active"] is True
    ui.click("#action-revoke")
    ui.wait_visible("#confirm-dialog")
    ui.click("#confirm-cancel")
    assert gw.ok("INTROSPECT", {"token": tree.token})["active"] is True, "cancel still revoked"
    ui.click("#action-revoke")
    text = ui.confirm()
    assert "stops working" in text, text
    ui.wait_text("#notice", "revoked")
    assert gw.ok("INTROSPECT", {"token": tree.token}) == {"active": False}


def test_html_looking_names_show_as_text(ui, iec, admin, server):
    """`<img src=x onerror=alert(1)>` through every channel that takes it; never markup."""
    _, config = iec
    gw = Gateway(config, name="gw-xss-" + secrets.token_hex(3))
    # The gateway's own registration carries it in its platform and version claims.
    step = gw.begin("device_registration")
    pop = gw.pop(step.nonce, registration=True, extra={"platform": XSS, "version": "</textarea><script>alert(2)</script>"})
    gw._take_session(gw.answer(step, pop, gw.registration_id_token()), "registration")
    # An identity named exactly so.
    named = gw.command("REGISTER_CLIENT", {"id": XSS, "jwk": NodeKey().jwk()})
    assert named.status_code == 200, f"REGISTER_CLIENT {XSS!r}: {named.status_code} {named.text[:300]}"
    odd = "javascript:alert(3)&x'y" + secrets.token_hex(2)
    gw.register_client(odd)
    admin.set_configuration(odd, {"note": XSS, XSS: "key"})
    # An administrator's failed sign-in with that user name lands in the audit.
    requests.post(server.url("/identitymanager/api/session"), json={"username": XSS, "password": "x"}, timeout=30)

    ui.go(f"#/r/edge/identities?q={requests.utils.quote(gw.name)}")
    ui.wait_identity_row(gw.name)
    ui.go(f"#/r/edge/identities/{requests.utils.quote(gw.name, safe='')}")
    ui.wait_text("#attributes", XSS)
    assert "</textarea><script>alert(2)</script>" in ui.find("#attributes").text
    ui.assert_no_alert()

    ui.go(f"#/r/edge/identities/{requests.utils.quote(XSS, safe='')}")
    ui.wait_text("#page-heading", XSS)
    ui.go("#/r/edge/identities?type=client")
    ui.wait_identity_row(XSS)
    ui.go(f"#/r/edge/identities/{requests.utils.quote(odd, safe='')}")
    ui.wait_text("#page-heading", odd)
    assert XSS in ui.find("#config-editor").get_attribute("value")
    parent = ui.find("#identity-parent")
    assert parent.get_attribute("href").split("#", 1)[1].startswith("/r/edge/identities/"), parent.get_attribute("href")
    ui.go("#/r/edge/identities?type=client")
    ui.wait_identity_row(odd)
    links = [a.get_attribute("href") for a in ui.find_all("#identities-table a")]
    assert all(href.startswith(server.url("/identitymanager/")) and "#/r/edge/identities/" in href for href in links), links
    ui.go("#/r/edge/audit?of=root")
    ui.wait_text("#audit-table", XSS)
    ui.assert_no_alert()
    images = ui.driver.execute_script("return document.querySelectorAll('img').length")
    scripts = ui.driver.execute_script("return [...document.scripts].map((s) => s.src)")
    assert images == 0, "an <img> element came from the data"
    assert all(src.startswith(server.url("/identitymanager/")) for src in scripts), scripts
    time.sleep(0.3)
    ui.assert_no_alert()


def test_scripts_edit_and_map_a_command(ui, tree, admin):
    ui.go("#/r/edge/scripts")
    ui.wait_text("#scripts-table", "GetDeviceConfig")
    ui.wait_text("#mappings-table", "GET_CONFIG")
    assert ui.unlabelled_fields() == [], "form fields without a label"
    ui.screenshot("scripts")

    name = "UiGreeting" + secrets.token_hex(2)
    ui.fill("#new-script-name", name)
    ui.click("#new-script-open")
    ui.wait_text("#page-heading", name)
    ui.wait_visible("#script-new")
    ui.set_value("#script-source", "response = { greeting: 'hi' + ;")
    ui.fill("#script-description", "made in the browser test")
    ui.click("#script-save")
    error = ui.wait_text("#script-error", "does not compile")
    assert "Not saved" in error.text, error.text
    ui.set_value("#script-source", "response = { greeting: 'hello ' + params.who, from: identity.getName() };")
    ui.click("#script-save")
    ui.wait_text("#notice", "is created")
    ui.wait_visible("#script-delete")

    command = "UI_GREET_" + secrets.token_hex(2).upper()
    ui.go("#/r/edge/scripts")
    ui.wait_text("#scripts-table", name)
    ui.fill("#map-command", command)
    ui.select("#map-script", name)
    ui.click("#map-submit")
    ui.wait_text("#notice", f"{command} now runs")
    ui.wait_text("#mappings-table", command)
    settings = admin.settings()
    assert settings["command_scripts"][command] == name, settings["command_scripts"]
    assert settings["command_scripts"].get("GET_CONFIG"), "mapping a command lost the others"
    answer = tree.gw.ok(command, {"id": tree.device_id, "who": "ui"}, id=tree.device_id)
    assert answer == {"response": {"greeting": "hello ui", "from": tree.device_id}}, answer


def test_settings_view_and_edit(ui, admin):
    ui.go("#/r/edge/settings")
    field = ui.wait_visible("#setting-max_id_token_lifetime")
    assert field.get_attribute("value") in ("3600", "3600.0"), field.get_attribute("value")
    assert ui.find("#setting-vendor_secret").get_attribute("value") == "", "the vendor secret must never be shown"
    assert ui.unlabelled_fields() == [], "form fields without a label"
    ui.screenshot("settings")
    ui.fill("#setting-session_idle_timeout", "0")
    ui.click("#settings-save")
    ui.wait_text("#settings-error", "from 1 to")
    ui.fill("#setting-session_idle_timeout", "1800")
    ui.fill("#setting-max_id_token_lifetime", "1800")
    ui.click("#settings-save")
    ui.wait_text("#notice", "Settings saved")
    assert admin.settings()["max_id_token_lifetime"] == 1800


def test_audit_shows_what_the_admin_did(ui, server, tree):
    ui.go("#/r/edge/audit")
    table = ui.wait_text("#audit-table", "identity.configure")
    for action in ("identity.disable", "identity.enable", "identity.revoke_tokens", "script.put", "settings.update"):
        assert action in table.text, f"{action} not in the audit view: {table.text[:1500]}"
    assert server.admin_username in table.text and tree.device_id in table.text
    ui.screenshot("audit")


def test_paging_through_the_identities(ui, tree, admin):
    gw = tree.gw
    for i in range(26):
        gw.register_device(f"dev-page-{i:02d}-" + secrets.token_hex(2), tree.client_id)
    total = admin.identities(_pageSize=1)["totalCount"]
    assert total > 26, total
    ui.go("#/r/edge/identities?size=25")
    ui.wait_text("#page-number", f"Page 1 of {(total + 24) // 25}")
    first = ui.identity_row_ids()
    assert len(first) == 25 and first == sorted(first), first
    assert f"of {total} identities" in ui.find("#identities-summary").text
    ui.click("#page-next")
    ui.wait_text("#page-number", "Page 2 of")
    second = ui.identity_row_ids()
    assert second and not set(second) & set(first) and second[0] > first[-1], (first, second)
    ui.click("#page-prev")
    ui.wait_text("#page-number", "Page 1 of")
    assert ui.identity_row_ids() == first
    ui.driver.back()
    ui.wait_text("#page-number", "Page 2 of")
    assert ui.identity_row_ids() == second, "the browser's Back should go to the page before"
    ui.click("#page-first")
    ui.wait_text("#page-number", "Page 1 of")
    ui.select("#filter-type", "device")
    ui.fill("#filter-q", "dev-page-")
    ui.click("#filter-submit")
    ui.wait_text("#identities-summary", "of 26 identities")
    assert ui.find("#page-number").text == "Page 1 of 2", "the page size should stay 25 through a search"
    assert all(node.startswith("dev-page-") for node in ui.identity_row_ids())


def test_delete_a_client_with_its_device_after_confirmation(ui, tree, admin):
    gw = tree.gw
    client_id, device_id = "app-del-" + secrets.token_hex(3), "dev-del-" + secrets.token_hex(3)
    gw.register_client(client_id)
    gw.register_device(device_id, client_id)
    ui.go(f"#/r/edge/identities/{client_id}")
    ui.wait_text("#children-table", device_id)

    ui.click("#action-delete")
    dialog = ui.wait_visible("#confirm-dialog")
    ui.wait_text("#confirm-list", device_id)
    assert client_id in dialog.text and "cannot be undone" in dialog.text, dialog.text
    ui.screenshot("delete-confirmation", full=False)
    ui.click("#confirm-cancel")
    assert admin.identity(client_id)["id"] == client_id, "cancel still deleted"

    ui.click("#action-delete")
    ui.wait_text("#confirm-list", device_id)
    ui.confirm()
    ui.wait_text("#page-heading", "Identities")
    ui.wait_text("#notice", "2 identities are deleted")
    for node in (client_id, device_id):
        assert admin.call("GET", f"/identities/{node}").status_code == 404, f"{node} still exists"


def test_delete_the_device(ui, tree, admin):
    gw = tree.gw
    ui.go(f"#/r/edge/identities/{tree.device_id}")
    ui.wait_visible("#action-delete")
    ui.click("#action-delete")
    text = ui.confirm()
    assert tree.device_id in text, text
    ui.wait_text("#notice", f"{tree.device_id} is deleted")
    ui.fill("#filter-q", tree.device_id)
    ui.click("#filter-submit")
    ui.wait_text("#identities-table tbody td", "No identity matches")
    assert admin.call("GET", f"/identities/{tree.device_id}").status_code == 404
    r = gw.command("GET_CONFIG", {"id": tree.device_id}, id=tree.device_id)
    assert r.status_code in (403, 404), f"GET_CONFIG of a deleted device: {r.status_code} {r.text[:200]}"


def test_an_ended_session_returns_to_sign_in(ui, server, tree):
    """When the session ends under the page (timeout, sign-out elsewhere), the next request's 401
    brings the sign-in page with a message; signing in again goes back where the admin was."""
    ui.go(f"#/r/edge/identities/{tree.client_id}")
    ui.wait_text("#page-heading", tree.client_id)
    token = ui.cookie(COOKIE)["value"]
    r = requests.post(server.url("/json/realms/root/sessions"), params={"_action": "logout"},
                      headers={COOKIE: token}, timeout=10)
    assert r.status_code == 200, r.text
    ui.click("#action-disable")
    message = ui.wait_text("#signin-message", "session has ended")
    assert "Sign in again" in message.text, message.text
    ui.wait_visible("#signin-username")
    assert admin_status(server, tree.client_id) == "registered", "a request without a session changed something"
    ui.fill("#signin-username", server.admin_username)
    ui.fill("#signin-password", server.admin_password)
    ui.click("#signin-submit")
    ui.wait_text("#page-heading", tree.client_id)


def test_reload_keeps_the_session_and_sign_out_ends_it(ui, server):
    ui.driver.refresh()
    ui.wait_visible("#action-delete")
    token = ui.cookie(COOKIE)["value"]
    ui.click("#sign-out")
    ui.wait_text("#signin-message", "signed out")
    r = requests.get(server.url("/identitymanager/api/session"), cookies={COOKIE: token}, timeout=10)
    assert r.json() == {"valid": False}, r.text
    ui.driver.refresh()
    ui.wait_visible("#signin-username")


def admin_status(server, node_id: str) -> str:
    return IECAdmin(server).identity(node_id)["status"]
