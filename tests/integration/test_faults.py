"""Faults in the middle of the work: the network goes, the host reboots, the controller dies,
the data dir fills up. Each ends in a recorded state with a message a person can act on, the
app's deploy lock free, the app serving a known release, and no partial artifact left.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.plays.deploy import DEPLOY_STEPS, SWITCH_TASK
from pbdeployer.store import Store
from pbdeployer.testing._network import veth_name
from pbdeployer.testing.hosts import HostPool, TestHost
from tests.integration.test_deploy_on_hosts import (
    SLOW_START,
    Host,
    World,
    open_world,
    wait_for_step,
)
from tests.pocketbase import build_app_zip, pocketbase_binary
from tests.served import Controller

pytestmark = [pytest.mark.host, pytest.mark.slow]

UPLOAD_STEP = next(label for _, label in DEPLOY_STEPS.values() if "upload" in label)
BIG = 300 << 20  # long enough an upload to cut it in the middle


@pytest.fixture
async def faulty(tmp_path: Path, fresh_host: TestHost) -> AsyncIterator[World]:
    """A world whose ssh notices a dead connection in seconds, and recovery waits 90 s."""
    opened = await open_world(
        tmp_path, fresh_host, ssh_keepalive_seconds=1, ssh_connect_timeout_seconds=3,
        deploy_recover_seconds=90,
    )  # fmt: skip
    yield opened
    await opened.deployer.close()


def partial_artifacts(host: Host) -> list[str]:
    """Half-sent zips, half-unpacked releases and files in Ansible's temp dirs on the host.

    (An empty temp dir of a run cut short is Ansible's and holds nothing of the app.)
    """
    path = shlex.quote(host.app.remote_path)
    listing = host.run(
        f"ls -A {path}/.incoming 2>/dev/null; ls -A {path}/releases | grep '^\\.' || true; "
        "find /root/.ansible/tmp /home/*/.ansible/tmp -mindepth 2 2>/dev/null || true"
    )
    return listing.split()


async def live_on_v1(world: World) -> tuple[Any, Host, Any]:
    app, host = await world.app("notes")
    v1 = await world.version(app, "v1")
    first = await world.deploy(app, v1)
    assert first.status is DeploymentStatus.SUCCEEDED, first.error_message
    big = await world.version(app, "v2", filler_bytes=BIG)
    return app, host, big


async def assert_known_state(world: World, app: Any, host: Host, ended: Deployment) -> None:
    assert not ended.status.active
    assert ended.error_message, ended
    assert host.current() == "releases/v1"
    assert host.health() == 200
    assert partial_artifacts(host) == [], ended.error_message
    store = Store(world.deployer.database.engine)
    assert await store.deployments.lock_holder(app.id) is None
    now = await world.app_now(app)
    assert (
        now.current_version == (await world.deployer.deployments.get(ended.id)).previous_version_id
    )


async def test_network_cut_mid_upload(faulty: World) -> None:
    app, host, big = await live_on_v1(faulty)
    started = await faulty.deployer.deployments.deploy(app.id, big.id)
    await wait_for_step(faulty, started, UPLOAD_STEP)
    link = veth_name(faulty.host.machine)
    await asyncio.to_thread(subprocess.run, ["ip", "link", "set", link, "down"], check=True)
    try:
        await asyncio.sleep(12)  # ssh gives the connection up meanwhile
    finally:
        await asyncio.to_thread(subprocess.run, ["ip", "link", "set", link, "up"], check=True)
    ended = await faulty.deployer.deployments.wait(started.id)
    assert ended.status is DeploymentStatus.FAILED
    assert ended.error_code == "host_unreachable"
    assert "could not be reached" in (ended.error_message or "")
    assert "release 'v1'" in (ended.error_message or "")
    await assert_known_state(faulty, app, host, ended)


async def test_host_reboots_mid_deploy(faulty: World, host_pool: HostPool) -> None:
    """The reboot comes after the switch, while the new release is still starting."""
    app, host, _ = await live_on_v1(faulty)
    slow = await faulty.version(app, "v3", SLOW_START)
    started = await faulty.deployer.deployments.deploy(app.id, slow.id)
    await wait_for_step(faulty, started, DEPLOY_STEPS[SWITCH_TASK][1])
    await asyncio.to_thread(host_pool.reboot, faulty.host)
    ended = await faulty.deployer.deployments.wait(started.id)
    assert ended.status is DeploymentStatus.FAILED
    assert "release 'v1'" in (ended.error_message or "")
    await assert_known_state(faulty, app, host, ended)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB ext4 filesystem on a loop device, mounted as the data dir."""
    image, mount = tmp_path / "disk.img", tmp_path / "data"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_during_an_upload(full_disk: Path, tmp_path: Path) -> None:
    controller = Controller(full_disk, env={"PBDEPLOYER_STORAGE_MIN_FREE_BYTES": "0"})
    client = controller.start()
    try:
        server = client.post("/servers", json={"name": "web1", "host": "10.200.0.250"}).json()
        app = client.post("/apps", json={"name": "blog", "server_id": server["id"]}).json()
        version = client.post("/versions", json={"app_id": app["id"], "version_number": "v1"})
        version_id = version.json()["id"]
        binary = pocketbase_binary("0.40.6")
        too_big = build_app_zip(tmp_path / "big.zip", binary=binary, filler_bytes=96 << 20)
        with too_big.open("rb") as body:
            refused = client.post(
                f"/versions/{version_id}/upload", content=body,
                headers={"Content-Type": "application/zip"},
            )  # fmt: skip
        assert refused.status_code == 507, refused.text
        error = refused.json()["error"]
        assert error["code"] == "storage_full"
        assert "make room" in error["message"] or "free" in error["message"]
        assert list((full_disk / "blobs").rglob("*.zip")) == []
        assert [p for p in (full_disk / "blobs").rglob("*") if p.is_file()] == []
        assert client.get(f"/versions/{version_id}").json()["deployment_zip"] is None
        small = build_app_zip(tmp_path / "small.zip", binary=b"#!/bin/sh\nexit 0\n")
        accepted = client.post(
            f"/versions/{version_id}/upload", content=small.read_bytes(),
            headers={"Content-Type": "application/zip"},
        )  # fmt: skip
        assert accepted.status_code == 200, accepted.text
        assert client.get("/health").status_code == 200
    finally:
        controller.stop()


async def test_controller_killed_mid_deploy(tmp_path: Path, fresh_host: TestHost) -> None:
    """SIGKILL while the zip is on its way; after a restart the host is put back on v1."""
    world = await open_world(tmp_path, fresh_host)
    app, host, big = await live_on_v1(world)
    await world.deployer.close()
    await asyncio.to_thread(_kill_mid_deploy, tmp_path / "data", app.id, big.id, host)


def _kill_mid_deploy(data_dir: Path, app_id: str, version_id: str, host: Host) -> None:
    controller = Controller(data_dir)
    client = controller.start()
    try:
        started = client.post(f"/apps/{app_id}/deploy", json={"version_id": version_id}).json()
        _wait_step(client, started["id"], UPLOAD_STEP)
        controller.kill()
        client = controller.start()
        ended = _wait_end(client, started["id"])
        assert ended["status"] == "interrupted"
        assert "the controller stopped during this deployment" in ended["error_message"]
        assert "release 'v1'" in ended["error_message"]
        assert host.current() == "releases/v1"
        assert host.health() == 200
        assert partial_artifacts(host) == []
        again = client.post(f"/apps/{app_id}/deploy", json={"version_id": version_id})
        assert again.status_code == 202, again.text  # the lock is free
        client.post(f"/deployments/{again.json()['id']}/cancel")
        _wait_end(client, again.json()["id"])
    finally:
        controller.stop()


def _wait_step(client: httpx.Client, deployment_id: str, step: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if client.get(f"/deployments/{deployment_id}/status").json()["step"] == step:
            return
        time.sleep(0.05)
    raise AssertionError(f"deployment never reached {step!r}")


def _wait_end(client: httpx.Client, deployment_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(f"/deployments/{deployment_id}").json()
        if found["status"] not in ("queued", "running"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"deployment {deployment_id} did not end")
