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


@pytest.fixture
async def deployer(tmp_path: Path) -> AsyncIterator[Deployer]:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def _fields(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.field for p in error.value.details]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 22.5),
        ("port", True),
        ("port", "22"),
        ("host", None),
        ("host", 10),
        ("name", b"web1"),
        ("use_ssh_agent", 1),
        ("use_ssh_agent", "true"),
        ("manual_key_path", 7),
    ],
)
async def test_server_create_refuses_a_wrong_type(deployer, field, value):
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
