"""Reads by comparison: the same answers on both read paths, and plain reads skip SQLAlchemy.

The API's list and lookup routes lean on the plain path for speed (see ``store/repository.py``);
a filter it cannot express must still be answered, by SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from pbdeployer.models import PageRequest
from pbdeployer.store import Store, tables
from tests.unit.store.test_repositories import Ids, app, ids, server, store

__all__ = ["ids", "store"]  # fixtures


async def three_apps(store: Store, ids: Ids) -> list[str]:
    web = await store.servers.add(server(ids, "web1"))
    return [(await store.apps.add(app(ids, web.id, f"a{port}", port))).id for port in (1, 2, 3)]


async def test_every_comparison_counts_and_finds_the_right_rows(store: Store, ids: Ids) -> None:
    made = await three_apps(store, ids)
    port = tables.apps.c.http_port
    expected = {
        "==": (port == 2, [made[1]]),
        "!=": (port != 2, [made[0], made[2]]),
        "<": (port < 2, [made[0]]),
        "<=": (port <= 2, made[:2]),
        ">": (port > 2, [made[2]]),
        ">=": (port >= 2, made[1:]),
        "in": (port.in_([1, 3]), [made[0], made[2]]),
        "none": (port > 3, []),
    }
    for sign, (clause, found) in expected.items():
        assert await store.apps.count(clause) == len(found), sign
        first = await store.apps.first(clause)
        assert (first.id if first else None) == (found[0] if found else None), sign
        page, total = await store.apps.page(PageRequest(per_page=1, page=2), [clause])
        assert ([a.id for a in page], total) == (found[1:2], len(found)), sign


async def test_filters_on_two_columns_must_both_hold(store: Store, ids: Ids) -> None:
    made = await three_apps(store, ids)
    c = tables.apps.c
    assert await store.apps.count(c.http_port >= 2, c.name == "a3") == 1
    assert (await store.apps.first(c.http_port >= 2, c.name != "a2")).id == made[2]  # type: ignore[union-attr]
    assert await store.apps.count(c.http_port == 1, c.name == "a3") == 0


@pytest.mark.parametrize("store", ["plain"], indirect=True)
async def test_lookups_by_comparison_do_not_go_through_sqlalchemy(store: Store, ids: Ids) -> None:
    made = await three_apps(store, ids)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    engine = store.apps.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        c = tables.apps.c
        assert (await store.apps.get(made[0])).name == "a1"
        assert (await store.apps.page(PageRequest(), [c.http_port > 1]))[1] == 2
        assert (await store.apps.first(c.name == "a2")).id == made[1]  # type: ignore[union-attr]
        assert await store.apps.count(c.server_id != "x") == 3
        assert statements == []
        assert await store.apps.count(c.http_port.in_([1, 2])) == 2  # only SQLAlchemy knows IN
        assert len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", seen)
