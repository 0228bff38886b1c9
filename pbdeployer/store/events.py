"""Task events, written in batches by the event log and read back for replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import Connection, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.models.task_events import TaskEvent
from pbdeployer.models.tasks import Task, TaskStatus
from pbdeployer.store.offloop import run_read
from pbdeployer.store.task_tables import task_events, tasks
from pbdeployer.store.tasks import save_row

_decoder = msgspec.json.Decoder(TaskEvent)


class TaskEventRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_many(self, events: Sequence[TaskEvent], *, final: Task | None = None) -> None:
        """Insert a batch in one transaction (one round trip for the whole batch).

        With ``final`` (a task that has ended) its row is written in the same transaction: a
        reader sees the task finished only with all its events stored.
        """
        if not events and final is None:
            return
        rows = [
            {
                "task_id": event.task_id,
                "seq": event.seq,
                "type": event.__struct_config__.tag,
                "created": event.created,
                "data": msgspec.json.encode(event).decode(),
            }
            for event in events
        ]
        async with self.engine.begin() as conn:
            if rows:
                await conn.execute(insert(task_events), rows)
            if final is not None:
                await save_row(conn, final)

    async def after(
        self, task_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[TaskEvent]:
        """A task's events with ``seq`` above ``after_seq``, in order, at most ``limit``.

        The limit is in the SQL: a page reads and decodes its own rows, not the rest of the
        stream (the primary key ``(task_id, seq)`` serves the range in order).
        """
        c = task_events.c
        query = select(c.data).where(c.task_id == task_id, c.seq > after_seq).order_by(c.seq)
        if limit is not None:
            query = query.limit(limit)
        async with self.engine.connect() as conn:
            return [_decoder.decode(data) for data in (await conn.execute(query)).scalars()]

    async def last_seq(self, task_id: str) -> int:
        query = select(func.max(task_events.c.seq)).where(task_events.c.task_id == task_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one() or 0)

    async def count(self, task_id: str) -> int:
        query = select(func.count()).where(task_events.c.task_id == task_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def prunable(self, before: datetime, limit: int) -> list[tuple[str, int]]:
        """``(task_id, last seq)`` of up to ``limit`` tasks that ended before ``before`` and
        still hold events. Queued and running tasks are never among them."""
        return await run_read(self.engine, lambda conn: _prunable(conn, before, limit))

    async def remove_through(self, task_id: str, seq: int) -> int:
        """Delete the task's events up to ``seq`` (one short transaction); how many went."""
        c = task_events.c
        query = delete(task_events).where(c.task_id == task_id, c.seq <= seq)
        async with self.engine.begin() as conn:
            return int((await conn.execute(query)).rowcount)


_ENDED = [status.value for status in TaskStatus if status.finished]


def _prunable(conn: Connection, before: datetime, limit: int) -> list[tuple[str, int]]:
    has_events = exists().where(task_events.c.task_id == tasks.c.id)
    ended = select(tasks.c.id).where(
        tasks.c.status.in_(_ENDED), tasks.c.finished_at < before, has_events
    )
    found = []
    for task_id in conn.execute(ended.limit(limit)).scalars():
        last = select(func.max(task_events.c.seq)).where(task_events.c.task_id == task_id)
        found.append((task_id, int(conn.execute(last).scalar_one() or 0)))
    return found
