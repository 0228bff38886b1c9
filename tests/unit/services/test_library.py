"""pbdeployer as a library: the Deployer facade validates and fails exactly like the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer import (
    AppCreate,
    AppFilter,
    AppStatus,
    AppUpdate,
    Conflict,
    Deployer,
    InvalidInput,
    NotFound,
    PageRequest,
    PbDeployerError,
    ServerCreate,
    ServerFilter,
    ServerUpdate,
    Settings,
    VersionCreate,
    VersionFilter,
)
from pbdeployer.store import Store


@pytest.fixture
async def deployer(tmp_path: Path) -> AsyncIterator[Deployer]:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


async def _server(deployer: Deployer, name: str = "web1", **fields: Any) -> Any:
    return await deployer.servers.create(ServerCreate(name=name, host="203.0.113.10", **fields))


def _fields(error: InvalidInput) -> list[str]:
    return [p.field for p in error.details]


async def test_open_creates_the_data_dir_and_database(tmp_path):
    data_dir = tmp_path / "nested" / "data"

    async with Deployer.open(Settings(data_dir=data_dir)) as deployer:
        page = await deployer.servers.list()

    assert page.total == 0
    assert (data_dir / "pbdeployer.db").is_file()


async def test_open_reads_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PBDEPLOYER_DATA_DIR", str(tmp_path / "env-data"))

    async with Deployer.open() as deployer:
        await _server(deployer)
        assert deployer.settings.data_dir == tmp_path / "env-data"

    async with Deployer.open() as deployer:
        assert (await deployer.servers.list()).total == 1


async def test_start_and_close_without_a_context_manager(tmp_path):
    deployer = Deployer.open(Settings(data_dir=tmp_path))
    await deployer.start()
    try:
        server = await _server(deployer)
        assert (await deployer.servers.get(server.id)).name == "web1"
    finally:
        await deployer.close()


def test_from_synchronous_code_with_asyncio_run(tmp_path):
    async def main() -> str:
        async with Deployer.open(Settings(data_dir=tmp_path)) as deployer:
            return (await _server(deployer)).name

    assert asyncio.run(main()) == "web1"


async def test_server_lifecycle(deployer):
    server = await _server(deployer, manual_key_path="/keys/id")
    assert (server.port, server.root_username, server.app_username) == (22, "root", "pocketbase")
    assert not server.setup_complete
    assert not server.security_locked
    assert server.connection_user == "root"

    changed = await deployer.servers.update(
        server.id, ServerUpdate(port=2222, manual_key_path=None)
    )
    assert (changed.port, changed.manual_key_path, changed.host) == (2222, None, server.host)
    assert changed.updated > server.updated
    assert await deployer.servers.update(server.id, ServerUpdate()) == changed

    page = await deployer.servers.list(ServerFilter(q="WEB"))
    assert [s.id for s in page.items] == [server.id]

    await deployer.servers.delete(server.id)
    with pytest.raises(NotFound):
        await deployer.servers.get(server.id)


async def test_invalid_server_names_every_field(deployer):
    data = ServerCreate(
        name="-x", host="a b", port=0, root_username="Root", app_username="1", manual_key_path="k"
    )

    with pytest.raises(InvalidInput) as caught:
        await deployer.servers.create(data)

    assert _fields(caught.value) == [
        "name",
        "host",
        "port",
        "root_username",
        "app_username",
        "manual_key_path",
    ]
    assert (await deployer.servers.list()).total == 0


async def test_invalid_update_is_refused_before_lookup(deployer):
    with pytest.raises(InvalidInput) as caught:
        await deployer.servers.update("nope", ServerUpdate(host="x;y"))

    assert _fields(caught.value) == ["host"]


async def test_server_conflicts_and_not_found(deployer):
    server = await _server(deployer)
    other = await _server(deployer, "web2")
    await deployer.apps.create(AppCreate(name="blog", server_id=server.id))

    with pytest.raises(Conflict, match="already exists"):
        await _server(deployer)
    with pytest.raises(Conflict):
        await deployer.servers.update(other.id, ServerUpdate(name="web1"))
    with pytest.raises(Conflict, match="still has 1 app"):
        await deployer.servers.delete(server.id)
    for call in (
        deployer.servers.get("nope"),
        deployer.servers.update("nope", ServerUpdate(port=1)),
        deployer.servers.delete("nope"),
    ):
        with pytest.raises(NotFound):
            await call


async def test_app_defaults_and_ports(deployer):
    first = await _server(deployer)
    second = await _server(deployer, "web2")

    blog = await deployer.apps.create(AppCreate(name="Team.Blog 2", server_id=first.id))
    shop = await deployer.apps.create(AppCreate(name="shop", server_id=first.id))
    other = await deployer.apps.create(AppCreate(name="other", server_id=second.id))

    assert blog.remote_path == "/opt/pocketbase/team-blog-2"
    assert blog.service_name == "pocketbase-team-blog-2"
    assert blog.status is AppStatus.NEW
    assert (blog.http_port, shop.http_port, other.http_port) == (8090, 8091, 8090)


async def test_app_errors(deployer):
    server = await _server(deployer)
    blog = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))

    with pytest.raises(InvalidInput) as caught:
        await deployer.apps.create(AppCreate(name="x", server_id="nope"))
    assert _fields(caught.value) == ["server_id"]

    with pytest.raises(InvalidInput) as caught:
        await deployer.apps.create(
            AppCreate(name="x", server_id=server.id, remote_path="/opt/../x", service_name="a@b")
        )
    assert _fields(caught.value) == ["remote_path", "service_name"]

    with pytest.raises(Conflict, match="HTTP port 8090"):
        await deployer.apps.create(AppCreate(name="shop", server_id=server.id, http_port=8090))
    with pytest.raises(Conflict, match="already exists"):
        await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    with pytest.raises(NotFound):
        await deployer.apps.update("nope", AppUpdate(http_port=9000))
    assert (await deployer.apps.update(blog.id, AppUpdate(domain="blog.example.com"))).domain == (
        "blog.example.com"
    )


async def test_app_list_filters(deployer):
    server = await _server(deployer)
    blog = await deployer.apps.create(AppCreate(name="blog_1", server_id=server.id))
    await deployer.apps.create(AppCreate(name="blog21", server_id=server.id))

    page = await deployer.apps.list(AppFilter(server_id=server.id, status=AppStatus.NEW, q="g_1"))

    assert [a.id for a in page.items] == [blog.id]
    assert (await deployer.apps.list(AppFilter(status=AppStatus.RUNNING))).total == 0


async def test_app_delete_refuses_versions_unless_cascading(deployer):
    server = await _server(deployer)
    app = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    version = await deployer.versions.create(VersionCreate(app_id=app.id, version_number="1"))

    with pytest.raises(Conflict, match="cascade=true"):
        await deployer.apps.delete(app.id)
    await deployer.apps.delete(app.id, cascade=True)

    with pytest.raises(NotFound):
        await deployer.versions.get(version.id)
    with pytest.raises(NotFound):
        await deployer.apps.delete(app.id)


async def test_versions(deployer):
    server = await _server(deployer)
    app = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    first = await deployer.versions.create(
        VersionCreate(app_id=app.id, version_number="1.0", notes="first")
    )
    second = await deployer.versions.create(VersionCreate(app_id=app.id, version_number="1.1"))

    page = await deployer.versions.list(VersionFilter(app_id=app.id), PageRequest(per_page=1))
    assert ([v.id for v in page.items], page.total, page.total_pages) == ([first.id], 2, 2)

    with pytest.raises(Conflict, match="already exists"):
        await deployer.versions.create(VersionCreate(app_id=app.id, version_number="1.0"))
    with pytest.raises(InvalidInput) as caught:
        await deployer.versions.create(VersionCreate(app_id="nope", version_number="1.0"))
    assert _fields(caught.value) == ["app_id"]
    with pytest.raises(InvalidInput) as caught:
        await deployer.versions.create(
            VersionCreate(app_id=app.id, version_number="1 0", notes="x" * 10_001)
        )
    assert _fields(caught.value) == ["version_number", "notes"]

    await deployer.versions.delete(second.id)
    with pytest.raises(NotFound):
        await deployer.versions.delete(second.id)


async def test_the_current_version_cannot_be_deleted(deployer):
    server = await _server(deployer)
    app = await deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    live = await deployer.versions.create(VersionCreate(app_id=app.id, version_number="2.0"))
    store = Store(deployer.database.engine)
    # A deploy records the live version by its id, as the release handler does.
    await store.apps.change(app.id, {"current_version": live.id})

    with pytest.raises(Conflict, match="current version"):
        await deployer.versions.delete(live.id)
    # Checked again inside the delete's transaction, for a deploy that finished meanwhile.
    with pytest.raises(Conflict, match="current version"):
        await store.versions.remove_unless_deploying(live.id, ())

    assert await deployer.versions.get(live.id) == live


@pytest.mark.parametrize("service", ["servers", "apps", "versions"])
@pytest.mark.parametrize(
    ("page", "fields"),
    [
        (PageRequest(page=0), ["page"]),
        (PageRequest(per_page=0), ["per_page"]),
        (PageRequest(per_page=201), ["per_page"]),
        (PageRequest(page=-1, per_page=1000), ["page", "per_page"]),
    ],
)
async def test_list_checks_the_page_request(deployer, service, page, fields):
    with pytest.raises(InvalidInput) as caught:
        await getattr(deployer, service).list(None, page)

    assert _fields(caught.value) == fields


async def test_list_defaults(deployer):
    for i in range(21):
        await _server(deployer, f"web{i}")

    page = await deployer.servers.list()

    assert (len(page.items), page.page, page.per_page, page.total, page.total_pages) == (
        20,
        1,
        20,
        21,
        2,
    )


async def test_every_error_is_a_pbdeployer_error(deployer):
    for call in (deployer.servers.get("nope"), _server(deployer, "-")):
        with pytest.raises(PbDeployerError):
            await call


async def test_health_report(deployer):
    report = await deployer.health.report()

    assert report.status == "ok"
    assert [c.name for c in report.components] == ["database", "storage", "ssh"]


BAD_INPUTS = [
    ("/servers", {"name": "web1", "host": "web1\n", "port": 65536}),
    ("/servers", {"name": "", "host": "h", "app_username": "Pb", "manual_key_path": "rel"}),
    ("/apps", {"name": "blog", "server_id": "nope"}),
    ("/apps", {"name": "blog", "server_id": "{server}", "remote_path": "/", "domain": "x"}),
    ("/apps", {"name": "blog", "server_id": "{server}", "service_name": "$(x)", "http_port": 0}),
    ("/versions", {"app_id": "nope", "version_number": "1"}),
    ("/versions", {"app_id": "x", "version_number": "..", "notes": "n" * 10_001}),
]
_CREATE = {"/servers": ServerCreate, "/apps": AppCreate, "/versions": VersionCreate}


@pytest.mark.parametrize(("path", "body"), BAD_INPUTS)
def test_library_and_api_refuse_the_same_input_the_same_way(client, tmp_path, path, body):
    """The API's 422 details equal the library's InvalidInput details, field for field."""
    api_server = client.post("/servers", json={"name": "api", "host": "h"}).json()["id"]
    api_body = {
        k: v.replace("{server}", api_server) if isinstance(v, str) else v for k, v in body.items()
    }
    api_error = client.post(path, json=api_body).json()["error"]
    assert api_error["code"] == "validation_failed"

    async def library_error() -> InvalidInput:
        async with Deployer.open(Settings(data_dir=tmp_path / "library")) as deployer:
            server = await _server(deployer, "library")
            values = {
                k: v.replace("{server}", server.id) if isinstance(v, str) else v
                for k, v in body.items()
            }
            service = getattr(deployer, path.strip("/"))
            with pytest.raises(InvalidInput) as caught:
                await service.create(msgspec.convert(values, _CREATE[path]))
            return caught.value

    error = asyncio.run(library_error())

    assert [msgspec.structs.asdict(p) for p in error.details] == api_error["details"]
    assert error.message == api_error["message"]
