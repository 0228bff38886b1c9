"""A running task's percent and step reach its row (throttled); its end reaches storage whole."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event

from pbdeployer.models.task_events import TaskFinished
from pbdeployer.models.tasks import Task, TaskKind, TaskSpec, TaskStatus
from pbdeployer.services.tasks import TaskContext
from pbdeployer.store import Database
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.tasks import TaskRepository
from tests.unit.runner.test_runner_local import PLAYBOOKS, leftover_processes
from tests.unit.tasks.support import QueueFactory, collect
from tests.unit.tasks.test_task_ansible import playbook_body, task_runs

SPEC = TaskSpec(kind=TaskKind.AUDIT, mutating=False, server_id="01SERVER0000000000000000AA")
INTERVAL = 0.2


@pytest.fixture
def progress_writes(database: Database) -> list[float]:
    """When each write of a running task's progress happened."""
    writes: list[float] = []

    def on_execute(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("UPDATE TASKS SET PROGRESS"):
            writes.append(time.monotonic())

    event.listen(database.engine.sync_engine, "before_cursor_execute", on_execute)
    return writes


async def busy(task: Task, ctx: TaskContext) -> None:
    """Report progress every millisecond or so for ``seconds``."""
    deadline = time.monotonic() + task.params["seconds"]
    step = 0
    while time.monotonic() < deadline:
        step += 1
        ctx.progress(min(99, step // 10), f"step {step}")
        await asyncio.sleep(0.001)


async def test_progress_reaches_the_row_at_most_once_per_interval(
    make_queue: QueueFactory, task_rows: TaskRepository, progress_writes: list[float]
) -> None:
    queue = await make_queue({TaskKind.AUDIT: busy}, progress_interval=INTERVAL)
    task = await queue.submit(TaskSpec(kind=SPEC.kind, mutating=False, params={"seconds": 1.5}))
    await asyncio.sleep(0.8)
    row = await task_rows.get(task.id)  # what another process (or one after a crash) reads
    live = await queue.get(task.id)
    assert row.status is TaskStatus.RUNNING
    assert row.step.startswith("step ")
    assert 0 < row.progress <= live.progress
    assert int(row.step.split()[1]) <= int(live.step.split()[1])

    await collect(queue, task.id)
    done = await task_rows.get(task.id)
    assert (done.status, done.progress) == (TaskStatus.SUCCEEDED, 100)
    gaps = [b - a for a, b in itertools.pairwise(progress_writes)]
    assert 3 <= len(progress_writes) <= 1.5 / INTERVAL + 1
    assert all(gap >= INTERVAL * 0.8 for gap in gaps)


async def test_the_step_is_the_ansible_task_under_way(
    make_queue: QueueFactory, task_rows: TaskRepository, tmp_path: Path
) -> None:
    body = playbook_body(task_runs(tmp_path), str(PLAYBOOKS / "sleep.yml"), forward=True)
    queue = await make_queue({TaskKind.SETUP: body}, progress_interval=INTERVAL)
    seconds = str(300 + uuid.uuid4().int % 600)
    task = await queue.submit(
        TaskSpec(kind=TaskKind.SETUP, mutating=True, server_id="01LOCAL",
                 params={"sleep_seconds": seconds})
    )  # fmt: skip
    for _ in range(300):
        if leftover_processes(f"sleep {seconds}"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(INTERVAL * 2)
    assert (await queue.get(task.id)).step == "Sleep for a long time"
    assert (await task_rows.get(task.id)).step == "Sleep for a long time"
    await queue.cancel(task.id)
    await collect(queue, task.id)
    assert (await task_rows.get(task.id)).step == "Sleep for a long time"


async def quick(task: Task, ctx: TaskContext) -> None:
    for step in range(5):
        ctx.progress(step * 20, f"step {step}")
        await asyncio.sleep(0)


async def test_whoever_sees_the_end_finds_it_whole(
    make_queue: QueueFactory, task_rows: TaskRepository, event_rows: TaskEventRepository
) -> None:
    """A finished row comes with all its events stored; a follower told of the end finds it."""
    queue = await make_queue({TaskKind.AUDIT: quick}, workers=8)
    tasks = [await queue.submit(SPEC) for _ in range(30)]
    seen_finished: set[str] = set()

    async def poll_rows() -> None:
        while len(seen_finished) < len(tasks):
            for task in tasks:
                row = await task_rows.get(task.id)
                if row.status.finished:
                    assert await event_rows.count(task.id) == row.event_count
                    seen_finished.add(task.id)

    async def follow(task_id: str) -> None:
        events = await collect(queue, task_id)
        assert isinstance(events[-1], TaskFinished)
        assert (await queue.get(task_id)).status is TaskStatus.SUCCEEDED

    await asyncio.wait_for(
        asyncio.gather(poll_rows(), *(follow(task.id) for task in tasks)), timeout=30
    )
