"""The in-process task queue over a real SQLite database: scheduling, cancel, recovery."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from pbdeployer.errors import Conflict, InvalidInput, NotFound
from pbdeployer.models.task_events import TaskFinished, TaskStatusChanged
from pbdeployer.models.tasks import (
    INTERRUPTED_MESSAGE,
    Task,
    TaskKind,
    TaskSpec,
    TaskStatus,
)
from pbdeployer.services.tasks import TaskContext, TaskQueue
from pbdeployer.store.events import TaskEventRepository
from pbdeployer.store.tasks import TaskRepository
from tests.unit.tasks.support import QueueFactory, collect

SERVER = "01SERVER0000000000000000AA"


def spec(kind: TaskKind = TaskKind.SETUP, *, mutating: bool = True, **params: object) -> TaskSpec:
    return TaskSpec(kind=kind, mutating=mutating, server_id=SERVER, params=dict(params))


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for ``check()`` to turn true, failing after ``seconds``."""
    for _ in range(int(seconds * 100)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


async def test_submit_returns_at_once_while_the_body_runs(make_queue: QueueFactory) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def body(task: Task, ctx: TaskContext) -> dict[str, object]:
        started.set()
        await release.wait()
        return {"answer": task.params["n"] * 2}

    queue: TaskQueue = await make_queue({TaskKind.SETUP: body})  # callers see only the protocol
    before = time.monotonic()
    task = await queue.submit(spec(n=21))
    assert time.monotonic() - before < 0.5
    assert task.status is TaskStatus.QUEUED
    await asyncio.wait_for(started.wait(), 5)
    assert (await queue.get(task.id)).status is TaskStatus.RUNNING
    release.set()
    events = await collect(queue, task.id)
    done = await queue.get(task.id)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.result == {"answer": 42}
    assert done.progress == 100
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.started_at <= done.finished_at
    statuses = [e.status for e in events if isinstance(e, TaskStatusChanged)]
    assert statuses == [TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED]


async def test_mutating_tasks_on_one_server_take_turns_in_order(make_queue: QueueFactory) -> None:
    spans: list[tuple[int, float, float]] = []

    async def body(task: Task, ctx: TaskContext) -> None:
        begin = time.monotonic()
        await asyncio.sleep(0.15)
        spans.append((task.params["n"], begin, time.monotonic()))

    queue = await make_queue({TaskKind.SETUP: body}, workers=4)
    tasks = [await queue.submit(spec(n=n)) for n in range(4)]
    for task in tasks:
        await collect(queue, task.id)
    assert [n for n, _, _ in spans] == [0, 1, 2, 3]
    for (_, _, end), (_, begin, _) in itertools.pairwise(spans):
        assert begin >= end
    assert [(await queue.get(t.id)).status for t in tasks] == [TaskStatus.SUCCEEDED] * 4


async def test_a_read_only_task_runs_beside_a_mutating_one(make_queue: QueueFactory) -> None:
    release = asyncio.Event()

    async def mutate(task: Task, ctx: TaskContext) -> None:
        await release.wait()

    async def read(task: Task, ctx: TaskContext) -> str:
        return "read"

    queue = await make_queue({TaskKind.LOCKDOWN: mutate, TaskKind.AUDIT: read})
    long = await queue.submit(spec(TaskKind.LOCKDOWN))
    second = await queue.submit(spec(TaskKind.LOCKDOWN))
    audit = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    await collect(queue, audit.id)
    assert (await queue.get(audit.id)).status is TaskStatus.SUCCEEDED
    assert (await queue.get(long.id)).status is TaskStatus.RUNNING
    assert (await queue.get(second.id)).status is TaskStatus.QUEUED
    release.set()
    await collect(queue, second.id)
    assert (await queue.get(second.id)).status is TaskStatus.SUCCEEDED


async def test_other_servers_are_not_held_up(make_queue: QueueFactory) -> None:
    release = asyncio.Event()

    async def body(task: Task, ctx: TaskContext) -> None:
        if task.server_id == SERVER:
            await release.wait()

    queue = await make_queue({TaskKind.SETUP: body})
    await queue.submit(spec())
    other = await queue.submit(
        TaskSpec(kind=TaskKind.SETUP, mutating=True, server_id="01SERVER0000000000000000BB")
    )
    await collect(queue, other.id)
    assert (await queue.get(other.id)).status is TaskStatus.SUCCEEDED
    release.set()


async def test_the_worker_pool_is_bounded(make_queue: QueueFactory) -> None:
    release = asyncio.Event()
    running = 0
    most = 0

    async def body(task: Task, ctx: TaskContext) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    queue = await make_queue({TaskKind.AUDIT: body}, workers=2)
    tasks = [await queue.submit(spec(TaskKind.AUDIT, mutating=False)) for _ in range(5)]
    await until(lambda: running == 2)
    await asyncio.sleep(0.1)
    assert queue.running_count == 2
    release.set()
    for task in tasks:
        await collect(queue, task.id)
    assert most == 2


async def test_cancel_of_a_queued_task_is_immediate(make_queue: QueueFactory) -> None:
    release = asyncio.Event()
    ran: list[str] = []

    async def body(task: Task, ctx: TaskContext) -> None:
        ran.append(task.id)
        await release.wait()

    queue = await make_queue({TaskKind.SETUP: body}, workers=1)
    first = await queue.submit(spec())
    waiting = await queue.submit(spec())
    cancelled = await queue.cancel(waiting.id)
    assert cancelled.status is TaskStatus.CANCELLED
    assert (await queue.get(waiting.id)).status is TaskStatus.CANCELLED
    events = await collect(queue, waiting.id)
    assert isinstance(events[-1], TaskFinished)
    assert events[-1].status is TaskStatus.CANCELLED
    release.set()
    await collect(queue, first.id)
    assert ran == [first.id]


async def test_cancel_of_a_running_body_without_a_hook(make_queue: QueueFactory) -> None:
    started = asyncio.Event()

    async def body(task: Task, ctx: TaskContext) -> None:
        started.set()
        await asyncio.sleep(60)

    queue = await make_queue({TaskKind.SETUP: body})
    task = await queue.submit(spec())
    await asyncio.wait_for(started.wait(), 5)
    await queue.cancel(task.id)
    events = await collect(queue, task.id)
    assert isinstance(events[-1], TaskFinished)
    assert events[-1].status is TaskStatus.CANCELLED
    assert (await queue.get(task.id)).error is not None


async def test_a_failing_body_records_its_error_code(make_queue: QueueFactory) -> None:
    async def body(task: Task, ctx: TaskContext) -> None:
        raise NotFound("server 'web1' does not exist; add it first")

    async def crash(task: Task, ctx: TaskContext) -> None:
        raise ZeroDivisionError("boom")

    queue = await make_queue({TaskKind.SETUP: body, TaskKind.AUDIT: crash})
    failed = await queue.submit(spec())
    crashed = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    await collect(queue, failed.id)
    await collect(queue, crashed.id)
    record = await queue.get(failed.id)
    assert record.status is TaskStatus.FAILED
    assert record.error is not None
    assert (record.error.code, record.error.message) == (
        "not_found",
        "server 'web1' does not exist; add it first",
    )
    other = await queue.get(crashed.id)
    assert other.error is not None
    assert other.error.code == "internal_error"
    assert "boom" in other.error.message


async def test_unknown_kinds_and_tasks_are_refused(make_queue: QueueFactory) -> None:
    queue = await make_queue({})
    with pytest.raises(InvalidInput, match="kind"):
        await queue.submit(spec(TaskKind.DEPLOY))
    with pytest.raises(NotFound):
        await queue.get("01NOSUCHTASK00000000000000")
    with pytest.raises(NotFound):
        await collect(queue, "01NOSUCHTASK00000000000000")


def stored_task(task_id: str, status: TaskStatus, server_id: str = SERVER) -> Task:
    return Task(
        id=task_id, kind=TaskKind.SETUP, status=status, mutating=True, server_id=server_id,
        app_id=None, deployment_id=None, params={"n": 7}, progress=40, step="half way",
        created=datetime.now(UTC), started_at=None, finished_at=None, error=None, result=None,
        event_count=0,
    )  # fmt: skip


async def test_crash_recovery(
    make_queue: QueueFactory, task_rows: TaskRepository, event_rows: TaskEventRepository
) -> None:
    crashed = await task_rows.add(stored_task("01CRASHED00000000000000000A", TaskStatus.RUNNING))
    waiting = await task_rows.add(stored_task("01WAITING00000000000000000B", TaskStatus.QUEUED))
    await event_rows.add_many(
        [
            TaskStatusChanged(task_id=waiting.id, seq=1, created=waiting.created,
                              status=TaskStatus.QUEUED),
            TaskStatusChanged(task_id=crashed.id, seq=1, created=crashed.created,
                              status=TaskStatus.QUEUED),
            TaskStatusChanged(task_id=crashed.id, seq=2, created=crashed.created,
                              status=TaskStatus.RUNNING),
        ]
    )  # fmt: skip
    ran: list[int] = []

    async def body(task: Task, ctx: TaskContext) -> None:
        ran.append(task.params["n"])

    queue = await make_queue({TaskKind.SETUP: body})
    interrupted = await queue.get(crashed.id)
    assert interrupted.status is TaskStatus.INTERRUPTED
    assert interrupted.error is not None
    assert interrupted.error.message == INTERRUPTED_MESSAGE
    assert interrupted.finished_at is not None
    events = await collect(queue, crashed.id)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert isinstance(events[-1], TaskFinished)
    assert events[-1].status is TaskStatus.INTERRUPTED
    assert events[-1].event_count == 4
    waiting_events = await collect(queue, waiting.id)
    assert [e.seq for e in waiting_events] == list(range(1, len(waiting_events) + 1))
    assert (await queue.get(waiting.id)).status is TaskStatus.SUCCEEDED
    assert ran == [7]


async def test_stop_waits_then_cancels_and_refuses_new_tasks(make_queue: QueueFactory) -> None:
    stopped = asyncio.Event()
    started = asyncio.Event()

    async def quick(task: Task, ctx: TaskContext) -> str:
        await asyncio.sleep(0.1)
        return "done"

    async def slow(task: Task, ctx: TaskContext) -> None:
        ctx.set_cancel(stopped.set)
        started.set()
        await stopped.wait()
        raise asyncio.CancelledError

    queue = await make_queue({TaskKind.AUDIT: quick, TaskKind.SETUP: slow})
    fast = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    long = await queue.submit(spec())
    await asyncio.wait_for(started.wait(), 5)
    await queue.stop(grace=0.5)
    assert (await queue.get(fast.id)).status is TaskStatus.SUCCEEDED
    assert (await queue.get(long.id)).status is TaskStatus.CANCELLED
    with pytest.raises(Conflict):
        await queue.submit(spec())


async def test_a_result_that_is_not_data_fails_the_task(make_queue: QueueFactory) -> None:
    async def body(task: Task, ctx: TaskContext) -> object:
        return object()

    queue = await make_queue({TaskKind.AUDIT: body})
    task = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    await collect(queue, task.id)
    record = await queue.get(task.id)
    assert record.status is TaskStatus.FAILED
    assert record.error is not None
    assert record.error.code == "internal_error"


async def test_reports_after_the_end_are_dropped(
    make_queue: QueueFactory, event_rows: TaskEventRepository
) -> None:
    late = asyncio.Event()

    async def body(task: Task, ctx: TaskContext) -> None:
        def report_late() -> None:
            ctx.progress(99, "too late")
            late.set()

        asyncio.get_running_loop().call_later(0.05, report_late)

    queue = await make_queue({TaskKind.AUDIT: body})
    task = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    events = await collect(queue, task.id)
    await asyncio.wait_for(late.wait(), 5)
    follow_up = await queue.submit(spec(TaskKind.AUDIT, mutating=False))
    await collect(queue, follow_up.id)
    assert await event_rows.after(task.id) == events
    assert await event_rows.count(follow_up.id) == 4
