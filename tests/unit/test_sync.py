"""The library from synchronous code: a plain script, inside a running loop, and misuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pbdeployer import (
    AppCreate,
    Deployer,
    InvalidInput,
    NotFound,
    ServerCreate,
    Settings,
    SyncDeployer,
    WrongEventLoop,
)


def _use(deployer: SyncDeployer) -> list[str]:
    server = deployer.servers.create(ServerCreate(name="web1", host="203.0.113.10"))
    deployer.apps.create(AppCreate(name="blog", server_id=server.id))
    with pytest.raises(InvalidInput):
        deployer.servers.create(ServerCreate(name="web 1!", host="203.0.113.10"))
    with pytest.raises(NotFound):
        deployer.apps.get("nope")
    return [app.name for app in deployer.apps.list().items]


def test_a_plain_script_uses_every_service_without_await(tmp_path: Path):
    with SyncDeployer.open(Settings(data_dir=tmp_path / "data")) as deployer:
        assert _use(deployer) == ["blog"]
        assert "servers" in dir(deployer)
    with SyncDeployer.open(Settings(data_dir=tmp_path / "data")) as again:
        assert again.servers.list().total == 1


async def test_it_works_where_a_loop_is_already_running(tmp_path: Path):
    """As in a notebook cell, where asyncio.run refuses to start."""
    asyncio.get_running_loop()
    with SyncDeployer.open(Settings(data_dir=tmp_path / "data")) as deployer:
        assert _use(deployer) == ["blog"]


def test_a_closed_sync_deployer_says_so(tmp_path: Path):
    deployer = SyncDeployer.open(Settings(data_dir=tmp_path / "data"))
    deployer.close()

    with pytest.raises(WrongEventLoop, match="closed"):
        deployer.servers.list()


def test_a_deployer_carried_to_another_asyncio_run_raises_a_clear_error(tmp_path: Path):
    deployer = Deployer.open(Settings(data_dir=tmp_path / "data"))
    asyncio.run(deployer.start())

    with pytest.raises(WrongEventLoop, match="another event loop"):
        asyncio.run(deployer.close())
