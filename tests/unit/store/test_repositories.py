"""Repositories over a real, migrated SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pbdeployer.errors import Conflict, NotFound
from pbdeployer.models import (
    App,
    AppFilter,
    AppStatus,
    Deployment,
    DeploymentStatus,
    PageRequest,
    Server,
    ServerFilter,
    Version,
    VersionFilter,
    new_id,
)
from pbdeployer.settings import Settings
from pbdeployer.store import Database, Store

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NOW = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)


class Ids:
    """Ids one millisecond apart, so creation order is id order whatever the clock does."""

    def __init__(self) -> None:
        self.ms = START_MS

    def __call__(self) -> str:
        self.ms += 1
        return new_id(now_ms=self.ms)


@pytest.fixture(params=["plain", "sqlalchemy"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Each test twice: with the plain SQLite read path, and with SQLAlchemy alone (a URL with
    options has no plain path), so both answer alike."""
    url = Settings(data_dir=tmp_path).sqlalchemy_url
    database = Database(url if request.param == "plain" else f"{url}?timeout=5")
    await database.open()
    yield Store(database.engine)
    await database.close()


@pytest.fixture
def ids() -> Ids:
    return Ids()


def server(ids: Ids, name: str, **fields: Any) -> Server:
    values: dict[str, Any] = {
        "id": ids(),
        "created": NOW,
        "updated": NOW,
        "name": name,
        "host": "203.0.113.10",
        "port": 22,
        "root_username": "root",
        "app_username": "pocketbase",
        "use_ssh_agent": False,
        "manual_key_path": None,
        "setup_complete": False,
        "security_locked": False,
    }
    return Server(**(values | fields))


def app(ids: Ids, server_id: str, name: str, port: int, **fields: Any) -> App:
    values: dict[str, Any] = {
        "id": ids(),
        "created": NOW,
        "updated": NOW,
        "name": name,
        "server_id": server_id,
        "remote_path": f"/opt/pocketbase/{name}",
        "service_name": f"pocketbase-{name}",
        "domain": None,
        "http_port": port,
        "binary_name": "pocketbase",
        "current_version": None,
        "status": AppStatus.NEW,
    }
    return App(**(values | fields))


def version(ids: Ids, app_id: str, number: str) -> Version:
    return Version(
        id=ids(),
        created=NOW,
        updated=NOW,
        app_id=app_id,
        version_number=number,
        deployment_zip=None,
        notes="",
    )


async def test_add_then_get_round_trips_every_field(store, ids):
    record = server(ids, "web1", manual_key_path="/keys/id", use_ssh_agent=True, port=2222)

    assert await store.servers.add(record) == record
    loaded = await store.servers.get(record.id)

    assert loaded == record
    assert loaded.created.tzinfo is not None
    assert loaded.created.utcoffset() == timedelta(0)


