"""Deployments through the library on real hosts, with the real PocketBase binary.

Each test has its own host, so they run in parallel; within one, the steps follow the life of
an app (deploy, upgrade, roll back, a broken release) and check the host after each.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from pbdeployer import AppCreate, Deployer, ServerCreate, Settings
from pbdeployer.errors import DeploymentLocked
from pbdeployer.models import App, AppStatus, Server, Version, VersionCreate
from pbdeployer.models.deployments import Deployment, DeploymentStatus
from pbdeployer.models.releases import ReleaseReport
from pbdeployer.plays.deploy import DEPLOY_STEPS, SWITCH_TASK
from pbdeployer.store import Store
from pbdeployer.testing.hosts import TestHost
from tests.pocketbase import (
    PINNED_VERSIONS,
    build_app_zip,
    collection_migration,
    pocketbase_binary,
)

pytestmark = [pytest.mark.host, pytest.mark.slow]

NOTES = collection_migration("notes")
TAGS = collection_migration("tags")
BROKEN = b"#!/bin/sh\necho 'this release is broken' >&2\nexit 1\n"
HTTP_CLIENT = """
import sys, urllib.error, urllib.request
url, data = sys.argv[1], sys.argv[2].encode() or None
request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=5) as answer:
        print(answer.status); print(answer.read().decode())
except urllib.error.HTTPError as error:
    print(error.code); print(error.read().decode())
except OSError as error:
    print(0); print(error)
"""
UPLOAD_STEP = next(label for label in (s[1] for s in DEPLOY_STEPS.values()) if "upload" in label)
SLOW_START = b'#!/bin/sh\nsleep 6\nexec "$(dirname "$0")/pocketbase-real" "$@"\n'


class Host:
    """The test host as the app sees it: its release links, unit and HTTP API."""

    def __init__(self, host: TestHost, app: App) -> None:
        self.host = host
        self.app = app

    def run(self, command: str) -> str:
        return self.host.ssh(command).stdout.strip()

    def current(self) -> str:
        return self.run(f"readlink {shlex.quote(self.app.remote_path)}/current")

    def releases(self) -> set[str]:
        listing = self.run(f"ls -A {shlex.quote(self.app.remote_path)}/releases")
        return set(listing.split())

    def http(self, path: str, payload: object = None) -> tuple[int, str]:
        """Status and body of a request to the app on the host (POST JSON when ``payload``)."""
        url = f"http://127.0.0.1:{self.app.http_port}{path}"
        data = "" if payload is None else json.dumps(payload)
        done = self.host.ssh(["python3", "-c", HTTP_CLIENT, url, data], check=False)
        status, _, body = done.stdout.partition("\n")
        return int(status or 0), body

    def health(self) -> int:
        return self.http("/api/health")[0]

    def unit(self, prop: str) -> str:
        return self.run(f"systemctl show -p {prop} --value {self.app.service_name}")

    def exposure(self) -> float:
        """``systemd-analyze security``: the unit's overall exposure (0 safe, 10 exposed)."""
        text = self.run(f"systemd-analyze security --no-pager {self.app.service_name}.service")
        return float(text.rpartition("Overall exposure level for ")[2].split(":")[1].split()[0])

    def notes(self) -> list[str]:
        status, body = self.http("/api/collections/notes/records")
        assert status == 200, body
        return [item["text"] for item in json.loads(body)["items"]]

    def add_note(self, text: str) -> None:
        status, body = self.http("/api/collections/notes/records", {"text": text})
        assert status == 200, body


