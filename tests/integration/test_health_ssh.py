"""Health's SSH component reports each server's last reachability and live connections."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings
from pbdeployer.errors import HostUnreachable
from pbdeployer.models import HealthStatus
from pbdeployer.testing.hosts import DeadAddress, TestHost

pytestmark = pytest.mark.host


async def test_unreachable_then_reachable_servers_show_in_health(
    tmp_path: Path, dead_address: DeadAddress, shared_host: TestHost
) -> None:
    async with Deployer.open(Settings(data_dir=tmp_path / "data")) as deployer:
        dead = await deployer.servers.create(ServerCreate(name="dead", host=dead_address.address))
        live = await deployer.servers.create(
            ServerCreate(
                name="live", host=shared_host.address, manual_key_path=str(shared_host.key_path)
            )
        )
        for server in (dead, live):
            await deployer.apps.create(AppCreate(name=f"app-{server.name}", server_id=server.id))
        dead_app, live_app = (await deployer.apps.list()).items

        with pytest.raises(HostUnreachable):
            await deployer.services.status(dead_app.id)
        await deployer.services.status(live_app.id)  # an absent unit still reads fine

        ssh = next(c for c in (await deployer.health.report()).components if c.name == "ssh")
        seen = {r.server_id: r.reachable for r in ssh.servers}
        assert seen == {dead.id: False, live.id: True}
        assert ssh.status is HealthStatus.DEGRADED
        assert "1 live control connection(s)" in ssh.detail
        assert "1 unreachable server(s)" in ssh.detail
