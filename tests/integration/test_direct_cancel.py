"""A direct host operation stops its Ansible run when its caller stops waiting, on a real host.

asyncio cancellation (``asyncio.timeout``, ``wait_for``, ``Task.cancel``) and an ``on_event``
callback that raises are how a Python user bounds work: the run must not go on changing the
host unobserved, and a script that exits right after must leave no process behind.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pbdeployer import (
    AppCreate,
    Deployer,
    DeploymentStatus,
    RunEvent,
    ServerCreate,
    Settings,
    VersionCreate,
)
from pbdeployer.deployer import CLOSE_CANCEL_SECONDS
from pbdeployer.models import Server
from pbdeployer.models.run import TaskStarted
from pbdeployer.runner._env import control_dir
from pbdeployer.runner._procs import marked_runs
from pbdeployer.store import Store
from pbdeployer.testing.hosts import TestHost
from tests.pocketbase import PINNED_VERSIONS, build_app_zip, pocketbase_binary
from tests.served import processes_under

pytestmark = [pytest.mark.host, pytest.mark.slow]

GONE_WITHIN_SECONDS = 15  # 5 s holds alone; under the full parallel run the kill can take longer
CLOSE_BOUND_SECONDS = 10.0  # what Deployer.close documents with the default settings
ENDED = {DeploymentStatus.CANCELLED, DeploymentStatus.INTERRUPTED}
UNDER_WAY_SECONDS = 3.0


class Stop(Exception):
    """What the caller's ``on_event`` raises."""


def _left_behind(settings: Settings) -> list[int]:
    """Processes of this data dir's runs: ansible-playbook, its ssh clients, the masters."""
    runs = (
        {path.name for path in settings.runs_dir.iterdir()} if settings.runs_dir.is_dir() else set()
    )
    marked = [pid for run_id, pids in marked_runs().items() if run_id in runs for pid in pids]
    return marked + processes_under(settings.runs_dir) + processes_under(control_dir(settings))


def _assert_all_gone(settings: Settings) -> None:
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while _left_behind(settings) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _left_behind(settings) == [], "an ansible-playbook or ssh process outlived its caller"


async def _register(deployer: Deployer, host: TestHost) -> Server:
    return await deployer.servers.create(
        ServerCreate(
            name=host.name, host=host.address, port=host.port, manual_key_path=str(host.key_path)
        )
    )


def _raise_once_under_way(event: RunEvent) -> None:
    if isinstance(event, TaskStarted):
        raise Stop(event.task)


async def _stop_waiting(
    operation: Callable[[], Awaitable[object]], *, by_cancel: bool, by_timeout: bool
) -> None:
    """Cancel ``operation`` once under way, let a timeout do it, or let it raise itself."""
    if by_cancel:
        running = asyncio.ensure_future(operation())
        await asyncio.sleep(UNDER_WAY_SECONDS)
        running.cancel()
        await running
        return
    async with asyncio.timeout(UNDER_WAY_SECONDS if by_timeout else 120):
        await operation()


