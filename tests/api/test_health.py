"""/health: public up/down for anyone, the details with the token, cheap and honest."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from litestar.testing import TestClient

import pbdeployer
from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.settings import Settings
from tests.served import free_port

COMPONENTS = ["database", "storage", "ssh"]


@pytest.fixture
def anonymous_headers() -> dict[str, str]:
    return {"Authorization": ""}


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["components"]}


def test_health_says_only_up_or_down_without_a_token(anonymous):
    response = anonymous.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "view": "summary",
        "status": "ok",
        "components": [{"name": name, "status": "ok"} for name in COMPONENTS],
    }


def test_health_has_the_details_with_the_token(client, settings):
    response = client.get("/health")

    assert response.status_code == 200
    report = response.json()
    assert set(report) == {"view", "status", "version", "components"}
    assert report["view"] == "full"
    assert report["status"] == "ok"
    assert report["version"] == pbdeployer.__version__
    assert [c["name"] for c in report["components"]] == COMPONENTS
    for component in report["components"]:
        assert set(component) == {"name", "status", "detail", "latency_ms", "servers"}
        assert component["status"] == "ok"
        assert isinstance(component["detail"], str)
    database = _by_name(report)["database"]
    assert isinstance(database["latency_ms"], float)
    assert database["latency_ms"] >= 0
    assert str(settings.data_dir.resolve()) not in response.text


def test_a_wrong_token_sees_what_no_token_sees(client, token):
    for wrong in ("Bearer wrong", f"Bearer {token[:-1]}", f"Basic {token}"):
        response = client.get("/health", headers={"Authorization": wrong})

        assert response.status_code == 200
        assert response.json()["view"] == "summary"


def test_a_failed_connection_shows_only_to_the_token(client, anonymous_headers, token):
    port = free_port()  # nothing listens there: the connection is refused
    server = client.post(
        "/servers", json={"name": "hidden-web1", "host": "127.0.0.1", "port": port}
    ).json()
    client.post("/apps", json={"name": "hidden-app", "server_id": server["id"]})
    assert client.get(f"/services/{server['id']}").status_code == 502

    full = client.get("/health")
    public = client.get("/health", headers=anonymous_headers)

    assert full.status_code == public.status_code == 200
    ssh = _by_name(full.json())["ssh"]
    assert ssh["status"] == "degraded"
    assert [s["server_id"] for s in ssh["servers"]] == [server["id"]]
    assert "1 unreachable server(s)" in ssh["detail"]
    assert public.json() == {
        "view": "summary",
        "status": "degraded",
        "components": [
            {"name": "database", "status": "ok"},
            {"name": "storage", "status": "ok"},
            {"name": "ssh", "status": "degraded"},
        ],
    }
    for secret in (server["id"], "hidden-web1", "hidden-app", "127.0.0.1", str(port), token):
        assert secret not in public.text


def test_health_reports_storage_in_mib(client):
    detail = _by_name(client.get("/health").json())["storage"]["detail"]

    assert detail.endswith("MiB free (threshold 512 MiB)")


def test_low_disk_space_is_degraded_but_still_200(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", storage_min_free_bytes=1 << 62)
    app = create_app(settings, token="t" * 32)

    with TestClient(app, base_url=f"http://testserver.local{API_PREFIX}") as client:
        response = client.get("/health", headers={"Authorization": "Bearer " + "t" * 32})

    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert _by_name(report)["storage"]["status"] == "degraded"
    assert _by_name(report)["database"]["status"] == "ok"


def test_missing_data_dir_is_down_and_503(client, settings):
    shutil.rmtree(settings.data_dir)

    response = client.get("/health")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "down"
    storage = _by_name(report)["storage"]
    assert storage["status"] == "down"
    assert str(settings.data_dir) not in response.text
    assert _by_name(report)["database"]["status"] == "ok"
