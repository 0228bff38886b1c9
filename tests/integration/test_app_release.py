"""Deploy, rollback and recover plays through the runner, with real PocketBase on a real host.

One host and one sequence: a first deploy of a ~30 MB zip, an unchanged redeploy, data kept
from v1 to v2, a release that migrates then crashes (rolled back, data restored), a rollback
restoring a named snapshot, and a recover after a run cancelled during the switch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
import stat
import time
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pbdeployer.errors import RunCancelled
from pbdeployer.inventory import host_alias
from pbdeployer.models import App, AppStatus, ReleaseReport, Server, Version
from pbdeployer.models.ids import new_id
from pbdeployer.models.run import PlaybookInvocation, RunEvent, RunResult, TaskStarted
from pbdeployer.plays import deploy as plays
from pbdeployer.plays.setup import setup_user
from pbdeployer.runner import Runner
from pbdeployer.settings import Settings
from pbdeployer.testing.hosts import TestHost
from tests.integration.test_runner import server_for
from tests.pocketbase import build_app_zip, collection_migration, pocketbase_binary

pytestmark = [pytest.mark.host, pytest.mark.slow]

NOTES = collection_migration("notes")
TAGS = collection_migration("tags")
EXTRA = collection_migration("extra")
# Registers a route PocketBase already has: it panics when serving, after migrating.
CONFLICT = 'routerAdd("GET", "/api/health", (e) => e.json(503, {"message": "sick"}))\n'
SLOW_START = b'#!/bin/sh\nsleep 4\nexec "$(dirname "$0")/pocketbase-real" "$@"\n'
OPTIONS = plays.DeployOptions(health_timeout=20.0, health_interval=0.1)
PORT = 8093
HTTP = """import json, sys, urllib.error, urllib.request
url, body = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url, data=body.encode() or None,
                                 headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        print(answer.status, answer.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
"""


class World:
    """The host, its server record, the app, and runs of the release plays against it."""

    def __init__(self, host: TestHost, settings: Settings) -> None:
        self.host = host
        self.runner = Runner(settings)
        self.server: Server = server_for(host)
        now = datetime.now(UTC)
        self.app = App(
            id=new_id(), created=now, updated=now, name="notes", server_id=self.server.id,
            remote_path="/opt/pocketbase/notes", service_name="pocketbase-notes", domain=None,
            http_port=PORT, binary_name="pocketbase", current_version=None,
            status=AppStatus.NEW,
        )  # fmt: skip
        self.seconds: dict[str, float] = {}

    def version(self, label: str, path: Path) -> Version:
        now = datetime.now(UTC)
        digest = _sha256(path)
        return Version(
            id=new_id(), created=now, updated=now, app_id=self.app.id, version_number=label,
            deployment_zip=f"sha256:{digest}", notes="", zip_sha256=digest,
            zip_size=path.stat().st_size,
        )  # fmt: skip

    async def run(self, invocation: PlaybookInvocation, name: str) -> tuple[RunResult, list[str]]:
        started = time.monotonic()
        handle = self.runner.start(invocation, [self.server])
        events: list[RunEvent] = [event async for event in handle.events()]
        result = await handle.result()
        self.seconds[name] = time.monotonic() - started
        return result, [e.task for e in events if isinstance(e, TaskStarted)]

    def report(self, result: RunResult) -> ReleaseReport:
        fact = result.facts[host_alias(self.server.id)][plays.RELEASE_FACT]
        assert set(fact) == {f.name for f in msgspec.structs.fields(ReleaseReport)}
        return msgspec.convert(fact, ReleaseReport)

    async def deploy(self, label: str, path: Path, name: str = "") -> ReleaseReport:
        invocation = plays.deploy(
            self.app, self.server, self.version(label, path), path, f"dep-{label}", OPTIONS
        )
        result, _ = await self.run(invocation, name or f"deploy {label}")
        return self.report(result)

    def sh(self, command: str) -> str:
        return self.host.ssh(command).stdout.strip()

    def python(self, script: str, *args: str) -> str:
        return self.sh(shlex.join(["python3", "-c", script, *args]))

    def http(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{PORT}{path}"
        status, _, text = self.python(HTTP, url, json.dumps(body) if body else "").partition(" ")
        return int(status), json.loads(text) if text else None

    def notes(self) -> list[str]:
        status, answer = self.http("/api/collections/notes/records")
        assert status == 200, answer
        return sorted(item["text"] for item in answer["items"])

    def add_note(self, text: str) -> None:
        status, answer = self.http("/api/collections/notes/records", {"text": text})
        assert status == 200, answer

    def collection(self, name: str) -> int:
        return self.http(f"/api/collections/{name}/records")[0]

    def current(self) -> str:
        return self.sh(f"readlink {self.app.remote_path}/current")

    def listing(self, folder: str) -> list[str]:
        return self.sh(f"ls -A {self.app.remote_path}/{folder}").split()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _slow_start_zip(dest: Path, migrations: Sequence[str]) -> Path:
    """A release whose "pocketbase" sleeps before running the real binary beside it."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        real = pocketbase_binary("0.40.6").read_bytes()
        for name, data in (("pocketbase", SLOW_START), ("pocketbase-real", real)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        for name in migrations:
            archive.writestr(f"pb_migrations/{name}", NOTES)
    return dest


@pytest.fixture
def zips(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "zips"
    folder.mkdir()
    old, new = pocketbase_binary("0.40.5"), pocketbase_binary("0.40.6")
    return {
        "v1": build_app_zip(folder / "v1.zip", binary=old, migrations={"1_notes.js": NOTES},
                            filler_bytes=18 << 20),
        "v2": build_app_zip(folder / "v2.zip", binary=new,
                            migrations={"1_notes.js": NOTES, "2_tags.js": TAGS}),
        "sick": build_app_zip(folder / "sick.zip", binary=new,
                              migrations={"1_notes.js": NOTES, "2_tags.js": TAGS,
                                          "3_extra.js": EXTRA},
                              hooks={"conflict.pb.js": CONFLICT}),
        "slow": _slow_start_zip(folder / "slow.zip", ["1_notes.js"]),
    }  # fmt: skip


async def test_deploy_rollback_and_recover_on_a_real_host(
    fresh_host: TestHost, tmp_path: Path, zips: dict[str, Path]
) -> None:
    world = World(fresh_host, Settings(data_dir=tmp_path / "data"))
    await world.run(setup_user(world.server), "setup user")

    await _first_deploy_and_unchanged_redeploy(world, zips["v1"])
    await _data_survives_v2_and_a_crashing_release(world, zips)
    await _rollback_restores_the_named_snapshot(world, zips["v1"])
    await _recover_after_a_cancel_during_the_switch(world, zips["slow"])

    sizes = {name: f"{path.stat().st_size / 1e6:.1f} MB" for name, path in zips.items()}
    timings = {name: f"{seconds:.2f}s" for name, seconds in world.seconds.items()}
    print(f"\nzip sizes: {sizes}\nrun times: {timings}")  # shown with -s


async def _first_deploy_and_unchanged_redeploy(world: World, v1: Path) -> None:
    version = world.version("v1", v1)
    invocation = plays.deploy(world.app, world.server, version, v1, "dep-v1", OPTIONS)
    result, tasks = await world.run(invocation, "first deploy v1 (30 MB)")
    first = world.report(result)
    assert (first.release, first.previous, first.current) == ("v1", None, "v1")
    assert (first.uploaded, first.switched, first.healthy, first.changed) == (True,) * 4
    assert (first.rolled_back, first.snapshot, first.health_error) == (False, None, "")
    assert set(plays.DEPLOY_STEPS) - {plays.RECOVER_TASK} <= set(tasks)
    assert world.current() == "releases/v1"
    unit = f"{world.app.service_name}.service"
    assert world.sh(f"systemctl show -p User --value {unit}") == "pocketbase"
    assert world.sh(f"ps -o user= -p $(systemctl show -p MainPID --value {unit})") == "pocketbase"
    assert world.http("/api/health")[0] == 200
    assert world.listing(".incoming") == []

    pid = world.sh(f"systemctl show -p MainPID --value {unit}")
    result, _ = await world.run(invocation, "unchanged redeploy v1")
    again = world.report(result)
    assert (again.changed, again.uploaded, again.switched, again.healthy) == (
        False, False, False, True,
    )  # fmt: skip
    assert sum(stats.changed for stats in result.stats.values()) == 0
    assert world.sh(f"systemctl show -p MainPID --value {unit}") == pid


async def _data_survives_v2_and_a_crashing_release(world: World, zips: dict[str, Path]) -> None:
    world.add_note("from v1")
    second = await world.deploy("v2", zips["v2"])
    assert (second.previous, second.current, second.switched) == ("v1", "v2", True)
    assert second.snapshot == f"{world.app.remote_path}/backups/dep-v2"
    assert world.notes() == ["from v1"]
    assert world.collection("tags") == 200
    world.add_note("after v2")

    sick = await world.deploy("sick", zips["sick"])
    assert (sick.rolled_back, sick.healthy, sick.restored_data) == (True, True, True)
    assert (sick.previous, sick.current, sick.switched) == ("v2", "v2", False)
    assert "conflicts with pattern" in sick.health_error
    assert "3_extra.js" in sick.message
    assert world.current() == "releases/v2"
    # The crashing release had migrated: its database (moved aside) has the collection,
    # the restored one has not, and keeps every record.
    count = (
        "import sqlite3, sys\n"
        "query = \"select count(*) from _collections where name = 'extra'\"\n"
        "print(sqlite3.connect(sys.argv[1]).execute(query).fetchone()[0])"
    )
    assert world.python(count, f"{sick.snapshot}/failed-sick/data.db") == "1"
    assert world.collection("extra") == 404
    assert world.notes() == ["after v2", "from v1"]


async def _rollback_restores_the_named_snapshot(world: World, v1: Path) -> None:
    snapshot = f"{world.app.remote_path}/backups/dep-v2"  # taken just before v2 went live
    invocation = plays.rollback(
        world.app, world.server, world.version("v1", v1), v1, "rb-v1", OPTIONS, snapshot
    )
    result, tasks = await world.run(invocation, "rollback to v1 with data")
    assert plays.SWITCH_TASK in tasks
    back = world.report(result)
    assert (back.previous, back.current, back.switched) == ("v2", "v1", True)
    assert (back.restored_data, back.healthy, back.uploaded) == (True, True, False)
    assert back.snapshot == f"{world.app.remote_path}/backups/rb-v1"
    assert world.current() == "releases/v1"
    assert world.notes() == ["from v1"]
    assert world.collection("tags") == 404


async def _recover_after_a_cancel_during_the_switch(world: World, slow: Path) -> None:
    version = world.version("slow", slow)
    invocation = plays.deploy(world.app, world.server, version, slow, "dep-slow", OPTIONS)
    handle = world.runner.start(invocation, [world.server])
    async for event in handle.events():
        if isinstance(event, TaskStarted) and event.task == plays.SWITCH_TASK:
            break
    await asyncio.sleep(1.0)  # switched by now; the new app is still starting
    handle.cancel()
    with pytest.raises(RunCancelled):
        await handle.result()
    path = world.app.remote_path
    world.sh(f"sudo -u pocketbase sh -c 'head -c 4096 /dev/urandom > {path}/.incoming/cut.zip"
             f" && mkdir {path}/releases/.next.partial'")  # fmt: skip

    started = time.monotonic()
    recover = plays.recover(world.app, world.server, "dep-slow", "v1", "slow", OPTIONS)
    result, _ = await world.run(recover, "recover after cancel")
    report = world.report(result)
    assert report.current == "v1"
    assert report.healthy
    assert report.removed == ["slow"]
    assert ".incoming/cut.zip" in report.message
    assert "releases/.next.partial" in report.message
    assert world.current() == "releases/v1"
    assert sorted(world.listing("releases")) == ["sick", "v1", "v2"]
    assert world.listing(".incoming") == []
    assert world.http("/api/health")[0] == 200
    assert world.notes() == ["from v1"]
    world.seconds["recover waited for the cancelled switch"] = time.monotonic() - started
