"""Shared CRUD over one table, returning msgspec models instead of rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import ColumnElement, Row, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from pbdeployer.errors import Conflict, NotFound
from pbdeployer.models import PageRequest

M = TypeVar("M", bound=msgspec.Struct)


class Repository(Generic[M]):
    """Rows of ``table`` as ``model``, ordered by id (time-sortable), so pages are stable."""

    table: Table
    model: type[M]
    noun: str

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def _to_model(self, row: Row[Any]) -> M:
        return msgspec.convert(row, self.model, from_attributes=True)

    async def add(self, record: M) -> M:
        values = msgspec.structs.asdict(record)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(self.table).values(**values))
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} conflicts with an existing record") from exc
        return record

    async def get(self, record_id: str) -> M:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(self.table).where(self.table.c.id == record_id))
            row = result.first()
        if row is None:
            raise NotFound(f"{self.noun} '{record_id}' does not exist")
        return self._to_model(row)

    async def page(
        self, request: PageRequest, where: Sequence[ColumnElement[bool]] = ()
    ) -> tuple[list[M], int]:
        query = select(self.table).where(*where).order_by(self.table.c.id)
        counter = select(func.count()).select_from(self.table).where(*where)
        async with self.engine.connect() as conn:
            total = (await conn.execute(counter)).scalar_one()
            rows = await conn.execute(query.limit(request.per_page).offset(request.offset))
            items = [self._to_model(row) for row in rows]
        return items, total

    async def first(self, *where: ColumnElement[bool]) -> M | None:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(self.table).where(*where).limit(1))
            row = result.first()
        return None if row is None else self._to_model(row)

    async def count(self, *where: ColumnElement[bool]) -> int:
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(self.table).where(*where)
            return int((await conn.execute(query)).scalar_one())

    async def change(self, record_id: str, values: Mapping[str, Any]) -> M:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(self.table).where(self.table.c.id == record_id).values(**values)
                )
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} conflicts with an existing record") from exc
        return await self.get(record_id)

    async def remove(self, record_id: str) -> None:
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(delete(self.table).where(self.table.c.id == record_id))
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} '{record_id}' is still referenced") from exc
        if result.rowcount == 0:
            raise NotFound(f"{self.noun} '{record_id}' does not exist")
