"""/health: public, cheap, and honest about each component."""

from __future__ import annotations

import shutil
from typing import Any

from litestar.testing import TestClient

import pbdeployer
from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.settings import Settings

COMPONENTS = ["database", "storage", "ssh"]


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["components"]}


def test_health_is_ok_without_a_token(anonymous, settings):
    response = anonymous.get("/health")

    assert response.status_code == 200
    report = response.json()
    assert set(report) == {"status", "version", "components"}
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


def test_health_ignores_a_wrong_token(client):
    response = client.get("/health", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_health_reports_storage_in_mib(anonymous):
    detail = _by_name(anonymous.get("/health").json())["storage"]["detail"]

    assert detail.endswith("MiB free (threshold 512 MiB)")


def test_low_disk_space_is_degraded_but_still_200(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", storage_min_free_bytes=1 << 62)
    app = create_app(settings, token="t" * 32)

    with TestClient(app, base_url=f"http://testserver.local{API_PREFIX}") as client:
        response = client.get("/health")

    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert _by_name(report)["storage"]["status"] == "degraded"
    assert _by_name(report)["database"]["status"] == "ok"


def test_missing_data_dir_is_down_and_503(anonymous, settings):
    shutil.rmtree(settings.data_dir)

    response = anonymous.get("/health")

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "down"
    storage = _by_name(report)["storage"]
    assert storage["status"] == "down"
    assert str(settings.data_dir) not in response.text
    assert _by_name(report)["database"]["status"] == "ok"
