"""Drives the Edge Identity Manager (iec-am's /identitymanager) in headless Chromium.

Debian's `chromium` and `chromium-driver` (scripts/bootstrap.sh installs them),
driven by Selenium from PyPI through `/usr/bin/chromedriver`. When either is
missing, `require_browser()` skips the test with the reason.

    server, config = start_ui_server(binary)     # iec-am serving the UI from web/identitymanager
    ui = UIBrowser(server)                        # headless Chromium
    ui.sign_in()
    ui.wait_text("#page-heading", "Identities")
    ui.screenshot("identities")                   # tests/artifacts/ui/identities.png
    ui.close()

Only the chromedriver (and its Chromium) started here are ever stopped, by
Selenium's own `quit()`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from am_server import AMServer
from gateway import IECConfig

REPO = Path(__file__).resolve().parents[2]
UI_DIRECTORY = REPO / "web" / "identitymanager"
ARTIFACTS = REPO / "tests" / "artifacts" / "ui"

CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")


def browser_problem() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (tests/requirements.txt; run scripts/bootstrap.sh)"
    if not any(os.access(p, os.X_OK) for p in CHROMIUM_CANDIDATES) and not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium chromium-driver; scripts/bootstrap.sh does)"
    if not any(os.access(p, os.X_OK) for p in CHROMEDRIVER_CANDIDATES) and not shutil.which("chromedriver"):
        return "Debian's chromium-driver is not installed (apt-get install chromium-driver; scripts/bootstrap.sh does)"
    return None


def require_browser() -> None:
    problem = browser_problem()
    if problem:
        pytest.skip(f"no headless browser: {problem}")


class UIServer(AMServer):
    """An iec-am whose am.json also names the UI's folder (`ui.directory`)."""

    def __init__(self, binary: Path, *args, ui_directory: Path | None = UI_DIRECTORY, **kwargs):
        self.ui_directory = ui_directory
        super().__init__(binary, *args, **kwargs)

    def config(self) -> dict:
        cfg = super().config()
        if self.ui_directory is not None:
            cfg["ui"] = {"directory": str(self.ui_directory)}
        return cfg


def start_ui_server(binary: Path, **kwargs) -> tuple[UIServer, IECConfig]:
    """`iec-am setup --iec-config-out F`, then `iec-am serve` with the UI; the caller closes it."""
    server = UIServer(binary, **kwargs)
    try:
        out = server.root / "iec-config.json"
        server.setup("--iec-config-out", out)
        config = IECConfig.load(out)
        server.start()
    except BaseException:
        server.close()
        raise
    return server, config


