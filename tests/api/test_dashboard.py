"""The dashboard's doors: no page without the token, a cookie scripts cannot read, no form from
another site, and a docs page that loads nothing from elsewhere. (The browser tests in
tests/integration/test_dashboard_browser.py drive the pages themselves.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from websockets.sync.client import connect

from pbdeployer.api import create_app
from pbdeployer.api.session import COOKIE, csrf_token
from pbdeployer.settings import Settings
from tests.served import ServerThread

ORIGIN = "http://testserver.local"
SAME_SITE = {"origin": ORIGIN}
SERVER_ID = "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"
PAGES = [
    "/ui",
    "/ui/servers/new",
    "/ui/apps/new",
    f"/ui/servers/{SERVER_ID}",
    f"/ui/servers/{SERVER_ID}/units",
    f"/ui/servers/{SERVER_ID}/units/pocketbase-blog/logs",
    f"/ui/apps/{SERVER_ID}",
    f"/ui/tasks/{SERVER_ID}",
    f"/ui/deployments/{SERVER_ID}",
]
FORMS = [
    "/ui/servers",
    f"/ui/servers/{SERVER_ID}/setup",
    f"/ui/servers/{SERVER_ID}/units/pocketbase-blog/restart",
    "/ui/apps",
    f"/ui/apps/{SERVER_ID}/deploy",
    f"/ui/apps/{SERVER_ID}/rollback",
    f"/ui/tasks/{SERVER_ID}/cancel",
    f"/ui/deployments/{SERVER_ID}/cancel",
    "/ui/logout",
]
SERVER_FORM = {"name": "web1", "host": "203.0.113.10", "port": "22"}


@pytest.fixture
def browser(settings: Settings, token: str) -> Iterator[TestClient[Any]]:
    """A client without the bearer header, as a browser is."""
    with TestClient(create_app(settings, token=token), base_url=ORIGIN) as client:
        yield client


def log_in(browser: TestClient[Any], token: str) -> None:
    answer = browser.post(
        "/ui/login", data={"token": token, "next": "/ui"}, headers=SAME_SITE, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def server_names(browser: TestClient[Any]) -> list[str]:
    page = browser.get("/ui")
    assert page.status_code == 200
    return re.findall(r'<a href="/ui/servers/[0-9A-Z]{26}">([^<]+)</a>', page.text)


@pytest.mark.parametrize("path", PAGES)
def test_no_page_answers_without_the_token(browser: TestClient[Any], token: str, path: str) -> None:
    for cookie in (None, "wrong-token", token[:-1], token.swapcase()):
        browser.cookies.clear()
        if cookie is not None:
            browser.cookies.set(COOKIE, cookie)
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 303, (path, cookie)
        assert answer.headers["location"] == f"/ui/login?next={path}"
        assert "<main" not in answer.text
    browser.cookies.set(COOKIE, token)
    assert browser.get(path, follow_redirects=False).status_code != 303


@pytest.mark.parametrize("path", FORMS)
def test_no_form_is_taken_without_the_token(browser: TestClient[Any], path: str) -> None:
    csrf = csrf_token("some-other-token-entirely-0123456789")
    answer = browser.post(path, data={"csrf": csrf}, headers=SAME_SITE, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")


def test_the_login_cookie_is_http_only_and_same_site_strict(
    browser: TestClient[Any], token: str
) -> None:
    wrong = browser.post("/ui/login", data={"token": "nope"}, headers=SAME_SITE)
    assert wrong.status_code == 401
    assert "not this server&#39;s API token" in wrong.text
    assert "set-cookie" not in wrong.headers
    answer = browser.post(
        "/ui/login", data={"token": token, "next": "/ui"}, headers=SAME_SITE, follow_redirects=False
    )
    assert answer.headers["location"] == "/ui"
    attributes = [part.strip().lower() for part in answer.headers["set-cookie"].split(";")]
    assert attributes[0] == f"{COOKIE}={token}".lower()
    assert {"httponly", "samesite=strict", "path=/"} <= set(attributes)
    page = browser.get("/ui")
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' rules
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert token not in page.text  # the page never echoes the token itself
    out = browser.post("/ui/logout", data={"csrf": csrf_token(token)}, headers=SAME_SITE)
    assert out.url.path == "/ui/login"
    assert browser.get("/ui", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_login_only_sends_back_into_the_dashboard(
    browser: TestClient[Any], token: str, wanted: str
) -> None:
    answer = browser.post(
        "/ui/login",
        data={"token": token, "next": wanted},
        headers=SAME_SITE,
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/ui"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.local.evil.example"},
        {"referer": "http://evil.example/ui"},
        {},
    ],
)
def test_a_form_posted_from_another_origin_is_refused(
    browser: TestClient[Any], token: str, headers: dict[str, str]
) -> None:
    log_in(browser, token)
    form = SERVER_FORM | {"csrf": csrf_token(token)}
    answer = browser.post("/ui/servers", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert "not sent from this dashboard" in answer.text
    assert server_names(browser) == []
    login = browser.post("/ui/login", data={"token": token}, headers=headers)
    assert login.status_code == 403  # nor can another site log a browser in


def test_a_form_without_its_csrf_value_is_refused(browser: TestClient[Any], token: str) -> None:
    log_in(browser, token)
    for csrf in ("", csrf_token("another-token-of-the-same-length-1234"), csrf_token(token)[:-1]):
        answer = browser.post("/ui/servers", data=SERVER_FORM | {"csrf": csrf}, headers=SAME_SITE)
        assert answer.status_code == 403
    assert server_names(browser) == []
    made = browser.post(
        "/ui/servers", data=SERVER_FORM | {"csrf": csrf_token(token)}, headers=SAME_SITE
    )
    assert made.status_code == 200
    assert server_names(browser) == ["web1"]


def test_a_refused_field_is_named_on_the_page(browser: TestClient[Any], token: str) -> None:
    log_in(browser, token)
    for port, reason in (("ssh", "port: must be a number"), ("70000", "port")):
        form = SERVER_FORM | {"csrf": csrf_token(token), "port": port}
        answer = browser.post("/ui/servers", data=form, headers=SAME_SITE)
        assert answer.status_code == 422
        assert reason in answer.text
    assert server_names(browser) == []


def test_every_form_field_has_a_label(browser: TestClient[Any], token: str) -> None:
    log_in(browser, token)
    form = SERVER_FORM | {"csrf": csrf_token(token)}
    browser.post("/ui/servers", data=form, headers=SAME_SITE)
    for path in ("/ui/login", "/ui/servers/new", "/ui/apps/new"):
        html = browser.get(path).text
        fields = re.findall(r"<(?:input|select)\b(?![^>]*type=\"hidden\")[^>]*>", html)
        assert fields, path
        for field in fields:
            [field_id] = re.findall(r'id="([^"]+)"', field)
            assert f'<label for="{field_id}"' in html, (path, field)


def test_the_docs_page_loads_only_assets_of_its_own(browser: TestClient[Any]) -> None:
    page = browser.get("/api/v1/schema")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert len(sources) >= 4  # the bundle, the preset, the stylesheet, the icon
    for source in sources:
        assert source.startswith("/static/"), source
        assert browser.get(source).status_code == 200, source


def test_the_socket_takes_the_cookie_only_from_this_host(settings: Settings, token: str) -> None:
    with ServerThread(create_app(settings, token=token)) as served:
        url = f"ws://127.0.0.1:{served.port}/api/v1/ws"
        cookie = {"Cookie": f"{COOKIE}={token}"}
        for origin, expected in (
            ("http://evil.example", "close"),
            (None, "close"),
            (f"http://127.0.0.1:{served.port}", "ready"),
        ):
            with connect(url, additional_headers=cookie, origin=origin) as socket:  # type: ignore[arg-type]
                try:
                    got = json.loads(socket.recv(10))["type"]
                except Exception:
                    got = "close"
                    assert socket.close_code == 4001
                assert got == expected, origin


def test_pages_show_what_the_services_hold(browser: TestClient[Any], token: str) -> None:
    log_in(browser, token)
    browser.post("/ui/servers", data=SERVER_FORM | {"csrf": csrf_token(token)}, headers=SAME_SITE)
    [server_id] = re.findall(r'href="/ui/servers/([0-9A-Z]{26})"', browser.get("/ui").text)
    form = {"csrf": csrf_token(token), "name": "blog", "server_id": server_id, "domain": ""}
    app_page = browser.post("/ui/apps", data=form, headers=SAME_SITE)
    assert app_page.status_code == 200
    assert "App blog" in app_page.text
    assert "none (loopback only)" in app_page.text
    assert "Upload a version first." in app_page.text
