"""Task records and their events, over a real migrated SQLite database.

What the task list and a restarted controller rely on: every field comes back as written,
progress never lands on a task that has ended, each filter keeps exactly its tasks, and an
event replay holds one task's events after a given point, in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import NotFound
from pbdeployer.models import PageRequest
from pbdeployer.models.task_events import TaskLogLine, TaskProgress
from pbdeployer.models.tasks import Task, TaskError, TaskFilter, TaskKind, TaskStatus
from pbdeployer.store import Store
from tests.unit.store.test_repositories import NOW, Ids, ids, store

__all__ = ["ids", "store"]  # fixtures

SERVER_A, SERVER_B = "01SERVERA00000000000000000", "01SERVERB00000000000000000"
APP_A, APP_B = "01APPA0000000000000000000A", "01APPB0000000000000000000B"


def task(ids: Ids, **fields: Any) -> Task:
    values: dict[str, Any] = {
        "id": ids(), "kind": TaskKind.DEPLOY, "status": TaskStatus.QUEUED, "mutating": True,
        "server_id": SERVER_A, "app_id": APP_A, "deployment_id": None, "params": {},
        "progress": 0, "step": "", "created": NOW, "started_at": None, "finished_at": None,
        "error": None, "result": None, "event_count": 0,
    }  # fmt: skip
    return Task(**(values | fields))


def log_line(task_id: str, seq: int) -> TaskLogLine:
    return TaskLogLine(task_id=task_id, seq=seq, created=NOW, text=f"line {seq}")


async def test_a_task_comes_back_with_every_field_as_written(store: Store, ids: Ids) -> None:
    failed = task(
        ids, kind=TaskKind.ROLLBACK, status=TaskStatus.FAILED, mutating=False,
        deployment_id="01DEPLOY000000000000000000", params={"keep": [1, "two"]}, progress=40,
        step="Unpack the release", started_at=NOW + timedelta(seconds=1),
        finished_at=NOW + timedelta(seconds=9), result={"changed": 3}, event_count=12,
        error=TaskError(code="host_unreachable", message="web1 did not answer"),
    )  # fmt: skip
    bare = task(ids, server_id=None, app_id=None)

    for record in (failed, bare):
        assert await store.tasks.add(record) == record
        assert await store.tasks.get(record.id) == record


async def test_an_error_without_a_message_comes_back_with_an_empty_one(
    store: Store, ids: Ids
) -> None:
    record = await store.tasks.add(task(ids, error=TaskError(code="cancelled", message="")))
    assert (await store.tasks.get(record.id)).error == TaskError(code="cancelled", message="")


async def test_a_task_that_does_not_exist_is_not_found(store: Store, ids: Ids) -> None:
    missing = task(ids)
    with pytest.raises(NotFound, match=f"task '{missing.id}' does not exist"):
        await store.tasks.get(missing.id)
    with pytest.raises(NotFound, match=f"task '{missing.id}' does not exist"):
        await store.tasks.save(missing)
    assert await store.tasks.list(TaskFilter(), PageRequest()) == ([], 0)


async def test_save_writes_the_new_state_over_the_row_and_touches_no_other(
    store: Store, ids: Ids
) -> None:
    first = await store.tasks.add(task(ids))
    second = await store.tasks.add(task(ids))
    done = msgspec.structs.replace(
        first, status=TaskStatus.SUCCEEDED, progress=100, step="Done",
        finished_at=datetime(2026, 1, 2, tzinfo=UTC), result=["ok"],
    )  # fmt: skip

    assert await store.tasks.save(done) == done

    assert await store.tasks.get(first.id) == done
    assert await store.tasks.get(second.id) == second


async def test_progress_lands_only_on_running_tasks(store: Store, ids: Ids) -> None:
    running = await store.tasks.add(task(ids, status=TaskStatus.RUNNING))
    other = await store.tasks.add(task(ids, status=TaskStatus.RUNNING))
    ended = await store.tasks.add(task(ids, status=TaskStatus.CANCELLED, progress=30, step="x"))
    untouched = await store.tasks.add(task(ids, status=TaskStatus.RUNNING, step="Wait"))

    await store.tasks.save_progress(
        {running.id: (50, "Copy the zip"), other.id: (75, "Restart"), ended.id: (90, "late")}
    )
    await store.tasks.save_progress({})

    assert await store.tasks.get(running.id) == msgspec.structs.replace(
        running, progress=50, step="Copy the zip"
    )
    assert await store.tasks.get(other.id) == msgspec.structs.replace(
        other, progress=75, step="Restart"
    )
    assert await store.tasks.get(ended.id) == ended
    assert await store.tasks.get(untouched.id) == untouched


async def test_tasks_in_a_status_come_oldest_first(store: Store, ids: Ids) -> None:
    older = task(ids, status=TaskStatus.QUEUED)
    newer = task(ids, status=TaskStatus.QUEUED)  # made later, stored first
    running = task(ids, status=TaskStatus.RUNNING)
    for record in (newer, running, older):
        await store.tasks.add(record)

    assert await store.tasks.with_status(TaskStatus.QUEUED) == [older, newer]
    assert await store.tasks.with_status(TaskStatus.RUNNING) == [running]
    assert await store.tasks.with_status(TaskStatus.INTERRUPTED) == []


async def test_each_task_filter_keeps_exactly_its_tasks(store: Store, ids: Ids) -> None:
    deploy_a = await store.tasks.add(task(ids))
    audit_a = await store.tasks.add(
        task(ids, kind=TaskKind.AUDIT, status=TaskStatus.RUNNING, app_id=None)
    )
    deploy_b = await store.tasks.add(task(ids, server_id=SERVER_B, app_id=APP_B))
    setup = await store.tasks.add(task(ids, kind=TaskKind.SETUP, server_id=None, app_id=None))
    every = PageRequest()

    async def listed(**flt: Any) -> tuple[list[Task], int]:
        return await store.tasks.list(TaskFilter(**flt), every)

    assert await listed() == ([deploy_a, audit_a, deploy_b, setup], 4)
    assert await listed(status=TaskStatus.RUNNING) == ([audit_a], 1)
    assert await listed(kind=TaskKind.DEPLOY) == ([deploy_a, deploy_b], 2)
    assert await listed(server_id=SERVER_A) == ([deploy_a, audit_a], 2)
    assert await listed(app_id=APP_B) == ([deploy_b], 1)
    assert await listed(kind=TaskKind.DEPLOY, server_id=SERVER_B) == ([deploy_b], 1)
    assert await listed(status=TaskStatus.QUEUED, kind=TaskKind.AUDIT) == ([], 0)


async def test_task_pages_follow_one_another_and_count_every_match(store: Store, ids: Ids) -> None:
    made = [await store.tasks.add(task(ids)) for _ in range(5)]
    await store.tasks.add(task(ids, kind=TaskKind.AUDIT))
    deploys = TaskFilter(kind=TaskKind.DEPLOY)

    pages = [await store.tasks.list(deploys, PageRequest(page=n, per_page=2)) for n in (1, 2, 3)]

    assert pages == [(made[:2], 5), (made[2:4], 5), (made[4:], 5)]


async def test_a_replay_holds_one_tasks_events_after_the_point_asked(
    store: Store, ids: Ids
) -> None:
    mine = await store.tasks.add(task(ids, status=TaskStatus.RUNNING))
    other = await store.tasks.add(task(ids, status=TaskStatus.RUNNING))
    events = store.task_events
    await events.add_many([log_line(other.id, 1), log_line(other.id, 2)])
    progress = TaskProgress(task_id=mine.id, seq=3, created=NOW, percent=60, step="Restart")
    await events.add_many([log_line(mine.id, 2), progress, log_line(mine.id, 1)])

    assert await events.after(mine.id) == [log_line(mine.id, 1), log_line(mine.id, 2), progress]
    assert await events.after(mine.id, 1) == [log_line(mine.id, 2), progress]
    assert await events.after(mine.id, 3) == []
    assert (await events.last_seq(mine.id), await events.count(mine.id)) == (3, 3)
    assert (await events.last_seq(other.id), await events.count(other.id)) == (2, 2)


async def test_a_task_without_events_replays_nothing(store: Store, ids: Ids) -> None:
    quiet = await store.tasks.add(task(ids))
    await store.task_events.add_many([])
    assert await store.task_events.after(quiet.id) == []
    assert (
        await store.task_events.last_seq(quiet.id),
        await store.task_events.count(quiet.id),
    ) == (
        0,
        0,
    )


async def test_a_final_batch_ends_the_task_with_its_last_events(store: Store, ids: Ids) -> None:
    running = await store.tasks.add(task(ids, status=TaskStatus.RUNNING))
    done = msgspec.structs.replace(running, status=TaskStatus.SUCCEEDED, event_count=1)

    await store.task_events.add_many([], final=done)
    assert await store.tasks.get(running.id) == done

    failed = msgspec.structs.replace(done, status=TaskStatus.FAILED, event_count=2)
    await store.task_events.add_many([log_line(running.id, 2)], final=failed)
    assert await store.tasks.get(running.id) == failed
    assert await store.task_events.after(running.id) == [log_line(running.id, 2)]
