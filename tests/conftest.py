"""Shared fixtures: a real app over a real SQLite database in a temporary data dir."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from pbdeployer.api import API_PREFIX, create_app
from pbdeployer.deployer import Deployer
from pbdeployer.settings import DATABASE_FILE, Settings

TOKEN = "pbd-test-token-6Jc1q9WzV0rX4mT8yK2nH5bL7sD3fG"
BASE_URL = f"http://testserver.local{API_PREFIX}"

Json = dict[str, Any]
ErrorCheck = Callable[..., Json]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head per test session; tests start from copies of it."""
    data_dir = tmp_path_factory.mktemp("template")
    deployer = Deployer.open(Settings(data_dir=data_dir))

    async def migrate() -> None:
        async with deployer:
            pass

    asyncio.run(migrate())
    return data_dir / DATABASE_FILE


@pytest.fixture
def settings(tmp_path: Path, migrated_database: Path) -> Settings:
    """Settings over a fresh data dir holding a copy of the migrated database."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(migrated_database, data_dir / DATABASE_FILE)
    return Settings(data_dir=data_dir)


@pytest.fixture
def token() -> str:
    """The API token the ``client`` fixture's app accepts."""
    return TOKEN


@pytest.fixture
def client(settings: Settings, token: str) -> Iterator[TestClient[Any]]:
    """A client for the app's /api/v1 routes that sends the right token by default."""
    app = create_app(settings, token=token)
    with TestClient(app, base_url=BASE_URL) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


@pytest.fixture
def anonymous(client: TestClient[Any]) -> TestClient[Any]:
    """The same client with no Authorization header."""
    del client.headers["Authorization"]
    return client


def _created(response: httpx.Response) -> Json:
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


@pytest.fixture
def new_server(client: TestClient[Any]) -> Callable[..., Json]:
    """Create a server through the API; names are unique unless given."""
    counter = itertools.count(1)

    def create(**fields: Any) -> Json:
        body = {"name": f"server-{next(counter)}", "host": "203.0.113.10"} | fields
        return _created(client.post("/servers", json=body))

    return create


@pytest.fixture
def new_app(client: TestClient[Any]) -> Callable[..., Json]:
    """Create an app on ``server_id`` through the API; names are unique unless given."""
    counter = itertools.count(1)

    def create(server_id: str, **fields: Any) -> Json:
        body = {"name": f"app-{next(counter)}", "server_id": server_id} | fields
        return _created(client.post("/apps", json=body))

    return create


@pytest.fixture
def new_version(client: TestClient[Any]) -> Callable[..., Json]:
    """Create a version of ``app_id`` through the API; numbers are unique unless given."""
    counter = itertools.count(1)

    def create(app_id: str, **fields: Any) -> Json:
        body = {"app_id": app_id, "version_number": f"1.0.{next(counter)}"} | fields
        return _created(client.post("/versions", json=body))

    return create


def check_error(
    response: httpx.Response, status: int, code: str, fields: list[str] | None = None
) -> Json:
    """Assert the one error body every non-2xx answer has; return its ``error`` object.

    ``fields`` lists the fields named in ``details``, in order (``None``: details are empty).
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    for detail in error["details"]:
        assert set(detail) == {"field", "reason"}
        assert isinstance(detail["reason"], str)
        assert detail["reason"]
    assert [d["field"] for d in error["details"]] == (fields or [])
    return error


@pytest.fixture
def expect_error() -> ErrorCheck:
    """``expect_error(response, 422, "validation_failed", ["port"])``; see ``check_error``."""
    return check_error


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the slow host tests first, so parallel workers don't end on a long tail."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
