"""Shared CRUD over one table, returning msgspec models instead of rows.

Reads by id, pages, counts and ``first`` take the plain path of ``SQLiteReads`` when the engine
has one and every filter is a comparison of one of the table's columns with a value (all the
list filters are); the SQL is built once per repository and rows are decoded with the same
SQLAlchemy type processors the engine would apply (timestamps excepted: msgspec parses their
ISO text straight into the model). Any other filter, and every write, runs through SQLAlchemy,
with insert, update and delete statements built once per repository.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import (
    BinaryExpression,
    BindParameter,
    Column,
    ColumnElement,
    Dialect,
    Row,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import operators

from pbdeployer.errors import Conflict, InvalidInput, NotFound
from pbdeployer.models import PageRequest
from pbdeployer.models.common import ListOrder, decode_cursor
from pbdeployer.store.database import SQLiteReads, sqlite_reads
from pbdeployer.store.tables import UtcDateTime

M = TypeVar("M", bound=msgspec.Struct)
Processor = Callable[[Any], Any]

_COMPARISONS = {
    operators.eq: "=",
    operators.ne: "!=",
    operators.lt: "<",
    operators.le: "<=",
    operators.gt: ">",
    operators.ge: ">=",
}


class _PlainReads:
    """One table's reads through ``SQLiteReads``: SQL built once, rows decoded to dicts."""

    def __init__(
        self, reads: SQLiteReads, table: Table, dialect: Dialect, sort: Sequence[str]
    ) -> None:
        quote = dialect.identifier_preparer.quote
        self.reads = reads
        self.table = table
        self.keys = [str(column.key) for column in table.c]  # not quoted_name: msgspec wants str
        self.names = {column.key: quote(column.name) for column in table.c}
        source = f" FROM {quote(table.name)}"
        self.select = "SELECT " + ", ".join(self.names.values()) + source
        self.count_all = "SELECT count(*)" + source
        self.by_id = f"{self.select} WHERE {self.names['id']} = ?"
        oldest = ", ".join(self.names[key] for key in sort)
        newest = ", ".join(f"{self.names[key]} DESC" for key in sort)
        self.order = {
            ListOrder.OLDEST: f" ORDER BY {oldest} LIMIT ? OFFSET ?",
            ListOrder.NEWEST: f" ORDER BY {newest} LIMIT ? OFFSET ?",
        }
        self.decoders = [
            (str(column.key), processor)
            for column in table.c
            if (processor := _result_processor(column, dialect)) is not None
        ]
        self.encoders = {column.key: _bind_processor(column, dialect) for column in table.c}

    def get(self, record_id: str) -> list[dict[str, Any]]:
        return self._decoded(self.by_id, [record_id])

    def page(
        self, where: Sequence[ColumnElement[bool]], request: PageRequest
    ) -> tuple[list[dict[str, Any]], int] | None:
        plain = self._where(where)
        if plain is None or request.cursor is not None:
            return None
        sql, params = plain
        total = int(self.reads.rows(self.count_all + sql, params)[0][0])
        order = self.order[request.order]
        found = self._decoded(
            self.select + sql + order, [*params, request.per_page, request.offset]
        )
        return found, total

    def first(self, where: Sequence[ColumnElement[bool]]) -> list[dict[str, Any]] | None:
        plain = self._where(where)
        return (
            None if plain is None else self._decoded(self.select + plain[0] + " LIMIT 1", plain[1])
        )

    def count(self, where: Sequence[ColumnElement[bool]]) -> int | None:
        plain = self._where(where)
        return (
            None
            if plain is None
            else int(self.reads.rows(self.count_all + plain[0], plain[1])[0][0])
        )

    def _decoded(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        found = []
        for row in self.reads.rows(sql, params):
            values = dict(zip(self.keys, row, strict=True))
            for key, process in self.decoders:
                values[key] = process(values[key])
            found.append(values)
        return found

    def _where(self, clauses: Sequence[ColumnElement[bool]]) -> tuple[str, list[Any]] | None:
        """`` WHERE ...`` and its parameters, or ``None`` for a filter only SQLAlchemy knows."""
        terms: list[str] = []
        params: list[Any] = []
        for clause in clauses:
            term = self._comparison(clause)
            if term is None:
                return None
            terms.append(term[0])
            params.append(term[1])
        return (" WHERE " + " AND ".join(terms) if terms else ""), params

    def _comparison(self, clause: ColumnElement[bool]) -> tuple[str, Any] | None:
        """``column <op> ?`` for a comparison of one of the table's columns with a value."""
        if not isinstance(clause, BinaryExpression):
            return None
        column, value, sign = clause.left, clause.right, _COMPARISONS.get(clause.operator)
        if (
            sign is None
            or not isinstance(column, Column)
            or self.table.c.get(column.key) is not column
            or not isinstance(value, BindParameter)
            or value.expanding
            or value.effective_value is None
        ):
            return None
        encode = self.encoders[column.key]
        raw = value.effective_value
        return f"{self.names[column.key]} {sign} ?", raw if encode is None else encode(raw)


def _result_processor(column: Column[Any], dialect: Dialect) -> Processor | None:
    if isinstance(column.type, UtcDateTime) and dialect.name == "sqlite":
        return _utc_text  # msgspec parses it into the model's datetime, 5x faster than here
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


def _utc_text(value: str | None) -> str | None:
    """SQLite keeps ``UtcDateTime`` as naive UTC ISO text: mark it UTC for msgspec to parse."""
    return None if value is None else value + "Z"


def _bind_processor(column: Column[Any], dialect: Dialect) -> Processor | None:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def ordering(columns: Sequence[Column[Any]], order: ListOrder) -> list[ColumnElement[Any]]:
    return [c.desc() if order is ListOrder.NEWEST else c.asc() for c in columns]


def after_cursor(columns: Sequence[Column[Any]], request: PageRequest) -> list[ColumnElement[bool]]:
    """The keyset condition of a cursor page: rows past the cursor's key in the list's order."""
    if request.cursor is None:
        return []
    key = decode_cursor(request.cursor, len(columns))
    values: list[Any] = []
    for column, text in zip(columns, key, strict=True):
        values.append(_cursor_value(column, text))
    row, mark = tuple_(*columns), tuple_(*values)
    return [row < mark if request.order is ListOrder.NEWEST else row > mark]


def _cursor_value(column: Column[Any], text: str) -> Any:
    if not isinstance(column.type, UtcDateTime):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput.single("cursor", "is not a cursor this list gave out")
    return moment


class Repository(Generic[M]):
    """Rows of ``table`` as ``model`` in ``sort`` order (time-sortable), so pages are stable."""

    table: Table
    model: type[M]
    noun: str
    sort: tuple[str, ...] = ("id",)

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        reads = sqlite_reads(engine)
        self._plain = (
            None if reads is None else _PlainReads(reads, self.table, engine.dialect, self.sort)
        )
        # Built once with placeholders: SQLAlchemy compiles each shape once, values vary freely.
        this = self.table.c.id == bindparam("record_id")
        self._insert = insert(self.table)
        self._update = update(self.table).where(this)
        self._delete = delete(self.table).where(this)

    def _to_model(self, row: Row[Any]) -> M:
        return msgspec.convert(row, self.model, from_attributes=True)

    def _models(self, found: list[dict[str, Any]]) -> list[M]:
        return [msgspec.convert(values, self.model) for values in found]

    async def add(self, record: M) -> M:
        values = msgspec.structs.asdict(record)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(self._insert, values)
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} conflicts with an existing record") from exc
        return record

    async def get(self, record_id: str) -> M:
        if self._plain is not None:
            found = self._models(self._plain.get(record_id))
        else:
            async with self.engine.connect() as conn:
                result = await conn.execute(select(self.table).where(self.table.c.id == record_id))
                found = [self._to_model(row) for row in result]
        if not found:
            raise NotFound(f"{self.noun} '{record_id}' does not exist")
        return found[0]

    async def page(
        self, request: PageRequest, where: Sequence[ColumnElement[bool]] = ()
    ) -> tuple[list[M], int]:
        plain = None if self._plain is None else self._plain.page(where, request)
        if plain is not None:
            return self._models(plain[0]), plain[1]
        columns = [self.table.c[key] for key in self.sort]
        keyset = after_cursor(columns, request)
        query = (
            select(self.table).where(*where, *keyset).order_by(*ordering(columns, request.order))
        )
        offset = 0 if request.cursor is not None else request.offset
        counter = select(func.count()).select_from(self.table).where(*where)
        async with self.engine.connect() as conn:
            total = (await conn.execute(counter)).scalar_one()
            result = await conn.execute(query.limit(request.per_page).offset(offset))
            items = [self._to_model(row) for row in result]
        return items, total

    async def first(self, *where: ColumnElement[bool]) -> M | None:
        plain = None if self._plain is None else self._plain.first(where)
        if plain is not None:
            return self._models(plain[:1])[0] if plain else None
        async with self.engine.connect() as conn:
            result = await conn.execute(select(self.table).where(*where).limit(1))
            row = result.first()
        return None if row is None else self._to_model(row)

    async def count(self, *where: ColumnElement[bool]) -> int:
        plain = None if self._plain is None else self._plain.count(where)
        if plain is not None:
            return plain
        async with self.engine.connect() as conn:
            query = select(func.count()).select_from(self.table).where(*where)
            return int((await conn.execute(query)).scalar_one())

    async def change(self, record_id: str, values: Mapping[str, Any]) -> M:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(self._update, {**values, "record_id": record_id})
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} conflicts with an existing record") from exc
        return await self.get(record_id)

    async def remove(self, record_id: str) -> None:
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(self._delete, {"record_id": record_id})
        except IntegrityError as exc:
            raise Conflict(f"{self.noun} '{record_id}' is still referenced") from exc
        if result.rowcount == 0:
            raise NotFound(f"{self.noun} '{record_id}' does not exist")