class World:
    """A deployer, one server on a fresh host (set up), and helpers to make versions."""

    def __init__(self, deployer: Deployer, server: Server, host: TestHost, zips: Path) -> None:
        self.deployer = deployer
        self.server = server
        self.host = host
        self.zips = zips

    async def app(self, name: str) -> tuple[App, Host]:
        app = await self.deployer.apps.create(AppCreate(name=name, server_id=self.server.id))
        return app, Host(self.host, app)

    async def version(
        self,
        app: App,
        number: str,
        binary: bytes | None = None,
        *,
        filler_bytes: int = 0,
        **migrations: str,
    ) -> Version:
        """PocketBase 0.40.5 for v1, 0.40.6 after; ``binary`` replaces it by a script."""
        pocketbase = pocketbase_binary(PINNED_VERSIONS[0 if number == "v1" else 1])
        zip_path = build_app_zip(
            self.zips / f"{app.name}-{number}.zip",
            binary=binary or pocketbase,
            migrations={
                f"{i}_{name}.js": text for i, (name, text) in enumerate(migrations.items())
            },
            filler_bytes=filler_bytes,
        )
        if binary == SLOW_START:  # the wrapper starts the real binary after a pause
            with zipfile.ZipFile(zip_path, "a") as archive:
                archive.write(pocketbase, "pocketbase-real")
        data = VersionCreate(app_id=app.id, version_number=number)
        return await self.deployer.versions.create_with_zip(data, zip_path)

    async def deploy(self, app: App, version: Version) -> Deployment:
        started = await self.deployer.deployments.deploy(app.id, version.id)
        return await self.deployer.deployments.wait(started.id)

    async def app_now(self, app: App) -> App:
        return await self.deployer.apps.get(app.id)

    async def report(self, deployment: Deployment) -> ReleaseReport:
        task = await self.deployer.tasks.get(deployment.task_id or "")
        return msgspec.convert(task.result, ReleaseReport)


async def open_world(tmp_path: Path, host: TestHost, **settings: object) -> World:
    deployer = Deployer.open(Settings(data_dir=tmp_path / "data", **settings))  # type: ignore[arg-type]
    await deployer.start()
    server = await deployer.servers.create(
        ServerCreate(
            name=host.name, host=host.address, port=host.port, manual_key_path=str(host.key_path)
        )
    )
    await deployer.setup.setup_user(server.id)
    # The packages step of setup is covered by the setup tests; the base image already has
    # what a deploy needs, so only the app user is set up here and the flag set to match.
    store = Store(deployer.database.engine)
    server = await store.servers.change(server.id, {"setup_complete": True})
    zips = tmp_path / "zips"
    zips.mkdir()
    return World(deployer, server, host, zips)


@pytest.fixture
async def world(tmp_path: Path, fresh_host: TestHost) -> AsyncIterator[World]:
    opened = await open_world(tmp_path, fresh_host, deploy_keep_releases=3)
    yield opened
    await opened.deployer.close()


async def test_deploy_upgrade_rollback_and_a_broken_release(world: World) -> None:
    app, host = await world.app("notes")
    v1 = await world.version(app, "v1", notes=NOTES)
    first = await world.deploy(app, v1)
    assert first.status is DeploymentStatus.SUCCEEDED, first.error_message
    assert host.current() == "releases/v1"
    assert host.health() == 200
    assert host.unit("ActiveState") == "active"
    assert host.unit("User") == world.server.app_username
    assert host.exposure() <= 2.0
    assert (await world.app_now(app)).current_version == v1.id
    host.add_note("survives everything")

    again = await world.deploy(app, v1)
    report = await world.report(again)
    assert again.status is DeploymentStatus.SUCCEEDED
    assert (report.changed, report.uploaded) == (False, False)

    v2 = await world.version(app, "v2", tags=TAGS)
    second = await world.deploy(app, v2)
    assert second.status is DeploymentStatus.SUCCEEDED, second.error_message
    assert host.current() == "releases/v2"
    assert host.notes() == ["survives everything"]
    assert second.snapshot
    assert host.run(f"ls {shlex.quote(second.snapshot)}").split() != []

    back = await world.deployer.deployments.rollback(app.id)
    back = await world.deployer.deployments.wait(back.id)
    assert back.status is DeploymentStatus.SUCCEEDED, back.error_message
    assert back.version_id == v1.id
    assert host.current() == "releases/v1"
    assert host.health() == 200
    assert host.notes() == ["survives everything"]
    assert (await world.deployer.deployments.get(second.id)).status is DeploymentStatus.ROLLED_BACK

    v3 = await world.version(app, "v3", BROKEN, more=collection_migration("labels"))
    broken = await world.deploy(app, v3)
    assert broken.status is DeploymentStatus.FAILED
    assert broken.rolled_back
    assert broken.error_code == "release_failed"
    assert "rolled back to release 'v1'" in (broken.error_message or "")
    assert host.current() == "releases/v1"
    assert host.health() == 200
    assert host.notes() == ["survives everything"]
    now = await world.app_now(app)
    assert (now.current_version, now.status) == (v1.id, AppStatus.RUNNING)


