"""The SQLite driver and the plain read path: same answers as SQLAlchemy's, no lock contention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pbdeployer.models import PageRequest
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store
from pbdeployer.store.repository import Repository
from tests.unit.store.test_repositories import NOW, Ids, app, server, version


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(Settings(data_dir=tmp_path).sqlalchemy_url)
    await database.open()
    yield database
    await database.close()


def through_sqlalchemy(repository: Repository[Any]) -> Repository[Any]:
    """The same repository with its plain read path turned off."""
    twin = type(repository)(repository.engine)
    twin._plain = None
    return twin


async def test_a_sqlite_file_gets_the_in_loop_driver_and_plain_reads(database):
    assert database.engine.dialect.driver == "pbdeployer"
    assert database.reads is not None
    assert Store(database.engine).servers._plain is not None


async def test_plain_reads_answer_what_sqlalchemy_answers(database):
    store, ids = Store(database.engine), Ids()
    web = server(ids, "web1", manual_key_path="/keys/id", use_ssh_agent=True, port=2222)
    await store.servers.add(web)
    await store.servers.add(server(ids, "web2"))
    blog = app(ids, web.id, "blog", 8090, domain="blog.example.com")
    await store.apps.add(blog)
    await store.apps.add(app(ids, web.id, "shop", 8091))
    await store.versions.add(version(ids, blog.id, "1.0.0"))
    repositories = [store.servers, store.apps, store.versions]

    for fast in repositories:
        slow = through_sqlalchemy(fast)
        everything = PageRequest(page=1, per_page=100)
        assert await fast.page(everything) == await slow.page(everything)
        items, _ = await slow.page(everything)
        for item in items:
            assert await fast.get(item.id) == await slow.get(item.id)
    c = store.apps.table.c
    filters = [c.server_id == web.id, c.http_port != 8090, c.name == "nope"]
    for where in filters:
        slow = through_sqlalchemy(store.apps)
        assert await store.apps.first(where) == await slow.first(where)
        assert await store.apps.count(where) == await slow.count(where)
        assert await store.apps.page(PageRequest(), [where]) == await slow.page(
            PageRequest(), [where]
        )


async def test_a_filter_only_sqlalchemy_renders_still_works(database):
    store, ids = Store(database.engine), Ids()
    await store.servers.add(server(ids, "alpha"))
    c = store.servers.table.c

    assert store.servers._plain is not None
    assert store.servers._plain.count([c.name.in_(["alpha", "beta"])]) is None
    assert await store.servers.count(c.name.in_(["alpha", "beta"])) == 1
    assert await store.servers.count(c.manual_key_path.is_(None)) == 1


async def test_many_concurrent_writes_all_land(database):
    """Writers share the loop's thread, so none waits on another's lock."""
    store, ids = Store(database.engine), Ids()
    records = [server(ids, f"web{n}") for n in range(64)]

    await asyncio.gather(*(store.servers.add(record) for record in records))
    await asyncio.gather(
        *(store.servers.change(record.id, {"port": 2200 + n}) for n, record in enumerate(records))
    )

    assert await store.servers.count() == 64
    assert {(await store.servers.get(r.id)).port for r in records} == set(range(2200, 2264))


async def test_reads_reopen_after_close(database, tmp_path):
    store, ids = Store(database.engine), Ids()
    record = server(ids, "web1")
    await store.servers.add(record)
    await database.close()

    assert await store.servers.get(record.id) == record
    figures = await store.deployments.stats(
        NOW - timedelta(days=1), NOW, None, 1
    )  # heavy reads too
    assert figures.apps_total == 0


async def test_an_in_memory_database_keeps_one_connection():
    database = Database("sqlite+aiosqlite:///:memory:")
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    assert database.reads is None
    await database.close()
