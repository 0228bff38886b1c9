"""Input structs built in Python are type-checked like decoded JSON, never stored as given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pbdeployer import (
    AppCreate,
    AppUpdate,
    Deployer,
    InvalidInput,
    ServerCreate,
    ServerUpdate,
    Settings,
    VersionCreate,
)
from pbdeployer.models import PageRequest, ServerFilter
from tests import strict_cases


@pytest.fixture
async def deployer(tmp_path: Path) -> AsyncIterator[Deployer]:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def _fields(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in error.value.details]


@pytest.mark.parametrize(("field", "value"), strict_cases.SERVER_CREATE)
async def test_server_create_refuses_the_apis_wrong_types(deployer, field, value):
    fields: dict[str, Any] = {"name": "web1", "host": "203.0.113.10", field: value}

    with pytest.raises(InvalidInput) as error:
        await deployer.servers.create(ServerCreate(**fields))

    assert _fields(error) == [field]
    assert (await deployer.servers.list()).total == 0


async def test_updates_and_apps_refuse_wrong_types(deployer):
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    app = await deployer.apps.create(AppCreate(name="a", server_id=server.id))
    cases: list[tuple[Any, str]] = [
        (deployer.servers.update(server.id, ServerUpdate(port=True)), "port"),  # type: ignore[arg-type]
        (deployer.servers.update(server.id, ServerUpdate(host=None)), "host"),  # type: ignore[arg-type]
        (deployer.apps.update(app.id, AppUpdate(http_port=8091.0)), "http_port"),  # type: ignore[arg-type]
        (
            deployer.apps.create(AppCreate(name="b", server_id=server.id, http_port="1")),
            "http_port",
        ),  # type: ignore[arg-type]
        (
            deployer.versions.create(VersionCreate(app_id=app.id, version_number=1)),
            "version_number",
        ),  # type: ignore[arg-type]
    ]
    for call, field in cases:
        with pytest.raises(InvalidInput) as error:
            await call
        assert _fields(error) == [field]

    assert (await deployer.servers.get(server.id)).port == 22
    assert (await deployer.apps.get(app.id)).http_port == app.http_port
    assert (await deployer.apps.list()).total == 1


async def test_list_items_of_the_wrong_type_are_named(deployer):
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))

    with pytest.raises(InvalidInput) as ports:
        await deployer.operations.lockdown(server.id, [8443, True, "9000"])  # type: ignore[list-item]
    with pytest.raises(InvalidInput) as packages:
        await deployer.operations.setup_packages(server.id, ["curl", 5])  # type: ignore[list-item]

    assert _fields(ports) == ["extra_ports[1]", "extra_ports[2]"]
    assert _fields(packages) == ["packages[1]"]


async def test_the_apis_operation_cases_are_refused_by_the_library_too(deployer):
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    app = await deployer.apps.create(AppCreate(name="a", server_id=server.id))
    direct = {
        "lockdown": lambda key, value: deployer.security.lockdown(server.id, **{key: value}),
        "setup_packages": lambda key, value: deployer.setup.setup_packages(server.id, value),
        "rollback": lambda key, value: deployer.deployments.rollback(app.id, **{key: value}),
        "deploy": lambda key, value: deployer.deployments.deploy(app.id, **{key: value}),
    }
    queued = {
        "lockdown": lambda key, value: deployer.operations.lockdown(server.id, value),
        "setup_packages": lambda key, value: deployer.operations.setup_packages(server.id, value),
    }
    for operation, key, value, field in strict_cases.OPERATIONS:
        for front_door in (direct, queued):
            if operation not in front_door:
                continue
            with pytest.raises(InvalidInput) as error:
                await front_door[operation](key, value)
            # The library names its own parameter where it differs from the API's field.
            named = field.replace("packages", "extra_packages") if front_door is direct else field
            assert _fields(error) == [named], operation

    assert (await deployer.operations.list_tasks()).total == 0


async def test_every_argument_is_checked_against_its_annotation(deployer):
    """A value of the wrong type never reaches the database or a host (nor is misread)."""
    server = await deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    app = await deployer.apps.create(AppCreate(name="a", server_id=server.id))
    cases: list[tuple[Any, str]] = [
        (deployer.setup.setup(server.id, "jq"), "extra_packages"),  # not the packages j and q
        (deployer.operations.setup(server.id, "jq"), "packages"),
        (deployer.services.control(app.id, "explode"), "action"),  # type: ignore[arg-type]
        (deployer.servers.get(5), "server_id"),  # type: ignore[arg-type]
        (deployer.servers.create(ServerCreate(name=b"web1", host="h")), "name"),  # type: ignore[arg-type]
        (deployer.apps.delete(app.id, cascade=1), "cascade"),  # type: ignore[arg-type]
        (deployer.servers.list(page=PageRequest(page="2")), "page"),  # type: ignore[arg-type]
        (deployer.servers.list(ServerFilter(q=5)), "q"),  # type: ignore[arg-type]
        (deployer.apps.list(ServerFilter()), "flt"),  # type: ignore[arg-type]
        (deployer.tasks.get(None), "task_id"),  # type: ignore[arg-type]
    ]
    for call, field in cases:
        with pytest.raises(InvalidInput) as error:
            await call
        assert _fields(error) == [field]

    assert (await deployer.servers.get(server.id)).setup_complete is False
    assert (await deployer.apps.get(app.id)).status == app.status
