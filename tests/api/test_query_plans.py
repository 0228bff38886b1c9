"""Every list route, with every documented filter, is served from an index.

The routes and their filters come from the app's own OpenAPI schema, so a filter added to a
list without an index (or without an entry here) fails this test. Each request's SELECTs are
recorded as the app ran them and given to SQLite's ``EXPLAIN QUERY PLAN``: a walk of a whole
table or index (``SCAN``) or a sort of every match (``USE TEMP B-TREE``) fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import event

from pbdeployer.api import create_app
from pbdeployer.deployer import Deployer
from pbdeployer.models.tasks import Task, TaskKind, TaskStatus
from pbdeployer.settings import DATABASE_FILE, Settings
from pbdeployer.store.tasks import TaskRepository
from tests.conftest import BASE_URL

PAGING = {"page", "per_page", "order", "cursor"}
UNINDEXED = {"q"}
"""Name search matches a substring anywhere (``LIKE '%q%'``), which no b-tree index serves;
it is documented as a search over the list, not a filter."""
TASK_ID = "01TASK0000000000000000000A"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Recorder:
    """The app with every SELECT it runs noted, whichever path runs it."""

    def __init__(self, client: TestClient[Any], deployer: Deployer) -> None:
        self.client = client
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        reads = deployer.database.reads
        assert reads is not None
        plain = reads.rows

        def rows(sql: str, params: Any = ()) -> list[Any]:
            self.statements.append((sql, tuple(params)))
            return plain(sql, params)

        reads.rows = rows  # type: ignore[method-assign]
        event.listen(deployer.database.engine.sync_engine, "before_cursor_execute", self._note)

    def _note(self, _conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        self.statements.append((sql, tuple(params)))

    def selects(self, path: str, params: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
        self.statements.clear()
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.text)
        return [(sql, args) for sql, args in self.statements if sql.lstrip().startswith("SELECT")]


@pytest.fixture
def recorder(settings: Settings, token: str) -> Iterator[Recorder]:
    deployer = Deployer.open(settings)
    with TestClient(create_app(settings, deployer=deployer, token=token), base_url=BASE_URL) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        task = Task(
            id=TASK_ID, kind=TaskKind.AUDIT, status=TaskStatus.SUCCEEDED, mutating=False,
            server_id=None, app_id=None, deployment_id=None, params={}, progress=100, step="",
            created=NOW, started_at=NOW, finished_at=NOW, error=None, result=None,
            event_count=0,
        )  # fmt: skip
        c.blocking_portal.call(TaskRepository(deployer.database.engine).add, task)
        yield Recorder(c, deployer)


def list_routes(
    client: TestClient[Any],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """GET routes answering a page (or a task's events) with their query parameters, and the
    schema's components."""
    schema = client.get("/schema/openapi.json").json()
    found = {}
    for path, operations in schema["paths"].items():
        get = operations.get("get", {})
        names = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        if "per_page" in names or (path.endswith("/events") and "limit" in names):
            found[path.removeprefix("/api/v1")] = [
                p for p in get["parameters"] if p["in"] == "query"
            ]
    return found, schema["components"]["schemas"]


def value_for(parameter: dict[str, Any], components: dict[str, Any]) -> Any:
    schema = parameter["schema"]
    options = schema.get("oneOf", [schema])
    for given in options:
        option = components[given["$ref"].rsplit("/", 1)[1]] if "$ref" in given else given
        if "enum" in option:
            return option["enum"][0]
        if option.get("format") == "date-time":
            return "2026-01-01T00:00:00Z"
        if option.get("type") == "integer":
            return 1
    return "01JZZZZZZZZZZZZZZZZZZZZZZZ"


def plan(database: Path, sql: str, args: tuple[Any, ...]) -> list[str]:
    with closing(sqlite3.connect(database)) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]


def test_every_list_filter_is_served_by_an_index(recorder: Recorder, settings: Settings) -> None:
    routes, components = list_routes(recorder.client)
    assert {"/apps", "/deployments", "/servers", "/tasks", "/versions"} <= set(routes)
    assert "/tasks/{task_id}/events" in routes
    checked = 0
    for route, parameters in routes.items():
        path = route.replace("{task_id}", TASK_ID)
        filters = [p for p in parameters if p["name"] not in PAGING | UNINDEXED]
        for parameter in filters:
            for paging in ({}, {"order": "newest"}):
                query = {parameter["name"]: value_for(parameter, components)} | paging
                if parameter["name"] == "since" and "until" in {p["name"] for p in filters}:
                    query["until"] = "2026-02-01T00:00:00Z"
                for sql, args in recorder.selects(path, query):
                    steps = plan(settings.data_dir / DATABASE_FILE, sql, args)
                    full = [s for s in steps if s.startswith("SCAN") or "TEMP B-TREE" in s]
                    assert not full, (route, query, sql, steps)
                    checked += 1
    assert checked >= 40
