"""A real, migrated SQLite database and an in-process task queue over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import event

from pbdeployer.events import EventLog, MemoryPublisher
from pbdeployer.models.tasks import TaskKind
from pbdeployer.services.task_runner import InProcessTaskQueue
from pbdeployer.services.tasks import TaskHandler
from pbdeployer.settings import Settings
from pbdeployer.store import Database
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.tasks import TaskRepository
from tests.unit.tasks.support import QueueFactory, Writes


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(Settings(data_dir=tmp_path).sqlalchemy_url)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def writes(database: Database) -> Writes:
    counts = Writes()

    def on_execute(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("INSERT INTO TASK_EVENTS"):
            counts.event_inserts += 1

    def on_commit(*_: object) -> None:
        counts.commits += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(database.engine.sync_engine, "commit", on_commit)
    return counts


@pytest.fixture
def task_rows(database: Database) -> TaskRepository:
    return TaskRepository(database.engine)


@pytest.fixture
def event_rows(database: Database) -> TaskEventRepository:
    return TaskEventRepository(database.engine)


@pytest.fixture
async def make_queue(
    task_rows: TaskRepository, event_rows: TaskEventRepository
) -> AsyncIterator[QueueFactory]:
    """Start queues with the given handlers; every one is stopped after the test."""
    started: list[InProcessTaskQueue] = []

    async def make(
        handlers: Mapping[TaskKind, TaskHandler], workers: int = 4, progress_interval: float = 1.0
    ) -> InProcessTaskQueue:
        log = EventLog(event_rows, MemoryPublisher())
        queue = InProcessTaskQueue(
            task_rows, log, handlers, workers=workers, progress_interval=progress_interval
        )
        await queue.start()
        started.append(queue)
        return queue

    yield make
    for queue in started:
        await queue.stop(grace=0)
