"""Retention: old events of ended tasks go, everything else stays; run now or in the background."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from pbdeployer.api import create_app
from pbdeployer.deployer import Deployer
from pbdeployer.models.task_events import TaskLogLine
from pbdeployer.models.tasks import Task, TaskKind, TaskStatus
from pbdeployer.settings import DATABASE_FILE, Settings
from pbdeployer.store import Store
from tests.conftest import BASE_URL, ErrorCheck

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)
EVENTS = 6_000  # more than one delete batch


def _task(n: int, status: TaskStatus, finished: datetime | None) -> Task:
    return Task(
        id=f"01TASK{n:020d}", kind=TaskKind.AUDIT, status=status, mutating=False,
        server_id=None, app_id=None, deployment_id=None, params={}, progress=0, step="",
        created=OLD, started_at=OLD, finished_at=finished, error=None, result=None,
        event_count=EVENTS,
    )  # fmt: skip


TASKS = {
    "old_done": _task(1, TaskStatus.SUCCEEDED, OLD),
    "old_failed": _task(2, TaskStatus.FAILED, OLD + timedelta(days=1)),
    "running": _task(3, TaskStatus.RUNNING, None),
    "recent": _task(4, TaskStatus.SUCCEEDED, NOW - timedelta(days=2)),
}


class Retained:
    def __init__(self, client: TestClient[Any], store: Store, settings: Settings) -> None:
        self.client, self.store, self.settings = client, store, settings

    def events(self, name: str) -> int:
        return int(self.client.blocking_portal.call(self.store.task_events.count, TASKS[name].id))


def _fill(client: TestClient[Any], store: Store) -> None:
    for task in TASKS.values():
        client.blocking_portal.call(store.tasks.add, task)
        lines = [
            TaskLogLine(task_id=task.id, seq=n, created=OLD, text="x" * 200)
            for n in range(1, EVENTS + 1)
        ]
        client.blocking_portal.call(store.task_events.add_many, lines)


def _retained(settings: Settings, token: str) -> Iterator[Retained]:
    deployer = Deployer.open(settings)
    with TestClient(create_app(settings, deployer=deployer, token=token), base_url=BASE_URL) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        store = Store(deployer.database.engine)
        _fill(c, store)
        yield Retained(c, store, settings)


@pytest.fixture
def retained(settings: Settings, token: str) -> Iterator[Retained]:
    yield from _retained(settings, token)


def test_run_now_prunes_only_events_of_tasks_that_ended_long_ago(
    retained: Retained, expect_error: ErrorCheck
) -> None:
    client = retained.client
    database = retained.settings.data_dir / DATABASE_FILE
    assert client.post("/maintenance/retention").json()["events_removed"] == 0  # policy: off

    report = client.post("/maintenance/retention", params={"days": 30}).json()

    assert (report["tasks_pruned"], report["events_removed"]) == (2, 2 * EVENTS)
    assert [retained.events(n) for n in TASKS] == [0, 0, EVENTS, EVENTS]
    summary = client.get(f"/tasks/{TASKS['old_done'].id}").json()
    assert (summary["status"], summary["event_count"]) == ("succeeded", EVENTS)
    assert client.get(f"/tasks/{TASKS['old_done'].id}/events").json() == []
    size = os.path.getsize(database)
    vacuumed = client.post("/maintenance/retention", params={"days": 30, "vacuum": True}).json()
    assert (vacuumed["events_removed"], vacuumed["vacuumed"]) == (0, True)
    assert os.path.getsize(database) < size * 0.75  # half the events' pages given back
    expect_error(
        client.post("/maintenance/retention", params={"days": -1}), 422, "validation_failed",
        ["days"],
    )  # fmt: skip


def test_the_policy_runs_in_the_background(settings: Settings, token: str) -> None:
    policy = msgspec.structs.replace(
        settings, event_retention_days=30, retention_interval_seconds=0.2
    )
    for retained in _retained(policy, token):
        deadline = time.monotonic() + 10
        while retained.events("old_done") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [retained.events(n) for n in TASKS] == [0, 0, EVENTS, EVENTS]