async def test_two_apps_locks_and_pruning(world: World) -> None:
    blog, blog_host = await world.app("blog")
    shop, shop_host = await world.app("shop")
    versions = [await world.version(blog, f"v{n}") for n in (1, 2, 3, 4)]
    shop_v1 = await world.version(shop, "v1")

    running = await world.deployer.deployments.deploy(blog.id, versions[0].id)
    with pytest.raises(DeploymentLocked) as locked:
        await world.deployer.deployments.deploy(blog.id, versions[1].id)
    assert running.id in locked.value.message
    side = await world.deployer.deployments.deploy(shop.id, shop_v1.id)
    ends = await asyncio.gather(
        world.deployer.deployments.wait(running.id), world.deployer.deployments.wait(side.id)
    )
    assert [d.status for d in ends] == [DeploymentStatus.SUCCEEDED] * 2
    assert (blog_host.health(), shop_host.health()) == (200, 200)
    assert blog.http_port != shop.http_port

    for version in versions[1:]:
        done = await world.deploy(blog, version)
        assert done.status is DeploymentStatus.SUCCEEDED, done.error_message
    assert blog_host.releases() == {"v2", "v3", "v4"}  # keep 3: current and previous among them
    assert blog_host.current() == "releases/v4"

    back = await world.deployer.deployments.rollback(blog.id, versions[0].id)
    back = await world.deployer.deployments.wait(back.id)
    assert back.status is DeploymentStatus.SUCCEEDED, back.error_message
    assert blog_host.current() == "releases/v1"  # unpacked again from the stored zip
    assert "v4" in blog_host.releases()  # the previous release survives pruning
    assert blog_host.health() == 200
    assert shop_host.health() == 200


async def wait_for_step(world: World, deployment: Deployment, label: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = await world.deployer.deployments.status(deployment.id)
        if state.step == label:
            return
        assert state.status.active, state
        await asyncio.sleep(0.05)
    raise AssertionError(f"deployment never reached step {label!r}")


async def test_cancel_before_and_after_the_switch(world: World) -> None:
    app, host = await world.app("notes")
    first = await world.deploy(app, await world.version(app, "v1"))
    assert first.status is DeploymentStatus.SUCCEEDED

    big = await world.version(app, "v2", filler_bytes=400 << 20)
    upload = await world.deployer.deployments.deploy(app.id, big.id)
    await wait_for_step(world, upload, UPLOAD_STEP)
    await world.deployer.deployments.cancel(upload.id)
    ended = await world.deployer.deployments.wait(upload.id)
    assert ended.status is DeploymentStatus.CANCELLED
    assert "before the switch" in (ended.error_message or "")
    assert host.current() == "releases/v1"
    assert host.releases() == {"v1"}
    assert host.run(f"ls -A {app.remote_path}/.incoming 2>/dev/null || true") == ""
    assert host.health() == 200

    slow = await world.version(app, "v3", SLOW_START)
    late = await world.deployer.deployments.deploy(app.id, slow.id)
    await wait_for_step(world, late, DEPLOY_STEPS[SWITCH_TASK][1])
    await asyncio.sleep(1.0)  # inside the release step: switched, the new app still starting
    await world.deployer.deployments.cancel(late.id)
    ended = await world.deployer.deployments.wait(late.id)
    assert ended.status is DeploymentStatus.CANCELLED
    assert "after the switch" in (ended.error_message or "")
    assert host.current() == "releases/v1"
    assert host.health() == 200
    now = await world.app_now(app)
    assert (now.current_version, now.status) == (first.version_id, AppStatus.RUNNING)

    after = await world.deploy(app, await world.version(app, "v4"))
    assert after.status is DeploymentStatus.SUCCEEDED  # the lock is free
