"""Bearer-token auth: every route but health and the schema needs the token."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.settings import Settings
from tests.served import free_port

BASE_URL = f"http://testserver.local{API_PREFIX}"

ID = "01JH8Z6X4T3D3Q9V4W0Y5K7B2M"
PROTECTED = [
    ("GET", "/servers"),
    ("POST", "/servers"),
    ("GET", f"/servers/{ID}"),
    ("PATCH", f"/servers/{ID}"),
    ("DELETE", f"/servers/{ID}"),
    ("GET", "/apps"),
    ("POST", "/apps"),
    ("GET", f"/apps/{ID}"),
    ("PATCH", f"/apps/{ID}"),
    ("DELETE", f"/apps/{ID}"),
    ("GET", "/versions"),
    ("POST", "/versions"),
    ("GET", f"/versions/{ID}"),
    ("DELETE", f"/versions/{ID}"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_resource_route_needs_the_token(anonymous, expect_error, method, path):
    body = {"name": "web1", "host": "h"} if method in ("POST", "PATCH") else None

    error = expect_error(anonymous.request(method, path, json=body), 401, "unauthorized")
    assert error["message"] == "missing or wrong API token (Authorization: Bearer <token>)"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer {token}x",
        "Bearer x{token}",
        "Bearer {token_cut}",
        "Bearer {token_upper}",
        "Basic {token}",
        "Token {token}",
        "{token}",
        "Bearer{token}",
        "Bearer {token} {token}",
        "Bearer wrong-token",
    ],
)
def test_wrong_or_malformed_header_is_401(client, token, expect_error, header):
    value = header.format(token=token, token_cut=token[:-1], token_upper=token.upper())

    expect_error(client.get("/servers", headers={"Authorization": value}), 401, "unauthorized")


def test_non_ascii_header_is_401(client, token, expect_error):
    header = f"Bearer {token}é".encode("latin-1")

    expect_error(client.get("/servers", headers={"Authorization": header}), 401, "unauthorized")


def test_refused_request_changes_nothing(anonymous, token, expect_error):
    expect_error(
        anonymous.post("/servers", json={"name": "web1", "host": "h"}), 401, "unauthorized"
    )

    page = anonymous.get("/servers", headers={"Authorization": f"Bearer {token}"}).json()
    assert page["total"] == 0


def test_auth_is_checked_before_the_body(anonymous, expect_error):
    response = anonymous.post(
        "/servers", content=b"{not json", headers={"content-type": "application/json"}
    )

    expect_error(response, 401, "unauthorized")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_is_accepted_whatever_the_scheme_case(anonymous, token, scheme):
    response = anonymous.get("/servers", headers={"Authorization": f"{scheme} {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/health", "/schema/openapi.json"])
def test_health_and_schema_need_no_token(anonymous, path):
    assert anonymous.get(path).status_code == 200
    assert anonymous.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 200


def test_token_is_generated_once_into_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")

    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        token = settings.token_file.read_text().strip()
        assert len(token) >= 32
        assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
        assert client.get("/servers").status_code == 401
        ok = client.get("/servers", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200

    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        assert settings.token_file.read_text().strip() == token
        ok = client.get("/servers", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


def test_token_from_settings_wins_over_the_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", api_token="from-the-environment-Kd8Rw2Xp5Lq9Zt")

    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        assert not settings.token_file.exists()
        good = {"Authorization": "Bearer from-the-environment-Kd8Rw2Xp5Lq9Zt"}
        assert client.get("/servers", headers=good).status_code == 200
        assert client.get("/servers", headers={"Authorization": "Bearer x"}).status_code == 401


def test_digest_scheme_with_the_right_token_is_401(client, token, expect_error):
    # "Digest " is as long as "Bearer ": only the scheme's name tells them apart.
    response = client.get("/servers", headers={"Authorization": f"Digest {token}"})

    expect_error(response, 401, "unauthorized")


def serve_once(data_dir: Path) -> tuple[str, str]:
    """Start ``pbdeployer serve`` on a data dir with no token configured, wait until it
    answers, stop it; return its output and the token it accepts."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PBDEPLOYER_API_TOKEN"}
    argv = [sys.executable, "-m", "pbdeployer", "serve", "--port", str(port),
            "--data-dir", str(data_dir)]  # fmt: skip
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        try:
            token = wait_for_token(data_dir / "api-token", proc)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}{API_PREFIX}") as http:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with contextlib.suppress(httpx.TransportError):
                        auth = {"Authorization": f"Bearer {token}"}
                        if http.get("/servers", headers=auth).status_code == 200:
                            break
                    time.sleep(0.2)
                else:
                    raise AssertionError("pbdeployer serve did not answer with its token")
        finally:
            proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
    return out, token


def wait_for_token(path: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and (text := path.read_text()).endswith("\n"):
            return text.strip()
        time.sleep(0.1)
    raise AssertionError(f"no token file at {path}")


@pytest.mark.slow
def test_serve_shows_a_new_token_once_on_first_start(tmp_path):
    first_output, token = serve_once(tmp_path / "data")
    assert first_output.count(token) == 1
    assert "new API token (shown once" in first_output

    second_output, same = serve_once(tmp_path / "data")
    assert same == token
    assert token not in second_output
    assert "new API token" not in second_output
