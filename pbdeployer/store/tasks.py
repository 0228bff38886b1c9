"""Task records: written whole by the queue that owns them, read back as ``Task`` models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pbdeployer.errors import NotFound
from pbdeployer.models.common import PageRequest
from pbdeployer.models.tasks import Task, TaskError, TaskFilter, TaskStatus
from pbdeployer.store.repository import after_cursor, ordering
from pbdeployer.store.task_tables import tasks


def _values(task: Task) -> dict[str, Any]:
    values = msgspec.structs.asdict(task)
    error = values.pop("error")
    values["kind"] = task.kind.value
    values["status"] = task.status.value
    values["error_code"] = error.code if error else None
    values["error_message"] = error.message if error else None
    return values


def _to_task(row: Row[Any]) -> Task:
    data = row._asdict()
    error = None
    if data["error_code"] is not None:
        error = TaskError(code=data["error_code"], message=data["error_message"] or "")
    fields = {str(k): v for k, v in data.items() if k not in ("error_code", "error_message")}
    return msgspec.convert({**fields, "error": error}, Task)


async def save_row(conn: AsyncConnection, task: Task) -> None:
    """Write ``task`` over its row within the caller's transaction."""
    values = _values(task)
    del values["id"]
    result = await conn.execute(update(tasks).where(tasks.c.id == task.id).values(values))
    if result.rowcount == 0:
        raise NotFound(f"task '{task.id}' does not exist")


class TaskRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, task: Task) -> Task:
        async with self.engine.begin() as conn:
            await conn.execute(insert(tasks).values(**_values(task)))
        return task

    async def save(self, task: Task) -> Task:
        """Write the task's current state over its row."""
        async with self.engine.begin() as conn:
            await save_row(conn, task)
        return task

    async def save_progress(self, changes: Mapping[str, tuple[int, str]]) -> None:
        """Write ``(percent, step)`` by task id, in one transaction, to rows still running."""
        if not changes:
            return
        running = tasks.c.status == TaskStatus.RUNNING.value
        async with self.engine.begin() as conn:
            for task_id, (percent, step) in changes.items():
                query = update(tasks).where(tasks.c.id == task_id, running)
                await conn.execute(query.values(progress=percent, step=step))

    async def get(self, task_id: str) -> Task:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
        if row is None:
            raise NotFound(f"task '{task_id}' does not exist")
        return _to_task(row)

    async def with_status(self, status: TaskStatus) -> list[Task]:
        """Tasks in ``status``, oldest first (ids sort by creation time)."""
        query = select(tasks).where(tasks.c.status == status.value).order_by(tasks.c.id)
        async with self.engine.connect() as conn:
            return [_to_task(row) for row in await conn.execute(query)]

    async def list(self, flt: TaskFilter, request: PageRequest) -> tuple[list[Task], int]:
        """A page of tasks matching ``flt``, in ``request.order`` by id."""
        where = _task_filters(flt)
        keyset = after_cursor([tasks.c.id], request)
        order = ordering([tasks.c.id], request.order)
        query = select(tasks).where(*where, *keyset).order_by(*order)
        offset = 0 if request.cursor is not None else request.offset
        counter = select(func.count()).select_from(tasks).where(*where)
        async with self.engine.connect() as conn:
            total = int((await conn.execute(counter)).scalar_one())
            rows = await conn.execute(query.limit(request.per_page).offset(offset))
            return [_to_task(row) for row in rows], total


def _task_filters(flt: TaskFilter) -> list[ColumnElement[bool]]:
    c = tasks.c
    where: list[ColumnElement[bool]] = []
    if flt.status is not None:
        where.append(c.status == flt.status.value)
    if flt.kind is not None:
        where.append(c.kind == flt.kind.value)
    if flt.server_id is not None:
        where.append(c.server_id == flt.server_id)
    if flt.app_id is not None:
        where.append(c.app_id == flt.app_id)
    return where
