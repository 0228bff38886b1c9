"""Deployment records and the per-app deploy lock, over a real migrated SQLite database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import DeploymentLocked, InvalidInput
from pbdeployer.models import (
    Deployment,
    DeploymentStatus,
    PageRequest,
    ServerFilter,
)
from pbdeployer.models.common import ListOrder, encode_cursor
from pbdeployer.models.deployments import DeploymentFilter
from pbdeployer.store import Store
from tests.unit.store.test_repositories import NOW, Ids, app, ids, server, store, version

__all__ = ["ids", "store"]  # fixtures


class World(msgspec.Struct, kw_only=True):
    """Two servers, an app on each, a version of each app."""

    server_a: str
    server_b: str
    app_a: str
    app_b: str
    version_a: str
    version_b: str


@pytest.fixture
async def world(store: Store, ids: Ids) -> World:
    first = await store.servers.add(server(ids, "web1"))
    second = await store.servers.add(server(ids, "web2"))
    blog = await store.apps.add(app(ids, first.id, "blog", 8090))
    shop = await store.apps.add(app(ids, second.id, "shop", 8091))
    return World(
        server_a=first.id, server_b=second.id, app_a=blog.id, app_b=shop.id,
        version_a=(await store.versions.add(version(ids, blog.id, "1.0"))).id,
        version_b=(await store.versions.add(version(ids, shop.id, "1.0"))).id,
    )  # fmt: skip


def deployment(ids: Ids, world: World, on_b: bool = False, **fields: Any) -> Deployment:
    values: dict[str, Any] = {
        "id": ids(), "created": NOW, "updated": NOW,
        "app_id": world.app_b if on_b else world.app_a,
        "server_id": world.server_b if on_b else world.server_a,
        "version_id": world.version_b if on_b else world.version_a,
        "status": DeploymentStatus.QUEUED, "logs": "", "started_at": None, "completed_at": None,
    }  # fmt: skip
    return Deployment(**(values | fields))


def ended(record: Deployment, status: DeploymentStatus = DeploymentStatus.SUCCEEDED) -> Deployment:
    return msgspec.structs.replace(record, status=status, completed_at=NOW, logs="done")


async def test_one_deployment_per_app_at_a_time(store, ids, world):
    holder = await store.deployments.add_locked(deployment(ids, world))
    other_app = await store.deployments.add_locked(deployment(ids, world, on_b=True))

    refused = deployment(ids, world)
    with pytest.raises(DeploymentLocked) as caught:
        await store.deployments.add_locked(refused)

    assert caught.value.message == (
        f"app '{world.app_a}' is being deployed by deployment '{holder.id}';"
        " wait for it to end or cancel it"
    )
    assert caught.value.holder == holder.id
    assert await store.deployments.lock_holder(world.app_a) == holder.id
    assert await store.deployments.lock_holder(world.app_b) == other_app.id
    items, total = await store.deployments.list(DeploymentFilter(), PageRequest())
    assert [d.id for d in items] == [holder.id, other_app.id]  # the refused one left no row
    assert total == 2


async def test_holding_locks_lists_the_lock_holders_whatever_their_status(store, ids, world):
    assert await store.deployments.holding_locks() == []
    first = await store.deployments.add_locked(deployment(ids, world))
    second = await store.deployments.add_locked(deployment(ids, world, on_b=True))
    interrupted = ended(first, DeploymentStatus.INTERRUPTED)
    await store.deployments.save(interrupted)  # a close keeps the lock for recovery

    assert await store.deployments.holding_locks() == [interrupted, second]

    await store.deployments.save_ended(ended(second))
    assert await store.deployments.holding_locks() == [interrupted]


async def test_an_ended_deployment_is_stored_and_frees_its_app(store, ids, world):
    first = await store.deployments.add_locked(deployment(ids, world))
    await store.deployments.save(msgspec.structs.replace(first, status=DeploymentStatus.RUNNING))
    assert await store.deployments.lock_holder(world.app_a) == first.id

    await store.deployments.save_ended(ended(first))

    assert await store.deployments.get(first.id) == ended(first)
    assert await store.deployments.lock_holder(world.app_a) is None
    second = await store.deployments.add_locked(deployment(ids, world))
    assert await store.deployments.lock_holder(world.app_a) == second.id


async def test_ending_a_deployment_leaves_other_locks_alone(store, ids, world):
    holder = await store.deployments.add_locked(deployment(ids, world))
    on_b = await store.deployments.add_locked(deployment(ids, world, on_b=True))
    # A record of the same app that never held the lock (say, one written by hand) ends.
    stray = deployment(ids, world)
    await store.deployments.save_ended(ended(stray))

    assert await store.deployments.lock_holder(world.app_a) == holder.id
    await store.deployments.save_ended(ended(on_b))
    assert await store.deployments.lock_holder(world.app_a) == holder.id
    assert await store.deployments.lock_holder(world.app_b) is None


async def test_save_writes_every_field_of_that_deployment_only(store, ids, world):
    first = await store.deployments.add_locked(deployment(ids, world))
    other = await store.deployments.add_locked(deployment(ids, world, on_b=True))
    changed = msgspec.structs.replace(
        first, status=DeploymentStatus.RUNNING, progress=40, step="unit", started_at=NOW,
        logs="line", release="1.0", restore_data=True,
    )  # fmt: skip

    assert await store.deployments.save(changed) == changed
    assert await store.deployments.get(first.id) == changed
    assert await store.deployments.get(other.id) == other


async def test_filters_select_exactly_their_deployments(store, ids, world):
    hour = timedelta(hours=1)
    old = deployment(ids, world, created=NOW - hour, status=DeploymentStatus.SUCCEEDED)
    at = deployment(ids, world, created=NOW, status=DeploymentStatus.FAILED)
    new_b = deployment(ids, world, on_b=True, created=NOW + hour)
    for record in (new_b, at, old):  # results come in id order, not insertion order
        await store.deployments.add(record)

    async def found(**flt: Any) -> list[str]:
        items, total = await store.deployments.list(DeploymentFilter(**flt), PageRequest())
        assert total == len(items)
        assert [d.id for d in await store.deployments.all_matching(DeploymentFilter(**flt))] == [
            d.id for d in items
        ]
        return [d.id for d in items]

    assert await found() == [old.id, at.id, new_b.id]
    assert await found(app_id=world.app_a) == [old.id, at.id]
    assert await found(app_id=world.app_b) == [new_b.id]
    assert await found(server_id=world.server_a) == [old.id, at.id]
    assert await found(server_id=world.server_b) == [new_b.id]
    assert await found(status=DeploymentStatus.FAILED) == [at.id]
    assert await found(status=DeploymentStatus.RUNNING) == []
    # since is inclusive, to the microsecond
    assert await found(since=NOW) == [at.id, new_b.id]
    assert await found(since=NOW + timedelta(microseconds=1)) == [new_b.id]
    assert await found(since=NOW - hour) == [old.id, at.id, new_b.id]
    assert await found(since=NOW - hour + timedelta(microseconds=1)) == [at.id, new_b.id]
    assert await found(app_id=world.app_a, since=NOW, status=DeploymentStatus.FAILED) == [at.id]
    # until is inclusive too
    assert await found(until=NOW) == [old.id, at.id]
    assert await found(until=NOW - timedelta(microseconds=1)) == [old.id]
    assert await found(since=NOW, until=NOW) == [at.id]
    assert await found(server_id=world.server_b, app_id=world.app_a) == []


async def test_status_lookups_and_counts_per_version(store, ids, world):
    running = deployment(ids, world, status=DeploymentStatus.RUNNING)
    failed = deployment(ids, world, status=DeploymentStatus.FAILED)
    queued_b = deployment(ids, world, on_b=True)
    for record in (queued_b, failed, running):
        await store.deployments.add(record)

    active = [DeploymentStatus.QUEUED, DeploymentStatus.RUNNING]
    assert [d.id for d in await store.deployments.with_status(active)] == [running.id, queued_b.id]
    assert await store.deployments.with_status([DeploymentStatus.CANCELLED]) == []
    assert await store.deployments.count_for_version(world.version_a) == 2
    assert await store.deployments.count_for_version(world.version_a, active) == 1
    assert await store.deployments.count_for_version(world.version_a, []) == 0
    assert await store.deployments.count_for_version(world.version_b, active) == 1


async def test_last_succeeded_is_what_a_rollback_goes_back_to(store, ids, world):
    ok = DeploymentStatus.SUCCEEDED
    first = deployment(ids, world, status=ok)
    second = deployment(ids, world, status=ok)
    failed = deployment(ids, world, status=DeploymentStatus.FAILED)
    elsewhere = deployment(ids, world, on_b=True, status=ok)
    for record in (first, second, failed, elsewhere):
        await store.deployments.add(record)

    async def last(app_id: str, before: str | None = None) -> str | None:
        found = await store.deployments.last_succeeded(app_id, before)
        return None if found is None else found.id

    assert await last(world.app_a) == second.id
    assert await last(world.app_a, before=failed.id) == second.id
    assert await last(world.app_a, before=second.id) == first.id
    assert await last(world.app_a, before=first.id) is None
    assert await last(world.app_b) == elsewhere.id
    assert await last(world.app_b, before=elsewhere.id) is None


async def test_a_name_search_pages_without_repeats(store, ids):
    names = [f"web{i:02}" for i in range(25)]
    for name in names:
        await store.servers.add(server(ids, name))
    await store.servers.add(server(ids, "db1"))

    pages = []
    for number in (1, 2, 3, 4):
        items, total = await store.servers.list(
            ServerFilter(q="web"), PageRequest(page=number, per_page=10)
        )
        assert total == 25
        pages.append([s.name for s in items])

    assert pages == [names[:10], names[10:20], names[20:], []]


async def test_deployments_page_by_creation_time_with_cursors(store, ids, world):
    made = []
    for hours in (3, 1, 2, 0):  # ids in insertion order; the list follows creation time
        record = deployment(ids, world, created=NOW - timedelta(hours=hours))
        made.append(await store.deployments.add(record))
    by_time = sorted(made, key=lambda d: d.created)
    for order, expected in ((ListOrder.OLDEST, by_time), (ListOrder.NEWEST, by_time[::-1])):
        first, total = await store.deployments.list(
            DeploymentFilter(), PageRequest(per_page=2, order=order)
        )
        last = first[-1]
        cursor = encode_cursor((last.created.isoformat(), last.id))
        rest, _ = await store.deployments.list(
            DeploymentFilter(), PageRequest(per_page=2, order=order, cursor=cursor)
        )
        assert ([d.id for d in first + rest], total) == ([d.id for d in expected], 4)
    naive = encode_cursor(("2026-01-01T00:00:00", made[0].id))
    with pytest.raises(InvalidInput):
        await store.deployments.list(DeploymentFilter(), PageRequest(cursor=naive))
