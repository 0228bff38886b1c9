"""Reads too heavy for the event loop's thread: statistics, long event streams, retention.

The SQLite driver runs statements in the loop's own thread (``database.py``): right for reads by
id and indexed pages, which take microseconds, wrong for a statement that walks a year of
deployments, which would stall ``/health``, the WebSocket and every other request. Such reads
are written once as plain functions of a SQLAlchemy ``Connection`` and run by ``run_read``:

- over a SQLite file, on a synchronous engine of its own in a small thread pool
  (``sqlite3`` releases the GIL while a statement runs, so the loop keeps serving);
- over any other engine (an async driver, which does not block the loop), through
  ``AsyncConnection.run_sync`` on the engine itself.

The pool has two threads: at most two heavy reads run at once, the rest queue, so however many
clients poll statistics the CPU they take is bounded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")
Read = Callable[[Connection], T]

THREADS = 2


class OffLoopReads:
    """A read-only synchronous engine over one SQLite file and the threads that use it."""

    def __init__(self, path: str, *, read_only: bool = True) -> None:
        self.path = path
        self.engine: Engine = create_engine(
            f"sqlite+pysqlite:///{path}",
            connect_args={"check_same_thread": False},
            pool_size=THREADS,
        )
        self._writes = not read_only
        event.listen(self.engine, "connect", self._tune)
        self._pool: ThreadPoolExecutor | None = None

    @property
    def _threads(self) -> ThreadPoolExecutor:
        """Started on first use, and again after ``close`` (the database may be reopened)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="pbdeployer-reads")
        return self._pool

    async def run(self, read: Read[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._call, read)

    async def vacuum(self) -> None:
        """Rewrite the file without its free pages, on a writable connection of its own."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, self._vacuum)

    def _vacuum(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.engine.dispose()

    def _call(self, read: Read[T]) -> T:
        with self.engine.begin() if self._writes else self.engine.connect() as conn:
            return read(conn)

    def _tune(self, dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=5000")
        if not self._writes:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()


_OFF_LOOP: weakref.WeakKeyDictionary[AsyncEngine, OffLoopReads] = weakref.WeakKeyDictionary()


def register(engine: AsyncEngine, reads: OffLoopReads) -> None:
    _OFF_LOOP[engine] = reads


async def run_read(engine: AsyncEngine, read: Read[T]) -> T:
    """``read(conn)`` where it cannot stall the event loop (see the module's docstring)."""
    off_loop = _OFF_LOOP.get(engine)
    if off_loop is not None:
        return await off_loop.run(read)
    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def vacuum(engine: AsyncEngine) -> bool:
    """Give a SQLite file's free pages back to the file system; ``False`` where there is no
    such file (another backend reclaims space on its own: PostgreSQL's autovacuum)."""
    off_loop = _OFF_LOOP.get(engine)
    if off_loop is None:
        return False
    await off_loop.vacuum()
    return True