async def test_non_utc_times_come_back_as_the_same_instant_in_utc(store, ids):
    paris = datetime(2026, 6, 1, 14, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    record = server(ids, "web1", created=paris, updated=paris)

    await store.servers.add(record)
    loaded = await store.servers.get(record.id)

    assert loaded.created == paris
    assert loaded.created.utcoffset() == timedelta(0)


async def test_get_unknown_id_raises_not_found(store):
    with pytest.raises(NotFound, match="server 'nope' does not exist") as caught:
        await store.servers.get("nope")

    assert isinstance(caught.value, LookupError)
    assert caught.value.code == "not_found"


@pytest.mark.parametrize("repository", ["servers", "apps", "versions", "deployments"])
async def test_every_repository_raises_not_found(store, repository):
    with pytest.raises(NotFound):
        await getattr(store, repository).get("01JH8Z6X4T3D3Q9V4W0Y5K7B2M")
    with pytest.raises(NotFound):
        await getattr(store, repository).remove("01JH8Z6X4T3D3Q9V4W0Y5K7B2M")


async def test_duplicate_server_name_is_a_conflict(store, ids):
    await store.servers.add(server(ids, "web1"))

    with pytest.raises(Conflict, match="server conflicts"):
        await store.servers.add(server(ids, "web1"))

    assert await store.servers.count() == 1


async def test_duplicate_id_is_a_conflict(store, ids):
    first = server(ids, "web1")
    await store.servers.add(first)

    with pytest.raises(Conflict):
        await store.servers.add(server(ids, "web2", id=first.id))


@pytest.mark.parametrize(
    "clash",
    [
        {"port": 8090},
        {"service_name": "pocketbase-blog"},
        {"remote_path": "/opt/pocketbase/blog"},
        {"name": "blog", "remote_path": "/opt/blog2", "service_name": "blog2"},
    ],
)
async def test_app_clash_on_one_server_is_a_conflict(store, ids, clash):
    host = await store.servers.add(server(ids, "web1"))
    await store.apps.add(app(ids, host.id, "blog", 8090))

    fields = {"name": "shop", "port": 8091} | clash

    with pytest.raises(Conflict):
        await store.apps.add(app(ids, host.id, **fields))


@pytest.mark.parametrize(
    "same",
    [
        {"http_port": 8090},
        {"service_name": "pocketbase-blog"},
        {"remote_path": "/opt/pocketbase/blog"},
    ],
)
async def test_same_values_on_two_servers_are_fine(store, ids, same):
    first = await store.servers.add(server(ids, "web1"))
    second = await store.servers.add(server(ids, "web2"))
    await store.apps.add(app(ids, first.id, "blog", 8090))

    await store.apps.add(app(ids, second.id, "shop", 8091, **same))

    assert await store.apps.count() == 2


async def test_app_on_a_missing_server_is_a_conflict(store, ids):
    with pytest.raises(Conflict):
        await store.apps.add(app(ids, "01JH8Z6X4T3D3Q9V4W0Y5K7B2M", "blog", 8090))


async def test_duplicate_version_number_per_app_is_a_conflict(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    blog = await store.apps.add(app(ids, host.id, "blog", 8090))
    shop = await store.apps.add(app(ids, host.id, "shop", 8091))
    await store.versions.add(version(ids, blog.id, "1.0"))
    await store.versions.add(version(ids, shop.id, "1.0"))

    with pytest.raises(Conflict, match="version conflicts"):
        await store.versions.add(version(ids, blog.id, "1.0"))

    assert (await store.versions.by_number(blog.id, "1.0")) is not None
    assert (await store.versions.by_number(blog.id, "2.0")) is None
    assert await store.versions.count_for_app(blog.id) == 1


async def test_pages_are_in_id_order_and_count_everything(store, ids):
    created = [(await store.servers.add(server(ids, f"s{i:02}"))).id for i in range(45)]

    seen = []
    for number in (1, 2, 3):
        items, total = await store.servers.list(ServerFilter(), PageRequest(page=number))
        assert total == 45
        seen += [s.id for s in items]

    assert seen == created
    items, total = await store.servers.list(ServerFilter(), PageRequest(page=4))
    assert (items, total) == ([], 45)


async def test_page_size_and_offset(store, ids):
    created = [(await store.servers.add(server(ids, f"s{i}"))).id for i in range(10)]

    items, total = await store.servers.list(ServerFilter(), PageRequest(page=2, per_page=3))

    assert [s.id for s in items] == created[3:6]
    assert total == 10


async def test_order_is_by_id_not_by_insertion(store, ids):
    later = server(ids, "later")
    earlier = server(ids, "earlier", id=new_id(now_ms=START_MS - 1000))
    await store.servers.add(later)
    await store.servers.add(earlier)

    items, _ = await store.servers.list(ServerFilter(), PageRequest())

    assert [s.name for s in items] == ["earlier", "later"]


async def test_server_search_is_case_insensitive_and_literal(store, ids):
    for name in ("Web_Frontend", "webXfrontend", "db 100%"):
        await store.servers.add(server(ids, name))

    async def names(q: str) -> list[str]:
        items, total = await store.servers.list(ServerFilter(q=q), PageRequest())
        assert total == len(items)
        return [s.name for s in items]

    assert await names("WEB") == ["Web_Frontend", "webXfrontend"]
    assert await names("b_f") == ["Web_Frontend"]
    assert await names("100%") == ["db 100%"]
    assert await names("%") == ["db 100%"]
    assert await names("\\") == []
    assert await names("") == ["Web_Frontend", "webXfrontend", "db 100%"]


async def test_app_filters(store, ids):
    first = await store.servers.add(server(ids, "web1"))
    second = await store.servers.add(server(ids, "web2"))
    blog = await store.apps.add(app(ids, first.id, "blog", 8090, status=AppStatus.RUNNING))
    shop = await store.apps.add(app(ids, first.id, "shop", 8091))
    blog2 = await store.apps.add(app(ids, second.id, "blog_two", 8090, status=AppStatus.RUNNING))

    async def found(**flt: Any) -> list[str]:
        items, total = await store.apps.list(AppFilter(**flt), PageRequest())
        assert total == len(items)
        return [a.id for a in items]

    assert await found() == [blog.id, shop.id, blog2.id]
    assert await found(server_id=first.id) == [blog.id, shop.id]
    assert await found(status=AppStatus.RUNNING) == [blog.id, blog2.id]
    assert await found(status=AppStatus.FAILED) == []
    assert await found(q="BLOG") == [blog.id, blog2.id]
    assert await found(q="g_t") == [blog2.id]
    assert await found(q="%") == []
    assert await found(server_id=second.id, status=AppStatus.RUNNING, q="blog") == [blog2.id]


async def test_version_filter(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    blog = await store.apps.add(app(ids, host.id, "blog", 8090))
    shop = await store.apps.add(app(ids, host.id, "shop", 8091))
    mine = [(await store.versions.add(version(ids, blog.id, f"1.{i}"))).id for i in range(3)]
    await store.versions.add(version(ids, shop.id, "1.0"))

    items, total = await store.versions.list(VersionFilter(app_id=blog.id), PageRequest())

    assert [v.id for v in items] == mine
    assert total == 3
    assert (await store.versions.list(VersionFilter(), PageRequest()))[1] == 4


async def test_change_updates_and_returns_the_record(store, ids):
    record = await store.servers.add(server(ids, "web1"))
    later = NOW + timedelta(minutes=5)

    changed = await store.servers.change(record.id, {"port": 2200, "updated": later})

    assert changed.port == 2200
    assert changed.updated == later
    assert changed.name == record.name
    assert await store.servers.get(record.id) == changed


async def test_change_into_a_clash_is_a_conflict(store, ids):
    await store.servers.add(server(ids, "web1"))
    other = await store.servers.add(server(ids, "web2"))

    with pytest.raises(Conflict):
        await store.servers.change(other.id, {"name": "web1"})

    assert (await store.servers.get(other.id)).name == "web2"


async def test_change_unknown_id_raises_not_found(store):
    with pytest.raises(NotFound):
        await store.servers.change("nope", {"port": 1})


async def test_remove_deletes_the_row(store, ids):
    record = await store.servers.add(server(ids, "web1"))

    await store.servers.remove(record.id)

    with pytest.raises(NotFound):
        await store.servers.get(record.id)


async def test_remove_of_a_referenced_row_is_a_conflict(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    await store.apps.add(app(ids, host.id, "blog", 8090))

    with pytest.raises(Conflict, match="still referenced"):
        await store.servers.remove(host.id)

    assert await store.servers.get(host.id) == host


async def test_lookups_by_name_and_counts(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    blog = await store.apps.add(app(ids, host.id, "blog", 8090))
    await store.apps.add(app(ids, host.id, "shop", 8093))

    assert await store.servers.by_name("web1") == host
    assert await store.servers.by_name("WEB1") is None
    assert await store.apps.by_name("blog") == blog
    assert await store.apps.count_on_server(host.id) == 2
    assert await store.apps.count_on_server("other") == 0
    assert await store.apps.ports_on(host.id) == {8090, 8093}
    assert await store.apps.ports_on("other") == set()


async def test_clash_on_server_skips_the_app_itself(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    other = await store.servers.add(server(ids, "web2"))
    blog = await store.apps.add(app(ids, host.id, "blog", 8090))

    assert await store.apps.clash_on_server(host.id, "http_port", 8090)
    assert not await store.apps.clash_on_server(host.id, "http_port", 8090, skip_id=blog.id)
    assert not await store.apps.clash_on_server(other.id, "http_port", 8090)
    assert await store.apps.clash_on_server(host.id, "service_name", "pocketbase-blog")
    assert not await store.apps.clash_on_server(host.id, "remote_path", "/opt/elsewhere")


async def test_remove_with_versions_takes_history_along(store, ids):
    host = await store.servers.add(server(ids, "web1"))
    blog = await store.apps.add(app(ids, host.id, "blog", 8090))
    shop = await store.apps.add(app(ids, host.id, "shop", 8091))
    old = await store.versions.add(version(ids, blog.id, "1.0"))
    kept = await store.versions.add(version(ids, shop.id, "1.0"))
    run = Deployment(
        id=ids(),
        created=NOW,
        updated=NOW,
        app_id=blog.id,
        version_id=old.id,
        status=DeploymentStatus.SUCCEEDED,
        logs="ok",
        started_at=NOW,
        completed_at=NOW + timedelta(seconds=30),
    )
    assert await store.deployments.add(run) == run
    assert await store.deployments.get(run.id) == run

    with pytest.raises(Conflict):
        await store.apps.remove(blog.id)
    await store.apps.remove_with_versions(blog.id)

    for repository, record_id in (
        (store.apps, blog.id),
        (store.versions, old.id),
        (store.deployments, run.id),
    ):
        with pytest.raises(NotFound):
            await repository.get(record_id)
    assert await store.versions.get(kept.id) == kept
    assert await store.apps.get(shop.id) == shop


async def test_remove_with_versions_of_unknown_app_raises_not_found(store):
    with pytest.raises(NotFound):
        await store.apps.remove_with_versions("nope")


async def test_open_twice_keeps_the_data(tmp_path, ids):
    url = Settings(data_dir=tmp_path).sqlalchemy_url
    record = server(ids, "web1")
    for attempt in range(2):
        database = Database(url)
        await database.open()
        store = Store(database.engine)
        if attempt == 0:
            await store.servers.add(record)
        else:
            assert await store.servers.get(record.id) == record
        await database.ping()
        await database.close()