async def test_cancel_timeout_or_a_raising_callback_stops_the_run(  # one host for all checks
    fresh_host: TestHost, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with Deployer.open(settings) as deployer:
        server = await _register(deployer, fresh_host)
        stopped: list[tuple[str, Callable[[], Awaitable[object]], type[BaseException]]] = [
            ("setup by timeout", lambda: deployer.setup.setup(server.id), TimeoutError),
            (
                "packages by a raising on_event",
                lambda: deployer.setup.setup_packages(server.id, on_event=_raise_once_under_way),
                Stop,
            ),
            ("audit by cancel", lambda: deployer.security.audit(server.id), asyncio.CancelledError),
        ]
        for name, operation, expected in stopped:
            started = time.monotonic()
            with pytest.raises(expected):
                await _stop_waiting(
                    operation,
                    by_cancel=expected is asyncio.CancelledError,
                    by_timeout=expected is TimeoutError,
                )
            assert time.monotonic() - started < 120, name
            _assert_all_gone(settings)
            assert deployer.runner.active_runs == 0, name
        # A stopped setup never claims the server is set up.
        assert (await deployer.servers.get(server.id)).setup_complete is False
    _script_times_out_and_exits(fresh_host, tmp_path)
    await _close_during_a_deploy(fresh_host, tmp_path)


SCRIPT = """
import asyncio, faulthandler, sys
faulthandler.dump_traceback_later(170, exit=True)  # a hang shows where it waits
from pbdeployer import Deployer, ServerCreate, Settings

async def main() -> None:
    async with Deployer.open(Settings(data_dir=sys.argv[1])) as deployer:
        server = await deployer.servers.create(ServerCreate(
            name="web1", host=sys.argv[2], port=int(sys.argv[3]), manual_key_path=sys.argv[4]))
        await asyncio.wait_for(deployer.setup.setup(server.id), {seconds})

try:
    asyncio.run(main())
except TimeoutError:
    print("timed out")
"""


def _script_times_out_and_exits(fresh_host: TestHost, tmp_path: Path) -> None:
    """A script bounding a setup with ``wait_for`` exits at once and leaves no process."""
    settings = Settings(data_dir=tmp_path / "script-data")
    script = tmp_path / "bounded.py"
    script.write_text(textwrap.dedent(SCRIPT.format(seconds=UNDER_WAY_SECONDS)))
    args = [str(settings.data_dir), fresh_host.address, str(fresh_host.port)]
    done = subprocess.run(
        [sys.executable, str(script), *args, str(fresh_host.key_path)],
        capture_output=True,
        text=True,
        timeout=180,  # a loaded machine takes long to import; the bound is on what is left
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "timed out"), done.stderr
    _assert_all_gone(settings)


async def _running_deployment(deployer: Deployer, host: TestHost, tmp_path: Path) -> str:
    """A deploy of a large zip, returned once its run is under way (uploading)."""
    server = await _register(deployer, host)
    await deployer.setup.setup_user(server.id)
    # The base image has what a deploy needs; only the app user is set up (as in the deploy
    # tests), and the flag set to match.
    await Store(deployer.database.engine).servers.change(server.id, {"setup_complete": True})
    app = await deployer.apps.create(AppCreate(name="notes", server_id=server.id))
    zip_path = build_app_zip(
        tmp_path / "notes-v1.zip",
        binary=pocketbase_binary(PINNED_VERSIONS[0]),
        filler_bytes=300 << 20,
    )
    version = await deployer.versions.create_with_zip(
        VersionCreate(app_id=app.id, version_number="v1"), zip_path
    )
    deployment = await deployer.deployments.deploy(app.id, version.id)
    for _ in range(1200):
        if (await deployer.deployments.status(deployment.id)).step:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    return deployment.id


async def _close_during_a_deploy(host: TestHost, tmp_path: Path) -> None:
    """Leaving the deployer while a deploy runs is bounded, and the deploy ends, never running."""
    settings = Settings(data_dir=tmp_path / "deploy-data")
    deployer = Deployer.open(settings)
    await deployer.start()
    deployment_id = await _running_deployment(deployer, host, tmp_path)
    waiter = asyncio.ensure_future(deployer.deployments.wait(deployment_id))

    started = time.monotonic()
    await deployer.close()
    closed_in = time.monotonic() - started

    assert closed_in <= CLOSE_BOUND_SECONDS, closed_in
    assert settings.task_stop_grace_seconds + CLOSE_CANCEL_SECONDS <= CLOSE_BOUND_SECONDS
    assert (await asyncio.wait_for(waiter, 5)).status in ENDED
    _assert_all_gone(settings)
    async with Deployer.open(settings) as again:
        assert (await again.deployments.get(deployment_id)).status in ENDED
        reopened = time.monotonic()
    assert time.monotonic() - reopened <= CLOSE_BOUND_SECONDS  # a recovery under way or not
    _assert_all_gone(settings)
