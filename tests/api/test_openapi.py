"""The checked-in schema is what the app serves, and every operation is documented."""

from __future__ import annotations

from pathlib import Path

import yaml
from litestar.testing import TestClient

from pbdeployer.api import create_app, openapi_yaml
from pbdeployer.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def _served_schema(tmp_path: Path) -> dict[str, object]:
    app = create_app(Settings(data_dir=tmp_path), token="t" * 32)
    with TestClient(app) as client:
        response = client.get("/api/v1/schema/openapi.json")
        assert response.status_code == 200
        docs_page = client.get("/api/v1/schema")
        assert docs_page.status_code == 200
        assert "<html" in docs_page.text.lower()
        return response.json()  # type: ignore[no-any-return]


def test_checked_in_schema_equals_the_served_one(tmp_path: Path) -> None:
    served = _served_schema(tmp_path)
    checked_in = yaml.safe_load(SCHEMA_FILE.read_text())
    assert checked_in == served, "api/openapi.yaml is stale: run `pbdeployer openapi`"


def test_export_is_byte_identical(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), token="t" * 32)
    assert openapi_yaml(app) == SCHEMA_FILE.read_text()


def test_every_operation_has_an_id_a_summary_and_examples() -> None:
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
    assert len(operations) >= 14
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), where
        assert op.get("summary"), where
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            examples = body.get("examples") or body["schema"].get("examples")
            assert examples, f"{where} has no request example"
        for status, response in op["responses"].items():
            content = response.get("content", {}).get("application/json")
            if content is not None:
                assert content.get("examples"), f"{where} {status} has no example"