class UIBrowser:
    """Headless Chromium on the Identity Manager of `server`."""

    def __init__(self, server: AMServer, width: int = 1360, height: int = 900, timeout: float = 15):
        require_browser()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.server = server
        self.timeout = timeout
        options = webdriver.ChromeOptions()
        binary = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)
        if binary:
            options.binary_location = binary
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                         "--disable-background-networking", "--disable-sync", "--password-store=basic",
                         f"--window-size={width},{height}", "--lang=en-US"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver_path = next((p for p in CHROMEDRIVER_CANDIDATES if os.access(p, os.X_OK)), None) \
            or shutil.which("chromedriver")
        self.driver = webdriver.Chrome(service=Service(driver_path), options=options)
        self.driver.set_page_load_timeout(30)

    # --- navigation ----------------------------------------------------------------

    def url(self, path: str = "/identitymanager/") -> str:
        return self.server.url(path)

    def open(self, path: str = "/identitymanager/") -> None:
        self.driver.get(self.url(path))

    def go(self, fragment: str) -> None:
        """Navigates inside the app: `go("#/r/edge/scripts")`."""
        self.driver.execute_script("window.location.hash = arguments[0];", fragment)

    def close(self) -> None:
        try:
            self.driver.quit()
        except Exception:
            pass

    # --- finding and waiting -------------------------------------------------------

    def wait(self, condition, timeout: float | None = None, message: str = ""):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait
        # The app redraws whole views: an element found a moment ago may be gone (stale); look again.
        return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.05,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                             ).until(condition, message)

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_visible(self, css: str, timeout: float | None = None):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout,
                         f"{css} did not become visible; page text: {self.page_text()[:800]}")

    def wait_text(self, css: str, text: str, timeout: float | None = None):
        """Waits until an element matching `css` contains `text`; returns it."""
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By

        def found(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if text in element.text:
                        return element
                except StaleElementReferenceException:
                    continue
            return False

        return self.wait(found, timeout, f"no {css} with text {text!r}; page text: {self.page_text()[:1200]}")

    def wait_gone(self, css: str, timeout: float | None = None) -> None:
        self.wait(lambda d: not self.find_all(css), timeout, f"{css} is still there")

    def page_text(self) -> str:
        try:
            return self.driver.find_element("tag name", "body").text
        except Exception as error:  # pragma: no cover - diagnostics only
            return f"(no page text: {error!r})"

    def click(self, css: str) -> None:
        element = self.wait_visible(css)
        self.wait(lambda d: element.is_enabled(), message=f"{css} stays disabled")
        element.click()

    def fill(self, css: str, text: str) -> None:
        element = self.wait_visible(css)
        element.clear()
        element.send_keys(text)

    def set_value(self, css: str, text: str) -> None:
        """Replaces a field's value as a paste would (fast for long text), firing `input`."""
        element = self.wait_visible(css)
        self.driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            element, text)

    def select(self, css: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select
        Select(self.wait_visible(css)).select_by_value(value)

    # --- the app -------------------------------------------------------------------

    def sign_in(self, username: str | None = None, password: str | None = None, realm: str = "") -> None:
        self.open()
        self.wait_visible("#signin-username")
        self.fill("#signin-username", username or self.server.admin_username)
        self.fill("#signin-password", password if password is not None else self.server.admin_password)
        if realm:
            self.fill("#signin-realm", realm)
        self.click("#signin-submit")

    def wait_identity_row(self, node_id: str, timeout: float | None = None):
        def row(driver):
            return driver.execute_script(
                "return [...document.querySelectorAll('#identities-table tbody tr')]"
                ".find((tr) => tr.dataset.id === arguments[0]) || false;", node_id)
        return self.wait(row, timeout, f"no identities row for {node_id!r}; page text: {self.page_text()[:1200]}")

    def identity_row_ids(self) -> list[str]:
        """The names in the identities table now (rows of data only)."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#identities-table tbody tr')]"
            ".map((tr) => tr.dataset.id).filter((id) => id !== undefined);")

    def unlabelled_fields(self) -> list[str]:
        """Form fields of the page without a label (nor aria-label): should be none."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('input, select, textarea')]"
            ".filter((c) => c.type !== 'hidden' && c.labels.length === 0 && !c.getAttribute('aria-label'))"
            ".map((c) => c.outerHTML.slice(0, 200));")

    def confirm(self) -> str:
        """Waits for the confirmation dialog, returns its text, presses its confirm button."""
        dialog = self.wait_visible("#confirm-dialog")
        text = dialog.text
        self.click("#confirm-ok")
        self.wait(lambda d: not self.find("#confirm-dialog").is_displayed(), message="the dialog stays open")
        return text

    def cookie(self, name: str) -> dict | None:
        return self.driver.get_cookie(name)

    def screenshot(self, name: str, full: bool = True) -> Path:
        """A PNG of the page now (all of it, or only the window), in tests/artifacts/ui (git-ignored)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        time.sleep(0.15)  # let the last paint land
        try:
            if not full:
                raise LookupError("the window only")
            # The whole page, not only the window (Chromium's DevTools protocol).
            import base64
            size = self.driver.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}})
            path.write_bytes(base64.b64decode(shot["data"]))
        except Exception:
            self.driver.save_screenshot(str(path))
        assert path.is_file() and path.stat().st_size > 1000, f"screenshot {path} was not written"
        return path

    def assert_no_alert(self) -> None:
        from selenium.common.exceptions import NoAlertPresentException
        try:
            alert = self.driver.switch_to.alert
        except NoAlertPresentException:
            return
        text = alert.text
        alert.dismiss()
        raise AssertionError(f"a JavaScript alert fired: {text!r}")

    def console_errors(self) -> list[str]:
        """SEVERE browser-log lines (script errors, CSP violations), read once."""
        try:
            entries = self.driver.get_log("browser")
        except Exception:
            return []
        return [entry.get("message", "") for entry in entries if entry.get("level") == "SEVERE"]
