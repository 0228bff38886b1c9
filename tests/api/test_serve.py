"""``pbdeployer serve`` as a user runs it: what it refuses to start with, what it leaves in its
data dir, and how it shares that dir (with nobody but a read-only library).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from pbdeployer import Deployer, ServerCreate, Settings
from pbdeployer.errors import DataDirLocked, ReadOnlyDeployer
from tests.pocketbase import build_app_zip
from tests.served import TOKEN, Controller, free_port, processes_under, wait_for
from tests.unit.artifacts.zip_corpus import FAKE_BINARY

ROOT = Path(__file__).resolve().parents[2]

SERVE = [sys.executable, "-m", "pbdeployer", "serve"]


def _serve_refused(data_dir: Path, env: dict[str, str]) -> str:
    """Run ``serve`` expecting it to stop at once; return what it printed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PBDEPLOYER_")}
    done = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--data-dir", str(data_dir)],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Uvicorn running" not in done.stderr
    return done.stderr


@pytest.mark.parametrize("token", ["", "   \n"], ids=["empty", "blank"])
def test_serve_refuses_an_empty_token_file(tmp_path, token):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "api-token").write_text(token)

    stderr = _serve_refused(data_dir, {})

    assert stderr.startswith("pbdeployer: not starting: the API token in ")
    assert str(data_dir / "api-token") in stderr
    assert "is empty" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_a_short_token_from_the_environment(tmp_path):
    token = "tiny-but-not-empty"

    stderr = _serve_refused(tmp_path / "data", {"PBDEPLOYER_API_TOKEN": token})

    assert "PBDEPLOYER_API_TOKEN is too short (18 characters)" in stderr
    assert "at least 32" in stderr
    assert token not in stderr
    assert "Traceback" not in stderr


# --- the data dir: owner-only, and one process at a time --------------------------------------


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of everything under ``root`` but symlinks, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_the_data_dir_and_everything_in_it_is_its_owners_only(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "blobs" / "old").mkdir(parents=True, mode=0o755)
    (data_dir / "blobs" / "old" / "left-behind").write_text("x")
    (data_dir / "blobs" / "old" / "left-behind").chmod(0o644)
    data_dir.chmod(0o755)
    content = stat.S_IMODE((ROOT / "playbooks").stat().st_mode)
    controller = Controller(data_dir, token=None)
    client = controller.start()
    try:
        refused = {"name": "web1", "host": "127.0.0.1", "port": free_port()}
        server = client.post("/servers", json=refused).json()
        app = client.post("/apps", json={"name": "blog", "server_id": server["id"]}).json()
        zip_bytes = build_app_zip(tmp_path / "app.zip", binary=FAKE_BINARY).read_bytes()
        created = client.post(
            "/versions/with-zip",
            data={"app_id": app["id"], "version_number": "1.0.0"},
            files={"file": ("app.zip", zip_bytes, "application/zip")},
        )
        assert created.status_code == 201, created.text
        assert client.get(f"/services/{server['id']}").status_code == 502  # one run, refused
        modes = _modes(data_dir)
    finally:
        controller.stop()

    for name in ("pbdeployer.db", "pbdeployer.db-wal", "pbdeployer.db-shm", "api-token", "lock"):
        assert modes[name] == 0o600, name
    sha256 = created.json()["zip_sha256"]
    assert modes[f"blobs/sha256/{sha256[:2]}/{sha256}"] == 0o400
    assert any(name.startswith("runs/") for name in modes), "no run dir was made"
    assert modes["blobs/old/left-behind"] == 0o600
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert loose == {}
    directories = [name for name in modes if (data_dir / name).is_dir()]
    assert {modes[name] for name in directories} == {0o700}
    assert stat.S_IMODE((ROOT / "playbooks").stat().st_mode) == content  # links not followed


class Tarpit:
    """A TCP listener that accepts connections and never says a word (an SSH that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


class Busy(NamedTuple):
    controller: Controller
    client: httpx.Client
    server_id: str
    task_id: str
    ansible: list[int]


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Busy]:
    """A server whose one task holds an ``ansible-playbook`` waiting on an SSH that hangs."""
    tarpit = Tarpit()
    data_dir = tmp_path_factory.mktemp("busy") / "data"
    controller = Controller(data_dir, env={"PBDEPLOYER_SSH_CONNECT_TIMEOUT_SECONDS": "600"})
    client = controller.start()
    try:
        server = client.post(
            "/servers", json={"name": "hangs", "host": "127.0.0.1", "port": tarpit.port}
        ).json()
        task = client.post(f"/servers/{server['id']}/setup", json={"packages": []}).json()
        wait_for(client, task["id"], {"running"}, 60)
        deadline = time.monotonic() + 60
        while not tarpit.held:
            assert time.monotonic() < deadline, "ansible never connected"
            time.sleep(0.2)
        yield Busy(controller, client, server["id"], task["id"], processes_under(data_dir))
    finally:
        controller.stop()
        tarpit.close()


def _untouched(busy: Busy) -> None:
    assert busy.ansible, "no ansible process to watch"
    assert set(busy.ansible) <= set(processes_under(busy.controller.data_dir))
    task = busy.client.get(f"/tasks/{busy.task_id}").json()
    assert task["status"] == "running", task


def test_a_second_serve_on_the_data_dir_is_refused_naming_the_first(busy):
    assert busy.controller.process is not None
    pid = busy.controller.process.pid

    stderr = _serve_refused(busy.controller.data_dir, {"PBDEPLOYER_API_TOKEN": TOKEN})

    assert f"in use by process {pid}" in stderr
    assert "read_only=True" in stderr
    assert "Traceback" not in stderr
    _untouched(busy)


def test_a_library_deployer_on_the_data_dir_is_refused(busy):
    settings = Settings(data_dir=busy.controller.data_dir)
    assert busy.controller.process is not None

    async def start() -> None:
        async with Deployer.open(settings):
            raise AssertionError("a second owner started")

    with pytest.raises(DataDirLocked) as caught:
        asyncio.run(start())

    assert caught.value.pid == busy.controller.process.pid
    _untouched(busy)


def test_a_read_only_deployer_reads_while_the_server_runs(busy, tmp_path):
    settings = Settings(data_dir=busy.controller.data_dir)

    async def read() -> tuple[list[str], str]:
        async with Deployer.open(settings, read_only=True) as deployer:
            servers = [s.name for s in (await deployer.servers.list()).items]
            task = await deployer.tasks.get(busy.task_id)
            with pytest.raises(ReadOnlyDeployer, match=r"deployer\.servers\.create"):
                await deployer.servers.create(ServerCreate(name="web2", host="192.0.2.1"))
            with pytest.raises(ReadOnlyDeployer, match=r"deployer\.setup\.setup"):
                await deployer.setup.setup(busy.server_id)
            return servers, task.status

    assert asyncio.run(read()) == (["hangs"], "running")
    assert [s["name"] for s in busy.client.get("/servers").json()["items"]] == ["hangs"]
    _untouched(busy)
