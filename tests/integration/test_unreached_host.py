"""A deploy to a host that never answered fails at once, with the connection's error.

Nothing ran on the host, so there is nothing to put back: no recover play, no retries.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings, VersionCreate
from pbdeployer.models import AppStatus
from pbdeployer.models.deployments import DeploymentFilter, DeploymentStatus
from pbdeployer.store import Store
from pbdeployer.testing.hosts import DeadAddress
from tests.pocketbase import build_app_zip

pytestmark = pytest.mark.host

RECOVER_SECONDS = 60  # what a recovery would keep retrying an unreachable host for


@pytest.mark.parametrize("kind", ["refused", "silent"])
async def test_first_deploy_to_an_unreached_host_fails_at_once(
    tmp_path: Path, dead_address: DeadAddress, silent_address: DeadAddress, kind: str
) -> None:
    address = dead_address if kind == "refused" else silent_address
    settings = Settings(
        data_dir=tmp_path / "data",
        ssh_connect_timeout_seconds=3,
        deploy_recover_seconds=RECOVER_SECONDS,
    )
    zip_path = build_app_zip(tmp_path / "app.zip", binary=b"#!/bin/sh\nexec sleep 1000\n")
    async with Deployer.open(settings) as deployer:
        server = await deployer.servers.create(ServerCreate(name="gone", host=address.address))
        # set up once, gone since: the host's address now refuses or drops every connection
        await Store(deployer.database.engine).servers.change(server.id, {"setup_complete": True})
        app = await deployer.apps.create(AppCreate(name="notes", server_id=server.id))
        version = await deployer.versions.create_with_zip(
            VersionCreate(app_id=app.id, version_number="v1"), zip_path
        )

        began = time.monotonic()
        started = await deployer.deployments.deploy(app.id, version.id)
        ended = await deployer.deployments.wait(started.id)
        elapsed = time.monotonic() - began
        app_now = await deployer.apps.get(app.id)

    assert ended.status is DeploymentStatus.FAILED
    assert ended.error_code == "host_unreachable"
    assert elapsed < 20, f"took {elapsed:.0f} s: {ended.logs}"
    message = ended.error_message or ""
    assert f"({address.address}:22)" in message
    assert "nothing was started" in message
    assert "recover" not in (ended.logs or "")
    assert "back" not in (ended.logs or "")
    assert app_now.status is AppStatus.NEW
    assert app_now.current_version is None


async def test_a_running_deployment_reads_the_same_progress_everywhere(
    tmp_path: Path, silent_address: DeadAddress
) -> None:
    """While ssh waits on a silent host, the record, the list and the status agree."""
    settings = Settings(data_dir=tmp_path / "data", ssh_connect_timeout_seconds=20)
    zip_path = build_app_zip(tmp_path / "app.zip", binary=b"#!/bin/sh\nexec sleep 1000\n")
    async with Deployer.open(settings) as deployer:
        server = await deployer.servers.create(
            ServerCreate(name="quiet", host=silent_address.address)
        )
        await Store(deployer.database.engine).servers.change(server.id, {"setup_complete": True})
        app = await deployer.apps.create(AppCreate(name="notes", server_id=server.id))
        version = await deployer.versions.create_with_zip(
            VersionCreate(app_id=app.id, version_number="v1"), zip_path
        )
        started = await deployer.deployments.deploy(app.id, version.id)

        deadline = time.monotonic() + 15
        state = await deployer.deployments.status(started.id)
        while state.percent == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            state = await deployer.deployments.status(started.id)
        record = await deployer.deployments.get(started.id)
        listed = (await deployer.deployments.list(DeploymentFilter(app_id=app.id))).items[0]
        again = await deployer.deployments.status(started.id)
        await deployer.deployments.cancel(started.id)
        await deployer.deployments.wait(started.id)

    assert record.status is DeploymentStatus.RUNNING
    assert state.percent > 0
    assert state.step
    assert (
        (record.progress, record.step) == (state.percent, state.step) == (again.percent, again.step)
    )
    assert (listed.progress, listed.step) == (state.percent, state.step)
