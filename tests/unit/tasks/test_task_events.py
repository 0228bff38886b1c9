"""A task's event stream: numbered 1..n, stored in batches, replayed without gap or duplicate."""

from __future__ import annotations

import asyncio

from pbdeployer.models.task_events import TaskFinished, TaskProgress
from pbdeployer.models.tasks import Task, TaskKind, TaskSpec, TaskStatus
from pbdeployer.services.tasks import TaskContext
from pbdeployer.store.events import TaskEventRepository
from tests.unit.tasks.support import QueueFactory, Writes, collect

SPEC = TaskSpec(kind=TaskKind.AUDIT, mutating=False, server_id="01SERVER0000000000000000AA")


async def chatty(task: Task, ctx: TaskContext) -> int:
    """Report ``count`` progress steps, yielding to the loop every ``every`` of them."""
    count: int = task.params["count"]
    every: int = task.params["every"]
    pause: float = task.params["pause"]
    for index in range(count):
        ctx.progress(index * 100 // count, f"step {index}")
        if index % every == every - 1:
            await asyncio.sleep(pause)
    return count


def spec(count: int, every: int = 10, pause: float = 0.0) -> TaskSpec:
    return TaskSpec(
        kind=SPEC.kind,
        mutating=False,
        server_id=SPEC.server_id,
        app_id="01APP000000000000000000000",
        params={"count": count, "every": every, "pause": pause},
    )


async def test_events_are_numbered_stored_and_end_with_the_count(
    make_queue: QueueFactory, event_rows: TaskEventRepository
) -> None:
    queue = await make_queue({TaskKind.AUDIT: chatty})
    task = await queue.submit(spec(25))
    events = await collect(queue, task.id)
    n = len(events)
    assert n == 25 + 4  # queued, running, 25 steps, succeeded, finished
    assert [e.seq for e in events] == list(range(1, n + 1))
    assert all(e.task_id == task.id for e in events)
    final = events[-1]
    assert isinstance(final, TaskFinished)
    assert (final.event_count, final.status) == (n, TaskStatus.SUCCEEDED)
    assert await event_rows.count(task.id) == n
    assert (await queue.get(task.id)).event_count == n
    assert await event_rows.after(task.id) == events


async def test_replay_after_a_seq_of_a_finished_task(make_queue: QueueFactory) -> None:
    queue = await make_queue({TaskKind.AUDIT: chatty})
    task = await queue.submit(spec(30))
    everything = await collect(queue, task.id)
    n = len(everything)
    for k in (0, 1, 17, n - 1):
        again = await collect(queue, task.id, after_seq=k)
        assert [e.seq for e in again] == list(range(k + 1, n + 1))
        assert again == everything[k:]


async def test_replay_while_the_task_still_runs(
    make_queue: QueueFactory, event_rows: TaskEventRepository
) -> None:
    queue = await make_queue({TaskKind.AUDIT: chatty})
    task = await queue.submit(spec(600, every=5, pause=0.005))
    for _ in range(500):  # let the task get well under way first
        if await event_rows.count(task.id) >= 40:
            break
        await asyncio.sleep(0.01)
    followers = [asyncio.create_task(collect(queue, task.id, after_seq=k)) for k in (0, 20, 35)]
    for _ in range(3):  # more followers join at different moments mid-run
        await asyncio.sleep(0.1)
        followers.append(asyncio.create_task(collect(queue, task.id, after_seq=30)))
    assert (await queue.get(task.id)).status is TaskStatus.RUNNING
    results = await asyncio.gather(*followers)
    n = (await queue.get(task.id)).event_count
    assert n == 604
    assert (await queue.get(task.id)).status is TaskStatus.SUCCEEDED
    for k, events in zip((0, 20, 35, 30, 30, 30), results, strict=True):
        assert [e.seq for e in events] == list(range(k + 1, n + 1))


async def test_events_are_written_in_batches(
    make_queue: QueueFactory, event_rows: TaskEventRepository, writes: Writes
) -> None:
    queue = await make_queue({TaskKind.AUDIT: chatty})
    task = await queue.submit(spec(2000, every=20))
    events = await collect(queue, task.id)
    assert len(events) == 2004
    assert await event_rows.count(task.id) == 2004
    progress = [e for e in events if isinstance(e, TaskProgress)]
    assert progress[-1].step == "step 1999"
    assert 0 < writes.event_inserts <= 40
    assert writes.commits <= 50
