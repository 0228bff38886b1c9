"""The async engine, its SQLite driver and tuning, plain reads, and migrations at start-up.

Chosen by measuring (``bench/api.py``, 2 cores, 32 connections; README "Performance"):

- SQLite runs on the stdlib ``sqlite3`` module in the event loop's own thread
  (``sqlite+pbdeployer``, below), not on aiosqlite. aiosqlite hops to a thread of its own per
  call, and under load those hops wait for the GIL; with a pool large enough for the load its
  32 writer threads also starved each other into "database is locked". A statement on our
  small indexed tables takes microseconds, less than one hop. Writes from one process are
  serialized by the loop for free; nothing holds a write transaction across an ``await`` that
  suspends, so no coroutine can wait on another's lock.
- Heavy reads (statistics, long event streams) run in a thread of their own (``offloop.py``).
- Reads by id, pages and counts skip SQLAlchemy's execution layer (about 0.2 ms a statement
  here) through ``SQLiteReads``; repositories build their SQL once (``repository.py``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from importlib import resources
from typing import Any, cast

from sqlalchemy import URL, Connection, event, make_url, pool, text
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_module,
    AsyncIODBAPIConnection,
)
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from pbdeployer.errors import NotFound
from pbdeployer.store import offloop

_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000")
_POOL_SIZE = 32
"""SQLAlchemy hands a connection back to its pool in a task of its own, one loop turn after the
work, so under load about as many connections as requests in flight are out at once. A smaller
pool opens and closes a connection (and parses the schema again) for most requests."""


class Database:
    """Owns the engine; ``open`` migrates the schema to head before anything reads it.

    ``read_only`` (a database another process owns and migrates): ``open`` migrates nothing,
    and every SQLite connection refuses writes (``PRAGMA query_only``).
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        path = _sqlite_file(url)
        self._file = path
        self.engine: AsyncEngine = create_async_engine(_driver(url), **_engine_options(url, path))
        self.reads: SQLiteReads | None = None
        self.off_loop: offloop.OffLoopReads | None = None
        if self.is_sqlite:
            tune = _tune_sqlite_read_only if read_only else _tune_sqlite
            event.listen(self.engine.sync_engine, "connect", tune)
        if path is not None:
            self.reads = SQLiteReads(path)
            _READS[self.engine] = self.reads
            self.off_loop = offloop.OffLoopReads(path)
            offloop.register(self.engine, self.off_loop)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def open(self) -> None:
        if self._file is not None:
            _check_file(self._file, create=not self.read_only)
        if self.read_only:
            return
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade_to_head)

    async def close(self) -> None:
        if self.reads is not None:
            self.reads.close()
        if self.off_loop is not None:
            self.off_loop.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        """One round trip, for health checks."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))


class SQLiteReads:
    """Plain ``SELECT``s on the calling thread, through the stdlib ``sqlite3`` module.

    One read-only connection per thread, opened on first use. A statement over an indexed
    table takes microseconds, less than a hop to a worker thread would, so it runs where it is
    called (the event loop's thread); it never waits on writers, WAL lets readers through.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._generation = 0

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._connection().execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every thread's connection; the next read opens a fresh one."""
        with self._guard:
            self._generation += 1
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "generation", -1) != self._generation:
            local.conn = self._open()
            local.generation = self._generation
        conn: sqlite3.Connection = local.conn
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=ON")
        with self._guard:
            self._opened.append(conn)
        return conn


_READS: weakref.WeakKeyDictionary[AsyncEngine, SQLiteReads] = weakref.WeakKeyDictionary()


def sqlite_reads(engine: AsyncEngine) -> SQLiteReads | None:
    """The plain-read path of an engine a ``Database`` made over a SQLite file, else ``None``."""
    return _READS.get(engine)


def _driver(url: str) -> URL:
    """SQLite URLs (``sqlite+aiosqlite://`` is the default) run on our in-loop driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername=f"sqlite+{InlineSQLiteDialect.driver}")
    return parsed


def _sqlite_file(url: str) -> str | None:
    """The database file of a plain SQLite URL (not in memory, no URI options)."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or parsed.query or path in (None, "", ":memory:"):
        return None
    return path


def _engine_options(url: str, sqlite_file: str | None) -> dict[str, Any]:
    if sqlite_file is not None:
        return {"connect_args": {"check_same_thread": False}, "pool_size": _POOL_SIZE}
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False}}
    return {"pool_pre_ping": True}


def _tune_sqlite(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in _PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _tune_sqlite_read_only(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
    _tune_sqlite(dbapi_conn, record)
    dbapi_conn.cursor().execute("PRAGMA query_only=ON")


def _check_file(path: str, *, create: bool) -> None:
    """A missing database file is created 0600 (SQLite gives its -wal and -shm the same mode:
    an empty file is an empty database), or refused when there is nothing to create it for."""
    if os.path.exists(path):
        return
    if not create:
        raise NotFound(f"no database at {path} to read")
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _upgrade_to_head(conn: Connection) -> None:
    # Imported here, when a database is opened, not with the library: alembic is about a
    # third of ``from pbdeployer import Deployer``, and tools that never migrate don't pay.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    location = resources.files("pbdeployer.store") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


class _Cursor:
    """``sqlite3.Cursor`` behind the coroutine interface SQLAlchemy's async adapter awaits.

    Every coroutine finishes without suspending: the statement runs at once, in this thread.
    """

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self.arraysize = cursor.arraysize

    async def __aenter__(self) -> _Cursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def execute(self, operation: str, parameters: Any = ()) -> None:
        self._cursor.execute(operation, parameters)

    async def executemany(self, operation: str, parameters: Any) -> None:
        self._cursor.executemany(operation, parameters)

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    """``sqlite3.Connection`` behind the coroutine interface, like ``_Cursor``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()


class _AdaptedConnection(AsyncAdapt_dbapi_connection):
    """What SQLAlchemy's pool holds; the pysqlite dialect also uses these two directly."""

    __slots__ = ("_sqlite",)

    def __init__(self, dbapi: _InlineDBAPI, conn: sqlite3.Connection) -> None:
        super().__init__(dbapi, cast(AsyncIODBAPIConnection, _Connection(conn)))
        self._sqlite = conn

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._sqlite.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._sqlite.create_function(*args, **kwargs)


class _InlineDBAPI(AsyncAdapt_dbapi_module):
    """The stdlib ``sqlite3`` module as an async DBAPI for SQLAlchemy."""

    paramstyle = "qmark"

    def __init__(self) -> None:
        super().__init__(sqlite3, dbapi_module=sqlite3)
        for name in ("sqlite_version", "sqlite_version_info", "Binary", *_DBAPI_ERRORS):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        return _AdaptedConnection(self, sqlite3.connect(*args, **kwargs))


_DBAPI_ERRORS = (
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
)  # fmt: skip


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite's dialect (what aiosqlite's extends too), driven as async, run in-loop."""

    driver = "pbdeployer"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


registry.register(f"sqlite.{InlineSQLiteDialect.driver}", __name__, "InlineSQLiteDialect")
