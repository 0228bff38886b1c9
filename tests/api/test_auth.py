"""Bearer-token auth: every route but health and the schema needs the token."""

from __future__ import annotations

import stat

import pytest
from litestar.testing import TestClient

from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.settings import Settings

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
    assert "token" in error["message"]


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
