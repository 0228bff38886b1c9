"""The dashboard in a real browser (Debian's headless Chromium through chromedriver) against
``pbdeployer serve`` and one real host: log in, add a server, set it up, add an app, upload
versions, deploy and watch the progress reach 100% live, see a failed deploy's message, roll
back, and read the API docs offline. Screenshots of the pages land in docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from pbdeployer.testing.hosts import TestHost
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary
from tests.served import TOKEN, Controller

pytestmark = [pytest.mark.host, pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BROKEN = b"#!/bin/sh\necho 'this release is broken' >&2\nexit 1\n"
DESKTOP = (1280, 900)
PHONE = (390, 844)
_STATE = """const p = document.getElementById('progress');
return p ? [p.value, document.getElementById('live').dataset.active, window.watched === true]
  : null;"""


@dataclass
class Dashboard:
    driver: WebDriver
    base: str

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def text(self, css: str) -> str:
        return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

    def fill(self, values: dict[str, str]) -> None:
        for field, value in values.items():
            element = self.driver.find_element(By.ID, field)
            element.clear()
            element.send_keys(value)

    def press(self, label: str) -> None:
        self.driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']").click()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def wait_for(self, css: str, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(StaleElementReferenceException):  # the page changed
                found = self.driver.find_elements(By.CSS_SELECTOR, css)
                if found and text in found[0].text:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{css} never showed {text!r}; it shows {self.text(css)!r}")

    def follow_live(self, seconds: float = 300) -> list[int]:
        """Progress values the open task page showed until its run finished, then wait for the
        page to settle on the run's final record (it reloads itself at the end).

        Read every 50 ms from the page opened mid-run only (marked, so a reload shows), so
        each value came over the WebSocket, not from a later page load.
        """
        self.driver.execute_script("window.watched = true;")
        seen: list[int] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.driver.execute_script(_STATE)
            if state is not None and state[1] == "false":
                return seen
            if state is not None and state[2] and (not seen or seen[-1] != state[0]):
                seen.append(int(state[0]))
            time.sleep(0.05)
        raise AssertionError(f"the run did not finish in {seconds} s; progress seen: {seen}")


def chromium() -> WebDriver:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    controller = Controller(tmp_path_factory.mktemp("dashboard") / "data")
    controller.start().close()
    driver = chromium()
    try:
        yield Dashboard(driver, f"http://127.0.0.1:{controller.port}")
    finally:
        driver.quit()
        controller.stop()


def app_zip(folder: Path, label: str, binary: Path | bytes, **files: str) -> Path:
    """Stored, not deflated: on loopback the bigger upload costs less than compressing."""
    return build_app_zip(
        folder / f"{label}.zip",
        binary=binary,
        migrations=files or None,
        compression=zipfile.ZIP_STORED,
    )


def log_in(ui: Dashboard) -> None:
    ui.open("/ui/servers/new")
    assert ui.driver.current_url.endswith("/ui/login?next=/ui/servers/new")
    assert ui.driver.get_cookies() == []
    ui.shot("login")
    field = ui.driver.switch_to.active_element  # the token field has the focus: type, Enter
    assert field.get_attribute("id") == "token"
    field.send_keys(TOKEN + Keys.ENTER)
    ui.wait_for("h1", "Add a server")
    [cookie] = ui.driver.get_cookies()
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert ui.driver.execute_script("return document.cookie") == ""


def deploy(ui: Dashboard, label: str) -> list[int]:
    select = ui.driver.find_element(By.ID, "version_id")
    select.find_element(By.XPATH, f"option[normalize-space()='{label}']").click()
    ui.press("Deploy this version")
    ui.wait_for("h1", "Deploy of")
    return ui.follow_live()


def test_a_deploy_from_login_to_rollback_in_the_browser(
    dashboard: Dashboard, fresh_host: TestHost, tmp_path: Path
) -> None:
    ui = dashboard
    log_in(ui)
    ui.fill(
        {
            "name": "browser-web",
            "host": fresh_host.address,
            "port": str(fresh_host.port),
            "manual_key_path": str(fresh_host.key_path),
        }
    )
    ui.press("Add server")
    ui.wait_for("h1", "Server browser-web")
    server_page = ui.driver.current_url

    ui.press("Run setup")
    ui.wait_for("h1", "Task setup")
    ui.wait_for("#log li", "", seconds=120)  # running: reload the page mid-run
    ui.driver.refresh()
    seen = ui.follow_live(600)
    assert seen[-1] == 100, seen
    ui.wait_for("#status", "succeeded")
    ui.wait_for("#log li", "")  # the final page replays the log over the socket
    ui.shot("task")

    ui.driver.get(server_page)
    ui.driver.find_element(By.LINK_TEXT, "Add an app here").click()
    ui.fill({"name": "browserapp"})
    ui.press("Add app")
    ui.wait_for("h1", "App browserapp")
    app_page = ui.driver.current_url

    good = pocketbase_binary(PINNED_VERSIONS[0])
    for label, binary, files in (
        ("v1", good, {}),
        ("v2", good, {"1_notes.js": "migrate((app) => {}, (app) => {});"}),
        ("v3", BROKEN, {}),
    ):
        ui.fill({"version_number": label})
        ui.driver.find_element(By.ID, "file").send_keys(
            str(app_zip(tmp_path, label, binary, **files))
        )
        ui.press("Upload")
        ui.wait_for("#version_id", label)

    first = deploy(ui, "v1")
    assert first[-1] == 100, first
    assert len(first) >= 2, first  # it moved while the page watched
    ui.wait_for("#status", "succeeded")
    ui.wait_for("#log li", "")
    ui.shot("deployment")
    ui.driver.get(app_page)
    assert deploy(ui, "v2")[-1] == 100
    ui.driver.get(app_page)

    deploy(ui, "v3")
    ui.wait_for("#status", "failed")
    assert "rolled back to release 'v2'" in ui.text("#message")
    ui.wait_for("#log li", "")  # the reloaded page replays the log
    ui.shot("deployment-failed")

    ui.driver.get(app_page)
    assert ui.text("#current-version") == "v2"
    ui.press("Roll back")  # to the release live before the current one

    ui.wait_for("h1", "Rollback of")
    ui.follow_live()
    ui.wait_for("#status", "succeeded")
    ui.driver.get(app_page)
    assert ui.text("#current-version") == "v1"
    ui.shot("app")

    ui.driver.get(server_page)
    ui.driver.find_element(By.LINK_TEXT, "Units and logs").click()
    ui.wait_for("h1", "Units on")
    assert "active (running)" in ui.text("tbody tr")
    ui.driver.find_element(By.LINK_TEXT, "Logs").click()
    ui.wait_for("h1", "Logs of pocketbase-browserapp")
    assert ui.text("pre.log"), "the service log was empty"

    ui.open("/ui")
    ui.wait_for("h1", "Overview")
    ui.shot("overview")
    ui.driver.set_window_size(*PHONE)
    ui.driver.refresh()
    overflow = ui.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the overview scrolls sideways on a phone"
    ui.shot("overview-phone")
    ui.driver.set_window_size(*DESKTOP)


def test_the_docs_page_renders_from_the_package_alone(dashboard: Dashboard) -> None:
    dashboard.open("/api/v1/schema")
    dashboard.wait_for(".swagger-ui .info .title", "pbdeployer", seconds=30)
    loaded = dashboard.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded, "the page loaded no assets"
    assert all(url.startswith(dashboard.base + "/static/") for url in loaded), loaded
    dashboard.shot("api-docs")


def test_a_form_from_another_origin_is_refused_by_the_browser(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    """Another port of the same host is the same site, so the cookie goes along: the Origin
    check alone stops the post."""
    ui = dashboard
    ui.open("/ui/login")
    ui.fill({"token": TOKEN})
    ui.press("Log in")
    ui.wait_for("h1", "Overview")
    (tmp_path / "other.html").write_text(
        f'<form method="post" action="{ui.base}/ui/servers">'
        '<input name="name" value="planted"><input name="host" value="203.0.113.9"></form>'
        "<script>document.forms[0].submit()</script>"
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            ui.driver.get(f"http://127.0.0.1:{other.server_address[1]}/other.html")
            ui.wait_for("h1", "Refused")
        finally:
            other.shutdown()
    assert ui.driver.current_url == f"{ui.base}/ui/servers"
    assert "not sent from this dashboard" in ui.text("main")
    ui.open("/ui")
    assert "planted" not in ui.text("main")
